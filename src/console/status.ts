import { blameStep, type ExecutionRecord, type StepRecord } from '../core/execution-record.js';
import { describeFailure } from '../report/format.js';
import { duration } from '../report/history.js';

/**
 * What the graph colours and what the state panel shows, from an execution record (local or AWS, the same shape
 * `history` prints). A state visited many times (a poll loop, a Map's iterations) gets one status: the worst of its
 * visits, a run in progress first.
 */

/** A state's colour. `cancelled`: stopped because a sibling branch failed (no error of its own). */
type StateStatus = 'running' | 'succeeded' | 'retried' | 'caught' | 'failed' | 'cancelled';

/** The live view of an execution that the page redraws: small, whatever the size of the history. */
interface ExecutionView {
  execution: string;
  machine: string;
  deployment: string;
  status: ExecutionRecord['status'];
  mode: ExecutionRecord['mode'];
  startDate: number;
  stopDate: number | null;
  /** State name → status; a state never entered is absent (not started). */
  states: Record<string, StateStatus>;
  /** The state to look at when the execution failed (the same rule as `history`). */
  blamed: string | null;
  /** The failure as `history` prints it, secrets removed. */
  failure: string[] | null;
  steps: number;
  historyEvents: number;
}

/** One visit of a state, as the state panel lists it. */
interface VisitView {
  start: number;
  took: string;
  outcome: StepRecord['outcome'];
  retries: number;
  index?: number;
  error?: string;
}

/** What the panel shows when a state is selected. */
interface StateView {
  name: string;
  type: string;
  status: StateStatus | 'not-started';
  visits: number;
  retries: number;
  /** The failure or caught error of the latest visit that had one, as `history` prints it. */
  failure: string[] | null;
  /** At most the first and last 25 visits. */
  visitList: VisitView[];
  omittedVisits: number;
  /** The latest visit's input and output (a Task's, as recorded), else the execution's at its first or last state. */
  input: unknown;
  output: unknown;
}

const RANK: Record<StateStatus, number> = {
  succeeded: 0,
  retried: 1,
  cancelled: 2,
  caught: 3,
  failed: 4,
  running: 5,
};

function visitStatus(step: StepRecord): StateStatus {
  if (step.outcome === 'running') return 'running';
  if (step.outcome === 'failed') return step.error === undefined ? 'cancelled' : 'failed';
  if (step.outcome === 'caught') return 'caught';
  return step.retries > 0 ? 'retried' : 'succeeded';
}

/** Keys whose values are never shown: secrets, passwords, tokens, credentials and STS external ids. */
const SECRET_KEY = /secret|password|passwd|token|credential|external.?id|private.?key|session/i;
/** The same, inside text (`"ExternalId":"abc"`, `externalId=abc`, `password: abc`). */
const SECRET_IN_TEXT =
  /((?:secret|password|passwd|token|credential|external.?id|private.?key)[\w-]*["']?\s*[:=]\s*["']?)([^\s"',}]+)/gi;

/** A value with every secret-looking field and assignment replaced by `«hidden»`. */
function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(SECRET_IN_TEXT, '$1«hidden»');
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, SECRET_KEY.test(key) ? '«hidden»' : redact(item)]),
    );
  }
  return value;
}

const failureLines = (state: string | null, error: string, cause: string): string[] =>
  describeFailure({ state, error, cause: String(redact(cause)) }).map((line) => String(redact(line)));

/** The live view of a record. */
function executionView(record: ExecutionRecord): ExecutionView {
  const states: Record<string, StateStatus> = {};
  for (const step of record.steps) {
    const status = visitStatus(step);
    const known = states[step.name];
    if (known === undefined || RANK[status] > RANK[known]) states[step.name] = status;
  }
  const blamed = record.failure
    ? (blameStep(record.steps, record.failure)?.name ?? record.failure.state)
    : null;
  // The step the execution failed for is failed, even when its error was caught on the way to a Fail state.
  if (blamed && record.status !== 'RUNNING') states[blamed] = 'failed';
  return {
    execution: record.execution,
    machine: record.machine,
    deployment: record.deployment,
    status: record.status,
    mode: record.mode,
    startDate: record.startDate,
    stopDate: record.stopDate,
    states,
    blamed,
    failure: record.failure ? failureLines(blamed, record.failure.error, record.failure.cause) : null,
    steps: record.steps.length,
    historyEvents: record.metrics.historyEvents,
  };
}

const VISITS_SHOWN = 25;

function visitOf(step: StepRecord): VisitView {
  return {
    start: step.start,
    took: step.end === null ? 'running' : duration(step.end - step.start),
    outcome: step.outcome,
    retries: step.retries,
    ...(step.index !== undefined ? { index: step.index } : {}),
    ...(step.error !== undefined ? { error: step.error } : {}),
  };
}

/** The panel of one state of a record. */
function stateView(record: ExecutionRecord, name: string, type = 'Task'): StateView {
  const visits = record.steps.filter((step) => step.name === name);
  const view = executionView(record);
  const broken = [...visits].reverse().find((step) => step.error !== undefined);
  const shown =
    visits.length > 2 * VISITS_SHOWN
      ? [...visits.slice(0, VISITS_SHOWN), ...visits.slice(-VISITS_SHOWN)]
      : visits;
  const first = record.steps[0]?.name === name;
  const last = record.status === 'SUCCEEDED' && record.steps.at(-1)?.name === name;
  const input = (record as { input?: unknown }).input;
  const latest = visits.at(-1);
  const stepInput = latest?.input ?? (first ? input : undefined);
  const stepOutput = latest?.output ?? (last ? record.output : undefined);
  return {
    name,
    type: visits[0]?.type ?? type,
    status: view.states[name] ?? 'not-started',
    visits: visits.length,
    retries: visits.reduce((sum, step) => sum + step.retries, 0),
    failure: broken ? failureLines(name, broken.error ?? '', broken.cause ?? '') : null,
    visitList: shown.map(visitOf),
    omittedVisits: visits.length - shown.length,
    input: stepInput !== undefined ? redact(stepInput) : null,
    output: stepOutput !== undefined ? redact(stepOutput) : null,
  };
}

export type { ExecutionView, StateStatus, StateView, VisitView };
export { executionView, redact, stateView };
