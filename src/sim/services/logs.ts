import type { OperationContext, ServiceSimulator, SimulatedAccount } from '../account.js';
import { awsError } from '../aws-error.js';

/**
 * CloudWatch Logs, as far as the workflow and `capi-deploy logs` use it: log groups with retention, KMS key and
 * tags; streams and their events; FilterLogEvents. The simulated nodes write their streams (src/sim/services/ssm/
 * invocations.ts calls {@link writeNodeLog} when a command finishes), as the CloudWatch agent does on a real node:
 * only into a group that exists (the instance role may not create one).
 *
 * State: groups by name, and streams by `<group>|<stream>` (one journal entry per stream, not per group).
 * Each stream keeps its newest {@link MAX_EVENTS_PER_STREAM} events: a simulator's bound, not AWS's.
 */

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogGroup {
  logGroupName: string;
  arn: string;
  creationTime: number;
  retentionInDays?: number;
  kmsKeyId?: string;
  tags: Record<string, string>;
}

export interface LogStream {
  logGroupName: string;
  logStreamName: string;
  creationTime: number;
  events: LogEvent[];
  storedBytes: number;
}

export interface LogsState {
  groups: Record<string, LogGroup>;
  streams: Record<string, LogStream>;
}

const MAX_EVENTS_PER_STREAM = 2_000;
/** CloudWatch Logs counts 26 bytes of overhead per event. */
const EVENT_OVERHEAD_BYTES = 26;
const SERVICE = 'CloudWatchLogs';

type Ctx = OperationContext<LogsState>;

const streamKey = (group: string, stream: string) => `${group}|${stream}`;

const notFound = (what: string) =>
  awsError('ResourceNotFoundException', `The specified ${what} does not exist.`);
const invalid = (message: string) => awsError('InvalidParameterException', message);

const groupArn = (ctx: Ctx, name: string) =>
  `arn:aws:logs:${ctx.region}:${ctx.caller.accountId}:log-group:${name}`;

function groupOf(
  state: LogsState,
  input: { logGroupName?: unknown; logGroupIdentifier?: unknown },
): LogGroup {
  const given = String(input.logGroupName ?? input.logGroupIdentifier ?? '');
  const name = given.includes(':log-group:') ? given.split(':log-group:')[1].replace(/:\*$/, '') : given;
  const group = state.groups[name];
  if (!group) throw notFound('log group');
  return group;
}

const streamsOf = (state: LogsState, group: string) =>
  Object.values(state.streams).filter((stream) => stream.logGroupName === group);

const storedBytes = (state: LogsState, group: string) =>
  streamsOf(state, group).reduce((sum, stream) => sum + stream.storedBytes, 0);

function createLogGroup(ctx: Ctx, input: any) {
  const name = String(input.logGroupName ?? '');
  if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) throw invalid(`Invalid log group name: ${name}`);
  if (ctx.state.groups[name]) {
    throw awsError('ResourceAlreadyExistsException', 'The specified log group already exists');
  }
  ctx.state.groups[name] = {
    logGroupName: name,
    arn: groupArn(ctx, name),
    creationTime: ctx.now(),
    ...(input.kmsKeyId ? { kmsKeyId: String(input.kmsKeyId) } : {}),
    tags: { ...(input.tags ?? {}) },
  };
  return {};
}

function deleteLogGroup(ctx: Ctx, input: any) {
  const group = groupOf(ctx.state, input);
  for (const stream of streamsOf(ctx.state, group.logGroupName)) {
    delete ctx.state.streams[streamKey(group.logGroupName, stream.logStreamName)];
  }
  delete ctx.state.groups[group.logGroupName];
  return {};
}

function putRetentionPolicy(ctx: Ctx, input: any) {
  const group = groupOf(ctx.state, input);
  group.retentionInDays = Number(input.retentionInDays);
  return {};
}

function describeLogGroups(ctx: Ctx, input: any) {
  const prefix = String(input.logGroupNamePrefix ?? '');
  const groups = Object.values(ctx.state.groups)
    .filter((group) => group.logGroupName.startsWith(prefix))
    .sort((a, b) => a.logGroupName.localeCompare(b.logGroupName));
  return {
    logGroups: groups.map((group) => ({
      logGroupName: group.logGroupName,
      arn: `${group.arn}:*`,
      logGroupArn: group.arn,
      creationTime: group.creationTime,
      ...(group.retentionInDays ? { retentionInDays: group.retentionInDays } : {}),
      ...(group.kmsKeyId ? { kmsKeyId: group.kmsKeyId } : {}),
      storedBytes: storedBytes(ctx.state, group.logGroupName),
      logGroupClass: 'STANDARD',
    })),
  };
}

function listTagsForResource(ctx: Ctx, input: any) {
  const arn = String(input.resourceArn ?? '');
  const group = Object.values(ctx.state.groups).find(
    (candidate) => candidate.arn === arn.replace(/:\*$/, ''),
  );
  if (!group) throw notFound('resource');
  return { tags: { ...group.tags } };
}

function createLogStream(ctx: Ctx, input: any) {
  const group = groupOf(ctx.state, input);
  const name = String(input.logStreamName ?? '');
  const key = streamKey(group.logGroupName, name);
  if (ctx.state.streams[key]) {
    throw awsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
  }
  ctx.state.streams[key] = {
    logGroupName: group.logGroupName,
    logStreamName: name,
    creationTime: ctx.now(),
    events: [],
    storedBytes: 0,
  };
  return {};
}

function describeLogStreams(ctx: Ctx, input: any) {
  const group = groupOf(ctx.state, input);
  const prefix = String(input.logStreamNamePrefix ?? '');
  return {
    logStreams: streamsOf(ctx.state, group.logGroupName)
      .filter((stream) => stream.logStreamName.startsWith(prefix))
      .sort((a, b) => a.logStreamName.localeCompare(b.logStreamName))
      .map((stream) => ({
        logStreamName: stream.logStreamName,
        creationTime: stream.creationTime,
        firstEventTimestamp: stream.events[0]?.timestamp,
        lastEventTimestamp: stream.events.at(-1)?.timestamp,
        storedBytes: stream.storedBytes,
      })),
  };
}

function appendEvents(stream: LogStream, events: { timestamp: number; message: string }[], now: number) {
  for (const event of events) {
    stream.events.push({ timestamp: event.timestamp, message: event.message, ingestionTime: now });
    stream.storedBytes += Buffer.byteLength(event.message) + EVENT_OVERHEAD_BYTES;
  }
  stream.events.sort((a, b) => a.timestamp - b.timestamp);
  if (stream.events.length > MAX_EVENTS_PER_STREAM) {
    stream.events.splice(0, stream.events.length - MAX_EVENTS_PER_STREAM);
  }
}

function putLogEvents(ctx: Ctx, input: any) {
  const group = groupOf(ctx.state, input);
  const stream = ctx.state.streams[streamKey(group.logGroupName, String(input.logStreamName ?? ''))];
  if (!stream) throw notFound('log stream');
  appendEvents(stream, input.logEvents ?? [], ctx.now());
  return {};
}

/**
 * A filter pattern as FilterLogEvents reads the simple ones: terms that must all appear (case-sensitive), a quoted
 * phrase as one term, `?term` alternatives. JSON and metric patterns are not simulated.
 */
export function matchesPattern(pattern: string | undefined, message: string): boolean {
  const text = (pattern ?? '').trim();
  if (!text) return true;
  const terms = [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]);
  const optional = terms.filter((term) => term.startsWith('?')).map((term) => term.slice(1));
  const required = terms.filter((term) => !term.startsWith('?'));
  if (optional.length > 0) return optional.some((term) => message.includes(term));
  return required.every((term) =>
    term.startsWith('-') ? !message.includes(term.slice(1)) : message.includes(term),
  );
}

const PAGE = 1_000;

function filterLogEvents(ctx: Ctx, input: any) {
  const group = groupOf(ctx.state, input);
  const names: string[] | undefined = input.logStreamNames?.length ? input.logStreamNames : undefined;
  const prefix = input.logStreamNamePrefix ? String(input.logStreamNamePrefix) : undefined;
  if (names && prefix) throw invalid('logStreamNames and logStreamNamePrefix cannot both be given');
  const start = input.startTime === undefined ? Number.NEGATIVE_INFINITY : Number(input.startTime);
  const end = input.endTime === undefined ? Number.POSITIVE_INFINITY : Number(input.endTime);
  const events = streamsOf(ctx.state, group.logGroupName)
    .filter((stream) => (names ? names.includes(stream.logStreamName) : true))
    .filter((stream) => (prefix ? stream.logStreamName.startsWith(prefix) : true))
    .flatMap((stream) =>
      stream.events
        .map((event, i) => ({
          ...event,
          logStreamName: stream.logStreamName,
          eventId: `${stream.logStreamName}:${i}`,
        }))
        .filter((event) => event.timestamp >= start && event.timestamp <= end)
        .filter((event) => matchesPattern(input.filterPattern, event.message)),
    )
    .sort((a, b) => a.timestamp - b.timestamp || a.logStreamName.localeCompare(b.logStreamName));
  const limit = Math.min(Number(input.limit ?? PAGE) || PAGE, 10_000);
  const offset = input.nextToken ? Number(String(input.nextToken).replace(/^sim-/, '')) || 0 : 0;
  const page = events.slice(offset, offset + limit);
  return {
    events: page,
    searchedLogStreams: [],
    ...(offset + limit < events.length ? { nextToken: `sim-${offset + limit}` } : {}),
  };
}

/** Fault-rule targets: the log group (and stream) a call names. */
function targetsOf(_ctx: Ctx, _operation: string, input: any): string[] {
  return [input?.logGroupName ?? input?.logGroupIdentifier, input?.logStreamName].filter(
    (target): target is string => typeof target === 'string',
  );
}

export const logsSimulator: ServiceSimulator<LogsState> = {
  name: SERVICE,
  initialState: () => ({ groups: {}, streams: {} }),
  operations: {
    CreateLogGroup: createLogGroup,
    DeleteLogGroup: deleteLogGroup,
    PutRetentionPolicy: putRetentionPolicy,
    DescribeLogGroups: describeLogGroups,
    ListTagsForResource: listTagsForResource,
    CreateLogStream: createLogStream,
    DescribeLogStreams: describeLogStreams,
    PutLogEvents: putLogEvents,
    FilterLogEvents: filterLogEvents,
  },
  targetsOf,
  addedLater: true,
};

/** The CloudWatch Logs state of an account (a state dir made before this service has none yet: an empty one). */
export function logsState(account: SimulatedAccount): LogsState {
  return account.stateOf<LogsState>(SERVICE);
}

/**
 * What the CloudWatch agent of a simulated node ships: `lines` into stream `stream` of `group`, at `timestamp`
 * (one ms apart, in order). Nothing when the group does not exist: the agent has no right to create it.
 */
export function writeNodeLog(
  account: SimulatedAccount,
  group: string,
  stream: string,
  timestamp: number,
  lines: string[],
): void {
  const state = logsState(account);
  if (!state.groups[group] || lines.length === 0) return;
  const key = streamKey(group, stream);
  state.streams[key] ??= {
    logGroupName: group,
    logStreamName: stream,
    creationTime: timestamp,
    events: [],
    storedBytes: 0,
  };
  appendEvents(
    state.streams[key],
    lines.map((message, i) => ({ timestamp: timestamp + i, message })),
    timestamp,
  );
}
