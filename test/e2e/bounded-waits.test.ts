import { describe, expect, it } from 'vitest';
import { parseCause } from '../../src/core/errors.js';
import type { openLocalSession } from '../../src/local/local-mode.js';
import type { Ec2State } from '../../src/sim/services/ec2/state.js';
import { inventory, newStateDir, run, sampleSpec } from './harness.js';

/**
 * Issue 14 items 3 and 4, end to end in virtual time: a command that never finishes on one node ends the wait with a
 * named error giving the node, instance and last status; delete proves itself (an elastic IP still associated is
 * disassociated and released, an untagged network interface left in the VPC is reported).
 */
describe('a command that never finishes on one node', () => {
  it('fails the phase with CommandTimedOut naming the node, the instance, the document and the last status', async () => {
    // Act: capi-daemon-configure stays InProgress on daemon002, past every SSM timeout (a hung agent)
    const record = await run(newStateDir(), 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'daemon002',
        document: 'capi-daemon-configure',
        status: 'InProgress',
      },
    ]);

    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure).toMatchObject({ state: 'Check service configuration', error: 'CommandTimedOut' });
    const cause = parseCause(record.failure?.cause);
    expect(cause?.resource).toBe('node daemon002 (capi-daemon-configure)');
    expect(cause?.id).toMatch(/^i-[0-9a-f]+$/);
    expect(cause?.awsError).toMatch(/^InProgress/);
    expect(cause?.details).toMatchObject({
      node: 'daemon002',
      instanceId: cause?.id,
      document: 'capi-daemon-configure',
      lastStatus: expect.stringMatching(/^InProgress/),
    });
    expect(cause?.details?.unfinished).toHaveLength(1);
    // Bounded by the phase's rounds, not by the 4-hour execution timeout
    const checks = record.steps.filter((step) => step.name === 'Check service configuration');
    expect(checks.length).toBeGreaterThan(100);
    expect(checks.length).toBeLessThan(400);
    expect(record.metrics.virtualSeconds).toBeLessThan(2 * 3600);
  });
});

describe('delete proves itself', () => {
  it('disassociates an elastic IP still associated to a live instance, then releases it', async () => {
    // Prepare: a converged deployment whose instances cannot be terminated, so the bastion keeps its elastic IP
    const stateDir = newStateDir();
    expect((await run(stateDir, 'create-deployment')).status).toBe('SUCCEEDED');

    // Act
    const record = await run(stateDir, 'delete-deployment', sampleSpec, [
      { service: 'EC2', operation: 'TerminateInstances', error: 'UnauthorizedOperation', times: -1 },
    ]);

    // Assess: the delete fails (the instances are left) but no elastic IP is among the leftovers
    expect(record.status).toBe('FAILED');
    const calls = record.metrics.apiCallsByOperation;
    const count = (operation: string) =>
      Object.entries(calls)
        .filter(([key]) => key.endsWith(`:${operation}`) || key === operation)
        .reduce((sum, [, n]) => sum + n, 0);
    expect(count('DisassociateAddress')).toBeGreaterThan(0);
    expect(count('ReleaseAddress')).toBe(2);
    const leftovers = parseCause(record.failure?.cause)?.details?.leftovers as { type: string }[];
    expect(leftovers.map((item) => item.type)).toContain('instance');
    expect(leftovers.map((item) => item.type)).not.toContain('elastic-ip');
  });

  it('fails with TeardownStepsFailed when a step failed although nothing is left, naming it', async () => {
    // Prepare: the first DescribeInstances of the delete (in "Terminate instances") is refused; the wait loop after it
    // terminates the fleet anyway, so everything goes
    const stateDir = newStateDir();
    expect((await run(stateDir, 'create-deployment')).status).toBe('SUCCEEDED');

    // Act
    const record = await run(stateDir, 'delete-deployment', sampleSpec, [
      { service: 'EC2', operation: 'DescribeInstances', error: 'UnauthorizedOperation' },
    ]);

    // Assess
    expect(await inventory(stateDir)).toEqual([]);
    expect(record.status).toBe('FAILED');
    expect(record.failure?.error).toBe('TeardownStepsFailed');
    const cause = parseCause(record.failure?.cause);
    expect(cause?.awsError).toBe('UnauthorizedOperation');
    expect(cause?.message).toMatch(/instances of sample.*UnauthorizedOperation/);
    expect(cause?.details?.failedSteps).toEqual([
      expect.objectContaining({ step: 'instances', awsError: 'UnauthorizedOperation' }),
    ]);
  });

  it('reports an untagged network interface left in the VPC, and fails naming it', async () => {
    // Prepare: a stranger's network interface, untagged, in the deployment's private subnet
    const stateDir = newStateDir();
    expect((await run(stateDir, 'create-deployment')).status).toBe('SUCCEEDED');
    let eniId = '';
    const addInterface = (account: ReturnType<typeof openLocalSession>['account']) => {
      const ec2 = account.stateOf<Ec2State>('EC2');
      const subnet = Object.values(ec2.subnets).find((candidate) =>
        candidate.Tags.some((tag) => tag.Key === 'Name' && /private/.test(tag.Value)),
      )!;
      eniId = 'eni-0badc0ffee0000001';
      ec2.networkInterfaces ??= {};
      ec2.networkInterfaces[eniId] = {
        NetworkInterfaceId: eniId,
        SubnetId: subnet.SubnetId,
        VpcId: subnet.VpcId,
        AvailabilityZone: subnet.AvailabilityZone,
        Description: 'a Lambda function ENI',
        InterfaceType: 'interface',
        Status: 'available',
        PrivateIpAddress: '10.5.1.250',
        Groups: [],
        OwnerId: account.accountId,
        RequesterManaged: false,
        Tags: [],
      };
    };

    // Act
    const record = await run(stateDir, 'delete-deployment', sampleSpec, [], undefined, addInterface);

    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure?.error).toBe('ResourcesLeft');
    const cause = parseCause(record.failure?.cause);
    const leftovers = cause?.details?.leftovers as { type: string; id: string; why: string }[];
    expect(leftovers).toContainEqual(
      expect.objectContaining({
        type: 'network-interface',
        id: eniId,
        why: expect.stringMatching(/untagged/),
      }),
    );
    expect(cause?.message).toContain(eniId);
    // The subnet it sits in could not go either, and says why
    expect(leftovers).toContainEqual(
      expect.objectContaining({ type: 'subnet', why: expect.stringMatching(/DependencyViolation/) }),
    );
  });
});
