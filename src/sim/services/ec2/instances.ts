import { instanceTypeArch } from '../../../core/spec/flavors.js';
import { tagValue } from '../../../core/tags.js';
import { LATENCY_SECONDS } from '../../latency.js';
import { type IamInstanceProfile, type IamState, instanceProfileOfArn } from '../iam.js';
import { DEFAULT_VCPU_QUOTA, vcpuQuota } from '../quotas.js';
import {
  type Image,
  INSTANCE_TYPES,
  type InstanceTypeInfo,
  imagesOf,
  isOffered,
  ROOT_DEVICE_NAME,
  UBUNTU_AMIS,
  unsupportedInZone,
} from './catalogue.js';
import { describePage, filterOf } from './filters.js';
import { assignPublicIp, countsForQuota, STATE_CODES, setInstanceState } from './lifecycle.js';
import { privateIpFor } from './network.js';
import {
  type Ctx,
  ec2Error,
  type Instance,
  type InstanceStateName,
  idempotentMismatch,
  invalidParameter,
  lookup,
  lookupAll,
  present,
  privateDnsName,
  publicDnsName,
  requestHash,
  type Subnet,
  tagsFromSpecifications,
} from './state.js';
import { newVolume } from './volumes.js';

/** A new instance is invisible to DescribeInstances for this long (EC2 eventual consistency). */
export const INSTANCE_VISIBILITY_MS = 2000;
/** Stopping takes about as long as shutting down. */
const STOP_SECONDS = LATENCY_SECONDS.instanceTerminated;

// ---------------------------------------------------------------------------------------------------------------
// RunInstances checks

/** What a launch needs of its AMI: a public Ubuntu image of the catalogue, or one of the account's own. */
interface LaunchImage {
  ImageId: string;
  Architecture: string;
  /** The image's block devices: each EBS one becomes a volume of the instance, made from its snapshot. */
  mappings: { DeviceName: string; snapshotId: string; size: number; encrypted: boolean; type: string }[];
  /** An own image: the install documents whose software its root snapshot holds. */
  installed?: string[];
}

/**
 * The image, accepting `resolve:ssm:<public Ubuntu parameter>` as RunInstances does. One of the account's own
 * images (images create) launches only once `available`: a pending or failed one is refused with
 * InvalidAMIID.Unavailable (EC2 API error codes: "The specified AMI has been deregistered or is in a transitional
 * state"; the message wording is ours), a deregistered one is gone (InvalidAMIID.NotFound).
 */
function imageOf(ctx: Ctx, imageId: unknown): LaunchImage {
  let id = String(imageId ?? '');
  const resolved =
    /^resolve:ssm:\/aws\/service\/canonical\/ubuntu\/server\/24\.04\/stable\/current\/(arm64|amd64)\//.exec(
      id,
    );
  if (resolved) id = UBUNTU_AMIS[`${ctx.region}/${resolved[1]}`] ?? id;
  const own = ctx.state.images[id];
  if (own) {
    if (own.State !== 'available') {
      throw ec2Error(
        'InvalidAMIID.Unavailable',
        `The image id '[${id}]' is not available: it is ${own.State}. An image must be available to launch an instance.`,
      );
    }
    return {
      ImageId: own.ImageId,
      Architecture: own.Architecture,
      mappings: own.BlockDeviceMappings.map((mapping) => ({
        DeviceName: mapping.DeviceName,
        snapshotId: mapping.Ebs.SnapshotId,
        size: mapping.Ebs.VolumeSize,
        encrypted: ctx.state.snapshots[mapping.Ebs.SnapshotId]?.Encrypted ?? false,
        type: mapping.Ebs.VolumeType,
      })),
      installed: own.installed ?? [],
    };
  }
  const image: Image | undefined = imagesOf(ctx.region)[id];
  if (!image) throw ec2Error('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  // The catalogue's Ubuntu AMIs: an unencrypted 8 GiB gp3 root snapshot (catalogue.ts, DescribeImages).
  const root = { snapshotId: `snap-${id.slice(4)}`, size: 8, encrypted: false, type: 'gp3' };
  return { ...image, mappings: [{ DeviceName: ROOT_DEVICE_NAME, ...root }] };
}

/**
 * An instance type's architecture: the catalogue's, else core's rule from EC2's naming convention (the one CDK
 * uses), so a real type the simulated catalogue does not offer (m7g.large) is still seen as arm64.
 */
function archOf(type: string): InstanceTypeInfo['arch'] {
  return INSTANCE_TYPES[type]?.arch ?? (instanceTypeArch(type) === 'arm64' ? 'arm64' : 'x86_64');
}

function checkInstanceType(ctx: Ctx, type: unknown, image: LaunchImage, subnet: Subnet): string {
  const name = String(type);
  const arch = archOf(name);
  // EC2 answers a type/AMI architecture mismatch with this message (seen in RunInstances errors), whether or not
  // the type is one this account could launch.
  if (arch !== image.Architecture) {
    throw invalidParameter(
      `The architecture '${arch}' of the specified instance type does not match the architecture '${image.Architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
    );
  }
  const info = INSTANCE_TYPES[name];
  if (!info) throw invalidParameter(`Invalid value '${name}' for InstanceType.`);
  if (!isOffered(info.type, subnet.AvailabilityZone))
    throw unsupportedInZone(ctx, info.type, subnet.AvailabilityZone);
  return info.type;
}

/** The instance profile, once IAM has propagated it to EC2 (`usableAt`); before that EC2 says the name is invalid. */
function checkProfile(ctx: Ctx, requested: any): IamInstanceProfile | undefined {
  if (!requested) return undefined;
  const key = String(requested.Arn ?? requested.Name ?? '');
  let iam: IamState | undefined;
  try {
    iam = ctx.account.stateOf<IamState>('IAM');
  } catch {
    iam = undefined;
  }
  const profile = iam ? instanceProfileOfArn(iam, key) : undefined;
  if (!profile || ctx.now() < profile.usableAt) {
    throw invalidParameter(
      `Value (${key}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
    );
  }
  return profile;
}

/** Groups by id, all in the subnet's VPC. */
function checkGroups(ctx: Ctx, ids: unknown[], subnet: Subnet) {
  const groups =
    ids.length > 0
      ? lookupAll(ctx.state, 'securityGroups', ids)
      : Object.values(ctx.state.securityGroups).filter(
          (g) => g.VpcId === subnet.VpcId && g.GroupName === 'default',
        );
  const foreign = groups.find((group) => group.VpcId !== subnet.VpcId);
  if (foreign) {
    throw ec2Error(
      'InvalidParameter',
      `Security group ${foreign.GroupId} and subnet ${subnet.SubnetId} belong to different networks.`,
    );
  }
  return groups.map((group) => ({ GroupId: group.GroupId, GroupName: group.GroupName }));
}

function quotaOf(ctx: Ctx): number {
  try {
    return vcpuQuota(ctx.account);
  } catch {
    return DEFAULT_VCPU_QUOTA;
  }
}

/** How many instances fit in the vCPU quota, between MinCount and MaxCount (EC2 launches as many as it can). */
function launchCount(ctx: Ctx, type: string, min: number, max: number): number {
  const quota = quotaOf(ctx);
  const used = Object.values(ctx.state.instances)
    .filter(countsForQuota)
    .reduce((sum, instance) => sum + INSTANCE_TYPES[instance.InstanceType].vcpus, 0);
  const fits = Math.floor((quota - used) / INSTANCE_TYPES[type].vcpus);
  if (fits < min) {
    throw ec2Error(
      'VcpuLimitExceeded',
      `You have requested more vCPU capacity than your current vCPU limit of ${quota} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
    );
  }
  return Math.min(max, fits);
}

function counts(input: any): { min: number; max: number } {
  const min = Number(input.MinCount ?? 1);
  const max = Number(input.MaxCount ?? min);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw invalidParameter(
      `Invalid values for MinCount (${input.MinCount}) and MaxCount (${input.MaxCount}).`,
    );
  }
  return { min, max };
}

/** The launch's network: top-level SubnetId/SecurityGroupIds, or the first network interface's. */
function networkOf(input: any) {
  const nic = input.NetworkInterfaces?.[0] ?? {};
  return {
    subnetId: input.SubnetId ?? nic.SubnetId,
    groupIds: (input.SecurityGroupIds ?? nic.Groups ?? []) as unknown[],
    privateIp: input.PrivateIpAddress ?? nic.PrivateIpAddress,
    publicIp: nic.AssociatePublicIpAddress as boolean | undefined,
  };
}

/** The values InstanceMetadataOptionsRequest allows (EC2 API reference): enums, and a hop limit of 1 to 64. */
const METADATA_ENUMS: Record<string, readonly string[]> = {
  HttpTokens: ['optional', 'required'],
  HttpEndpoint: ['enabled', 'disabled'],
  HttpProtocolIpv6: ['enabled', 'disabled'],
  InstanceMetadataTags: ['enabled', 'disabled'],
};
const HOP_LIMIT = { min: 1, max: 64 };

/**
 * Refuses MetadataOptions out of range before anything is launched, as RunInstances does (InvalidParameterValue).
 * The code and the limits are AWS's; AWS's exact message for these was not found in the references, so the
 * wording follows EC2's "Value (...) for parameter ... is invalid." messages.
 */
function checkMetadataOptions(requested: any = {}): void {
  for (const [name, allowed] of Object.entries(METADATA_ENUMS)) {
    const value = requested[name];
    if (value !== undefined && !allowed.includes(String(value))) {
      throw invalidParameter(
        `Value (${String(value)}) for parameter ${name} is invalid. Valid values are: ${allowed.join(', ')}.`,
      );
    }
  }
  const hops = requested.HttpPutResponseHopLimit;
  if (hops !== undefined && !(Number.isInteger(hops) && hops >= HOP_LIMIT.min && hops <= HOP_LIMIT.max)) {
    throw invalidParameter(
      `Value (${String(hops)}) for parameter HttpPutResponseHopLimit is invalid. Valid values are between ${HOP_LIMIT.min} and ${HOP_LIMIT.max}.`,
    );
  }
}

function metadataOptions(requested: any = {}) {
  return {
    State: 'applied',
    // The Ubuntu AMIs are flagged ImdsSupport v2.0: IMDSv2 only and a hop limit of 2 by default.
    HttpTokens: requested.HttpTokens ?? 'required',
    HttpPutResponseHopLimit: requested.HttpPutResponseHopLimit ?? 2,
    HttpEndpoint: requested.HttpEndpoint ?? 'enabled',
    HttpProtocolIpv6: requested.HttpProtocolIpv6 ?? 'disabled',
    InstanceMetadataTags: requested.InstanceMetadataTags ?? 'disabled',
  };
}

/**
 * The launch's EBS volumes: the image's block devices (each from its snapshot), changed by the request's mappings of
 * the same device (size, type, encryption), removed by a request mapping with NoDevice, plus the request's other
 * devices. A volume from a snapshot is at least the snapshot's size (InvalidBlockDeviceMapping otherwise) and
 * encrypted when the snapshot is.
 */
function launchVolumes(image: LaunchImage, input: any) {
  const requested = (input.BlockDeviceMappings ?? []) as any[];
  const byDevice = new Map(requested.map((mapping) => [String(mapping.DeviceName), mapping]));
  const fromImage = image.mappings.flatMap((device) => {
    const asked = byDevice.get(device.DeviceName);
    byDevice.delete(device.DeviceName);
    if (asked && asked.NoDevice !== undefined) return [];
    const ebs = asked?.Ebs ?? {};
    if (ebs.SnapshotId !== undefined && ebs.SnapshotId !== device.snapshotId) {
      throw ec2Error(
        'InvalidBlockDeviceMapping',
        `snapshotId can only be modified on EBS devices of an AMI that are not the root device: ${device.DeviceName}`,
      );
    }
    const size = ebs.VolumeSize ?? device.size;
    if (Number(size) < device.size) {
      throw ec2Error(
        'InvalidBlockDeviceMapping',
        `Volume of size ${size}GB is smaller than snapshot '${device.snapshotId}', expect size >= ${device.size}GB`,
      );
    }
    return [
      {
        DeviceName: device.DeviceName,
        snapshotId: device.snapshotId,
        Ebs: {
          ...ebs,
          VolumeSize: size,
          VolumeType: ebs.VolumeType ?? device.type,
          Encrypted: device.encrypted || Boolean(ebs.Encrypted),
        },
      },
    ];
  });
  const extra = [...byDevice.values()].filter((mapping) => mapping.Ebs && mapping.NoDevice === undefined);
  return [...fromImage, ...extra.map((mapping) => ({ ...mapping, snapshotId: undefined }))];
}

/** Creates the instance's EBS volumes, attached: the image's (root: AMI default 8 GiB gp3) and any extra mapping. */
function createBlockDevices(ctx: Ctx, instance: Instance, image: LaunchImage, input: any): void {
  const mappings = launchVolumes(image, input);
  const tags = tagsFromSpecifications(input.TagSpecifications, 'volume');
  for (const mapping of mappings) {
    const root = mapping.DeviceName === ROOT_DEVICE_NAME;
    const volume = newVolume(
      ctx,
      {
        zone: instance.Placement.AvailabilityZone,
        size: mapping.Ebs.VolumeSize,
        type: mapping.Ebs.VolumeType ?? (root ? 'gp3' : 'gp2'),
        encrypted: mapping.Ebs.Encrypted,
        iops: mapping.Ebs.Iops,
        throughput: mapping.Ebs.Throughput,
        tags,
      },
      'in-use',
    );
    if (mapping.snapshotId) volume.SnapshotId = mapping.snapshotId;
    volume.Attachments = [
      {
        VolumeId: volume.VolumeId,
        InstanceId: instance.InstanceId,
        Device: String(mapping.DeviceName),
        State: 'attached',
        AttachTime: instance.LaunchTime,
        DeleteOnTermination: mapping.Ebs.DeleteOnTermination ?? true,
      },
    ];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export function instanceOutput(ctx: Ctx, instance: Instance) {
  return {
    ...present(instance),
    PublicDnsName: publicDnsName(instance.PublicIpAddress, ctx.region),
  };
}

/** Reservations as DescribeInstances groups them, in the order of their first instance. */
function reservationsOf(ctx: Ctx, instances: Instance[]) {
  const byReservation = new Map<string, Instance[]>();
  for (const instance of instances) {
    const group = byReservation.get(instance.reservationId) ?? [];
    group.push(instance);
    byReservation.set(instance.reservationId, group);
  }
  return [...byReservation].map(([id, members]) => reservationOutput(ctx, id, members));
}

function reservationOutput(ctx: Ctx, reservationId: string, members: Instance[]) {
  return {
    ReservationId: reservationId,
    OwnerId: ctx.caller.accountId,
    Groups: [],
    Instances: members.map((instance) => instanceOutput(ctx, instance)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Operations

/** A same-token retry returns the first call's reservation; a different request with that token is refused. */
function replayOf(ctx: Ctx, input: any) {
  if (!input.ClientToken) return undefined;
  const previous = Object.values(ctx.state.instances).filter(
    (instance) => instance.ClientToken === input.ClientToken,
  );
  if (previous.length === 0) return undefined;
  if (previous[0].requestHash !== requestHash(input)) throw idempotentMismatch();
  return reservationOutput(ctx, previous[0].reservationId, previous);
}

function runInstances(ctx: Ctx, input: any) {
  const replay = replayOf(ctx, input);
  if (replay) return replay;
  const { min, max } = counts(input);
  checkMetadataOptions(input.MetadataOptions);
  const network = networkOf(input);
  if (!network.subnetId) throw ec2Error('VPCIdNotSpecified', 'No default VPC for this user');
  const subnet = lookup(ctx.state, 'subnets', network.subnetId);
  const image = imageOf(ctx, input.ImageId);
  const type = checkInstanceType(ctx, input.InstanceType, image, subnet);
  const groups = checkGroups(ctx, network.groupIds, subnet);
  const profile = checkProfile(ctx, input.IamInstanceProfile);
  if (network.privateIp !== undefined && max > 1) {
    throw ec2Error(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level private IP address should not be specified on the same request',
    );
  }
  // Check the requested address before counting, so an address in use is reported as such.
  if (network.privateIp !== undefined) privateIpFor(ctx.state, subnet, network.privateIp);
  const count = launchCount(ctx, type, min, max);
  const reservationId = ctx.newId('r');
  const hash = requestHash(input);
  const taken = new Set<string>();
  const launched: Instance[] = [];
  for (let index = 0; index < count; index += 1) {
    const privateIp = privateIpFor(ctx.state, subnet, network.privateIp, taken);
    taken.add(privateIp);
    const instance = newInstance(ctx, input, {
      subnet,
      image,
      type,
      groups,
      profile,
      privateIp,
      index,
      reservationId,
      hash,
    });
    instance.autoPublicIp = network.publicIp ?? subnet.MapPublicIpOnLaunch;
    assignPublicIp(ctx.state, instance);
    ctx.state.instances[instance.InstanceId] = instance;
    createBlockDevices(ctx, instance, image, input);
    launched.push(instance);
  }
  return reservationOutput(ctx, reservationId, launched);
}

interface LaunchPlan {
  subnet: Subnet;
  image: LaunchImage;
  type: string;
  groups: Instance['SecurityGroups'];
  profile?: IamInstanceProfile;
  privateIp: string;
  index: number;
  reservationId: string;
  hash: string;
}

function newInstance(ctx: Ctx, input: any, plan: LaunchPlan): Instance {
  const id = ctx.newId('i');
  const now = ctx.now();
  const tags = tagsFromSpecifications(input.TagSpecifications, 'instance');
  const name = tagValue(tags, 'Name');
  // A fault rule can lengthen the boot, or make the launch fail (pending, then terminated).
  const rule = ctx.effect('RunInstances', name ? [name, id] : [id]);
  return {
    InstanceId: id,
    ImageId: plan.image.ImageId,
    InstanceType: plan.type,
    State: { Name: 'pending', Code: STATE_CODES.pending },
    StateTransitionReason: '',
    SubnetId: plan.subnet.SubnetId,
    VpcId: plan.subnet.VpcId,
    PrivateIpAddress: plan.privateIp,
    PrivateDnsName: privateDnsName(plan.privateIp, ctx.region),
    ...(plan.profile
      ? { IamInstanceProfile: { Arn: plan.profile.Arn, Id: plan.profile.InstanceProfileId } }
      : {}),
    Tags: tags,
    LaunchTime: now,
    AmiLaunchIndex: plan.index,
    Architecture: plan.image.Architecture,
    ClientToken: String(input.ClientToken ?? ''),
    MetadataOptions: metadataOptions(input.MetadataOptions),
    BlockDeviceMappings: [],
    SecurityGroups: plan.groups,
    Placement: { AvailabilityZone: plan.subnet.AvailabilityZone, GroupName: '', Tenancy: 'default' },
    RootDeviceName: ROOT_DEVICE_NAME,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    EbsOptimized: Boolean(input.EbsOptimized),
    Monitoring: { State: 'disabled' },
    reservationId: plan.reservationId,
    requestHash: plan.hash,
    visibleAt: now + INSTANCE_VISIBILITY_MS,
    settlesAt: now + (LATENCY_SECONDS.instanceRunning + (rule?.delaySeconds ?? 0)) * 1000,
    settlesTo: rule?.finalState === 'failed' ? 'terminated' : 'running',
    ...(rule?.finalState === 'failed' ? { launchFails: true } : {}),
    ...(plan.image.installed ? { installed: [...plan.image.installed] } : {}),
    autoPublicIp: false,
  };
}

const INSTANCE_FILTERS = {
  'instance-id': (i: Instance) => i.InstanceId,
  'instance-state-name': (i: Instance) => i.State.Name,
  'instance-state-code': (i: Instance) => i.State.Code,
  'instance-type': (i: Instance) => i.InstanceType,
  'image-id': (i: Instance) => i.ImageId,
  'vpc-id': (i: Instance) => i.VpcId,
  'subnet-id': (i: Instance) => i.SubnetId,
  'private-ip-address': (i: Instance) => i.PrivateIpAddress,
  'ip-address': (i: Instance) => i.PublicIpAddress,
  'availability-zone': (i: Instance) => i.Placement.AvailabilityZone,
  'reservation-id': (i: Instance) => i.reservationId,
  'client-token': (i: Instance) => i.ClientToken,
  architecture: (i: Instance) => i.Architecture,
  'iam-instance-profile.arn': (i: Instance) => i.IamInstanceProfile?.Arn,
  'instance.group-id': (i: Instance) => i.SecurityGroups.map((g) => g.GroupId),
  'instance.group-name': (i: Instance) => i.SecurityGroups.map((g) => g.GroupName),
};

function describeInstances(ctx: Ctx, input: any) {
  const ids: unknown[] = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw ec2Error(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  const visible = (instance: Instance) => ctx.now() >= instance.visibleAt;
  const instances =
    ids.length > 0
      ? lookupAll(ctx.state, 'instances', ids, visible)
      : Object.values(ctx.state.instances).filter(visible);
  const { page, ...next } = describePage(
    instances.filter(filterOf(input.Filters, INSTANCE_FILTERS)),
    input,
    `instances:${JSON.stringify(input.Filters ?? [])}`,
  );
  return { Reservations: reservationsOf(ctx, page), ...next };
}

/** Applies a state change to each instance, reporting previous and current state as EC2 does. */
function changeStates(ctx: Ctx, ids: unknown[], change: (instance: Instance) => void) {
  if (ids.length === 0)
    throw ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
  return lookupAll(ctx.state, 'instances', ids).map((instance) => {
    const previous = { ...instance.State };
    change(instance);
    return { InstanceId: instance.InstanceId, PreviousState: previous, CurrentState: { ...instance.State } };
  });
}

function settleLater(
  instance: Instance,
  now: number,
  via: InstanceStateName,
  to: InstanceStateName,
  seconds: number,
) {
  setInstanceState(instance, via);
  instance.settlesAt = now + seconds * 1000;
  instance.settlesTo = to;
}

const gmt = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} GMT`;

function terminateInstances(ctx: Ctx, input: any) {
  const terminating = changeStates(ctx, input.InstanceIds ?? [], (instance) => {
    if (instance.State.Name === 'shutting-down' || instance.State.Name === 'terminated') return;
    delete instance.launchFails;
    instance.StateTransitionReason = `User initiated (${gmt(ctx.now())})`;
    instance.StateReason = {
      Code: 'Client.UserInitiatedShutdown',
      Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
    };
    settleLater(instance, ctx.now(), 'shutting-down', 'terminated', LATENCY_SECONDS.instanceTerminated);
  });
  return { TerminatingInstances: terminating };
}

/** What a fault rule's `target` may name for an instance: its Name tag or its id. */
function effectTargets(instance: Instance): string[] {
  const name = tagValue(instance.Tags, 'Name');
  return name ? [name, instance.InstanceId] : [instance.InstanceId];
}

function stopInstances(ctx: Ctx, input: any) {
  const stopping = changeStates(ctx, input.InstanceIds ?? [], (instance) => {
    if (instance.State.Name === 'stopping' || instance.State.Name === 'stopped') return;
    if (instance.State.Name !== 'running') {
      throw ec2Error(
        'IncorrectInstanceState',
        `The instance '${instance.InstanceId}' is not in a state from which it can be stopped.`,
      );
    }
    instance.StateTransitionReason = `User initiated (${gmt(ctx.now())})`;
    // A fault rule can keep the instance in stopping longer (delaySeconds).
    const rule = ctx.effect('StopInstances', effectTargets(instance));
    settleLater(instance, ctx.now(), 'stopping', 'stopped', STOP_SECONDS + (rule?.delaySeconds ?? 0));
  });
  return { StoppingInstances: stopping };
}

function startInstances(ctx: Ctx, input: any) {
  const starting = changeStates(ctx, input.InstanceIds ?? [], (instance) => {
    if (instance.State.Name === 'pending' || instance.State.Name === 'running') return;
    if (instance.State.Name !== 'stopped') {
      throw ec2Error(
        'IncorrectInstanceState',
        `The instance '${instance.InstanceId}' is not in a state from which it can be started.`,
      );
    }
    launchCount(ctx, instance.InstanceType, 1, 1);
    // A fault rule can keep the instance pending longer (delaySeconds).
    const rule = ctx.effect('StartInstances', effectTargets(instance));
    const seconds = LATENCY_SECONDS.instanceRunning + (rule?.delaySeconds ?? 0);
    settleLater(instance, ctx.now(), 'pending', 'running', seconds);
    assignPublicIp(ctx.state, instance);
  });
  return { StartingInstances: starting };
}

export const instanceOperations = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  StopInstances: stopInstances,
  StartInstances: startInstances,
};
