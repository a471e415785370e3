import {
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { ProvisioningFailed, WaitTimedOut } from '../../src/core/errors.js';
import { asDeploymentError, awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';
import { currentInstance, describeFleet, instancesByNode } from '../shared/fleet.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

/**
 * The deployment's images (images create, images list, images delete; issue 17): one AMI per node, named as
 * capideploy names it (capideploy-spec.md §2.6: image Name and tag Name = the instance's Name, `<deployment>-<nickname>`),
 * made with CreateImage from the STOPPED instance (the machine stops services and instances first; without
 * NoReboot, as capideploy), the image and its snapshots tagged on create with the deployment tags so that the
 * snapshots show up as billed items. Everything is found by the deployment tags (DeploymentName,
 * DeploymentOperator), never by a bare name; the grants allow changes only on resources tagged so.
 *
 * Every step is idempotent: an image that exists (pending or available) is kept; a failed one is deregistered, its
 * snapshots deleted, and made again; deregister and delete skip what is already gone.
 */

/** One image of the deployment, as `images list` shows it (the CLI adds the cost: src/cli/images-command.ts). */
export interface ImageRow {
  node: string;
  imageId: string;
  state: string;
  created: string | null;
  snapshots: { snapshotId: string; state: string; sizeGiB: number }[];
  sizeGiB: number;
}

export interface ImagesList {
  deployment: string;
  images: ImageRow[];
  /** Snapshots that no image of the deployment uses (a stranger's leftovers, or an interrupted delete's). */
  orphanSnapshots: { snapshotId: string; state: string; sizeGiB: number }[];
  sizeGiB: number;
}

/** The deployment's own images (any state DescribeImages still shows). */
export async function deploymentImages(ctx: DeploymentContext): Promise<Image[]> {
  const out = await awsCall({ resource: `images of ${ctx.plan.deployment}` }, () =>
    ctx.clients.ec2.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: deploymentFilters(ctx.plan) }),
    ),
  );
  return out.Images ?? [];
}

/** The deployment's own snapshots, all pages. */
export async function deploymentSnapshots(ctx: DeploymentContext): Promise<Snapshot[]> {
  const snapshots: Snapshot[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall({ resource: `snapshots of ${ctx.plan.deployment}` }, () =>
      ctx.clients.ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: deploymentFilters(ctx.plan),
          NextToken: token,
        }),
      ),
    );
    snapshots.push(...(page.Snapshots ?? []));
    token = page.NextToken;
  } while (token);
  return snapshots;
}

const snapshotIdsOf = (image: Image) =>
  (image.BlockDeviceMappings ?? []).flatMap((mapping) =>
    mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [],
  );

async function deregister(ctx: DeploymentContext, image: Image): Promise<void> {
  try {
    await ctx.clients.ec2.send(new DeregisterImageCommand({ ImageId: image.ImageId }));
  } catch (error) {
    if (
      (error as Error).name === 'InvalidAMIID.NotFound' ||
      (error as Error).name === 'InvalidAMIID.Unavailable'
    )
      return;
    throw asDeploymentError(error, { resource: `image ${image.Name}`, id: image.ImageId });
  }
}

async function deleteSnapshot(ctx: DeploymentContext, snapshotId: string, name?: string): Promise<void> {
  try {
    await ctx.clients.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
  } catch (error) {
    if ((error as Error).name === 'InvalidSnapshot.NotFound') return;
    throw asDeploymentError(error, {
      resource: `snapshot${name ? ` of ${name}` : ''}`,
      id: snapshotId,
      ...((error as Error).name === 'InvalidSnapshot.InUse'
        ? {
            hint: 'An image still uses the snapshot: deregister it first (capi-deploy images delete does both, in order).',
          }
        : {}),
    });
  }
}

/**
 * CreateImage calls (with a failed image's deregistration and snapshot deletes) per invocation: about 0.35 s each,
 * so a call stays far inside the function's 60 s whatever the fleet; the machine calls again while `remaining > 0`.
 */
const IMAGES_PER_CALL = 40;

/**
 * CreateImage for the nodes that have no usable image yet, up to {@link IMAGES_PER_CALL} per invocation. Every instance must be stopped (the machine stops the
 * fleet first): an image of a running instance would need a reboot (or NoReboot, with no file-system guarantee).
 */
export async function createImages(
  ctx: DeploymentContext,
): Promise<{ created: number; remaining: number; total: number }> {
  const byNode = instancesByNode(ctx.plan.nodes, await describeFleet(ctx));
  const images = await deploymentImages(ctx);
  const notStopped: string[] = [];
  const todo: { name: string; instanceId: string; failed?: Image }[] = [];
  for (const [node, instances] of byNode) {
    const instance = currentInstance(instances);
    const state = instance?.State?.Name ?? 'missing';
    const image = images.find((candidate) => candidate.Name === node.name);
    if (image && image.State !== 'failed' && image.State !== 'error') continue;
    if (state !== 'stopped') {
      notStopped.push(`${node.nickname} (${instance?.InstanceId ?? 'no instance'}, ${state})`);
      continue;
    }
    todo.push({ name: node.name, instanceId: instance!.InstanceId!, ...(image ? { failed: image } : {}) });
  }
  if (notStopped.length > 0) {
    throw new ProvisioningFailed({
      resource: `images of ${ctx.plan.deployment}`,
      message: `only a stopped instance is imaged; not stopped: ${notStopped.join(', ')}`,
      hint: 'Run images create again: it stops the services and the instances first (a missing instance: run create, then images create).',
      details: { notStopped },
    });
  }
  const batch = todo.slice(0, IMAGES_PER_CALL);
  for (const { name, instanceId, failed } of batch) {
    if (failed) {
      // A failed image is not kept: deregister it, delete its snapshots, and make it again.
      await deregister(ctx, failed);
      for (const snapshotId of snapshotIdsOf(failed)) await deleteSnapshot(ctx, snapshotId, name);
    }
    try {
      await ctx.clients.ec2.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: name,
          Description: `capideploy image of ${name} (deployment ${ctx.plan.deployment})`,
          TagSpecifications: [
            ...tagSpecifications(ctx.plan, 'image', name),
            ...tagSpecifications(ctx.plan, 'snapshot', name),
          ],
        }),
      );
    } catch (error) {
      // A retried invocation whose first CreateImage went through: the image exists, which is what we wanted.
      if ((error as Error).name === 'InvalidAMIName.Duplicate') continue;
      throw asDeploymentError(error, { resource: `image ${name}`, id: instanceId });
    }
  }
  return { created: batch.length, remaining: todo.length - batch.length, total: byNode.size };
}

export interface ImagesStateResult {
  done: boolean;
  total: number;
  waiting: string[];
  states: Record<string, number>;
}

/** Whether every node's image is available; a failed image or a missing one fails at once, a pending one at the bound. */
export async function imagesState(ctx: DeploymentContext, round: Round): Promise<ImagesStateResult> {
  const images = await deploymentImages(ctx);
  const states: Record<string, number> = {};
  const waiting: string[] = [];
  const broken: string[] = [];
  for (const node of ctx.plan.nodes) {
    const image = images.find((candidate) => candidate.Name === node.name);
    const state = image?.State ?? 'missing';
    states[state] = (states[state] ?? 0) + 1;
    if (state === 'available') continue;
    const label = `${node.nickname} (${image?.ImageId ?? 'no image'}, ${state})`;
    waiting.push(label);
    if (state !== 'pending')
      broken.push(`${label}${image?.StateReason?.Message ? `: ${image.StateReason.Message}` : ''}`);
  }
  if (broken.length > 0) {
    throw new ProvisioningFailed({
      resource: `images of ${ctx.plan.deployment}`,
      message: `not every image can become available: ${broken.join(', ')}`,
      hint: 'Run images create again: a failed image is deregistered, its snapshots deleted, and it is made again.',
      details: { broken },
    });
  }
  if (waiting.length > 0 && isLastRound(round)) {
    throw new WaitTimedOut({
      resource: `images of ${ctx.plan.deployment}`,
      id: null,
      message: `not every image is available ${roundsText(round)}: ${waiting.join(', ')}`,
      hint: 'Snapshots of large volumes take long: run images create again, it goes on waiting for the pending images.',
      details: { waiting },
    });
  }
  return { done: waiting.length === 0, total: ctx.plan.nodes.length, waiting, states };
}

/** The deployment's images with their snapshots, sizes and monthly snapshot storage cost. */
export async function listImages(ctx: DeploymentContext): Promise<ImagesList> {
  const [images, snapshots] = await Promise.all([deploymentImages(ctx), deploymentSnapshots(ctx)]);
  const byId = new Map(snapshots.map((snapshot) => [snapshot.SnapshotId!, snapshot]));
  const used = new Set<string>();
  const snapshotRow = (id: string) => {
    used.add(id);
    const snapshot = byId.get(id);
    return { snapshotId: id, state: snapshot?.State ?? 'unknown', sizeGiB: snapshot?.VolumeSize ?? 0 };
  };
  const rows: ImageRow[] = images
    .map((image) => {
      const own = snapshotIdsOf(image).map(snapshotRow);
      const sizeGiB = own.reduce((sum, snapshot) => sum + snapshot.sizeGiB, 0);
      return {
        node: image.Name ?? image.ImageId!,
        imageId: image.ImageId!,
        state: image.State ?? 'unknown',
        created: image.CreationDate ?? null,
        snapshots: own,
        sizeGiB,
      };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
  const orphanSnapshots = snapshots
    .filter((snapshot) => !used.has(snapshot.SnapshotId!))
    .map((snapshot) => ({
      snapshotId: snapshot.SnapshotId!,
      state: snapshot.State ?? 'unknown',
      sizeGiB: snapshot.VolumeSize ?? 0,
    }));
  const sizeGiB =
    rows.reduce((sum, row) => sum + row.sizeGiB, 0) + orphanSnapshots.reduce((sum, s) => sum + s.sizeGiB, 0);
  return { deployment: ctx.plan.deployment, images: rows, orphanSnapshots, sizeGiB };
}

/** DeregisterImage for every image of the deployment (the snapshots stay: deleted by the next step). */
export async function deregisterImages(ctx: DeploymentContext): Promise<{ deregistered: number }> {
  const images = await deploymentImages(ctx);
  for (const image of images) await deregister(ctx, image);
  return { deregistered: images.length };
}

/** DeleteSnapshot for every snapshot of the deployment; after the images are deregistered (ops-facts §2). */
export async function deleteSnapshots(ctx: DeploymentContext): Promise<{ deleted: number }> {
  const snapshots = await deploymentSnapshots(ctx);
  for (const snapshot of snapshots) await deleteSnapshot(ctx, snapshot.SnapshotId!);
  return { deleted: snapshots.length };
}
