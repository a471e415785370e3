import type { OperationContext } from '../../account.js';
import { awsError, type SimulatedAwsError } from '../../aws-error.js';
import type { Tag } from '../iam.js';

/**
 * The EC2 slice of the account state. Every collection maps an id to an entry in the AWS output shape with a
 * `Tags` list (the tagging simulator reads them generically). Keys starting with a lowercase letter are the
 * simulator's own bookkeeping (when a transition happens, client tokens, ...): `present()` strips them, and turns
 * the epoch-millisecond timestamps into `Date`s, before an entry leaves the simulator.
 */
export interface Ec2State {
  vpcs: Record<string, Vpc>;
  subnets: Record<string, Subnet>;
  internetGateways: Record<string, InternetGateway>;
  routeTables: Record<string, RouteTable>;
  natGateways: Record<string, NatGateway>;
  addresses: Record<string, Address>;
  securityGroups: Record<string, SecurityGroup>;
  securityGroupRules: Record<string, SecurityGroupRule>;
  instances: Record<string, Instance>;
  volumes: Record<string, Volume>;
  /** The account's own AMIs and their EBS snapshots (CreateImage: ec2/images.ts). */
  images: Record<string, OwnImage>;
  snapshots: Record<string, Snapshot>;
  /**
   * Network interfaces made with CreateNetworkInterface (a stranger's, in tests). Instances' and NAT gateways' own
   * interfaces are derived from them (ec2/interfaces.ts).
   */
  networkInterfaces: Record<string, NetworkInterface>;
  /** Counters for made-up addresses. */
  counters: { publicIp: number };
}

export interface Vpc {
  VpcId: string;
  CidrBlock: string;
  State: 'pending' | 'available';
  OwnerId: string;
  DhcpOptionsId: string;
  InstanceTenancy: 'default';
  IsDefault: false;
  CidrBlockAssociationSet: { AssociationId: string; CidrBlock: string; CidrBlockState: { State: string } }[];
  Tags: Tag[];
  availableAt: number;
}

export interface Subnet {
  SubnetId: string;
  SubnetArn: string;
  VpcId: string;
  CidrBlock: string;
  AvailabilityZone: string;
  AvailabilityZoneId: string;
  State: 'available';
  MapPublicIpOnLaunch: boolean;
  DefaultForAz: false;
  AssignIpv6AddressOnCreation: false;
  OwnerId: string;
  Tags: Tag[];
}

export interface InternetGateway {
  InternetGatewayId: string;
  OwnerId: string;
  Attachments: { VpcId: string; State: 'available' }[];
  Tags: Tag[];
}

export interface Route {
  DestinationCidrBlock: string;
  GatewayId?: string;
  NatGatewayId?: string;
  Origin: 'CreateRouteTable' | 'CreateRoute';
}

export interface RouteTableAssociation {
  RouteTableAssociationId: string;
  RouteTableId: string;
  Main: boolean;
  SubnetId?: string;
  AssociationState: { State: 'associated' };
}

export interface RouteTable {
  RouteTableId: string;
  VpcId: string;
  OwnerId: string;
  Routes: Route[];
  Associations: RouteTableAssociation[];
  PropagatingVgws: never[];
  Tags: Tag[];
}

export type NatState = 'pending' | 'available' | 'failed' | 'deleting' | 'deleted';

export interface NatGatewayAddress {
  AllocationId: string;
  NetworkInterfaceId: string;
  PrivateIp: string;
  PublicIp: string;
  AssociationId?: string;
  IsPrimary: true;
  Status: 'associating' | 'succeeded' | 'failed' | 'disassociating';
}

export interface NatGateway {
  NatGatewayId: string;
  SubnetId: string;
  VpcId: string;
  State: NatState;
  ConnectivityType: 'public' | 'private';
  CreateTime: number;
  DeleteTime?: number;
  FailureCode?: string;
  FailureMessage?: string;
  NatGatewayAddresses: NatGatewayAddress[];
  Tags: Tag[];
  clientToken?: string;
  requestHash?: string;
  /** When the current transitional state (pending, deleting) ends, and in which state. */
  settlesAt?: number;
  settlesTo?: NatState;
  failure?: { code: string; message: string };
  /** When the gateway ended (failed or deleted); AWS lists it for about an hour more. */
  endedAt?: number;
}

/** A network interface made on its own (CreateNetworkInterface), not by an instance or a NAT gateway. */
export interface NetworkInterface {
  NetworkInterfaceId: string;
  SubnetId: string;
  VpcId: string;
  AvailabilityZone: string;
  Description: string;
  InterfaceType: 'interface';
  Status: 'available';
  PrivateIpAddress: string;
  Groups: { GroupId: string; GroupName: string }[];
  OwnerId: string;
  RequesterManaged: false;
  Tags: Tag[];
}

export interface Address {
  AllocationId: string;
  PublicIp: string;
  Domain: 'vpc';
  PublicIpv4Pool: 'amazon';
  NetworkBorderGroup: string;
  AssociationId?: string;
  InstanceId?: string;
  NetworkInterfaceId?: string;
  NetworkInterfaceOwnerId?: string;
  PrivateIpAddress?: string;
  Tags: Tag[];
  /** The NAT gateway holding this address, if any. */
  natGatewayId?: string;
}

export interface SecurityGroup {
  GroupId: string;
  GroupName: string;
  Description: string;
  VpcId: string;
  OwnerId: string;
  SecurityGroupArn: string;
  Tags: Tag[];
}

export interface SecurityGroupRule {
  SecurityGroupRuleId: string;
  SecurityGroupRuleArn: string;
  GroupId: string;
  GroupOwnerId: string;
  IsEgress: boolean;
  IpProtocol: string;
  FromPort: number;
  ToPort: number;
  CidrIpv4?: string;
  ReferencedGroupInfo?: { GroupId: string; UserId: string };
  Description?: string;
  Tags: Tag[];
}

export type InstanceStateName =
  | 'pending'
  | 'running'
  | 'shutting-down'
  | 'terminated'
  | 'stopping'
  | 'stopped';

export interface Instance {
  InstanceId: string;
  ImageId: string;
  InstanceType: string;
  State: { Name: InstanceStateName; Code: number };
  StateTransitionReason: string;
  StateReason?: { Code: string; Message: string };
  SubnetId: string;
  VpcId: string;
  PrivateIpAddress: string;
  PrivateDnsName: string;
  PublicIpAddress?: string;
  IamInstanceProfile?: { Arn: string; Id: string };
  Tags: Tag[];
  LaunchTime: number;
  AmiLaunchIndex: number;
  Architecture: string;
  ClientToken: string;
  MetadataOptions: Record<string, unknown>;
  BlockDeviceMappings: {
    DeviceName: string;
    Ebs: { AttachTime: number; DeleteOnTermination: boolean; Status: string; VolumeId: string };
  }[];
  SecurityGroups: { GroupId: string; GroupName: string }[];
  Placement: { AvailabilityZone: string; GroupName: string; Tenancy: 'default' };
  RootDeviceName: string;
  RootDeviceType: 'ebs';
  VirtualizationType: 'hvm';
  Hypervisor: 'xen';
  EnaSupport: true;
  EbsOptimized: boolean;
  Monitoring: { State: 'disabled' };
  reservationId: string;
  requestHash: string;
  /** Not visible to DescribeInstances before this (EC2 eventual consistency). */
  visibleAt: number;
  /** When the current transitional state ends, and in which state. */
  settlesAt?: number;
  settlesTo?: InstanceStateName;
  /** The launch fails (fault rule): pending ends in terminated. */
  launchFails?: boolean;
  /** The instance gets an automatic public address while running (subnet setting or launch request). */
  autoPublicIp: boolean;
  /** The automatic public address it holds now. */
  autoIp?: string;
  endedAt?: number;
  /**
   * The install documents whose software its root volume holds from the image it was launched from (see
   * {@link OwnImage.installed}); the SSM simulator's host model may read it.
   */
  installed?: string[];
}

export interface VolumeAttachment {
  VolumeId: string;
  InstanceId: string;
  Device: string;
  State: 'attaching' | 'attached' | 'detaching';
  AttachTime: number;
  DeleteOnTermination: boolean;
  settlesAt?: number;
}

export interface Volume {
  VolumeId: string;
  Size: number;
  /** The snapshot the volume was made from (a launch from an image). */
  SnapshotId?: string;
  VolumeType: string;
  Iops?: number;
  Throughput?: number;
  Encrypted: boolean;
  AvailabilityZone: string;
  State: 'creating' | 'available' | 'in-use' | 'deleting';
  CreateTime: number;
  Attachments: VolumeAttachment[];
  MultiAttachEnabled: false;
  Tags: Tag[];
  settlesAt?: number;
}

/** An AMI the account made with CreateImage, and its EBS snapshots (ec2/images.ts). */
export type ImageState = 'pending' | 'available' | 'failed';
export type SnapshotState = 'pending' | 'completed' | 'error';

export interface OwnImage {
  ImageId: string;
  Name: string;
  Description?: string;
  State: ImageState;
  StateReason?: { Code: string; Message: string };
  OwnerId: string;
  CreationDate: string;
  Architecture: string;
  RootDeviceName: string;
  RootDeviceType: 'ebs';
  VirtualizationType: 'hvm';
  ImageType: 'machine';
  Public: false;
  SourceInstanceId: string;
  BlockDeviceMappings: {
    DeviceName: string;
    Ebs: { SnapshotId: string; VolumeSize: number; VolumeType: string; DeleteOnTermination: boolean };
  }[];
  Tags: Tag[];
  settlesAt: number;
  settlesTo: 'available' | 'failed';
  /**
   * The install documents that had succeeded on the source instance when it was imaged: their software is on the
   * root volume, so an instance launched from the image has it too (images capture EBS volumes, not what runs).
   */
  installed?: string[];
}

export interface Snapshot {
  SnapshotId: string;
  VolumeId: string;
  VolumeSize: number;
  State: SnapshotState;
  Progress: string;
  StartTime: number;
  OwnerId: string;
  Description: string;
  Encrypted: boolean;
  StorageTier: 'standard';
  Tags: Tag[];
  settlesAt: number;
}

export type Ctx = OperationContext<Ec2State>;

/** Fills in collections missing from an older persisted state (or a fresh `{}`). */
export function ensureCollections(state: Ec2State): Ec2State {
  state.vpcs ??= {};
  state.subnets ??= {};
  state.internetGateways ??= {};
  state.routeTables ??= {};
  state.natGateways ??= {};
  state.addresses ??= {};
  state.securityGroups ??= {};
  state.securityGroupRules ??= {};
  state.instances ??= {};
  state.volumes ??= {};
  state.images ??= {};
  state.snapshots ??= {};
  state.networkInterfaces ??= {};
  state.counters ??= { publicIp: 0 };
  return state;
}

export function initialEc2State(): Ec2State {
  return ensureCollections({} as Ec2State);
}

// ---------------------------------------------------------------------------------------------------------------
// Output

const TIME_FIELDS = new Set(['LaunchTime', 'CreateTime', 'DeleteTime', 'AttachTime']);

/**
 * An entry as the SDK would return it: bookkeeping keys (lowercase first letter) dropped, timestamps as `Date`,
 * and an empty `Tags` list left out as EC2 does.
 */
export function present<T>(value: T): any {
  if (Array.isArray(value)) return value.map((item) => present(item));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (/^[a-z]/.test(key) || field === undefined) continue;
    if (key === 'Tags' && Array.isArray(field) && field.length === 0) continue;
    out[key] = TIME_FIELDS.has(key) && typeof field === 'number' ? new Date(field) : present(field);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and lookups

export const ec2Error = (code: string, message: string): SimulatedAwsError => awsError(code, message);

export const invalidParameter = (message: string) => ec2Error('InvalidParameterValue', message);

export const missingParameter = (name: string) =>
  ec2Error('MissingParameter', `The request must contain the parameter ${name}`);

/** How EC2 says an id is unknown, per kind (its own wording differs between resource types). */
const NOT_FOUND: Record<string, (ids: string[]) => SimulatedAwsError> = {
  vpcs: (ids) => ec2Error('InvalidVpcID.NotFound', `The vpc ID '${ids.join(', ')}' does not exist`),
  subnets: (ids) => ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${ids.join(', ')}' does not exist`),
  internetGateways: (ids) =>
    ec2Error(
      'InvalidInternetGatewayID.NotFound',
      `The internetGateway ID '${ids.join(', ')}' does not exist`,
    ),
  routeTables: (ids) =>
    ec2Error('InvalidRouteTableID.NotFound', `The routeTable ID '${ids.join(', ')}' does not exist`),
  natGateways: (ids) => ec2Error('NatGatewayNotFound', `The Nat Gateway ${ids.join(', ')} was not found`),
  addresses: (ids) =>
    ec2Error('InvalidAllocationID.NotFound', `The allocation ID '${ids.join(', ')}' does not exist`),
  securityGroups: (ids) =>
    ec2Error('InvalidGroup.NotFound', `The security group '${ids.join(', ')}' does not exist`),
  networkInterfaces: (ids) =>
    ec2Error(
      'InvalidNetworkInterfaceID.NotFound',
      `The networkInterface ID '${ids.join(', ')}' does not exist`,
    ),
  securityGroupRules: (ids) =>
    ec2Error(
      'InvalidSecurityGroupRuleId.NotFound',
      `The security group rule ID '${ids.join(', ')}' does not exist`,
    ),
  instances: (ids) =>
    ids.length === 1
      ? ec2Error('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
      : ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`),
  volumes: (ids) =>
    ids.length === 1
      ? ec2Error('InvalidVolume.NotFound', `The volume '${ids[0]}' does not exist.`)
      : ec2Error('InvalidVolume.NotFound', `The volumes '${ids.join(', ')}' do not exist.`),
  images: (ids) => ec2Error('InvalidAMIID.NotFound', `The image id '[${ids.join(', ')}]' does not exist`),
  snapshots: (ids) =>
    ec2Error('InvalidSnapshot.NotFound', `The snapshot '${ids.join(', ')}' does not exist.`),
};

export type Collection = Exclude<keyof Ec2State, 'counters'>;

export function notFoundError(collection: Collection, ids: string[]): SimulatedAwsError {
  return NOT_FOUND[collection](ids);
}

/** The entry with this id, or the kind's NotFound error. */
export function lookup<C extends Collection>(
  state: Ec2State,
  collection: C,
  id: unknown,
): Ec2State[C][string] {
  const entry = (state[collection] as Record<string, Ec2State[C][string]>)[String(id)];
  if (entry === undefined) throw notFoundError(collection, [String(id)]);
  return entry;
}

/** The entries with these ids, in the asked order; every unknown id is named in one error, as EC2 does. */
export function lookupAll<C extends Collection>(
  state: Ec2State,
  collection: C,
  ids: unknown[],
  visible: (entry: Ec2State[C][string]) => boolean = () => true,
): Ec2State[C][string][] {
  const entries = state[collection] as Record<string, Ec2State[C][string]>;
  const missing = ids.map(String).filter((id) => !entries[id] || !visible(entries[id]));
  if (missing.length > 0) throw notFoundError(collection, missing);
  return [...new Set(ids.map(String))].map((id) => entries[id]);
}

/** The collection an id belongs to, by its prefix. */
export function collectionOfId(id: string): Collection | undefined {
  const prefix = id.split('-')[0];
  const collections: Record<string, Collection> = {
    vpc: 'vpcs',
    subnet: 'subnets',
    igw: 'internetGateways',
    rtb: 'routeTables',
    nat: 'natGateways',
    eipalloc: 'addresses',
    sg: 'securityGroups',
    sgr: 'securityGroupRules',
    i: 'instances',
    vol: 'volumes',
    eni: 'networkInterfaces',
    ami: 'images',
    snap: 'snapshots',
  };
  return collections[prefix];
}

// ---------------------------------------------------------------------------------------------------------------
// Tags

const MAX_TAGS = 50;

/** Tags of one resource type from a create call's TagSpecifications. */
export function tagsFromSpecifications(specifications: unknown, resourceType: string): Tag[] {
  const specs = (Array.isArray(specifications) ? specifications : []) as {
    ResourceType?: string;
    Tags?: Tag[];
  }[];
  return mergeTags(
    [],
    specs.filter((spec) => spec.ResourceType === resourceType).flatMap((spec) => spec.Tags ?? []),
  );
}

export function mergeTags(existing: Tag[], added: { Key?: string; Value?: string }[]): Tag[] {
  const merged = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) {
    if (tag.Key === undefined) throw missingParameter('Tag.Key');
    merged.set(tag.Key, tag.Value ?? '');
  }
  if (merged.size > MAX_TAGS) {
    throw ec2Error('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses

/** A CIDR block as an inclusive range of 32-bit addresses. */
export interface Cidr {
  text: string;
  first: number;
  last: number;
  prefix: number;
}

export const ipToNumber = (ip: string) => ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);

export const numberToIp = (n: number) =>
  [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export const isIpv4 = (value: unknown): value is string => typeof value === 'string' && IPV4.test(value);

/** Parses `10.5.0.0/24`, or undefined when it is not a valid CIDR block (host bits must be zero). */
export function parseCidr(text: unknown): Cidr | undefined {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(String(text ?? ''));
  if (!match || !isIpv4(match[1])) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const first = ipToNumber(match[1]);
  if (first % size !== 0) return undefined;
  return { text: String(text), first, last: first + size - 1, prefix };
}

export const cidrContains = (outer: Cidr, inner: Cidr) =>
  inner.first >= outer.first && inner.last <= outer.last;
export const cidrOverlaps = (a: Cidr, b: Cidr) => a.first <= b.last && b.first <= a.last;

/** A made-up public IPv4 address from the account's pool. */
export function nextPublicIp(state: Ec2State): string {
  state.counters.publicIp += 1;
  const n = state.counters.publicIp + 10;
  return `44.${192 + (Math.floor(n / 65536) % 64)}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/** `ec2-44-192-0-11.compute-1.amazonaws.com` (us-east-1) or `ec2-…​.<region>.compute.amazonaws.com`. */
export function publicDnsName(ip: string | undefined, region: string): string {
  if (!ip) return '';
  const host = `ec2-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1'
    ? `${host}.compute-1.amazonaws.com`
    : `${host}.${region}.compute.amazonaws.com`;
}

export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replaceAll('.', '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/** Stable JSON of a request without its client token, to compare idempotent retries. */
export function requestHash(input: Record<string, unknown>): string {
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.keys(value)
        .filter((key) => key !== 'ClientToken' && key !== 'DryRun')
        .sort()
        .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
    );
  };
  return JSON.stringify(sorted(input));
}

export const idempotentMismatch = () =>
  ec2Error(
    'IdempotentParameterMismatch',
    'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
  );

export const dependencyViolation = (message: string) => ec2Error('DependencyViolation', message);

export const asArray = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
