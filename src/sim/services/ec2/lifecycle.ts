import { untracked } from '../../durable.js';
import { refreshImages } from './images.js';
import {
  type Ec2State,
  ensureCollections,
  type Instance,
  type InstanceStateName,
  type NatGateway,
  nextPublicIp,
  type RouteTable,
  type Volume,
} from './state.js';

/** AWS's numeric instance state codes. */
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** How long AWS keeps listing terminated instances and deleted or failed NAT gateways. */
export const LINGER_MS = 3600_000;

export function setInstanceState(instance: Instance, name: InstanceStateName): void {
  instance.State = { Name: name, Code: STATE_CODES[name] };
}

/** Instances that still hold their private address, security groups and subnet. */
export const holdsResources = (instance: Instance) => instance.State.Name !== 'terminated';

/** Instances counted against the running On-Demand vCPU quota. */
export const countsForQuota = (instance: Instance) =>
  instance.State.Name === 'pending' || instance.State.Name === 'running';

/** NAT gateways that still hold their network interface (and elastic IP). */
export const natHoldsResources = (nat: NatGateway) => nat.State !== 'deleted' && nat.State !== 'failed';

/** Frees the elastic IP a NAT gateway held: on failure and when it is deleted. */
function releaseNatAddresses(state: Ec2State, nat: NatGateway): void {
  for (const natAddress of nat.NatGatewayAddresses) {
    const address = state.addresses[natAddress.AllocationId];
    if (address?.natGatewayId === nat.NatGatewayId) {
      for (const key of [
        'AssociationId',
        'NetworkInterfaceId',
        'NetworkInterfaceOwnerId',
        'PrivateIpAddress',
      ]) {
        delete (address as unknown as Record<string, unknown>)[key];
      }
      delete address.natGatewayId;
    }
    delete natAddress.AssociationId;
  }
}

function settleNat(state: Ec2State, nat: NatGateway, now: number): void {
  if (nat.settlesAt !== undefined && now >= nat.settlesAt && nat.settlesTo) {
    nat.State = nat.settlesTo;
    const at = nat.settlesAt;
    delete nat.settlesAt;
    delete nat.settlesTo;
    if (nat.State === 'available') {
      for (const address of nat.NatGatewayAddresses) address.Status = 'succeeded';
    } else if (nat.State === 'failed') {
      nat.FailureCode = nat.failure?.code ?? 'InternalError';
      nat.FailureMessage = nat.failure?.message ?? 'An internal error occurred. Try again.';
      for (const address of nat.NatGatewayAddresses) address.Status = 'failed';
      releaseNatAddresses(state, nat);
      nat.endedAt = at;
    } else if (nat.State === 'deleted') {
      nat.DeleteTime = at;
      releaseNatAddresses(state, nat);
      nat.endedAt = at;
    }
  }
  if (nat.endedAt !== undefined && now >= nat.endedAt + LINGER_MS) delete state.natGateways[nat.NatGatewayId];
}

/** Drops an instance's elastic IP association (the address stays allocated). */
export function disassociateInstanceAddress(state: Ec2State, instance: Instance): void {
  for (const address of Object.values(state.addresses)) {
    if (address.InstanceId !== instance.InstanceId) continue;
    for (const key of [
      'AssociationId',
      'InstanceId',
      'NetworkInterfaceId',
      'NetworkInterfaceOwnerId',
      'PrivateIpAddress',
    ]) {
      delete (address as unknown as Record<string, unknown>)[key];
    }
  }
}

/**
 * The public address an instance has now: its elastic IP, else an automatic one while it is pending or running
 * (AWS releases the automatic address when an elastic IP is associated or the instance stops, and gives a new one
 * afterwards).
 */
export function assignPublicIp(state: Ec2State, instance: Instance): void {
  const elastic = Object.values(state.addresses).find(
    (address) => address.InstanceId === instance.InstanceId,
  );
  const live = instance.State.Name === 'pending' || instance.State.Name === 'running';
  if (elastic || !live || !instance.autoPublicIp) delete instance.autoIp;
  else instance.autoIp ??= nextPublicIp(state);
  const ip = elastic?.PublicIp ?? instance.autoIp;
  if (ip) instance.PublicIpAddress = ip;
  else delete instance.PublicIpAddress;
}

/** An instance's end: its EBS volumes are deleted (DeleteOnTermination) or detached, its addresses freed. */
function terminate(state: Ec2State, instance: Instance, at: number): void {
  setInstanceState(instance, 'terminated');
  instance.endedAt = at;
  if (instance.launchFails) {
    const reason = 'Server.InternalError: Internal error on launch';
    instance.StateReason = { Code: 'Server.InternalError', Message: reason };
    instance.StateTransitionReason = reason;
  }
  disassociateInstanceAddress(state, instance);
  assignPublicIp(state, instance);
  for (const volume of Object.values(state.volumes)) {
    const attachment = volume.Attachments.find((candidate) => candidate.InstanceId === instance.InstanceId);
    if (!attachment) continue;
    if (attachment.DeleteOnTermination) delete state.volumes[volume.VolumeId];
    else {
      volume.Attachments = [];
      volume.State = 'available';
    }
  }
}

function settleInstance(state: Ec2State, instance: Instance, now: number): void {
  if (instance.settlesAt !== undefined && now >= instance.settlesAt && instance.settlesTo) {
    const at = instance.settlesAt;
    const next = instance.settlesTo;
    delete instance.settlesAt;
    delete instance.settlesTo;
    if (next === 'terminated') terminate(state, instance, at);
    else setInstanceState(instance, next);
    if (next === 'stopped') assignPublicIp(state, instance);
  }
  if (instance.endedAt !== undefined && now >= instance.endedAt + LINGER_MS) {
    delete state.instances[instance.InstanceId];
  }
}

function settleVolume(state: Ec2State, volume: Volume, now: number): void {
  if (volume.settlesAt !== undefined && now >= volume.settlesAt) {
    delete volume.settlesAt;
    if (volume.State === 'creating') volume.State = 'available';
    else if (volume.State === 'deleting') {
      delete state.volumes[volume.VolumeId];
      return;
    }
  }
  for (const attachment of volume.Attachments) {
    if (attachment.settlesAt === undefined || now < attachment.settlesAt) continue;
    delete attachment.settlesAt;
    if (attachment.State === 'attaching') attachment.State = 'attached';
    else if (attachment.State === 'detaching') volume.Attachments = [];
  }
  if (volume.State === 'in-use' && volume.Attachments.length === 0) volume.State = 'available';
}

type BlockDevice = NonNullable<Instance['BlockDeviceMappings']>[number];

/**
 * Every instance's block devices, as DescribeInstances shows them: its attached EBS volumes (one pass over the
 * untracked state; only an instance whose devices changed is written, so a call journals what it changed).
 */
function syncBlockDevices(state: Ec2State, raw: Ec2State): void {
  const devices = new Map<string, BlockDevice[]>();
  for (const volume of Object.values(raw.volumes)) {
    for (const attachment of volume.Attachments) {
      const list = devices.get(attachment.InstanceId) ?? [];
      list.push({
        DeviceName: attachment.Device,
        Ebs: {
          AttachTime: attachment.AttachTime,
          DeleteOnTermination: attachment.DeleteOnTermination,
          Status: attachment.State,
          VolumeId: volume.VolumeId,
        },
      });
      devices.set(attachment.InstanceId, list);
    }
  }
  for (const instance of Object.values(raw.instances)) {
    const next = (devices.get(instance.InstanceId) ?? []).sort(
      (a, b) => a.Ebs.AttachTime - b.Ebs.AttachTime || a.DeviceName.localeCompare(b.DeviceName),
    );
    if (!sameDevices(next, instance.BlockDeviceMappings ?? [])) {
      state.instances[instance.InstanceId].BlockDeviceMappings = next;
    }
  }
}

const sameDevices = (a: BlockDevice[], b: BlockDevice[]) =>
  a.length === b.length &&
  a.every(
    (device, i) =>
      device.DeviceName === b[i].DeviceName &&
      device.Ebs.VolumeId === b[i].Ebs.VolumeId &&
      device.Ebs.Status === b[i].Ebs.Status &&
      device.Ebs.AttachTime === b[i].Ebs.AttachTime &&
      device.Ebs.DeleteOnTermination === b[i].Ebs.DeleteOnTermination,
  );

const due = (at: number | undefined, now: number) => at !== undefined && now >= at;
const natDue = (nat: NatGateway, now: number) =>
  (due(nat.settlesAt, now) && !!nat.settlesTo) || due(nat.endedAt && nat.endedAt + LINGER_MS, now);
const instanceDue = (instance: Instance, now: number) =>
  (due(instance.settlesAt, now) && !!instance.settlesTo) ||
  due(instance.endedAt && instance.endedAt + LINGER_MS, now);
const volumeDue = (volume: Volume, now: number) =>
  due(volume.settlesAt, now) ||
  volume.Attachments.some((attachment) => due(attachment.settlesAt, now)) ||
  (volume.State === 'in-use' && volume.Attachments.length === 0);

/**
 * Advances every time-based transition to `nowMs`: VPC pending -> available, NAT gateway pending -> available or
 * failed and deleting -> deleted, instance pending -> running (or terminated), stopping -> stopped,
 * shutting-down -> terminated, volume creating -> available, attaching -> attached, detaching -> detached,
 * deleting -> gone. Ended instances and NAT gateways are purged an hour after they ended.
 */
export function refreshEc2(state: Ec2State, nowMs: number): void {
  ensureCollections(state);
  // Runs on every EC2 call: find what is due on the untracked state (cheap), then settle that through the tracked
  // state, so only what changes is journaled (src/sim/durable.ts).
  const raw = untracked(state);
  for (const vpc of Object.values(raw.vpcs)) {
    if (vpc.State === 'pending' && nowMs >= vpc.availableAt) state.vpcs[vpc.VpcId].State = 'available';
  }
  for (const nat of Object.values(raw.natGateways)) {
    if (natDue(nat, nowMs)) settleNat(state, state.natGateways[nat.NatGatewayId], nowMs);
  }
  for (const instance of Object.values(raw.instances)) {
    if (instanceDue(instance, nowMs)) settleInstance(state, state.instances[instance.InstanceId], nowMs);
  }
  for (const volume of Object.values(raw.volumes)) {
    if (volumeDue(volume, nowMs)) settleVolume(state, state.volumes[volume.VolumeId], nowMs);
  }
  refreshImages(state, raw, nowMs);
  syncBlockDevices(state, raw);
}

/** The route table that routes a subnet: its explicit association, else the VPC's main table. */
export function routeTableOfSubnet(state: Ec2State, subnetId: string): RouteTable | undefined {
  const tables = Object.values(state.routeTables);
  const explicit = tables.find((table) =>
    table.Associations.some((association) => association.SubnetId === subnetId),
  );
  if (explicit) return explicit;
  const vpcId = state.subnets[subnetId]?.VpcId;
  return tables.find(
    (table) => table.VpcId === vpcId && table.Associations.some((association) => association.Main),
  );
}

export function attachedInternetGateway(state: Ec2State, vpcId: string) {
  return Object.values(state.internetGateways).find((gateway) =>
    gateway.Attachments.some((attachment) => attachment.VpcId === vpcId),
  );
}

/**
 * How a subnet reaches the internet: its route table sends 0.0.0.0/0 to an available NAT gateway ('nat') or to an
 * internet gateway attached to the VPC ('igw'); null when it cannot (no such route, NAT not available yet).
 */
export function subnetHasInternetRoute(
  state: Ec2State,
  subnetId: string,
  nowMs: number,
  /** The caller refreshed the state at `nowMs` already (SSM asks for every instance of a fleet in one call). */
  refreshed = false,
): 'nat' | 'igw' | null {
  if (!refreshed) refreshEc2(state, nowMs);
  const table = routeTableOfSubnet(state, subnetId);
  const route = table?.Routes.find((candidate) => candidate.DestinationCidrBlock === '0.0.0.0/0');
  if (!table || !route) return null;
  if (route.NatGatewayId) {
    return state.natGateways[route.NatGatewayId]?.State === 'available' ? 'nat' : null;
  }
  if (route.GatewayId?.startsWith('igw-')) {
    return attachedInternetGateway(state, table.VpcId)?.InternetGatewayId === route.GatewayId ? 'igw' : null;
  }
  return null;
}
