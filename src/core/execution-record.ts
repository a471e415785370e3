/**
 * The execution history we keep for every run, local or AWS: one entry per state visit, with timing, retries and
 * outcome. The renderer, the report and the benchmark all read this shape.
 */
export interface StepRecord {
  /** State name, e.g. "Create NAT gateway". */
  name: string;
  type: string;
  /** Epoch ms (virtual time in local mode). */
  start: number;
  end: number | null;
  retries: number;
  outcome: 'succeeded' | 'failed' | 'caught' | 'running';
  error?: string;
  cause?: string;
  /** Map iteration index, when the step ran inside a Map. */
  index?: number;
  /** Name of the enclosing Parallel or Map state, when there is one. */
  parent?: string;
  /**
   * The JSON log lines its Lambda runs wrote (Powertools Logger, `timestamp` in virtual time in local mode), every
   * attempt's in order. Local mode only: on AWS they are in the function's log group.
   */
  logs?: string[];
  /**
   * A Task's input and output as the state received and passed them (local mode), for the console's state panel; a
   * value over {@link STEP_DATA_LIMIT} characters of JSON is kept as the start of its text.
   */
  input?: unknown;
  output?: unknown;
}

/** How much of a Task's input or output a record keeps (records stay small for a 1,000-node fleet). */
export const STEP_DATA_LIMIT = 2048;

/** A value as a record keeps it: itself, or the start of its JSON text when it is long. */
export function clipStepData(value: unknown): unknown {
  const text = JSON.stringify(value ?? null);
  return text.length <= STEP_DATA_LIMIT
    ? value
    : `${text.slice(0, STEP_DATA_LIMIT)}… (${text.length} characters, cut)`;
}

export interface ExecutionMetrics {
  /** What Step Functions would record for this run: the Standard-workflow history event count. */
  historyEvents: number;
  stateTransitions: number;
  virtualSeconds: number;
  apiCalls: number;
  apiCallsByOperation: Record<string, number>;
}

/** The process that runs a local execution, so a reader can tell a live run from one whose process died. */
export interface ExecutionOwner {
  pid: number;
  host: string;
  /** Wall-clock epoch ms of the owner's last write of the record. */
  heartbeat: number;
}

export interface ExecutionRecord {
  execution: string;
  machine: string;
  deployment: string;
  mode: 'local' | 'aws';
  /** ABORTED: stopped by a signal, or its process died (Step Functions' word for a stopped execution). */
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: number;
  stopDate: number | null;
  output: unknown;
  failure: { state: string | null; error: string; cause: string } | null;
  steps: StepRecord[];
  metrics: ExecutionMetrics;
  /** Local mode: who runs it. */
  owner?: ExecutionOwner;
}

type Failure = NonNullable<ExecutionRecord['failure']>;

/**
 * A local execution's name: `create-sample-20261124T010203Z`, with `-2`, `-3`... when two started in the same
 * second. Groups: operation, deployment, stamp, number. A deployment name has no capital letter, so the stamp
 * always tells where it ends.
 */
export const LOCAL_EXECUTION_NAME =
  /^(images-create|images-delete|create|delete|stop|start)-([a-z0-9-]+)-(\d{8}T\d{6}Z)(?:-(\d+))?$/;

/** The last item that passes `test`. */
export const lastOf = <T>(items: T[], test: (item: T) => boolean): T | undefined => {
  for (let i = items.length - 1; i >= 0; i -= 1) if (test(items[i])) return items[i];
  return undefined;
};

/**
 * THE step to blame for a failure, for local and AWS records alike, so `create`, `--json`, `history`, `watch`, the
 * report and the API name the same step. The execution's error is often reported by a Fail state or a Parallel
 * after a Catch, and the sibling branches of a failed one end aborted: so the Task whose own error and cause are
 * the execution's wins, then the step the failure names, then the last Task that failed or was caught.
 */
export function blameStep(steps: StepRecord[], failure: Failure): StepRecord | undefined {
  const { error, cause, state } = failure;
  const broken = steps.filter(
    (step) => step.type === 'Task' && (step.outcome === 'failed' || step.outcome === 'caught'),
  );
  return (
    lastOf(broken, (step) => step.error === error && step.cause === cause) ??
    lastOf(broken, (step) => step.error === error) ??
    lastOf(steps, (step) => step.name === state && step.outcome !== 'succeeded') ??
    lastOf(steps, (step) => step.name === state) ??
    broken.at(-1)
  );
}

/** A failure whose `state` is the blamed step's. */
export function blamed(steps: StepRecord[], failure: Failure): Failure {
  return { ...failure, state: blameStep(steps, failure)?.name ?? failure.state };
}
