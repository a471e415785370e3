import { createHash } from 'node:crypto';
import {
  type BlockDeviceMapping,
  type Image,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  InstanceProfileNotReady,
  ProvisioningFailed,
  ResourceConflict,
  Throttled,
  WaitTimedOut,
} from '../../src/core/errors.js';
import type { NodePlan, Plan } from '../../src/core/spec/plan.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { tagSpecifications } from '../shared/ec2.js';
import {
  chunks,
  currentInstance,
  describeFleet,
  instancesByNode,
  LIVE_STATES,
  settleWithLimit,
} from '../shared/fleet.js';
import { countMetric, logger, METRIC } from '../shared/observability.js';
import { recreateInstanceProfileCommands, terminateNodesCommands } from '../shared/remedies.js';
import { restoreFailure, restoreImages, rootMapping } from '../shared/restore-images.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

/** RunInstances calls in flight at once (each takes 1-3 s; the pace below is what bounds the rate). */
export const LAUNCH_CONCURRENCY = 10;
/**
 * The pace of RunInstances: EC2's own request bucket for it, 5 tokens refilled at 2 a second per account and Region
 * (reference/aws-behaviour-2.md §1b). Going faster only earns RequestLimitExceeded and the SDK's backoff; the
 * resource bucket (1,000 instances, 2 a second) allows the same rate once spent.
 */
export const RUN_INSTANCES_RATE = { burst: 5, perSecond: 2 };
/**
 * One launch run starts RunInstances calls for at most this long, then returns what is left for the next run
 * (the state machine loops "Launch instances" until every node is launched): with the calls in flight finishing
 * after it (a throttled one backs off for up to ~15 s), a run stays under half the Instances function's 60 s
 * timeout, whatever the fleet size.
 */
export const LAUNCH_BUDGET_SECONDS = 10;
/**
 * TerminateInstances ids per call, and the most one run terminates: EC2's resource bucket for it holds 1,000
 * instances and refills 20 a second (§1b), so a fleet past 1,000 is terminated over the wait loop's rounds.
 */
export const TERMINATE_BATCH = 100;
export const TERMINATE_PER_RUN = 1000;
/** TerminateInstances calls in flight at once (each takes ~2.5 s for 100 ids). */
const TERMINATE_CONCURRENCY = 5;
/** One run starts TerminateInstances calls for at most this long; the wait loop's next round goes on. */
const TERMINATE_BUDGET_SECONDS = 10;
/** How many fresh client-token generations one launch tries after finding its token spent on a dead instance. */
const MAX_TOKEN_GENERATIONS = 3;

export interface LaunchInput {
  privateSubnetId: string;
  publicSubnetId: string;
  bastionSecurityGroupId: string;
  internalSecurityGroupId: string;
  instanceProfileArn: string;
  amiId: string;
  /**
   * A restore (`spec.fromImages`): every node is launched from the image of the node with its nickname in this
   * deployment's images instead of `amiId`.
   */
  fromImages?: string;
}

export interface LaunchResult {
  total: number;
  launched: number;
  existing: number;
  /** Nodes still to launch by a next run of the launch loop. */
  remaining: number;
  /** Every node has a pending or running instance (or was launched by this run). */
  done: boolean;
}

export interface StatusResult {
  allRunning: boolean;
  running: number;
  total: number;
  /** Nicknames of the nodes not running yet. */
  waiting: string[];
}

const DEAD = new Set(['shutting-down', 'terminated']);
/** Nodes and their instances, as the operator commands of a hint name them. */
const namedInstances = (list: { node: NodePlan; instance: Instance }[]) =>
  list.map(({ node, instance }) => ({ nickname: node.nickname, instanceId: instance.InstanceId }));
const stateOf = (instance: Instance) => instance.State?.Name ?? 'unknown';
const nodeResource = (node: NodePlan) => `instance ${node.name} (${node.instanceType})`;

/**
 * The RunInstances ClientToken of one node. EC2 keeps a token bound to its instance for at least 24 h after that
 * instance terminates, so a token made only of deployment + nickname would return the dead instance when a node
 * is re-created after a manual termination. The token therefore also holds the subnet id (a deployment deleted and
 * created again gets new subnets, hence new tokens) and a generation: the number of terminated instances of the
 * node still visible. A redrive after a launch whose instance is not visible yet repeats the same token and gets
 * the same instance back, never a second one; if EC2 still answers with a dead instance (its terminated record
 * already gone from DescribeInstances), the launch moves on to the next generation.
 */
export function clientToken(
  deployment: string,
  node: NodePlan,
  subnetId: string,
  generation: number,
  imageId?: string,
): string {
  // A restore's image is part of the request: a token first spent on the Ubuntu AMI (a create that failed, then run
  // again with --from-images) would otherwise be refused as IdempotentParameterMismatch.
  const parts = [deployment, node.nickname, subnetId, generation, ...(imageId ? [imageId] : [])];
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `capi-${digest.slice(0, 48)}`;
}

/** The root device of the Ubuntu AMIs, and of the images made from their instances. */
const ROOT_DEVICE = '/dev/sda1';

/**
 * The launch's block devices. From the Ubuntu AMI: an encrypted gp3 root volume of the plan's size. From a node's
 * image: the root volume is made from the image's root snapshot (no SnapshotId given: the AMI's mapping supplies it),
 * encrypted gp3, at least the snapshot's size; the image's other EBS volumes (the bastion's log volume) are left
 * out with NoDevice, since the log-volume step makes and attaches the deployment's own as in any create. Instance
 * store comes with the instance type.
 */
export function blockDevices(plan: Plan, image?: Image): BlockDeviceMapping[] {
  const root = (size: number, device = ROOT_DEVICE): BlockDeviceMapping => ({
    DeviceName: device,
    Ebs: { VolumeType: 'gp3', VolumeSize: size, Encrypted: true, DeleteOnTermination: true },
  });
  if (!image) return [root(plan.rootVolumeGiB)];
  const rootDevice = rootMapping(image);
  const others = (image.BlockDeviceMappings ?? []).filter(
    (mapping) => mapping !== rootDevice && mapping.Ebs && mapping.DeviceName,
  );
  return [
    root(Math.max(plan.rootVolumeGiB, rootDevice?.Ebs?.VolumeSize ?? 0), rootDevice?.DeviceName),
    ...others.map((mapping) => ({ DeviceName: mapping.DeviceName, NoDevice: '' })),
  ];
}

function launchRequest(
  ctx: DeploymentContext,
  node: NodePlan,
  input: LaunchInput,
  token: string,
  image?: Image,
) {
  const { plan } = ctx;
  const extra = { Role: node.role, Nickname: node.nickname };
  return new RunInstancesCommand({
    ImageId: image?.ImageId ?? input.amiId,
    InstanceType: node.instanceType as never,
    MinCount: 1,
    MaxCount: 1,
    ClientToken: token,
    SubnetId: node.subnet === 'public' ? input.publicSubnetId : input.privateSubnetId,
    PrivateIpAddress: node.privateIp,
    SecurityGroupIds: [
      node.securityGroup === 'bastion' ? input.bastionSecurityGroupId : input.internalSecurityGroupId,
    ],
    // No KeyName: there is no SSH. The bastion gets no public IP at launch (the public subnet does not map public
    // IPs on launch; AssociatePublicIpAddress exists only inside NetworkInterfaces), and its elastic IP later.
    IamInstanceProfile: { Arn: input.instanceProfileArn },
    // InstanceMetadataTags: capi-cloudwatch-agent reads the node's Name tag at meta-data/tags/instance/Name (AWS EC2
    // User Guide, "Work with instance tags in instance metadata"); without it that path is 404.
    MetadataOptions: {
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: 1,
      InstanceMetadataTags: 'enabled',
    },
    BlockDeviceMappings: blockDevices(plan, image),
    TagSpecifications: [
      ...tagSpecifications(plan, 'instance', node.name, extra),
      ...tagSpecifications(plan, 'volume', node.name, extra),
      ...tagSpecifications(plan, 'network-interface', node.name, extra),
    ],
  });
}

/**
 * RunInstances, with the operator's remedy when EC2 keeps refusing the instance profile: IAM propagation takes
 * seconds and the state machine retries for about two minutes, so a refusal that outlives a re-run is a profile
 * EC2 will not take; deleting it lets create make a new one.
 */
async function launchCall<T>(ctx: DeploymentContext, site: { resource: string }, call: () => Promise<T>) {
  try {
    return await awsCall(site, call);
  } catch (error) {
    if (!(error instanceof InstanceProfileNotReady)) throw error;
    throw new InstanceProfileNotReady(
      {
        ...error.failure,
        hint: `A new instance profile takes seconds to reach EC2 and the workflow retries for about two minutes; re-run create. If EC2 still refuses it, delete the profile so create makes a new one (${recreateInstanceProfileCommands(ctx.plan)}), then re-run create.`,
      },
      { cause: error },
    );
  }
}

async function launchNode(
  ctx: DeploymentContext,
  node: NodePlan,
  input: LaunchInput,
  firstGeneration: number,
  image?: Image,
): Promise<string> {
  const subnetId = node.subnet === 'public' ? input.publicSubnetId : input.privateSubnetId;
  const site = { resource: nodeResource(node) };
  for (let generation = firstGeneration; ; generation++) {
    const token = clientToken(ctx.plan.deployment, node, subnetId, generation, image?.ImageId);
    const result = await launchCall(ctx, site, () =>
      ctx.clients.ec2.send(launchRequest(ctx, node, input, token, image)),
    );
    const instance = result.Instances?.[0];
    if (instance && !DEAD.has(stateOf(instance))) return instance.InstanceId!;
    if (generation - firstGeneration >= MAX_TOKEN_GENERATIONS) {
      throw new ProvisioningFailed({
        ...site,
        id: instance?.InstanceId ?? null,
        message: `RunInstances keeps returning a terminated instance for client token ${token}`,
        hint: 'Re-run create in a few minutes, once the terminated instances are gone from DescribeInstances.',
      });
    }
  }
}

/**
 * A restore's image of every node still to launch, checked again before the first RunInstances (the Preflight
 * function checked them before anything was created, but an image may have been deregistered since): a node
 * without an available image is a ProvisioningFailed naming each such node and its image's state, and nothing is
 * launched.
 */
async function launchImages(
  ctx: DeploymentContext,
  fromImages: string,
  toLaunch: { node: NodePlan }[],
): Promise<Map<NodePlan, Image>> {
  if (toLaunch.length === 0) return new Map();
  const { byNode, problems } = await restoreImages(ctx, fromImages);
  const launching = new Set(toLaunch.map(({ node }) => node.nickname));
  const blocking = problems.filter((problem) => launching.has(problem.node));
  if (blocking.length > 0) throw new ProvisioningFailed(restoreFailure(ctx, fromImages, blocking));
  return byNode;
}

/**
 * A client-side token bucket: `next()` resolves when a call may start, so calls go out at EC2's documented rate
 * instead of being refused and backed off.
 */
function pacer(rate: { burst: number; perSecond: number }) {
  let tokens = rate.burst;
  let at = Date.now();
  let queue = Promise.resolve();
  const take = async () => {
    const now = Date.now();
    tokens = Math.min(rate.burst, tokens + ((now - at) / 1000) * rate.perSecond);
    at = now;
    if (tokens < 1) {
      const waitMs = Math.ceil(((1 - tokens) / rate.perSecond) * 1000);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      tokens = Math.min(rate.burst, tokens + (waitMs / 1000) * rate.perSecond);
      at = Date.now();
    }
    tokens -= 1;
  };
  return () => {
    queue = queue.then(take);
    return queue;
  };
}

/**
 * Launches the nodes of the plan that have no pending or running instance yet, in plan order, paced at
 * {@link RUN_INSTANCES_RATE} with up to {@link LAUNCH_CONCURRENCY} calls in flight, each node with its fixed
 * private IP, the instance profile, IMDSv2 only and an encrypted gp3 root volume. It starts launches for at most
 * {@link LAUNCH_BUDGET_SECONDS} and answers how many nodes are left: the state machine runs it again until none is
 * (every run describes the fleet first, and each node's ClientToken makes a repeated launch return the same
 * instance). A stopped or stopping node is a conflict (it still holds its IP). The first failure, in plan order, is
 * thrown after every launch of the run has settled, naming the node and its instance type (a node EC2 still
 * throttles after the SDK's retries is left for the next run instead); in the loop's last run
 * (`round`), nodes still unlaunched are a ProvisioningFailed. In a restore (`input.fromImages`) each node is launched
 * from its image (see {@link launchImages}), with the same IP, type, profile, IMDSv2 options and tags.
 */
export async function launchInstances(
  ctx: DeploymentContext,
  input: LaunchInput,
  round: Round = {},
): Promise<LaunchResult> {
  const startedAt = Date.now();
  const { plan } = ctx;
  const byNode = instancesByNode(plan.nodes, await describeFleet(ctx));
  const toLaunch: { node: NodePlan; generation: number }[] = [];
  const conflicts: { node: NodePlan; instance: Instance }[] = [];
  let existing = 0;
  for (const [node, instances] of byNode) {
    const current = currentInstance(instances);
    const state = current ? stateOf(current) : 'none';
    if (state === 'pending' || state === 'running') existing++;
    else if (current && state !== 'terminated') conflicts.push({ node, instance: current });
    else {
      const generation = instances.filter((instance) => stateOf(instance) === 'terminated').length;
      toLaunch.push({ node, generation });
    }
  }
  if (conflicts.length > 0) {
    throw new ResourceConflict({
      resource: conflicts.map(({ node }) => `instance ${node.name}`).join(', '),
      id: conflicts[0].instance.InstanceId,
      message: conflicts
        .map(({ node, instance }) => `${node.name} is ${stateOf(instance)} (${instance.InstanceId})`)
        .join('; '),
      hint: `An instance not yet terminated still holds the node's private IP. Start a stopped one (\`aws ec2 start-instances --region ${plan.region} --instance-ids ${conflicts.map(({ instance }) => instance.InstanceId).join(' ')}\`), or terminate it and wait until it is terminated (${terminateNodesCommands(plan, namedInstances(conflicts))}), then re-run create.`,
    });
  }
  const images = input.fromImages ? await launchImages(ctx, input.fromImages, toLaunch) : undefined;
  const paced = pacer(RUN_INSTANCES_RATE);
  let left = 0;
  const spent = () => Date.now() - startedAt > LAUNCH_BUDGET_SECONDS * 1000;
  const outcomes = await settleWithLimit(toLaunch, LAUNCH_CONCURRENCY, async ({ node, generation }) => {
    if (!spent()) await paced();
    if (spent()) {
      left += 1;
      return false;
    }
    let instanceId: string;
    try {
      instanceId = await launchNode(ctx, node, input, generation, images?.get(node));
    } catch (error) {
      // Still refused after the SDK's retries: the node is left for the next run, a few seconds away; any other
      // failure fails the step.
      if (!(error instanceof Throttled)) throw error;
      left += 1;
      return false;
    }
    countMetric(METRIC.instancesLaunched);
    logger.info('instance launched', { node: node.nickname, instanceId, instanceType: node.instanceType });
    return true;
  });
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const launched = toLaunch.length - left;
  if (left > 0 && isLastRound(round)) {
    throw new ProvisioningFailed({
      resource: `instances of ${plan.deployment}`,
      message: `${left} of ${plan.nodes.length} nodes still not launched after ${round.maxAttempts} launch runs`,
      hint: 'EC2 refused or slowed RunInstances for too long (RequestLimitExceeded); re-run create: it launches the rest.',
    });
  }
  return { total: plan.nodes.length, launched, existing, remaining: left, done: left === 0 };
}

/**
 * The fleet's state for the wait loop, from ONE paginated DescribeInstances. A node whose instance stopped or
 * terminated is a ProvisioningFailed naming the node, the instance and EC2's state reason; an instance pending
 * in the wait loop's last round (its bound is in src/asl/create-deployment.ts) is a WaitTimedOut. A node with no visible instance yet (EC2
 * eventual consistency right after RunInstances) is waiting.
 */
export async function instancesStatus(ctx: DeploymentContext, round: Round = {}): Promise<StatusResult> {
  const { plan } = ctx;
  const byNode = instancesByNode(plan.nodes, await describeFleet(ctx));
  const waiting: string[] = [];
  const broken: { node: NodePlan; instance: Instance }[] = [];
  const late: { node: NodePlan; instance: Instance }[] = [];
  let running = 0;
  for (const [node, instances] of byNode) {
    const current = currentInstance(instances);
    const state = current ? stateOf(current) : 'none';
    if (state === 'running') running++;
    else if (state === 'pending' || state === 'none') {
      waiting.push(node.nickname);
      if (current && isLastRound(round)) late.push({ node, instance: current });
    } else broken.push({ node, instance: current! });
  }
  if (broken.length > 0) {
    throw new ProvisioningFailed({
      resource: broken.map(({ node }) => `instance ${node.name} (${node.instanceType})`).join(', '),
      id: broken[0].instance.InstanceId,
      awsError: broken[0].instance.StateReason?.Code ?? null,
      message: broken
        .map(
          ({ node, instance }) =>
            `${node.name} ${instance.InstanceId} is ${stateOf(instance)}: ${instance.StateReason?.Message ?? instance.StateTransitionReason ?? 'no reason given'}`,
        )
        .join('; '),
      hint: brokenHint(plan, broken),
      details: {
        nodes: broken.map(({ node, instance }) => ({
          node: node.nickname,
          instanceId: instance.InstanceId,
          state: stateOf(instance),
          reason: instance.StateReason?.Message ?? null,
        })),
      },
    });
  }
  if (late.length > 0) {
    throw new WaitTimedOut({
      resource: late.map(({ node }) => `instance ${node.name}`).join(', '),
      id: late[0].instance.InstanceId,
      message: `still pending ${roundsText(round)}: ${late.map(({ node, instance }) => `${node.name} (${instance.InstanceId})`).join(', ')}`,
      hint: `EC2 left the instance pending (check the AWS Health Dashboard for the zone). Terminate it and wait until it is terminated (${terminateNodesCommands(plan, namedInstances(late))}), then re-run create: it launches a replacement.`,
    });
  }
  return { allRunning: waiting.length === 0, running, total: plan.nodes.length, waiting };
}

/**
 * What to do about instances that stopped or terminated while the fleet came up: a terminated node is replaced by
 * re-running create; a stopped one still holds its private IP, so it is terminated first.
 */
function brokenHint(plan: Plan, broken: { node: NodePlan; instance: Instance }[]): string {
  const why =
    'The instance stopped or terminated while the fleet came up (a Server.* reason is on AWS, a Client.* reason on the request, e.g. a volume or KMS key).';
  const holding = broken.filter(({ instance }) => stateOf(instance) !== 'terminated');
  if (holding.length === 0) return `${why} Re-run create to launch a replacement.`;
  return `${why} Terminate the ones not terminated yet and wait until they are (${terminateNodesCommands(plan, namedInstances(holding))}), then re-run create to launch replacements.`;
}

const nicknameOf = (ctx: DeploymentContext, instance: Instance) =>
  tagValue(instance.Tags, 'Nickname') ??
  tagValue(instance.Tags, 'Name')?.replace(`${ctx.plan.deployment}-`, '') ??
  instance.InstanceId!;

/**
 * Terminates the instances tagged for the deployment that are not terminated yet (up to {@link TERMINATE_PER_RUN};
 * the wait loop terminates the rest, see terminateRunning); instances already shutting down are only listed.
 * Termination also disassociates the bastion's elastic IP and deletes the root volumes.
 */
export async function terminateInstances(ctx: DeploymentContext): Promise<{ terminating: string[] }> {
  const live = await describeFleet(ctx, { states: LIVE_STATES });
  // What EC2 still throttles is terminated by the wait loop's next rounds (instancesTerminated).
  await terminateRunning(ctx, live);
  return { terminating: live.map((instance) => instance.InstanceId!) };
}

/**
 * TerminateInstances for the given instances that are not shutting down already: at most {@link TERMINATE_PER_RUN}
 * of them, {@link TERMINATE_BATCH} ids a call, five calls at a time, for at most 10 s. A call EC2 still refuses
 * after the SDK's retries is left for the wait loop's next round (its instances are still listed live), so a fleet
 * larger than EC2's resource bucket is terminated round after round instead of failing the step.
 */
export async function terminateRunning(ctx: DeploymentContext, live: Instance[]): Promise<void> {
  const startedAt = Date.now();
  const toTerminate = live.filter((instance) => stateOf(instance) !== 'shutting-down');
  const batches = chunks(toTerminate.slice(0, TERMINATE_PER_RUN), TERMINATE_BATCH);
  const outcomes = await settleWithLimit(batches, TERMINATE_CONCURRENCY, async (batch) => {
    if (Date.now() - startedAt > TERMINATE_BUDGET_SECONDS * 1000) return;
    const ids = batch.map((instance) => instance.InstanceId!);
    await awsCall({ resource: `instances of ${ctx.plan.deployment}`, id: ids.join(', ') }, () =>
      ctx.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })),
    );
  });
  const failed = outcomes.find(
    (outcome): outcome is PromiseRejectedResult =>
      outcome.status === 'rejected' && !(outcome.reason instanceof Throttled),
  );
  if (failed) throw failed.reason;
}

/** Whether every instance of the deployment is terminated: one paginated DescribeInstances. */
export async function instancesTerminated(
  ctx: DeploymentContext,
  round: Round = {},
): Promise<{ allTerminated: boolean; remaining: number; waiting: string[] }> {
  const live = await describeFleet(ctx, { states: LIVE_STATES });
  if (live.length > 0 && isLastRound(round)) {
    throw new WaitTimedOut({
      resource: live.map((instance) => `instance ${nicknameOf(ctx, instance)}`).join(', '),
      id: live[0].InstanceId,
      awsError: null,
      message: `still not terminated ${roundsText(round)}: ${live.map((instance) => `${nicknameOf(ctx, instance)} (${instance.InstanceId}, ${stateOf(instance)})`).join(', ')}`,
      hint: `Terminate them and wait (${terminateNodesCommands(
        ctx.plan,
        live.map((instance) => ({ nickname: nicknameOf(ctx, instance), instanceId: instance.InstanceId })),
      )}), then run delete again.`,
    });
  }
  // An instance launched just before the teardown can be invisible to the first terminate (EC2 eventual
  // consistency): terminate whatever still runs, so the wait loop always converges.
  await terminateRunning(ctx, live);
  return {
    allTerminated: live.length === 0,
    remaining: live.length,
    waiting: live.map((instance) => nicknameOf(ctx, instance)),
  };
}
