import { createHash } from 'node:crypto';
import type { OperationContext, ServiceSimulator } from '../account.js';
import type { SimulatedAwsError } from '../aws-error.js';
import type { FaultRule } from '../faults.js';
import { LATENCY_SECONDS } from '../latency.js';
import { refreshEc2, subnetHasInternetRoute, UBUNTU_AMIS } from './ec2.js';
import {
  type IamState,
  instanceProfileOfArn,
  modeledError,
  profileRoleHasPolicy,
  SSM_MANAGED_INSTANCE_CORE,
  type Tag,
} from './iam.js';

// ---------------------------------------------------------------------------------------------------------------
// Contracts

/** One parameter of a Command document, as far as SendCommand validates it. */
export interface SimDocumentParameter {
  type: string;
  allowedPattern?: string;
  allowedValues?: string[];
  default?: unknown;
}

/** The parts of a Command document (schema 2.2) the simulator reads. */
export interface SimDocument {
  parameters?: Record<string, SimDocumentParameter>;
  mainSteps?: { name?: string; inputs?: { timeoutSeconds?: number } }[];
}

export interface SsmSimulatorOptions {
  /** Command documents by name (the runner passes `loadDocuments()`). */
  documents: Record<string, SimDocument>;
}

/**
 * Virtual run time of each provisioning document on one node, in seconds (apt installs and downloads dominate the
 * install documents). Documents not listed take `DEFAULT_DOCUMENT_SECONDS`.
 */
export const DOCUMENT_SECONDS: Readonly<Record<string, number>> = {
  'capi-bastion-install': 150,
  'capi-bastion-configure': 45,
  'capi-rabbitmq-install': 180,
  'capi-rabbitmq-configure': 60,
  'capi-prometheus-install': 120,
  'capi-prometheus-configure': 30,
  'capi-cassandra-install': 240,
  'capi-cassandra-configure': 90,
  'capi-daemon-install': 120,
  'capi-daemon-configure': 30,
  'capi-health-check': 5,
};
export const DEFAULT_DOCUMENT_SECONDS = 60;

/** The SSM Agent version the simulated instances report (≥ 3.3.2746.0: honours `interpolationType: ENV_VAR`). */
export const AGENT_VERSION = '3.3.2958.0';

/** GetCommandInvocation returns the first 24,000 characters of stdout and the first 8,000 of stderr. */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
/** ListCommandInvocations with Details returns the first 2,500 characters of a plugin's output. */
const PLUGIN_OUTPUT_LIMIT = 2_500;
const MAX_INSTANCE_IDS = 50;

// ---------------------------------------------------------------------------------------------------------------
// State

type FinalStatus = 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

/** A Parameter Store parameter. SecureString values are kept in clear: the simulator has no KMS. */
export interface SsmParameter {
  Name: string;
  Type: 'String' | 'StringList' | 'SecureString';
  Value: string;
  KeyId?: string;
  Version: number;
  LastModifiedDate: number;
  LastModifiedUser: string;
  Description?: string;
  AllowedPattern?: string;
  Tier: 'Standard';
  DataType: string;
  Tags: Tag[];
}

/** What SSM knows about one EC2 instance: agent registration and what has run on it. */
export interface SsmManagedInstance {
  /** When a describe first saw the instance reachable (running, SSM role, internet route). */
  reachableSince?: number;
  /** When the agent came Online first. */
  onlineAt?: number;
  lastPingAt?: number;
  /** The last outcome of each document on this node: the simulated world state. */
  provisioned: Record<string, FinalStatus>;
  /** Parameters of each document's last successful run. */
  succeededParameters: Record<string, Record<string, string[]>>;
}

interface InvocationResult {
  status: FinalStatus;
  details: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  endedAt: number;
  started: boolean;
}

/** One command on one instance. `registeredAt` < `startAt` < `endAt` are fixed when the command is sent. */
export interface SsmInvocation {
  InstanceId: string;
  /** The Name tag, for messages and fault rules. */
  name: string;
  ComputerName: string;
  registeredAt: number;
  startAt: number;
  endAt: number;
  /** Set by a fault rule; without one the document succeeds (a health check reports the world). */
  fault?: { status: FinalStatus; exitCode?: number; stderr?: string };
  deliveryTimedOut?: boolean;
  cancelledAt?: number;
  /** Filled in lazily once `endAt` (or `cancelledAt`) has passed. */
  result?: InvocationResult;
}

export interface SsmCommand {
  CommandId: string;
  DocumentName: string;
  Comment: string;
  Parameters: Record<string, string[]>;
  /** The parameters the document runs with: Parameters over the document's defaults. */
  runParameters: Record<string, string[]>;
  InstanceIds: string[];
  RequestedAt: number;
  TimeoutSeconds: number;
  executionTimeoutSeconds: number;
  MaxConcurrency: string;
  MaxErrors: string;
  OutputS3BucketName?: string;
  OutputS3KeyPrefix?: string;
  OutputS3Region?: string;
  CloudWatchOutputConfig?: { CloudWatchLogGroupName?: string; CloudWatchOutputEnabled?: boolean };
  ServiceRoleArn?: string;
  invocations: Record<string, SsmInvocation>;
}

/** The SSM slice of the account state. */
export interface SsmState {
  parameters: Record<string, SsmParameter>;
  managedInstances: Record<string, SsmManagedInstance>;
  commands: Record<string, SsmCommand>;
}

/** The EC2 instance fields SSM reads (the EC2 simulator's state contract). */
interface Ec2Instance {
  InstanceId: string;
  State: { Name: string };
  SubnetId: string;
  VpcId: string;
  PrivateIpAddress: string;
  PublicIpAddress?: string;
  IamInstanceProfile?: { Arn: string };
  Tags: Tag[];
}

interface Ec2View {
  instances: Record<string, Ec2Instance>;
}

type Ctx = OperationContext<SsmState>;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** SSM's errors (JSON protocol, query-compatible): the SDK class name is the wire code, HTTP 400. */
function ssmError(code: string, message: string): SimulatedAwsError {
  return modeledError(code, message, { status: 400 });
}

function constraintError(field: string, value: unknown, constraint: string): SimulatedAwsError {
  return ssmError(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

// AWS sends these errors with an empty message (the CLI prints nothing after the colon); SDK v3 then says
// 'UnknownError'.
const NO_MESSAGE = 'UnknownError';

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** A UUID (version 4 layout) derived from `seed`, so runs are reproducible. */
export function uuidFrom(seed: string): string {
  const hex = digest(seed);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * One page of `items`. Tokens are opaque to callers and bound to `scope` (operation + query), as AWS's are: a
 * token from another query is InvalidNextToken.
 */
export function pageOf<T>(
  items: T[],
  token: unknown,
  size: number,
  scope: string,
  invalid: () => Error,
): { page: T[]; next?: string } {
  let offset = 0;
  if (token !== undefined && token !== null && token !== '') {
    try {
      const decoded = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8'));
      const foreign = decoded.s !== digest(scope).slice(0, 12) || !Number.isInteger(decoded.o);
      if (foreign) throw new Error('token of another query');
      offset = decoded.o;
    } catch {
      throw invalid();
    }
  }
  const end = offset + size;
  const next =
    end < items.length
      ? Buffer.from(JSON.stringify({ s: digest(scope).slice(0, 12), o: end })).toString('base64url')
      : undefined;
  return { page: items.slice(offset, end), next };
}

const invalidNextToken = () => ssmError('InvalidNextToken', 'The specified token is not valid.');

function maxResults(value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  const bound =
    n < min ? `greater than or equal to ${min}` : n > max ? `less than or equal to ${max}` : undefined;
  if (bound) throw constraintError('maxResults', n, `Member must have value ${bound}`);
  return n;
}

const tagValue = (tags: Tag[] | undefined, key: string) => tags?.find((tag) => tag.Key === key)?.Value;

function ssmState(ctx: Ctx): SsmState {
  ctx.state.parameters ??= {};
  ctx.state.managedInstances ??= {};
  ctx.state.commands ??= {};
  return ctx.state;
}

/** The EC2 state, refreshed to now, or an empty view when the account has no EC2 simulator (unit tests). */
function ec2Of(ctx: OperationContext<unknown>): Ec2View {
  let state: Ec2View;
  try {
    state = ctx.account.stateOf<Ec2View>('EC2');
  } catch {
    return { instances: {} };
  }
  refreshEc2(state as never, ctx.now());
  return state;
}

function iamOf(ctx: OperationContext<unknown>): IamState | undefined {
  try {
    return ctx.account.stateOf<IamState>('IAM');
  } catch {
    return undefined;
  }
}

const nameOf = (instance: Ec2Instance | undefined, id: string) => tagValue(instance?.Tags, 'Name') ?? id;

/** The host name Ubuntu gives an instance: `ip-10-5-0-11.ec2.internal` in us-east-1. */
function computerName(instance: Ec2Instance, region: string): string {
  const host = `ip-${(instance.PrivateIpAddress ?? '0.0.0.0').replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

const iso = (ms: number) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------------------------
// Parameter Store

const PUBLIC_AMI_PARAMETER =
  /^\/aws\/service\/canonical\/ubuntu\/server\/24\.04\/stable\/current\/(arm64|amd64)\/hvm\/ebs-gp3\/ami-id$/;
const NAME_RULES =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';

function publicParameter(ctx: Ctx, name: string) {
  const arch = PUBLIC_AMI_PARAMETER.exec(name)?.[1];
  const amis = UBUNTU_AMIS as Record<string, string | undefined>;
  const ami = arch
    ? (amis[`${ctx.region}/${arch}`] ?? amis[`${ctx.region}/${arch === 'amd64' ? 'x86_64' : arch}`])
    : undefined;
  if (!ami) return undefined;
  return {
    Name: name,
    Type: 'String',
    Value: ami,
    Version: 12,
    LastModifiedDate: new Date('2025-11-01T00:00:00Z'),
    // Public parameters have no account in their ARN.
    ARN: `arn:aws:ssm:${ctx.region}::parameter${name}`,
    DataType: 'aws:ec2:image',
  };
}

function checkParameterName(name: unknown): string {
  const value = String(name ?? '');
  const segments = value.startsWith('/') ? value.slice(1).split('/') : [value];
  const valid =
    value.length > 0 &&
    value.length <= 2048 &&
    !/^\/?(aws|ssm)/i.test(value) &&
    (value.startsWith('/') || !value.includes('/')) &&
    segments.length <= 15 &&
    segments.every((segment) => /^[a-zA-Z0-9_.-]+$/.test(segment));
  if (!valid) throw ssmError('ValidationException', NAME_RULES);
  return value;
}

function parameterArn(ctx: Ctx, name: string): string {
  return `arn:aws:ssm:${ctx.region}:${ctx.caller.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** A stand-in for the KMS ciphertext GetParameter returns for a SecureString read without decryption. */
function ciphertext(parameter: SsmParameter): string {
  const blob = Buffer.from(
    digest(`${parameter.KeyId}:${parameter.Name}:${parameter.Version}:${parameter.Value}`) +
      digest(parameter.Value),
    'hex',
  );
  return `AQICAHh${blob.toString('base64')}`;
}

function parameterOutput(ctx: Ctx, parameter: SsmParameter, withDecryption: boolean) {
  const hidden = parameter.Type === 'SecureString' && !withDecryption;
  return {
    Name: parameter.Name,
    Type: parameter.Type,
    Value: hidden ? ciphertext(parameter) : parameter.Value,
    Version: parameter.Version,
    LastModifiedDate: new Date(parameter.LastModifiedDate),
    ARN: parameterArn(ctx, parameter.Name),
    DataType: parameter.DataType,
  };
}

function lookupParameter(ctx: Ctx, rawName: string, withDecryption: boolean) {
  const [name, selector] = rawName.split(':');
  const stored = ssmState(ctx).parameters[name];
  if (stored && (selector === undefined || selector === String(stored.Version))) {
    return {
      ...parameterOutput(ctx, stored, withDecryption),
      ...(selector ? { Selector: `:${selector}` } : {}),
    };
  }
  return selector === undefined ? publicParameter(ctx, name) : undefined;
}

function getParameter(ctx: Ctx, input: any) {
  const parameter = lookupParameter(ctx, String(input.Name ?? ''), input.WithDecryption === true);
  if (!parameter) throw ssmError('ParameterNotFound', NO_MESSAGE);
  return { Parameter: parameter };
}

function checkPutInput(input: any, existing: SsmParameter | undefined) {
  const type = input.Type ?? existing?.Type;
  if (type === undefined) {
    throw ssmError('ValidationException', 'A parameter type is required when you create a parameter.');
  }
  if (!['String', 'StringList', 'SecureString'].includes(type)) {
    throw constraintError(
      'type',
      type,
      'Member must satisfy enum value set: [SecureString, StringList, String]',
    );
  }
  if (input.KeyId !== undefined && type !== 'SecureString') {
    throw ssmError('ValidationException', 'KeyId is required for SecureString type parameter only.');
  }
  if (input.Tags?.length && input.Overwrite) {
    throw ssmError(
      'ValidationException',
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags on an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  const value = String(input.Value ?? '');
  if (value.length > 4096) {
    throw ssmError(
      'ValidationException',
      'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.',
    );
  }
  const pattern = input.AllowedPattern ?? existing?.AllowedPattern;
  if (pattern !== undefined && !new RegExp(pattern).test(value)) {
    throw ssmError(
      'ParameterPatternMismatchException',
      `Parameter value, cannot be validated against allowedPattern: ${pattern}`,
    );
  }
  return { type: type as SsmParameter['Type'], value, pattern };
}

function putParameter(ctx: Ctx, input: any) {
  const name = checkParameterName(input.Name);
  const parameters = ssmState(ctx).parameters;
  const existing = parameters[name];
  const { type, value, pattern } = checkPutInput(input, existing);
  if (existing && !input.Overwrite) {
    throw ssmError(
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
    );
  }
  const description = input.Description ?? existing?.Description;
  parameters[name] = {
    Name: name,
    Type: type,
    Value: value,
    ...(type === 'SecureString' ? { KeyId: input.KeyId ?? existing?.KeyId ?? 'alias/aws/ssm' } : {}),
    Version: (existing?.Version ?? 0) + 1,
    LastModifiedDate: ctx.now(),
    LastModifiedUser: ctx.caller.arn,
    ...(description === undefined ? {} : { Description: String(description) }),
    ...(pattern === undefined ? {} : { AllowedPattern: pattern }),
    Tier: 'Standard',
    DataType: input.DataType ?? existing?.DataType ?? 'text',
    Tags: existing?.Tags ?? (input.Tags ?? []).map((tag: Tag) => ({ Key: tag.Key, Value: tag.Value ?? '' })),
  };
  return { Version: parameters[name].Version, Tier: 'Standard' };
}

function checkNames(names: unknown): string[] {
  const list = Array.isArray(names) ? names.map(String) : [];
  if (list.length < 1)
    throw constraintError(
      'names',
      `[${list.join(', ')}]`,
      'Member must have length greater than or equal to 1',
    );
  if (list.length > 10)
    throw constraintError(
      'names',
      `[${list.join(', ')}]`,
      'Member must have length less than or equal to 10',
    );
  return list;
}

function getParameters(ctx: Ctx, input: any) {
  const names = checkNames(input.Names);
  const found = names.map(
    (name) => [name, lookupParameter(ctx, name, input.WithDecryption === true)] as const,
  );
  return {
    Parameters: found.flatMap(([, parameter]) => (parameter ? [parameter] : [])),
    InvalidParameters: found.filter(([, parameter]) => !parameter).map(([name]) => name),
  };
}

/** True when `name` lies under `path`: directly, or at any depth when recursive. */
function underPath(name: string, path: string, recursive: boolean): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(prefix)) return false;
  return recursive || !name.slice(prefix.length).includes('/');
}

function getParametersByPath(ctx: Ctx, input: any) {
  const path = String(input.Path ?? '');
  if (!path.startsWith('/')) throw ssmError('ValidationException', NAME_RULES);
  const recursive = input.Recursive === true;
  const size = maxResults(input.MaxResults, 1, 10, 10);
  const names = Object.keys(ssmState(ctx).parameters)
    .filter((name) => underPath(name, path, recursive))
    .sort();
  const { page, next } = pageOf(
    names,
    input.NextToken,
    size,
    `byPath:${path}:${recursive}`,
    invalidNextToken,
  );
  return {
    Parameters: page.map((name) =>
      parameterOutput(ctx, ctx.state.parameters[name], input.WithDecryption === true),
    ),
    ...(next ? { NextToken: next } : {}),
  };
}

function deleteParameter(ctx: Ctx, input: any) {
  const name = String(input.Name ?? '');
  if (!ssmState(ctx).parameters[name]) throw ssmError('ParameterNotFound', NO_MESSAGE);
  delete ctx.state.parameters[name];
  return {};
}

function deleteParameters(ctx: Ctx, input: any) {
  const names = checkNames(input.Names);
  const parameters = ssmState(ctx).parameters;
  const deleted = names.filter((name) => name in parameters);
  for (const name of deleted) delete parameters[name];
  return { DeletedParameters: deleted, InvalidParameters: names.filter((name) => !deleted.includes(name)) };
}

type ParameterPredicate = (parameter: SsmParameter) => boolean;

const OPTIONS_MESSAGE =
  'The specified filter option is not valid. Valid options are Equals and BeginsWith. For Path filter, valid options are Recursive and OneLevel.';

function describeFilter(filter: { Key?: string; Option?: string; Values?: string[] }): ParameterPredicate {
  const key = String(filter.Key ?? '');
  const values = filter.Values ?? [];
  const option = filter.Option;
  if (key === 'Path') {
    if (option !== undefined && option !== 'Recursive' && option !== 'OneLevel') {
      throw ssmError('InvalidFilterOption', OPTIONS_MESSAGE);
    }
    return (p) => values.some((path) => underPath(p.Name, path, option === 'Recursive'));
  }
  const field: Record<string, (p: SsmParameter) => string | undefined> = {
    Name: (p) => p.Name,
    Type: (p) => p.Type,
    KeyId: (p) => p.KeyId,
    Tier: (p) => p.Tier,
    DataType: (p) => p.DataType,
  };
  const read = key.startsWith('tag:') ? (p: SsmParameter) => tagValue(p.Tags, key.slice(4)) : field[key];
  if (!read) throw ssmError('InvalidFilterKey', 'The specified key is not valid.');
  if (option !== undefined && !['Equals', 'BeginsWith', 'Contains'].includes(option)) {
    throw ssmError('InvalidFilterOption', OPTIONS_MESSAGE);
  }
  return (p) => {
    const actual = read(p);
    if (actual === undefined) return false;
    if (option === 'BeginsWith') return values.some((value) => actual.startsWith(value));
    if (option === 'Contains') return values.some((value) => actual.includes(value));
    return values.length === 0 || values.includes(actual);
  };
}

function describeParameters(ctx: Ctx, input: any) {
  const predicates = (input.ParameterFilters ?? []).map(describeFilter);
  const size = maxResults(input.MaxResults, 1, 50, 50);
  const matching = Object.values(ssmState(ctx).parameters)
    .filter((parameter) => predicates.every((predicate: ParameterPredicate) => predicate(parameter)))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  const scope = `describe:${JSON.stringify(input.ParameterFilters ?? [])}`;
  const { page, next } = pageOf(matching, input.NextToken, size, scope, invalidNextToken);
  return {
    Parameters: page.map((p) => ({
      Name: p.Name,
      ARN: parameterArn(ctx, p.Name),
      Type: p.Type,
      ...(p.KeyId ? { KeyId: p.KeyId } : {}),
      LastModifiedDate: new Date(p.LastModifiedDate),
      LastModifiedUser: p.LastModifiedUser,
      ...(p.Description === undefined ? {} : { Description: p.Description }),
      ...(p.AllowedPattern === undefined ? {} : { AllowedPattern: p.AllowedPattern }),
      Version: p.Version,
      Tier: p.Tier,
      Policies: [],
      DataType: p.DataType,
    })),
    ...(next ? { NextToken: next } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Managed instances

type PingStatus = 'Online' | 'ConnectionLost';

/** True when SSM Agent on the instance can reach SSM: running, SSM role in its profile, route to the internet. */
function reachable(ctx: Ctx, ec2: Ec2View, instance: Ec2Instance): boolean {
  if (instance.State?.Name !== 'running') return false;
  const iam = iamOf(ctx);
  const profile =
    instance.IamInstanceProfile && iam && instanceProfileOfArn(iam, instance.IamInstanceProfile.Arn);
  if (!profile || !profileRoleHasPolicy(iam, profile, SSM_MANAGED_INSTANCE_CORE)) return false;
  const route = subnetHasInternetRoute(ec2 as never, instance.SubnetId, ctx.now());
  // Through an internet gateway only an instance with a public address gets out.
  return route === 'nat' || (route === 'igw' && Boolean(instance.PublicIpAddress));
}

const GONE_STATES = new Set(['shutting-down', 'terminated']);

/**
 * The agent's ping status for an instance, updating its registration record; undefined when SSM does not list
 * the instance (never registered, or terminated). Online comes `ssmAgentOnline` seconds after a describe first
 * saw the instance reachable; a registered instance that loses its path is ConnectionLost.
 */
function observe(ctx: Ctx, ec2: Ec2View, instance: Ec2Instance): PingStatus | undefined {
  if (GONE_STATES.has(instance.State?.Name)) return undefined;
  const now = ctx.now();
  const record = managedRecord(ctx, instance.InstanceId);
  if (!reachable(ctx, ec2, instance) || agentRegistrationFails(ctx, instance)) {
    record.reachableSince = undefined;
    return record.onlineAt === undefined ? undefined : 'ConnectionLost';
  }
  record.reachableSince ??= now;
  const onlineAt = record.reachableSince + LATENCY_SECONDS.ssmAgentOnline * 1000;
  if (now < onlineAt) return record.onlineAt === undefined ? undefined : 'ConnectionLost';
  record.onlineAt ??= onlineAt;
  record.lastPingAt = now;
  return 'Online';
}

/**
 * The agent registers and pings through UpdateInstanceInformation; an error rule on that operation (for example
 * AccessDeniedException on target cass002) keeps the node's agent from ever coming online.
 */
function agentRegistrationFails(ctx: Ctx, instance: Ec2Instance): boolean {
  const targets = [nameOf(instance, instance.InstanceId), instance.InstanceId];
  return (
    ctx.account.faults.take({ service: 'SSM', operation: 'UpdateInstanceInformation', targets }, 'error') !==
    undefined
  );
}

function managedRecord(ctx: Ctx, instanceId: string): SsmManagedInstance {
  const managed = ssmState(ctx).managedInstances;
  managed[instanceId] ??= { provisioned: {}, succeededParameters: {} };
  return managed[instanceId];
}

function instanceInformation(ctx: Ctx, instance: Ec2Instance, ping: PingStatus) {
  const record = managedRecord(ctx, instance.InstanceId);
  return {
    InstanceId: instance.InstanceId,
    PingStatus: ping,
    LastPingDateTime: new Date(record.lastPingAt ?? record.onlineAt ?? ctx.now()),
    AgentVersion: AGENT_VERSION,
    IsLatestVersion: false,
    PlatformType: 'Linux',
    PlatformName: 'Ubuntu',
    PlatformVersion: '24.04',
    ResourceType: 'EC2Instance',
    IPAddress: instance.PrivateIpAddress,
    ComputerName: computerName(instance, ctx.region),
    SourceId: instance.InstanceId,
    SourceType: 'AWS::EC2::Instance',
  };
}

type Information = ReturnType<typeof instanceInformation>;
type InformationFilter = (info: Information, instance: Ec2Instance) => boolean;

const INSTANCE_ID = /^(i|mi)-[0-9a-f]{8,17}$/;

function badFilterValue(key: string, value: unknown) {
  return ssmError(
    'InvalidInstanceInformationFilterValue',
    `The filter value ${JSON.stringify(value)} is not valid for key ${key}.`,
  );
}

function informationFilter(key: string, values: unknown): InformationFilter {
  if (!Array.isArray(values) || values.length === 0) throw badFilterValue(key, values);
  const list = values.map(String);
  if (key.startsWith('tag:')) {
    return (_info, instance) => {
      const value = tagValue(instance.Tags, key.slice(4));
      return value !== undefined && list.includes(value);
    };
  }
  if (key === 'tag-key')
    return (_info, instance) => (instance.Tags ?? []).some((tag) => list.includes(tag.Key));
  const checks: Record<string, [RegExp, (info: Information) => string]> = {
    InstanceIds: [INSTANCE_ID, (info) => info.InstanceId],
    PingStatus: [/^(Online|ConnectionLost|Inactive)$/, (info) => info.PingStatus],
    PlatformTypes: [/^(Windows|Linux|MacOS)$/, (info) => info.PlatformType],
    ResourceType: [/^(EC2Instance|ManagedInstance)$/, (info) => info.ResourceType],
    AgentVersion: [/^[0-9.]+$/, (info) => info.AgentVersion],
  };
  const check = checks[key];
  if (!check) throw ssmError('InvalidFilterKey', 'The specified key is not valid.');
  const bad = list.find((value) => !check[0].test(value));
  if (bad !== undefined) throw badFilterValue(key, bad);
  return (info) => list.includes(check[1](info));
}

function informationFilters(input: any): InformationFilter[] {
  const modern = (input.Filters ?? []).map((f: any) => informationFilter(String(f.Key ?? ''), f.Values));
  const legacy = (input.InstanceInformationFilterList ?? []).map((f: any) =>
    informationFilter(String(f.key ?? ''), f.valueSet),
  );
  const tagKeys = (input.Filters ?? []).filter((f: any) => /^tag(:|-key$)/.test(String(f.Key ?? '')));
  if (tagKeys.length > 0 && tagKeys.length < modern.length + legacy.length) {
    throw ssmError('InvalidFilter', 'Tag filters can\u2019t be combined with other filter types.');
  }
  return [...modern, ...legacy];
}

function describeInstanceInformation(ctx: Ctx, input: any) {
  const filters = informationFilters(input);
  // Unverified: the API reference gives a default page of 10 (range 5-50).
  const size = maxResults(input.MaxResults, 5, 50, 10);
  const ec2 = ec2Of(ctx);
  const listed = Object.values(ec2.instances).flatMap((instance) => {
    const ping = observe(ctx, ec2, instance);
    if (!ping) return [];
    const info = instanceInformation(ctx, instance, ping);
    return filters.every((filter) => filter(info, instance)) ? [info] : [];
  });
  const scope = `info:${JSON.stringify([input.Filters, input.InstanceInformationFilterList])}`;
  const { page, next } = pageOf(listed, input.NextToken, size, scope, invalidNextToken);
  return { InstanceInformationList: page, ...(next ? { NextToken: next } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// Commands: sending

const STATUS_DETAILS: Record<FinalStatus | 'Pending' | 'InProgress', string> = {
  Pending: 'Pending',
  InProgress: 'In Progress',
  Success: 'Success',
  Failed: 'Failed',
  TimedOut: 'Execution Timed Out',
  Cancelled: 'Cancelled',
};

function documentOf(documents: Record<string, SimDocument>, name: unknown): SimDocument {
  const document = typeof name === 'string' ? documents[name] : undefined;
  if (!document) throw ssmError('InvalidDocument', 'The specified document does not exist.');
  return document;
}

function checkInstanceIds(input: any): string[] {
  if (input.Targets?.length) {
    throw ssmError('InvalidParameters', 'The simulated account supports SendCommand with InstanceIds only.');
  }
  const ids: string[] = Array.isArray(input.InstanceIds) ? input.InstanceIds.map(String) : [];
  const shown = `[${ids.join(', ')}]`;
  if (ids.length === 0) {
    throw constraintError('instanceIds', shown, 'Member must have length greater than or equal to 1');
  }
  if (ids.length > MAX_INSTANCE_IDS) {
    throw constraintError(
      'instanceIds',
      shown,
      `Member must have length less than or equal to ${MAX_INSTANCE_IDS}`,
    );
  }
  if (new Set(ids).size !== ids.length) throw ssmError('DuplicateInstanceId', NO_MESSAGE);
  return ids;
}

function checkOnline(ctx: Ctx, ec2: Ec2View, ids: string[]): void {
  const invalid = ids.filter((id) => {
    const instance = ec2.instances[id];
    return !instance || observe(ctx, ec2, instance) !== 'Online';
  });
  if (invalid.length > 0) {
    throw ssmError(
      'InvalidInstanceId',
      `Instances [[${invalid.join(', ')}]] not in a valid state for account ${ctx.caller.accountId}`,
    );
  }
}

function checkParameterValues(name: string, spec: SimDocumentParameter, values: unknown): void {
  if (!Array.isArray(values) || values.some((value) => typeof value !== 'string')) {
    throw ssmError('InvalidParameters', `Parameter "${name}" must be a list of strings.`);
  }
  if (spec.type === 'String' && values.length !== 1) {
    throw ssmError('InvalidParameters', `Parameter "${name}" of type String takes exactly one value.`);
  }
  for (const value of values as string[]) {
    if (spec.allowedPattern !== undefined && !new RegExp(spec.allowedPattern).test(value)) {
      throw ssmError(
        'InvalidParameters',
        `Parameter "${name}" "${value}" failed to satisfy constraint: Member must satisfy regular expression pattern: ${spec.allowedPattern}`,
      );
    }
    if (spec.allowedValues && !spec.allowedValues.includes(value)) {
      throw ssmError(
        'InvalidParameters',
        `Parameter "${name}" "${value}" failed to satisfy constraint: Member must be one of [${spec.allowedValues.join(', ')}]`,
      );
    }
  }
}

/** Validates SendCommand's Parameters against the document, as SSM does before accepting the command. */
function checkParameters(document: SimDocument, given: unknown): Record<string, string[]> {
  const parameters = (given ?? {}) as Record<string, string[]>;
  const declared = document.parameters ?? {};
  for (const name of Object.keys(parameters)) {
    if (!(name in declared)) throw ssmError('InvalidParameters', `Invalid parameter name ${name}.`);
    checkParameterValues(name, declared[name], parameters[name]);
  }
  for (const [name, spec] of Object.entries(declared)) {
    if (!(name in parameters) && spec.default === undefined) {
      throw ssmError('InvalidParameters', `Missing required parameter ${name}.`);
    }
  }
  return parameters;
}

/** The parameters a run sees: the given ones over the document's defaults. */
function effectiveParameters(
  document: SimDocument,
  given: Record<string, string[]>,
): Record<string, string[]> {
  const defaults = Object.entries(document.parameters ?? {}).flatMap(([name, spec]) =>
    spec.default === undefined ? [] : [[name, [String(spec.default)]] as [string, string[]]],
  );
  return { ...Object.fromEntries(defaults), ...given };
}

/** The execution timeout: the steps' own timeoutSeconds, else SendCommand's TimeoutSeconds, else 3600. */
function executionTimeout(document: SimDocument, timeoutSeconds: number | undefined): number {
  const steps = (document.mainSteps ?? []).map((step) => step.inputs?.timeoutSeconds);
  if (steps.length > 0 && steps.every((seconds) => typeof seconds === 'number')) {
    return steps.reduce((sum: number, seconds) => sum + (seconds as number), 0);
  }
  return timeoutSeconds ?? 3600;
}

/** How many invocations run at once: MaxConcurrency as a number or a percentage of the targets. */
function concurrency(value: unknown, targets: number): number {
  const text = String(value ?? '50');
  const percent = /^(\d+)%$/.exec(text);
  if (percent) return Math.max(1, Math.ceil((Number(percent[1]) * targets) / 100));
  if (/^\d+$/.test(text) && Number(text) >= 1) return Number(text);
  throw constraintError(
    'maxConcurrency',
    text,
    'Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$',
  );
}

function faultOutcome(rule: FaultRule | undefined): SsmInvocation['fault'] {
  if (!rule) return undefined;
  const failing =
    rule.exitCode !== undefined
      ? rule.exitCode !== 0
      : rule.stderr !== undefined || rule.finalState === 'failed';
  const status = rule.status ?? (failing ? 'Failed' : undefined);
  return status ? { status, exitCode: rule.exitCode, stderr: rule.stderr } : undefined;
}

interface Schedule {
  registeredAt: number;
  /** When each concurrency slot is free again. */
  slots: number[];
  deliveryDeadline: number;
}

/** Plans one invocation: its fault, start (in the first free concurrency slot) and end, in virtual time. */
function planInvocation(
  ctx: Ctx,
  command: SsmCommand,
  instance: Ec2Instance,
  schedule: Schedule,
): SsmInvocation {
  const name = nameOf(instance, instance.InstanceId);
  const rule = ctx.effect('SendCommand', [name, instance.InstanceId], command.DocumentName);
  const slot = schedule.slots.indexOf(Math.min(...schedule.slots));
  const startAt = Math.max(
    schedule.slots[slot],
    schedule.registeredAt + LATENCY_SECONDS.commandDelivered * 1000,
  );
  const base = {
    InstanceId: instance.InstanceId,
    name,
    ComputerName: computerName(instance, ctx.region),
    registeredAt: schedule.registeredAt,
  };
  // An agent that cannot start the command before the delivery timeout never runs it.
  if (startAt > schedule.deliveryDeadline) {
    const deadline = schedule.deliveryDeadline;
    return { ...base, startAt: deadline, endAt: deadline, deliveryTimedOut: true };
  }
  const planned = faultOutcome(rule);
  const runSeconds =
    (DOCUMENT_SECONDS[command.DocumentName] ?? DEFAULT_DOCUMENT_SECONDS) + (rule?.delaySeconds ?? 0);
  const timeout = command.executionTimeoutSeconds;
  const timesOut = planned?.status === 'TimedOut' || runSeconds > timeout;
  const fault = timesOut ? { status: 'TimedOut' as const, stderr: planned?.stderr } : planned;
  const endAt = startAt + (timesOut ? timeout : runSeconds) * 1000;
  schedule.slots[slot] = endAt;
  return { ...base, startAt, endAt, ...(fault ? { fault } : {}) };
}

function sendCommand(ctx: Ctx, input: any, documents: Record<string, SimDocument>) {
  settle(ctx);
  const document = documentOf(documents, input.DocumentName);
  const ids = checkInstanceIds(input);
  const ec2 = ec2Of(ctx);
  checkOnline(ctx, ec2, ids);
  const parameters = checkParameters(document, input.Parameters);
  const timeoutSeconds = input.TimeoutSeconds ?? 3600;
  if (timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
    throw constraintError('timeoutSeconds', timeoutSeconds, 'Member must have value between 30 and 2592000');
  }
  const now = ctx.now();
  const command: SsmCommand = {
    CommandId: uuidFrom(ctx.newId('command', 32)),
    DocumentName: input.DocumentName,
    Comment: String(input.Comment ?? ''),
    Parameters: parameters,
    runParameters: effectiveParameters(document, parameters),
    InstanceIds: ids,
    RequestedAt: now,
    TimeoutSeconds: timeoutSeconds,
    executionTimeoutSeconds: executionTimeout(document, input.TimeoutSeconds),
    MaxConcurrency: String(input.MaxConcurrency ?? '50'),
    MaxErrors: String(input.MaxErrors ?? '0'),
    ...outputSettings(ctx, input),
    invocations: {},
  };
  const schedule: Schedule = {
    registeredAt: now + LATENCY_SECONDS.commandRegistered * 1000,
    slots: Array.from(
      { length: Math.min(ids.length, concurrency(input.MaxConcurrency, ids.length)) },
      () => 0,
    ),
    deliveryDeadline: now + timeoutSeconds * 1000,
  };
  for (const id of ids) command.invocations[id] = planInvocation(ctx, command, ec2.instances[id], schedule);
  ctx.state.commands[command.CommandId] = command;
  return { Command: commandOutput(ctx, command) };
}

function outputSettings(ctx: Ctx, input: any): Partial<SsmCommand> {
  return {
    ...(input.OutputS3BucketName
      ? {
          OutputS3BucketName: String(input.OutputS3BucketName),
          OutputS3KeyPrefix: String(input.OutputS3KeyPrefix ?? ''),
          OutputS3Region: String(input.OutputS3Region ?? ctx.region),
        }
      : {}),
    ...(input.CloudWatchOutputConfig ? { CloudWatchOutputConfig: { ...input.CloudWatchOutputConfig } } : {}),
    ...(input.ServiceRoleArn ? { ServiceRoleArn: String(input.ServiceRoleArn) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Commands: running (lazily, in virtual time)

const finishAt = (invocation: SsmInvocation) =>
  invocation.cancelledAt !== undefined && invocation.cancelledAt < invocation.endAt
    ? invocation.cancelledAt
    : invocation.endAt;

/**
 * Finishes every invocation whose end has passed, in the order they end, and records the outcome per node: a
 * health check that ends after a configure document sees that document's result.
 */
function settle(ctx: Ctx): void {
  const now = ctx.now();
  const due = Object.values(ssmState(ctx).commands)
    .flatMap((command) => Object.values(command.invocations).map((invocation) => ({ command, invocation })))
    .filter(({ invocation }) => !invocation.result && finishAt(invocation) <= now)
    .sort((a, b) => finishAt(a.invocation) - finishAt(b.invocation));
  for (const { command, invocation } of due) {
    invocation.result = finish(ctx, command, invocation);
    const record = managedRecord(ctx, invocation.InstanceId);
    record.provisioned[command.DocumentName] = invocation.result.status;
    if (invocation.result.status === 'Success') {
      record.succeededParameters[command.DocumentName] = command.runParameters;
    }
  }
}

interface RunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function finish(ctx: Ctx, command: SsmCommand, invocation: SsmInvocation): InvocationResult {
  const endedAt = finishAt(invocation);
  const started = !invocation.deliveryTimedOut && invocation.startAt < endedAt;
  const result = (status: FinalStatus, details: string, responseCode: number, stdout = '', stderr = '') => ({
    status,
    details,
    responseCode,
    stdout,
    stderr,
    endedAt,
    started,
  });
  if (invocation.deliveryTimedOut) return result('TimedOut', 'Delivery Timed Out', -1);
  if (endedAt === invocation.cancelledAt) return result('Cancelled', 'Cancelled', -1);
  const banner = `[capi] ${command.DocumentName} on ${invocation.ComputerName}\n`;
  const fault = invocation.fault;
  if (fault?.status === 'TimedOut') {
    return result('TimedOut', 'Execution Timed Out', -1, banner, fault.stderr ?? '');
  }
  if (fault?.status === 'Cancelled') return result('Cancelled', 'Cancelled', -1, banner);
  if (fault?.status === 'Failed') {
    const stderr =
      fault.stderr ?? `ERROR: ${command.DocumentName} failed on ${invocation.name} (simulated)\n`;
    return result('Failed', 'Failed', fault.exitCode ?? 1, banner, stderr);
  }
  const run: RunOutput =
    command.DocumentName === HEALTH_CHECK_DOCUMENT
      ? healthCheck(ctx, invocation.InstanceId, command.runParameters)
      : { exitCode: 0, stdout: `${banner}[capi] ${command.DocumentName}: done\n`, stderr: '' };
  const status: FinalStatus = run.exitCode === 0 ? 'Success' : 'Failed';
  return result(status, status, run.exitCode, run.stdout, run.stderr);
}

interface InvocationView {
  status: FinalStatus | 'Pending' | 'InProgress';
  details: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  startedAt?: number;
  endedAt?: number;
}

/** What SSM reports for an invocation now; undefined while it is not registered yet. */
function viewOf(invocation: SsmInvocation, now: number): InvocationView | undefined {
  if (now < invocation.registeredAt) return undefined;
  const result = invocation.result;
  if (result) {
    return {
      ...result,
      ...(result.started ? { startedAt: invocation.startAt } : {}),
      endedAt: result.endedAt,
    };
  }
  const status = now < invocation.startAt ? 'Pending' : 'InProgress';
  return {
    status,
    details: STATUS_DETAILS[status],
    responseCode: -1,
    stdout: '',
    stderr: '',
    ...(status === 'InProgress' ? { startedAt: invocation.startAt } : {}),
  };
}

/** A command's status from its invocations': the worst final status once all have finished. */
function aggregateStatus(statuses: InvocationView['status'][]): InvocationView['status'] {
  if (statuses.every((status) => status === 'Pending')) return 'Pending';
  if (statuses.some((status) => status === 'Pending' || status === 'InProgress')) return 'InProgress';
  return (['Cancelled', 'Failed', 'TimedOut'] as const).find((bad) => statuses.includes(bad)) ?? 'Success';
}

function commandStatus(views: (InvocationView | undefined)[]) {
  const statuses = views.map((view) => view?.status ?? 'Pending');
  const count = (status: string) => statuses.filter((s) => s === status).length;
  const deliveryTimedOut = views.filter((view) => view?.details === 'Delivery Timed Out').length;
  const status = aggregateStatus(statuses);
  const onlyDelivery = status === 'TimedOut' && deliveryTimedOut === count('TimedOut');
  return {
    Status: status,
    StatusDetails: onlyDelivery ? 'Delivery Timed Out' : STATUS_DETAILS[status],
    TargetCount: statuses.length,
    CompletedCount: statuses.length - count('Pending') - count('InProgress'),
    // Execution timeouts count as errors, delivery timeouts do not.
    ErrorCount: count('Failed') + count('TimedOut') - deliveryTimedOut,
    DeliveryTimedOutCount: deliveryTimedOut,
  };
}

function commandOutput(ctx: Ctx, command: SsmCommand) {
  const now = ctx.now();
  const views = command.InstanceIds.map((id) => viewOf(command.invocations[id], now));
  return {
    CommandId: command.CommandId,
    DocumentName: command.DocumentName,
    DocumentVersion: '$DEFAULT',
    Comment: command.Comment,
    ExpiresAfter: new Date(command.RequestedAt + command.TimeoutSeconds * 1000),
    Parameters: command.Parameters,
    InstanceIds: command.InstanceIds,
    Targets: [],
    RequestedDateTime: new Date(command.RequestedAt),
    ...commandStatus(views),
    ...(command.OutputS3BucketName
      ? {
          OutputS3Region: command.OutputS3Region,
          OutputS3BucketName: command.OutputS3BucketName,
          OutputS3KeyPrefix: command.OutputS3KeyPrefix,
        }
      : {}),
    MaxConcurrency: command.MaxConcurrency,
    MaxErrors: command.MaxErrors,
    ServiceRole: command.ServiceRoleArn ?? '',
    NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
    CloudWatchOutputConfig: cloudWatchConfig(command),
    TimeoutSeconds: command.TimeoutSeconds,
  };
}

const cloudWatchConfig = (command: SsmCommand) => ({
  CloudWatchLogGroupName: command.CloudWatchOutputConfig?.CloudWatchLogGroupName ?? '',
  CloudWatchOutputEnabled: command.CloudWatchOutputConfig?.CloudWatchOutputEnabled ?? false,
});

function stepNames(documents: Record<string, SimDocument>, command: SsmCommand): string[] {
  const steps = (documents[command.DocumentName]?.mainSteps ?? []).map((step, i) => step.name ?? `step${i}`);
  return steps.length > 0 ? steps : ['aws:runShellScript'];
}

function outputUrl(
  command: SsmCommand,
  instanceId: string,
  step: string,
  stream: 'stdout' | 'stderr',
): string {
  if (!command.OutputS3BucketName) return '';
  const prefix = command.OutputS3KeyPrefix ? `${command.OutputS3KeyPrefix}/` : '';
  return `https://s3.${command.OutputS3Region}.amazonaws.com/${command.OutputS3BucketName}/${prefix}${command.CommandId}/${instanceId}/awsrunShellScript/${step}/${stream}`;
}

function elapsed(view: InvocationView, now: number): string {
  if (view.startedAt === undefined) return '';
  return `PT${(((view.endedAt ?? now) - view.startedAt) / 1000).toFixed(3)}S`;
}

function findInvocation(ctx: Ctx, commandId: unknown, instanceId: unknown) {
  const id = String(commandId ?? '');
  if (id.length !== 36) {
    const bound = id.length < 36 ? 'greater than or equal to 36' : 'less than or equal to 36';
    throw constraintError('commandId', id, `Member must have length ${bound}`);
  }
  const command = ssmState(ctx).commands[id];
  const invocation = command?.invocations[String(instanceId ?? '')];
  const view = invocation && viewOf(invocation, ctx.now());
  if (!command || !invocation || !view) throw ssmError('InvocationDoesNotExist', NO_MESSAGE);
  return { command, invocation, view };
}

function getCommandInvocation(ctx: Ctx, input: any, documents: Record<string, SimDocument>) {
  settle(ctx);
  const { command, invocation, view } = findInvocation(ctx, input.CommandId, input.InstanceId);
  const steps = stepNames(documents, command);
  if (input.PluginName !== undefined ? !steps.includes(input.PluginName) : steps.length > 1) {
    throw ssmError('InvalidPluginName', NO_MESSAGE);
  }
  const step = input.PluginName ?? steps[0];
  const now = ctx.now();
  return {
    CommandId: command.CommandId,
    InstanceId: invocation.InstanceId,
    Comment: command.Comment,
    DocumentName: command.DocumentName,
    DocumentVersion: '$DEFAULT',
    PluginName: step,
    ResponseCode: view.responseCode,
    ExecutionStartDateTime: view.startedAt === undefined ? '' : iso(view.startedAt),
    ExecutionElapsedTime: elapsed(view, now),
    ExecutionEndDateTime: view.endedAt === undefined ? '' : iso(view.endedAt),
    Status: view.status,
    StatusDetails: view.details,
    StandardOutputContent: view.stdout.slice(0, STDOUT_LIMIT),
    StandardOutputUrl: outputUrl(command, invocation.InstanceId, step, 'stdout'),
    StandardErrorContent: view.stderr.slice(0, STDERR_LIMIT),
    StandardErrorUrl: outputUrl(command, invocation.InstanceId, step, 'stderr'),
    CloudWatchOutputConfig: cloudWatchConfig(command),
  };
}

function pluginsOf(command: SsmCommand, invocation: SsmInvocation, view: InvocationView, steps: string[]) {
  const output = view.stderr ? `${view.stdout}\n----------ERROR-------\n${view.stderr}` : view.stdout;
  return steps.map((step) => ({
    Name: step,
    Status: view.status,
    StatusDetails: view.details,
    ResponseCode: view.responseCode,
    ...(view.startedAt === undefined ? {} : { ResponseStartDateTime: new Date(view.startedAt) }),
    ...(view.endedAt === undefined ? {} : { ResponseFinishDateTime: new Date(view.endedAt) }),
    Output: output.slice(0, PLUGIN_OUTPUT_LIMIT),
    StandardOutputUrl: outputUrl(command, invocation.InstanceId, step, 'stdout'),
    StandardErrorUrl: outputUrl(command, invocation.InstanceId, step, 'stderr'),
    OutputS3Region: command.OutputS3Region ?? '',
    OutputS3BucketName: command.OutputS3BucketName ?? '',
    OutputS3KeyPrefix: command.OutputS3KeyPrefix ?? '',
  }));
}

type CommandFilter = (command: SsmCommand, status: string) => boolean;

function commandFilter(filter: { key?: string; value?: string }): CommandFilter {
  const value = String(filter.value ?? '');
  switch (filter.key) {
    case 'InvokedAfter':
      return (command) => command.RequestedAt >= Date.parse(value);
    case 'InvokedBefore':
      return (command) => command.RequestedAt <= Date.parse(value);
    case 'DocumentName':
      return (command) => command.DocumentName === value;
    case 'Status':
      return (_command, status) => status === value;
    case 'ExecutionStage':
      return (_command, status) =>
        (value === 'Executing') === (status === 'Pending' || status === 'InProgress');
    default:
      throw ssmError('InvalidFilterKey', 'The specified key is not valid.');
  }
}

/** Commands newest first, as ListCommands and ListCommandInvocations return them. */
function commandsNewestFirst(ctx: Ctx, commandId: unknown): SsmCommand[] {
  const all = Object.values(ssmState(ctx).commands);
  const selected = commandId === undefined ? all : all.filter((command) => command.CommandId === commandId);
  return selected.sort((a, b) => b.RequestedAt - a.RequestedAt);
}

function listCommandInvocations(ctx: Ctx, input: any, documents: Record<string, SimDocument>) {
  settle(ctx);
  const now = ctx.now();
  const filters = (input.Filters ?? []).map(commandFilter);
  const rows = commandsNewestFirst(ctx, input.CommandId).flatMap((command) =>
    command.InstanceIds.filter((id) => input.InstanceId === undefined || id === input.InstanceId).flatMap(
      (id) => {
        const invocation = command.invocations[id];
        const view = viewOf(invocation, now);
        if (!view || !filters.every((filter: CommandFilter) => filter(command, view.status))) return [];
        return [{ command, invocation, view }];
      },
    ),
  );
  const size = maxResults(input.MaxResults, 1, 50, 50);
  const scope = `invocations:${input.CommandId}:${input.InstanceId}:${JSON.stringify(input.Filters ?? [])}`;
  const { page, next } = pageOf(rows, input.NextToken, size, scope, invalidNextToken);
  return {
    CommandInvocations: page.map(({ command, invocation, view }) => ({
      CommandId: command.CommandId,
      InstanceId: invocation.InstanceId,
      InstanceName: invocation.ComputerName,
      Comment: command.Comment,
      DocumentName: command.DocumentName,
      DocumentVersion: '$DEFAULT',
      RequestedDateTime: new Date(command.RequestedAt),
      Status: view.status,
      StatusDetails: view.details,
      TraceOutput: '',
      StandardOutputUrl: outputUrl(
        command,
        invocation.InstanceId,
        stepNames(documents, command)[0],
        'stdout',
      ),
      StandardErrorUrl: outputUrl(command, invocation.InstanceId, stepNames(documents, command)[0], 'stderr'),
      CommandPlugins: input.Details
        ? pluginsOf(command, invocation, view, stepNames(documents, command))
        : [],
      ServiceRole: command.ServiceRoleArn ?? '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: cloudWatchConfig(command),
    })),
    ...(next ? { NextToken: next } : {}),
  };
}

function listCommands(ctx: Ctx, input: any) {
  settle(ctx);
  const filters = (input.Filters ?? []).map(commandFilter);
  const outputs = commandsNewestFirst(ctx, input.CommandId)
    .filter((command) => input.InstanceId === undefined || command.InstanceIds.includes(input.InstanceId))
    .map((command) => ({ command, output: commandOutput(ctx, command) }))
    .filter(({ command, output }) =>
      filters.every((filter: CommandFilter) => filter(command, output.Status)),
    );
  const size = maxResults(input.MaxResults, 1, 50, 50);
  const scope = `commands:${input.CommandId}:${input.InstanceId}:${JSON.stringify(input.Filters ?? [])}`;
  const { page, next } = pageOf(outputs, input.NextToken, size, scope, invalidNextToken);
  return { Commands: page.map(({ output }) => output), ...(next ? { NextToken: next } : {}) };
}

function cancelCommand(ctx: Ctx, input: any) {
  settle(ctx);
  const command = ssmState(ctx).commands[String(input.CommandId ?? '')];
  if (!command) throw ssmError('InvalidCommandId', NO_MESSAGE);
  const only: string[] | undefined = input.InstanceIds?.length ? input.InstanceIds : undefined;
  for (const invocation of Object.values(command.invocations)) {
    if (invocation.result || (only && !only.includes(invocation.InstanceId))) continue;
    invocation.cancelledAt = ctx.now();
  }
  settle(ctx);
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// Health checks: what `capi-health-check` prints, from what has run on the deployment's nodes

/** The document whose output reflects the simulated world. */
export const HEALTH_CHECK_DOCUMENT = 'capi-health-check';

const ROLES = ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'];

/** An instance's role: its `Role` tag, else the nickname at the end of its Name tag (`…-cass001` → cassandra). */
export function roleOfInstance(tags: Tag[] | undefined): string | undefined {
  const tagged = tagValue(tags, 'Role');
  if (tagged) return tagged;
  const nickname = (tagValue(tags, 'Name') ?? '').split(/[-_]/).pop() ?? '';
  if (/^cass\d+$/.test(nickname)) return 'cassandra';
  if (/^daemon\d+$/.test(nickname)) return 'daemon';
  return ROLES.includes(nickname) ? nickname : undefined;
}

interface World {
  self: Ec2Instance;
  /** Live instances with the same DeploymentName tag (the checking node included). */
  peers: Ec2Instance[];
  succeeded(instanceId: string, document: string): boolean;
  parameters: Record<string, string[]>;
  selfParameters(document: string): Record<string, string[]> | undefined;
}

function worldOf(ctx: Ctx, instanceId: string, parameters: Record<string, string[]>): World | undefined {
  const ec2 = ec2Of(ctx);
  const self = ec2.instances[instanceId];
  if (!self) return undefined;
  const deployment = tagValue(self.Tags, 'DeploymentName');
  const peers = Object.values(ec2.instances).filter(
    (instance) =>
      !GONE_STATES.has(instance.State?.Name) && tagValue(instance.Tags, 'DeploymentName') === deployment,
  );
  const managed = ssmState(ctx).managedInstances;
  return {
    self,
    peers,
    parameters,
    succeeded: (id, document) => managed[id]?.provisioned[document] === 'Success',
    selfParameters: (document) => managed[instanceId]?.succeededParameters[document],
  };
}

const ipNumber = (ip: string) => ip.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
const expected = (world: World, name: string) => Number(world.parameters[name]?.[0] ?? '0');

const NODETOOL_HEADER = [
  'Datacenter: datacenter1',
  '=======================',
  'Status=Up/Down',
  '|/ State=Normal/Leaving/Joining/Moving',
  '--  Address  Load  Tokens  Owns (effective)  Host ID  Rack',
];

function cassandraCheck(world: World): RunOutput {
  if (!world.succeeded(world.self.InstanceId, 'capi-cassandra-configure')) {
    return {
      exitCode: 1,
      stdout: "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.\n",
      stderr: '',
    };
  }
  const nodes = world.peers
    .filter((instance) => roleOfInstance(instance.Tags) === 'cassandra')
    .sort((a, b) => ipNumber(a.PrivateIpAddress) - ipNumber(b.PrivateIpAddress));
  const lines = nodes.map((node) => {
    const up = world.succeeded(node.InstanceId, 'capi-cassandra-configure');
    const hostId = uuidFrom(`cassandra-host:${node.InstanceId}`);
    return `${up ? 'UN' : 'DN'}  ${node.PrivateIpAddress}  ${up ? '1.21 MiB' : '?'}  1  ?  ${hostId}  rack1`;
  });
  const upCount = lines.filter((line) => line.startsWith('UN')).length;
  const wanted = expected(world, 'ExpectedNodes');
  const stdout = `${[...NODETOOL_HEADER, ...lines].join('\n')}\n`;
  if (upCount < wanted)
    return { exitCode: 1, stdout, stderr: `${upCount} of ${wanted} Cassandra nodes are UN\n` };
  return { exitCode: 0, stdout, stderr: '' };
}

function rabbitmqCheck(world: World): RunOutput {
  const id = world.self.InstanceId;
  const configured = world.succeeded(id, 'capi-rabbitmq-configure');
  // The package starts the broker, so the AMQP listener is up after install; the queue comes with configure.
  const listener = configured || world.succeeded(id, 'capi-rabbitmq-install');
  const stdout = `amqp10-listener ${listener ? 'ok' : 'missing'}\nqueue capidaemon ${configured ? 'present' : 'missing'}\n`;
  return { exitCode: listener && configured ? 0 : 1, stdout, stderr: '' };
}

function httpCheck(world: World, name: 'webapi' | 'ui'): RunOutput {
  const url = name === 'webapi' ? 'http://127.0.0.1:6543/ks' : 'http://127.0.0.1/';
  // Install removes nginx's default site and configure starts webapi and the UI site: before that nothing answers.
  const status = world.succeeded(world.self.InstanceId, 'capi-bastion-configure') ? '200' : '000';
  const stderr =
    status === '200'
      ? ''
      : Array.from({ length: 12 }, (_, i) => `attempt ${i + 1}: ${url} answered ${status}\n`).join('');
  return { exitCode: status === '200' ? 0 : 1, stdout: `${name} http ${status}\n`, stderr };
}

/** `ip:port` targets Prometheus scrapes: those of its last configure, else every node (9100) and Cassandra JMX (7070). */
function prometheusTargets(world: World): string[] {
  const configured = world.selfParameters('capi-prometheus-configure');
  const listed = [configured?.NodeTargets?.[0], configured?.JmxTargets?.[0]]
    .flatMap((value) => (value ? value.split(',') : []))
    .filter((target) => target.length > 0);
  if (listed.length > 0) return listed;
  return [
    ...world.peers.map((instance) => `${instance.PrivateIpAddress}:9100`),
    ...world.peers
      .filter((instance) => roleOfInstance(instance.Tags) === 'cassandra')
      .map((instance) => `${instance.PrivateIpAddress}:7070`),
  ];
}

function targetUp(world: World, target: string): boolean {
  const [ip, port] = target.split(':');
  const node = world.peers.find((instance) => instance.PrivateIpAddress === ip);
  if (!node) return false;
  const role = roleOfInstance(node.Tags);
  if (port === '7070') return world.succeeded(node.InstanceId, 'capi-cassandra-configure');
  return role !== undefined && world.succeeded(node.InstanceId, `capi-${role}-install`);
}

function prometheusCheck(world: World): RunOutput {
  const wanted = expected(world, 'ExpectedTargets');
  const lines = world.succeeded(world.self.InstanceId, 'capi-prometheus-configure')
    ? prometheusTargets(world)
        .map((target) => `target ${target} ${targetUp(world, target) ? 'up' : 'down'}`)
        .sort()
    : [];
  const up = lines.filter((line) => line.endsWith(' up')).length;
  const down = lines.length - up;
  if (down === 0 && up > 0 && up >= wanted)
    return { exitCode: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
  const stderr = Array.from(
    { length: 12 },
    (_, i) => `attempt ${i + 1}: ${up} targets up, ${down} down, ${wanted} expected\n`,
  ).join('');
  return { exitCode: 1, stdout: lines.length > 0 ? `${lines.join('\n')}\n` : '', stderr };
}

/** Runs `capi-health-check` on an instance against the simulated world. */
function healthCheck(ctx: Ctx, instanceId: string, parameters: Record<string, string[]>): RunOutput {
  const world = worldOf(ctx, instanceId, parameters);
  if (!world) return { exitCode: 1, stdout: '', stderr: 'ERROR: instance is gone\n' };
  const check = parameters.Check?.[0];
  switch (check) {
    case 'cassandra':
      return cassandraCheck(world);
    case 'rabbitmq':
      return rabbitmqCheck(world);
    case 'webapi':
      return httpCheck(world, 'webapi');
    case 'ui':
      return httpCheck(world, 'ui');
    case 'prometheus':
      return prometheusCheck(world);
    default:
      return { exitCode: 1, stdout: '', stderr: `ERROR: Check: invalid value '${check ?? ''}'\n` };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator

function targetsOf(ctx: OperationContext<SsmState>, operation: string, input: any): string[] {
  if (operation === 'SendCommand' || operation === 'GetCommandInvocation') {
    const ids: string[] = operation === 'SendCommand' ? (input?.InstanceIds ?? []) : [input?.InstanceId];
    const instances = ec2Of(ctx).instances;
    return ids.filter((id) => typeof id === 'string').map((id) => nameOf(instances[id], id));
  }
  const names = [input?.Name, ...(Array.isArray(input?.Names) ? input.Names : []), input?.Path];
  return names.filter((name): name is string => typeof name === 'string');
}

/** SSM: Parameter Store, agent registration of EC2 instances, and Run Command with the provisioning documents. */
export function createSsmSimulator(options: SsmSimulatorOptions): ServiceSimulator<SsmState> {
  const { documents } = options;
  return {
    name: 'SSM',
    initialState: () => ({ parameters: {}, managedInstances: {}, commands: {} }),
    operations: {
      GetParameter: getParameter,
      GetParameters: getParameters,
      GetParametersByPath: getParametersByPath,
      PutParameter: putParameter,
      DeleteParameter: deleteParameter,
      DeleteParameters: deleteParameters,
      DescribeParameters: describeParameters,
      DescribeInstanceInformation: describeInstanceInformation,
      SendCommand: (ctx, input) => sendCommand(ctx, input, documents),
      GetCommandInvocation: (ctx, input) => getCommandInvocation(ctx, input, documents),
      ListCommandInvocations: (ctx, input) => listCommandInvocations(ctx, input, documents),
      ListCommands: listCommands,
      CancelCommand: cancelCommand,
    },
    targetsOf,
  };
}
