import { parseCause } from '../core/errors.js';
import type { ExecutionRecord } from '../core/execution-record.js';

/** `mm:ss` of a duration in ms. */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The failure of an execution, as an operator wants it: step, resource, id, AWS error, message, hint. */
export function describeFailure(failure: NonNullable<ExecutionRecord['failure']>): string[] {
  const cause = parseCause(failure.cause);
  const lines = [`✖ FAILED at step: ${failure.state ?? '(unknown step)'}`, `  error:    ${failure.error}`];
  if (!cause) return [...lines, `  cause:    ${failure.cause}`];
  lines.push(`  resource: ${cause.resource}`);
  if (cause.id) lines.push(`  id:       ${cause.id}`);
  if (cause.awsError) lines.push(`  AWS code: ${cause.awsError}`);
  lines.push(`  message:  ${cause.message}`, `  hint:     ${cause.hint}`);
  for (const [key, value] of Object.entries(cause.details ?? {})) {
    lines.push(`  ${`${key}:`.padEnd(9)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return lines;
}

/** How to go on from an execution that was stopped by a signal or whose process died. */
export function abortedLine(record: ExecutionRecord): string {
  const operation = record.machine === 'delete-deployment' ? 'delete' : 'create';
  return `execution ${record.execution} was aborted (interrupted, or its process died); run ${operation} again to resume`;
}
