import {
  AllocateAddressCommand,
  DescribeAddressesCommand,
  EC2Client,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ensureElasticIps, releaseElasticIps } from '../../../functions/elastic-ips/elastic-ips.js';
import { handler } from '../../../functions/elastic-ips/handler.js';
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

const NAT = 'sample_natgw_external_ip_name';
const BASTION = 'sample_bastion_external_ip_name';
const address = (name: string, AllocationId: string, PublicIp: string, AssociationId?: string) => ({
  AllocationId,
  PublicIp,
  AssociationId,
  Tags: [{ Key: 'Name', Value: name }],
});

beforeEach(() => {
  ec2Mock.reset();
});

describe('ensureElasticIps', () => {
  it('allocates both addresses in the VPC domain with the deployment tags', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [] });
    ec2Mock
      .on(AllocateAddressCommand)
      .resolvesOnce({ AllocationId: 'eipalloc-0nat', PublicIp: '198.18.0.1' })
      .resolvesOnce({ AllocationId: 'eipalloc-0bas', PublicIp: '198.18.0.2' });
    // Act
    const result = await ensureElasticIps(sampleContext());
    // Assess
    expect(result).toEqual({
      nat: { allocationId: 'eipalloc-0nat', publicIp: '198.18.0.1' },
      bastion: { allocationId: 'eipalloc-0bas', publicIp: '198.18.0.2' },
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeAddressesCommand, { Filters: ownFilters });
    expect(ec2Mock).toHaveReceivedNthCommandWith(AllocateAddressCommand, 1, {
      Domain: 'vpc',
      TagSpecifications: tagSpec('elastic-ip', NAT),
    });
    expect(ec2Mock).toHaveReceivedNthCommandWith(AllocateAddressCommand, 2, {
      Domain: 'vpc',
      TagSpecifications: tagSpec('elastic-ip', BASTION),
    });
  });

  it('returns the existing addresses without allocating', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [
        address(BASTION, 'eipalloc-0bas', '198.18.0.2'),
        address(NAT, 'eipalloc-0nat', '198.18.0.1', 'eipassoc-1'),
      ],
    });
    // Act
    const result = await ensureElasticIps(sampleContext());
    // Assess
    expect(result.nat).toEqual({ allocationId: 'eipalloc-0nat', publicIp: '198.18.0.1' });
    expect(result.bastion).toEqual({ allocationId: 'eipalloc-0bas', publicIp: '198.18.0.2' });
    expect(ec2Mock).not.toHaveReceivedCommand(AllocateAddressCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(ReleaseAddressCommand);
    expect(mutatingCalls(ec2Mock)).toEqual([]);
  });

  it('allocates only the missing bastion address', async () => {
    // Prepare
    ec2Mock
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [address(NAT, 'eipalloc-0nat', '198.18.0.1')] });
    ec2Mock.on(AllocateAddressCommand).resolves({ AllocationId: 'eipalloc-0bas', PublicIp: '198.18.0.2' });
    // Act
    const result = await ensureElasticIps(sampleContext());
    // Assess
    expect(result.bastion.allocationId).toBe('eipalloc-0bas');
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AllocateAddressCommand, {
      TagSpecifications: tagSpec('elastic-ip', BASTION),
    });
  });

  it('turns AddressLimitExceeded into ProvisioningFailed with the elastic IP hint', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [] });
    ec2Mock
      .on(AllocateAddressCommand)
      .rejects(awsError('AddressLimitExceeded', 'The maximum number of addresses has been reached.'));
    // Act
    const cause = await expectNamedError(ensureElasticIps(sampleContext()), 'ProvisioningFailed', {
      resource: `elastic IP ${NAT}`,
      id: null,
      awsError: 'AddressLimitExceeded',
      message: 'The maximum number of addresses has been reached.',
    });
    // Assess
    expect(cause.hint).toMatch(/elastic IPs left/);
  });

  it('turns throttling into Throttled', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).rejects(awsError('RequestLimitExceeded'));
    // Act + Assess
    await expectNamedError(ensureElasticIps(sampleContext()), 'Throttled', {
      resource: 'elastic IPs of sample',
      awsError: 'RequestLimitExceeded',
    });
  });
});

describe('releaseElasticIps', () => {
  it('releases every address and treats InvalidAllocationID.NotFound as done', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [
        address(NAT, 'eipalloc-0nat', '198.18.0.1'),
        address(BASTION, 'eipalloc-0bas', '198.18.0.2'),
      ],
    });
    ec2Mock.on(ReleaseAddressCommand).resolvesOnce({}).rejectsOnce(awsError('InvalidAllocationID.NotFound'));
    // Act
    const result = await releaseElasticIps(sampleContext());
    // Assess
    expect(result).toEqual({ released: ['eipalloc-0nat', 'eipalloc-0bas'] });
    expect(ec2Mock).toHaveReceivedNthCommandWith(ReleaseAddressCommand, 1, { AllocationId: 'eipalloc-0nat' });
    expect(ec2Mock).toHaveReceivedNthCommandWith(ReleaseAddressCommand, 2, { AllocationId: 'eipalloc-0bas' });
  });

  it('refuses to release an address that is still associated, as DependencyViolation', async () => {
    // Prepare
    ec2Mock
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [address(NAT, 'eipalloc-0nat', '198.18.0.1', 'eipassoc-0nat')] });
    // Act
    const cause = await expectNamedError(releaseElasticIps(sampleContext()), 'DependencyViolation', {
      resource: `elastic IP ${NAT}`,
      id: 'eipalloc-0nat',
      awsError: 'InvalidIPAddress.InUse',
    });
    // Assess
    expect(cause.message).toContain('eipassoc-0nat');
    expect(ec2Mock).not.toHaveReceivedCommand(ReleaseAddressCommand);
  });

  it('turns InvalidIPAddress.InUse from the release into DependencyViolation with the allocation id', async () => {
    // Prepare
    ec2Mock
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [address(BASTION, 'eipalloc-0bas', '198.18.0.2')] });
    ec2Mock.on(ReleaseAddressCommand).rejects(awsError('InvalidIPAddress.InUse', 'Address is in use'));
    // Act + Assess
    await expectNamedError(releaseElasticIps(sampleContext()), 'DependencyViolation', {
      resource: `elastic IP ${BASTION}`,
      id: 'eipalloc-0bas',
      awsError: 'InvalidIPAddress.InUse',
      message: 'Address is in use',
    });
  });
});

describe('elastic-ips handler', () => {
  it('releases through the handler', async () => {
    // Prepare
    ec2Mock
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [address(NAT, 'eipalloc-0nat', '198.18.0.1')] });
    ec2Mock.on(ReleaseAddressCommand).resolves({});
    // Act
    const result = await handler({ action: 'delete', spec: RAW_SPEC });
    // Assess
    expect(result).toEqual({ released: ['eipalloc-0nat'] });
    expect(ec2Mock).toHaveReceivedCommandOnce(ReleaseAddressCommand);
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    const cause = await expectNamedError(handler({ action: 'allocate', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of elastic-ips',
    });
    // Assess
    expect(cause.message).toMatch(/action/);
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('rejects an invalid spec with InvalidSpec naming the field', async () => {
    // Act
    const cause = await expectNamedError(
      handler({ action: 'ensure', spec: { ...RAW_SPEC, allowedCidrs: ['not-a-cidr'] } }),
      'InvalidSpec',
      { resource: 'input of elastic-ips' },
    );
    // Assess
    expect(cause.message).toMatch(/spec\.allowedCidrs\.0/);
  });
});
