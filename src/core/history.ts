import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { machineBaseName } from './catalogue.js';
import { blamed, type ExecutionRecord, type StepRecord } from './execution-record.js';
import { errorOf, readHistory } from './history-pages.js';

/**
 * Real Step Functions history → the {@link ExecutionRecord} the local engine records, so `history`, `watch` and
 * `report` show an AWS execution exactly as a local one.
 *
 * Events are linked by `previousEventId`, not by their order: branches of a Parallel interleave, and each branch's
 * first state points at the ParallelStateStarted event, each Map iteration's at its MapIterationStarted. So every
 * event inherits the context (enclosing Parallel or Map, iteration index, owning step) of the event it follows.
 * Within one Task visit, every LambdaFunctionScheduled (or TaskScheduled) after the first is a retry; a failure not
 * followed by a successful attempt makes the visit `caught` when the state still exits, `failed` when it does not.
 * A visit that succeeded after retries keeps the error it retried, as the local recorder does.
 */

/** What a history event belongs to. */
interface Context {
  parent?: string;
  index?: number;
  owner?: OpenStep;
}

interface OpenStep {
  step: StepRecord;
  attempts: number;
  /** The error of the latest attempt, cleared when an attempt succeeds. */
  lastError?: { error: string; cause: string };
  /** The error of the latest failed attempt: what a step that succeeded after retries had retried. */
  retriedError?: { error: string; cause: string };
}

const ENTERED = /^(\w+)StateEntered$/;
const EXITED = /^(\w+)StateExited$/;
const ABORTED = /^(\w+)StateAborted$/;
const CONTAINER_EVENT = /^(Parallel|Map)State(Started|Succeeded|Failed)$/;
const ATTEMPT = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'ActivityScheduled']);
const ATTEMPT_FAILED = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'ActivityFailed',
  'ActivityTimedOut',
  'ActivityScheduleFailed',
]);
const ATTEMPT_SUCCEEDED = new Set(['LambdaFunctionSucceeded', 'TaskSucceeded', 'ActivitySucceeded']);
const EXECUTION_ENDED_BADLY = new Set(['ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

const parseJson = (text: string | undefined): unknown => {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** Our executions' input is the deployment spec; its name is the deployment. */
function deploymentOf(execution: DescribeExecutionOutput): string {
  const input = parseJson(execution.input) as { name?: unknown } | null;
  return typeof input?.name === 'string' ? input.name : (execution.name ?? '?');
}

function statusOf(status: string | undefined): ExecutionRecord['status'] {
  if (status === 'SUCCEEDED') return 'SUCCEEDED';
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE' || status === undefined) return 'RUNNING';
  return 'FAILED';
}

type StepListener = (step: StepRecord, phase: 'start' | 'end') => void;
type Failure = NonNullable<ExecutionRecord['failure']>;

/**
 * THE reader of Step Functions history: the API, the CLI's create/delete follow loop, `history`, `watch` and
 * `report` all describe an execution through it, so they name the same steps and blame the same failed step.
 * Incremental: `read` takes events as they arrive (a page read again is skipped by id) and tells `onStep` when a
 * step starts and ends; `record` gives the whole {@link ExecutionRecord} so far.
 */
class HistoryParser {
  readonly steps: StepRecord[] = [];
  historyEvents = 0;
  stateTransitions = 0;
  /** The state entered last. */
  currentStep: string | null = null;
  /** Set when the execution failed, timed out or was aborted (cleared by a redrive). */
  failure: Failure | null = null;
  private lastId = 0;
  private firstAt: number | undefined;
  private lastAt = 0;
  private readonly contexts = new Map<number, Context>();
  private readonly open: OpenStep[] = [];
  /** The last Task whose failure was caught or ended a branch: the Fail state that ends a run only reports it. */
  private lastBlamed: StepRecord | undefined;

  constructor(private readonly onStep?: StepListener) {}

  /** The id of the last event read. */
  get lastEventId(): number {
    return this.lastId;
  }

  /** Takes new events (any order within a batch); events already read are skipped by id. */
  read(events: HistoryEvent[]): void {
    const fresh = events.filter((event) => (event.id ?? 0) > this.lastId);
    for (const event of fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0))) {
      this.lastId = event.id ?? this.lastId;
      this.historyEvents += 1;
      this.take(event);
    }
  }

  /**
   * The failure to report for an execution in this status: the blamed step when the history names one, else the
   * step that ran last, with the execution's own error; null unless it ended badly.
   */
  failureFor(execution: Pick<DescribeExecutionOutput, 'status' | 'error' | 'cause'>): Failure | null {
    if (statusOf(execution.status) !== 'FAILED') return null;
    const failure = this.failure ?? {
      state: this.lastBlamed?.name ?? this.currentStep,
      error: execution.error ?? execution.status ?? 'States.Runtime',
      cause: execution.cause ?? '',
    };
    return blamed(this.steps, failure);
  }

  /**
   * The execution record so far: mode `aws`, `machine` the state machine's name without the stack prefix when it
   * is one of ours (`CapiDeploy-create-deployment` → `create-deployment`), `virtualSeconds` the real duration, no
   * API call counts (Step Functions does not report the handlers' calls).
   */
  record(execution: DescribeExecutionOutput): ExecutionRecord {
    const status = statusOf(execution.status);
    const startDate = execution.startDate?.getTime() ?? this.firstAt ?? 0;
    const stopDate = status === 'RUNNING' ? null : (execution.stopDate?.getTime() ?? this.lastAt);
    const machineName = (execution.stateMachineArn ?? '').split(':stateMachine:').pop() ?? '';
    return {
      execution: execution.name ?? (execution.executionArn ?? '').split(':').pop() ?? '?',
      machine: machineBaseName(machineName.split(':')[0]),
      deployment: deploymentOf(execution),
      mode: 'aws',
      status,
      startDate,
      stopDate,
      output: parseJson(execution.output),
      failure: this.failureFor(execution),
      // Copies: a watcher compares one poll's record with the next.
      steps: this.steps.map((step) => ({ ...step })),
      metrics: {
        historyEvents: this.historyEvents,
        stateTransitions: this.stateTransitions,
        virtualSeconds: Math.round(((stopDate ?? this.lastAt) - startDate) / 1000),
        apiCalls: 0,
        apiCallsByOperation: {},
      },
    };
  }

  private take(event: HistoryEvent): void {
    const type = event.type ?? '';
    const at = event.timestamp?.getTime() ?? this.lastAt;
    this.firstAt ??= at;
    this.lastAt = at;
    const before: Context = this.contexts.get(event.previousEventId ?? -1) ?? {};
    let here: Context = before;
    const entered = ENTERED.exec(type);
    const container = CONTAINER_EVENT.exec(type);
    if (entered) {
      here = this.enter(event, entered[1], before, at);
    } else if (container) {
      here = this.containerEvent(event, container[1], container[2], before);
    } else if (type === 'MapIterationStarted') {
      const details = event.mapIterationStartedEventDetails;
      here = { parent: details?.name ?? before.parent, index: details?.index, owner: undefined };
    } else if (ATTEMPT.has(type) && before.owner) {
      before.owner.attempts += 1;
      if (before.owner.attempts > 1) {
        before.owner.step.retries += 1;
        this.stateTransitions += 1;
      }
    } else if (ATTEMPT_FAILED.has(type) && before.owner) {
      before.owner.lastError = errorOf(event);
      before.owner.retriedError = before.owner.lastError;
    } else if (ATTEMPT_SUCCEEDED.has(type) && before.owner) {
      before.owner.lastError = undefined;
    } else if (EXITED.test(type) || ABORTED.test(type)) {
      here = this.exit(event, ABORTED.test(type), before, at);
    } else if (type === 'ExecutionRedriven') {
      this.failure = null;
    } else if (EXECUTION_ENDED_BADLY.has(type)) {
      this.fail(event, at);
    }
    this.contexts.set(event.id ?? 0, here);
  }

  private enter(event: HistoryEvent, type: string, before: Context, at: number): Context {
    const step: StepRecord = {
      name: event.stateEnteredEventDetails?.name ?? '?',
      type,
      start: at,
      end: null,
      retries: 0,
      outcome: 'running',
      ...(before.index !== undefined ? { index: before.index } : {}),
      ...(before.parent !== undefined ? { parent: before.parent } : {}),
    };
    const entry: OpenStep = { step, attempts: 0 };
    this.steps.push(step);
    this.open.push(entry);
    this.stateTransitions += 1;
    this.currentStep = step.name;
    this.onStep?.(step, 'start');
    return { parent: before.parent, index: before.index, owner: entry };
  }

  /** Started follows the state's Entered event; Succeeded/Failed follow the last event of a branch or iteration. */
  private containerEvent(event: HistoryEvent, kind: string, phase: string, before: Context): Context {
    const owner =
      before.owner?.step.type === kind
        ? before.owner
        : this.lastOpen(
            (entry) =>
              entry.step.type === kind && (before.parent === undefined || entry.step.name === before.parent),
          );
    if (!owner) return before;
    if (phase === 'Started') return { parent: owner.step.name, owner };
    // ParallelStateFailed and MapStateFailed carry no error: it is the one of the branch step that failed.
    if (phase === 'Failed') owner.lastError = before.owner?.lastError ?? errorOf(event);
    return { parent: owner.step.parent, index: owner.step.index, owner };
  }

  private exit(event: HistoryEvent, aborted: boolean, before: Context, at: number): Context {
    const name = event.stateExitedEventDetails?.name;
    const owner =
      before.owner && (name === undefined || before.owner.step.name === name)
        ? before.owner
        : this.lastOpen((entry) => entry.step.name === name);
    if (!owner || !this.open.includes(owner)) return before;
    this.closeInside(owner.step, at);
    this.close(owner, at, aborted ? 'failed' : owner.lastError ? 'caught' : 'succeeded');
    // The state after this one is its sibling: same parent and iteration, no owner.
    return { parent: owner.step.parent, index: owner.step.index };
  }

  private fail(event: HistoryEvent, at: number): void {
    const { error, cause } = errorOf(event);
    // Blame a Task that failed without being caught, else the last Task whose failure was caught, else whatever
    // was running.
    const uncaught = this.open.find((entry) => entry.lastError && entry.step.type === 'Task')?.step;
    const blamed = uncaught ?? this.lastBlamed ?? this.open.at(-1)?.step;
    this.failure = { state: blamed?.name ?? null, error, cause };
    for (const entry of [...this.open]) this.close(entry, at, 'failed');
  }

  private lastOpen(test: (entry: OpenStep) => boolean): OpenStep | undefined {
    return [...this.open].reverse().find(test);
  }

  /** Closes what is still open inside a container that ends: states of branches that were aborted. */
  private closeInside(container: StepRecord, at: number): void {
    for (const entry of this.open.filter((candidate) => candidate.step.parent === container.name)) {
      if (entry.step.type === 'Parallel' || entry.step.type === 'Map') this.closeInside(entry.step, at);
      this.close(entry, at, 'failed');
    }
  }

  private close(entry: OpenStep, at: number, outcome: StepRecord['outcome']): void {
    const index = this.open.indexOf(entry);
    if (index >= 0) this.open.splice(index, 1);
    entry.step.end = at;
    entry.step.outcome = outcome;
    // Like the local recorder, a step that succeeded after retries keeps the error it retried.
    const error = entry.lastError ?? entry.retriedError;
    if (error) {
      entry.step.error = error.error;
      entry.step.cause = error.cause;
    }
    if (entry.lastError && entry.step.type === 'Task') this.lastBlamed = entry.step;
    this.onStep?.(entry.step, 'end');
  }
}

/** An execution (DescribeExecution) and its complete history (every page) as an execution record. */
function recordFromSfnHistory(execution: DescribeExecutionOutput, events: HistoryEvent[]): ExecutionRecord {
  const parser = new HistoryParser();
  parser.read(events);
  return parser.record(execution);
}

/** Every event of an execution's history, oldest first, through every page. */
async function fetchExecutionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  await readHistory(sfn, executionArn, { read: (page) => events.push(...page) });
  return events;
}

/**
 * A `watch` source for an AWS execution: each poll describes the execution and reads only the history pages it
 * has not read yet (the last page is read again and the events already seen are skipped by id).
 */
function sfnExecutionSource(sfn: SFNClient, executionArn: string): { poll(): Promise<ExecutionRecord> } {
  const parser = new HistoryParser();
  let resumeToken: string | undefined;
  return {
    async poll() {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      resumeToken = await readHistory(sfn, executionArn, parser, resumeToken);
      return parser.record(execution);
    },
  };
}

export type { Failure, StepListener };
export { fetchExecutionHistory, HistoryParser, recordFromSfnHistory, sfnExecutionSource };
