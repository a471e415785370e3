import { createHash } from 'node:crypto';
import type { OperationContext, ServiceSimulator, SimulatedAccount } from '../account.js';
import { decodeAuthorizationMessage } from '../iam/authorizer.js';
import { modeledError, validationError } from './iam.js';

/** A role the simulated STS lets callers assume: the trust policy reduced to what AssumeRole checks. */
export interface AssumableRole {
  /** The `sts:ExternalId` condition of the trust policy, if any. */
  externalId?: string;
  /** The account whose principals the trust policy names. */
  trustedAccount: string;
  /** The role's MaxSessionDuration, in seconds (default 3600). */
  maxSessionDuration?: number;
}

/** An assumed-role session, by its access key id; the account core resolves callers through it. */
export interface StsSession {
  arn: string;
  accountId: string;
  userId: string;
  roleArn: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** The STS slice of the account state. */
export interface StsState {
  sessions: Record<string, StsSession>;
  assumableRoles: Record<string, AssumableRole>;
}

type Ctx = OperationContext<StsState>;

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** AWS caps a session obtained with assumed-role credentials (role chaining) at one hour. */
const CHAINED_SESSION_MAX_SECONDS = 3600;

const digest = (text: string, encoding: 'hex' | 'base64' = 'hex') =>
  createHash('sha256').update(text).digest(encoding);

/** A stable principal id such as `AROA…`, derived from the principal's ARN. */
const principalId = (prefix: string, arn: string) =>
  `${prefix}${digest(arn)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, 17)}`;

/**
 * Lets callers assume `roleArn` in the simulated account (tests and the CLI's local mode call this: the simulated
 * IAM has no cross-account trust policies to evaluate).
 */
export function registerAssumableRole(account: SimulatedAccount, roleArn: string, role: AssumableRole): void {
  const state = account.stateOf<StsState>('STS');
  state.assumableRoles ??= {};
  state.assumableRoles[roleArn] = { ...role };
}

function accessDenied(ctx: Ctx, roleArn: string) {
  return modeledError(
    'AccessDenied',
    `User: ${ctx.caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    { status: 403 },
  );
}

function checkInput(input: any): { duration: number } {
  if (!SESSION_NAME.test(String(input.RoleSessionName ?? ''))) {
    throw validationError(
      'roleSessionName',
      input.RoleSessionName ?? null,
      'Member must satisfy regular expression pattern: [\\w+=,.@-]*',
    );
  }
  if (input.ExternalId !== undefined && !EXTERNAL_ID.test(String(input.ExternalId))) {
    throw validationError(
      'externalId',
      String(input.ExternalId),
      'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*',
    );
  }
  const duration = input.DurationSeconds ?? 3600;
  if (duration < 900) {
    throw validationError(
      'durationSeconds',
      String(duration),
      'Member must have value greater than or equal to 900',
    );
  }
  if (duration > 43_200) {
    throw validationError(
      'durationSeconds',
      String(duration),
      'Member must have value less than or equal to 43200',
    );
  }
  return { duration };
}

/** The trust check: the role is known, trusts the caller's account, and its external id condition holds. */
function trustedRole(ctx: Ctx, roleArn: string, externalId: unknown): AssumableRole {
  const role = ctx.state.assumableRoles?.[roleArn];
  // AWS gives the same AccessDenied whether the role is missing, untrusting, or the external id is wrong.
  if (!role || role.trustedAccount !== ctx.caller.accountId) throw accessDenied(ctx, roleArn);
  if (role.externalId !== undefined && externalId !== role.externalId) throw accessDenied(ctx, roleArn);
  return role;
}

function checkDuration(ctx: Ctx, role: AssumableRole, duration: number) {
  if (ctx.caller.arn.includes(':assumed-role/') && duration > CHAINED_SESSION_MAX_SECONDS) {
    throw modeledError(
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  }
  if (duration > (role.maxSessionDuration ?? 3600)) {
    throw modeledError(
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
}

function assumeRole(ctx: Ctx, input: any) {
  const { duration } = checkInput(input);
  const roleArn = String(input.RoleArn ?? '');
  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw accessDenied(ctx, roleArn);
  const role = trustedRole(ctx, roleArn, input.ExternalId);
  checkDuration(ctx, role, duration);
  const [, accountId, roleName] = match;
  const session = String(input.RoleSessionName);
  const accessKeyId = `ASIA${ctx.newId('x', 16).slice(2).toUpperCase()}`;
  const expiresAt = ctx.now() + duration * 1000;
  const assumed: StsSession = {
    arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${session}`,
    accountId,
    userId: `${principalId('AROA', roleArn)}:${session}`,
    roleArn,
    expiresAt,
  };
  ctx.state.sessions[accessKeyId] = assumed;
  return {
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: digest(`secret:${accessKeyId}`, 'base64').slice(0, 40),
      SessionToken: `IQoJb3JpZ2luX2VjE${digest(`token:${accessKeyId}`, 'base64')}${digest(accessKeyId, 'base64')}`,
      Expiration: new Date(expiresAt),
    },
    AssumedRoleUser: { AssumedRoleId: assumed.userId, Arn: assumed.arn },
    PackedPolicySize: 0,
  };
}

function getCallerIdentity(ctx: Ctx) {
  const session = ctx.state.sessions[ctx.caller.accessKeyId];
  return {
    UserId: session?.userId ?? principalId('AIDA', ctx.caller.arn),
    Account: ctx.caller.accountId,
    Arn: ctx.caller.arn,
  };
}

/** The JSON behind an EC2 denial's "Encoded authorization failure message" (IAM evaluation, src/sim/iam). */
function decodeMessage(_ctx: Ctx, input: any) {
  const decoded = decodeAuthorizationMessage(String(input.EncodedMessage ?? ''));
  if (!decoded) throw modeledError('InvalidAuthorizationMessageException', 'The encoded message is invalid.');
  return { DecodedMessage: decoded };
}

/** STS: GetCallerIdentity and AssumeRole with trust and external id checks. */
export const stsSimulator: ServiceSimulator<StsState> = {
  name: 'STS',
  initialState: () => ({ sessions: {}, assumableRoles: {} }),
  operations: {
    GetCallerIdentity: getCallerIdentity,
    AssumeRole: assumeRole,
    DecodeAuthorizationMessage: decodeMessage,
  },
  targetsOf: (_ctx, operation, input) =>
    operation === 'AssumeRole' && typeof input?.RoleArn === 'string' ? [input.RoleArn] : [],
};
