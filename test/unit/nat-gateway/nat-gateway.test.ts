import {
  CreateNatGatewayCommand,
  DeleteNatGatewayCommand,
  DescribeNatGatewaysCommand,
  EC2Client,
  type NatGateway,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/nat-gateway/handler.js';
import {
  deleteNatGateways,
  ensureNatGateway,
  natGatewayStatus,
  natGatewaysGone,
} from '../../../functions/nat-gateway/nat-gateway.js';
import {
  awsError,
  expectNamedError,
  mutatingCalls,
  ownFilters,
  RAW_SPEC,
  sampleContext,
  tagSpec,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);

const gateway = (
  NatGatewayId: string,
  State: NatGateway['State'],
  extra: Partial<NatGateway> = {},
): NatGateway => ({
  NatGatewayId,
  State,
  SubnetId: 'subnet-0pub',
  ...extra,
});

beforeEach(() => {
  ec2Mock.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('ensureNatGateway', () => {
  it('creates a public NAT gateway in the public subnet with the elastic IP and the deployment tags', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [] });
    ec2Mock.on(CreateNatGatewayCommand).resolves({ NatGateway: gateway('nat-0new', 'pending') });
    // Act
    const result = await ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat');
    // Assess
    expect(result).toEqual({ natGatewayId: 'nat-0new', state: 'pending' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeNatGatewaysCommand, {
      Filter: [...ownFilters, { Name: 'tag:Name', Values: ['sample_natgw'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateNatGatewayCommand, {
      SubnetId: 'subnet-0pub',
      AllocationId: 'eipalloc-0nat',
      ConnectivityType: 'public',
      ClientToken: 'sample-natgw-subnet-0pub-0',
      TagSpecifications: tagSpec('natgateway', 'sample_natgw'),
    });
  });

  it.each([
    ['available', [gateway('nat-0old', 'deleted'), gateway('nat-0live', 'available')]],
    ['pending', [gateway('nat-0failed', 'failed'), gateway('nat-0live', 'pending')]],
  ])('returns an existing %s gateway without creating one', async (state, gateways) => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: gateways });
    // Act
    const result = await ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat');
    // Assess
    expect(result).toEqual({ natGatewayId: 'nat-0live', state });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateNatGatewayCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteNatGatewayCommand);
    expect(mutatingCalls(ec2Mock)).toEqual([]);
  });

  it('prefers the available gateway over a pending one', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [gateway('nat-0pending', 'pending'), gateway('nat-0ready', 'available')],
    });
    // Act
    const result = await ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat');
    // Assess
    expect(result.natGatewayId).toBe('nat-0ready');
  });

  it('creates a fresh gateway with a new client token after failed and deleted ones', async () => {
    // Prepare: two failed, and one the operator deleted (a stuck pending one)
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [gateway('nat-0f1', 'failed'), gateway('nat-0f2', 'failed'), gateway('nat-0d', 'deleted')],
    });
    ec2Mock.on(CreateNatGatewayCommand).resolves({ NatGateway: gateway('nat-0new', 'pending') });
    // Act
    await ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat');
    // Assess
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateNatGatewayCommand, {
      ClientToken: 'sample-natgw-subnet-0pub-3',
    });
  });

  it('moves to the next token generation when EC2 answers the token with a spent gateway', async () => {
    // Prepare: the deleted gateway of token -0 is no longer listed, but EC2 still binds the token to it
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [] });
    ec2Mock
      .on(CreateNatGatewayCommand)
      .resolvesOnce({ NatGateway: gateway('nat-0old', 'deleted') })
      .resolves({ NatGateway: gateway('nat-0new', 'pending') });
    // Act
    const result = await ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat');
    // Assess
    expect(result).toEqual({ natGatewayId: 'nat-0new', state: 'pending' });
    const tokens = ec2Mock
      .commandCalls(CreateNatGatewayCommand)
      .map((call) => call.args[0].input.ClientToken);
    expect(tokens).toEqual(['sample-natgw-subnet-0pub-0', 'sample-natgw-subnet-0pub-1']);
  });

  it('gives up after a few spent generations', async () => {
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [] });
    ec2Mock.on(CreateNatGatewayCommand).resolves({ NatGateway: gateway('nat-0old', 'deleted') });
    await expectNamedError(
      ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat'),
      'ProvisioningFailed',
      { resource: 'NAT gateway sample_natgw', id: 'nat-0old' },
    );
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateNatGatewayCommand, 4);
  });

  it('waits for a gateway still deleting, which holds the elastic IP, instead of creating one', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [gateway('nat-0going', 'deleting')] });
    // Act
    const cause = await expectNamedError(
      ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat'),
      'ResourceConflict',
      { resource: 'NAT gateway sample_natgw', id: 'nat-0going' },
    );
    // Assess
    expect(cause.hint).toContain(
      '`aws ec2 wait nat-gateway-deleted --region us-east-1 --nat-gateway-ids nat-0going`',
    );
    expect(ec2Mock).not.toHaveReceivedCommand(CreateNatGatewayCommand);
  });

  it('turns NatGatewayLimitExceeded into ProvisioningFailed with the limit hint', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [] });
    ec2Mock
      .on(CreateNatGatewayCommand)
      .rejects(awsError('NatGatewayLimitExceeded', 'The maximum number of NAT Gateways has been reached.'));
    // Act
    const cause = await expectNamedError(
      ensureNatGateway(sampleContext(), 'subnet-0pub', 'eipalloc-0nat'),
      'ProvisioningFailed',
      {
        resource: 'NAT gateway sample_natgw',
        id: null,
        awsError: 'NatGatewayLimitExceeded',
        message: 'The maximum number of NAT Gateways has been reached.',
      },
    );
    // Assess
    expect(cause.hint).toMatch(/NAT gateway limit/);
  });
});

describe('natGatewayStatus', () => {
  it('reports the state of the gateway by id', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [gateway('nat-0abc', 'available')] });
    // Act
    const result = await natGatewayStatus(sampleContext(), 'nat-0abc');
    // Assess
    expect(result).toEqual({ natGatewayId: 'nat-0abc', state: 'available' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeNatGatewaysCommand, { NatGatewayIds: ['nat-0abc'] });
  });

  it("turns state 'failed' into ProvisioningFailed carrying AWS's failure code and message", async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [
        gateway('nat-0abc', 'failed', {
          FailureCode: 'Gateway.NotAttached',
          FailureMessage: 'Network vpc-0abc has no Internet gateway attached',
        }),
      ],
    });
    // Act
    const cause = await expectNamedError(
      natGatewayStatus(sampleContext(), 'nat-0abc'),
      'ProvisioningFailed',
      {
        resource: 'NAT gateway sample_natgw',
        id: 'nat-0abc',
        awsError: 'Gateway.NotAttached',
        message: 'Network vpc-0abc has no Internet gateway attached',
      },
    );
    // Assess
    expect(cause.hint).toMatch(/Re-run create/);
  });

  it('fails a gateway pending past the timeout with WaitTimedOut', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2026-11-24T10:20:00Z'), toFake: ['Date'] });
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [gateway('nat-0abc', 'pending', { CreateTime: new Date('2026-11-24T10:00:00Z') })],
    });
    // Act
    const cause = await expectNamedError(
      natGatewayStatus(sampleContext(), 'nat-0abc', { attempt: 119, maxAttempts: 120 }),
      'WaitTimedOut',
      { resource: 'NAT gateway sample_natgw', id: 'nat-0abc' },
    );
    // Assess
    expect(cause.message).toContain('1200 s');
    expect(cause.hint).toContain(
      'on AWS `aws ec2 delete-nat-gateway --region us-east-1 --nat-gateway-id nat-0abc` then `aws ec2 wait nat-gateway-deleted --region us-east-1 --nat-gateway-ids nat-0abc`; in local mode `capi-deploy terminate sample natgw --local`',
    );
  });

  it('keeps polling a gateway pending for less than the timeout', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2026-11-24T10:05:00Z'), toFake: ['Date'] });
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [gateway('nat-0abc', 'pending', { CreateTime: new Date('2026-11-24T10:00:00Z') })],
    });
    // Act
    const result = await natGatewayStatus(sampleContext(), 'nat-0abc');
    // Assess
    expect(result).toEqual({ natGatewayId: 'nat-0abc', state: 'pending' });
  });

  it('names the gateway id when the describe fails', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).rejects(awsError('NatGatewayNotFound'));
    // Act + Assess
    await expectNamedError(natGatewayStatus(sampleContext(), 'nat-0abc'), 'ProvisioningFailed', {
      resource: 'NAT gateway sample_natgw',
      id: 'nat-0abc',
      awsError: 'NatGatewayNotFound',
    });
  });
});

describe('deleteNatGateways and natGatewaysGone', () => {
  it('deletes live gateways only, and reports the deleting ones', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [
        gateway('nat-0gone', 'deleted'),
        gateway('nat-0busy', 'deleting'),
        gateway('nat-0live', 'available'),
      ],
    });
    ec2Mock.on(DeleteNatGatewayCommand).resolves({ NatGatewayId: 'nat-0live' });
    // Act
    const result = await deleteNatGateways(sampleContext());
    // Assess
    expect(result).toEqual({ deleting: ['nat-0busy', 'nat-0live'] });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteNatGatewayCommand, {
      NatGatewayId: 'nat-0live',
    });
  });

  it('treats NatGatewayNotFound of the delete as done', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [gateway('nat-0live', 'available')] });
    ec2Mock.on(DeleteNatGatewayCommand).rejects(awsError('NatGatewayNotFound'));
    // Act
    const result = await deleteNatGateways(sampleContext());
    // Assess
    expect(result).toEqual({ deleting: ['nat-0live'] });
    expect(ec2Mock).toHaveReceivedCommandOnce(DeleteNatGatewayCommand);
  });

  it('turns a delete error into a named error with the gateway id', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [gateway('nat-0live', 'available')] });
    ec2Mock.on(DeleteNatGatewayCommand).rejects(awsError('ServiceUnavailable'));
    // Act + Assess
    await expectNamedError(deleteNatGateways(sampleContext()), 'ServiceUnavailable', {
      resource: 'NAT gateway sample_natgw',
      id: 'nat-0live',
      awsError: 'ServiceUnavailable',
    });
  });

  it('is gone only when every gateway is deleted or failed', async () => {
    // Prepare
    ec2Mock
      .on(DescribeNatGatewaysCommand)
      .resolvesOnce({ NatGateways: [gateway('nat-01', 'deleted'), gateway('nat-02', 'deleting')] })
      .resolvesOnce({ NatGateways: [gateway('nat-01', 'deleted'), gateway('nat-03', 'failed')] });
    // Act
    const first = await natGatewaysGone(sampleContext());
    const second = await natGatewaysGone(sampleContext());
    // Assess
    expect(first).toEqual({ gone: false, remaining: ['nat-02'] });
    expect(second).toEqual({ gone: true, remaining: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteNatGatewayCommand);
  });
});

describe('nat-gateway handler', () => {
  it("reports a 'failed' gateway through the handler as ProvisioningFailed", async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [gateway('nat-0h', 'failed')] });
    // Act + Assess
    await expectNamedError(
      handler({ action: 'status', spec: RAW_SPEC, natGatewayId: 'nat-0h' }),
      'ProvisioningFailed',
      { resource: 'NAT gateway sample_natgw', id: 'nat-0h', message: 'the NAT gateway failed' },
    );
  });

  it('ensures through the handler', async () => {
    // Prepare
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({ NatGateways: [] });
    ec2Mock.on(CreateNatGatewayCommand).resolves({ NatGateway: gateway('nat-0h', 'pending') });
    // Act
    const result = await handler({
      action: 'ensure',
      spec: RAW_SPEC,
      publicSubnetId: 'subnet-0pub',
      allocationId: 'eipalloc-0nat',
    });
    // Assess
    expect(result).toEqual({ natGatewayId: 'nat-0h', state: 'pending' });
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'restart', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of nat-gateway',
    });
    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('rejects an ensure whose allocation id is not an elastic IP', async () => {
    // Act
    const cause = await expectNamedError(
      handler({
        action: 'ensure',
        spec: RAW_SPEC,
        publicSubnetId: 'subnet-0pub',
        allocationId: '198.18.0.1',
      }),
      'InvalidSpec',
      { resource: 'input of nat-gateway' },
    );
    // Assess
    expect(cause.message).toMatch(/allocationId/);
  });
});
