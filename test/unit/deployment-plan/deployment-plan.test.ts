import { describe, expect, it } from 'vitest';
import { validateDeployment } from '../../../functions/deployment-plan/deployment-plan.js';
import { handler } from '../../../functions/deployment-plan/handler.js';
import { expectNamedError, RAW_SPEC } from '../helpers.js';

describe('validateDeployment', () => {
  it('returns the spec with its defaults and a summary of the plan', () => {
    // Act
    const result = validateDeployment(RAW_SPEC);
    // Assess
    expect(result.spec).toMatchObject({
      name: 'sample',
      vpcCidr: '10.5.0.0/16',
      rootVolumeGiB: 20,
      onFailure: 'keep',
      allowedCidrs: RAW_SPEC.allowedCidrs,
    });
    expect(result.summary).toMatchObject({
      deployment: 'sample',
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      nodes: 3 + 4 + 4,
      cassandraNodes: 4,
      daemons: 4,
      privateSubnetCidr: '10.5.0.0/24',
    });
    expect(Object.keys(result.summary.instanceTypes).sort()).toEqual(
      ['bastion', 'cassandra', 'daemon', 'prometheus', 'rabbitmq'].sort(),
    );
  });

  it('names every bad field in one InvalidSpec', async () => {
    // Act
    const cause = await expectNamedError(
      Promise.resolve().then(() =>
        validateDeployment({ ...RAW_SPEC, allowedCidrs: ['300.0.0.0/8'], daemons: 0, bogus: 1 }),
      ),
      'InvalidSpec',
      { resource: 'deployment spec' },
    );
    // Assess
    expect(cause.message).toMatch(/allowedCidrs\.0/);
    expect(cause.message).toMatch(/daemons/);
    expect(cause.message).toMatch(/bogus: unknown field/);
    expect(cause.details?.problems).toHaveLength(3);
  });
});

describe('deployment-plan handler', () => {
  it('validates through the handler', async () => {
    // Act
    const result = await handler({ action: 'validate', spec: RAW_SPEC });
    // Assess
    expect(result.summary.deployment).toBe('sample');
    expect(result.spec.region).toBe('us-east-1');
  });

  it('rejects a zone outside the region as InvalidSpec', async () => {
    // Act
    const cause = await expectNamedError(
      handler({ action: 'validate', spec: { ...RAW_SPEC, availabilityZone: 'eu-west-1a' } }),
      'InvalidSpec',
      { resource: 'deployment spec' },
    );
    // Assess
    expect(cause.message).toMatch(/availabilityZone: must be a zone of region us-east-1/);
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    const cause = await expectNamedError(handler({ action: 'plan', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of deployment-plan',
    });
    // Assess
    expect(cause.message).toMatch(/action/);
  });
});
