import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessDenied, ServiceUnavailable, Throttled } from '../../src/core/errors.js';
import { backoffCapMs, isTransient, RETRY_POLICY, retryThrottled } from '../../src/core/retry.js';

/** The CLI's retry of transient AWS failures (src/core/retry.ts), mirroring the ASL's TRANSIENT_RETRIES. */

const cause = { resource: 'inventory', message: 'Request limit exceeded.', hint: 'retry' };
const awsCode = (code: string) => Object.assign(new Error(code), { name: code });

/** A function failing with `errors` in turn, then answering 'done'. */
function failing(...errors: unknown[]) {
  return vi.fn(async () => {
    const error = errors.shift();
    if (error) throw error;
    return 'done';
  });
}

describe('retryThrottled', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries Throttled and ServiceUnavailable until the call succeeds', async () => {
    // Arrange
    const fn = failing(new Throttled(cause), new ServiceUnavailable(cause));
    const sleep = vi.fn(async (_ms: number) => {});
    // Act
    const result = await retryThrottled(fn, { sleep, random: () => 0.5 });
    // Assert
    expect(result).toBe('done');
    expect(fn).toHaveBeenCalledTimes(3);
    expect(sleep.mock.calls).toEqual([[1000], [2000]]);
  });

  it('mirrors the ASL: 6 retries after the first call, caps 2 s x2 up to 60 s, full jitter', async () => {
    // Arrange
    const fn = vi.fn(async () => {
      throw new Throttled(cause);
    });
    const sleep = vi.fn(async (_ms: number) => {});
    // Act
    const result = retryThrottled(fn, { sleep, random: () => 0.999999 });
    // Assert
    await expect(result).rejects.toBeInstanceOf(Throttled);
    expect(fn).toHaveBeenCalledTimes(1 + RETRY_POLICY.maxAttempts);
    expect(sleep.mock.calls.map(([ms]) => Math.round(ms / 1000))).toEqual([2, 4, 8, 16, 32, 60]);
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffCapMs(n))).toEqual([2000, 4000, 8000, 16000, 32000, 60000]);
  });

  it('a jitter draw of 0 waits 0 ms', async () => {
    const sleep = vi.fn(async (_ms: number) => {});
    await retryThrottled(failing(awsCode('RequestLimitExceeded')), { sleep, random: () => 0 });
    expect(sleep.mock.calls).toEqual([[0]]);
  });

  it('throws any other error at once', async () => {
    // Arrange
    const denied = new AccessDenied(cause);
    const fn = failing(denied);
    const sleep = vi.fn(async (_ms: number) => {});
    // Act / Assert
    await expect(retryThrottled(fn, { sleep })).rejects.toBe(denied);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('honours maxAttempts, baseMs and maxMs', async () => {
    // Arrange
    const fn = vi.fn(async () => {
      throw awsCode('ThrottlingException');
    });
    const sleep = vi.fn(async (_ms: number) => {});
    // Act
    const result = retryThrottled(fn, {
      maxAttempts: 3,
      baseMs: 100,
      maxMs: 300,
      sleep,
      random: () => 0.999999,
    });
    // Assert
    await expect(result).rejects.toThrow('ThrottlingException');
    expect(fn).toHaveBeenCalledTimes(4);
    expect(sleep.mock.calls.map(([ms]) => Math.round(ms / 100) * 100)).toEqual([100, 200, 300]);
  });

  it('sleeps with setTimeout by default, so fake (virtual) timers drive it', async () => {
    // Arrange
    vi.useFakeTimers();
    const fn = failing(new Throttled(cause), new Throttled(cause));
    // Act
    const result = retryThrottled(fn, { random: () => 0.5 });
    await vi.advanceTimersByTimeAsync(999);
    const callsBeforeFirstDelay = fn.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1 + 2000);
    // Assert
    expect(callsBeforeFirstDelay).toBe(1);
    await expect(result).resolves.toBe('done');
    expect(fn).toHaveBeenCalledTimes(3);
  });
});

describe('isTransient', () => {
  it.each([
    ['Throttled', new Throttled(cause)],
    ['ServiceUnavailable', new ServiceUnavailable(cause)],
    ['RequestLimitExceeded', awsCode('RequestLimitExceeded')],
    ['Throttling', awsCode('Throttling')],
    ['ThrottlingException', awsCode('ThrottlingException')],
    ['TooManyRequestsException', awsCode('TooManyRequestsException')],
    ['InternalError', awsCode('InternalError')],
    ['an SDK-marked throttling error', Object.assign(new Error('x'), { $retryable: { throttling: true } })],
  ])('retries %s', (_label, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each([
    ['AccessDenied', new AccessDenied(cause)],
    ['InvalidParameterValue', awsCode('InvalidParameterValue')],
    ['a plain Error', new Error('boom')],
    ['a string', 'Throttled'],
    ['undefined', undefined],
  ])('does not retry %s', (_label, error) => {
    expect(isTransient(error)).toBe(false);
  });
});
