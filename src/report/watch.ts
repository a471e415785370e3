import type { ExecutionRecord, StepRecord } from '../core/execution-record.js';
import { clock } from './format.js';

/**
 * `capi-deploy watch`: follows an execution until it ends with a small progress display (steps done / total,
 * the steps running now, elapsed time). On a terminal the display is redrawn in place at every poll; elsewhere
 * (a CI log, a pipe) a new display is printed only when something other than the elapsed time changed.
 */

/** Where the execution comes from: a local record file, or DescribeExecution + GetExecutionHistory. */
interface WatchSource {
  poll(): Promise<ExecutionRecord>;
}

interface WatchOptions {
  /** Time between polls. */
  intervalMs: number;
  /** Task states of a normal run (from the machine's ASL, see `loadMachineShape(...).tasks`). */
  total?: number;
  /** Redraw in place with ANSI cursor moves. @default false */
  tty?: boolean;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  /** Wall clock for the elapsed time of a running execution. @default Date.now */
  now?: () => number;
}

const MARK: Record<ExecutionRecord['status'], string> = {
  RUNNING: '…',
  SUCCEEDED: '✔',
  FAILED: '✖',
  ABORTED: '■',
};
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The steps running now, innermost first: a Parallel or Map only when none of its own steps is running. */
function runningSteps(record: ExecutionRecord): StepRecord[] {
  const running = record.steps.filter((step) => step.outcome === 'running');
  return running.filter(
    (step) =>
      !(
        (step.type === 'Parallel' || step.type === 'Map') &&
        running.some((child) => child.parent === step.name)
      ),
  );
}

/**
 * The progress display of an execution.
 * @param withElapsed false leaves the elapsed time out, to tell whether anything else changed
 */
function progressLines(
  record: ExecutionRecord,
  options: { total?: number; now: number; withElapsed?: boolean },
): string[] {
  const finished = new Set(
    record.steps
      .filter((step) => step.type === 'Task' && step.outcome !== 'running')
      .map((step) => step.name),
  );
  const done =
    options.total === undefined
      ? `${finished.size}`
      : `${Math.min(finished.size, options.total)}/${options.total}`;
  const end = record.stopDate ?? options.now;
  const elapsed =
    options.withElapsed === false
      ? ''
      : `, ${record.stopDate === null ? 'elapsed' : 'took'} ${clock(end - record.startDate)}`;
  const lines = [
    `${MARK[record.status]} ${record.machine} ${record.deployment}: ${record.status}, ${done} steps done${elapsed}`,
  ];
  if (record.status === 'RUNNING') {
    const visits = new Map<string, number>();
    for (const step of record.steps) visits.set(step.name, (visits.get(step.name) ?? 0) + 1);
    const current = runningSteps(record).map((step) => {
      const count = visits.get(step.name) ?? 1;
      const retries = step.retries > 0 ? `, retry ${step.retries}` : '';
      return count > 1 || retries ? `${step.name} (×${count}${retries})` : step.name;
    });
    lines.push(`  running: ${current.length > 0 ? current.join('; ') : '(between steps)'}`);
  } else if (record.failure) {
    lines.push(`  failed: ${record.failure.error} (see capi-deploy history ${record.execution})`);
  }
  return lines;
}

/**
 * Polls `source` every `intervalMs` and writes the progress display until the execution is no longer RUNNING.
 * @param write receives raw text (lines end with "\n"; on a TTY also cursor moves), e.g. `process.stdout.write`
 * @returns the final record
 */
async function watchExecution(
  source: WatchSource,
  write: (text: string) => void,
  options: WatchOptions,
): Promise<ExecutionRecord> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  let shown: string[] = [];
  let lastSignature = '';
  for (;;) {
    const record = await source.poll();
    const lines = progressLines(record, { total: options.total, now: now() });
    if (options.tty) {
      // Move up over the previous display and clear to the end of the screen, then draw the new one.
      write(`${shown.length > 0 ? `\x1b[${shown.length}A\x1b[0J` : ''}${lines.join('\n')}\n`);
      shown = lines;
    } else {
      const signature = progressLines(record, { total: options.total, now: 0, withElapsed: false }).join(
        '\n',
      );
      if (signature !== lastSignature) write(`${lines.join('\n')}\n`);
      lastSignature = signature;
    }
    if (record.status !== 'RUNNING') return record;
    await sleep(options.intervalMs);
  }
}

export type { WatchOptions, WatchSource };
export { progressLines, watchExecution };
