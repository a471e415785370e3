import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../src/report/format.js';
import { taskFunction } from '../../src/report/machine.js';

/**
 * A Lambda timeout's cause names neither the function nor what to do (reference/aws-behaviour-2.md §2): the failure
 * lines take the function from the failed step's Task and add a hint, for local and AWS records alike.
 */
describe('describeFailure of a Lambda timeout', () => {
  it('names the function, the timeout and what to do (current Lambda: Sandbox.Timedout)', () => {
    const lines = describeFailure({
      state: 'Launch instances',
      error: 'Sandbox.Timedout',
      cause: JSON.stringify({
        errorType: 'Sandbox.Timedout',
        errorMessage:
          'RequestId: 5f0c2d1e-0000-4000-8000-000000000001 Error: Task timed out after 60.00 seconds',
      }),
    });
    expect(lines).toEqual([
      '✖ FAILED at step: Launch instances',
      '  error:    Sandbox.Timedout',
      '  resource: Lambda function capideploy-instances',
      '  message:  Task timed out after 60.00 seconds',
      expect.stringMatching(
        /^ {2}hint: {5}The function ran past its 60\.00 s timeout .* run create again to resume/,
      ),
    ]);
  });

  it('reads the older Lambda.Unknown form too', () => {
    const cause =
      'The cause could not be determined because Lambda did not return an error type. Returned payload: {"errorMessage":"2022-01-13T00:58:08.879Z 5f0c2d1e Task timed out after 120.06 seconds"}';
    const lines = describeFailure({
      state: 'Install software on every node',
      error: 'Lambda.Unknown',
      cause,
    });
    expect(lines).toContain('  resource: Lambda function capideploy-provisioning');
    expect(lines).toContain('  message:  Task timed out after 120.06 seconds');
  });

  it('explains a state timeout of a Lambda Task (States.Timeout, no cause)', () => {
    const lines = describeFailure({ state: 'Launch instances', error: 'States.Timeout', cause: '' });
    expect(lines).toContain('  resource: Lambda function capideploy-instances');
    expect(lines.join('\n')).toContain('not the function overrunning its own timeout');
  });

  it('finds the function of a Task in either state machine, and nothing for other states', () => {
    expect(taskFunction('Launch instances')).toBe('Instances');
    expect(taskFunction('Validate the deployment spec')).toBe('DeploymentPlan');
    expect(taskFunction('Launch fleet while NAT gateway comes up')).toBeUndefined();
    expect(taskFunction('No such state')).toBeUndefined();
  });
});
