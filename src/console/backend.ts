import type { ExecutionRecord } from '../core/execution-record.js';
import type { CostEstimate } from '../cost/estimate.js';

/**
 * What the console reads and does, in local mode (the state dir and the simulated account) or on AWS (Step
 * Functions with the caller's credentials). The routes only talk to this interface; each action is the operation
 * the CLI runs for the same command.
 */

/** One row of the deployments page, as `list` and `status` compute it. */
interface DeploymentRow {
  deployment: string;
  region: string | null;
  /** create / delete of the latest execution. */
  operation: 'create' | 'delete' | null;
  /** RUNNING, SUCCEEDED, FAILED, ABORTED (local), TIMED_OUT (AWS). */
  status: string | null;
  execution: string | null;
  /** null when the resources could not be (or are not yet) listed; see `note`. */
  resources: number | null;
  billed: number | null;
  hourlyUsd: number | null;
  note?: string;
}

/** One execution in a deployment's list. */
interface ExecutionItem {
  execution: string;
  operation: 'create' | 'delete';
  status: string;
  startDate: number | null;
  stopDate: number | null;
}

/** A deployment's page, beside its graph. */
interface DeploymentDetail {
  row: DeploymentRow;
  /** Newest first. */
  executions: ExecutionItem[];
  /** Resources with billed state and cost (src/cost), or null with `row.note`. */
  cost: CostEstimate | null;
}

/** What a create, resume or delete started. */
interface Started {
  execution: string;
  message: string;
}

/** A request the console refuses: the HTTP status and one line per problem (bad spec, busy state dir...). */
class ConsoleRefusal extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409,
    readonly problems: string[],
  ) {
    super(problems.join('\n'));
    this.name = 'ConsoleRefusal';
  }
}

interface ConsoleBackend {
  readonly mode: 'local' | 'aws';
  /** Whether create and delete may be started (AWS mode: only with --allow-changes). */
  readonly canChange: boolean;
  /** Whether a running execution can be stopped from here (local runs of this console). */
  readonly canStop: boolean;
  /** Where the state is: the state dir, or the stack. */
  readonly where: string;
  deployments(): Promise<DeploymentRow[]>;
  deployment(name: string): Promise<DeploymentDetail | null>;
  /** An execution by name, or the latest one of a deployment. */
  execution(name: string): Promise<ExecutionRecord | null>;
  /** Validates a spec (the same messages as `validate`) and starts its create. */
  create(specText: string, fileName: string): Promise<Started>;
  /** Creates a deployment again with its last spec: resumes a failed create. */
  resume(name: string): Promise<Started>;
  delete(name: string): Promise<Started>;
  stop(execution: string): Promise<void>;
  /** Called when a deployment's executions change (a run of this console started, stepped or ended). */
  onChange(listener: (deployment: string, execution: string) => void): void;
  close(): Promise<void>;
}

export type { ConsoleBackend, DeploymentDetail, DeploymentRow, ExecutionItem, Started };
export { ConsoleRefusal };
