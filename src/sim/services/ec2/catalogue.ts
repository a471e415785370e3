import { INSTANCE_VCPUS, instanceTypeArch } from '../../../core/spec/flavors.js';
import { describePage, filterOf } from './filters.js';
import { type Ctx, ec2Error, invalidParameter } from './state.js';

/**
 * Canonical's Ubuntu 24.04 (noble) AMIs per `<region>/<arch>`. The ids are made up but AWS-shaped; the SSM
 * simulator serves them as the public parameter `/aws/service/canonical/ubuntu/server/24.04/stable/current/...`.
 */
export const UBUNTU_AMIS: Record<string, string> = {
  'us-east-1/amd64': 'ami-0a1b2c3d4e5f60101',
  'us-east-1/arm64': 'ami-0a1b2c3d4e5f60102',
  'us-east-2/amd64': 'ami-0a1b2c3d4e5f60201',
  'us-east-2/arm64': 'ami-0a1b2c3d4e5f60202',
  'us-west-2/amd64': 'ami-0a1b2c3d4e5f60301',
  'us-west-2/arm64': 'ami-0a1b2c3d4e5f60302',
  'eu-west-1/amd64': 'ami-0a1b2c3d4e5f60401',
  'eu-west-1/arm64': 'ami-0a1b2c3d4e5f60402',
  'eu-central-1/amd64': 'ami-0a1b2c3d4e5f60501',
  'eu-central-1/arm64': 'ami-0a1b2c3d4e5f60502',
};

export const CANONICAL_OWNER_ID = '099720109477';
export const ROOT_DEVICE_NAME = '/dev/sda1';
const AMI_DATE = '20251101';

export interface Image {
  ImageId: string;
  Name: string;
  Architecture: 'arm64' | 'x86_64';
  State: 'available';
  OwnerId: string;
}

/** The AMIs of a region, by id. */
export function imagesOf(region: string): Record<string, Image> {
  const images: Record<string, Image> = {};
  for (const [key, imageId] of Object.entries(UBUNTU_AMIS)) {
    const [imageRegion, arch] = key.split('/');
    if (imageRegion !== region) continue;
    images[imageId] = {
      ImageId: imageId,
      Name: `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-${AMI_DATE}`,
      Architecture: arch === 'arm64' ? 'arm64' : 'x86_64',
      State: 'available',
      OwnerId: CANONICAL_OWNER_ID,
    };
  }
  return images;
}

function imageOutput(image: Image) {
  return {
    ...image,
    Description: `Canonical, Ubuntu, 24.04, ${image.Architecture === 'arm64' ? 'arm64' : 'amd64'} noble image`,
    CreationDate: '2025-11-01T08:12:34.000Z',
    Public: true,
    ImageType: 'machine',
    ImageLocation: `amazon/${image.Name}`,
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    RootDeviceName: ROOT_DEVICE_NAME,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SriovNetSupport: 'simple',
    BootMode: 'uefi-preferred',
    ImdsSupport: 'v2.0',
    BlockDeviceMappings: [
      {
        DeviceName: ROOT_DEVICE_NAME,
        Ebs: {
          DeleteOnTermination: true,
          SnapshotId: `snap-${image.ImageId.slice(4)}`,
          VolumeSize: 8,
          VolumeType: 'gp3',
          Encrypted: false,
        },
      },
    ],
  };
}

function describeImages(ctx: Ctx, input: any) {
  const images = imagesOf(ctx.region);
  const ids: string[] = (input.ImageIds ?? []).map(String);
  const missing = ids.filter((id) => !images[id]);
  if (missing.length > 0) {
    throw ec2Error('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
  }
  const owners: string[] = input.Owners ?? [];
  const matches = filterOf<Image>(input.Filters, {
    'image-id': (image) => image.ImageId,
    name: (image) => image.Name,
    architecture: (image) => image.Architecture,
    state: (image) => image.State,
    'owner-id': (image) => image.OwnerId,
    'owner-alias': () => 'amazon',
    'root-device-type': () => 'ebs',
    'virtualization-type': () => 'hvm',
  });
  const listed = Object.values(images).filter(
    (image) =>
      (ids.length === 0 || ids.includes(image.ImageId)) &&
      (owners.length === 0 || owners.some((owner) => owner === image.OwnerId || owner === 'amazon')) &&
      matches(image),
  );
  return { Images: listed.map(imageOutput) };
}

// ---------------------------------------------------------------------------------------------------------------
// Zones

const ZONE_LETTERS = ['a', 'b', 'c', 'd', 'e', 'f'];

/** The regions the simulator knows: those with Ubuntu AMIs. */
export const REGIONS = [...new Set(Object.keys(UBUNTU_AMIS).map((key) => key.split('/')[0]))];

export function zonesOf(region: string): string[] {
  return REGIONS.includes(region) ? ZONE_LETTERS.map((letter) => `${region}${letter}`) : [];
}

/** `us-east-1c` -> `use1-az3`. */
export function zoneIdOf(zone: string): string {
  const region = zone.slice(0, -1);
  const [area, direction, number] = region.split('-');
  const short = `${area}${direction.replace(/(north|south|east|west|central)/g, (word) => word[0])}${number}`;
  return `${short}-az${ZONE_LETTERS.indexOf(zone.slice(-1)) + 1}`;
}

/** Checks a zone of the account's region; EC2's wording lists the valid ones. */
export function checkZone(ctx: Ctx, zone: unknown): string {
  const zones = zonesOf(ctx.region);
  if (typeof zone !== 'string' || !zones.includes(zone)) {
    throw invalidParameter(
      `Value (${String(zone)}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zones.join(', ')}.`,
    );
  }
  return zone;
}

function describeAvailabilityZones(ctx: Ctx, input: any) {
  const zones = zonesOf(ctx.region);
  const asked: string[] = (input.ZoneNames ?? []).map(String);
  const unknown = asked.find((zone) => !zones.includes(zone));
  if (unknown) {
    throw invalidParameter(`The zone '${unknown}' does not exist in the region '${ctx.region}'.`);
  }
  const entries = zones.map((zone) => ({
    ZoneName: zone,
    ZoneId: zoneIdOf(zone),
    State: 'available',
    OptInStatus: 'opt-in-not-required',
    RegionName: ctx.region,
    ZoneType: 'availability-zone',
    GroupName: ctx.region,
    NetworkBorderGroup: ctx.region,
    Messages: [],
  }));
  const matches = filterOf<(typeof entries)[number]>(input.Filters, {
    'zone-name': (zone) => zone.ZoneName,
    'zone-id': (zone) => zone.ZoneId,
    state: (zone) => zone.State,
    'region-name': (zone) => zone.RegionName,
    'zone-type': (zone) => zone.ZoneType,
  });
  return {
    AvailabilityZones: entries.filter(
      (zone) => (asked.length === 0 || asked.includes(zone.ZoneName)) && matches(zone),
    ),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Instance types

export interface InstanceTypeInfo {
  type: string;
  vcpus: number;
  memoryMiB: number;
  arch: 'arm64' | 'x86_64';
  /** Local NVMe instance store: disks of this size (GB). */
  storage?: { count: number; sizeGB: number };
}

/** Instance store of the `d` types (AWS figures). */
const INSTANCE_STORE: Record<string, { count: number; sizeGB: number }> = {
  'c5ad.xlarge': { count: 1, sizeGB: 150 },
  'c5ad.2xlarge': { count: 1, sizeGB: 300 },
  'c5ad.4xlarge': { count: 2, sizeGB: 300 },
  'c5ad.8xlarge': { count: 2, sizeGB: 600 },
  'c5ad.16xlarge': { count: 2, sizeGB: 1200 },
  'c7gd.medium': { count: 1, sizeGB: 59 },
  'c7gd.large': { count: 1, sizeGB: 118 },
  'c7gd.xlarge': { count: 1, sizeGB: 237 },
  'c7gd.2xlarge': { count: 1, sizeGB: 474 },
  'c7gd.4xlarge': { count: 1, sizeGB: 950 },
  'c7gd.8xlarge': { count: 2, sizeGB: 950 },
  'c7gd.16xlarge': { count: 2, sizeGB: 1900 },
};

/** Burstable types have less memory per vCPU than the compute-optimised families (2 GiB per vCPU). */
const T3_MEMORY_MIB: Record<string, number> = {
  't3.nano': 512,
  't3.micro': 1024,
  't3.small': 2048,
  't3.medium': 4096,
  't3.large': 8192,
};

const EXTRA_VCPUS: Record<string, number> = {
  't3.nano': 2,
  't3.large': 2,
  'c7gd.medium': 1,
  'c7gd.large': 2,
};

/** Every type the simulator offers: those of src/core/spec/flavors.ts plus a few small ones. */
export const INSTANCE_TYPES: Record<string, InstanceTypeInfo> = Object.fromEntries(
  Object.entries({ ...INSTANCE_VCPUS, ...EXTRA_VCPUS }).map(([type, vcpus]) => [
    type,
    {
      type,
      vcpus,
      memoryMiB: T3_MEMORY_MIB[type] ?? vcpus * 2048,
      arch: instanceTypeArch(type) === 'arm64' ? 'arm64' : 'x86_64',
      ...(INSTANCE_STORE[type] ? { storage: INSTANCE_STORE[type] } : {}),
    },
  ]),
);

/** Graviton types are missing from one zone, so a preflight can be seen failing on an offering. */
const isGraviton = (type: string) => /^c7gd?\./.test(type);

export function isOffered(type: string, zone: string): boolean {
  return INSTANCE_TYPES[type] !== undefined && !(zone === 'us-east-1e' && isGraviton(type));
}

/** EC2's message when a type is not offered in the zone asked for. */
export function unsupportedInZone(ctx: Ctx, type: string, zone: string) {
  const others = zonesOf(ctx.region).filter((candidate) => candidate !== zone && isOffered(type, candidate));
  return ec2Error(
    'Unsupported',
    `Your requested instance type (${type}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing ${others.join(', ')}.`,
  );
}

interface Offering {
  InstanceType: string;
  LocationType: string;
  Location: string;
}

function describeInstanceTypeOfferings(ctx: Ctx, input: any) {
  const locationType = input.LocationType ?? 'region';
  const types = Object.keys(INSTANCE_TYPES);
  let offerings: Offering[];
  if (locationType === 'region') {
    offerings = types.map((type) => ({ InstanceType: type, LocationType: 'region', Location: ctx.region }));
  } else if (locationType === 'availability-zone' || locationType === 'availability-zone-id') {
    offerings = zonesOf(ctx.region).flatMap((zone) =>
      types
        .filter((type) => isOffered(type, zone))
        .map((type) => ({
          InstanceType: type,
          LocationType: locationType,
          Location: locationType === 'availability-zone' ? zone : zoneIdOf(zone),
        })),
    );
  } else {
    throw invalidParameter(`Value (${locationType}) for parameter locationType is invalid.`);
  }
  const matches = filterOf<Offering>(input.Filters, {
    location: (offering) => offering.Location,
    'instance-type': (offering) => offering.InstanceType,
  });
  const { page, ...next } = describePage(
    offerings.filter(matches),
    input,
    `offerings:${JSON.stringify([locationType, input.Filters])}`,
  );
  return { InstanceTypeOfferings: page, ...next };
}

function instanceTypeOutput(info: InstanceTypeInfo) {
  return {
    InstanceType: info.type,
    CurrentGeneration: true,
    SupportedUsageClasses: ['on-demand', 'spot'],
    SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: ['hvm'],
    BareMetal: false,
    Hypervisor: 'nitro',
    ProcessorInfo: { SupportedArchitectures: [info.arch] },
    VCpuInfo: { DefaultVCpus: info.vcpus },
    MemoryInfo: { SizeInMiB: info.memoryMiB },
    InstanceStorageSupported: info.storage !== undefined,
    ...(info.storage
      ? {
          InstanceStorageInfo: {
            TotalSizeInGB: info.storage.count * info.storage.sizeGB,
            Disks: [{ SizeInGB: info.storage.sizeGB, Count: info.storage.count, Type: 'ssd' }],
            NvmeSupport: 'required',
            EncryptionSupport: 'required',
          },
        }
      : {}),
    EbsInfo: { EbsOptimizedSupport: 'default', EncryptionSupport: 'supported', NvmeSupport: 'required' },
    NetworkInfo: { EnaSupport: 'required', MaximumNetworkInterfaces: 4 },
    BurstablePerformanceSupported: info.type.startsWith('t'),
  };
}

function describeInstanceTypes(_ctx: Ctx, input: any) {
  const asked: string[] = (input.InstanceTypes ?? []).map(String);
  const unknown = asked.filter((type) => !INSTANCE_TYPES[type]);
  if (unknown.length > 0) {
    throw ec2Error(
      'InvalidInstanceType',
      `The following supplied instance types do not exist: [${unknown.join(', ')}]`,
    );
  }
  const matches = filterOf<InstanceTypeInfo>(input.Filters, {
    'instance-type': (info) => info.type,
    'processor-info.supported-architecture': (info) => info.arch,
    'instance-storage-supported': (info) => info.storage !== undefined,
    'vcpu-info.default-vcpus': (info) => info.vcpus,
  });
  const listed = (
    asked.length > 0 ? asked.map((type) => INSTANCE_TYPES[type]) : Object.values(INSTANCE_TYPES)
  )
    .filter(matches)
    .map(instanceTypeOutput);
  return { InstanceTypes: listed };
}

export const catalogueOperations = {
  DescribeImages: describeImages,
  DescribeAvailabilityZones: describeAvailabilityZones,
  DescribeInstanceTypeOfferings: describeInstanceTypeOfferings,
  DescribeInstanceTypes: describeInstanceTypes,
};
