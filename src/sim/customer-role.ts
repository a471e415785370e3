import { createHash } from 'node:crypto';
import {
  OPERATOR_ROLE_PREFIX,
  policyDocumentOf,
  renderCustomerGrants,
  WORKFLOW_ROLE_PATH,
} from '../core/permissions.js';
import type { SimulatedAccount } from './account.js';
import { ensureInstanceBoundary, type IamState } from './services/iam.js';
import { registerAssumableRole, type StsState } from './services/sts.js';

/**
 * SaaS mode offline: the customer role that the `CapiDeployCustomerRole` stack (infra/customer-role-stack.ts) deploys
 * in a customer's account, put straight into the simulated account's state by `capi-deploy customers add --local`:
 * - the IAM role (its name and path from the ARN, in the ARN's account), trusted only by the operator account's
 *   workflow roles (path /capideploy-workflow/) and only with the external id, sessions of at most one hour;
 * - its inline policy `capideploy-operator`: the rendered customer grants of src/core/permissions.ts, as IAM JSON;
 * - the instance roles' permissions boundary in that account;
 * - the simulated STS's trust entry, so AssumeRole checks the operator account and the external id.
 * The simulated IAM keeps one namespace of role names for every account: a customer role must not share its name
 * with another customer's (the CLI registers one role per customer name, `capideploy-operator-<customer>` by habit).
 */

/** The inline policy of the customer role, as the stack names it. */
export const CUSTOMER_POLICY_NAME = 'capideploy-operator';

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role(\/(?:[\u0021-\u007E]*\/)?)([\w+=,.@-]+)$/;

/** The parts of a role ARN, or null. */
function parseRoleArn(roleArn: string) {
  const match = ROLE_ARN.exec(roleArn);
  if (!match) return null;
  const [, partition, accountId, path, name] = match;
  return { partition, accountId, path, name };
}

/** The trust policy the customer role stack writes: the operator account's workflow roles, with the external id. */
function trustPolicy(partition: string, operatorAccount: string, externalId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${operatorAccount}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': externalId },
          ArnLike: {
            'aws:PrincipalArn': `arn:${partition}:iam::${operatorAccount}:role${WORKFLOW_ROLE_PATH}*`,
          },
        },
      },
    ],
  });
}

/** Why the customer role of `roleArn` cannot be created in the simulated account, or null. */
export function customerRoleProblem(account: SimulatedAccount, roleArn: string): string | null {
  const parts = parseRoleArn(roleArn);
  if (!parts) return 'must be an IAM role ARN';
  const existing = account.stateOf<IamState>('IAM').roles[parts.name];
  return existing && existing.Arn !== roleArn
    ? `the simulated account already has a role named ${parts.name} (${existing.Arn}), and IAM role names are one namespace there: choose another role name`
    : null;
}

/**
 * Creates (or, for the same ARN, replaces) the customer role of `roleArn` in the simulated account. Throws on an ARN
 * that is not a role ARN or whose name does not start with `capideploy-operator` (the workflow may assume no other).
 */
export function putCustomerRole(
  account: SimulatedAccount,
  target: { roleArn: string; externalId: string },
): void {
  const parts = parseRoleArn(target.roleArn);
  if (!parts) throw new Error(`not an IAM role ARN: ${target.roleArn}`);
  if (!parts.name.startsWith(OPERATOR_ROLE_PREFIX)) {
    throw new Error(`the workflow may assume only roles named ${OPERATOR_ROLE_PREFIX}*: ${target.roleArn}`);
  }
  const iam = account.stateOf<IamState>('IAM');
  const existing = iam.roles[parts.name];
  if (existing && existing.Arn !== target.roleArn) {
    throw new Error(`the simulated account already has a role named ${parts.name} (${existing.Arn})`);
  }
  // As the customer role stack renders them (infra/customer-role-stack.ts): the output bucket is the operator's,
  // unknown to the customer's stack, so any bucket (the instance role's own policy narrows it).
  const grants = renderCustomerGrants({
    partition: parts.partition,
    account: parts.accountId,
    commandOutputBucketArn: `arn:${parts.partition}:s3:::*`,
  });
  iam.roles[parts.name] = {
    RoleName: parts.name,
    RoleId: `AROA${createHash('sha256').update(target.roleArn).digest('hex').slice(0, 17).toUpperCase()}`,
    Arn: target.roleArn,
    Path: parts.path,
    CreateDate: existing?.CreateDate ?? account.lastClock,
    AssumeRolePolicyDocument: trustPolicy(parts.partition, account.accountId, target.externalId),
    Description: 'Assumed by the capideploy workflow to create and delete Capillaries deployments here',
    MaxSessionDuration: 3600,
    Tags: [],
    AttachedPolicyArns: [],
    InlinePolicies: { [CUSTOMER_POLICY_NAME]: JSON.stringify(policyDocumentOf(grants)) },
  };
  ensureInstanceBoundary(account, { accountId: parts.accountId });
  registerAssumableRole(account, target.roleArn, {
    externalId: target.externalId,
    trustedAccount: account.accountId,
    maxSessionDuration: 3600,
  });
}

/** Removes the customer role of `roleArn` and its trust entry; false when there was none. */
export function removeCustomerRole(account: SimulatedAccount, roleArn: string): boolean {
  const parts = parseRoleArn(roleArn);
  if (!parts) return false;
  const iam = account.stateOf<IamState>('IAM');
  const sts = account.stateOf<StsState>('STS');
  const had = iam.roles[parts.name]?.Arn === roleArn;
  if (had) delete iam.roles[parts.name];
  if (sts.assumableRoles?.[roleArn]) delete sts.assumableRoles[roleArn];
  return had;
}
