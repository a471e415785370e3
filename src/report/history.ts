import type { ExecutionRecord } from '../core/execution-record.js';
import { abortedLine, clock, describeFailure } from './format.js';
import { logEntriesOf, logText } from './log-lines.js';
import { loadMachineShape, type MachineShape } from './machine.js';
import {
  blameStep,
  buildRows,
  endOfRecord,
  flattenRows,
  healthResults,
  type NodeResult,
  type Row,
  type RowOutcome,
} from './rows.js';

/**
 * `capi-deploy history`: an execution's steps as text, the same for a local run and an AWS run. The failure comes
 * first (step, resource, id, AWS error code, message, hint), then one line per step in order with its offset from
 * the start, duration, outcome and retries. Poll loops take one line, branch steps are indented under their
 * Parallel, and a batch step's per-node results follow its line.
 */

interface HistoryOptions {
  /** Color marks and the failure with ANSI codes (for a TTY). @default false */
  color?: boolean;
  /**
   * Lanes and poll loops of the machine. @default read from `statemachines/<record.machine>.asl.json` when it
   * exists; `null` finds loops from the steps alone.
   */
  shape?: MachineShape | null;
  /** Under each step, the log lines its Lambda runs wrote (`--logs`; local mode records them). @default false */
  logs?: boolean;
}

const MARK: Record<RowOutcome, string> = {
  succeeded: '✔',
  retried: '✔',
  caught: '↷',
  failed: '✖',
  running: '…',
};

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
type Paint = (color: keyof typeof ANSI, value: string) => string;
const COLOR_OF: Record<RowOutcome, keyof typeof ANSI> = {
  succeeded: 'green',
  retried: 'yellow',
  caught: 'yellow',
  failed: 'red',
  running: 'cyan',
};

/** A duration for people: `0.4 s`, `12 s`, `120 s`, `17m 05s`, `1h 02m`. */
function duration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 600) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

const retriesText = (retries: number) =>
  retries > 0 ? `(${retries} ${retries === 1 ? 'retry' : 'retries'})` : '';

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The shape to use: the caller's, or the one of the record's machine when its ASL file is here. */
function shapeFor(record: ExecutionRecord, options: HistoryOptions): MachineShape | null {
  return options.shape === undefined ? loadMachineShape(record.machine) : options.shape;
}

function headerLines(record: ExecutionRecord): string[] {
  const m = record.metrics;
  const end = endOfRecord(record);
  const took =
    record.stopDate === null
      ? `running for ${duration(end - record.startDate)}`
      : `took ${duration(end - record.startDate)}`;
  const time = record.mode === 'local' ? 'virtual time' : 'wall time';
  const calls = record.mode === 'local' ? `, ${m.apiCalls} AWS API calls` : '';
  return [
    `${record.machine} ${record.deployment}: ${record.status} (execution ${record.execution}, ${record.mode} mode)`,
    `  started ${iso(record.startDate)}, ${took} (${time}); ${m.stateTransitions} state transitions, ${m.historyEvents} history events${calls}`,
    ...(record.status === 'ABORTED' ? [`  ${abortedLine(record)}`] : []),
  ];
}

function nodeLines(nodes: NodeResult[], indent: string, paint: Paint): string[] {
  return nodes.map((result) => {
    const mark = result.ok ? paint('green', '✔') : paint('red', '✖');
    return `${indent}${mark} ${result.node}${result.text ? `  ${result.text}` : ''}`;
  });
}

function rowLines(row: Row, depth: number, startMs: number, paint: Paint, logs = false): string[] {
  const offset = `+${clock(row.start - startMs)}`;
  const took = row.end === null ? 'running' : duration(row.end - row.start);
  const mark = paint(COLOR_OF[row.outcome], MARK[row.outcome]);
  const indent = '│ '.repeat(depth);
  const label = row.outcome === 'failed' ? paint('red', row.label) : row.label;
  const retried =
    row.outcome === 'retried' && row.error ? `${retriesText(row.retries).slice(0, -1)}: ${row.error})` : '';
  const extras = [
    retried || retriesText(row.retries),
    row.outcome === 'caught' && row.error ? `caught ${row.error}` : '',
    row.outcome === 'failed' && row.error ? row.error : '',
    row.blamed ? paint('red', '◀ failed step') : '',
  ].filter(Boolean);
  const line = `  ${paint('dim', offset.padStart(7))}  ${took.padStart(8)}  ${mark} ${indent}${label}${extras.length ? `  ${extras.join('  ')}` : ''}`;
  // A Fail state repeats the cause of the step it reports: its nodes are already under that step.
  const nodes = row.type === 'Fail' ? [] : row.nodes;
  const logLines = logs
    ? logEntriesOf(row.steps).map((entry) => {
        const text = `${' '.repeat(23)}${indent}  ${logText(entry)}`;
        return entry.level === 'ERROR' || entry.level === 'CRITICAL'
          ? paint('red', text)
          : paint('dim', text);
      })
    : [];
  return [line, ...nodeLines(nodes, `${' '.repeat(23)}${indent}  `, paint), ...logLines];
}

const painter = (color: boolean | undefined): Paint =>
  color ? (name, value) => `\x1b[${ANSI[name]}m${value}\x1b[0m` : (_, value) => value;

/**
 * The failure of an execution as an operator reads it first: the step to blame (see blameStep), its resource, id,
 * AWS error code, message, hint and details, and when it happened. Empty when the execution did not fail.
 */
function failureLines(record: ExecutionRecord, color = false): string[] {
  if (!record.failure) return [];
  const paint = painter(color);
  const blamed = blameStep(record);
  const [first, ...rest] = describeFailure({
    ...record.failure,
    state: blamed?.name ?? record.failure.state,
  });
  const lines = [paint('red', first), ...rest];
  if (blamed) {
    const retries = blamed.retries > 0 ? `, after ${retriesText(blamed.retries).slice(1, -1)}` : '';
    lines.push(`  at:       +${clock(blamed.start - record.startDate)} into the execution${retries}`);
  }
  return lines;
}

/**
 * Renders an execution's history as lines of text: the failure first, then the steps.
 * @param record a local or AWS execution (see src/core/history.ts for AWS)
 * @example renderHistory(loadExecution(stateDir, 'sample')!).forEach((line) => console.log(line))
 */
function renderHistory(record: ExecutionRecord, options: HistoryOptions = {}): string[] {
  const paint = painter(options.color);
  const lines: string[] = [];
  if (record.failure) lines.push(...failureLines(record, options.color), '');
  lines.push(...headerLines(record), '');
  const rows = flattenRows(buildRows(record, shapeFor(record, options)));
  if (rows.length === 0) lines.push('  (no steps recorded)');
  else lines.push(paint('dim', `  ${'offset'.padStart(7)}  ${'duration'.padStart(8)}  step`));
  for (const { row, depth } of rows) {
    lines.push(...rowLines(row, depth, record.startDate, paint, options.logs));
  }
  if (options.logs && !record.steps.some((step) => step.logs?.length)) {
    lines.push(
      '',
      `  (no log lines recorded: ${record.mode === 'aws' ? "on AWS they are in each function's log group" : 'a run from before they were recorded'})`,
    );
  }
  const health = healthResults(record.output);
  if (health.length > 0) lines.push('', 'health checks:', ...nodeLines(health, '  ', paint));
  return lines;
}

export type { HistoryOptions };
export { duration, failureLines, renderHistory };
