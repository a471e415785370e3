import { tagValue } from '../../../core/tags.js';
import { LATENCY_SECONDS } from '../../latency.js';
import { filterOf } from './filters.js';
import {
  assignPublicIp,
  attachedInternetGateway,
  disassociateInstanceAddress,
  natHoldsResources,
} from './lifecycle.js';
import { privateIpFor } from './network.js';
import {
  type Address,
  type Ctx,
  dependencyViolation,
  ec2Error,
  type InternetGateway,
  idempotentMismatch,
  lookup,
  lookupAll,
  missingParameter,
  type NatGateway,
  nextPublicIp,
  present,
  requestHash,
  tagsFromSpecifications,
} from './state.js';

// ---------------------------------------------------------------------------------------------------------------
// Internet gateways

function createInternetGateway(ctx: Ctx, input: any) {
  const gateway: InternetGateway = {
    InternetGatewayId: ctx.newId('igw'),
    OwnerId: ctx.caller.accountId,
    Attachments: [],
    Tags: tagsFromSpecifications(input.TagSpecifications, 'internet-gateway'),
  };
  ctx.state.internetGateways[gateway.InternetGatewayId] = gateway;
  return { InternetGateway: present(gateway) };
}

function attachInternetGateway(ctx: Ctx, input: any) {
  const gateway = lookup(ctx.state, 'internetGateways', input.InternetGatewayId);
  const vpc = lookup(ctx.state, 'vpcs', input.VpcId);
  if (gateway.Attachments.length > 0) {
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `resource ${gateway.InternetGatewayId} is already attached to network ${gateway.Attachments[0].VpcId}`,
    );
  }
  const other = attachedInternetGateway(ctx.state, vpc.VpcId);
  if (other) {
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `Network ${vpc.VpcId} already has an internet gateway attached`,
    );
  }
  gateway.Attachments = [{ VpcId: vpc.VpcId, State: 'available' }];
  return {};
}

/** Public addresses mapped in a VPC: elastic IPs of live NAT gateways, public IPs of instances not terminated. */
function hasMappedPublicAddresses(ctx: Ctx, vpcId: string): boolean {
  const nat = Object.values(ctx.state.natGateways).some(
    (gateway) =>
      gateway.VpcId === vpcId &&
      natHoldsResources(gateway) &&
      gateway.NatGatewayAddresses.some((address) => address.PublicIp),
  );
  const instance = Object.values(ctx.state.instances).some(
    (candidate) =>
      candidate.VpcId === vpcId && candidate.PublicIpAddress && candidate.State.Name !== 'terminated',
  );
  return nat || instance;
}

function detachInternetGateway(ctx: Ctx, input: any) {
  const gateway = lookup(ctx.state, 'internetGateways', input.InternetGatewayId);
  const vpcId = String(input.VpcId ?? '');
  if (!gateway.Attachments.some((attachment) => attachment.VpcId === vpcId)) {
    throw ec2Error(
      'Gateway.NotAttached',
      `resource ${gateway.InternetGatewayId} is not attached to network ${vpcId}`,
    );
  }
  if (hasMappedPublicAddresses(ctx, vpcId)) {
    throw dependencyViolation(
      `Network ${vpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`,
    );
  }
  gateway.Attachments = [];
  return {};
}

function deleteInternetGateway(ctx: Ctx, input: any) {
  const gateway = lookup(ctx.state, 'internetGateways', input.InternetGatewayId);
  if (gateway.Attachments.length > 0) {
    throw dependencyViolation(
      `The internetGateway '${gateway.InternetGatewayId}' has dependencies and cannot be deleted.`,
    );
  }
  delete ctx.state.internetGateways[gateway.InternetGatewayId];
  return {};
}

function describeInternetGateways(ctx: Ctx, input: any) {
  const ids: unknown[] = input.InternetGatewayIds ?? [];
  const gateways =
    ids.length > 0
      ? lookupAll(ctx.state, 'internetGateways', ids)
      : Object.values(ctx.state.internetGateways);
  const matches = filterOf(input.Filters, {
    'internet-gateway-id': (gateway: InternetGateway) => gateway.InternetGatewayId,
    'attachment.vpc-id': (gateway: InternetGateway) => gateway.Attachments.map((a) => a.VpcId),
    'attachment.state': (gateway: InternetGateway) => gateway.Attachments.map((a) => a.State),
    'owner-id': (gateway: InternetGateway) => gateway.OwnerId,
  });
  return { InternetGateways: gateways.filter(matches).map((gateway) => present(gateway)) };
}

// ---------------------------------------------------------------------------------------------------------------
// Elastic IPs

const ADDRESS_LIMIT = 5;

function allocateAddress(ctx: Ctx, input: any) {
  if (Object.keys(ctx.state.addresses).length >= ADDRESS_LIMIT) {
    throw ec2Error('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
  }
  const address: Address = {
    AllocationId: ctx.newId('eipalloc'),
    PublicIp: nextPublicIp(ctx.state),
    Domain: 'vpc',
    PublicIpv4Pool: 'amazon',
    NetworkBorderGroup: ctx.region,
    Tags: tagsFromSpecifications(input.TagSpecifications, 'elastic-ip'),
  };
  ctx.state.addresses[address.AllocationId] = address;
  return present(address);
}

function describeAddresses(ctx: Ctx, input: any) {
  const ids: unknown[] = input.AllocationIds ?? [];
  let addresses =
    ids.length > 0 ? lookupAll(ctx.state, 'addresses', ids) : Object.values(ctx.state.addresses);
  const ips: string[] = input.PublicIps ?? [];
  if (ips.length > 0) {
    const missing = ips.find((ip) => !addresses.some((address) => address.PublicIp === ip));
    if (missing) throw ec2Error('InvalidAddress.NotFound', `Address '${missing}' not found.`);
    addresses = addresses.filter((address) => ips.includes(address.PublicIp));
  }
  const matches = filterOf(input.Filters, {
    'allocation-id': (address: Address) => address.AllocationId,
    'association-id': (address: Address) => address.AssociationId,
    'instance-id': (address: Address) => address.InstanceId,
    'network-interface-id': (address: Address) => address.NetworkInterfaceId,
    'private-ip-address': (address: Address) => address.PrivateIpAddress,
    'public-ip': (address: Address) => address.PublicIp,
    domain: (address: Address) => address.Domain,
    'network-border-group': (address: Address) => address.NetworkBorderGroup,
  });
  return { Addresses: addresses.filter(matches).map((address) => present(address)) };
}

function associateAddress(ctx: Ctx, input: any) {
  if (!input.AllocationId) throw missingParameter('allocationId');
  const address = lookup(ctx.state, 'addresses', input.AllocationId);
  const instance = lookup(ctx.state, 'instances', input.InstanceId);
  if (address.InstanceId === instance.InstanceId && address.AssociationId) {
    return { AssociationId: address.AssociationId };
  }
  if (instance.State.Name !== 'running') {
    throw ec2Error(
      'IncorrectInstanceState',
      `The instance '${instance.InstanceId}' is not in a valid state for this operation.`,
    );
  }
  if (!attachedInternetGateway(ctx.state, instance.VpcId)) {
    throw ec2Error(
      'Gateway.NotAttached',
      `Network ${instance.VpcId} is not attached to any internet gateway`,
    );
  }
  if (address.AssociationId && (address.natGatewayId || input.AllowReassociation !== true)) {
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `resource ${address.AllocationId} is already associated with associate-id ${address.AssociationId}`,
    );
  }
  const previous = address.InstanceId ? ctx.state.instances[address.InstanceId] : undefined;
  // An instance holds one elastic IP here: a new one replaces the old association.
  disassociateInstanceAddress(ctx.state, instance);
  address.AssociationId = ctx.newId('eipassoc');
  address.InstanceId = instance.InstanceId;
  address.NetworkInterfaceId = `eni-${instance.InstanceId.slice(2)}`;
  address.NetworkInterfaceOwnerId = ctx.caller.accountId;
  address.PrivateIpAddress = instance.PrivateIpAddress;
  assignPublicIp(ctx.state, instance);
  if (previous) assignPublicIp(ctx.state, previous);
  return { AssociationId: address.AssociationId };
}

function disassociateAddress(ctx: Ctx, input: any) {
  const address = Object.values(ctx.state.addresses).find(
    (candidate) => candidate.AssociationId === input.AssociationId,
  );
  if (!address) {
    throw ec2Error(
      'InvalidAssociationID.NotFound',
      `The association ID '${String(input.AssociationId)}' does not exist`,
    );
  }
  if (address.natGatewayId) {
    throw ec2Error(
      'AuthFailure',
      `You do not have permission to access the specified resource: it belongs to ${address.natGatewayId}`,
    );
  }
  const instance = address.InstanceId ? ctx.state.instances[address.InstanceId] : undefined;
  if (instance) {
    disassociateInstanceAddress(ctx.state, instance);
    assignPublicIp(ctx.state, instance);
  }
  return {};
}

function releaseAddress(ctx: Ctx, input: any) {
  if (!input.AllocationId) throw missingParameter('allocationId');
  const address = lookup(ctx.state, 'addresses', input.AllocationId);
  if (address.AssociationId) {
    throw ec2Error(
      'InvalidIPAddress.InUse',
      `The address with allocation id [${address.AllocationId}] is in use.`,
    );
  }
  delete ctx.state.addresses[address.AllocationId];
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// NAT gateways

/** A same-token retry returns the first gateway (whatever its state), as long as the request is the same. */
function existingNatForToken(ctx: Ctx, input: any): NatGateway | undefined {
  if (!input.ClientToken) return undefined;
  const nat = Object.values(ctx.state.natGateways).find(
    (gateway) => gateway.clientToken === input.ClientToken,
  );
  if (nat && nat.requestHash !== requestHash(input)) throw idempotentMismatch();
  return nat;
}

/** When and how a new NAT gateway settles: a fault rule can delay it or make it fail; no IGW makes it fail. */
function natOutcome(ctx: Ctx, vpcId: string, name: string | undefined, id: string) {
  const rule = ctx.effect('CreateNatGateway', name ? [name, id] : [id]);
  const delay = (LATENCY_SECONDS.natGatewayAvailable + (rule?.delaySeconds ?? 0)) * 1000;
  if (!attachedInternetGateway(ctx.state, vpcId)) {
    return {
      settlesAt: ctx.now() + delay,
      settlesTo: 'failed' as const,
      failure: { code: 'Gateway.NotAttached', message: `Network ${vpcId} has no Internet gateway attached` },
    };
  }
  if (rule?.finalState === 'failed') {
    return {
      settlesAt: ctx.now() + delay,
      settlesTo: 'failed' as const,
      failure: {
        code: 'InternalError',
        message: 'An internal error occurred while creating the NAT gateway.',
      },
    };
  }
  return { settlesAt: ctx.now() + delay, settlesTo: 'available' as const };
}

function createNatGateway(ctx: Ctx, input: any) {
  const replay = existingNatForToken(ctx, input);
  if (replay) return { ClientToken: input.ClientToken, NatGateway: present(replay) };
  if (!input.SubnetId) throw missingParameter('subnetId');
  const subnet = lookup(ctx.state, 'subnets', input.SubnetId);
  if ((input.ConnectivityType ?? 'public') !== 'public') {
    throw ec2Error('InvalidParameterValue', 'The simulated account supports public NAT gateways only.');
  }
  if (!input.AllocationId) throw missingParameter('allocationId');
  const address = lookup(ctx.state, 'addresses', input.AllocationId);
  if (address.AssociationId) {
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `Elastic IP address [${address.AllocationId}] is already associated`,
    );
  }
  const id = ctx.newId('nat');
  const tags = tagsFromSpecifications(input.TagSpecifications, 'natgateway');
  const privateIp = privateIpFor(ctx.state, subnet);
  const networkInterfaceId = ctx.newId('eni');
  const associationId = ctx.newId('eipassoc');
  const nat: NatGateway = {
    NatGatewayId: id,
    SubnetId: subnet.SubnetId,
    VpcId: subnet.VpcId,
    State: 'pending',
    ConnectivityType: 'public',
    CreateTime: ctx.now(),
    NatGatewayAddresses: [
      {
        AllocationId: address.AllocationId,
        NetworkInterfaceId: networkInterfaceId,
        PrivateIp: privateIp,
        PublicIp: address.PublicIp,
        AssociationId: associationId,
        IsPrimary: true,
        Status: 'associating',
      },
    ],
    Tags: tags,
    ...(input.ClientToken ? { clientToken: input.ClientToken, requestHash: requestHash(input) } : {}),
    ...natOutcome(ctx, subnet.VpcId, tagValue(tags, 'Name'), id),
  };
  ctx.state.natGateways[id] = nat;
  Object.assign(address, {
    AssociationId: associationId,
    NetworkInterfaceId: networkInterfaceId,
    NetworkInterfaceOwnerId: ctx.caller.accountId,
    PrivateIpAddress: privateIp,
    natGatewayId: id,
  });
  return { ...(input.ClientToken ? { ClientToken: input.ClientToken } : {}), NatGateway: present(nat) };
}

const NAT_FILTERS = {
  'nat-gateway-id': (nat: NatGateway) => nat.NatGatewayId,
  'vpc-id': (nat: NatGateway) => nat.VpcId,
  'subnet-id': (nat: NatGateway) => nat.SubnetId,
  state: (nat: NatGateway) => nat.State,
};

function describeNatGateways(ctx: Ctx, input: any) {
  const ids: unknown[] = input.NatGatewayIds ?? [];
  const gateways =
    ids.length > 0 ? lookupAll(ctx.state, 'natGateways', ids) : Object.values(ctx.state.natGateways);
  // The SDK names this parameter `Filter` (singular) for DescribeNatGateways only.
  const matches = filterOf(input.Filter ?? input.Filters, NAT_FILTERS);
  return { NatGateways: gateways.filter(matches).map((nat) => present(nat)) };
}

function deleteNatGateway(ctx: Ctx, input: any) {
  const nat = lookup(ctx.state, 'natGateways', input.NatGatewayId);
  if (nat.State !== 'deleting' && nat.State !== 'deleted') {
    nat.State = 'deleting';
    nat.settlesAt = ctx.now() + LATENCY_SECONDS.natGatewayDeleted * 1000;
    nat.settlesTo = 'deleted';
    delete nat.endedAt;
    for (const address of nat.NatGatewayAddresses) {
      if (address.AssociationId) address.Status = 'disassociating';
    }
  }
  return { NatGatewayId: nat.NatGatewayId };
}

export const gatewayOperations = {
  CreateInternetGateway: createInternetGateway,
  AttachInternetGateway: attachInternetGateway,
  DetachInternetGateway: detachInternetGateway,
  DeleteInternetGateway: deleteInternetGateway,
  DescribeInternetGateways: describeInternetGateways,
  AllocateAddress: allocateAddress,
  DescribeAddresses: describeAddresses,
  AssociateAddress: associateAddress,
  DisassociateAddress: disassociateAddress,
  ReleaseAddress: releaseAddress,
  CreateNatGateway: createNatGateway,
  DescribeNatGateways: describeNatGateways,
  DeleteNatGateway: deleteNatGateway,
};
