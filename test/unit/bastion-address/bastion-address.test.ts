import {
  AssociateAddressCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { associateBastionAddress } from '../../../functions/bastion-address/bastion-address.js';
import { handler } from '../../../functions/bastion-address/handler.js';
import {
  awsError,
  expectNamedError,
  idOf,
  instance,
  ownFilters,
  RAW_SPEC,
  sampleContext,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);
const ALLOCATION = 'eipalloc-0bastion';
const BASTION = idOf('bastion');

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock
    .on(DescribeInstancesCommand)
    .resolves({ Reservations: [{ Instances: [instance('bastion', 'running')] }] });
});

describe('associateBastionAddress', () => {
  it('associates the elastic IP with the bastion found by its tags', async () => {
    // Prepare
    ec2Mock
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [{ AllocationId: ALLOCATION, PublicIp: '198.51.100.20' }] });
    ec2Mock.on(AssociateAddressCommand).resolves({ AssociationId: 'eipassoc-0new' });
    // Act
    const result = await associateBastionAddress(sampleContext(), ALLOCATION);
    // Assess
    expect(result).toEqual({ publicIp: '198.51.100.20', associationId: 'eipassoc-0new' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [
        ...ownFilters,
        { Name: 'tag:Name', Values: ['sample-bastion'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AssociateAddressCommand, {
      AllocationId: ALLOCATION,
      InstanceId: BASTION,
    });
  });

  it('returns the existing association without associating again', async () => {
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [
        {
          AllocationId: ALLOCATION,
          PublicIp: '198.51.100.20',
          AssociationId: 'eipassoc-0old',
          InstanceId: BASTION,
        },
      ],
    });
    const result = await associateBastionAddress(sampleContext(), ALLOCATION);
    expect(result).toEqual({ publicIp: '198.51.100.20', associationId: 'eipassoc-0old' });
    expect(ec2Mock).not.toHaveReceivedCommand(AssociateAddressCommand);
  });

  it('refuses to move an address associated with another instance', async () => {
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [
        {
          AllocationId: ALLOCATION,
          PublicIp: '198.51.100.20',
          AssociationId: 'eipassoc-0x',
          InstanceId: 'i-0other',
        },
      ],
    });
    const cause = await expectNamedError(
      associateBastionAddress(sampleContext(), ALLOCATION),
      'ResourceConflict',
      {
        resource: 'elastic IP sample_bastion_external_ip_name',
        id: ALLOCATION,
      },
    );
    expect(cause.message).toContain('i-0other');
    expect(ec2Mock).not.toHaveReceivedCommand(AssociateAddressCommand);
  });

  it('names the address, the AWS error and a hint when AssociateAddress fails', async () => {
    ec2Mock
      .on(DescribeAddressesCommand)
      .resolves({ Addresses: [{ AllocationId: ALLOCATION, PublicIp: '198.51.100.20' }] });
    ec2Mock
      .on(AssociateAddressCommand)
      .rejects(awsError('Gateway.NotAttached', 'Network vpc-0abc is not attached to any internet gateway'));
    await expectNamedError(associateBastionAddress(sampleContext(), ALLOCATION), 'ProvisioningFailed', {
      resource: 'elastic IP sample_bastion_external_ip_name',
      id: ALLOCATION,
      awsError: 'Gateway.NotAttached',
    });
  });

  it('fails naming the bastion when it has no live instance', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await expectNamedError(associateBastionAddress(sampleContext(), ALLOCATION), 'ProvisioningFailed', {
      resource: 'instance sample-bastion',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeAddressesCommand);
  });

  it('is reached through the handler, which checks the allocation id', async () => {
    await expectNamedError(
      handler({ action: 'associate', spec: RAW_SPEC, allocationId: 'x' }),
      'InvalidSpec',
      {
        resource: 'input of bastion-address',
      },
    );
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
