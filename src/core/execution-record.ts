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
}

export interface ExecutionMetrics {
  /** What Step Functions would record for this run: the Standard-workflow history event count. */
  historyEvents: number;
  stateTransitions: number;
  virtualSeconds: number;
  apiCalls: number;
  apiCallsByOperation: Record<string, number>;
}

export interface ExecutionRecord {
  execution: string;
  machine: string;
  deployment: string;
  mode: 'local' | 'aws';
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startDate: number;
  stopDate: number | null;
  output: unknown;
  failure: { state: string | null; error: string; cause: string } | null;
  steps: StepRecord[];
  metrics: ExecutionMetrics;
}
