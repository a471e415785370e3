import { filterOf } from './filters.js';
import { holdsResources, natHoldsResources } from './lifecycle.js';
import { privateIpFor } from './network.js';
import {
  type Ctx,
  type Ec2State,
  ec2Error,
  lookup,
  missingParameter,
  type NetworkInterface,
  present,
  tagsFromSpecifications,
} from './state.js';

// Network interfaces: the ones instances and NAT gateways hold (derived, they come and go with their owner) and the
// ones made on their own with CreateNetworkInterface, which stay until DeleteNetworkInterface and keep their subnet.

/** What DescribeNetworkInterfaces shows of an interface. */
interface InterfaceView {
  NetworkInterfaceId: string;
  SubnetId: string;
  VpcId: string;
  InterfaceType: string;
  Status: string;
  Description: string;
  PrivateIpAddress?: string;
  RequesterManaged: boolean;
  Attachment?: { InstanceId?: string; Status: string };
  Tags: { Key: string; Value: string }[];
}

/** Every interface in the account now: instances' (until terminated), NAT gateways' (until deleted), and made ones. */
function allInterfaces(state: Ec2State): InterfaceView[] {
  const instances = Object.values(state.instances)
    .filter(holdsResources)
    .map((instance) => ({
      NetworkInterfaceId: `eni-${instance.InstanceId.slice(2)}`,
      SubnetId: instance.SubnetId,
      VpcId: instance.VpcId,
      InterfaceType: 'interface',
      Status: 'in-use',
      Description: '',
      PrivateIpAddress: instance.PrivateIpAddress,
      RequesterManaged: false,
      Attachment: { InstanceId: instance.InstanceId, Status: 'attached' },
      // RunInstances' TagSpecifications tag the instance's interface too (src/core/permissions.ts).
      Tags: instance.Tags ?? [],
    }));
  const nats = Object.values(state.natGateways)
    .filter(natHoldsResources)
    .flatMap((nat) =>
      nat.NatGatewayAddresses.filter((address) => address.NetworkInterfaceId).map((address) => ({
        NetworkInterfaceId: address.NetworkInterfaceId!,
        SubnetId: nat.SubnetId,
        VpcId: nat.VpcId,
        InterfaceType: 'nat_gateway',
        Status: 'in-use',
        Description: `Interface for NAT Gateway ${nat.NatGatewayId}`,
        PrivateIpAddress: address.PrivateIp,
        RequesterManaged: true,
        Tags: [],
      })),
    );
  return [...instances, ...nats, ...Object.values(state.networkInterfaces ?? {})];
}

const INTERFACE_FILTERS = {
  'network-interface-id': (eni: InterfaceView) => eni.NetworkInterfaceId,
  'vpc-id': (eni: InterfaceView) => eni.VpcId,
  'subnet-id': (eni: InterfaceView) => eni.SubnetId,
  status: (eni: InterfaceView) => eni.Status,
  'interface-type': (eni: InterfaceView) => eni.InterfaceType,
  'requester-managed': (eni: InterfaceView) => String(eni.RequesterManaged),
  'attachment.instance-id': (eni: InterfaceView) => eni.Attachment?.InstanceId,
  description: (eni: InterfaceView) => eni.Description,
};

function describeNetworkInterfaces(ctx: Ctx, input: any) {
  const all = allInterfaces(ctx.state);
  const ids: string[] = (input.NetworkInterfaceIds ?? []).map(String);
  const missing = ids.find((id) => !all.some((eni) => eni.NetworkInterfaceId === id));
  if (missing) {
    throw ec2Error(
      'InvalidNetworkInterfaceID.NotFound',
      `The networkInterface ID '${missing}' does not exist`,
    );
  }
  const matches = filterOf(input.Filters, INTERFACE_FILTERS);
  const chosen = all.filter(
    (eni) => (ids.length === 0 || ids.includes(eni.NetworkInterfaceId)) && matches(eni),
  );
  return {
    NetworkInterfaces: chosen.map(({ Tags, ...eni }) => ({ ...present(eni), TagSet: Tags })),
  };
}

function createNetworkInterface(ctx: Ctx, input: any) {
  if (!input.SubnetId) throw missingParameter('subnetId');
  const subnet = lookup(ctx.state, 'subnets', input.SubnetId);
  const eni: NetworkInterface = {
    NetworkInterfaceId: ctx.newId('eni'),
    SubnetId: subnet.SubnetId,
    VpcId: subnet.VpcId,
    AvailabilityZone: subnet.AvailabilityZone,
    Description: String(input.Description ?? ''),
    InterfaceType: 'interface',
    Status: 'available',
    PrivateIpAddress: privateIpFor(ctx.state, subnet, input.PrivateIpAddress),
    Groups: ((input.Groups ?? []) as string[]).map((id) => ({
      GroupId: id,
      GroupName: lookup(ctx.state, 'securityGroups', id).GroupName,
    })),
    OwnerId: ctx.caller.accountId,
    RequesterManaged: false,
    Tags: tagsFromSpecifications(input.TagSpecifications, 'network-interface'),
  };
  ctx.state.networkInterfaces[eni.NetworkInterfaceId] = eni;
  return { NetworkInterface: { ...present({ ...eni, Tags: undefined }), TagSet: eni.Tags } };
}

function deleteNetworkInterface(ctx: Ctx, input: any) {
  const eni = lookup(ctx.state, 'networkInterfaces', input.NetworkInterfaceId);
  delete ctx.state.networkInterfaces[eni.NetworkInterfaceId];
  return {};
}

export const interfaceOperations = {
  CreateNetworkInterface: createNetworkInterface,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  DeleteNetworkInterface: deleteNetworkInterface,
};
