import { describe, expect, it } from 'vitest';
import { newStateDir, resourceCounts, run } from './harness.js';

/**
 * The wait for SSM agents counts its rounds in the execution, not from the instances' launch: a create resumed long
 * after the fleet launched (here about 16 virtual minutes later, once the cause is gone) waits its whole budget again
 * instead of failing at the first poll.
 */
describe('waiting for SSM agents', () => {
  it('gives a resumed create its whole wait, however long ago the fleet launched', async () => {
    // Prepare: daemon002's agent cannot register, so the first create waits 180 rounds and fails
    const stateDir = newStateDir();
    const denied = {
      service: 'SSM',
      operation: 'UpdateInstanceInformation',
      target: 'daemon002',
      error: 'AccessDeniedException',
      times: -1,
    } as const;
    const failed = await run(stateDir, 'create-deployment', undefined, [denied]);
    expect(failed.failure).toMatchObject({ state: 'Check SSM agents', error: 'WaitTimedOut' });
    expect(failed.steps.filter((step) => step.name === 'Check SSM agents')).toHaveLength(180);
    const clean = newStateDir();
    await run(clean, 'create-deployment');

    // Act: the cause is gone; resume without replacing the node
    const resumed = await run(stateDir, 'create-deployment');

    // Assess
    expect(resumed.failure).toBeNull();
    expect(resumed.status).toBe('SUCCEEDED');
    expect(await resourceCounts(stateDir)).toEqual(await resourceCounts(clean));
  });
});
