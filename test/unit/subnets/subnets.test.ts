import {
  CreateSubnetCommand,
  DeleteSubnetCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/subnets/handler.js';
import { deleteSubnets, ensureSubnets } from '../../../functions/subnets/subnets.js';
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

const existing = (name: string, SubnetId: string, CidrBlock: string, AvailabilityZone = 'us-east-1a') => ({
  SubnetId,
  CidrBlock,
  AvailabilityZone,
  Tags: [{ Key: 'Name', Value: name }],
});

beforeEach(() => {
  ec2Mock.reset();
});

describe('ensureSubnets', () => {
  it('creates the private and public subnets with the plan CIDRs, the zone and the deployment tags', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2Mock
      .on(CreateSubnetCommand)
      .resolvesOnce({ Subnet: { SubnetId: 'subnet-0priv' } })
      .resolvesOnce({ Subnet: { SubnetId: 'subnet-0pub' } });
    // Act
    const result = await ensureSubnets(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({ privateSubnetId: 'subnet-0priv', publicSubnetId: 'subnet-0pub' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSubnetsCommand, {
      Filters: [...ownFilters, { Name: 'vpc-id', Values: ['vpc-0abc'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateSubnetCommand, 2);
    expect(ec2Mock).toHaveReceivedNthCommandWith(CreateSubnetCommand, 1, {
      VpcId: 'vpc-0abc',
      CidrBlock: '10.5.0.0/24',
      AvailabilityZone: 'us-east-1a',
      TagSpecifications: tagSpec('subnet', 'sample_private_subnet'),
    });
    expect(ec2Mock).toHaveReceivedNthCommandWith(CreateSubnetCommand, 2, {
      VpcId: 'vpc-0abc',
      CidrBlock: '10.5.1.0/24',
      AvailabilityZone: 'us-east-1a',
      TagSpecifications: tagSpec('subnet', 'sample_public_subnet'),
    });
  });

  it('takes the private CIDR from the plan when the fleet needs a larger block', async () => {
    // Prepare: 4 Cassandra nodes and 200 daemons do not fit a /24 (daemons start at .101)
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2Mock.on(CreateSubnetCommand).resolves({ Subnet: { SubnetId: 'subnet-0x' } });
    // Act
    await ensureSubnets(sampleContext({ daemons: 200 }), 'vpc-0abc');
    // Assess
    expect(ec2Mock).toHaveReceivedNthCommandWith(CreateSubnetCommand, 1, {
      CidrBlock: '10.5.2.0/23',
      TagSpecifications: tagSpec('subnet', 'sample_private_subnet'),
    });
    expect(ec2Mock).toHaveReceivedNthCommandWith(CreateSubnetCommand, 2, { CidrBlock: '10.5.1.0/24' });
  });

  it('returns existing subnets without any mutating call', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        existing('sample_public_subnet', 'subnet-0pub', '10.5.1.0/24'),
        existing('sample_private_subnet', 'subnet-0priv', '10.5.0.0/24'),
      ],
    });
    // Act
    const result = await ensureSubnets(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({ privateSubnetId: 'subnet-0priv', publicSubnetId: 'subnet-0pub' });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateSubnetCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSubnetCommand);
    expect(mutatingCalls(ec2Mock)).toEqual([]);
  });

  it('creates only the missing subnet', async () => {
    // Prepare
    ec2Mock
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [existing('sample_private_subnet', 'subnet-0priv', '10.5.0.0/24')] });
    ec2Mock.on(CreateSubnetCommand).resolves({ Subnet: { SubnetId: 'subnet-0pub' } });
    // Act
    const result = await ensureSubnets(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({ privateSubnetId: 'subnet-0priv', publicSubnetId: 'subnet-0pub' });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateSubnetCommand, { CidrBlock: '10.5.1.0/24' });
  });

  it('refuses an existing subnet in another zone as a ResourceConflict', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [existing('sample_private_subnet', 'subnet-0priv', '10.5.0.0/24', 'us-east-1b')],
    });
    // Act
    const cause = await expectNamedError(ensureSubnets(sampleContext(), 'vpc-0abc'), 'ResourceConflict', {
      resource: 'subnet sample_private_subnet',
      id: 'subnet-0priv',
    });
    // Assess
    expect(cause.message).toContain('us-east-1b');
    expect(cause.hint).toContain('`capi-deploy delete sample`');
    expect(ec2Mock).not.toHaveReceivedCommand(CreateSubnetCommand);
  });

  it('turns a CreateSubnet error into ProvisioningFailed naming the subnet', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2Mock
      .on(CreateSubnetCommand)
      .rejects(awsError('InvalidSubnet.Conflict', "The CIDR '10.5.0.0/24' conflicts with another subnet"));
    // Act
    const cause = await expectNamedError(ensureSubnets(sampleContext(), 'vpc-0abc'), 'ProvisioningFailed', {
      resource: 'subnet sample_private_subnet',
      awsError: 'InvalidSubnet.Conflict',
      message: "The CIDR '10.5.0.0/24' conflicts with another subnet",
    });
    // Assess
    expect(cause.hint).toMatch(/re-run create/);
  });

  it('names the VPC when the describe is denied', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).rejects(awsError('UnauthorizedOperation'));
    // Act + Assess
    await expectNamedError(ensureSubnets(sampleContext(), 'vpc-0abc'), 'AccessDenied', {
      resource: 'subnets of sample_network',
      id: 'vpc-0abc',
      awsError: 'UnauthorizedOperation',
    });
  });
});

describe('deleteSubnets', () => {
  it('deletes every subnet of the deployment and treats InvalidSubnetID.NotFound as done', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        existing('sample_private_subnet', 'subnet-0priv', '10.5.0.0/24'),
        existing('sample_public_subnet', 'subnet-0pub', '10.5.1.0/24'),
      ],
    });
    ec2Mock
      .on(DeleteSubnetCommand)
      .resolvesOnce({})
      .rejectsOnce(awsError('InvalidSubnetID.NotFound', "The subnet ID 'subnet-0pub' does not exist"));
    // Act
    const result = await deleteSubnets(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['subnet-0priv', 'subnet-0pub'] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSubnetsCommand, { Filters: ownFilters });
    expect(ec2Mock).toHaveReceivedNthCommandWith(DeleteSubnetCommand, 2, { SubnetId: 'subnet-0pub' });
  });

  it('turns DependencyViolation into our DependencyViolation naming the subnet', async () => {
    // Prepare
    ec2Mock
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [existing('sample_private_subnet', 'subnet-0priv', '10.5.0.0/24')] });
    ec2Mock.on(DeleteSubnetCommand).rejects(awsError('DependencyViolation'));
    // Act + Assess
    await expectNamedError(deleteSubnets(sampleContext()), 'DependencyViolation', {
      resource: 'subnet sample_private_subnet',
      id: 'subnet-0priv',
      awsError: 'DependencyViolation',
    });
  });
});

describe('subnets handler', () => {
  it('ensures both subnets through the handler', async () => {
    // Prepare
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2Mock.on(CreateSubnetCommand).resolves({ Subnet: { SubnetId: 'subnet-0h' } });
    // Act
    const result = await handler({ action: 'ensure', spec: RAW_SPEC, vpcId: 'vpc-0h' });
    // Assess
    expect(result).toEqual({ privateSubnetId: 'subnet-0h', publicSubnetId: 'subnet-0h' });
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateSubnetCommand, 2);
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'resize', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of subnets',
    });
    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('rejects an ensure without a VPC id', async () => {
    // Act
    const cause = await expectNamedError(handler({ action: 'ensure', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of subnets',
    });
    // Assess
    expect(cause.message).toMatch(/vpcId/);
  });
});
