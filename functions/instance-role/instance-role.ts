import { createHash } from 'node:crypto';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  type InstanceProfile,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { logGroupName } from '../../src/core/cluster-logs.js';
import { ResourceConflict } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/spec/plan.js';
import {
  asDeploymentError,
  awsCall,
  type CallSite,
  deleteIfPresent,
  isNotFound,
} from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';

/** IAM path of every per-deployment role and profile; the workflow's own permissions are limited to it. */
export const INSTANCE_ROLE_PATH = '/capideploy/';
/** The one managed policy the instance role carries: what the SSM agent needs to register and run commands. */
export const SSM_CORE_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';
/**
 * The permissions boundary every instance role carries: a managed policy the stacks deploy under this fixed name and
 * path (src/core/permissions.ts, INSTANCE_BOUNDARY_NAME) in the account where the roles are created, so its ARN follows
 * from that account: the operator's in single-account mode, the customer's in SaaS mode, the simulated one locally.
 * The grants allow CreateRole, PutRolePolicy, AttachRolePolicy and PutRolePermissionsBoundary only with it.
 */
export const INSTANCE_BOUNDARY_NAME = 'capideploy-instance-boundary';
/** Inline policy names start with this; the rest is a hash of the document, so a changed policy gets a new name. */
export const INLINE_POLICY_PREFIX = 'capideploy-instance-access-';

export interface InstanceRoleResult {
  roleName: string;
  instanceProfileName: string;
  instanceProfileArn: string;
}

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

const iamTags = (plan: Plan, name: string) => [
  { Key: 'Name', Value: name },
  { Key: 'DeploymentName', Value: plan.tagsBase.DeploymentName },
  { Key: 'DeploymentOperator', Value: plan.tagsBase.DeploymentOperator },
];

/**
 * What the instances may do besides SSM: the seed's PolicyAccessCapillariesTestbucket for each of the spec's
 * buckets (omitted when there are none), reading the deployment's own secrets and nothing else, and decrypting them
 * only through Parameter Store of the deployment's region, writing its logs into the deployment's log group
 * (`/capideploy/<deployment>`, the CloudWatch agent) and (in AWS) its own command output under
 * `<outputBucket>/<deployment>/`. `partition` and `account` come from the role's ARN.
 */
export function instancePolicy(
  plan: Plan,
  buckets: string[],
  partition: string,
  account: string,
  outputBucket?: string,
): string {
  const statements: object[] = [];
  if (outputBucket) {
    // The SSM agent uploads each command's full output with the instance's own credentials.
    statements.push(
      {
        Sid: 'WriteCommandOutput',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: `arn:${partition}:s3:::${outputBucket}/${plan.deployment}/*`,
      },
      {
        Sid: 'ReadCommandOutputBucketEncryption',
        Effect: 'Allow',
        Action: 's3:GetEncryptionConfiguration',
        Resource: `arn:${partition}:s3:::${outputBucket}`,
      },
    );
  }
  if (buckets.length > 0) {
    statements.push(
      {
        Sid: 'ListDeploymentBuckets',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: buckets.map((bucket) => `arn:${partition}:s3:::${bucket}`),
      },
      {
        Sid: 'ReadWriteDeploymentObjects',
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: buckets.map((bucket) => `arn:${partition}:s3:::${bucket}/*`),
      },
    );
  }
  const secretsPath = plan.names.secretsPath.replace(/\/+$/, '');
  // The CloudWatch agent ships the node's logs into the deployment's own group (created by the workflow), only.
  statements.push({
    Sid: 'WriteClusterLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
    Resource: `arn:${partition}:logs:${plan.region}:${account}:log-group:${logGroupName(plan.deployment)}:*`,
  });
  statements.push(
    {
      Sid: 'ReadDeploymentSecrets',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:GetParameters'],
      Resource: `arn:${partition}:ssm:${plan.region}:${account}:parameter${secretsPath}/*`,
    },
    {
      Sid: 'DecryptDeploymentSecretsThroughSsm',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': `ssm.${plan.region}.amazonaws.com` } },
    },
  );
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** The name of an inline policy document: prefix + a hash of the document, within IAM's 128 characters. */
export const inlinePolicyName = (document: string) =>
  `${INLINE_POLICY_PREFIX}${createHash('sha256').update(document).digest('hex').slice(0, 16)}`;

/** `arn:<partition>:<service>::<account>:...` (a role's, or the caller's) → partition and account. */
function arnParts(arn: string): { partition: string; account: string } {
  const [, partition, , , account] = arn.split(':');
  return { partition, account };
}

/** The ARN of the instance boundary in an account (see {@link INSTANCE_BOUNDARY_NAME}). */
export const instanceBoundaryArn = ({ partition, account }: { partition: string; account: string }) =>
  `arn:${partition}:iam::${account}:policy${INSTANCE_ROLE_PATH}${INSTANCE_BOUNDARY_NAME}`;

/** The role, and whether this call created it (then it already carries the boundary). */
async function getOrCreateRole({
  plan,
  clients,
}: DeploymentContext): Promise<{ role: Role; created: boolean }> {
  const roleName = plan.names.instanceRole;
  const site = { resource: `instance role ${roleName}`, id: roleName };
  try {
    return {
      role: (await clients.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!,
      created: false,
    };
  } catch (error) {
    if (!isNotFound(error)) throw asDeploymentError(error, site);
  }
  // The role does not exist yet: the account it goes to is the caller's (GetCallerIdentity needs no permission).
  const caller = await awsCall(site, () => clients.sts.send(new GetCallerIdentityCommand({})));
  const created = await awsCall(site, () =>
    clients.iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        Path: INSTANCE_ROLE_PATH,
        AssumeRolePolicyDocument: TRUST_POLICY,
        Description: `Capillaries deployment ${plan.deployment}: SSM agent, its S3 buckets and its secrets`,
        PermissionsBoundary: instanceBoundaryArn(arnParts(caller.Arn!)),
        Tags: iamTags(plan, roleName),
      }),
    ),
  );
  return { role: created.Role!, created: true };
}

/**
 * Puts the instance boundary on a role that exists without it (created before the boundary, or given another one):
 * before any policy change, since the grants allow PutRolePolicy and AttachRolePolicy only on a role that has it.
 */
async function ensureBoundary({ plan, clients }: DeploymentContext, role: Role, boundaryArn: string) {
  if (role.PermissionsBoundary?.PermissionsBoundaryArn === boundaryArn) return;
  const roleName = plan.names.instanceRole;
  await awsCall({ resource: `instance role ${roleName}`, id: roleName }, () =>
    clients.iam.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: roleName, PermissionsBoundary: boundaryArn }),
    ),
  );
}

async function getOrCreateProfile({ plan, clients }: DeploymentContext): Promise<InstanceProfile> {
  const profileName = plan.names.instanceProfile;
  const site = { resource: `instance profile ${profileName}`, id: profileName };
  try {
    return (await clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profileName })))
      .InstanceProfile!;
  } catch (error) {
    if (!isNotFound(error)) throw asDeploymentError(error, site);
  }
  const created = await awsCall(site, () =>
    clients.iam.send(
      new CreateInstanceProfileCommand({
        InstanceProfileName: profileName,
        Path: INSTANCE_ROLE_PATH,
        Tags: iamTags(plan, profileName),
      }),
    ),
  );
  return created.InstanceProfile!;
}

/**
 * Ensures the deployment's instance role (trusting ec2.amazonaws.com only, bounded by the instance boundary, with
 * AmazonSSMManagedInstanceCore and the inline access policy) and its instance profile holding the role. Reads before
 * every write, so a converged deployment costs only reads: the inline policy's name carries a hash of its document,
 * so a changed spec (other buckets) puts the new document and deletes the outdated one.
 */
export async function ensureInstanceRole(
  ctx: DeploymentContext,
  buckets: string[],
  outputBucket?: string,
): Promise<InstanceRoleResult> {
  const { plan, clients } = ctx;
  const roleName = plan.names.instanceRole;
  const roleSite = { resource: `instance role ${roleName}`, id: roleName };
  const { role, created } = await getOrCreateRole(ctx);
  const { partition, account } = arnParts(role.Arn!);
  if (!created) await ensureBoundary(ctx, role, instanceBoundaryArn({ partition, account }));

  const document = instancePolicy(plan, buckets, partition, account, outputBucket);
  const policyName = inlinePolicyName(document);
  const inline = await awsCall(roleSite, () =>
    clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName })),
  );
  const existingPolicies = inline.PolicyNames ?? [];
  if (!existingPolicies.includes(policyName)) {
    await awsCall(roleSite, () =>
      clients.iam.send(
        new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: document }),
      ),
    );
  }
  for (const outdated of existingPolicies.filter(
    (name) => name !== policyName && name.startsWith(INLINE_POLICY_PREFIX),
  )) {
    await deleteIfPresent(roleSite, () =>
      clients.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: outdated })),
    );
  }

  const attached = await awsCall(roleSite, () =>
    clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName })),
  );
  if (!(attached.AttachedPolicies ?? []).some((policy) => policy.PolicyArn === SSM_CORE_POLICY_ARN)) {
    await awsCall(roleSite, () =>
      clients.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: SSM_CORE_POLICY_ARN })),
    );
  }

  const profile = await getOrCreateProfile(ctx);
  const profileName = plan.names.instanceProfile;
  const members = (profile.Roles ?? []).map((member) => member.RoleName);
  if (members.length > 0 && !members.includes(roleName)) {
    throw new ResourceConflict({
      resource: `instance profile ${profileName}`,
      id: profile.Arn ?? profileName,
      message: `the instance profile holds role ${members.join(', ')}, not ${roleName}`,
      hint: `An instance profile holds one role. Remove the other role from it (${members.map((member) => `\`aws iam remove-role-from-instance-profile --instance-profile-name ${profileName} --role-name ${member}\``).join(', ')}) and re-run create.`,
    });
  }
  if (members.length === 0) {
    await awsCall({ resource: `instance profile ${profileName}`, id: profileName }, () =>
      clients.iam.send(
        new AddRoleToInstanceProfileCommand({ InstanceProfileName: profileName, RoleName: roleName }),
      ),
    );
  }
  return { roleName, instanceProfileName: profileName, instanceProfileArn: profile.Arn! };
}

/** Runs a call; false when AWS says the entity does not exist, any other failure as a named error. */
async function present(site: CallSite, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw asDeploymentError(error, site);
  }
}

/**
 * Deletes the profile and the role in IAM's required order (role out of the profile, profile, managed policies,
 * inline policies, role); every step tolerates "already gone", so a re-run converges. Each entity is first read
 * (GetInstanceProfile, GetRole): a change to one that does not exist is authorized without its path, which the grants
 * scoped to path /capideploy/ refuse with AccessDenied rather than NoSuchEntity (reference/aws-behaviour-2.md §3a).
 */
export async function deleteInstanceRole({
  plan,
  clients,
}: DeploymentContext): Promise<{ deleted: string[] }> {
  const roleName = plan.names.instanceRole;
  const profileName = plan.names.instanceProfile;
  const roleSite = { resource: `instance role ${roleName}`, id: roleName };
  const profileSite = { resource: `instance profile ${profileName}`, id: profileName };
  const deleted: string[] = [];

  const profileFound = await present(profileSite, () =>
    clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profileName })),
  );
  if (profileFound) {
    // NoSuchEntity here means the profile no longer holds the role (or went meanwhile): both are fine.
    await present(profileSite, () =>
      clients.iam.send(
        new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: profileName, RoleName: roleName }),
      ),
    );
    if (
      await present(profileSite, () =>
        clients.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: profileName })),
      )
    ) {
      deleted.push(`instance-profile/${profileName}`);
    }
  }

  if (!(await present(roleSite, () => clients.iam.send(new GetRoleCommand({ RoleName: roleName }))))) {
    return { deleted };
  }
  let attachedArns: string[] = [];
  await present(roleSite, async () => {
    const attached = await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
    attachedArns = (attached.AttachedPolicies ?? []).map((policy) => policy.PolicyArn!);
  });
  for (const policyArn of attachedArns) {
    await deleteIfPresent(roleSite, () =>
      clients.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn })),
    );
  }
  let inlineNames: string[] = [];
  await present(roleSite, async () => {
    inlineNames =
      (await clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
  });
  for (const policyName of inlineNames) {
    await deleteIfPresent(roleSite, () =>
      clients.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
    );
  }
  if (await present(roleSite, () => clients.iam.send(new DeleteRoleCommand({ RoleName: roleName })))) {
    deleted.push(`role/${roleName}`);
  }
  return { deleted };
}
