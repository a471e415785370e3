import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Props of {@link ClusterLogs}. */
interface ClusterLogsProps {
  /** The workflow's functions, whose log groups the "slowest steps" query reads. */
  readonly functions: readonly lambda.Function[];
}

/**
 * What the clusters' logs need from the stack (src/core/cluster-logs.ts): the KMS key their log groups
 * (`/capideploy/<deployment>`, created by the InstanceRole function) are encrypted with, and CloudWatch Logs
 * Insights saved queries: errors by node over a cluster's group (pick the group when running it), and the slowest
 * workflow steps over the functions' own log groups.
 */
class ClusterLogs extends Construct {
  /** The key of the clusters' log groups; its ARN is the InstanceRole function's `LOGS_KMS_KEY_ARN`. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: ClusterLogsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the Capillaries clusters log groups /capideploy/<deployment>',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs uses the key for the clusters' log groups only (the encryption context names the group).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsClusterGroups',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:*:log-group:/capideploy/*`,
          },
        },
      }),
    );

    new logs.QueryDefinition(this, 'ErrorsByNode', {
      queryDefinitionName: 'capideploy/cluster-errors-by-node',
      queryString: new logs.QueryString({
        fields: ['@timestamp', '@logStream', '@message'],
        filterStatements: ['@message like /(?i)(error|exception|fatal)/'],
        parseStatements: ['@logStream "*/*" as node, source'],
        stats: 'count(*) as errors by node, source',
        sort: 'errors desc',
        limit: 100,
      }),
    });
    new logs.QueryDefinition(this, 'SlowestSteps', {
      queryDefinitionName: 'capideploy/workflow-slowest-steps',
      queryString: new logs.QueryString({
        fields: ['@timestamp', 'deployment', 'state', 'durationMs'],
        filterStatements: ['message = "step succeeded" or message = "step failed"'],
        stats:
          'max(durationMs) as slowestMs, avg(durationMs) as averageMs, count(*) as runs by function, state',
        sort: 'slowestMs desc',
        limit: 25,
      }),
      logGroups: props.functions.map((fn) => fn.logGroup),
    });
    new logs.QueryDefinition(this, 'SlowestCommands', {
      queryDefinitionName: 'capideploy/provisioning-commands',
      queryString: new logs.QueryString({
        fields: ['@timestamp', 'deployment', 'document', 'commandId', 'instances', 'node', 'status'],
        filterStatements: ['message = "command sent" or message = "command failed"'],
        sort: '@timestamp desc',
        limit: 200,
      }),
      logGroups: props.functions.map((fn) => fn.logGroup),
    });
  }
}

export type { ClusterLogsProps };
export { ClusterLogs };
