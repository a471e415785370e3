import { catalogueOperations, imagesOf } from './catalogue.js';
import { describePage, filterOf } from './filters.js';
import {
  asArray,
  type Ctx,
  type Ec2State,
  ec2Error,
  lookup,
  missingParameter,
  type OwnImage,
  present,
  type Snapshot,
  tagsFromSpecifications,
} from './state.js';

/**
 * The account's own AMIs and EBS snapshots (images create / images delete, issue 17): CreateImage, DescribeImages
 * (own images beside the public Ubuntu catalogue), DescribeSnapshots, DeregisterImage and DeleteSnapshot, with the
 * asynchronous states of reference/ops-facts.md §2: an image is `pending` until each of its snapshots is
 * `completed`, then `available` (or `failed`, by fault rule); a snapshot is `pending`, then `completed`.
 *
 * CreateImage accepts a running or a stopped instance, as AWS does. Without NoReboot AWS reboots a running instance
 * to snapshot it at rest; the simulator does not model that reboot because images-create always stops the fleet
 * first (capideploy-spec.md §2.6: StopInstances, then CreateImage without NoReboot). Instance-store volumes are
 * not captured (ops-facts §2): only the instance's EBS volumes get a snapshot.
 */

/**
 * Virtual seconds a snapshot of a fresh root volume takes to complete, and an image after its last snapshot.
 * INFERRED: AWS gives no figure; the first snapshot of a small volume takes minutes, not seconds.
 */
export const SNAPSHOT_SECONDS = 120;
export const IMAGE_AFTER_SNAPSHOTS_SECONDS = 15;

/** AMI names (EC2 CreateImage reference): 3-128 characters, letters, digits and ( ) [ ] space . / - ' @ _ */
const IMAGE_NAME = /^[a-zA-Z0-9()[\] ./\-'@_]{3,128}$/;

/** Settles pending snapshots and images whose time has come; called from refreshEc2 on every EC2 call. */
export function refreshImages(state: Ec2State, raw: Ec2State, nowMs: number): void {
  for (const snapshot of Object.values(raw.snapshots ?? {})) {
    if (snapshot.State === 'pending' && nowMs >= snapshot.settlesAt) {
      const tracked = state.snapshots[snapshot.SnapshotId];
      tracked.State = 'completed';
      tracked.Progress = '100%';
    }
  }
  for (const image of Object.values(raw.images ?? {})) {
    if (image.State === 'pending' && nowMs >= image.settlesAt) {
      const tracked = state.images[image.ImageId];
      tracked.State = image.settlesTo;
      if (image.settlesTo === 'failed') {
        tracked.StateReason = {
          Code: 'Server.InternalError',
          Message: 'Server.InternalError: Internal error',
        };
      }
    }
  }
}

function imageNotFound(ids: string[]) {
  return ec2Error('InvalidAMIID.NotFound', `The image id '[${ids.join(', ')}]' does not exist`);
}

function snapshotNotFound(ids: string[]) {
  return ec2Error(
    'InvalidSnapshot.NotFound',
    ids.length === 1
      ? `The snapshot '${ids[0]}' does not exist.`
      : `The snapshots '${ids.join(', ')}' do not exist.`,
  );
}

/** The SSM simulator's record of what ran on an instance (its state contract, read only). */
interface SsmView {
  managedInstances?: Record<string, { provisioned?: Record<string, string> }>;
}

/**
 * The install documents that succeeded on an instance: the software they put on its root volume. Read from the SSM
 * simulator's record (a cross-service read, as SSM reads EC2 instances); none when SSM is not simulated.
 */
function installedOn(ctx: Ctx, instanceId: string): string[] {
  let ssm: SsmView | undefined;
  try {
    ssm = ctx.account.stateOf<SsmView>('SSM');
  } catch {
    return [];
  }
  const provisioned = ssm?.managedInstances?.[instanceId]?.provisioned ?? {};
  return Object.entries(provisioned)
    .filter(([document, status]) => document.endsWith('-install') && status === 'Success')
    .map(([document]) => document)
    .sort();
}

function createImage(ctx: Ctx, input: any) {
  if (!input.InstanceId) throw missingParameter('instanceId');
  if (input.Name === undefined) throw missingParameter('name');
  const instance = lookup(ctx.state, 'instances', input.InstanceId);
  const name = String(input.Name);
  if (!IMAGE_NAME.test(name)) {
    throw ec2Error(
      'InvalidAMIName.Malformed',
      `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`,
    );
  }
  if (instance.State.Name !== 'running' && instance.State.Name !== 'stopped') {
    throw ec2Error(
      'IncorrectInstanceState',
      `The instance '${instance.InstanceId}' is not in a state from which it can be imaged.`,
    );
  }
  const taken = Object.values(ctx.state.images).find((image) => image.Name === name);
  if (taken) {
    throw ec2Error('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${taken.ImageId}`);
  }
  const imageId = ctx.newId('ami');
  // A fault rule can make the image take longer (delaySeconds) or end failed (finalState).
  const targets = [name, instance.InstanceId];
  const rule = ctx.effect('CreateImage', targets);
  const snapshotTags = tagsFromSpecifications(input.TagSpecifications, 'snapshot');
  const mappings: OwnImage['BlockDeviceMappings'] = [];
  let lastSnapshot = ctx.now();
  for (const device of instance.BlockDeviceMappings) {
    const volume = ctx.state.volumes[device.Ebs.VolumeId];
    if (!volume) continue;
    const snapshot: Snapshot = {
      SnapshotId: ctx.newId('snap'),
      VolumeId: volume.VolumeId,
      VolumeSize: volume.Size,
      State: 'pending',
      Progress: '0%',
      StartTime: ctx.now(),
      OwnerId: ctx.caller.accountId,
      Description: `Created by CreateImage(${instance.InstanceId}) for ${imageId}`,
      Encrypted: volume.Encrypted,
      StorageTier: 'standard',
      Tags: snapshotTags,
      settlesAt: ctx.now() + SNAPSHOT_SECONDS * 1000,
    };
    ctx.state.snapshots[snapshot.SnapshotId] = snapshot;
    lastSnapshot = Math.max(lastSnapshot, snapshot.settlesAt);
    mappings.push({
      DeviceName: device.DeviceName,
      Ebs: {
        SnapshotId: snapshot.SnapshotId,
        VolumeSize: volume.Size,
        VolumeType: volume.VolumeType,
        DeleteOnTermination: device.Ebs.DeleteOnTermination,
      },
    });
  }
  const image: OwnImage = {
    ImageId: imageId,
    Name: name,
    ...(input.Description ? { Description: String(input.Description) } : {}),
    State: 'pending',
    OwnerId: ctx.caller.accountId,
    CreationDate: new Date(ctx.now()).toISOString(),
    Architecture: instance.Architecture,
    RootDeviceName: instance.RootDeviceName,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    ImageType: 'machine',
    Public: false,
    SourceInstanceId: instance.InstanceId,
    BlockDeviceMappings: mappings,
    Tags: tagsFromSpecifications(input.TagSpecifications, 'image'),
    settlesAt: lastSnapshot + (IMAGE_AFTER_SNAPSHOTS_SECONDS + (rule?.delaySeconds ?? 0)) * 1000,
    settlesTo: rule?.finalState === 'failed' ? 'failed' : 'available',
    installed: installedOn(ctx, instance.InstanceId),
  };
  ctx.state.images[imageId] = image;
  return { ImageId: imageId };
}

const IMAGE_FILTERS = {
  'image-id': (image: OwnImage) => image.ImageId,
  name: (image: OwnImage) => image.Name,
  state: (image: OwnImage) => image.State,
  'owner-id': (image: OwnImage) => image.OwnerId,
  architecture: (image: OwnImage) => image.Architecture,
  'block-device-mapping.snapshot-id': (image: OwnImage) =>
    image.BlockDeviceMappings.map((mapping) => mapping.Ebs.SnapshotId),
  'is-public': () => false,
};

/**
 * Own images (Owners `self` or the account id, or no Owners) beside the public Ubuntu images of the catalogue
 * (Owners `amazon` or Canonical's id, or no Owners). Deregistered images are gone (DeregisterImage deletes them).
 */
function describeImages(ctx: Ctx, input: any) {
  const ids = asArray(input.ImageIds).map(String);
  const owners = asArray(input.Owners).map(String);
  const ownAsked = owners.length === 0 || owners.some((o) => o === 'self' || o === ctx.caller.accountId);
  const publicIds = Object.keys(imagesOf(ctx.region));
  const missing = ids.filter((id) => !ctx.state.images[id] && !publicIds.includes(id));
  if (missing.length > 0) throw imageNotFound(missing);
  const matches = filterOf(input.Filters, IMAGE_FILTERS);
  const own = ownAsked
    ? Object.values(ctx.state.images).filter(
        (image) => (ids.length === 0 || ids.includes(image.ImageId)) && matches(image),
      )
    : [];
  const askedPublic = ids.filter((id) => publicIds.includes(id));
  const publicAsked = owners.length === 0 || owners.some((o) => o !== 'self' && o !== ctx.caller.accountId);
  const others =
    publicAsked && (ids.length === 0 || askedPublic.length > 0) && !hasOwnOnlyFilter(input.Filters)
      ? (catalogueOperations.DescribeImages(ctx, { ...input, ImageIds: askedPublic }).Images as unknown[])
      : [];
  return { Images: [...own.map((image) => present(image)), ...others] };
}

/** Filters the public catalogue does not know (tag:*, snapshot ids): they match none of its images. */
function hasOwnOnlyFilter(filters: unknown): boolean {
  return asArray(filters).some((filter: any) => {
    const name = String(filter?.Name ?? '');
    return name.startsWith('tag') || name === 'block-device-mapping.snapshot-id' || name === 'is-public';
  });
}

const SNAPSHOT_FILTERS = {
  'snapshot-id': (snapshot: Snapshot) => snapshot.SnapshotId,
  'volume-id': (snapshot: Snapshot) => snapshot.VolumeId,
  status: (snapshot: Snapshot) => snapshot.State,
  'owner-id': (snapshot: Snapshot) => snapshot.OwnerId,
  description: (snapshot: Snapshot) => snapshot.Description,
  'volume-size': (snapshot: Snapshot) => snapshot.VolumeSize,
};

function describeSnapshots(ctx: Ctx, input: any) {
  const ids = asArray(input.SnapshotIds).map(String);
  const missing = ids.filter((id) => !ctx.state.snapshots[id]);
  if (missing.length > 0) throw snapshotNotFound(missing);
  const owners = asArray(input.OwnerIds).map(String);
  const ownAsked = owners.length === 0 || owners.some((o) => o === 'self' || o === ctx.caller.accountId);
  const listed = ownAsked
    ? Object.values(ctx.state.snapshots).filter(
        (snapshot) =>
          (ids.length === 0 || ids.includes(snapshot.SnapshotId)) &&
          filterOf(input.Filters, SNAPSHOT_FILTERS)(snapshot),
      )
    : [];
  const { page, ...next } = describePage(
    listed,
    input,
    `snapshots:${JSON.stringify([ids, owners, input.Filters])}`,
    1000,
  );
  return {
    Snapshots: page.map((snapshot) => ({ ...present(snapshot), StartTime: new Date(snapshot.StartTime) })),
    ...next,
  };
}

function deregisterImage(ctx: Ctx, input: any) {
  if (!input.ImageId) throw missingParameter('imageId');
  const id = String(input.ImageId);
  if (!ctx.state.images[id]) {
    if (Object.keys(imagesOf(ctx.region)).includes(id)) {
      throw ec2Error('AuthFailure', `Not authorized for image:${id}`);
    }
    throw imageNotFound([id]);
  }
  delete ctx.state.images[id];
  return { Return: true };
}

function deleteSnapshot(ctx: Ctx, input: any) {
  if (!input.SnapshotId) throw missingParameter('snapshotId');
  const id = String(input.SnapshotId);
  if (!ctx.state.snapshots[id]) throw snapshotNotFound([id]);
  // ops-facts §2: a snapshot of a registered AMI cannot be deleted; deregister the AMI first.
  const user = Object.values(ctx.state.images).find((image) =>
    image.BlockDeviceMappings.some((mapping) => mapping.Ebs.SnapshotId === id),
  );
  if (user) {
    throw ec2Error('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${user.ImageId}`);
  }
  delete ctx.state.snapshots[id];
  return {};
}

export const imageOperations = {
  CreateImage: createImage,
  // Replaces the catalogue's DescribeImages: own images too.
  DescribeImages: describeImages,
  DescribeSnapshots: describeSnapshots,
  DeregisterImage: deregisterImage,
  DeleteSnapshot: deleteSnapshot,
};
