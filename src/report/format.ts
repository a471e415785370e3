import { kebab, operationOf } from '../core/catalogue.js';
import { type FailureCause, parseCause } from '../core/errors.js';
import type { ExecutionRecord } from '../core/execution-record.js';
import { taskFunction } from './machine.js';

/** `mm:ss` of a duration in ms. */
export function clock(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The failure of an execution, as an operator wants it: step, resource, id, AWS error, message, hint. */
export function describeFailure(failure: NonNullable<ExecutionRecord['failure']>): string[] {
  const cause = parseCause(failure.cause) ?? lambdaTimeoutCause(failure);
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

/**
 * A Lambda timeout as an operator wants it: Lambda's cause (`{"errorType":"Sandbox.Timedout","errorMessage":
 * "RequestId: <id> Error: Task timed out after 60.00 seconds"}`) names neither the function nor what to do, so the
 * function comes from the failed step's Task in the state machine, and the hint from what a timeout means here.
 */
function lambdaTimeoutCause(failure: NonNullable<ExecutionRecord['failure']>): FailureCause | null {
  const timedOut = /Task timed out after ([\d.]+) seconds/.exec(failure.cause);
  const fn = failure.state ? taskFunction(failure.state) : undefined;
  if (failure.error === 'States.Timeout' && fn) {
    // The state's own TimeoutSeconds (the function's timeout + 30 s, src/asl/dsl.ts): Lambda itself did not answer.
    return {
      resource: `Lambda function capideploy-${kebab(fn)}`,
      message: 'Lambda did not answer within the state timeout (the function timeout + 30 s)',
      hint: 'A Lambda service problem, not the function overrunning its own timeout (that is Sandbox.Timedout); not retried, since the invocation may still be running. Check the function in the Lambda console and the AWS Health Dashboard, then run create again to resume.',
    };
  }
  if (failure.error !== 'Sandbox.Timedout' && !timedOut) return null;
  const seconds = timedOut ? `${timedOut[1]} s` : 'its';
  return {
    resource: fn ? `Lambda function capideploy-${kebab(fn)}` : "the step's Lambda function",
    message: timedOut ? timedOut[0] : failure.cause,
    hint:
      `The function ran past its ${seconds} timeout (FUNCTION_TIMEOUT_SECONDS in src/core/catalogue.ts) and was ` +
      'retried once, unless it sends commands. What it did before stays done and the next run finds it: run create ' +
      'again to resume. If it times out again, the step does too much in one invocation for this deployment (a large ' +
      'fleet, a slow AWS API): split the work rather than raising the timeout.',
  };
}

/** How to go on from an execution that was stopped by a signal or whose process died. */
export function abortedLine(record: ExecutionRecord): string {
  const operation = operationOf(record.machine);
  return `execution ${record.execution} was aborted (interrupted, or its process died); run ${operation} again to resume`;
}
