import { describe, expect, it } from 'vitest';
import { parseCause } from '../../src/core/errors.js';
import { creations, inventory, newStateDir, resourceCounts, run, specWith } from './harness.js';

describe('local create and delete of the sample', () => {
  const stateDir = newStateDir();

  it('creates the whole deployment, step by step', async () => {
    // Act
    const record = await run(stateDir, 'create-deployment');
    // Assess
    expect(record.failure).toBeNull();
    expect(record.status).toBe('SUCCEEDED');
    expect(await resourceCounts(stateDir)).toEqual({
      'elastic-ip': 2,
      instance: 11,
      'instance-profile': 1,
      'internet-gateway': 1,
      // The cluster's log group /capideploy/sample (issue 16).
      'log-group': 1,
      natgateway: 1,
      parameter: 3,
      role: 1,
      'route-table': 2,
      'security-group': 2,
      subnet: 2,
      volume: 12,
      vpc: 1,
    });
    const names = record.steps.map((step) => step.name);
    expect(names).toContain('Create NAT gateway');
    expect(names).toContain('Judge cluster health');
    expect(record.metrics.virtualSeconds).toBeGreaterThan(120);
  });

  it('creates nothing new when run again', async () => {
    // Prepare
    const before = await inventory(stateDir);
    // Act
    const record = await run(stateDir, 'create-deployment');
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(creations(record)).toEqual([]);
    expect((await inventory(stateDir)).map((item) => item.id).sort()).toEqual(
      before.map((item) => item.id).sort(),
    );
  });

  it('deletes every resource it created', async () => {
    // Act
    const record = await run(stateDir, 'delete-deployment');
    // Assess
    expect(record.failure).toBeNull();
    expect(record.status).toBe('SUCCEEDED');
    expect(await inventory(stateDir)).toEqual([]);
  });

  it('deletes again without error when nothing is left', async () => {
    const record = await run(stateDir, 'delete-deployment');
    expect(record.status).toBe('SUCCEEDED');
  });

  it('creates the deployment again on the same account, with every resource new', async () => {
    // Prepare: EC2 keeps client tokens bound to deleted resources, so a re-create must use new ones.
    const fresh = newStateDir();
    await run(fresh, 'create-deployment');
    const cleanRun = await resourceCounts(fresh);

    // Act
    const record = await run(stateDir, 'create-deployment');

    // Assess
    expect(record.failure).toBeNull();
    expect(record.status).toBe('SUCCEEDED');
    expect(await resourceCounts(stateDir)).toEqual(cleanRun);
    expect(creations(record).map(([operation]) => operation)).toEqual(
      expect.arrayContaining(['EC2:CreateNatGateway', 'EC2:RunInstances', 'EC2:CreateVolume']),
    );
  });
});

describe('NAT gateway faults', () => {
  it('retries a CreateNatGateway that fails once and succeeds', async () => {
    // Act
    const record = await run(newStateDir(), 'create-deployment', undefined, [
      { service: 'EC2', operation: 'CreateNatGateway', error: 'InternalError' },
    ]);
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(record.metrics.apiCallsByOperation['EC2:CreateNatGateway']).toBe(2);
  });

  it('fails naming the NAT gateway when CreateNatGateway always fails', async () => {
    // Act
    const record = await run(newStateDir(), 'create-deployment', undefined, [
      { service: 'EC2', operation: 'CreateNatGateway', error: 'InternalError', times: -1 },
    ]);
    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure?.state).toBe('Create NAT gateway');
    const cause = parseCause(record.failure?.cause);
    expect(cause).toMatchObject({ resource: 'NAT gateway sample_natgw', awsError: 'InternalError' });
    expect(cause?.hint).toBeTruthy();
  });
});

describe('onFailure: delete', () => {
  it('tears the deployment down after a failed create and still reports the original failure', async () => {
    // Prepare
    const stateDir = newStateDir();
    const spec = specWith({ onFailure: 'delete' });
    // Act
    const record = await run(stateDir, 'create-deployment', spec, [
      {
        service: 'EC2',
        operation: 'RunInstances',
        target: 'cass003',
        error: 'UnauthorizedOperation',
        times: -1,
      },
    ]);
    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure?.error).toBe('AccessDenied');
    expect(parseCause(record.failure?.cause)?.resource).toMatch(/cass003/);
    expect(record.steps.map((step) => step.name)).toContain('Delete everything after failure');
    expect(record.steps.map((step) => step.name)).toContain('List what is left');
    expect(await inventory(stateDir, spec)).toEqual([]);
  });
});
