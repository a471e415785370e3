import { untracked } from '../../durable.js';
import { pageOf } from '../../pagination.js';
import { observe } from './agents.js';
import { HEALTH_CHECK_DOCUMENT, healthCheck, type RunOutput } from './cluster.js';
import { shipNodeLogs } from './node-logs.js';
import { commitRingPlan, planRingRun, ringOutcome } from './ring.js';
import {
  type Ctx,
  constraintError,
  type Documents,
  type Ec2Instance,
  type Ec2View,
  ec2Of,
  type FinalStatus,
  GONE_STATES,
  type InvocationResult,
  managedRecord,
  NO_MESSAGE,
  type SsmCommand,
  type SsmInvocation,
  ssmError,
  ssmPaging,
  ssmState,
} from './state.js';

// Run Command, running: invocations finish lazily, in virtual time, whenever a call looks at them.

/** GetCommandInvocation returns the first 24,000 characters of stdout and the first 8,000 of stderr. */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
/** ListCommandInvocations with Details returns the first 2,500 characters of a plugin's output. */
const PLUGIN_OUTPUT_LIMIT = 2_500;

type ViewStatus = FinalStatus | 'Pending' | 'InProgress' | 'Delayed';

const STATUS_DETAILS: Record<ViewStatus, string> = {
  Pending: 'Pending',
  InProgress: 'In Progress',
  Delayed: 'Delayed',
  Success: 'Success',
  Failed: 'Failed',
  TimedOut: 'Execution Timed Out',
  Cancelled: 'Cancelled',
};

const LIST_PAGING = ssmPaging(1, 50, 50);

const iso = (ms: number) => new Date(ms).toISOString();

const finishAt = (invocation: SsmInvocation) =>
  invocation.cancelledAt !== undefined && invocation.cancelledAt < invocation.endAt
    ? invocation.cancelledAt
    : invocation.endAt;

/**
 * Retries delivery of the commands waiting for an unreachable agent (SSM's Delayed), before their delivery
 * deadline: an agent back Online gets the command now and runs it; an instance that is no longer managed
 * (terminated) makes the invocation Undeliverable. Observed lazily, like everything here: an agent that came back
 * is noticed at the next call that looks at commands.
 */
/** Commands whose every invocation has its result: nothing of them changes any more, so scans skip them. */
const finishedCommands = new WeakSet<object>();

/**
 * The invocations not finished yet, found on the untracked state (a plain scan; every call settles, and a fleet of
 * 2,000 nodes run one command per node has thousands), then taken through the tracked state, so what changes is
 * journaled.
 */
function openInvocations(ctx: Ctx): { command: SsmCommand; invocation: SsmInvocation }[] {
  const commands = ssmState(ctx).commands;
  const open: { command: SsmCommand; invocation: SsmInvocation }[] = [];
  for (const [commandId, raw] of Object.entries(untracked(commands))) {
    if (finishedCommands.has(raw)) continue;
    const pending = Object.entries(raw.invocations).filter(([, invocation]) => !invocation.result);
    if (pending.length === 0) {
      finishedCommands.add(raw);
      continue;
    }
    const command = commands[commandId];
    for (const [instanceId] of pending) open.push({ command, invocation: command.invocations[instanceId] });
  }
  return open;
}

function redeliver(ctx: Ctx, now: number): void {
  const waiting = openInvocations(ctx).filter(
    ({ invocation }) => invocation.awaitingAgent && !invocation.result && now < finishAt(invocation),
  );
  if (waiting.length === 0) return;
  const ec2 = ec2Of(ctx);
  for (const { command, invocation } of waiting) {
    const awaiting = invocation.awaitingAgent!;
    const instance = ec2.instances[invocation.InstanceId];
    let runMs = awaiting.runMs;
    if (!instance || GONE_STATES.has(instance.State?.Name)) {
      invocation.undeliverable = true;
    } else if (now < awaiting.attemptAt || observe(ctx, ec2, instance) !== 'Online') {
      continue;
    } else {
      delete invocation.deliveryTimedOut;
      invocation.startAt = now;
      runMs = deliverToRing(ctx, ec2, command, invocation, instance) ?? runMs;
    }
    invocation.endAt = invocation.undeliverable ? now : now + runMs;
    delete invocation.awaitingAgent;
  }
}

/**
 * A Cassandra ring document delivered late runs against the ring as it is now (ring.ts): its run time and outcome,
 * unless a rule decided them when it was sent; undefined for other documents.
 */
function deliverToRing(
  ctx: Ctx,
  ec2: Ec2View,
  command: SsmCommand,
  invocation: SsmInvocation,
  instance: Ec2Instance,
): number | undefined {
  const usual = invocation.awaitingAgent!.runMs / 1000;
  // A rule decided the run when it was sent: its outcome, or a run it keeps going past any timeout.
  if (invocation.fault || usual > command.executionTimeoutSeconds) return undefined;
  const ring = planRingRun(ctx, ec2, command, instance, invocation.startAt, usual);
  if (!ring) return undefined;
  const { runMs, fault } = ringOutcome(ring, command.executionTimeoutSeconds);
  if (fault) invocation.fault = fault;
  commitRingPlan(ctx, ring, invocation.startAt + runMs);
  return runMs;
}

/**
 * Finishes every invocation whose end has passed, in the order they end, and records the outcome per node: a
 * health check that ends after a configure document sees that document's result.
 */
export function settle(ctx: Ctx): void {
  const now = ctx.now();
  redeliver(ctx, now);
  const due = openInvocations(ctx)
    .filter(({ invocation }) => !invocation.result && finishAt(invocation) <= now)
    .sort((a, b) => finishAt(a.invocation) - finishAt(b.invocation));
  for (const { command, invocation } of due) {
    invocation.result = finish(ctx, command, invocation);
    // What the node's CloudWatch agent ships of this run (src/sim/services/ssm/node-logs.ts).
    shipNodeLogs(ctx, command, invocation, invocation.result);
    const record = managedRecord(ctx, invocation.InstanceId);
    record.provisioned[command.DocumentName] = invocation.result.status;
    if (invocation.result.status === 'Success') {
      record.succeededParameters[command.DocumentName] = command.runParameters;
    }
  }
}

function finish(ctx: Ctx, command: SsmCommand, invocation: SsmInvocation): InvocationResult {
  const endedAt = finishAt(invocation);
  const started = !invocation.deliveryTimedOut && !invocation.undeliverable && invocation.startAt < endedAt;
  const result = (status: FinalStatus, details: string, responseCode: number, stdout = '', stderr = '') => ({
    status,
    details,
    responseCode,
    stdout,
    stderr,
    endedAt,
    started,
  });
  if (endedAt === invocation.cancelledAt) return result('Cancelled', 'Cancelled', -1);
  // SSM's invocation Status has no Undeliverable value: it is a StatusDetails of a Failed invocation.
  if (invocation.undeliverable) return result('Failed', 'Undeliverable', -1);
  if (invocation.deliveryTimedOut) return result('TimedOut', 'Delivery Timed Out', -1);
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
      ? healthCheck(ctx, invocation.InstanceId, command.runParameters, endedAt)
      : { exitCode: 0, stdout: `${banner}[capi] ${command.DocumentName}: done\n`, stderr: '' };
  const status: FinalStatus = run.exitCode === 0 ? 'Success' : 'Failed';
  return result(status, status, run.exitCode, run.stdout, run.stderr);
}

interface InvocationView {
  status: ViewStatus;
  details: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  startedAt?: number;
  endedAt?: number;
}

/** Pending until delivered; then InProgress, or Delayed while SSM cannot reach the agent. */
function unfinishedStatus(invocation: SsmInvocation, now: number): ViewStatus {
  const awaiting = invocation.awaitingAgent;
  if (awaiting) return now < awaiting.attemptAt ? 'Pending' : 'Delayed';
  return now < invocation.startAt ? 'Pending' : 'InProgress';
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
  const status = unfinishedStatus(invocation, now);
  return {
    status,
    details: STATUS_DETAILS[status],
    responseCode: -1,
    stdout: '',
    stderr: '',
    ...(status === 'InProgress' ? { startedAt: invocation.startAt } : {}),
  };
}

const UNFINISHED = new Set<ViewStatus>(['Pending', 'InProgress', 'Delayed']);

/**
 * A command's status from its invocations': the worst final status once all have finished. Undeliverable
 * invocations do not decide it unless every invocation is Undeliverable (then Failed), as the SSM docs say.
 */
function aggregateStatus(views: (InvocationView | undefined)[]): ViewStatus {
  const statuses = views.map((view) => view?.status ?? 'Pending');
  if (statuses.every((status) => status === 'Pending')) return 'Pending';
  if (statuses.some((status) => UNFINISHED.has(status))) return 'InProgress';
  const deciding = views.filter((view) => view?.details !== 'Undeliverable').map((view) => view!.status);
  if (deciding.length === 0) return 'Failed';
  return (['Cancelled', 'Failed', 'TimedOut'] as const).find((bad) => deciding.includes(bad)) ?? 'Success';
}

function commandStatus(views: (InvocationView | undefined)[]) {
  const statuses = views.map((view) => view?.status ?? 'Pending');
  const count = (status: string) => statuses.filter((s) => s === status).length;
  const countDetails = (details: string) => views.filter((view) => view?.details === details).length;
  const deliveryTimedOut = countDetails('Delivery Timed Out');
  const status = aggregateStatus(views);
  const onlyDelivery = status === 'TimedOut' && deliveryTimedOut === count('TimedOut');
  return {
    Status: status,
    StatusDetails: onlyDelivery ? 'Delivery Timed Out' : STATUS_DETAILS[status],
    TargetCount: statuses.length,
    CompletedCount: statuses.filter((s) => !UNFINISHED.has(s)).length,
    // Execution timeouts count as errors; delivery timeouts and undeliverable invocations do not.
    ErrorCount: count('Failed') + count('TimedOut') - deliveryTimedOut - countDetails('Undeliverable'),
    DeliveryTimedOutCount: deliveryTimedOut,
  };
}

/** A command as SendCommand and ListCommands return it, with its status as of now. */
export function commandOutput(ctx: Ctx, command: SsmCommand) {
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

function stepNames(documents: Documents, command: SsmCommand): string[] {
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

export function getCommandInvocation(ctx: Ctx, input: any, documents: Documents) {
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
      return (_command, status) => (value === 'Executing') === UNFINISHED.has(status as ViewStatus);
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

/** The page of a list call whose token is bound to the command, instance and filters asked for. */
function listPage<T>(rows: T[], input: any, operation: string) {
  const scope = `${operation}:${input.CommandId}:${input.InstanceId}:${JSON.stringify(input.Filters ?? [])}`;
  return pageOf(rows, { size: input.MaxResults, token: input.NextToken, scope }, LIST_PAGING);
}

export function listCommandInvocations(ctx: Ctx, input: any, documents: Documents) {
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
  const { page, ...next } = listPage(rows, input, 'invocations');
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
    ...next,
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
  const { page, ...next } = listPage(outputs, input, 'commands');
  return { Commands: page.map(({ output }) => output), ...next };
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

/** The operations that read and cancel commands (those that need the documents are wired with them). */
export const invocationOperations = {
  ListCommands: listCommands,
  CancelCommand: cancelCommand,
};
