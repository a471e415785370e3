import { Aws, CfnOutput, CfnParameter, Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { OPERATOR_ROLE_PREFIX, renderCustomerGrants, WORKFLOW_ROLE_PATH } from '../src/core/permissions.js';
import { acknowledgeWildcards } from './nag.js';
import { addGrants, instanceBoundaryPolicy } from './policies.js';
import { ProvisioningDocuments } from './provisioning-documents.js';

/** Props of {@link CustomerRoleStack}. */
interface CustomerRoleStackProps extends StackProps {
  /**
   * Name of the role; the workflow may only assume roles whose name starts with `capideploy-operator`.
   * @default 'capideploy-operator'
   */
  readonly roleName?: string;
}

/**
 * Cross-account ("SaaS") mode, deployed by the customer in their own account: the role the workflow assumes, trusted
 * only by the operator account's workflow roles and only with the external id, allowed exactly what the workflow's
 * handlers call (the same table as the operator's Lambda roles); the permissions boundary of the instance roles it
 * creates (fixed name, see infra/policies.ts); and the SSM documents, which SendCommand looks up by
 * name in the account of the instances. Two parameters, so it can also be deployed from the synthesized template.
 */
class CustomerRoleStack extends Stack {
  readonly role: iam.Role;
  /** The permissions boundary of the instance roles the workflow creates in this account. */
  readonly instanceBoundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: CustomerRoleStackProps = {}) {
    super(scope, id, props);
    Tags.of(this).add('Project', 'capillaries-deploy');
    Tags.of(this).add('Component', 'customer-role');
    const roleName = props.roleName ?? OPERATOR_ROLE_PREFIX;
    if (!roleName.startsWith(OPERATOR_ROLE_PREFIX)) {
      throw new Error(`roleName must start with ${OPERATOR_ROLE_PREFIX}, got ${roleName}`);
    }

    const operatorAccount = new CfnParameter(this, 'OperatorAccountId', {
      type: 'String',
      allowedPattern: '^\\d{12}$',
      description: 'The AWS account that runs the capideploy workflow (its Lambda roles assume this role)',
    });
    const externalId = new CfnParameter(this, 'ExternalId', {
      type: 'String',
      minLength: 2,
      maxLength: 1224,
      allowedPattern: '^[\\w+=,.@:/-]+$',
      noEcho: true,
      description:
        'The external id agreed with the operator, who registers it with capi-deploy customers add (never in a spec); a random UUID is fine',
    });

    const operator = operatorAccount.valueAsString;
    this.role = new iam.Role(this, 'OperatorRole', {
      roleName,
      description: 'Assumed by the capideploy workflow to create and delete Capillaries deployments here',
      assumedBy: new iam.AccountPrincipal(operator).withConditions({
        ArnLike: { 'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${operator}:role${WORKFLOW_ROLE_PATH}*` },
      }),
      externalIds: [externalId.valueAsString],
      maxSessionDuration: Duration.hours(1),
    });
    const context = {
      partition: Aws.PARTITION,
      account: Aws.ACCOUNT_ID,
      commandOutputBucketArn: `arn:${Aws.PARTITION}:s3:::*`,
    };
    acknowledgeWildcards(this.role, addGrants(this.role, renderCustomerGrants(context)));
    this.instanceBoundary = instanceBoundaryPolicy(this, context);

    new ProvisioningDocuments(this, 'ProvisioningDocuments');

    new CfnOutput(this, 'OperatorRoleArn', {
      value: this.role.roleArn,
      description:
        'Give this ARN to the operator, who registers it with the external id: capi-deploy customers add <customer> --role-arn <this ARN> (external id on standard input); specs then name "customer": "<customer>"',
    });
  }
}

export type { CustomerRoleStackProps };
export { CustomerRoleStack };
