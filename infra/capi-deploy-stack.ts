import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Aws,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  arnKey,
  FUNCTION_TIMEOUT_SECONDS,
  FUNCTIONS,
  type FunctionName,
  handlerEntry,
  MACHINE_NAMES,
  type MachineName,
} from '../src/core/catalogue.js';
import {
  type GrantedFunction,
  INSTANCE_ROLE_PATH,
  type RenderContext,
  renderGrants,
  WORKFLOW_ROLE_PATH,
} from '../src/core/permissions.js';
import { ClusterLogs } from './cluster-logs.js';
import { DeploymentsApi } from './deployments-api.js';
import { type FunctionFactory, handlerFunction, REPO_ROOT } from './handler-function.js';
import { acknowledgeWildcards } from './nag.js';
import { addGrants, instanceBoundaryPolicy } from './policies.js';
import { ProvisioningDocuments } from './provisioning-documents.js';

/** The construct id of each state machine. */
const MACHINE_IDS: Record<MachineName, string> = {
  'create-deployment': 'CreateDeployment',
  'delete-deployment': 'DeleteDeployment',
  'stop-deployment': 'StopDeployment',
  'start-deployment': 'StartDeployment',
  'images-create': 'ImagesCreate',
  'images-delete': 'ImagesDelete',
};

/** The definition file of a state machine. */
const machineFile = (machine: MachineName) => join(REPO_ROOT, 'statemachines', `${machine}.asl.json`);

/** The `${...}` placeholders of a definition file. */
const placeholders = (machine: MachineName) =>
  [
    ...new Set([...readFileSync(machineFile(machine), 'utf8').matchAll(/\$\{(\w+)\}/g)].map((m) => m[1])),
  ].sort();

/** The functions a state machine's definition calls (`${<Name>FunctionArn}` placeholders). */
const functionsOf = (machine: MachineName): FunctionName[] =>
  FUNCTIONS.filter((fn) => placeholders(machine).includes(arnKey(fn)));

/**
 * The functions the state machines call whose handler file does not exist, in FUNCTIONS order.
 * @param exists - whether a repository-relative file exists (tests pass their own)
 */
function missingHandlers(exists: (entry: string) => boolean = (entry) => existsSync(join(REPO_ROOT, entry))) {
  const referenced = new Set(MACHINE_NAMES.flatMap(functionsOf));
  return FUNCTIONS.filter((fn) => referenced.has(fn) && !exists(handlerEntry(fn)));
}

/** The synth-time error naming the missing handlers and where each is expected. */
const missingHandlersMessage = (missing: readonly FunctionName[]) =>
  `the state machines reference functions without a handler: ${missing
    .map((fn) => `${fn} (${handlerEntry(fn)})`)
    .join(', ')}`;

/** Props of {@link CapiDeployStack}. */
interface CapiDeployStackProps extends StackProps {
  /**
   * Accounts of cross-account customers whose instances may write command output into the bucket (their
   * instance roles, path `/capideploy/`, only).
   * @default - none: single-account mode
   */
  readonly customerAccountIds?: readonly string[];
  /**
   * Makes each Lambda from its handler file; tests of the template pass `stubFunction` to skip bundling.
   * @default bundledFunction: esbuild bundles
   */
  readonly functionFactory?: FunctionFactory;
  /**
   * Retention of the Lambda, state machine and API log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long command output stays in the bucket.
   * @default Duration.days(30)
   */
  readonly commandOutputExpiration?: Duration;
}

/**
 * The operator's stack: one Lambda per workflow handler (least-privilege role each, from `src/core/permissions.ts`),
 * the two state machines from `statemachines/*.asl.json`, the SSM documents, the command-output bucket and the
 * IAM-authorized deployments API.
 */
class CapiDeployStack extends Stack {
  /** The workflow functions by name. */
  readonly functions: Record<FunctionName, lambda.Function>;
  /** Each function's role, the API's included. */
  readonly roles: Partial<Record<GrantedFunction, iam.Role>> = {};
  readonly stateMachines: Record<MachineName, sfn.StateMachine>;
  readonly commandOutputBucket: s3.Bucket;
  /** The permissions boundary every instance role the workflow creates carries. */
  readonly instanceBoundary: iam.ManagedPolicy;
  readonly api: DeploymentsApi;
  /** The placeholder values the permission table was rendered with. */
  readonly renderContext: RenderContext;

  constructor(scope: Construct, id: string, props: CapiDeployStackProps = {}) {
    super(scope, id, props);
    Tags.of(this).add('Project', 'capillaries-deploy');
    Tags.of(this).add('Component', 'workflow');
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    const missing = missingHandlers();
    if (missing.length > 0) throw new Error(missingHandlersMessage(missing));
    this.commandOutputBucket = this.bucket(props);
    new ProvisioningDocuments(this, 'ProvisioningDocuments');

    const machineNames = Object.fromEntries(
      MACHINE_NAMES.map((machine) => [machine, `${this.stackName}-${machine}`]),
    ) as Record<MachineName, string>;
    const machineArn = (machine: MachineName) =>
      `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${machineNames[machine]}`;
    const executionsOf = (machine: MachineName) =>
      `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${machineNames[machine]}:*`;
    this.renderContext = {
      partition: Aws.PARTITION,
      account: Aws.ACCOUNT_ID,
      createMachineArn: machineArn('create-deployment'),
      deleteMachineArn: machineArn('delete-deployment'),
      stopMachineArn: machineArn('stop-deployment'),
      startMachineArn: machineArn('start-deployment'),
      imagesCreateMachineArn: machineArn('images-create'),
      imagesDeleteMachineArn: machineArn('images-delete'),
      createExecutions: executionsOf('create-deployment'),
      deleteExecutions: executionsOf('delete-deployment'),
      stopExecutions: executionsOf('stop-deployment'),
      startExecutions: executionsOf('start-deployment'),
      imagesCreateExecutions: executionsOf('images-create'),
      imagesDeleteExecutions: executionsOf('images-delete'),
      commandOutputBucketArn: this.commandOutputBucket.bucketArn,
    };
    const context = this.renderContext;
    this.instanceBoundary = instanceBoundaryPolicy(this, context);

    const bucketEnv = { COMMAND_OUTPUT_BUCKET: this.commandOutputBucket.bucketName };
    this.functions = Object.fromEntries(
      FUNCTIONS.map((fn) => [
        fn,
        handlerFunction(this, `${fn}Function`, {
          entry: handlerEntry(fn),
          role: this.functionRole(fn, context),
          logRetention,
          functionFactory: props.functionFactory,
          // Provisioning sends commands that write there; InstanceRole lets the instances write there.
          ...(fn === 'Provisioning' || fn === 'InstanceRole' ? { environment: bucketEnv } : {}),
          timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS[fn]),
        }),
      ]),
    ) as Record<FunctionName, lambda.Function>;
    // The clusters' log groups: their KMS key (InstanceRole creates the groups with it) and saved Insights queries.
    const clusterLogs = new ClusterLogs(this, 'ClusterLogs', { functions: Object.values(this.functions) });
    this.functions.InstanceRole.addEnvironment('LOGS_KMS_KEY_ARN', clusterLogs.key.keyArn);

    const deleteMachine = this.stateMachine('delete-deployment', machineNames, {}, logRetention);
    const createMachine = this.stateMachine(
      'create-deployment',
      machineNames,
      { DeleteDeploymentStateMachineArn: deleteMachine.stateMachineArn },
      logRetention,
    );
    this.allowChildExecution(createMachine, deleteMachine, executionsOf('delete-deployment'));
    this.stateMachines = {
      'create-deployment': createMachine,
      'delete-deployment': deleteMachine,
      'stop-deployment': this.stateMachine('stop-deployment', machineNames, {}, logRetention),
      'start-deployment': this.stateMachine('start-deployment', machineNames, {}, logRetention),
      'images-create': this.stateMachine('images-create', machineNames, {}, logRetention),
      'images-delete': this.stateMachine('images-delete', machineNames, {}, logRetention),
    };

    this.api = new DeploymentsApi(this, 'DeploymentsApi', {
      role: this.functionRole('DeploymentsApi', context),
      createStateMachine: createMachine,
      deleteStateMachine: deleteMachine,
      day2StateMachines: {
        stop: this.stateMachines['stop-deployment'],
        start: this.stateMachines['start-deployment'],
        'images-create': this.stateMachines['images-create'],
        'images-delete': this.stateMachines['images-delete'],
      },
      logRetention,
      functionFactory: props.functionFactory,
    });

    new CfnOutput(this, 'CreateDeploymentStateMachineArn', {
      value: createMachine.stateMachineArn,
      description: 'create-deployment state machine (capi-deploy create without --local finds it here)',
    });
    new CfnOutput(this, 'DeleteDeploymentStateMachineArn', {
      value: deleteMachine.stateMachineArn,
      description: 'delete-deployment state machine',
    });
    new CfnOutput(this, 'DeploymentsApiUrl', {
      value: this.api.restApi.url,
      description: 'POST/GET /deployments, GET/DELETE /deployments/{name}; IAM (SigV4) authorization',
    });
    new CfnOutput(this, 'CommandOutputBucketName', {
      value: this.commandOutputBucket.bucketName,
      description: 'full stdout/stderr of SSM commands, under <deployment>/<phase>/',
    });
  }

  /** A function's role: logs of its own group (added by handlerFunction), X-Ray, and its rows of the table. */
  private functionRole(fn: GrantedFunction, context: RenderContext): iam.Role {
    const role = new iam.Role(this, `${fn}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      path: WORKFLOW_ROLE_PATH,
      description: `capideploy ${fn} function: only the calls its code makes (src/core/permissions.ts)`,
    });
    acknowledgeWildcards(role, [
      ...addGrants(role, renderGrants(fn, context)),
      {
        resource: '*',
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        why: 'added by CDK for active tracing; X-Ray has no resource-level permissions',
      },
    ]);
    this.roles[fn] = role;
    return role;
  }

  /** The encrypted, private bucket SSM writes full command output to, expiring after a while. */
  private bucket(props: CapiDeployStackProps): s3.Bucket {
    const bucket = new s3.Bucket(this, 'CommandOutput', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-command-output',
          expiration: props.commandOutputExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    for (const account of props.customerAccountIds ?? []) {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `CommandOutputFrom${account}`,
          principals: [new iam.AccountPrincipal(account)],
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects('*')],
          conditions: {
            ArnLike: {
              'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${account}:role${INSTANCE_ROLE_PATH}*`,
            },
          },
        }),
      );
    }
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket only holds SSM command output of deployment instances, expired after 30 days; server access ' +
        'logs would be a second bucket larger than this one. Writes are by instance roles, visible in CloudTrail.',
    });
    return bucket;
  }

  /** A state machine from its ASL file, with every `${...}` substitution and a role that invokes only its functions. */
  private stateMachine(
    machine: MachineName,
    names: Record<MachineName, string>,
    extra: Record<string, string>,
    retention: logs.RetentionDays,
  ): sfn.StateMachine {
    const id = MACHINE_IDS[machine];
    const invoked = functionsOf(machine).map((fn) => [fn, this.functions[fn]] as const);
    // Under /aws/vendedlogs/ so the logs delivery needs no log resource policy per group. A fixed name must go
    // with the stack, or a later deploy of the same stack name fails on the group left behind; the executions'
    // own history stays in Step Functions for 90 days after they end.
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/vendedlogs/states/${names[machine]}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const machineConstruct = new sfn.StateMachine(this, id, {
      stateMachineName: names[machine],
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(machineFile(machine)),
      definitionSubstitutions: {
        ...Object.fromEntries(invoked.map(([fn, handler]) => [arnKey(fn), handler.functionArn])),
        ...extra,
      },
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The ASL calls each function by its unqualified ARN: grant exactly those, not `<arn>:*` as grantInvoke does.
    machineConstruct.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: invoked.map(([, handler]) => handler.functionArn),
      }),
    );
    acknowledgeWildcards(machineConstruct.role, [
      {
        resource: '*',
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
        ],
        why: 'added by CDK for execution logging and tracing; CloudWatch Logs vended delivery and X-Ray support no resource-level permissions',
      },
    ]);
    return machineConstruct;
  }

  /** create-deployment runs delete-deployment (startExecution.sync:2) when `onFailure` is `delete`. */
  private allowChildExecution(parent: sfn.StateMachine, child: sfn.StateMachine, childExecutions: string) {
    child.grantStartExecution(parent);
    parent.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [childExecutions],
      }),
    );
    parent.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
        ],
      }),
    );
    acknowledgeWildcards(parent.role, [
      {
        resource: childExecutions,
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        why: 'the .sync integration follows the child execution it starts, whose name Step Functions generates; only executions of delete-deployment',
      },
    ]);
  }
}

export type { CapiDeployStackProps };
export { CapiDeployStack, functionsOf, machineFile, missingHandlers, missingHandlersMessage, placeholders };
