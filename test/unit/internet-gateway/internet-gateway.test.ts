import {
  AttachInternetGatewayCommand,
  type AttachmentStatus,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  DetachInternetGatewayCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/internet-gateway/handler.js';
import {
  deleteInternetGateways,
  ensureInternetGateway,
} from '../../../functions/internet-gateway/internet-gateway.js';
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

beforeEach(() => {
  ec2Mock.reset();
});

describe('ensureInternetGateway', () => {
  it('creates the gateway with the deployment tags and attaches it to the VPC', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({ InternetGateways: [] });
    ec2Mock
      .on(CreateInternetGatewayCommand)
      .resolves({ InternetGateway: { InternetGatewayId: 'igw-0new', Attachments: [] } });
    ec2Mock.on(AttachInternetGatewayCommand).resolves({});
    // Act
    const result = await ensureInternetGateway(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({ internetGatewayId: 'igw-0new' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInternetGatewaysCommand, {
      Filters: [...ownFilters, { Name: 'tag:Name', Values: ['sample_router'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateInternetGatewayCommand, {
      TagSpecifications: tagSpec('internet-gateway', 'sample_router'),
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AttachInternetGatewayCommand, {
      InternetGatewayId: 'igw-0new',
      VpcId: 'vpc-0abc',
    });
  });

  it.each(['available', 'attached'])(
    'makes no mutating call when the gateway exists and is attached (state %s)',
    async (State) => {
      // Prepare
      ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
        InternetGateways: [
          {
            InternetGatewayId: 'igw-0old',
            Attachments: [{ VpcId: 'vpc-0abc', State: State as AttachmentStatus }],
          },
        ],
      });
      // Act
      const result = await ensureInternetGateway(sampleContext(), 'vpc-0abc');
      // Assess
      expect(result).toEqual({ internetGatewayId: 'igw-0old' });
      expect(mutatingCalls(ec2Mock)).toEqual([]);
      expect(ec2Mock.calls().length).toBeGreaterThan(0);
    },
  );

  it('only attaches an existing detached gateway', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
      InternetGateways: [
        { InternetGatewayId: 'igw-0old', Attachments: [{ VpcId: 'vpc-0prev', State: 'detached' }] },
      ],
    });
    ec2Mock.on(AttachInternetGatewayCommand).resolves({});
    // Act
    await ensureInternetGateway(sampleContext(), 'vpc-0abc');
    // Assess
    expect(ec2Mock).not.toHaveReceivedCommand(CreateInternetGatewayCommand);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AttachInternetGatewayCommand, {
      InternetGatewayId: 'igw-0old',
      VpcId: 'vpc-0abc',
    });
  });

  it('refuses a gateway attached to another VPC as a ResourceConflict', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
      InternetGateways: [
        {
          InternetGatewayId: 'igw-0old',
          Attachments: [{ VpcId: 'vpc-0other', State: 'available' as AttachmentStatus }],
        },
      ],
    });
    // Act
    const cause = await expectNamedError(
      ensureInternetGateway(sampleContext(), 'vpc-0abc'),
      'ResourceConflict',
      { resource: 'internet gateway sample_router', id: 'igw-0old' },
    );
    // Assess
    expect(cause.message).toContain('vpc-0other');
    expect(cause.hint).toContain(
      '`aws ec2 detach-internet-gateway --region us-east-1 --internet-gateway-id igw-0old --vpc-id vpc-0other`',
    );
    expect(ec2Mock).not.toHaveReceivedCommand(AttachInternetGatewayCommand);
  });

  it('turns an attach error into ProvisioningFailed naming the gateway id', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({ InternetGateways: [] });
    ec2Mock
      .on(CreateInternetGatewayCommand)
      .resolves({ InternetGateway: { InternetGatewayId: 'igw-0new', Attachments: [] } });
    ec2Mock
      .on(AttachInternetGatewayCommand)
      .rejects(awsError('InvalidVpcID.NotFound', "The vpc ID 'vpc-0abc' does not exist"));
    // Act + Assess
    await expectNamedError(ensureInternetGateway(sampleContext(), 'vpc-0abc'), 'ProvisioningFailed', {
      resource: 'internet gateway sample_router',
      id: 'igw-0new',
      awsError: 'InvalidVpcID.NotFound',
      message: "The vpc ID 'vpc-0abc' does not exist",
    });
  });
});

describe('deleteInternetGateways', () => {
  it('detaches and deletes every gateway of the deployment', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
      InternetGateways: [
        {
          InternetGatewayId: 'igw-01',
          Attachments: [{ VpcId: 'vpc-0abc', State: 'available' as AttachmentStatus }],
        },
      ],
    });
    ec2Mock.on(DetachInternetGatewayCommand).resolves({});
    ec2Mock.on(DeleteInternetGatewayCommand).resolves({});
    // Act
    const result = await deleteInternetGateways(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['igw-01'] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInternetGatewaysCommand, { Filters: ownFilters });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DetachInternetGatewayCommand, {
      InternetGatewayId: 'igw-01',
      VpcId: 'vpc-0abc',
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteInternetGatewayCommand, {
      InternetGatewayId: 'igw-01',
    });
  });

  it('goes on when the gateway is no longer attached or already gone', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
      InternetGateways: [
        {
          InternetGatewayId: 'igw-01',
          Attachments: [{ VpcId: 'vpc-0abc', State: 'available' as AttachmentStatus }],
        },
      ],
    });
    ec2Mock.on(DetachInternetGatewayCommand).rejects(awsError('Gateway.NotAttached'));
    ec2Mock.on(DeleteInternetGatewayCommand).rejects(awsError('InvalidInternetGatewayID.NotFound'));
    // Act
    const result = await deleteInternetGateways(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['igw-01'] });
    expect(ec2Mock).toHaveReceivedCommandOnce(DeleteInternetGatewayCommand);
  });

  it('turns a DependencyViolation of the detach into our DependencyViolation, before deleting', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
      InternetGateways: [
        {
          InternetGatewayId: 'igw-01',
          Attachments: [{ VpcId: 'vpc-0abc', State: 'available' as AttachmentStatus }],
        },
      ],
    });
    ec2Mock
      .on(DetachInternetGatewayCommand)
      .rejects(awsError('DependencyViolation', 'Network vpc-0abc has some mapped public address(es).'));
    // Act
    await expectNamedError(deleteInternetGateways(sampleContext()), 'DependencyViolation', {
      resource: 'internet gateway sample_router',
      id: 'igw-01',
      awsError: 'DependencyViolation',
      message: 'Network vpc-0abc has some mapped public address(es).',
    });
    // Assess
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteInternetGatewayCommand);
  });
});

describe('internet-gateway handler', () => {
  it('ensures the gateway through the handler', async () => {
    // Prepare
    ec2Mock.on(DescribeInternetGatewaysCommand).resolves({
      InternetGateways: [
        {
          InternetGatewayId: 'igw-0h',
          Attachments: [{ VpcId: 'vpc-0h', State: 'available' as AttachmentStatus }],
        },
      ],
    });
    // Act
    const result = await handler({ action: 'ensure', spec: RAW_SPEC, vpcId: 'vpc-0h' });
    // Assess
    expect(result).toEqual({ internetGatewayId: 'igw-0h' });
    expect(ec2Mock).not.toHaveReceivedCommand(AttachInternetGatewayCommand);
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'attach', spec: RAW_SPEC, vpcId: 'vpc-0h' }), 'InvalidSpec', {
      resource: 'input of internet-gateway',
    });
    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
