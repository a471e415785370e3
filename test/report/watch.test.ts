import { describe, expect, it, vi } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { progressLines, watchExecution } from '../../src/report/watch.js';
import { failedCreate, runningCreate, succeededCreate, T0 } from './fixtures.js';

/** A source that returns these records in turn, then the last one forever. */
function fakeSource(records: ExecutionRecord[]) {
  let polls = 0;
  return {
    polls: () => polls,
    poll: async () => {
      polls += 1;
      return records[Math.min(polls - 1, records.length - 1)];
    },
  };
}

describe('progressLines', () => {
  it('shows steps done out of the total, what is running and the elapsed time', () => {
    // Act
    const lines = progressLines(runningCreate(98), { total: 30, now: T0 + 100_000 });

    // Assess
    expect(lines).toEqual([
      '… create-deployment sample: RUNNING, 16/30 steps done, elapsed 01:40',
      '  running: Wait for NAT gateway (×14)',
    ]);
  });

  it('shows how long a finished execution took and where to read its failure', () => {
    // Act
    const lines = progressLines(failedCreate(), { total: 30, now: T0 + 999_000 });

    // Assess
    expect(lines).toEqual([
      '✖ create-deployment sample: FAILED, 20/30 steps done, took 03:35',
      '  failed: CommandFailed (see capi-deploy history create-sample-20261124T010203Z)',
    ]);
  });
});

describe('watchExecution', () => {
  it('prints only the displays that changed when not on a terminal, and stops when the run ends', async () => {
    // Prepare
    const source = fakeSource([runningCreate(60), runningCreate(60), runningCreate(98), failedCreate()]);
    const written: string[] = [];
    const sleep = vi.fn(async () => undefined);
    let now = T0 + 60_000;

    // Act
    const final = await watchExecution(source, (text) => written.push(text), {
      intervalMs: 2000,
      total: 30,
      sleep,
      now: () => {
        now += 5000;
        return now;
      },
    });

    // Assess
    expect(final.status).toBe('FAILED');
    expect(source.polls()).toBe(4);
    expect(sleep).toHaveBeenCalledTimes(3);
    expect(sleep).toHaveBeenCalledWith(2000);
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(
      /^… create-deployment sample: RUNNING, \d+\/30 steps done, elapsed 01:05\n {2}running: /,
    );
    expect(written[1]).toContain('running: Wait for NAT gateway (×14)');
    expect(written[2]).toBe(
      '✖ create-deployment sample: FAILED, 20/30 steps done, took 03:35\n  failed: CommandFailed (see capi-deploy history create-sample-20261124T010203Z)\n',
    );
    expect(written.join('')).not.toContain('\x1b[');
  });

  it('redraws the display in place at every poll on a terminal', async () => {
    // Prepare
    const source = fakeSource([runningCreate(60), runningCreate(60), succeededCreate()]);
    const written: string[] = [];

    // Act
    await watchExecution(source, (text) => written.push(text), {
      intervalMs: 1000,
      tty: true,
      sleep: async () => undefined,
      now: () => T0 + 70_000,
    });

    // Assess
    expect(written).toHaveLength(3);
    expect(written[0].startsWith('\x1b[')).toBe(false);
    expect(written[1].startsWith('\x1b[2A\x1b[0J… create-deployment sample: RUNNING')).toBe(true);
    expect(written[2]).toBe(
      '\x1b[2A\x1b[0J✔ create-deployment sample: SUCCEEDED, 21 steps done, took 03:37\n',
    );
  });

  it('prints a finished execution once without waiting', async () => {
    // Prepare
    const source = fakeSource([succeededCreate()]);
    const written: string[] = [];
    const sleep = vi.fn(async () => undefined);

    // Act
    const final = await watchExecution(source, (text) => written.push(text), { intervalMs: 1000, sleep });

    // Assess
    expect(final.status).toBe('SUCCEEDED');
    expect(sleep).not.toHaveBeenCalled();
    expect(written).toEqual(['✔ create-deployment sample: SUCCEEDED, 21 steps done, took 03:37\n']);
  });
});
