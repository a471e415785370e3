import FakeTimers from '@sinonjs/fake-timers';

const REAL_IO = /^(FSReq|FileHandle|GetAddrInfo|TCPConnect|Zlib|StatWatcher)/;

/**
 * Runs `work` under a virtual clock: `setTimeout`, `setInterval` and `Date` are faked, so ASL `Wait` states,
 * `Retry` intervals, SDK retry backoff and the simulator's own timestamps all move in virtual time.
 * Time jumps to the next timer only when everything else is idle (a real `setImmediate` turn has passed),
 * so a handler's promise chain always finishes before the clock moves on.
 */
export async function runInVirtualTime<T>(
  startMs: number,
  work: () => Promise<T>,
): Promise<{ result: T; virtualMs: number; endMs: number }> {
  const clock = FakeTimers.install({
    now: startMs,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    loopLimit: 10_000_000,
  });
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  // Real I/O in flight (a module import, the SDK reading ~/.aws/config) can span many event-loop turns; moving the
  // clock meanwhile would fire far-away timers (the execution's own timeout) before the handler is done.
  const idle = async () => {
    await turn();
    while (process.getActiveResourcesInfo().some((resource) => REAL_IO.test(resource))) await turn();
  };
  try {
    let settled = false;
    const outcome = work().finally(() => {
      settled = true;
    });
    outcome.catch(() => undefined);
    while (!settled) {
      await idle();
      if (settled) break;
      if (clock.countTimers() > 0) await clock.nextAsync();
    }
    const result = await outcome;
    return { result, virtualMs: clock.now - startMs, endMs: clock.now };
  } finally {
    clock.uninstall();
  }
}
