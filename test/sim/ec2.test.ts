import {
  type _InstanceType,
  AllocateAddressCommand,
  AssociateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateImageCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DeleteVpcCommand,
  DeregisterImageCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DetachVolumeCommand,
  EC2Client,
  type Instance,
  ModifySubnetAttributeCommand,
  ReleaseAddressCommand,
  type ResourceType,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY, SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { LATENCY_SECONDS } from '../../src/sim/latency.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { IMAGE_AFTER_SNAPSHOTS_SECONDS, SNAPSHOT_SECONDS } from '../../src/sim/services/ec2/images.js';
import {
  type Ec2State,
  ec2Simulator,
  refreshEc2,
  subnetHasInternetRoute,
  UBUNTU_AMIS,
} from '../../src/sim/services/ec2.js';
import { iamSimulator } from '../../src/sim/services/iam.js';
import { quotasSimulator, setVcpuQuota } from '../../src/sim/services/quotas.js';

const START = Date.parse('2026-01-05T10:00:00Z');
const credentials = { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' };
const AMD64 = UBUNTU_AMIS['us-east-1/amd64'];
const ARM64 = UBUNTU_AMIS['us-east-1/arm64'];
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

function setup(faults: Partial<FaultRule>[] = []) {
  const rules = faults.map((rule) => ({ times: 1, ...rule }) as FaultRule);
  const account = new SimulatedAccount([ec2Simulator, iamSimulator, quotasSimulator], {
    faults: rules,
    callLatency: false,
  });
  const ec2 = new EC2Client({ region: 'us-east-1', credentials, maxAttempts: 1 });
  const iam = new IAMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
  attachSimulator(ec2, account);
  attachSimulator(iam, account);
  return { account, ec2, iam, state: () => account.stateOf<Ec2State>('EC2') };
}

const wait = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** Runs a test body in virtual time. */
const virtual = (work: () => Promise<void>) => runInVirtualTime(START, work).then(() => undefined);

/** The error `work` rejects with; fails the test when it resolves. */
async function rejection(work: () => Promise<unknown>): Promise<any> {
  return work().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

const named = (type: ResourceType, name: string, deployment = 'demo') => [
  {
    ResourceType: type,
    Tags: [
      { Key: 'Name', Value: name },
      { Key: 'DeploymentName', Value: deployment },
    ],
  },
];

interface Network {
  vpcId: string;
  privateSubnetId: string;
  publicSubnetId: string;
  igwId: string;
  publicTableId: string;
  groupId: string;
}

/** A VPC with a private and a public subnet, an attached internet gateway routed from the public subnet, a group. */
async function network(ec2: EC2Client, zone = 'us-east-1a'): Promise<Network> {
  const vpc = await ec2.send(
    new CreateVpcCommand({ CidrBlock: '10.5.0.0/16', TagSpecifications: named('vpc', 'demo_network') }),
  );
  const vpcId = vpc.Vpc!.VpcId!;
  const subnet = async (cidr: string, name: string) =>
    (
      await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: cidr,
          AvailabilityZone: zone,
          TagSpecifications: named('subnet', name),
        }),
      )
    ).Subnet!.SubnetId!;
  const privateSubnetId = await subnet('10.5.0.0/24', 'demo_private_subnet');
  const publicSubnetId = await subnet('10.5.1.0/24', 'demo_public_subnet');
  const igw = await ec2.send(
    new CreateInternetGatewayCommand({ TagSpecifications: named('internet-gateway', 'demo_igw') }),
  );
  const igwId = igw.InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }));
  const table = await ec2.send(
    new CreateRouteTableCommand({ VpcId: vpcId, TagSpecifications: named('route-table', 'demo_public_rt') }),
  );
  const publicTableId = table.RouteTable!.RouteTableId!;
  await ec2.send(
    new CreateRouteCommand({
      RouteTableId: publicTableId,
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: igwId,
    }),
  );
  await ec2.send(new AssociateRouteTableCommand({ RouteTableId: publicTableId, SubnetId: publicSubnetId }));
  const group = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: 'demo_internal',
      Description: 'internal traffic',
      TagSpecifications: named('security-group', 'demo_internal'),
    }),
  );
  return { vpcId, privateSubnetId, publicSubnetId, igwId, publicTableId, groupId: group.GroupId! };
}

function launch(ec2: EC2Client, net: Network, name: string, extra: Partial<RunInstancesCommandInput> = {}) {
  return ec2.send(
    new RunInstancesCommand({
      ImageId: AMD64,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: net.privateSubnetId,
      SecurityGroupIds: [net.groupId],
      TagSpecifications: named('instance', name),
      ...extra,
    }),
  );
}

async function describeInstance(ec2: EC2Client, id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0].Instances![0];
}

async function natGateway(ec2: EC2Client, net: Network, name = 'demo-natgw', clientToken?: string) {
  const address = await ec2.send(
    new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: named('elastic-ip', `${name}-ip`) }),
  );
  const created = await ec2.send(
    new CreateNatGatewayCommand({
      SubnetId: net.publicSubnetId,
      AllocationId: address.AllocationId,
      ClientToken: clientToken,
      TagSpecifications: named('natgateway', name),
    }),
  );
  return { allocationId: address.AllocationId!, natId: created.NatGateway!.NatGatewayId!, created };
}

const natState = async (ec2: EC2Client, id: string) =>
  (await ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: [id] }))).NatGateways![0];

/** An instance profile with a role in it, created now (usable by EC2 after the propagation delay). */
async function instanceProfile(iam: IAMClient, name = 'demo-instance') {
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
  const profile = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  return profile.InstanceProfile!;
}

describe('EC2 VPCs', () => {
  it('creates a VPC pending, with its main route table and default group, available after the delay', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const created = await ec2.send(
        new CreateVpcCommand({ CidrBlock: '10.5.0.0/16', TagSpecifications: named('vpc', 'demo_network') }),
      );
      const vpcId = created.Vpc!.VpcId!;
      expect(vpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
      expect(created.Vpc).toMatchObject({ State: 'pending', CidrBlock: '10.5.0.0/16', IsDefault: false });

      const tables = await ec2.send(
        new DescribeRouteTablesCommand({
          Filters: [
            { Name: 'vpc-id', Values: [vpcId] },
            { Name: 'association.main', Values: ['true'] },
          ],
        }),
      );
      expect(tables.RouteTables).toHaveLength(1);
      expect(tables.RouteTables![0].Routes).toEqual([
        {
          DestinationCidrBlock: '10.5.0.0/16',
          GatewayId: 'local',
          Origin: 'CreateRouteTable',
          State: 'active',
        },
      ]);
      const groups = await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
      );
      expect(groups.SecurityGroups!.map((group) => group.GroupName)).toEqual(['default']);
      expect(groups.SecurityGroups![0].IpPermissionsEgress![0]).toMatchObject({
        IpProtocol: '-1',
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
      });

      await wait(LATENCY_SECONDS.vpcAvailable);
      const described = await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
      expect(described.Vpcs![0].State).toBe('available');

      await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
      const gone = await rejection(() => ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] })));
      expect(gone.name).toBe('InvalidVpcID.NotFound');
      expect(gone.message).toBe(`The vpc ID '${vpcId}' does not exist`);
      const leftover = await ec2.send(
        new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
      );
      expect(leftover.RouteTables).toEqual([]);
    });
  });

  it('refuses to delete a VPC with subnets, groups, route tables or an attached gateway', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const error = await rejection(() => ec2.send(new DeleteVpcCommand({ VpcId: net.vpcId })));
      expect(error.name).toBe('DependencyViolation');
      expect(error.message).toBe(`The vpc '${net.vpcId}' has dependencies and cannot be deleted.`);

      await ec2.send(new DeleteSubnetCommand({ SubnetId: net.privateSubnetId }));
      await ec2.send(new DeleteSubnetCommand({ SubnetId: net.publicSubnetId }));
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: net.groupId }));
      await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: net.igwId, VpcId: net.vpcId }));
      // The public route table still blocks the deletion.
      expect((await rejection(() => ec2.send(new DeleteVpcCommand({ VpcId: net.vpcId })))).name).toBe(
        'DependencyViolation',
      );
      await ec2.send(new DeleteRouteTableCommand({ RouteTableId: net.publicTableId }));
      await ec2.send(new DeleteVpcCommand({ VpcId: net.vpcId }));
      expect((await ec2.send(new DescribeVpcsCommand({}))).Vpcs).toEqual([]);
    });
  });

  it('rejects subnets outside the VPC or overlapping another, and a sixth VPC', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const overlap = await rejection(() =>
        ec2.send(new CreateSubnetCommand({ VpcId: net.vpcId, CidrBlock: '10.5.0.128/25' })),
      );
      expect(overlap.name).toBe('InvalidSubnet.Conflict');
      expect(overlap.message).toBe("The CIDR '10.5.0.128/25' conflicts with another subnet");
      const outside = await rejection(() =>
        ec2.send(new CreateSubnetCommand({ VpcId: net.vpcId, CidrBlock: '10.6.0.0/24' })),
      );
      expect(outside.name).toBe('InvalidSubnet.Range');
      for (let i = 0; i < 4; i += 1)
        await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${10 + i}.0.0/16` }));
      const sixth = await rejection(() => ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' })));
      expect(sixth.name).toBe('VpcLimitExceeded');
    });
  });
});

describe('EC2 NAT gateways and internet gateways', () => {
  it('takes a NAT gateway from pending to available and, once deleted, frees its elastic IP', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const { natId, allocationId, created } = await natGateway(ec2, net);
      expect(created.NatGateway).toMatchObject({
        State: 'pending',
        VpcId: net.vpcId,
        SubnetId: net.publicSubnetId,
      });
      const address = (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] })))
        .Addresses![0];
      expect(address.AssociationId).toMatch(/^eipassoc-/);
      expect(address.NetworkInterfaceId).toMatch(/^eni-/);
      expect(created.NatGateway!.NatGatewayAddresses![0]).toMatchObject({
        AllocationId: allocationId,
        PublicIp: address.PublicIp,
        NetworkInterfaceId: address.NetworkInterfaceId,
      });

      await wait(LATENCY_SECONDS.natGatewayAvailable - 1);
      expect((await natState(ec2, natId)).State).toBe('pending');
      await wait(1);
      expect((await natState(ec2, natId)).State).toBe('available');

      await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: natId }));
      expect((await natState(ec2, natId)).State).toBe('deleting');
      const inUse = await rejection(() =>
        ec2.send(new ReleaseAddressCommand({ AllocationId: allocationId })),
      );
      expect(inUse.name).toBe('InvalidIPAddress.InUse');
      await wait(LATENCY_SECONDS.natGatewayDeleted);
      const deleted = await natState(ec2, natId);
      expect(deleted.State).toBe('deleted');
      expect(deleted.DeleteTime).toBeInstanceOf(Date);
      await ec2.send(new ReleaseAddressCommand({ AllocationId: allocationId }));
      const released = await rejection(() =>
        ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] })),
      );
      expect(released.name).toBe('InvalidAllocationID.NotFound');

      await wait(3600);
      const purged = await rejection(() => natState(ec2, natId));
      expect(purged.name).toBe('NatGatewayNotFound');
    });
  });

  it('fails a NAT gateway named by a fault rule, and delays one with delaySeconds', async () => {
    const { ec2 } = setup([
      { service: 'EC2', operation: 'CreateNatGateway', target: 'natgw', finalState: 'failed' },
      { service: 'EC2', operation: 'CreateNatGateway', target: 'slow', delaySeconds: 60 },
    ]);
    await virtual(async () => {
      const net = await network(ec2);
      const failing = await natGateway(ec2, net, 'demo-natgw');
      const slow = await natGateway(ec2, net, 'demo-slow');
      await wait(LATENCY_SECONDS.natGatewayAvailable);
      const failed = await natState(ec2, failing.natId);
      expect(failed.State).toBe('failed');
      expect(failed.FailureCode).toBe('InternalError');
      expect(failed.FailureMessage).toBeTruthy();
      const address = (
        await ec2.send(new DescribeAddressesCommand({ AllocationIds: [failing.allocationId] }))
      ).Addresses![0];
      expect(address.AssociationId).toBeUndefined();
      expect((await natState(ec2, slow.natId)).State).toBe('pending');
      await wait(60);
      expect((await natState(ec2, slow.natId)).State).toBe('available');
    });
  });

  it('fails a NAT gateway in a VPC without an internet gateway', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: net.igwId, VpcId: net.vpcId }));
      const { natId } = await natGateway(ec2, net);
      await wait(LATENCY_SECONDS.natGatewayAvailable);
      expect(await natState(ec2, natId)).toMatchObject({
        State: 'failed',
        FailureCode: 'Gateway.NotAttached',
      });
    });
  });

  it('returns the same NAT gateway for a repeated ClientToken, and refuses the token for another request', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const first = await natGateway(ec2, net, 'demo-natgw', 'demo-natgw-0');
      const again = await ec2.send(
        new CreateNatGatewayCommand({
          SubnetId: net.publicSubnetId,
          AllocationId: first.allocationId,
          ClientToken: 'demo-natgw-0',
          TagSpecifications: named('natgateway', 'demo-natgw'),
        }),
      );
      expect(again.NatGateway!.NatGatewayId).toBe(first.natId);
      const other = await rejection(() =>
        ec2.send(
          new CreateNatGatewayCommand({
            SubnetId: net.privateSubnetId,
            AllocationId: first.allocationId,
            ClientToken: 'demo-natgw-0',
          }),
        ),
      );
      expect(other.name).toBe('IdempotentParameterMismatch');
      expect((await ec2.send(new DescribeNatGatewaysCommand({}))).NatGateways).toHaveLength(1);
    });
  });

  it('refuses to detach an internet gateway while a NAT gateway maps a public address', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const { natId } = await natGateway(ec2, net);
      const detach = () =>
        ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: net.igwId, VpcId: net.vpcId }));
      const mapped = await rejection(detach);
      expect(mapped.name).toBe('DependencyViolation');
      expect(mapped.message).toBe(
        `Network ${net.vpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`,
      );
      const attached = await rejection(() =>
        ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: net.igwId })),
      );
      expect(attached.name).toBe('DependencyViolation');

      await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: natId }));
      expect((await rejection(detach)).name).toBe('DependencyViolation');
      await wait(LATENCY_SECONDS.natGatewayDeleted);
      await detach();
      const notAttached = await rejection(detach);
      expect(notAttached.name).toBe('Gateway.NotAttached');
      const listed = await ec2.send(
        new DescribeInternetGatewaysCommand({
          Filters: [{ Name: 'attachment.vpc-id', Values: [net.vpcId] }],
        }),
      );
      expect(listed.InternetGateways).toEqual([]);
      await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: net.igwId }));
    });
  });

  it('refuses to detach an internet gateway while an instance has a public address', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      await ec2.send(
        new ModifySubnetAttributeCommand({
          SubnetId: net.publicSubnetId,
          MapPublicIpOnLaunch: { Value: true },
        }),
      );
      const run = await launch(ec2, net, 'demo-bastion', { SubnetId: net.publicSubnetId });
      const id = run.Instances![0].InstanceId!;
      expect(run.Instances![0].PublicIpAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const detach = () =>
        ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: net.igwId, VpcId: net.vpcId }));
      expect((await rejection(detach)).name).toBe('DependencyViolation');
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      expect((await rejection(detach)).name).toBe('DependencyViolation');
      await wait(LATENCY_SECONDS.instanceTerminated);
      await detach();
    });
  });
});

describe('EC2 route tables and internet routes', () => {
  it('says how a subnet reaches the internet: igw, nat once available, or not at all', async () => {
    const { ec2, state } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      expect(subnetHasInternetRoute(state(), net.publicSubnetId, Date.now())).toBe('igw');
      expect(subnetHasInternetRoute(state(), net.privateSubnetId, Date.now())).toBeNull();

      const { natId } = await natGateway(ec2, net);
      const table = await ec2.send(new CreateRouteTableCommand({ VpcId: net.vpcId }));
      const tableId = table.RouteTable!.RouteTableId!;
      await ec2.send(
        new CreateRouteCommand({
          RouteTableId: tableId,
          DestinationCidrBlock: '0.0.0.0/0',
          NatGatewayId: natId,
        }),
      );
      const again = await rejection(() =>
        ec2.send(
          new CreateRouteCommand({
            RouteTableId: tableId,
            DestinationCidrBlock: '0.0.0.0/0',
            NatGatewayId: natId,
          }),
        ),
      );
      expect(again.name).toBe('RouteAlreadyExists');
      await ec2.send(
        new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: net.privateSubnetId }),
      );
      const twice = await rejection(() =>
        ec2.send(
          new AssociateRouteTableCommand({ RouteTableId: net.publicTableId, SubnetId: net.privateSubnetId }),
        ),
      );
      expect(twice.name).toBe('Resource.AlreadyAssociated');
      expect(subnetHasInternetRoute(state(), net.privateSubnetId, Date.now())).toBeNull();
      await wait(LATENCY_SECONDS.natGatewayAvailable);
      expect(subnetHasInternetRoute(state(), net.privateSubnetId, Date.now())).toBe('nat');

      const bySubnet = await ec2.send(
        new DescribeRouteTablesCommand({
          Filters: [{ Name: 'association.subnet-id', Values: [net.privateSubnetId] }],
        }),
      );
      expect(bySubnet.RouteTables!.map((t) => t.RouteTableId)).toEqual([tableId]);

      await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: natId }));
      expect(subnetHasInternetRoute(state(), net.privateSubnetId, Date.now())).toBeNull();
      const blackhole = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] }));
      expect(blackhole.RouteTables![0].Routes!.find((r) => r.NatGatewayId)?.State).toBe('blackhole');
    });
  });

  it('routes a subnet without an explicit association through the main table', async () => {
    const { ec2, state } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const main = await ec2.send(
        new DescribeRouteTablesCommand({
          Filters: [
            { Name: 'vpc-id', Values: [net.vpcId] },
            { Name: 'association.main', Values: ['true'] },
          ],
        }),
      );
      await ec2.send(
        new CreateRouteCommand({
          RouteTableId: main.RouteTables![0].RouteTableId,
          DestinationCidrBlock: '0.0.0.0/0',
          GatewayId: net.igwId,
        }),
      );
      expect(subnetHasInternetRoute(state(), net.privateSubnetId, Date.now())).toBe('igw');
      const busy = await rejection(() =>
        ec2.send(new DeleteRouteTableCommand({ RouteTableId: net.publicTableId })),
      );
      expect(busy.name).toBe('DependencyViolation');
    });
  });
});

describe('EC2 security groups', () => {
  it('refuses a duplicate name, adds and revokes rules with descriptions', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const duplicate = await rejection(() =>
        ec2.send(
          new CreateSecurityGroupCommand({ VpcId: net.vpcId, GroupName: 'demo_internal', Description: 'x' }),
        ),
      );
      expect(duplicate.name).toBe('InvalidGroup.Duplicate');
      expect(duplicate.message).toBe(
        `The security group 'demo_internal' already exists for VPC '${net.vpcId}'`,
      );

      const ssh = {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.5.0.0/16', Description: 'ssh from the VPC' }],
      };
      const added = await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: net.groupId,
          IpPermissions: [
            ssh,
            { IpProtocol: 'tcp', FromPort: 9042, ToPort: 9042, IpRanges: [{ CidrIp: '10.5.0.0/24' }] },
          ],
        }),
      );
      expect(added.SecurityGroupRules).toHaveLength(2);
      expect(added.SecurityGroupRules![0]).toMatchObject({
        SecurityGroupRuleId: expect.stringMatching(/^sgr-/),
        GroupId: net.groupId,
        IsEgress: false,
        IpProtocol: 'tcp',
        FromPort: 22,
        CidrIpv4: '10.5.0.0/16',
        Description: 'ssh from the VPC',
      });
      const duplicateRule = await rejection(() =>
        ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: net.groupId, IpPermissions: [ssh] })),
      );
      expect(duplicateRule.name).toBe('InvalidPermission.Duplicate');

      const rules = await ec2.send(
        new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [net.groupId] }] }),
      );
      expect(rules.SecurityGroupRules!.filter((rule) => !rule.IsEgress)).toHaveLength(2);
      expect(rules.SecurityGroupRules!.filter((rule) => rule.IsEgress)).toHaveLength(1);

      await ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: net.groupId,
          SecurityGroupRuleIds: [added.SecurityGroupRules![1].SecurityGroupRuleId!],
        }),
      );
      await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: net.groupId, IpPermissions: [ssh] }));
      const group = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [net.groupId] })))
        .SecurityGroups![0];
      expect(group.IpPermissions).toEqual([]);
      const missing = await rejection(() =>
        ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: net.groupId, IpPermissions: [ssh] })),
      );
      expect(missing.name).toBe('InvalidPermission.NotFound');
    });
  });

  it('refuses to delete a group used by an instance until it is terminated, and the default group ever', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const id = (await launch(ec2, net, 'demo-rabbitmq')).Instances![0].InstanceId!;
      const inUse = await rejection(() => ec2.send(new DeleteSecurityGroupCommand({ GroupId: net.groupId })));
      expect(inUse.name).toBe('DependencyViolation');
      expect(inUse.message).toBe(`resource ${net.groupId} has a dependent object`);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await wait(LATENCY_SECONDS.instanceTerminated);
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: net.groupId }));

      const defaults = await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }),
      );
      const cannot = await rejection(() =>
        ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaults.SecurityGroups![0].GroupId })),
      );
      expect(cannot.name).toBe('CannotDelete');
    });
  });
});

describe('EC2 instances', () => {
  it('hides a new instance for 2 s, then shows it pending, running, shutting-down and terminated', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const run = await launch(ec2, net, 'demo-prometheus', { PrivateIpAddress: '10.5.0.4' });
      const id = run.Instances![0].InstanceId!;
      expect(run.Instances![0]).toMatchObject({
        State: { Name: 'pending', Code: 0 },
        PrivateIpAddress: '10.5.0.4',
        SubnetId: net.privateSubnetId,
        VpcId: net.vpcId,
        Placement: { AvailabilityZone: 'us-east-1a' },
        SecurityGroups: [{ GroupId: net.groupId, GroupName: 'demo_internal' }],
      });
      expect(run.Instances![0].LaunchTime).toEqual(new Date(START));
      expect(run.Instances![0].PublicIpAddress).toBeUndefined();
      expect(run.Instances![0]).not.toHaveProperty('visibleAt');

      const early = await rejection(() => describeInstance(ec2, id));
      expect(early.name).toBe('InvalidInstanceID.NotFound');
      expect(early.message).toBe(`The instance ID '${id}' does not exist`);
      const filtered = await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['demo-prometheus'] }] }),
      );
      expect(filtered.Reservations).toEqual([]);

      await wait(2);
      expect((await describeInstance(ec2, id)).State?.Name).toBe('pending');
      await wait(LATENCY_SECONDS.instanceRunning);
      const running = await describeInstance(ec2, id);
      expect(running.State).toEqual({ Name: 'running', Code: 16 });
      expect(running.BlockDeviceMappings).toEqual([
        {
          DeviceName: '/dev/sda1',
          Ebs: expect.objectContaining({ Status: 'attached', DeleteOnTermination: true }),
        },
      ]);
      expect(running.MetadataOptions).toMatchObject({ HttpTokens: 'required' });

      const terminating = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      expect(terminating.TerminatingInstances).toEqual([
        {
          InstanceId: id,
          PreviousState: { Name: 'running', Code: 16 },
          CurrentState: { Name: 'shutting-down', Code: 32 },
        },
      ]);
      await wait(LATENCY_SECONDS.instanceTerminated);
      const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      expect(again.TerminatingInstances![0].CurrentState?.Name).toBe('terminated');
      const rootVolumes = await ec2.send(
        new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }),
      );
      expect(rootVolumes.Volumes).toEqual([]);
      // The address is free again once the instance is terminated.
      await launch(ec2, net, 'demo-prometheus-2', { PrivateIpAddress: '10.5.0.4' });

      await wait(3600);
      expect((await rejection(() => describeInstance(ec2, id))).name).toBe('InvalidInstanceID.NotFound');
    });
  });

  it('returns the same reservation for a repeated ClientToken and refuses it with other parameters', async () => {
    const { ec2, state } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const first = await launch(ec2, net, 'demo-cass001', { ClientToken: 'demo-cass001-launch' });
      const second = await launch(ec2, net, 'demo-cass001', { ClientToken: 'demo-cass001-launch' });
      expect(second.ReservationId).toBe(first.ReservationId);
      expect(second.Instances!.map((i) => i.InstanceId)).toEqual(first.Instances!.map((i) => i.InstanceId));
      expect(Object.keys(state().instances)).toHaveLength(1);
      const mismatch = await rejection(() =>
        launch(ec2, net, 'demo-cass001', { ClientToken: 'demo-cass001-launch', InstanceType: 't3.small' }),
      );
      expect(mismatch.name).toBe('IdempotentParameterMismatch');
      expect(Object.keys(state().instances)).toHaveLength(1);
    });
  });

  it('refuses a new instance profile until IAM has propagated it', async () => {
    const { ec2, iam } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const profile = await instanceProfile(iam);
      const early = await rejection(() =>
        launch(ec2, net, 'demo-daemon001', { IamInstanceProfile: { Arn: profile.Arn } }),
      );
      expect(early.name).toBe('InvalidParameterValue');
      expect(early.message).toBe(
        `Value (${profile.Arn}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
      );
      await wait(LATENCY_SECONDS.instanceProfilePropagation);
      const run = await launch(ec2, net, 'demo-daemon001', { IamInstanceProfile: { Name: 'demo-instance' } });
      expect(run.Instances![0].IamInstanceProfile).toEqual({
        Arn: profile.Arn,
        Id: profile.InstanceProfileId,
      });
      const unknown = await rejection(() =>
        launch(ec2, net, 'demo-daemon002', { IamInstanceProfile: { Name: 'no-such-profile' } }),
      );
      expect(unknown.name).toBe('InvalidParameterValue');
    });
  });

  it('refuses a private address in use or outside the subnet, an unknown AMI and a mismatched architecture', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      await launch(ec2, net, 'demo-cass001', { PrivateIpAddress: '10.5.0.11' });
      const inUse = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { PrivateIpAddress: '10.5.0.11' }),
      );
      expect(inUse.name).toBe('InvalidIPAddress.InUse');
      expect(inUse.message).toBe('Address 10.5.0.11 is in use.');
      const outside = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { PrivateIpAddress: '10.5.1.11' }),
      );
      expect(outside.name).toBe('InvalidParameterValue');
      const reserved = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { PrivateIpAddress: '10.5.0.2' }),
      );
      expect(reserved.name).toBe('InvalidParameterValue');
      const ami = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { ImageId: 'ami-0123456789abcdef0' }),
      );
      expect(ami.name).toBe('InvalidAMIID.NotFound');
      expect(ami.message).toBe("The image id '[ami-0123456789abcdef0]' does not exist");
      const arch = await rejection(() => launch(ec2, net, 'demo-cass002', { InstanceType: 'c7g.large' }));
      expect(arch.name).toBe('InvalidParameterValue');
      expect(arch.message).toBe(
        "The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.",
      );
      const x86OnArm = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { ImageId: ARM64, InstanceType: 't3.micro' }),
      );
      expect(x86OnArm.message).toMatch(
        /^The architecture 'x86_64' of the specified instance type does not match the architecture 'arm64' of the specified AMI\./,
      );
      // A real Graviton type the simulated catalogue does not offer still fails on its architecture, as on AWS.
      const uncatalogued = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { InstanceType: 'm7g.large' as _InstanceType }),
      );
      expect(uncatalogued.name).toBe('InvalidParameterValue');
      expect(uncatalogued.message).toMatch(/^The architecture 'arm64' of the specified instance type/);
      const type = await rejection(() =>
        launch(ec2, net, 'demo-cass002', { InstanceType: 'x9.huge' as _InstanceType }),
      );
      expect(type.name).toBe('InvalidParameterValue');
    });
  });

  it('refuses MetadataOptions out of range, launching nothing, and keeps those in range', async () => {
    const { ec2, state } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const refused = await Promise.all(
        (
          [
            { HttpPutResponseHopLimit: 65 },
            { HttpPutResponseHopLimit: 0 },
            { HttpTokens: 'bogus' },
            { HttpEndpoint: 'on' },
            { HttpProtocolIpv6: 'yes' },
            { InstanceMetadataTags: 'maybe' },
          ] as RunInstancesCommandInput['MetadataOptions'][]
        ).map((MetadataOptions) => rejection(() => launch(ec2, net, 'demo-cass001', { MetadataOptions }))),
      );
      expect(refused.map((error) => error.name)).toEqual(Array(6).fill('InvalidParameterValue'));
      expect(refused[0].message).toBe(
        'Value (65) for parameter HttpPutResponseHopLimit is invalid. Valid values are between 1 and 64.',
      );
      expect(refused[2].message).toBe(
        'Value (bogus) for parameter HttpTokens is invalid. Valid values are: optional, required.',
      );
      expect(refused[3].message).toContain('parameter HttpEndpoint is invalid');
      expect(Object.keys(state().instances)).toEqual([]);

      const metadata = {
        HttpPutResponseHopLimit: 64,
        HttpTokens: 'optional',
        HttpEndpoint: 'disabled',
      } as const;
      const ok = await launch(ec2, net, 'demo-cass001', { MetadataOptions: metadata });
      expect(ok.Instances![0].MetadataOptions).toMatchObject(metadata);
    });
  });

  it('refuses instances past the vCPU quota, and counts terminated ones out', async () => {
    const { ec2, account } = setup();
    setVcpuQuota(account, 10);
    await virtual(async () => {
      const net = await network(ec2);
      const big = await launch(ec2, net, 'demo-cass001', { InstanceType: 'c6a.2xlarge' });
      await launch(ec2, net, 'demo-rabbitmq');
      const over = await rejection(() => launch(ec2, net, 'demo-cass002', { InstanceType: 'c6a.large' }));
      expect(over.name).toBe('VcpuLimitExceeded');
      expect(over.message).toContain('current vCPU limit of 10');
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [big.Instances![0].InstanceId!] }));
      await launch(ec2, net, 'demo-cass002', { InstanceType: 'c6a.large' });
    });
  });

  it('fails the launch of the instance a fault rule names, and lengthens boots with delaySeconds', async () => {
    const { ec2 } = setup([
      { service: 'EC2', operation: 'RunInstances', target: 'cass002', finalState: 'failed' },
      { service: 'EC2', operation: 'RunInstances', target: 'cass003', delaySeconds: 30 },
    ]);
    await virtual(async () => {
      const net = await network(ec2);
      const ids: string[] = [];
      for (const name of ['demo-cass001', 'demo-cass002', 'demo-cass003']) {
        ids.push((await launch(ec2, net, name)).Instances![0].InstanceId!);
      }
      await wait(LATENCY_SECONDS.instanceRunning);
      const [ok, failed, slow] = await Promise.all(ids.map((id) => describeInstance(ec2, id)));
      expect(ok.State?.Name).toBe('running');
      expect(failed.State?.Name).toBe('terminated');
      expect(failed.StateReason).toEqual({
        Code: 'Server.InternalError',
        Message: 'Server.InternalError: Internal error on launch',
      });
      expect(slow.State?.Name).toBe('pending');
      await wait(30);
      expect((await describeInstance(ec2, ids[2])).State?.Name).toBe('running');
    });
  });

  it('pages DescribeInstances and refuses MaxResults with InstanceIds', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const run = await launch(ec2, net, 'demo-daemon', { MinCount: 7, MaxCount: 7 });
      expect(new Set(run.Instances!.map((i) => i.PrivateIpAddress)).size).toBe(7);
      await wait(2);
      const first = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }));
      expect(first.Reservations![0].Instances).toHaveLength(5);
      expect(first.NextToken).toBeTruthy();
      const second = await ec2.send(
        new DescribeInstancesCommand({ MaxResults: 5, NextToken: first.NextToken }),
      );
      expect(second.Reservations![0].Instances).toHaveLength(2);
      expect(second.NextToken).toBeUndefined();
      expect(second.Reservations![0].ReservationId).toBe(run.ReservationId);
      const combination = await rejection(() =>
        ec2.send(
          new DescribeInstancesCommand({ InstanceIds: [run.Instances![0].InstanceId!], MaxResults: 5 }),
        ),
      );
      expect(combination.name).toBe('InvalidParameterCombination');
    });
  });

  it('filters instances by tags, tag keys, state and private address', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      await launch(ec2, net, 'demo-cass001', { PrivateIpAddress: '10.5.0.11' });
      await launch(ec2, net, 'demo-cass002', { PrivateIpAddress: '10.5.0.12' });
      await launch(ec2, net, 'other-cass001', {
        TagSpecifications: named('instance', 'other-cass001', 'other'),
      });
      await wait(2);
      const names = async (filters: { Name: string; Values: string[] }[]) =>
        (await ec2.send(new DescribeInstancesCommand({ Filters: filters })))
          .Reservations!.flatMap((r) => r.Instances!)
          .map((i) => i.Tags!.find((t) => t.Key === 'Name')!.Value)
          .sort();
      expect(await names([{ Name: 'tag:Name', Values: ['demo-cass*'] }])).toEqual([
        'demo-cass001',
        'demo-cass002',
      ]);
      expect(
        await names([
          { Name: 'tag:DeploymentName', Values: ['demo'] },
          { Name: 'private-ip-address', Values: ['10.5.0.12'] },
        ]),
      ).toEqual(['demo-cass002']);
      expect(await names([{ Name: 'tag-key', Values: ['DeploymentName'] }])).toHaveLength(3);
      expect(await names([{ Name: 'instance-state-name', Values: ['running'] }])).toEqual([]);
      const bad = await rejection(() => names([{ Name: 'no-such-filter', Values: ['x'] }]));
      expect(bad.name).toBe('InvalidParameterValue');
    });
  });

  it('applies a fault rule with a target to calls that name the resource by id', async () => {
    const { ec2 } = setup([
      { service: 'EC2', operation: 'TerminateInstances', target: 'cass001', error: 'InternalError' },
    ]);
    await virtual(async () => {
      const net = await network(ec2);
      const other = (await launch(ec2, net, 'demo-cass002')).Instances![0].InstanceId!;
      const id = (await launch(ec2, net, 'demo-cass001')).Instances![0].InstanceId!;
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [other] }));
      const error = await rejection(() => ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
      expect(error.name).toBe('InternalError');
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    });
  });
});

describe('EC2 elastic IPs', () => {
  it('associates an address with a running instance only, and refuses to release it while associated', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const id = (await launch(ec2, net, 'demo-bastion', { SubnetId: net.publicSubnetId })).Instances![0]
        .InstanceId!;
      const address = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      const associate = () =>
        ec2.send(new AssociateAddressCommand({ AllocationId: address.AllocationId, InstanceId: id }));
      expect((await rejection(associate)).name).toBe('IncorrectInstanceState');
      await wait(LATENCY_SECONDS.instanceRunning);
      const associated = await associate();
      expect(associated.AssociationId).toMatch(/^eipassoc-/);
      expect((await describeInstance(ec2, id)).PublicIpAddress).toBe(address.PublicIp);
      const inUse = await rejection(() =>
        ec2.send(new ReleaseAddressCommand({ AllocationId: address.AllocationId })),
      );
      expect(inUse.name).toBe('InvalidIPAddress.InUse');
      const unknown = await rejection(() =>
        ec2.send(new ReleaseAddressCommand({ AllocationId: 'eipalloc-0000000000000dead' })),
      );
      expect(unknown.name).toBe('InvalidAllocationID.NotFound');
      // Terminating the instance frees the address.
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await wait(LATENCY_SECONDS.instanceTerminated);
      await ec2.send(new ReleaseAddressCommand({ AllocationId: address.AllocationId }));
    });
  });

  it('allows five addresses per region', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      for (let i = 0; i < 5; i += 1) await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      expect((await rejection(() => ec2.send(new AllocateAddressCommand({ Domain: 'vpc' })))).name).toBe(
        'AddressLimitExceeded',
      );
    });
  });
});

describe('EC2 volumes', () => {
  it('creates, attaches, refuses to delete while attached, detaches and deletes a volume', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      const id = (await launch(ec2, net, 'demo-cass001')).Instances![0].InstanceId!;
      const volume = await ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: 'us-east-1a',
          Size: 20,
          VolumeType: 'gp3',
          Encrypted: true,
          TagSpecifications: named('volume', 'demo-cass001-data'),
        }),
      );
      const volumeId = volume.VolumeId!;
      expect(volume).toMatchObject({ State: 'creating', Size: 20, Encrypted: true, Iops: 3000 });
      const attach = () =>
        ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: id, Device: '/dev/sdf' }));
      expect((await rejection(attach)).name).toBe('IncorrectState');
      await wait(LATENCY_SECONDS.volumeCreated);
      // The instance is still pending.
      expect((await rejection(attach)).name).toBe('IncorrectInstanceState');
      await wait(LATENCY_SECONDS.instanceRunning);
      expect((await attach()).State).toBe('attaching');
      await wait(LATENCY_SECONDS.volumeAttached);
      const attached = await ec2.send(
        new DescribeVolumesCommand({
          Filters: [
            { Name: 'attachment.instance-id', Values: [id] },
            { Name: 'tag:Name', Values: ['demo-cass001-data'] },
          ],
        }),
      );
      expect(attached.Volumes![0]).toMatchObject({ State: 'in-use', Attachments: [{ State: 'attached' }] });
      expect((await describeInstance(ec2, id)).BlockDeviceMappings!.map((m) => m.DeviceName)).toEqual([
        '/dev/sda1',
        '/dev/sdf',
      ]);

      const inUse = await rejection(() => ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })));
      expect(inUse.name).toBe('VolumeInUse');
      expect(inUse.message).toBe(`Volume ${volumeId} is currently attached to ${id}`);
      expect((await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }))).State).toBe('detaching');
      await wait(LATENCY_SECONDS.volumeDetached);
      const detached = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes![0];
      expect(detached).toMatchObject({ State: 'available', Attachments: [] });
      await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      await wait(LATENCY_SECONDS.volumeDeleted);
      const gone = await rejection(() => ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })));
      expect(gone.name).toBe('InvalidVolume.NotFound');
      expect(gone.message).toBe(`The volume '${volumeId}' does not exist.`);
    });
  });
});

describe('EC2 catalogue', () => {
  it('offers no Graviton types in us-east-1e, and RunInstances there says Unsupported', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const offered = async (zone: string) =>
        (
          await ec2.send(
            new DescribeInstanceTypeOfferingsCommand({
              LocationType: 'availability-zone',
              Filters: [
                { Name: 'location', Values: [zone] },
                { Name: 'instance-type', Values: ['c7gd.2xlarge', 't3.micro'] },
              ],
            }),
          )
        ).InstanceTypeOfferings!.map((offering) => offering.InstanceType);
      expect((await offered('us-east-1a')).sort()).toEqual(['c7gd.2xlarge', 't3.micro']);
      expect(await offered('us-east-1e')).toEqual(['t3.micro']);

      const net = await network(ec2, 'us-east-1e');
      const unsupported = await rejection(() =>
        launch(ec2, net, 'demo-cass001', { ImageId: ARM64, InstanceType: 'c7gd.2xlarge' }),
      );
      expect(unsupported.name).toBe('Unsupported');
      expect(unsupported.message).toBe(
        'Your requested instance type (c7gd.2xlarge) is not supported in your requested Availability Zone (us-east-1e). Please retry your request by not specifying an Availability Zone or choosing us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f.',
      );
    });
  });

  it('describes instance types with vCPUs, architecture and instance storage', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const out = await ec2.send(
        new DescribeInstanceTypesCommand({ InstanceTypes: ['c7gd.2xlarge', 'c6a.large'] }),
      );
      const [graviton, amd] = out.InstanceTypes!;
      expect(graviton).toMatchObject({
        InstanceType: 'c7gd.2xlarge',
        VCpuInfo: { DefaultVCpus: 8 },
        MemoryInfo: { SizeInMiB: 16384 },
        ProcessorInfo: { SupportedArchitectures: ['arm64'] },
        InstanceStorageSupported: true,
        InstanceStorageInfo: {
          TotalSizeInGB: 474,
          Disks: [{ SizeInGB: 474, Count: 1, Type: 'ssd' }],
          NvmeSupport: 'required',
        },
      });
      expect(amd).toMatchObject({
        InstanceStorageSupported: false,
        ProcessorInfo: { SupportedArchitectures: ['x86_64'] },
      });
      expect(amd.InstanceStorageInfo).toBeUndefined();
      const unknown = await rejection(() =>
        ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['x9.huge' as _InstanceType] })),
      );
      expect(unknown.name).toBe('InvalidInstanceType');

      const images = await ec2.send(new DescribeImagesCommand({ ImageIds: [ARM64, AMD64] }));
      expect(images.Images!.map((image) => [image.ImageId, image.Architecture, image.OwnerId])).toEqual([
        [AMD64, 'x86_64', '099720109477'],
        [ARM64, 'arm64', '099720109477'],
      ]);
      expect(images.Images![1].Name).toMatch(
        /^ubuntu\/images\/hvm-ssd-gp3\/ubuntu-noble-24\.04-arm64-server-\d{8}$/,
      );
      const missing = await rejection(() =>
        ec2.send(new DescribeImagesCommand({ ImageIds: [UBUNTU_AMIS['eu-west-1/arm64']] })),
      );
      expect(missing.name).toBe('InvalidAMIID.NotFound');
    });
  });

  it('has Ubuntu AMIs for the supported regions and architectures', () => {
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1']) {
      for (const arch of ['amd64', 'arm64'])
        expect(UBUNTU_AMIS[`${region}/${arch}`]).toMatch(/^ami-[0-9a-f]{17}$/);
    }
    expect(new Set(Object.values(UBUNTU_AMIS)).size).toBe(Object.keys(UBUNTU_AMIS).length);
  });
});

describe('EC2 tags and unknown ids', () => {
  it('adds and removes tags on any resource', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      await ec2.send(
        new CreateTagsCommand({
          Resources: [net.vpcId, net.privateSubnetId],
          Tags: [{ Key: 'Role', Value: 'core' }],
        }),
      );
      const tagged = await ec2.send(
        new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:Role', Values: ['core'] }] }),
      );
      expect(tagged.Subnets!.map((subnet) => subnet.SubnetId)).toEqual([net.privateSubnetId]);
      await ec2.send(new DeleteTagsCommand({ Resources: [net.privateSubnetId], Tags: [{ Key: 'Role' }] }));
      const after = await ec2.send(
        new DescribeSubnetsCommand({ Filters: [{ Name: 'tag-key', Values: ['Role'] }] }),
      );
      expect(after.Subnets).toEqual([]);
      const unknown = await rejection(() =>
        ec2.send(
          new CreateTagsCommand({ Resources: ['vol-0000000000000dead'], Tags: [{ Key: 'a', Value: 'b' }] }),
        ),
      );
      expect(unknown.name).toBe('InvalidVolume.NotFound');
    });
  });

  it('answers unknown ids with the kind’s own NotFound code', async () => {
    const { ec2 } = setup();
    await virtual(async () => {
      const cases: [() => Promise<unknown>, string, string][] = [
        [
          () => ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-123'] })),
          'InvalidVpcID.NotFound',
          "The vpc ID 'vpc-123' does not exist",
        ],
        [
          () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-1'] })),
          'InvalidSubnetID.NotFound',
          "The subnet ID 'subnet-1' does not exist",
        ],
        [
          () => ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-1'] })),
          'InvalidGroup.NotFound',
          "The security group 'sg-1' does not exist",
        ],
        [
          () => ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: ['igw-1'] })),
          'InvalidInternetGatewayID.NotFound',
          "The internetGateway ID 'igw-1' does not exist",
        ],
        [
          () => ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ['rtb-1'] })),
          'InvalidRouteTableID.NotFound',
          "The routeTable ID 'rtb-1' does not exist",
        ],
        [
          () => ec2.send(new DescribeAddressesCommand({ AllocationIds: ['eipalloc-1'] })),
          'InvalidAllocationID.NotFound',
          "The allocation ID 'eipalloc-1' does not exist",
        ],
        [
          () => ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-1', 'i-2'] })),
          'InvalidInstanceID.NotFound',
          "The instance IDs 'i-1, i-2' do not exist",
        ],
        [
          () => ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-1'] })),
          'InvalidVolume.NotFound',
          "The volume 'vol-1' does not exist.",
        ],
        [
          () => ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: ['nat-1'] })),
          'NatGatewayNotFound',
          'The Nat Gateway nat-1 was not found',
        ],
        [
          () => ec2.send(new DeleteVpcCommand({ VpcId: 'vpc-1' })),
          'InvalidVpcID.NotFound',
          "The vpc ID 'vpc-1' does not exist",
        ],
        [
          () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-1'] })),
          'InvalidInstanceID.NotFound',
          "The instance ID 'i-1' does not exist",
        ],
      ];
      for (const [call, code, message] of cases) {
        const error = await rejection(call);
        expect([error.name, error.message, error.$metadata.httpStatusCode]).toEqual([code, message, 400]);
      }
    });
  });

  it('keeps its state JSON-serialisable and refreshable after a round trip', async () => {
    const { ec2, state } = setup();
    await virtual(async () => {
      const net = await network(ec2);
      await natGateway(ec2, net);
      await launch(ec2, net, 'demo-cass001');
    });
    const copy = JSON.parse(JSON.stringify(state())) as Ec2State;
    expect(copy).toEqual(state());
    refreshEc2(copy, START + 3600_000);
    expect(Object.values(copy.natGateways)[0].State).toBe('available');
    expect(Object.values(copy.instances)[0].State).toEqual({ Name: 'running', Code: 16 });
  });
});

describe("EC2: RunInstances from the account's own images (restore, issue 17)", () => {
  const IMAGE_READY = SNAPSHOT_SECONDS + IMAGE_AFTER_SNAPSHOTS_SECONDS + 1;

  /** An instance with a 20 GiB encrypted root, stopped, and CreateImage of it: the image id, pending. */
  async function imaged(ec2: EC2Client, net: Network, faulty = false) {
    const launched = await launch(ec2, net, 'demo-cass001', {
      PrivateIpAddress: '10.5.0.11',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, Encrypted: true } }],
    });
    const instanceId = launched.Instances![0].InstanceId!;
    await wait(LATENCY_SECONDS.instanceRunning + 1);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    await wait(LATENCY_SECONDS.instanceTerminated + 1);
    const image = await ec2.send(
      new CreateImageCommand({ InstanceId: instanceId, Name: faulty ? 'demo-bad' : 'demo-cass001' }),
    );
    return image.ImageId!;
  }

  const rootOf = (state: Ec2State, instanceId: string) =>
    Object.values(state.volumes).find((volume) =>
      volume.Attachments.some((a) => a.InstanceId === instanceId && a.Device === '/dev/sda1'),
    )!;

  it('refuses a pending image, launches from an available one with a root volume from its snapshot', () =>
    virtual(async () => {
      const { ec2, state } = setup();
      const net = await network(ec2);
      const imageId = await imaged(ec2, net);

      const pending = await rejection(() => launch(ec2, net, 'demo-cass002', { ImageId: imageId }));
      expect(pending.name).toBe('InvalidAMIID.Unavailable');
      expect(pending.message).toContain(imageId);
      expect(pending.message).toContain('pending');

      await wait(IMAGE_READY);
      const described = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
      expect(described.Images![0].State).toBe('available');
      const snapshotId = described.Images![0].BlockDeviceMappings![0].Ebs!.SnapshotId!;

      const small = await rejection(() =>
        launch(ec2, net, 'demo-cass002', {
          ImageId: imageId,
          BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 10 } }],
        }),
      );
      expect(small.name).toBe('InvalidBlockDeviceMapping');
      expect(small.message).toBe(
        `Volume of size 10GB is smaller than snapshot '${snapshotId}', expect size >= 20GB`,
      );

      const bigger = await launch(ec2, net, 'demo-cass002', {
        ImageId: imageId,
        BlockDeviceMappings: [
          { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true } },
        ],
      });
      const biggerId = bigger.Instances![0].InstanceId!;
      expect(bigger.Instances![0].ImageId).toBe(imageId);
      expect(rootOf(state(), biggerId)).toMatchObject({ Size: 30, SnapshotId: snapshotId, Encrypted: true });

      // Without a mapping, the root volume is the snapshot's size, encrypted as the snapshot is.
      const plain = await launch(ec2, net, 'demo-cass003', { ImageId: imageId });
      expect(rootOf(state(), plain.Instances![0].InstanceId!)).toMatchObject({
        Size: 20,
        SnapshotId: snapshotId,
        Encrypted: true,
      });
      const volumes = await ec2.send(
        new DescribeVolumesCommand({ VolumeIds: [rootOf(state(), biggerId).VolumeId] }),
      );
      expect(volumes.Volumes![0].SnapshotId).toBe(snapshotId);
    }));

  it("leaves out an image's device the request maps to NoDevice", () =>
    virtual(async () => {
      const { ec2, state } = setup();
      const net = await network(ec2);
      const imageId = await imaged(ec2, net);
      await wait(IMAGE_READY);
      await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
      // A second EBS device in the image, as the bastion's log volume is.
      const image = state().images[imageId];
      image.BlockDeviceMappings.push({
        DeviceName: '/dev/sdf',
        Ebs: { ...image.BlockDeviceMappings[0].Ebs, VolumeSize: 10, DeleteOnTermination: false },
      });
      const withLog = await launch(ec2, net, 'demo-cass002', { ImageId: imageId });
      const without = await launch(ec2, net, 'demo-cass003', {
        ImageId: imageId,
        BlockDeviceMappings: [{ DeviceName: '/dev/sdf', NoDevice: '' }],
      });
      const devicesOf = (instanceId: string) =>
        Object.values(state().volumes)
          .flatMap((volume) => volume.Attachments)
          .filter((attachment) => attachment.InstanceId === instanceId)
          .map((attachment) => attachment.Device)
          .sort();
      expect(devicesOf(withLog.Instances![0].InstanceId!)).toEqual(['/dev/sda1', '/dev/sdf']);
      expect(devicesOf(without.Instances![0].InstanceId!)).toEqual(['/dev/sda1']);
    }));

  it('refuses a failed image as unavailable and a deregistered one as not found', () =>
    virtual(async () => {
      const { ec2 } = setup([
        { service: 'EC2', operation: 'CreateImage', target: 'demo-bad', finalState: 'failed' },
      ]);
      const net = await network(ec2);
      const imageId = await imaged(ec2, net, true);
      await wait(IMAGE_READY);
      const failed = await rejection(() => launch(ec2, net, 'demo-cass002', { ImageId: imageId }));
      expect(failed.name).toBe('InvalidAMIID.Unavailable');
      expect(failed.message).toContain('failed');
      await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
      const gone = await rejection(() => launch(ec2, net, 'demo-cass002', { ImageId: imageId }));
      expect(gone.name).toBe('InvalidAMIID.NotFound');
    }));

  it('fails DescribeImages and RunInstances of a restore by fault rule, as any call', () =>
    virtual(async () => {
      const { ec2 } = setup([
        { service: 'EC2', operation: 'DescribeImages', error: 'RequestLimitExceeded' },
        {
          service: 'EC2',
          operation: 'RunInstances',
          target: 'demo-cass002',
          error: 'InsufficientInstanceCapacity',
        },
      ]);
      const net = await network(ec2);
      const imageId = await imaged(ec2, net);
      await wait(IMAGE_READY);
      const throttled = await rejection(() => ec2.send(new DescribeImagesCommand({ Owners: ['self'] })));
      expect(throttled.name).toBe('RequestLimitExceeded');
      const capacity = await rejection(() => launch(ec2, net, 'demo-cass002', { ImageId: imageId }));
      expect(capacity.name).toBe('InsufficientInstanceCapacity');
      expect((await launch(ec2, net, 'demo-cass002', { ImageId: imageId })).Instances![0].ImageId).toBe(
        imageId,
      );
    }));
});
