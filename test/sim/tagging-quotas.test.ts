import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it, vi } from 'vitest';
import { OPERATOR_ACCESS_KEY } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { openAccount } from '../../src/sim/services/index.js';
import { setVcpuQuota, vcpuQuota } from '../../src/sim/services/quotas.js';

// A stand-in for the EC2 simulator: the tagging simulator reads its state generically (collections of tagged entries).
vi.mock('../../src/sim/services/ec2.js', () => ({
  ec2Simulator: { name: 'EC2', initialState: () => ({}), operations: {} },
  refreshEc2: () => undefined,
  subnetHasInternetRoute: () => null,
  UBUNTU_AMIS: {},
}));

const START = Date.parse('2026-01-05T10:00:00Z');
const credentials = { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' };
const ARN = 'arn:aws:ec2:us-east-1:123456789012';

const tags = (name: string, deployment = 'demo') => [
  { Key: 'Name', Value: name },
  { Key: 'DeploymentName', Value: deployment },
  { Key: 'DeploymentOperator', Value: 'capideploy' },
];

function setup() {
  const account = openAccount(null, { documents: {}, callLatency: false });
  Object.assign(account.stateOf<Record<string, unknown>>('EC2'), {
    vpcs: {
      'vpc-00000000000000001': {
        VpcId: 'vpc-00000000000000001',
        State: 'available',
        Tags: tags('demo_network'),
      },
    },
    subnets: {
      'subnet-00000000000000002': {
        SubnetId: 'subnet-00000000000000002',
        VpcId: 'vpc-00000000000000001',
        Tags: tags('demo_private_subnet'),
      },
    },
    natGateways: {
      'nat-00000000000000003': {
        NatGatewayId: 'nat-00000000000000003',
        State: 'deleted',
        Tags: tags('demo_natgw'),
      },
      'nat-00000000000000004': {
        NatGatewayId: 'nat-00000000000000004',
        State: 'available',
        Tags: tags('demo_natgw'),
      },
    },
    addresses: {
      'eipalloc-00000000000000005': {
        AllocationId: 'eipalloc-00000000000000005',
        InstanceId: 'i-00000000000000006',
        Tags: tags('demo_bastion_ip'),
      },
    },
    instances: {
      'i-00000000000000006': {
        InstanceId: 'i-00000000000000006',
        State: { Name: 'running' },
        Tags: tags('demo-bastion'),
      },
      'i-00000000000000007': {
        InstanceId: 'i-00000000000000007',
        State: { Name: 'terminated' },
        Tags: tags('demo-old'),
      },
      'i-00000000000000008': {
        InstanceId: 'i-00000000000000008',
        State: { Name: 'running' },
        Tags: tags('other-x', 'other'),
      },
      'i-00000000000000009': { InstanceId: 'i-00000000000000009', State: { Name: 'running' }, Tags: [] },
    },
  });
  const client = <T extends { middlewareStack: any; config: any }>(made: T) => {
    attachSimulator(made, account);
    return made;
  };
  return {
    account,
    tagging: client(new ResourceGroupsTaggingAPIClient({ region: 'us-east-1', credentials, maxAttempts: 1 })),
    quotas: client(new ServiceQuotasClient({ region: 'us-east-1', credentials, maxAttempts: 1 })),
    ssm: client(new SSMClient({ region: 'us-east-1', credentials, maxAttempts: 1 })),
    iam: client(new IAMClient({ region: 'us-east-1', credentials, maxAttempts: 1 })),
  };
}

const demoFilters = [
  { Key: 'DeploymentName', Values: ['demo'] },
  { Key: 'DeploymentOperator', Values: ['capideploy'] },
];

describe('Resource Groups Tagging API', () => {
  it('lists the live tagged EC2 resources and SSM parameters of a deployment, not IAM roles', async () => {
    const { tagging, ssm, iam } = setup();
    const { result } = await runInVirtualTime(START, async () => {
      await ssm.send(
        new PutParameterCommand({
          Name: '/capideploy/demo/cassandra/password',
          Value: 'x',
          Type: 'SecureString',
          Tags: tags('/capideploy/demo/cassandra/password'),
        }),
      );
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'capideploy-demo-instance',
          AssumeRolePolicyDocument: '{}',
          Tags: tags('r'),
        }),
      );
      return tagging.send(new GetResourcesCommand({ TagFilters: demoFilters }));
    });
    expect(result.ResourceTagMappingList?.map((resource) => resource.ResourceARN)).toEqual([
      `${ARN}:vpc/vpc-00000000000000001`,
      `${ARN}:subnet/subnet-00000000000000002`,
      `${ARN}:natgateway/nat-00000000000000004`,
      `${ARN}:elastic-ip/eipalloc-00000000000000005`,
      `${ARN}:instance/i-00000000000000006`,
      'arn:aws:ssm:us-east-1:123456789012:parameter/capideploy/demo/cassandra/password',
    ]);
    expect(result.ResourceTagMappingList?.[0].Tags).toEqual(tags('demo_network'));
    expect(result.PaginationToken).toBe('');
  });

  it('filters by resource type and pages', async () => {
    const { tagging } = setup();
    await runInVirtualTime(START, async () => {
      const vpcs = await tagging.send(
        new GetResourcesCommand({ TagFilters: demoFilters, ResourceTypeFilters: ['ec2:vpc'] }),
      );
      expect(vpcs.ResourceTagMappingList?.map((r) => r.ResourceARN)).toEqual([
        `${ARN}:vpc/vpc-00000000000000001`,
      ]);
      const ssmOnly = await tagging.send(new GetResourcesCommand({ ResourceTypeFilters: ['ssm'] }));
      expect(ssmOnly.ResourceTagMappingList).toEqual([]);

      const arns: string[] = [];
      let PaginationToken: string | undefined;
      let pages = 0;
      do {
        const page = await tagging.send(
          new GetResourcesCommand({ ResourceTypeFilters: ['ec2'], ResourcesPerPage: 2, PaginationToken }),
        );
        arns.push(...(page.ResourceTagMappingList ?? []).map((r) => r.ResourceARN!));
        PaginationToken = page.PaginationToken || undefined;
        pages += 1;
      } while (PaginationToken);
      expect(pages).toBe(3);
      expect(arns).toContain(`${ARN}:instance/i-00000000000000008`);
      expect(arns).not.toContain(`${ARN}:instance/i-00000000000000007`);

      const tooMany = await tagging
        .send(new GetResourcesCommand({ ResourcesPerPage: 101 }))
        .catch((error) => error);
      expect(tooMany.name).toBe('InvalidParameterException');
    });
  });
});

describe('Service Quotas', () => {
  it('reports the EC2 standard On-Demand vCPU quota, settable for tests', async () => {
    const { account, quotas } = setup();
    await runInVirtualTime(START, async () => {
      const get = () =>
        quotas.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' }));
      expect((await get()).Quota).toMatchObject({ QuotaCode: 'L-1216C47A', Value: 1152, ServiceCode: 'ec2' });
      setVcpuQuota(account, 32);
      expect(vcpuQuota(account)).toBe(32);
      expect((await get()).Quota?.Value).toBe(32);
      const unknown = await quotas
        .send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-00000000' }))
        .catch((error) => error);
      expect(unknown.name).toBe('NoSuchResourceException');
    });
  });
});
