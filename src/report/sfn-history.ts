import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { errorOf, readHistory } from '../aws/execution-history.js';
import type { ExecutionRecord, StepRecord } from '../local/history.js';
import { machineBaseName } from './machine.js';

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

/**
 * Converts an execution (DescribeExecution) and its complete history (GetExecutionHistory, every page, oldest
 * first) to an execution record: mode `aws`, `machine` the state machine's name without the stack prefix when it
 * is one of ours (`CapiDeploy-create-deployment` → `create-deployment`), `virtualSeconds` the real duration, no
 * API call counts (Step Functions does not report the handlers' calls).
 */
function recordFromSfnHistory(execution: DescribeExecutionOutput, events: HistoryEvent[]): ExecutionRecord {
  const ordered = [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const contexts = new Map<number, Context>();
  const steps: StepRecord[] = [];
  const open: OpenStep[] = [];
  let transitions = 0;
  let failure: ExecutionRecord['failure'] = null;
  let lastBlamed: StepRecord | undefined;
  let lastAt = execution.startDate?.getTime() ?? 0;

  const close = (entry: OpenStep, at: number, outcome: StepRecord['outcome']) => {
    const index = open.indexOf(entry);
    if (index >= 0) open.splice(index, 1);
    entry.step.end = at;
    entry.step.outcome = outcome;
    // Like the local recorder, a step that succeeded after retries keeps the error it retried.
    const error = entry.lastError ?? entry.retriedError;
    if (error) {
      entry.step.error = error.error;
      entry.step.cause = error.cause;
    }
    if (entry.lastError && entry.step.type === 'Task') lastBlamed = entry.step;
  };
  const lastOpen = (test: (entry: OpenStep) => boolean) => [...open].reverse().find(test);
  /** Closes what is still open inside a container that ends: states of branches that were aborted. */
  const closeInside = (container: StepRecord, at: number) => {
    for (const entry of open.filter((candidate) => candidate.step.parent === container.name)) {
      if (entry.step.type === 'Parallel' || entry.step.type === 'Map') closeInside(entry.step, at);
      close(entry, at, 'failed');
    }
  };

  for (const event of ordered) {
    const type = event.type ?? '';
    const at = event.timestamp?.getTime() ?? lastAt;
    lastAt = at;
    const id = event.id ?? 0;
    const before: Context = contexts.get(event.previousEventId ?? -1) ?? {};
    let here: Context = before;

    const entered = ENTERED.exec(type);
    const container = CONTAINER_EVENT.exec(type);
    if (entered) {
      const step: StepRecord = {
        name: event.stateEnteredEventDetails?.name ?? '?',
        type: entered[1],
        start: at,
        end: null,
        retries: 0,
        outcome: 'running',
        ...(before.index !== undefined ? { index: before.index } : {}),
        ...(before.parent !== undefined ? { parent: before.parent } : {}),
      };
      const entry: OpenStep = { step, attempts: 0 };
      steps.push(step);
      open.push(entry);
      transitions += 1;
      here = { parent: before.parent, index: before.index, owner: entry };
    } else if (container) {
      // Started follows the state's Entered event; Succeeded/Failed follow the last event of a branch or iteration.
      const owner =
        before.owner?.step.type === container[1]
          ? before.owner
          : lastOpen(
              (entry) =>
                entry.step.type === container[1] &&
                (before.parent === undefined || entry.step.name === before.parent),
            );
      if (container[2] === 'Started' && owner) here = { parent: owner.step.name, owner };
      else if (owner) {
        // ParallelStateFailed and MapStateFailed carry no error: it is the one of the branch step that failed.
        if (container[2] === 'Failed') owner.lastError = before.owner?.lastError ?? errorOf(event);
        here = { parent: owner.step.parent, index: owner.step.index, owner };
      }
    } else if (type === 'MapIterationStarted') {
      const details = event.mapIterationStartedEventDetails;
      here = { parent: details?.name ?? before.parent, index: details?.index, owner: undefined };
    } else if (ATTEMPT.has(type) && before.owner) {
      before.owner.attempts += 1;
      if (before.owner.attempts > 1) {
        before.owner.step.retries += 1;
        transitions += 1;
      }
    } else if (ATTEMPT_FAILED.has(type) && before.owner) {
      before.owner.lastError = errorOf(event);
      before.owner.retriedError = before.owner.lastError;
    } else if (ATTEMPT_SUCCEEDED.has(type) && before.owner) {
      before.owner.lastError = undefined;
    } else if (EXITED.test(type) || ABORTED.test(type)) {
      const name = event.stateExitedEventDetails?.name;
      const owner =
        before.owner && (name === undefined || before.owner.step.name === name)
          ? before.owner
          : lastOpen((entry) => entry.step.name === name);
      if (owner && open.includes(owner)) {
        closeInside(owner.step, at);
        const aborted = ABORTED.test(type);
        close(owner, at, aborted ? 'failed' : owner.lastError ? 'caught' : 'succeeded');
        // The state after this one is its sibling: same parent and iteration, no owner.
        here = { parent: owner.step.parent, index: owner.step.index };
      }
    } else if (type === 'ExecutionRedriven') {
      failure = null;
    } else if (EXECUTION_ENDED_BADLY.has(type)) {
      const { error, cause } = errorOf(event);
      // Blame a Task that failed without being caught, else the last Task whose failure was caught (the Fail
      // state that ended the run only reports it), else whatever was running.
      const uncaught = open.find((entry) => entry.lastError && entry.step.type === 'Task')?.step;
      const blamed = uncaught ?? lastBlamed ?? open.at(-1)?.step;
      failure = { state: blamed?.name ?? null, error, cause };
      for (const entry of [...open]) close(entry, at, 'failed');
    }
    contexts.set(id, here);
  }

  const status = statusOf(execution.status);
  const startDate = execution.startDate?.getTime() ?? ordered[0]?.timestamp?.getTime() ?? 0;
  const stopDate = status === 'RUNNING' ? null : (execution.stopDate?.getTime() ?? lastAt);
  if (status === 'FAILED' && !failure) {
    failure = {
      state: lastBlamed?.name ?? steps.at(-1)?.name ?? null,
      error: execution.error ?? execution.status ?? 'States.Runtime',
      cause: execution.cause ?? '',
    };
  }
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
    failure: status === 'FAILED' ? failure : null,
    steps,
    metrics: {
      historyEvents: events.length,
      stateTransitions: transitions,
      virtualSeconds: Math.round(((stopDate ?? lastAt) - startDate) / 1000),
      apiCalls: 0,
      apiCallsByOperation: {},
    },
  };
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
  const events: HistoryEvent[] = [];
  let lastId = 0;
  let resumeToken: string | undefined;
  const taker = {
    read(page: HistoryEvent[]) {
      for (const event of page) {
        if ((event.id ?? 0) <= lastId) continue;
        lastId = event.id ?? lastId;
        events.push(event);
      }
    },
  };
  return {
    async poll() {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      resumeToken = await readHistory(sfn, executionArn, taker, resumeToken);
      return recordFromSfnHistory(execution, events);
    },
  };
}

export { fetchExecutionHistory, recordFromSfnHistory, sfnExecutionSource };
