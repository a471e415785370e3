import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/core/execution-record.js';
import { renderHistory } from '../../src/report/history.js';
import { inventory, newStateDir, run } from './harness.js';

/**
 * Time in local mode (issue 14): every simulated AWS call takes virtual time (src/sim/latency.ts), so steps have
 * durations that add up to the makespan; and each function's configured timeout (FUNCTION_TIMEOUT_SECONDS) is
 * enforced in virtual time, an overrun failing the step as Lambda does (`Sandbox.Timedout`).
 */

const seconds = (step: StepRecord) => ((step.end ?? step.start) - step.start) / 1000;

describe('step durations', () => {
  it('gives every Lambda step a duration, and the sequential steps add up to the makespan', async () => {
    // Act
    const record = await run(newStateDir(), 'create-deployment');
    // Assert
    expect(record.status).toBe('SUCCEEDED');
    const tasks = record.steps.filter((step) => step.type === 'Task');
    expect(tasks.length).toBeGreaterThan(20);
    for (const step of tasks) expect(seconds(step), step.name).toBeGreaterThan(0);
    // Top-level steps run one after another (a Parallel holds its branches' overlap): their durations add up to
    // the execution's, but for the instants between two states.
    const makespan = (record.stopDate! - record.startDate) / 1000;
    const sequential = record.steps
      .filter((step) => step.parent === undefined)
      .reduce((sum, step) => sum + seconds(step), 0);
    expect(sequential).toBeLessThanOrEqual(makespan + 0.001);
    expect(sequential).toBeGreaterThan(makespan * 0.99);
    expect(record.metrics.virtualSeconds).toBe(Math.round(makespan));
  }, 60_000);
});

describe('a Lambda that runs past its timeout', () => {
  it('fails its step as Lambda does, retried once, and names the function in the history', async () => {
    // Arrange: every RunInstances takes 90 s, past the Instances function's 60 s.
    const stateDir = newStateDir();
    // Act
    const record = await run(stateDir, 'create-deployment', undefined, [
      { service: 'EC2', operation: 'RunInstances', latencySeconds: 90, times: -1 },
    ]);
    // Assert
    expect(record.status).toBe('FAILED');
    const launch = record.steps.find((step) => step.name === 'Launch instances')!;
    expect(launch.outcome).not.toBe('succeeded');
    expect(launch.error).toBe('Sandbox.Timedout');
    expect(launch.retries).toBe(1);
    expect(JSON.parse(launch.cause!)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(
        /^RequestId: [0-9a-f-]{36} Error: Task timed out after 60\.00 seconds$/,
      ),
    });
    // Lambda's timeout is the function's (60 s after its start), not the state's (90 s).
    expect(seconds(launch)).toBeGreaterThanOrEqual(2 * 60);
    expect(seconds(launch)).toBeLessThan(2 * 90);
    expect(record.failure).toMatchObject({ state: 'Launch instances', error: 'Sandbox.Timedout' });
    // Each attempt sent its first ten launches (LAUNCH_CONCURRENCY) before timing out; the first attempt's handler,
    // still running in the background, made no further call once the retry reset its sandbox.
    expect(record.metrics.apiCallsByOperation['EC2:RunInstances']).toBe(2 * 10);
    const text = renderHistory(record).join('\n');
    expect(text).toContain('resource: Lambda function capideploy-instances');
    expect(text).toContain('message:  Task timed out after 60.00 seconds');
    expect(text).toMatch(/hint: {5}The function ran past its 60\.00 s timeout/);
  }, 60_000);

  it('leaves what its late calls made, once each: the next create finds it and succeeds', async () => {
    // Arrange: the first two RunInstances calls are slow enough to time the first attempt out.
    const stateDir = newStateDir();
    const first = await run(stateDir, 'create-deployment', undefined, [
      { service: 'EC2', operation: 'RunInstances', latencySeconds: 120, times: 12 },
    ]);
    // Act
    const second = await run(stateDir, 'create-deployment');
    // Assert
    expect(first.steps.some((step) => step.error === 'Sandbox.Timedout')).toBe(true);
    expect(second.status).toBe('SUCCEEDED');
    const names = (await inventory(stateDir))
      .filter((item) => item.type === 'instance')
      .map((item) => item.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  }, 60_000);
});
