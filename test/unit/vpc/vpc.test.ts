import { CreateVpcCommand, DeleteVpcCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/vpc/handler.js';
import { deleteVpcs, ensureVpc, vpcStatus } from '../../../functions/vpc/vpc.js';
import {
  awsError,
  expectNamedError,
  ownFilters,
  RAW_SPEC,
  sampleContext,
  tagSpec,
  VPC_CIDR,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);

beforeEach(() => {
  ec2Mock.reset();
});

describe('ensureVpc', () => {
  it('creates the VPC with the plan CIDR and the deployment tags when none exists', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    ec2Mock.on(CreateVpcCommand).resolves({ Vpc: { VpcId: 'vpc-0new', State: 'pending' } });
    // Act
    const result = await ensureVpc(sampleContext());
    // Assess
    expect(result).toEqual({ vpcId: 'vpc-0new', state: 'pending' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeVpcsCommand, {
      Filters: [...ownFilters, { Name: 'tag:Name', Values: ['sample_network'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateVpcCommand, {
      CidrBlock: VPC_CIDR,
      TagSpecifications: tagSpec('vpc', 'sample_network'),
    });
  });

  it('returns the existing VPC without any mutating call', async () => {
    // Prepare
    ec2Mock
      .on(DescribeVpcsCommand)
      .resolves({ Vpcs: [{ VpcId: 'vpc-0old', State: 'available', CidrBlock: VPC_CIDR }] });
    // Act
    const result = await ensureVpc(sampleContext());
    // Assess
    expect(result).toEqual({ vpcId: 'vpc-0old', state: 'available' });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateVpcCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteVpcCommand);
    expect(ec2Mock.calls()).toHaveLength(1);
  });

  it('refuses an existing VPC with another CIDR as a ResourceConflict', async () => {
    // Prepare
    ec2Mock
      .on(DescribeVpcsCommand)
      .resolves({ Vpcs: [{ VpcId: 'vpc-0odd', State: 'available', CidrBlock: '10.9.0.0/16' }] });
    // Act
    const cause = await expectNamedError(ensureVpc(sampleContext()), 'ResourceConflict', {
      resource: 'VPC sample_network',
      id: 'vpc-0odd',
    });
    // Assess
    expect(cause.message).toContain('10.9.0.0/16');
    expect(cause.hint).toContain(
      '`capi-deploy delete sample`, or in local mode `capi-deploy delete sample --local`',
    );
    expect(ec2Mock).not.toHaveReceivedCommand(CreateVpcCommand);
  });

  it('turns a VpcLimitExceeded from CreateVpc into ProvisioningFailed with the limit hint', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({});
    ec2Mock
      .on(CreateVpcCommand)
      .rejects(awsError('VpcLimitExceeded', 'The maximum number of VPCs has been reached.'));
    // Act
    const cause = await expectNamedError(ensureVpc(sampleContext()), 'ProvisioningFailed', {
      resource: 'VPC sample_network',
      id: null,
      awsError: 'VpcLimitExceeded',
      message: 'The maximum number of VPCs has been reached.',
    });
    // Assess
    expect(cause.hint).toMatch(/VPC limit/);
  });

  it('turns throttling of the describe into Throttled', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).rejects(awsError('RequestLimitExceeded'));
    // Act + Assess
    await expectNamedError(ensureVpc(sampleContext()), 'Throttled', {
      resource: 'VPC sample_network',
      awsError: 'RequestLimitExceeded',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateVpcCommand);
  });
});

describe('vpcStatus', () => {
  it('reports the state of the VPC by id', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0abc', State: 'available' }] });
    // Act
    const result = await vpcStatus(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({ vpcId: 'vpc-0abc', state: 'available' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeVpcsCommand, { VpcIds: ['vpc-0abc'] });
  });

  it('names the VPC id when the describe fails', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).rejects(awsError('InternalError'));
    // Act + Assess
    await expectNamedError(vpcStatus(sampleContext(), 'vpc-0abc'), 'ServiceUnavailable', {
      resource: 'VPC sample_network',
      id: 'vpc-0abc',
      awsError: 'InternalError',
    });
  });
});

describe('deleteVpcs', () => {
  it('deletes every VPC tagged for the deployment', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-01' }, { VpcId: 'vpc-02' }] });
    ec2Mock.on(DeleteVpcCommand).resolves({});
    // Act
    const result = await deleteVpcs(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['vpc-01', 'vpc-02'] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeVpcsCommand, { Filters: ownFilters });
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteVpcCommand, 2);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteVpcCommand, { VpcId: 'vpc-02' });
  });

  it('treats InvalidVpcID.NotFound as already deleted', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0gone' }] });
    ec2Mock.on(DeleteVpcCommand).rejects(awsError('InvalidVpcID.NotFound'));
    // Act
    const result = await deleteVpcs(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['vpc-0gone'] });
    expect(ec2Mock).toHaveReceivedCommandOnce(DeleteVpcCommand);
  });

  it('turns DependencyViolation into our retryable DependencyViolation naming the VPC', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0busy' }] });
    ec2Mock
      .on(DeleteVpcCommand)
      .rejects(
        awsError('DependencyViolation', "The vpc 'vpc-0busy' has dependencies and cannot be deleted."),
      );
    // Act + Assess
    await expectNamedError(deleteVpcs(sampleContext()), 'DependencyViolation', {
      resource: 'VPC sample_network',
      id: 'vpc-0busy',
      awsError: 'DependencyViolation',
      message: "The vpc 'vpc-0busy' has dependencies and cannot be deleted.",
    });
  });

  it('deletes nothing when no VPC is tagged for the deployment', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    // Act
    const result = await deleteVpcs(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteVpcCommand);
  });
});

describe('vpc handler', () => {
  it('ensures the VPC through the handler with clients it builds itself', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    ec2Mock.on(CreateVpcCommand).resolves({ Vpc: { VpcId: 'vpc-0h', State: 'pending' } });
    // Act
    const result = await handler({ action: 'ensure', spec: RAW_SPEC });
    // Assess
    expect(result).toEqual({ vpcId: 'vpc-0h', state: 'pending' });
    expect(ec2Mock).toHaveReceivedCommandWith(CreateVpcCommand, { CidrBlock: VPC_CIDR });
  });

  it('polls the status through the handler', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0h', State: 'available' }] });
    // Act
    const result = await handler({ action: 'status', spec: RAW_SPEC, vpcId: 'vpc-0h' });
    // Assess
    expect(result).toEqual({ vpcId: 'vpc-0h', state: 'available' });
  });

  it('rejects an unknown action with InvalidSpec before any AWS call', async () => {
    // Act
    const cause = await expectNamedError(handler({ action: 'recreate', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of vpc',
    });
    // Assess
    expect(cause.message).toMatch(/action/);
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('rejects a status poll without a VPC id', async () => {
    // Act
    const cause = await expectNamedError(
      handler({ action: 'status', spec: RAW_SPEC, vpcId: 'subnet-0x' }),
      'InvalidSpec',
      { resource: 'input of vpc' },
    );
    // Assess
    expect(cause.message).toMatch(/vpcId/);
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
