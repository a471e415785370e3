import type { StepRecord } from '../core/execution-record.js';

/**
 * The log lines a step's Lambda runs wrote (local mode keeps them in the execution record, see
 * `StepRecord.logs`), made readable: `19:23:49.171 INFO  step started  action ensure`. The keys every line carries
 * (function, request id, correlation keys) are left out: the step they sit under already says them.
 */

export interface LogEntry {
  /** Epoch ms of the line's `timestamp` (virtual time in local mode); NaN when it has none. */
  time: number;
  level: string;
  message: string;
  /** The line's own keys, as `key value` pairs. */
  extras: string;
}

/** Keys Powertools adds to every line of an invocation, and the correlation keys. */
const COMMON_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
  'function',
  'deployment',
  'execution',
  'state',
  'handler',
]);

const valueText = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** One JSON log line as an entry; a line that is not JSON is its own message. */
export function parseLogLine(line: string): LogEntry {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { time: Number.NaN, level: 'INFO', message: line, extras: '' };
  }
  if (!parsed || typeof parsed !== 'object')
    return { time: Number.NaN, level: 'INFO', message: line, extras: '' };
  const emf = parsed._aws as
    | { Timestamp?: number; CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] }
    | undefined;
  if (emf) {
    const names = (emf.CloudWatchMetrics ?? [])
      .flatMap((entry) => entry.Metrics ?? [])
      .map((metric) => metric.Name);
    return {
      time: Number(emf.Timestamp ?? Number.NaN),
      level: 'METRIC',
      message: 'metrics',
      extras: names.map((name) => `${name} ${valueText(parsed[name])}`).join(', '),
    };
  }
  const extras = Object.entries(parsed)
    .filter(([key]) => !COMMON_KEYS.has(key))
    .map(([key, value]) => `${key} ${valueText(value)}`)
    .join(', ');
  return {
    time: Date.parse(String(parsed.timestamp ?? '')),
    level: String(parsed.level ?? 'INFO'),
    message: String(parsed.message ?? ''),
    extras,
  };
}

/** `19:23:49.171` (UTC), or blanks for a line without a time. */
export function logClock(time: number): string {
  return Number.isNaN(time) ? ' '.repeat(12) : new Date(time).toISOString().slice(11, 23);
}

/** Every log entry of some steps, in order. */
export const logEntriesOf = (steps: StepRecord[]): LogEntry[] =>
  steps.flatMap((step) => (step.logs ?? []).map(parseLogLine));

/** One entry as a line of text. */
export const logText = (entry: LogEntry) =>
  `${logClock(entry.time)} ${entry.level.padEnd(6)} ${entry.message}${entry.extras ? `  ${entry.extras}` : ''}`;
