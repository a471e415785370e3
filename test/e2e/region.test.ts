import { describe, expect, it } from 'vitest';
import { parseCause } from '../../src/core/errors.js';
import { creations, newStateDir, resourceCounts, run, specWith } from './harness.js';

/**
 * The provisioning documents exist only in the stack's region (local mode: us-east-1, or CAPI_DEPLOY_STACK_REGION).
 * A spec naming another region must fail at preflight, before anything is created, instead of at "Install software".
 */
describe('a spec for a region without CapiDeploy documents', () => {
  it('fails at preflight naming the region and the fix, and creates nothing', async () => {
    // Prepare
    const stateDir = newStateDir();
    const spec = specWith({ region: 'eu-west-1', availabilityZone: 'eu-west-1a' });
    // Act
    const record = await run(stateDir, 'create-deployment', spec);
    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure?.state).toBe('Check AMI, instance types and quota');
    expect(record.failure?.error).toBe('PreflightFailed');
    const cause = parseCause(record.failure?.cause);
    expect(cause).toMatchObject({
      id: 'capi-health-check',
      awsError: 'InvalidDocument',
      details: { region: 'eu-west-1', document: 'capi-health-check' },
    });
    expect(cause?.message).toContain('eu-west-1');
    expect(cause?.hint).toContain('Deploy the CapiDeploy stack in eu-west-1');
    expect(creations(record)).toEqual([]);
    expect(await resourceCounts(stateDir, spec)).toEqual({});
  });
});
