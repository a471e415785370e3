import { createHash } from 'node:crypto';
import { tagValue } from '../../../core/tags.js';
import type { OperationContext } from '../../account.js';
import type { SimulatedAwsError } from '../../aws-error.js';
import type { Paging } from '../../pagination.js';
import { refreshEc2 } from '../ec2.js';
import { type IamState, modeledError, type Tag } from '../iam.js';

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

/** Command documents by name (the runner passes `loadDocuments()`). */
export type Documents = Record<string, SimDocument>;

// ---------------------------------------------------------------------------------------------------------------
// State

export type FinalStatus = 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

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

export interface InvocationResult {
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
  /**
   * Sent while the node's agent was ConnectionLost: SSM accepted the command and keeps trying to deliver it
   * (Pending, then Delayed from `attemptAt`). Until the agent is back `startAt`/`endAt` are the delivery
   * deadline and `deliveryTimedOut` is set; once it is back the run (`runMs`) is planned from then.
   */
  awaitingAgent?: { attemptAt: number; runMs: number };
  /** The node stopped being a managed instance (terminated) while the command waited: Undeliverable. */
  undeliverable?: boolean;
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

// The Cassandra rings (ring.ts models them; here is their stored shape).

/**
 * A node's place in the ring. `left` also stands for "not a member": an entry planned to join later, or a node that
 * decommissioned; neither is listed by nodetool. `down` is Cassandra stopped on a node (drained, or its data gone);
 * a node whose instance is not running is down too, whatever its entry says.
 */
export type RingState = 'joining' | 'normal' | 'leaving' | 'left' | 'down';

/** What a node's entry says at one time. */
export interface RingFacts {
  instanceId: string;
  hostId: string;
  /** Murmur3 token, a decimal string (`cassandraToken` of src/core/spec/plan.ts). */
  token: string;
  state: RingState;
  /** What the node stores: it keeps data it streamed away until cleanup (ops-facts §1.1 Cleanup). */
  loadBytes: number;
  /** The data of the ranges it owns now. */
  ownedBytes: number;
  /** When the node last entered each state (virtual ms). */
  since: Partial<Record<RingState, number>>;
}

/** A change of an entry at a virtual time: fields set, data received (+) or handed over (-), or a cleanup. */
export interface RingChange {
  at: number;
  set?: Partial<Omit<RingFacts, 'since'>>;
  ownedDelta?: number;
  loadDelta?: number;
  /** `nodetool cleanup`: the node drops what it does not own. */
  cleanup?: true;
}

/** A range movement: a bootstrap or a decommission, from its start to the node being UN or gone. */
export interface RingMovement {
  kind: 'join' | 'leave';
  startAt: number;
  endAt: number;
}

/**
 * One node of a deployment's ring, stored under `<deployment>/<private ip>` in the SSM state (`cassandraRing`): one
 * journal entry per node, so a change to one node of a large ring does not rewrite the others.
 */
export interface RingNode extends RingFacts {
  deployment: string;
  ip: string;
  /** The last range movement planned for this node. */
  movement?: RingMovement;
  /** Changes planned for later (a join's end, a cleanup's end), applied in time order when read. */
  pending: RingChange[];
}

/** The SSM slice of the account state. */
export interface SsmState {
  parameters: Record<string, SsmParameter>;
  managedInstances: Record<string, SsmManagedInstance>;
  commands: Record<string, SsmCommand>;
  /** The Cassandra rings (ring.ts), one entry per node: `<deployment>/<private ip>`. Created by the first change. */
  cassandraRing?: Record<string, RingNode>;
}

/** The EC2 instance fields SSM reads (the EC2 simulator's state contract). */
export interface Ec2Instance {
  InstanceId: string;
  State: { Name: string };
  SubnetId: string;
  VpcId: string;
  PrivateIpAddress: string;
  PublicIpAddress?: string;
  IamInstanceProfile?: { Arn: string };
  Tags: Tag[];
  /** Install documents whose software the instance's root volume holds from its image (EC2 simulator). */
  installed?: string[];
}

export interface Ec2View {
  instances: Record<string, Ec2Instance>;
}

export type Ctx = OperationContext<SsmState>;

export function ssmState(ctx: Ctx): SsmState {
  ctx.state.parameters ??= {};
  ctx.state.managedInstances ??= {};
  ctx.state.commands ??= {};
  return ctx.state;
}

export function managedRecord(ctx: Ctx, instanceId: string): SsmManagedInstance {
  const managed = ssmState(ctx).managedInstances;
  managed[instanceId] ??= { provisioned: {}, succeededParameters: {} };
  return managed[instanceId];
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** SSM's errors (JSON protocol, query-compatible): the SDK class name is the wire code, HTTP 400. */
export function ssmError(code: string, message: string): SimulatedAwsError {
  return modeledError(code, message, { status: 400 });
}

export function constraintError(field: string, value: unknown, constraint: string): SimulatedAwsError {
  return ssmError(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

// AWS sends these errors with an empty message (the CLI prints nothing after the colon); SDK v3 then says
// 'UnknownError'.
export const NO_MESSAGE = 'UnknownError';

/** How SSM's list calls page: MaxResults within [min, max], else `fallback` per page. */
export function ssmPaging(min: number, max: number, fallback: number): Paging {
  return {
    min,
    max,
    fallback,
    badSize: (size) => {
      const bound = size < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`;
      return constraintError('maxResults', size, `Member must have value ${bound}`);
    },
    badToken: () => ssmError('InvalidNextToken', 'The specified token is not valid.'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Ids and names

export const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** A UUID (version 4 layout) derived from `seed`, so runs are reproducible. */
export function uuidFrom(seed: string): string {
  const hex = digest(seed);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const nameOf = (instance: Ec2Instance | undefined, id: string) =>
  tagValue(instance?.Tags, 'Name') ?? id;

/** The host name Ubuntu gives an instance: `ip-10-5-0-11.ec2.internal` in us-east-1. */
export function computerName(instance: Ec2Instance, region: string): string {
  const host = `ip-${(instance.PrivateIpAddress ?? '0.0.0.0').replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

// ---------------------------------------------------------------------------------------------------------------
// Other services' state

/** Instances SSM no longer lists, and no longer counts as peers of a deployment. */
export const GONE_STATES = new Set(['shutting-down', 'terminated']);

/** The EC2 state, refreshed to now, or an empty view when the account has no EC2 simulator (unit tests). */
export function ec2Of(ctx: OperationContext<unknown>): Ec2View {
  let state: Ec2View;
  try {
    state = ctx.account.stateOf<Ec2View>('EC2');
  } catch {
    return { instances: {} };
  }
  refreshEc2(state as never, ctx.now());
  return state;
}

export function iamOf(ctx: OperationContext<unknown>): IamState | undefined {
  try {
    return ctx.account.stateOf<IamState>('IAM');
  } catch {
    return undefined;
  }
}
