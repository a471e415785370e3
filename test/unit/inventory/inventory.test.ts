import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNatGatewaysCommand,
  DescribeSubnetsCommand,
  type DescribeSubnetsCommandInput,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/inventory/handler.js';
import { checkLeftovers, listResources, parseArn } from '../../../functions/inventory/inventory.js';
import { awsError, expectNamedError, RAW_SPEC, sampleContext } from '../helpers.js';

const ec2Mock = mockClient(EC2Client);
const iamMock = mockClient(IAMClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const logsMock = mockClient(CloudWatchLogsClient);

const ARN = 'arn:aws:ec2:us-east-1:111122223333';
const named = (Value: string) => [{ Key: 'Name', Value }];

function tagged(...arns: string[]) {
  taggingMock
    .on(GetResourcesCommand)
    .resolves({ ResourceTagMappingList: arns.map((ResourceARN) => ({ ResourceARN })) });
}

function noIdentity() {
  iamMock.on(GetRoleCommand).rejects(awsError('NoSuchEntity'));
  iamMock.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity'));
}

beforeEach(() => {
  ec2Mock.reset();
  iamMock.reset();
  taggingMock.reset();
  logsMock.reset();
  // No log group unless a test says so (the cluster's log group, issue 16).
  logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
});

describe('parseArn', () => {
  it('splits EC2 ARNs and keeps the path of SSM parameters', () => {
    expect(parseArn(`${ARN}:natgateway/nat-0abc`)).toEqual({
      service: 'ec2',
      type: 'natgateway',
      id: 'nat-0abc',
    });
    expect(
      parseArn('arn:aws:ssm:us-east-1:111122223333:parameter/capideploy/sample/cassandra/password'),
    ).toEqual({
      service: 'ssm',
      type: 'parameter',
      id: '/capideploy/sample/cassandra/password',
    });
  });
});

describe('listResources', () => {
  it('lists what the tags find, with state and billing, and the IAM role by name', async () => {
    // Prepare
    tagged(
      `${ARN}:vpc/vpc-0abc`,
      `${ARN}:natgateway/nat-0old`,
      `${ARN}:natgateway/nat-0live`,
      `${ARN}:instance/i-0bastion`,
      `${ARN}:elastic-ip/eipalloc-0nat`,
      'arn:aws:ssm:us-east-1:111122223333:parameter/capideploy/sample/cassandra/password',
    );
    ec2Mock
      .on(DescribeVpcsCommand)
      .resolves({ Vpcs: [{ VpcId: 'vpc-0abc', State: 'available', Tags: named('sample_network') }] });
    ec2Mock.on(DescribeNatGatewaysCommand).resolves({
      NatGateways: [
        { NatGatewayId: 'nat-0old', State: 'deleted', Tags: named('sample_natgw') },
        { NatGatewayId: 'nat-0live', State: 'available', Tags: named('sample_natgw') },
      ],
    });
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0bastion',
              State: { Name: 'stopped' },
              InstanceType: 'c7g.large',
              Tags: named('sample-bastion'),
            },
          ],
        },
      ],
    });
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [
        {
          AllocationId: 'eipalloc-0nat',
          PublicIp: '198.18.0.1',
          Tags: named('sample_natgw_external_ip_name'),
        },
      ],
    });
    iamMock.on(GetRoleCommand).resolves({});
    iamMock.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity'));
    // Act
    const items = await listResources(sampleContext());
    // Assess
    expect(items).toEqual([
      {
        type: 'elastic-ip',
        id: 'eipalloc-0nat',
        name: 'sample_natgw_external_ip_name',
        state: '198.18.0.1',
        billed: true,
      },
      {
        type: 'instance',
        id: 'i-0bastion',
        name: 'sample-bastion',
        state: 'stopped',
        billed: false,
        size: 'c7g.large',
      },
      { type: 'natgateway', id: 'nat-0live', name: 'sample_natgw', state: 'available', billed: true },
      {
        type: 'parameter',
        id: '/capideploy/sample/cassandra/password',
        name: '/capideploy/sample/cassandra/password',
        state: 'SecureString',
        billed: false,
      },
      {
        type: 'role',
        id: 'capideploy-sample-instance',
        name: 'capideploy-sample-instance',
        state: 'present',
        billed: false,
      },
      { type: 'vpc', id: 'vpc-0abc', name: 'sample_network', state: 'available', billed: true },
    ]);
    expect(taggingMock).toHaveReceivedCommandWith(GetResourcesCommand, {
      TagFilters: [
        { Key: 'DeploymentName', Values: ['sample'] },
        { Key: 'DeploymentOperator', Values: ['capideploy'] },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeNatGatewaysCommand, {
      NatGatewayIds: ['nat-0old', 'nat-0live'],
    });
  });

  it('describes one by one when the tagging API still lists a deleted id (NotFound)', async () => {
    // Prepare
    tagged(`${ARN}:subnet/subnet-0gone`, `${ARN}:subnet/subnet-0pub`);
    ec2Mock.on(DescribeSubnetsCommand).callsFake((input: DescribeSubnetsCommandInput) => {
      if (input.SubnetIds?.includes('subnet-0gone')) throw awsError('InvalidSubnetID.NotFound');
      return {
        Subnets: [{ SubnetId: 'subnet-0pub', State: 'available', Tags: named('sample_public_subnet') }],
      };
    });
    noIdentity();
    // Act
    const items = await listResources(sampleContext());
    // Assess
    expect(items).toEqual([
      { type: 'subnet', id: 'subnet-0pub', name: 'sample_public_subnet', state: 'available', billed: true },
    ]);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSubnetsCommand, 3);
  });

  it('follows the tagging pagination token', async () => {
    // Prepare
    taggingMock
      .on(GetResourcesCommand)
      .resolvesOnce({
        ResourceTagMappingList: [{ ResourceARN: `${ARN}:vpc/vpc-0abc` }],
        PaginationToken: 'next',
      })
      .resolvesOnce({ ResourceTagMappingList: [], PaginationToken: '' });
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0abc', State: 'available' }] });
    noIdentity();
    // Act
    const items = await listResources(sampleContext());
    // Assess
    expect(items.map((item) => item.id)).toEqual(['vpc-0abc']);
    expect(taggingMock).toHaveReceivedCommandTimes(GetResourcesCommand, 2);
    expect(taggingMock).toHaveReceivedNthCommandWith(GetResourcesCommand, 2, { PaginationToken: 'next' });
  });

  it('turns a denied describe into AccessDenied naming the resource type', async () => {
    // Prepare
    tagged(`${ARN}:vpc/vpc-0abc`);
    ec2Mock.on(DescribeVpcsCommand).rejects(awsError('UnauthorizedOperation'));
    noIdentity();
    // Act + Assess
    await expectNamedError(listResources(sampleContext()), 'AccessDenied', {
      resource: 'vpcs of sample',
      awsError: 'UnauthorizedOperation',
    });
  });

  it('turns throttling of the tagging API into Throttled', async () => {
    // Prepare
    taggingMock.on(GetResourcesCommand).rejects(awsError('ThrottlingException'));
    // Act + Assess
    await expectNamedError(listResources(sampleContext()), 'Throttled', {
      resource: 'tagged resources of sample',
      awsError: 'ThrottlingException',
    });
  });

  it('turns an IAM lookup failure other than NoSuchEntity into a named error', async () => {
    // Prepare
    tagged();
    iamMock.on(GetRoleCommand).rejects(awsError('ServiceFailure', 'IAM had a problem'));
    iamMock.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity'));
    // Act + Assess
    await expectNamedError(listResources(sampleContext()), 'ProvisioningFailed', {
      resource: 'role capideploy-sample-instance',
      id: 'capideploy-sample-instance',
      awsError: 'ServiceFailure',
      message: 'IAM had a problem',
    });
  });
});

describe('checkLeftovers', () => {
  it('succeeds when nothing is left', async () => {
    // Prepare
    tagged();
    noIdentity();
    // Act
    const result = await checkLeftovers(sampleContext(), {});
    // Assess
    expect(result).toEqual({ settled: true, resources: [] });
  });

  it('fails with ResourcesLeft explaining each leftover with the error of its teardown step', async () => {
    // Prepare
    tagged(`${ARN}:vpc/vpc-0abc`, `${ARN}:natgateway/nat-0live`);
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0abc', State: 'available' }] });
    ec2Mock
      .on(DescribeNatGatewaysCommand)
      .resolves({ NatGateways: [{ NatGatewayId: 'nat-0live', State: 'available' }] });
    noIdentity();
    const vpcCause = JSON.stringify({
      resource: 'VPC sample_network',
      id: 'vpc-0abc',
      awsError: 'DependencyViolation',
      message: 'the VPC has dependencies',
      hint: 'retry',
    });
    // Act
    const cause = await expectNamedError(
      checkLeftovers(sampleContext(), { vpc: { Error: 'DependencyViolation', Cause: vpcCause } }),
      'ResourcesLeft',
      { resource: 'deployment sample' },
    );
    // Assess
    expect(cause.details?.leftovers).toEqual([
      {
        type: 'natgateway',
        id: 'nat-0live',
        name: 'nat-0live',
        state: 'available',
        why: 'still present although its teardown step succeeded',
      },
      {
        type: 'vpc',
        id: 'vpc-0abc',
        name: 'vpc-0abc',
        state: 'available',
        why: 'DependencyViolation (DependencyViolation): the VPC has dependencies',
      },
    ]);
    expect(cause.message).toMatch(/^2 resource\(s\) still left/);
  });
});

describe('inventory handler', () => {
  it('lists through the handler', async () => {
    // Prepare
    tagged(`${ARN}:vpc/vpc-0abc`);
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-0abc', State: 'available' }] });
    noIdentity();
    // Act
    const result = await handler({ action: 'list', spec: RAW_SPEC });
    // Assess
    expect(result).toEqual({
      resources: [{ type: 'vpc', id: 'vpc-0abc', name: 'vpc-0abc', state: 'available', billed: true }],
    });
  });

  it('merges branch errors into the leftover explanation', async () => {
    // Prepare
    tagged(`${ARN}:subnet/subnet-0pub`);
    ec2Mock
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [{ SubnetId: 'subnet-0pub', State: 'available' }] });
    noIdentity();
    // Act
    const cause = await expectNamedError(
      handler({
        action: 'leftovers',
        spec: RAW_SPEC,
        branchErrors: { network: { subnets: { Error: 'Throttled', Cause: 'not json' } } },
      }),
      'ResourcesLeft',
      { resource: 'deployment sample' },
    );
    // Assess
    expect(cause.message).toContain('subnet subnet-0pub (Throttled: not json)');
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'purge', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of inventory',
    });
    // Assess
    expect(taggingMock.calls()).toHaveLength(0);
  });
});
