import { createHash } from 'node:crypto';
import { policyDocumentOf, renderInstanceBoundary } from '../../core/permissions.js';
import {
  DEFAULT_ACCOUNT_ID,
  type OperationContext,
  type ServiceSimulator,
  type SimulatedAccount,
} from '../account.js';
import { awsError, type SimulatedAwsError } from '../aws-error.js';
import { LATENCY_SECONDS } from '../latency.js';

/** An AWS tag, as IAM, SSM and EC2 carry them. */
export interface Tag {
  Key: string;
  Value: string;
}

/** One IAM role in the simulated account. Timestamps are epoch milliseconds (the state is persisted as JSON). */
export interface IamRole {
  RoleName: string;
  RoleId: string;
  Arn: string;
  Path: string;
  CreateDate: number;
  /** The trust policy as given (IAM returns it URL-encoded). */
  AssumeRolePolicyDocument: string;
  Description?: string;
  MaxSessionDuration: number;
  Tags: Tag[];
  /** ARNs of the managed policies attached to the role. */
  AttachedPolicyArns: string[];
  /** Inline policies by name. */
  InlinePolicies: Record<string, string>;
  /** ARN of the managed policy set as the role's permissions boundary, if any. */
  PermissionsBoundaryArn?: string;
}

/** One customer managed policy (a single version, v1). */
export interface IamManagedPolicy {
  PolicyName: string;
  PolicyId: string;
  Arn: string;
  Path: string;
  CreateDate: number;
  Description?: string;
  Document: string;
  Tags: Tag[];
}

/** One instance profile. `usableAt` is when EC2 RunInstances starts accepting it (IAM propagation). */
export interface IamInstanceProfile {
  InstanceProfileName: string;
  InstanceProfileId: string;
  Arn: string;
  Path: string;
  CreateDate: number;
  usableAt: number;
  /** Role names (at most one). */
  Roles: string[];
  Tags: Tag[];
}

/** The IAM slice of the account state; the EC2 and SSM simulators read it. */
export interface IamState {
  roles: Record<string, IamRole>;
  instanceProfiles: Record<string, IamInstanceProfile>;
  /** Customer managed policies by ARN (absent in accounts saved before they existed). */
  policies?: Record<string, IamManagedPolicy>;
}

/** The managed policy an instance role needs for SSM Agent to register. */
export const SSM_MANAGED_INSTANCE_CORE = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';

const MAX_MANAGED_POLICIES_PER_ROLE = 10;
const MAX_INLINE_POLICY_BYTES = 10_240;
const MAX_TAGS = 50;

/**
 * An error shaped as the SDK v3 deserializer builds it for a modeled AWS error: `name` is the SDK's class name
 * (IAM's wire code `NoSuchEntity` surfaces as `NoSuchEntityException`), `Code`/`Type`/`Error` keep the wire code.
 * The SDK's `instanceof NoSuchEntityException` matches such an object by name.
 */
export function modeledError(
  name: string,
  message: string,
  options: { code?: string; status?: number } = {},
): SimulatedAwsError {
  const error = awsError(name, message, options.status);
  const code = options.code ?? name;
  error.Code = code;
  Object.assign(error, { Type: 'Sender', Error: { Type: 'Sender', Code: code, Message: message } });
  return error;
}

type IamCode =
  | 'NoSuchEntity'
  | 'EntityAlreadyExists'
  | 'DeleteConflict'
  | 'LimitExceeded'
  | 'MalformedPolicyDocument'
  | 'InvalidInput';

const IAM_STATUS: Record<IamCode, number> = {
  NoSuchEntity: 404,
  EntityAlreadyExists: 409,
  DeleteConflict: 409,
  LimitExceeded: 409,
  MalformedPolicyDocument: 400,
  InvalidInput: 400,
};

/** An IAM error: wire code `NoSuchEntity`, SDK class `NoSuchEntityException`, HTTP status as IAM sends it. */
function iamError(code: IamCode, message: string): SimulatedAwsError {
  return modeledError(`${code}Exception`, message, { code, status: IAM_STATUS[code] });
}

/** The constraint error of the query services IAM and STS (unmodeled, so the SDK names it by its code). */
export function validationError(field: string, value: string | null, constraint: string): SimulatedAwsError {
  const shown = value === null ? 'null' : `'${value}'`;
  return modeledError(
    'ValidationError',
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

type Ctx = OperationContext<IamState>;

const NAME_PATTERN = /^[\w+=,.@-]+$/;
const PATH_PATTERN = /^(\/|\/[\u0021-\u007E]+\/)$/;

function checkName(field: string, name: unknown, maxLength: number): string {
  const value = String(name ?? '');
  if (!NAME_PATTERN.test(value)) {
    throw validationError(field, value, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
  }
  if (value.length > maxLength) {
    throw validationError(field, value, `Member must have length less than or equal to ${maxLength}`);
  }
  return value;
}

function checkPath(path: unknown): string {
  const value = path === undefined ? '/' : String(path);
  if (!PATH_PATTERN.test(value)) {
    throw validationError(
      'path',
      value,
      'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
    );
  }
  return value;
}

/** IAM names are unique regardless of case: `MyRole` and `myrole` are the same role. */
function findKey<T>(record: Record<string, T>, name: string): string | undefined {
  if (name in record) return name;
  const lower = name.toLowerCase();
  return Object.keys(record).find((key) => key.toLowerCase() === lower);
}

function checkPolicyJson(document: unknown): string {
  const text = String(document ?? '');
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
  } catch {
    throw iamError('MalformedPolicyDocument', 'This policy contains invalid Json');
  }
  return text;
}

const iamId = (ctx: Ctx, prefix: string) => `${prefix}${ctx.newId('x', 17).slice(2).toUpperCase()}`;

function mergeTags(existing: Tag[], added: Tag[] | undefined, limitName: string): Tag[] {
  const merged = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added ?? []) merged.set(tag.Key, tag.Value ?? '');
  if (merged.size > MAX_TAGS) {
    throw iamError('LimitExceeded', `Cannot exceed quota for ${limitName}: ${MAX_TAGS}`);
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

/** The role named `name`, or IAM's NoSuchEntity. */
export function roleNamed(state: IamState, name: string): IamRole {
  if (name === undefined || name === null) {
    throw validationError('roleName', null, 'Member must not be null');
  }
  const key = findKey(state.roles, String(name));
  if (!key) throw iamError('NoSuchEntity', `The role with name ${name} cannot be found.`);
  return state.roles[key];
}

function profileNamed(state: IamState, name: string): IamInstanceProfile {
  if (name === undefined || name === null) {
    throw validationError('instanceProfileName', null, 'Member must not be null');
  }
  const key = findKey(state.instanceProfiles, String(name));
  if (!key) throw iamError('NoSuchEntity', `Instance Profile ${name} cannot be found.`);
  return state.instanceProfiles[key];
}

/** The instance profile an EC2 `IamInstanceProfile.Arn` names (`…:instance-profile/path/name`), if it exists. */
export function instanceProfileOfArn(state: IamState, arn: string): IamInstanceProfile | undefined {
  const name = arn.split('/').pop() ?? '';
  const key = findKey(state.instanceProfiles, name);
  return key ? state.instanceProfiles[key] : undefined;
}

/** True when the profile's role has the managed policy attached. */
export function profileRoleHasPolicy(
  state: IamState,
  profile: IamInstanceProfile,
  policyArn: string,
): boolean {
  const roleKey = profile.Roles[0] === undefined ? undefined : findKey(state.roles, profile.Roles[0]);
  return roleKey !== undefined && state.roles[roleKey].AttachedPolicyArns.includes(policyArn);
}

// IAM returns policy documents URL-encoded (RFC 3986); the SDK does not decode them.
const encodePolicy = (document: string) => encodeURIComponent(document);

function roleOutput(role: IamRole, withTags = true) {
  return {
    ...(role.PermissionsBoundaryArn === undefined
      ? {}
      : {
          PermissionsBoundary: {
            PermissionsBoundaryType: 'Policy',
            PermissionsBoundaryArn: role.PermissionsBoundaryArn,
          },
        }),
    Path: role.Path,
    RoleName: role.RoleName,
    RoleId: role.RoleId,
    Arn: role.Arn,
    CreateDate: new Date(role.CreateDate),
    AssumeRolePolicyDocument: encodePolicy(role.AssumeRolePolicyDocument),
    ...(role.Description === undefined ? {} : { Description: role.Description }),
    MaxSessionDuration: role.MaxSessionDuration,
    ...(withTags && role.Tags.length > 0 ? { Tags: role.Tags } : {}),
  };
}

function profileOutput(state: IamState, profile: IamInstanceProfile) {
  return {
    Path: profile.Path,
    InstanceProfileName: profile.InstanceProfileName,
    InstanceProfileId: profile.InstanceProfileId,
    Arn: profile.Arn,
    CreateDate: new Date(profile.CreateDate),
    Roles: profile.Roles.flatMap((name) => {
      const key = findKey(state.roles, name);
      return key ? [roleOutput(state.roles[key], false)] : [];
    }),
    ...(profile.Tags.length > 0 ? { Tags: profile.Tags } : {}),
  };
}

function createRole(ctx: Ctx, input: any) {
  const name = checkName('roleName', input.RoleName, 64);
  const path = checkPath(input.Path);
  if (findKey(ctx.state.roles, name)) {
    throw iamError('EntityAlreadyExists', `Role with name ${name} already exists.`);
  }
  const boundary =
    input.PermissionsBoundary === undefined ? undefined : boundaryPolicy(ctx, input.PermissionsBoundary);
  const role: IamRole = {
    RoleName: name,
    RoleId: iamId(ctx, 'AROA'),
    Arn: `arn:aws:iam::${ctx.caller.accountId}:role${path}${name}`,
    Path: path,
    CreateDate: ctx.now(),
    AssumeRolePolicyDocument: checkPolicyJson(input.AssumeRolePolicyDocument),
    ...(input.Description === undefined ? {} : { Description: String(input.Description) }),
    MaxSessionDuration: input.MaxSessionDuration ?? 3600,
    Tags: mergeTags([], input.Tags, 'TagsPerRole'),
    AttachedPolicyArns: [],
    InlinePolicies: {},
    ...(boundary === undefined ? {} : { PermissionsBoundaryArn: boundary }),
  };
  ctx.state.roles[name] = role;
  return { Role: roleOutput(role) };
}

function deleteRole(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  if (role.AttachedPolicyArns.length > 0) {
    throw iamError('DeleteConflict', 'Cannot delete entity, must detach all policies first.');
  }
  if (Object.keys(role.InlinePolicies).length > 0) {
    throw iamError('DeleteConflict', 'Cannot delete entity, must delete policies first.');
  }
  if (Object.values(ctx.state.instanceProfiles).some((profile) => profile.Roles.includes(role.RoleName))) {
    throw iamError('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.');
  }
  delete ctx.state.roles[role.RoleName];
  return {};
}

const MANAGED_POLICY_ARN = /^arn:aws:iam::(aws|\d{12}):policy\/([\u0021-\u007E]+\/)?[\w+=,.@-]+$/;

/** True when the managed policy exists: every AWS managed one is assumed to, customer managed ones by CreatePolicy. */
const policyExists = (state: IamState, arn: string) =>
  arn.startsWith('arn:aws:iam::aws:policy/') || state.policies?.[arn] !== undefined;

/** A permissions boundary given to CreateRole or PutRolePermissionsBoundary: a valid ARN of an existing policy. */
function boundaryPolicy(ctx: Ctx, value: unknown): string {
  const arn = String(value ?? '');
  if (!MANAGED_POLICY_ARN.test(arn)) throw iamError('InvalidInput', `ARN ${arn} is not valid.`);
  if (!policyExists(ctx.state, arn)) {
    throw iamError('NoSuchEntity', `Scope ARN: ${arn} does not exist or is not attachable.`);
  }
  return arn;
}

function attachRolePolicy(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  const arn = String(input.PolicyArn ?? '');
  if (!MANAGED_POLICY_ARN.test(arn)) throw iamError('InvalidInput', `ARN ${arn} is not valid.`);
  if (!policyExists(ctx.state, arn)) {
    throw iamError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`);
  }
  if (role.AttachedPolicyArns.includes(arn)) return {};
  if (role.AttachedPolicyArns.length >= MAX_MANAGED_POLICIES_PER_ROLE) {
    throw iamError(
      'LimitExceeded',
      `Cannot exceed quota for PoliciesPerRole: ${MAX_MANAGED_POLICIES_PER_ROLE}`,
    );
  }
  role.AttachedPolicyArns.push(arn);
  return {};
}

function detachRolePolicy(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  const arn = String(input.PolicyArn ?? '');
  if (!role.AttachedPolicyArns.includes(arn)) {
    throw iamError('NoSuchEntity', `Policy ${arn} was not found.`);
  }
  role.AttachedPolicyArns = role.AttachedPolicyArns.filter((attached) => attached !== arn);
  return {};
}

function listAttachedRolePolicies(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  return {
    AttachedPolicies: role.AttachedPolicyArns.map((arn) => ({
      PolicyName: arn.split('/').pop(),
      PolicyArn: arn,
    })),
    IsTruncated: false,
  };
}

function putRolePolicy(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  const name = checkName('policyName', input.PolicyName, 128);
  const document = checkPolicyJson(input.PolicyDocument);
  const others = Object.entries(role.InlinePolicies).filter(([key]) => key !== name);
  const size = others.reduce((sum, [, text]) => sum + text.replace(/\s/g, '').length, 0);
  if (size + document.replace(/\s/g, '').length > MAX_INLINE_POLICY_BYTES) {
    throw iamError(
      'LimitExceeded',
      `Maximum policy size of ${MAX_INLINE_POLICY_BYTES} bytes exceeded for role ${role.RoleName}`,
    );
  }
  role.InlinePolicies[name] = document;
  return {};
}

function inlinePolicy(role: IamRole, name: string): string {
  const document = role.InlinePolicies[name];
  if (document === undefined) {
    throw iamError('NoSuchEntity', `The role policy with name ${name} cannot be found.`);
  }
  return document;
}

function getRolePolicy(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  const document = inlinePolicy(role, input.PolicyName);
  return { RoleName: role.RoleName, PolicyName: input.PolicyName, PolicyDocument: encodePolicy(document) };
}

function deleteRolePolicy(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  inlinePolicy(role, input.PolicyName);
  delete role.InlinePolicies[input.PolicyName];
  return {};
}

function putRolePermissionsBoundary(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  role.PermissionsBoundaryArn = boundaryPolicy(ctx, input.PermissionsBoundary);
  return {};
}

function deleteRolePermissionsBoundary(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  delete role.PermissionsBoundaryArn;
  return {};
}

function policyOutput(state: IamState, policy: IamManagedPolicy) {
  const roles = Object.values(state.roles);
  return {
    PolicyName: policy.PolicyName,
    PolicyId: policy.PolicyId,
    Arn: policy.Arn,
    Path: policy.Path,
    DefaultVersionId: 'v1',
    AttachmentCount: roles.filter((role) => role.AttachedPolicyArns.includes(policy.Arn)).length,
    PermissionsBoundaryUsageCount: roles.filter((role) => role.PermissionsBoundaryArn === policy.Arn).length,
    IsAttachable: true,
    ...(policy.Description === undefined ? {} : { Description: policy.Description }),
    CreateDate: new Date(policy.CreateDate),
    UpdateDate: new Date(policy.CreateDate),
    ...(policy.Tags.length > 0 ? { Tags: policy.Tags } : {}),
  };
}

/** Stores a customer managed policy in the caller's account; EntityAlreadyExists when its name is taken there. */
function storePolicy(
  state: IamState,
  accountId: string,
  policy: Omit<IamManagedPolicy, 'Arn'>,
): IamManagedPolicy {
  state.policies ??= {};
  const arn = `arn:aws:iam::${accountId}:policy${policy.Path}${policy.PolicyName}`;
  const prefix = `arn:aws:iam::${accountId}:policy/`;
  const lower = policy.PolicyName.toLowerCase();
  if (
    Object.values(state.policies).some(
      (existing) => existing.Arn.startsWith(prefix) && existing.PolicyName.toLowerCase() === lower,
    )
  ) {
    throw iamError(
      'EntityAlreadyExists',
      `A policy called ${policy.PolicyName} already exists. Duplicate names are not allowed.`,
    );
  }
  const stored: IamManagedPolicy = { ...policy, Arn: arn };
  state.policies[arn] = stored;
  return stored;
}

function createPolicy(ctx: Ctx, input: any) {
  const policy = storePolicy(ctx.state, ctx.caller.accountId, {
    PolicyName: checkName('policyName', input.PolicyName, 128),
    PolicyId: iamId(ctx, 'ANPA'),
    Path: checkPath(input.Path),
    CreateDate: ctx.now(),
    ...(input.Description === undefined ? {} : { Description: String(input.Description) }),
    Document: checkPolicyJson(input.PolicyDocument),
    Tags: mergeTags([], input.Tags, 'TagsPerPolicy'),
  });
  return { Policy: policyOutput(ctx.state, policy) };
}

function getPolicy(ctx: Ctx, input: any) {
  const arn = String(input.PolicyArn ?? '');
  if (!MANAGED_POLICY_ARN.test(arn)) throw iamError('InvalidInput', `ARN ${arn} is not valid.`);
  const policy = ctx.state.policies?.[arn];
  if (!policy) throw iamError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`);
  return { Policy: policyOutput(ctx.state, policy) };
}

/**
 * Name and path of the permissions boundary the stacks deploy for the instance roles (src/core/permissions.ts,
 * INSTANCE_BOUNDARY_NAME; the InstanceRole handler derives its ARN from the account).
 */
export const INSTANCE_BOUNDARY = { name: 'capideploy-instance-boundary', path: '/capideploy/' } as const;

/** The boundary's document in an account, as the stacks deploy it (src/core/permissions.ts, INSTANCE_BOUNDARY). */
const boundaryDocument = (accountId: string) =>
  JSON.stringify(policyDocumentOf(renderInstanceBoundary({ partition: 'aws', account: accountId })));

/** The boundary's entry in an account's state, as the stack would have deployed it (a stable id per account). */
const boundaryEntry = (accountId: string, document: string): Omit<IamManagedPolicy, 'Arn'> => ({
  PolicyName: INSTANCE_BOUNDARY.name,
  PolicyId: `ANPA${createHash('sha256').update(`boundary:${accountId}`).digest('hex').slice(0, 17).toUpperCase()}`,
  Path: INSTANCE_BOUNDARY.path,
  CreateDate: 0,
  Description: 'Permissions boundary of the capideploy instance roles (deployed by the stack)',
  Document: document,
  Tags: [],
});

/**
 * Puts the instance boundary policy into a simulated account, as the CapiDeploy (or, in SaaS mode, the customer role)
 * stack deploys it there: `accountId` is the account (the simulated operator account by default; a customer account
 * of SaaS mode), `document` the policy (by default the one the stacks render). Idempotent: an existing boundary gets
 * the current document, as a redeployed stack would give it. A fresh simulated account already has it for the
 * operator account (see `initialState`).
 */
export function ensureInstanceBoundary(
  account: SimulatedAccount,
  options: { accountId?: string; document?: string } = {},
): string {
  const state = account.stateOf<IamState>('IAM');
  const accountId = options.accountId ?? account.accountId;
  const arn = `arn:aws:iam::${accountId}:policy${INSTANCE_BOUNDARY.path}${INSTANCE_BOUNDARY.name}`;
  const document = options.document ?? boundaryDocument(accountId);
  const existing = state.policies?.[arn];
  // A redeployed stack updates the policy in place: an older state dir's document becomes the current one.
  if (existing) existing.Document = document;
  else storePolicy(state, accountId, boundaryEntry(accountId, document));
  return arn;
}

function createInstanceProfile(ctx: Ctx, input: any) {
  const name = checkName('instanceProfileName', input.InstanceProfileName, 128);
  const path = checkPath(input.Path);
  if (findKey(ctx.state.instanceProfiles, name)) {
    throw iamError('EntityAlreadyExists', `Instance Profile ${name} already exists.`);
  }
  const now = ctx.now();
  const profile: IamInstanceProfile = {
    InstanceProfileName: name,
    InstanceProfileId: iamId(ctx, 'AIPA'),
    Arn: `arn:aws:iam::${ctx.caller.accountId}:instance-profile${path}${name}`,
    Path: path,
    CreateDate: now,
    usableAt: now + LATENCY_SECONDS.instanceProfilePropagation * 1000,
    Roles: [],
    Tags: mergeTags([], input.Tags, 'TagsPerInstanceProfile'),
  };
  ctx.state.instanceProfiles[name] = profile;
  return { InstanceProfile: profileOutput(ctx.state, profile) };
}

function addRoleToInstanceProfile(ctx: Ctx, input: any) {
  const profile = profileNamed(ctx.state, input.InstanceProfileName);
  const role = roleNamed(ctx.state, input.RoleName);
  // Even the role already in the profile counts against the quota of one.
  if (profile.Roles.length >= 1) {
    throw iamError('LimitExceeded', 'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1');
  }
  profile.Roles.push(role.RoleName);
  // A fault rule with delaySeconds on AddRoleToInstanceProfile models slow IAM propagation.
  const extra = ctx.effect('AddRoleToInstanceProfile', [profile.InstanceProfileName])?.delaySeconds ?? 0;
  profile.usableAt = ctx.now() + (LATENCY_SECONDS.instanceProfilePropagation + extra) * 1000;
  return {};
}

function removeRoleFromInstanceProfile(ctx: Ctx, input: any) {
  const profile = profileNamed(ctx.state, input.InstanceProfileName);
  const role = roleNamed(ctx.state, input.RoleName);
  if (!profile.Roles.includes(role.RoleName)) {
    throw iamError('NoSuchEntity', `The role with name ${input.RoleName} cannot be found.`);
  }
  profile.Roles = profile.Roles.filter((name) => name !== role.RoleName);
  return {};
}

function deleteInstanceProfile(ctx: Ctx, input: any) {
  const profile = profileNamed(ctx.state, input.InstanceProfileName);
  if (profile.Roles.length > 0) {
    throw iamError('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.');
  }
  delete ctx.state.instanceProfiles[profile.InstanceProfileName];
  return {};
}

function listInstanceProfilesForRole(ctx: Ctx, input: any) {
  const role = roleNamed(ctx.state, input.RoleName);
  const profiles = Object.values(ctx.state.instanceProfiles).filter((profile) =>
    profile.Roles.includes(role.RoleName),
  );
  return {
    InstanceProfiles: profiles.map((profile) => profileOutput(ctx.state, profile)),
    IsTruncated: false,
  };
}

/** A fresh account's IAM: the instance boundary of the stacks is deployed in the default operator account. */
function initialIamState(): IamState {
  const state: IamState = { roles: {}, instanceProfiles: {}, policies: {} };
  storePolicy(
    state,
    DEFAULT_ACCOUNT_ID,
    boundaryEntry(DEFAULT_ACCOUNT_ID, boundaryDocument(DEFAULT_ACCOUNT_ID)),
  );
  return state;
}

/** IAM: roles, their managed and inline policies and permissions boundaries, customer managed policies, profiles. */
export const iamSimulator: ServiceSimulator<IamState> = {
  name: 'IAM',
  initialState: initialIamState,
  operations: {
    CreateRole: createRole,
    PutRolePermissionsBoundary: putRolePermissionsBoundary,
    DeleteRolePermissionsBoundary: deleteRolePermissionsBoundary,
    CreatePolicy: createPolicy,
    GetPolicy: getPolicy,
    GetRole: (ctx, input) => ({
      Role: { ...roleOutput(roleNamed(ctx.state, input.RoleName)), RoleLastUsed: {} },
    }),
    DeleteRole: deleteRole,
    TagRole: (ctx, input) => {
      const role = roleNamed(ctx.state, input.RoleName);
      role.Tags = mergeTags(role.Tags, input.Tags, 'TagsPerRole');
      return {};
    },
    ListRoleTags: (ctx, input) => ({ Tags: roleNamed(ctx.state, input.RoleName).Tags, IsTruncated: false }),
    AttachRolePolicy: attachRolePolicy,
    DetachRolePolicy: detachRolePolicy,
    ListAttachedRolePolicies: listAttachedRolePolicies,
    PutRolePolicy: putRolePolicy,
    GetRolePolicy: getRolePolicy,
    DeleteRolePolicy: deleteRolePolicy,
    ListRolePolicies: (ctx, input) => ({
      PolicyNames: Object.keys(roleNamed(ctx.state, input.RoleName).InlinePolicies),
      IsTruncated: false,
    }),
    CreateInstanceProfile: createInstanceProfile,
    GetInstanceProfile: (ctx, input) => ({
      InstanceProfile: profileOutput(ctx.state, profileNamed(ctx.state, input.InstanceProfileName)),
    }),
    AddRoleToInstanceProfile: addRoleToInstanceProfile,
    RemoveRoleFromInstanceProfile: removeRoleFromInstanceProfile,
    DeleteInstanceProfile: deleteInstanceProfile,
    ListInstanceProfilesForRole: listInstanceProfilesForRole,
    TagInstanceProfile: (ctx, input) => {
      const profile = profileNamed(ctx.state, input.InstanceProfileName);
      profile.Tags = mergeTags(profile.Tags, input.Tags, 'TagsPerInstanceProfile');
      return {};
    },
  },
  targetsOf: (_ctx, _operation, input) =>
    [input?.RoleName, input?.InstanceProfileName, input?.PolicyName].filter(
      (name): name is string => typeof name === 'string',
    ),
};
