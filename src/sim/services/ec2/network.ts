import { LATENCY_SECONDS } from '../../latency.js';
import { checkZone, zoneIdOf } from './catalogue.js';
import { filterOf } from './filters.js';
import { attachedInternetGateway, holdsResources, natHoldsResources } from './lifecycle.js';
import { newRouteTable } from './routes.js';
import { createDefaultGroup, removeGroup } from './security-groups.js';
import {
  type Cidr,
  type Ctx,
  cidrContains,
  cidrOverlaps,
  dependencyViolation,
  type Ec2State,
  ec2Error,
  ipToNumber,
  lookup,
  lookupAll,
  missingParameter,
  numberToIp,
  parseCidr,
  present,
  type Subnet,
  tagsFromSpecifications,
  type Vpc,
} from './state.js';

const VPC_LIMIT = 5;

function vpcCidr(text: unknown): Cidr {
  if (text === undefined) throw missingParameter('cidrBlock');
  const cidr = parseCidr(text);
  if (!cidr) {
    throw ec2Error(
      'InvalidParameterValue',
      `Value (${String(text)}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
    );
  }
  if (cidr.prefix < 16 || cidr.prefix > 28)
    throw ec2Error('InvalidVpc.Range', `The CIDR '${cidr.text}' is invalid.`);
  return cidr;
}

function createVpc(ctx: Ctx, input: any) {
  const cidr = vpcCidr(input.CidrBlock);
  if (Object.keys(ctx.state.vpcs).length >= VPC_LIMIT) {
    throw ec2Error('VpcLimitExceeded', 'The maximum number of VPCs has been reached.');
  }
  const vpc: Vpc = {
    VpcId: ctx.newId('vpc'),
    CidrBlock: cidr.text,
    State: 'pending',
    OwnerId: ctx.caller.accountId,
    DhcpOptionsId: ctx.newId('dopt'),
    InstanceTenancy: 'default',
    IsDefault: false,
    CidrBlockAssociationSet: [
      {
        AssociationId: ctx.newId('vpc-cidr-assoc'),
        CidrBlock: cidr.text,
        CidrBlockState: { State: 'associated' },
      },
    ],
    Tags: tagsFromSpecifications(input.TagSpecifications, 'vpc'),
    availableAt: ctx.now() + LATENCY_SECONDS.vpcAvailable * 1000,
  };
  ctx.state.vpcs[vpc.VpcId] = vpc;
  // Every VPC comes with a main route table and a `default` security group.
  newRouteTable(ctx, vpc.VpcId, true);
  createDefaultGroup(ctx, vpc.VpcId);
  return { Vpc: present(vpc) };
}

const VPC_FILTERS = {
  'vpc-id': (vpc: Vpc) => vpc.VpcId,
  'cidr-block': (vpc: Vpc) => vpc.CidrBlock,
  cidr: (vpc: Vpc) => vpc.CidrBlock,
  'cidr-block-association.cidr-block': (vpc: Vpc) => vpc.CidrBlockAssociationSet.map((a) => a.CidrBlock),
  state: (vpc: Vpc) => vpc.State,
  'is-default': (vpc: Vpc) => vpc.IsDefault,
  'owner-id': (vpc: Vpc) => vpc.OwnerId,
  'dhcp-options-id': (vpc: Vpc) => vpc.DhcpOptionsId,
};

function describeVpcs(ctx: Ctx, input: any) {
  const ids: unknown[] = input.VpcIds ?? [];
  const vpcs = ids.length > 0 ? lookupAll(ctx.state, 'vpcs', ids) : Object.values(ctx.state.vpcs);
  return { Vpcs: vpcs.filter(filterOf(input.Filters, VPC_FILTERS)).map((vpc) => present(vpc)) };
}

/** What keeps a VPC from being deleted: the resources AWS wants gone first. */
function vpcDependencies(state: Ec2State, vpcId: string): string[] {
  const subnets = Object.values(state.subnets).filter((subnet) => subnet.VpcId === vpcId);
  const tables = Object.values(state.routeTables).filter(
    (table) => table.VpcId === vpcId && !table.Associations.some((association) => association.Main),
  );
  const groups = Object.values(state.securityGroups).filter(
    (group) => group.VpcId === vpcId && group.GroupName !== 'default',
  );
  const gateway = attachedInternetGateway(state, vpcId);
  return [
    ...subnets.map((subnet) => subnet.SubnetId),
    ...tables.map((table) => table.RouteTableId),
    ...groups.map((group) => group.GroupId),
    ...(gateway ? [gateway.InternetGatewayId] : []),
  ];
}

function deleteVpc(ctx: Ctx, input: any) {
  const vpc = lookup(ctx.state, 'vpcs', input.VpcId);
  if (vpcDependencies(ctx.state, vpc.VpcId).length > 0) {
    throw dependencyViolation(`The vpc '${vpc.VpcId}' has dependencies and cannot be deleted.`);
  }
  for (const table of Object.values(ctx.state.routeTables)) {
    if (table.VpcId === vpc.VpcId) delete ctx.state.routeTables[table.RouteTableId];
  }
  for (const group of Object.values(ctx.state.securityGroups)) {
    if (group.VpcId === vpc.VpcId) removeGroup(ctx.state, group.GroupId);
  }
  delete ctx.state.vpcs[vpc.VpcId];
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// Subnets

/** AWS reserves the first four addresses and the last one of every subnet. */
const RESERVED_AT_START = 4;

/** Private addresses in use in a subnet: live instances and NAT gateways. */
export function usedPrivateIps(state: Ec2State, subnetId: string): Set<string> {
  const instances = Object.values(state.instances)
    .filter((instance) => instance.SubnetId === subnetId && holdsResources(instance))
    .map((instance) => instance.PrivateIpAddress);
  const nats = Object.values(state.natGateways)
    .filter((nat) => nat.SubnetId === subnetId && natHoldsResources(nat))
    .flatMap((nat) => nat.NatGatewayAddresses.map((address) => address.PrivateIp));
  return new Set([...instances, ...nats]);
}

/** Checks a requested private address (inside the subnet, not reserved, free), or picks the first free one. */
export function privateIpFor(
  state: Ec2State,
  subnet: Subnet,
  requested?: unknown,
  taken = new Set<string>(),
): string {
  const cidr = parseCidr(subnet.CidrBlock)!;
  const used = new Set([...usedPrivateIps(state, subnet.SubnetId), ...taken]);
  if (requested !== undefined) {
    const ip = String(requested);
    const n = ipToNumber(ip);
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || n < cidr.first + RESERVED_AT_START || n >= cidr.last) {
      throw ec2Error(
        'InvalidParameterValue',
        `Address ${ip} does not fall within the subnet's address range`,
      );
    }
    if (used.has(ip)) throw ec2Error('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
    return ip;
  }
  for (let n = cidr.first + RESERVED_AT_START; n < cidr.last; n += 1) {
    if (!used.has(numberToIp(n))) return numberToIp(n);
  }
  throw ec2Error(
    'InsufficientFreeAddressesInSubnet',
    `There are not enough free addresses in subnet '${subnet.SubnetId}' to satisfy the requested number of instances.`,
  );
}

export function subnetOutput(state: Ec2State, subnet: Subnet) {
  const cidr = parseCidr(subnet.CidrBlock)!;
  const size = cidr.last - cidr.first + 1;
  return {
    ...present(subnet),
    AvailableIpAddressCount: size - RESERVED_AT_START - 1 - usedPrivateIps(state, subnet.SubnetId).size,
  };
}

function createSubnet(ctx: Ctx, input: any) {
  if (!input.VpcId) throw missingParameter('vpcId');
  const vpc = lookup(ctx.state, 'vpcs', input.VpcId);
  const cidr = parseCidr(input.CidrBlock);
  if (!cidr) {
    throw ec2Error(
      'InvalidParameterValue',
      `Value (${String(input.CidrBlock)}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
    );
  }
  if (!cidrContains(parseCidr(vpc.CidrBlock)!, cidr) || cidr.prefix > 28) {
    throw ec2Error('InvalidSubnet.Range', `The CIDR '${cidr.text}' is invalid.`);
  }
  const clash = Object.values(ctx.state.subnets).find(
    (subnet) => subnet.VpcId === vpc.VpcId && cidrOverlaps(parseCidr(subnet.CidrBlock)!, cidr),
  );
  if (clash)
    throw ec2Error('InvalidSubnet.Conflict', `The CIDR '${cidr.text}' conflicts with another subnet`);
  const zone = checkZone(ctx, input.AvailabilityZone ?? `${ctx.region}a`);
  const id = ctx.newId('subnet');
  const subnet: Subnet = {
    SubnetId: id,
    SubnetArn: `arn:aws:ec2:${ctx.region}:${ctx.caller.accountId}:subnet/${id}`,
    VpcId: vpc.VpcId,
    CidrBlock: cidr.text,
    AvailabilityZone: zone,
    AvailabilityZoneId: zoneIdOf(zone),
    State: 'available',
    MapPublicIpOnLaunch: false,
    DefaultForAz: false,
    AssignIpv6AddressOnCreation: false,
    OwnerId: ctx.caller.accountId,
    Tags: tagsFromSpecifications(input.TagSpecifications, 'subnet'),
  };
  ctx.state.subnets[id] = subnet;
  return { Subnet: subnetOutput(ctx.state, subnet) };
}

const SUBNET_FILTERS = {
  'subnet-id': (subnet: Subnet) => subnet.SubnetId,
  'vpc-id': (subnet: Subnet) => subnet.VpcId,
  'cidr-block': (subnet: Subnet) => subnet.CidrBlock,
  'availability-zone': (subnet: Subnet) => subnet.AvailabilityZone,
  'availability-zone-id': (subnet: Subnet) => subnet.AvailabilityZoneId,
  state: (subnet: Subnet) => subnet.State,
  'map-public-ip-on-launch': (subnet: Subnet) => subnet.MapPublicIpOnLaunch,
  'default-for-az': (subnet: Subnet) => subnet.DefaultForAz,
  'owner-id': (subnet: Subnet) => subnet.OwnerId,
};

function describeSubnets(ctx: Ctx, input: any) {
  const ids: unknown[] = input.SubnetIds ?? [];
  const subnets = ids.length > 0 ? lookupAll(ctx.state, 'subnets', ids) : Object.values(ctx.state.subnets);
  return {
    Subnets: subnets
      .filter(filterOf(input.Filters, SUBNET_FILTERS))
      .map((subnet) => subnetOutput(ctx.state, subnet)),
  };
}

function deleteSubnet(ctx: Ctx, input: any) {
  const subnet = lookup(ctx.state, 'subnets', input.SubnetId);
  const busy =
    Object.values(ctx.state.instances).some((i) => i.SubnetId === subnet.SubnetId && holdsResources(i)) ||
    Object.values(ctx.state.natGateways).some(
      (nat) => nat.SubnetId === subnet.SubnetId && nat.State !== 'deleted',
    ) ||
    // A network interface made on its own (ec2/interfaces.ts) keeps its subnet.
    Object.values(ctx.state.networkInterfaces ?? {}).some((eni) => eni.SubnetId === subnet.SubnetId);
  if (busy)
    throw dependencyViolation(`The subnet '${subnet.SubnetId}' has dependencies and cannot be deleted.`);
  // The subnet's route table association goes with it.
  for (const table of Object.values(ctx.state.routeTables)) {
    table.Associations = table.Associations.filter((association) => association.SubnetId !== subnet.SubnetId);
  }
  delete ctx.state.subnets[subnet.SubnetId];
  return {};
}

function modifySubnetAttribute(ctx: Ctx, input: any) {
  const subnet = lookup(ctx.state, 'subnets', input.SubnetId);
  if (input.MapPublicIpOnLaunch !== undefined)
    subnet.MapPublicIpOnLaunch = Boolean(input.MapPublicIpOnLaunch.Value);
  return {};
}

export const networkOperations = {
  CreateVpc: createVpc,
  DescribeVpcs: describeVpcs,
  DeleteVpc: deleteVpc,
  CreateSubnet: createSubnet,
  DescribeSubnets: describeSubnets,
  DeleteSubnet: deleteSubnet,
  ModifySubnetAttribute: modifySubnetAttribute,
};
