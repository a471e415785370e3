import { createHash } from 'node:crypto';
import { type Instance, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  InstanceProfileNotReady,
  ProvisioningFailed,
  ResourceConflict,
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
import { recreateInstanceProfileCommands, terminateNodesCommands } from '../shared/remedies.js';

/** RunInstances calls in flight at once: fast for big fleets, gentle on the EC2 request rate limit. */
export const LAUNCH_CONCURRENCY = 10;
/** TerminateInstances accepts at most 1,000 instance ids per call. */
export const TERMINATE_BATCH = 1000;
/** capideploy waits 120 s for `running`; an instance still pending after this is a failed wait. */
export const PENDING_TIMEOUT_SECONDS = 600;
/** How many fresh client-token generations one launch tries after finding its token spent on a dead instance. */
const MAX_TOKEN_GENERATIONS = 3;

export interface LaunchInput {
  privateSubnetId: string;
  publicSubnetId: string;
  bastionSecurityGroupId: string;
  internalSecurityGroupId: string;
  instanceProfileArn: string;
  amiId: string;
}

export interface LaunchResult {
  total: number;
  launched: number;
  existing: number;
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
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([deployment, node.nickname, subnetId, generation]))
    .digest('hex');
  return `capi-${digest.slice(0, 48)}`;
}

function launchRequest(ctx: DeploymentContext, node: NodePlan, input: LaunchInput, token: string) {
  const { plan } = ctx;
  const extra = { Role: node.role, Nickname: node.nickname };
  return new RunInstancesCommand({
    ImageId: input.amiId,
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
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [
      {
        DeviceName: '/dev/sda1',
        Ebs: {
          VolumeType: 'gp3',
          VolumeSize: plan.rootVolumeGiB,
          Encrypted: true,
          DeleteOnTermination: true,
        },
      },
    ],
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
): Promise<string> {
  const subnetId = node.subnet === 'public' ? input.publicSubnetId : input.privateSubnetId;
  const site = { resource: nodeResource(node) };
  for (let generation = firstGeneration; ; generation++) {
    const token = clientToken(ctx.plan.deployment, node, subnetId, generation);
    const result = await launchCall(ctx, site, () =>
      ctx.clients.ec2.send(launchRequest(ctx, node, input, token)),
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
 * Launches every node of the plan that has no pending or running instance yet, up to {@link LAUNCH_CONCURRENCY} at
 * once, each with its fixed private IP, the instance profile, IMDSv2 only and an encrypted gp3 root volume. A
 * stopped or stopping node is a conflict (it still holds its IP). The first failure, in plan order, is thrown
 * after every launch has settled, naming the node and its instance type.
 */
export async function launchInstances(ctx: DeploymentContext, input: LaunchInput): Promise<LaunchResult> {
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
  const outcomes = await settleWithLimit(toLaunch, LAUNCH_CONCURRENCY, ({ node, generation }) =>
    launchNode(ctx, node, input, generation),
  );
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return { total: plan.nodes.length, launched: toLaunch.length, existing };
}

/**
 * The fleet's state for the wait loop, from ONE paginated DescribeInstances. A node whose instance stopped or
 * terminated is a ProvisioningFailed naming the node, the instance and EC2's state reason; an instance pending
 * for longer than {@link PENDING_TIMEOUT_SECONDS} is a WaitTimedOut. A node with no visible instance yet (EC2
 * eventual consistency right after RunInstances) is waiting.
 */
export async function instancesStatus(ctx: DeploymentContext): Promise<StatusResult> {
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
      const launched = current?.LaunchTime?.getTime();
      if (launched !== undefined && Date.now() - launched > PENDING_TIMEOUT_SECONDS * 1000) {
        late.push({ node, instance: current! });
      }
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
      message: `still pending ${PENDING_TIMEOUT_SECONDS} s after launch: ${late.map(({ node, instance }) => `${node.name} (${instance.InstanceId})`).join(', ')}`,
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
 * Terminates every instance tagged for the deployment that is not terminated yet, in batches of
 * {@link TERMINATE_BATCH}; instances already shutting down are only listed. Termination also disassociates the
 * bastion's elastic IP and deletes the root volumes.
 */
export async function terminateInstances(ctx: DeploymentContext): Promise<{ terminating: string[] }> {
  const live = await describeFleet(ctx, { states: LIVE_STATES });
  await terminateRunning(ctx, live);
  return { terminating: live.map((instance) => instance.InstanceId!) };
}

/** TerminateInstances for the given instances that are not shutting down already. */
async function terminateRunning(ctx: DeploymentContext, live: Instance[]): Promise<void> {
  const toTerminate = live.filter((instance) => stateOf(instance) !== 'shutting-down');
  for (const batch of chunks(toTerminate, TERMINATE_BATCH)) {
    const ids = batch.map((instance) => instance.InstanceId!);
    await awsCall({ resource: `instances of ${ctx.plan.deployment}`, id: ids.join(', ') }, () =>
      ctx.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })),
    );
  }
}

/** Whether every instance of the deployment is terminated: one paginated DescribeInstances. */
export async function instancesTerminated(
  ctx: DeploymentContext,
): Promise<{ allTerminated: boolean; remaining: number; waiting: string[] }> {
  const live = await describeFleet(ctx, { states: LIVE_STATES });
  // An instance launched just before the teardown can be invisible to the first terminate (EC2 eventual
  // consistency): terminate whatever still runs, so the wait loop always converges.
  await terminateRunning(ctx, live);
  return {
    allTerminated: live.length === 0,
    remaining: live.length,
    waiting: live.map((instance) => nicknameOf(ctx, instance)),
  };
}
