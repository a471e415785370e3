import { LATENCY_SECONDS } from '../../latency.js';
import type { Tag } from '../iam.js';
import { checkZone } from './catalogue.js';
import { describePage, filterOf } from './filters.js';
import {
  type Ctx,
  ec2Error,
  invalidParameter,
  lookup,
  lookupAll,
  missingParameter,
  present,
  tagsFromSpecifications,
  type Volume,
  type VolumeAttachment,
} from './state.js';

const VOLUME_TYPES: Record<string, { min: number; max: number }> = {
  gp2: { min: 1, max: 16384 },
  gp3: { min: 1, max: 16384 },
  io1: { min: 4, max: 16384 },
  io2: { min: 4, max: 65536 },
  st1: { min: 125, max: 16384 },
  sc1: { min: 125, max: 16384 },
  standard: { min: 1, max: 1024 },
};

export interface VolumeRequest {
  zone: string;
  size: unknown;
  type?: unknown;
  encrypted?: unknown;
  iops?: unknown;
  throughput?: unknown;
  tags: Tag[];
}

/** A new EBS volume, checked the way EC2 checks CreateVolume and RunInstances block devices. */
export function newVolume(ctx: Ctx, request: VolumeRequest, state: Volume['State'] = 'creating'): Volume {
  const type = String(request.type ?? 'gp2');
  const bounds = VOLUME_TYPES[type];
  if (!bounds) throw invalidParameter(`Value (${type}) for parameter volumeType is invalid.`);
  if (request.size === undefined) throw missingParameter('size');
  const size = Number(request.size);
  if (!Number.isInteger(size) || size < bounds.min || size > bounds.max) {
    throw invalidParameter(
      `Volume of ${String(request.size)}GiB is out of range for volume type ${type}: ${bounds.min}-${bounds.max}GiB`,
    );
  }
  const gp3 = type === 'gp3';
  const volume: Volume = {
    VolumeId: ctx.newId('vol'),
    Size: size,
    VolumeType: type,
    ...(gp3 || type.startsWith('io') ? { Iops: Number(request.iops ?? 3000) } : {}),
    ...(gp3 ? { Throughput: Number(request.throughput ?? 125) } : {}),
    Encrypted: Boolean(request.encrypted),
    AvailabilityZone: request.zone,
    State: state,
    CreateTime: ctx.now(),
    Attachments: [],
    MultiAttachEnabled: false,
    Tags: request.tags,
    ...(state === 'creating' ? { settlesAt: ctx.now() + LATENCY_SECONDS.volumeCreated * 1000 } : {}),
  };
  ctx.state.volumes[volume.VolumeId] = volume;
  return volume;
}

function createVolume(ctx: Ctx, input: any) {
  if (!input.AvailabilityZone) throw missingParameter('availabilityZone');
  const volume = newVolume(ctx, {
    zone: checkZone(ctx, input.AvailabilityZone),
    size: input.Size,
    type: input.VolumeType,
    encrypted: input.Encrypted,
    iops: input.Iops,
    throughput: input.Throughput,
    tags: tagsFromSpecifications(input.TagSpecifications, 'volume'),
  });
  return present(volume);
}

const VOLUME_FILTERS = {
  'volume-id': (volume: Volume) => volume.VolumeId,
  status: (volume: Volume) => volume.State,
  'availability-zone': (volume: Volume) => volume.AvailabilityZone,
  'volume-type': (volume: Volume) => volume.VolumeType,
  size: (volume: Volume) => volume.Size,
  encrypted: (volume: Volume) => volume.Encrypted,
  'attachment.instance-id': (volume: Volume) => volume.Attachments.map((a) => a.InstanceId),
  'attachment.device': (volume: Volume) => volume.Attachments.map((a) => a.Device),
  'attachment.status': (volume: Volume) => volume.Attachments.map((a) => a.State),
  'attachment.delete-on-termination': (volume: Volume) =>
    volume.Attachments.map((a) => a.DeleteOnTermination),
};

function describeVolumes(ctx: Ctx, input: any) {
  const ids: unknown[] = input.VolumeIds ?? [];
  const volumes = ids.length > 0 ? lookupAll(ctx.state, 'volumes', ids) : Object.values(ctx.state.volumes);
  const { page, ...next } = describePage(
    volumes.filter(filterOf(input.Filters, VOLUME_FILTERS)),
    input,
    `volumes:${JSON.stringify([ids, input.Filters])}`,
    500,
  );
  return { Volumes: page.map((volume) => present(volume)), ...next };
}

function attachVolume(ctx: Ctx, input: any) {
  const volume = lookup(ctx.state, 'volumes', input.VolumeId);
  const instance = lookup(ctx.state, 'instances', input.InstanceId);
  if (!input.Device) throw missingParameter('device');
  if (volume.State !== 'available') {
    throw ec2Error(
      'IncorrectState',
      `vol ${volume.VolumeId} is not 'available'. Its state is '${volume.State}'.`,
    );
  }
  if (instance.State.Name !== 'running' && instance.State.Name !== 'stopped') {
    throw ec2Error('IncorrectInstanceState', `Instance '${instance.InstanceId}' is not 'running'.`);
  }
  if (instance.Placement.AvailabilityZone !== volume.AvailabilityZone) {
    throw ec2Error(
      'InvalidVolume.ZoneMismatch',
      `The volume '${volume.VolumeId}' is not in the same availability zone as instance '${instance.InstanceId}'`,
    );
  }
  const device = String(input.Device);
  const taken = Object.values(ctx.state.volumes).some((other) =>
    other.Attachments.some((a) => a.InstanceId === instance.InstanceId && a.Device === device),
  );
  if (taken) {
    throw invalidParameter(
      `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`,
    );
  }
  const attachment: VolumeAttachment = {
    VolumeId: volume.VolumeId,
    InstanceId: instance.InstanceId,
    Device: device,
    State: 'attaching',
    AttachTime: ctx.now(),
    DeleteOnTermination: false,
    settlesAt: ctx.now() + LATENCY_SECONDS.volumeAttached * 1000,
  };
  volume.Attachments = [attachment];
  volume.State = 'in-use';
  return present(attachment);
}

function detachVolume(ctx: Ctx, input: any) {
  const volume = lookup(ctx.state, 'volumes', input.VolumeId);
  const attachment = volume.Attachments[0];
  if (!attachment) {
    throw ec2Error('IncorrectState', `Volume '${volume.VolumeId}' is in the '${volume.State}' state.`);
  }
  if (input.InstanceId && input.InstanceId !== attachment.InstanceId) {
    throw ec2Error(
      'InvalidAttachment.NotFound',
      `Volume ${volume.VolumeId} can not be detached from ${input.InstanceId} because it is not attached`,
    );
  }
  if (attachment.Device === ctx.state.instances[attachment.InstanceId]?.RootDeviceName) {
    const state = ctx.state.instances[attachment.InstanceId].State.Name;
    if (state !== 'stopped') {
      throw ec2Error(
        'IncorrectState',
        `Unable to detach root volume '${volume.VolumeId}' from instance '${attachment.InstanceId}'`,
      );
    }
  }
  if (attachment.State !== 'detaching') {
    attachment.State = 'detaching';
    attachment.settlesAt = ctx.now() + LATENCY_SECONDS.volumeDetached * 1000;
  }
  return present(attachment);
}

function deleteVolume(ctx: Ctx, input: any) {
  const volume = lookup(ctx.state, 'volumes', input.VolumeId);
  const attachment = volume.Attachments[0];
  if (attachment) {
    throw ec2Error(
      'VolumeInUse',
      `Volume ${volume.VolumeId} is currently attached to ${attachment.InstanceId}`,
    );
  }
  if (volume.State !== 'deleting') {
    volume.State = 'deleting';
    volume.settlesAt = ctx.now() + LATENCY_SECONDS.volumeDeleted * 1000;
  }
  return {};
}

export const volumeOperations = {
  CreateVolume: createVolume,
  DescribeVolumes: describeVolumes,
  AttachVolume: attachVolume,
  DetachVolume: detachVolume,
  DeleteVolume: deleteVolume,
};
