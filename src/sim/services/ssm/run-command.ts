import type { FaultRule } from '../../faults.js';
import { LATENCY_SECONDS } from '../../latency.js';
import { observe } from './agents.js';
import { instanceDenial } from './instance-access.js';
import { commandOutput, settle } from './invocations.js';
import { commitRingPlan, planRingRun, type RingPlan, ringOutcome } from './ring.js';
import {
  type Ctx,
  computerName,
  constraintError,
  type Documents,
  type Ec2Instance,
  type Ec2View,
  ec2Of,
  NO_MESSAGE,
  nameOf,
  type SimDocument,
  type SimDocumentParameter,
  type SsmCommand,
  type SsmInvocation,
  ssmError,
  uuidFrom,
} from './state.js';

// Run Command, sending: SendCommand checks the document's parameters and plans each invocation in virtual time.

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
  // A fresh node; a joining one runs until it is UN (ring.ts: RING_DELAY plus streaming).
  'capi-cassandra-configure': 90,
  // Ring documents whose run the ring decides (ring.ts): these are an empty node's.
  'capi-cassandra-decommission': 40,
  'capi-cassandra-cleanup': 10,
  'capi-daemon-install': 120,
  'capi-daemon-configure': 30,
  'capi-cloudwatch-agent': 40,
  'capi-health-check': 5,
  'capi-services-stop': 20,
  'capi-services-start': 15,
};
export const DEFAULT_DOCUMENT_SECONDS = 60;

const MAX_INSTANCE_IDS = 50;

/**
 * A provisioning document, as SSM finds it in the call's region: the stack deploys them only in its own region
 * (the account's `region`, the stack region of local mode), so a call from any other region gets InvalidDocument.
 */
export function documentOf(ctx: Ctx, documents: Documents, name: unknown): SimDocument {
  const here = ctx.region === ctx.account.region;
  const document = here && typeof name === 'string' ? documents[name] : undefined;
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

type PingStatus = ReturnType<typeof observe>;

/**
 * Each target's agent status. SSM refuses only targets it does not manage (never registered, or terminated); a
 * managed instance whose agent is ConnectionLost is accepted, and the command waits for the agent (Delayed).
 */
function checkManaged(ctx: Ctx, ec2: Ec2View, ids: string[]): Map<string, PingStatus> {
  const pings = new Map(
    ids.map((id) => {
      const instance = ec2.instances[id];
      return [id, instance ? observe(ctx, ec2, instance) : undefined] as const;
    }),
  );
  const invalid = ids.filter((id) => pings.get(id) === undefined);
  if (invalid.length > 0) {
    throw ssmError(
      'InvalidInstanceId',
      `Instances [[${invalid.join(', ')}]] not in a valid state for account ${ctx.caller.accountId}`,
    );
  }
  return pings;
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

/** An invocation a rule keeps InProgress forever ends this far in the virtual future: never, for any run. */
const NEVER_MS = 100 * 365 * 24 * 3600 * 1000;

function faultOutcome(rule: FaultRule | undefined): SsmInvocation['fault'] {
  if (!rule || rule.status === 'InProgress') return undefined;
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

/** The document's usual run time on a node, with a rule's delay. */
const documentSeconds = (command: SsmCommand, rule: FaultRule | undefined) =>
  (DOCUMENT_SECONDS[command.DocumentName] ?? DEFAULT_DOCUMENT_SECONDS) + (rule?.delaySeconds ?? 0);

/**
 * How the document's run on one node goes: its fault (a rule, or an execution timeout) and how long it takes. A
 * Cassandra ring document's run comes from the ring (`ring`) unless a rule decides its outcome.
 */
function runOf(command: SsmCommand, rule: FaultRule | undefined, ring?: RingPlan) {
  // `status: InProgress`: the agent never reports an end, so SSM's own timeouts never apply either.
  if (rule?.status === 'InProgress') return { runMs: NEVER_MS };
  const planned = faultOutcome(rule);
  if (ring && !planned) return ringOutcome(ring, command.executionTimeoutSeconds);
  const runSeconds = documentSeconds(command, rule);
  const timeout = command.executionTimeoutSeconds;
  const timesOut = planned?.status === 'TimedOut' || runSeconds > timeout;
  const fault = timesOut ? { status: 'TimedOut' as const, stderr: planned?.stderr } : planned;
  return { runMs: (timesOut ? timeout : runSeconds) * 1000, ...(fault ? { fault } : {}) };
}

/** An invocation as planned, and what its run does to the Cassandra ring if it goes ahead. */
interface PlannedInvocation {
  invocation: SsmInvocation;
  ring?: RingPlan;
}

/**
 * Plans one invocation: its fault, start (in the first free concurrency slot) and end, in virtual time. A ring
 * document is planned against the ring at its start, unless a rule decides its outcome.
 */
function planInvocation(
  ctx: Ctx,
  ec2: Ec2View,
  command: SsmCommand,
  instance: Ec2Instance,
  schedule: Schedule,
  ping: PingStatus,
): PlannedInvocation {
  const name = nameOf(instance, instance.InstanceId);
  const rule = ctx.effect('SendCommand', [name, instance.InstanceId], command.DocumentName);
  const firstAttempt = schedule.registeredAt + LATENCY_SECONDS.commandDelivered * 1000;
  const base = {
    InstanceId: instance.InstanceId,
    name,
    ComputerName: computerName(instance, ctx.region),
    registeredAt: schedule.registeredAt,
  };
  const deadline = schedule.deliveryDeadline;
  // The agent is unreachable: SSM keeps the command (Delayed) until the agent is back or the delivery timeout.
  if (ping === 'ConnectionLost') {
    const { runMs, fault } = runOf(command, rule);
    return {
      invocation: {
        ...base,
        startAt: deadline,
        endAt: deadline,
        deliveryTimedOut: true,
        awaitingAgent: { attemptAt: firstAttempt, runMs },
        ...(fault ? { fault } : {}),
      },
    };
  }
  const slot = schedule.slots.indexOf(Math.min(...schedule.slots));
  const startAt = Math.max(schedule.slots[slot], firstAttempt);
  // An agent that cannot start the command before the delivery timeout never runs it.
  if (startAt > deadline) {
    return { invocation: { ...base, startAt: deadline, endAt: deadline, deliveryTimedOut: true } };
  }
  const decided = rule?.status === 'InProgress' || faultOutcome(rule) !== undefined;
  const ring = decided
    ? undefined
    : planRingRun(ctx, ec2, command, instance, startAt, documentSeconds(command, rule));
  const { runMs, fault } = runOf(command, rule, ring);
  const endAt = startAt + runMs;
  schedule.slots[slot] = endAt;
  return { invocation: { ...base, startAt, endAt, ...(fault ? { fault } : {}) }, ring };
}

export async function sendCommand(ctx: Ctx, input: any, documents: Documents) {
  settle(ctx);
  const document = documentOf(ctx, documents, input.DocumentName);
  const ids = checkInstanceIds(input);
  const ec2 = ec2Of(ctx);
  const pings = checkManaged(ctx, ec2, ids);
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
  for (const id of ids) {
    const { invocation, ring } = planInvocation(
      ctx,
      ec2,
      command,
      ec2.instances[id],
      schedule,
      pings.get(id),
    );
    // The scripts' own AWS calls, made with the instance's role: a denied one fails the run on that node.
    const denied = invocation.fault
      ? undefined
      : await instanceDenial(ctx, ec2.instances[id], command.DocumentName);
    command.invocations[id] = denied ? { ...invocation, fault: denied } : invocation;
    // What the run does to the Cassandra ring, before the next node's run is planned against it.
    if (ring && !denied) commitRingPlan(ctx, ring, invocation.endAt, now);
  }
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
