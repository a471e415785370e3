import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observeAuthorizations } from '../../src/sim/iam/authorizer.js';
import type { AuthorizationRequest, Decision, PolicySet } from '../../src/sim/iam/evaluate.js';
import { type Case, compare } from '../sim/iam-reference.js';
import { newStateDir, run } from './harness.js';

/**
 * The evaluator against iam-simulate on the requests a real local create and delete make: every distinct request
 * (action, resource, condition context, policies) recorded while the workflow ran with evaluation on.
 */
const recorded = new Map<string, Case>();

beforeAll(async () => {
  observeAuthorizations((request: AuthorizationRequest, policies: PolicySet, evaluation) => {
    const key = JSON.stringify([request, policies]);
    if (!recorded.has(key)) {
      const decision: Decision = evaluation.decision;
      recorded.set(key, {
        name: `${request.action} on ${request.resource}`,
        request,
        policies,
        expected: decision,
      });
    }
  });
  const stateDir = newStateDir();
  expect((await run(stateDir, 'create-deployment')).status).toBe('SUCCEEDED');
  expect((await run(stateDir, 'delete-deployment')).status).toMatch(/SUCCEEDED|FAILED/);
}, 120_000);

afterAll(() => observeAuthorizations(undefined));

describe('requests recorded from a local create and delete', () => {
  it('are many, and of every service the workflow calls', () => {
    const actions = new Set([...recorded.values()].map((c) => c.request.action.split(':')[0]));
    expect(recorded.size).toBeGreaterThan(50);
    expect([...actions].sort()).toEqual(expect.arrayContaining(['ec2', 'iam', 'ssm', 'tag']));
  });

  it('get the same decision from evaluate.ts and iam-simulate', async () => {
    const mismatches = (await Promise.all([...recorded.values()].map(compare))).filter(Boolean);
    expect(mismatches).toEqual([]);
  });
});
