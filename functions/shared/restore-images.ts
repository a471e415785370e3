import { DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import type { FailureCause } from '../../src/core/errors.js';
import type { NodePlan, Plan } from '../../src/core/spec/plan.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall } from './aws-errors.js';
import type { DeploymentContext } from './context.js';

/**
 * Restore from images (`spec.fromImages`, issue 17): which image each planned node is launched from. `images create`
 * names an image as capideploy does, after its instance (`<deployment>-<nickname>`, capideploy-spec.md §2.6), and
 * tags it with the deployment tags; a node takes the image of the node with its nickname (a Nickname tag, or that
 * name), found among the account's own images tagged DeploymentName=<fromImages> and DeploymentOperator. The
 * Preflight function checks the whole set before anything is created; the launch checks it again before its first
 * RunInstances, so a restore never starts half a fleet.
 */

/** EC2's architecture names for the plan's. */
const EC2_ARCH: Record<Plan['arch'], string> = { arm64: 'arm64', amd64: 'x86_64' };

/** Nodes named in a failure's message before "and N more": the cause stays short whatever the fleet. */
const NAMED_IN_MESSAGE = 10;

/** A planned node that cannot be launched from its image: no image, an image not `available`, or unusable. */
export interface ImageProblem {
  node: string;
  imageId: string | null;
  state: string;
  reason?: string;
}

export interface RestoreImages {
  /** The image of each planned node that has a usable one. */
  byNode: Map<NodePlan, Image>;
  problems: ImageProblem[];
  /** Images of the source deployment no planned node takes (a spec with fewer nodes than the imaged one). */
  unused: string[];
}

/** The source deployment's own images (Owners self), by the deployment tags: any state DescribeImages shows. */
async function sourceImages(ctx: DeploymentContext, source: string): Promise<Image[]> {
  const out = await awsCall({ resource: `images of ${source}` }, () =>
    ctx.clients.ec2.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [
          { Name: 'tag:DeploymentName', Values: [source] },
          { Name: 'tag:DeploymentOperator', Values: [ctx.plan.tagsBase.DeploymentOperator] },
        ],
      }),
    ),
  );
  return out.Images ?? [];
}

/** The root device's EBS mapping of an image: the snapshot the node's root volume is made from. */
export function rootMapping(image: Image) {
  const root = image.RootDeviceName;
  return image.BlockDeviceMappings?.find((mapping) => mapping.DeviceName === root && mapping.Ebs);
}

/** Whether an image is the one of a node: its Nickname tag, or its Name (image name or Name tag) `<source>-<nickname>`. */
function isImageOf(image: Image, source: string, node: NodePlan): boolean {
  const name = `${source}-${node.nickname}`;
  return (
    tagValue(image.Tags, 'Nickname') === node.nickname ||
    image.Name === name ||
    tagValue(image.Tags, 'Name') === name
  );
}

/** Why an available image cannot be launched for the plan, or null. */
function unusable(image: Image, plan: Plan): string | null {
  if (image.Architecture && image.Architecture !== EC2_ARCH[plan.arch]) {
    return `the image is ${image.Architecture}, the flavor needs ${EC2_ARCH[plan.arch]}`;
  }
  if (!rootMapping(image)?.Ebs?.SnapshotId) return 'the image has no EBS snapshot of its root device';
  return null;
}

/**
 * The image of every planned node in the source deployment's images, and what keeps nodes from being launched from
 * theirs (one DescribeImages call).
 */
export async function restoreImages(ctx: DeploymentContext, source: string): Promise<RestoreImages> {
  const images = await sourceImages(ctx, source);
  const byNode = new Map<NodePlan, Image>();
  const problems: ImageProblem[] = [];
  const taken = new Set<string>();
  for (const node of ctx.plan.nodes) {
    const candidates = images.filter((image) => isImageOf(image, source, node));
    const image = candidates.find((candidate) => candidate.State === 'available') ?? candidates[0];
    if (image) taken.add(image.ImageId!);
    if (!image) {
      problems.push({ node: node.nickname, imageId: null, state: 'missing' });
      continue;
    }
    const state = image.State ?? 'unknown';
    const reason = state === 'available' ? unusable(image, ctx.plan) : (image.StateReason?.Message ?? null);
    if (state !== 'available' || reason) {
      problems.push({ node: node.nickname, imageId: image.ImageId!, state, ...(reason ? { reason } : {}) });
      continue;
    }
    byNode.set(node, image);
  }
  const unused = images
    .filter((image) => !taken.has(image.ImageId!))
    .map((image) => image.Name ?? image.ImageId!);
  return { byNode, problems, unused };
}

const problemText = (problem: ImageProblem) =>
  problem.imageId === null
    ? `${problem.node} (no image)`
    : `${problem.node} (${problem.imageId}, ${problem.state}${problem.reason ? `: ${problem.reason}` : ''})`;

/**
 * The failure of a restore whose images do not cover the plan: it names each node (the first
 * {@link NAMED_IN_MESSAGE}) with its image and the image's state, and says what to do.
 */
export function restoreFailure(
  ctx: DeploymentContext,
  source: string,
  problems: ImageProblem[],
): FailureCause {
  const total = ctx.plan.nodes.length;
  const named = problems.slice(0, NAMED_IN_MESSAGE).map(problemText).join(', ');
  const more = problems.length > NAMED_IN_MESSAGE ? ` and ${problems.length - NAMED_IN_MESSAGE} more` : '';
  const pending = problems.every((problem) => problem.state === 'pending');
  return {
    resource: `images of ${source}`,
    id: problems.find((problem) => problem.imageId)?.imageId ?? null,
    message: `cannot restore ${ctx.plan.deployment} from the images of ${source}: ${problems.length} of ${total} nodes have no available image: ${named}${more}`,
    hint: pending
      ? `The images are still being made: wait until \`capi-deploy images list ${source}\` shows every one available, then run create again.`
      : `See \`capi-deploy images list ${source}\`. Run \`capi-deploy images create ${source}\` first: it images every node of the deployment (a failed image is made again), and needs the deployment's instances, so before delete. Or create without --from-images to install every node from scratch.`,
    details: { source, problems: problems.slice(0, 100), nodes: total },
  };
}
