/**
 * Retrying transient AWS failures outside the state machines: the CLI's own calls (the inventory after a run,
 * `status`, `list`) get the same policy the ASL gives every Task (`TRANSIENT_RETRIES` in src/asl/dsl.ts), so a
 * throttled account that a deployment survived does not crash the command that reports on it.
 *
 * Policy: retry an error named `Throttled` or `ServiceUnavailable` (the handlers' named errors,
 * src/core/errors.ts), or a raw AWS error whose code is a throttling or server-unavailable code (a call that did
 * not go through a handler's error mapping). Up to {@link RETRY_POLICY}.maxAttempts retries after the first call,
 * each after a full-jitter backoff: a uniform random delay in [0, min(maxMs, baseMs * backoffRate^n)) for the
 * n-th retry (n = 0, 1, ...), as Step Functions' `JitterStrategy: FULL`. Any other error, and the last
 * transient one, is thrown as it is.
 */

/** The ASL's transient retry, in milliseconds: IntervalSeconds 2, BackoffRate 2, MaxAttempts 6, MaxDelaySeconds 60. */
export const RETRY_POLICY = { maxAttempts: 6, baseMs: 2_000, backoffRate: 2, maxMs: 60_000 } as const;

/** Our named errors that mean "try again later" (the ASL's TRANSIENT_RETRIES ErrorEquals). */
export const TRANSIENT_ERROR_NAMES: ReadonlySet<string> = new Set(['Throttled', 'ServiceUnavailable']);

/** AWS error codes of throttling, across the services we call. */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

/** AWS error codes of a server-side failure worth retrying. */
export const SERVER_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'InternalServerError',
]);

export interface RetryOptions {
  /** Retries after the first call (the ASL's MaxAttempts). @default 6 */
  maxAttempts?: number;
  /** Cap of the first backoff. @default 2000 */
  baseMs?: number;
  /** Growth of the cap per retry. @default 2 */
  backoffRate?: number;
  /** Largest cap of any backoff. @default 60000 */
  maxMs?: number;
  /**
   * Waits between calls. @default setTimeout: in local mode it runs on the simulator's virtual clock (fake timers
   * are installed while `runInVirtualTime` runs), so retries there take no real time.
   */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform draw in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  /** Which errors are worth another call. @default {@link isTransient} */
  retryable?: (error: unknown) => boolean;
}

/** True for a throttling or server-unavailable error, named by us or by AWS. */
export function isTransient(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { name, Code, code } = error as { name?: unknown; Code?: unknown; code?: unknown };
  const codes = [name, Code, code].filter((value): value is string => typeof value === 'string');
  const known = (value: string) =>
    TRANSIENT_ERROR_NAMES.has(value) || THROTTLING_CODES.has(value) || SERVER_CODES.has(value);
  // The SDK marks the throttling errors it knows, whatever their code.
  return (
    codes.some(known) || (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true
  );
}

/** The cap of the n-th backoff (n = 0 for the first retry), before jitter. */
export function backoffCapMs(retry: number, options: RetryOptions = {}): number {
  const base = options.baseMs ?? RETRY_POLICY.baseMs;
  const rate = options.backoffRate ?? RETRY_POLICY.backoffRate;
  const max = options.maxMs ?? RETRY_POLICY.maxMs;
  return Math.min(max, base * rate ** retry);
}

const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `fn`, retrying transient failures with full-jitter exponential backoff (see the policy above). */
export async function retryThrottled<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? RETRY_POLICY.maxAttempts;
  const sleep = options.sleep ?? timerSleep;
  const random = options.random ?? Math.random;
  const retryable = options.retryable ?? isTransient;
  for (let retry = 0; ; retry++) {
    try {
      return await fn();
    } catch (error) {
      if (retry >= maxAttempts || !retryable(error)) throw error;
      await sleep(Math.floor(random() * backoffCapMs(retry, options)));
    }
  }
}
