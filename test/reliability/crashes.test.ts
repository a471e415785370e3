import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BIG,
  cli,
  newStateDir,
  resourceCounts,
  seededDelays,
  specFile,
  start,
  untilRunning,
} from './harness.js';

/**
 * A run killed or interrupted anywhere leaves exactly what it had created (as on AWS, where a created resource
 * exists whatever happens to its caller), and `create` again resumes it to a clean run's result.
 */

const KILL_SEED = Number(process.env.CAPI_KILL_SEED ?? 20261129);
let clean: Record<string, number>;
let spec: string;

beforeAll(() => {
  const stateDir = newStateDir();
  spec = specFile(stateDir, BIG);
  expect(cli(['create', spec], stateDir).status).toBe(0);
  clean = resourceCounts(stateDir);
}, 120_000);

const latestRecord = (stateDir: string) => JSON.parse(cli(['history', 'sample', '--json'], stateDir).stdout);

describe(`SIGKILL at seeded points of a create (seed ${KILL_SEED})`, () => {
  it.each(seededDelays(KILL_SEED, 3, 2500).map((delay, index) => [index + 1, delay]))(
    'kill %i, %i ms into the run: nothing lost, the record says ABORTED, create again converges',
    async (_, delay) => {
      // Prepare
      const stateDir = newStateDir();
      const run = start(['create', spec], stateDir);
      await untilRunning(stateDir);
      await new Promise((resolve) => setTimeout(resolve, delay));

      // Act
      run.child.kill('SIGKILL');
      await run.done;

      // Assess: what the dead run made is listed, its record is ABORTED (or done, if the kill came at its end)
      expect(Object.values(resourceCounts(stateDir)).reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
      expect(['ABORTED', 'SUCCEEDED']).toContain(latestRecord(stateDir).status);
      const resumed = cli(['create', spec], stateDir);
      expect(resumed.stderr).toBe('');
      expect(resumed.status).toBe(0);
      expect(resourceCounts(stateDir)).toEqual(clean);
    },
    120_000,
  );
});

describe('SIGINT and SIGTERM', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stops the run at its next state, saves, says how to resume and exits %i',
    async (signal, code) => {
      // Prepare
      const stateDir = newStateDir();
      const run = start(['create', spec], stateDir);
      await untilRunning(stateDir);
      await new Promise((resolve) => setTimeout(resolve, 600));

      // Act
      run.child.kill(signal);
      const result = await run.done;

      // Assess
      expect(result.status).toBe(code);
      expect(result.stderr.trim()).toBe(`interrupted by ${signal}; run create again to resume`);
      expect(latestRecord(stateDir).status).toBe('ABORTED');
      expect(readdirLock(stateDir)).toBe(false);
      expect(cli(['create', spec], stateDir).status).toBe(0);
      expect(resourceCounts(stateDir)).toEqual(clean);
    },
    120_000,
  );
});

describe('watch', () => {
  it('stops following a run whose process died, and says how to resume', async () => {
    // Prepare: a run killed mid-way
    const stateDir = newStateDir();
    const run = start(['create', spec], stateDir);
    await untilRunning(stateDir);
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.child.kill('SIGKILL');
    await run.done;

    // Act
    const watched = cli(['watch', 'sample', '--poll-seconds', '1'], stateDir);

    // Assess
    expect(watched.status).toBe(1);
    expect(watched.stdout).toMatch(/was aborted .*; run create again to resume/);
  }, 60_000);
});

function readdirLock(stateDir: string): boolean {
  try {
    readFileSync(join(stateDir, 'lock'));
    return true;
  } catch {
    return false;
  }
}
