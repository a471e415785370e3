import { DescribeInstancesCommand, type Instance, type InstanceStateName } from '@aws-sdk/client-ec2';
import { ProvisioningFailed } from '../../src/core/errors.js';
import { leavingOrder } from '../../src/core/resize.js';
import type { NodePlan } from '../../src/core/spec/plan.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall } from './aws-errors.js';
import type { DeploymentContext } from './context.js';
import { deploymentFilters } from './ec2.js';

/** States in which an instance holds its fixed private IP: anything but `terminated`. */
export const LIVE_STATES: InstanceStateName[] = [
  'pending',
  'running',
  'shutting-down',
  'stopping',
  'stopped',
];

/**
 * The deployment's instances (found by its DeploymentName/DeploymentOperator tags, optionally one Name and some
 * states): ONE paginated DescribeInstances for the whole fleet, whatever its size, so a poll costs the same
 * number of calls and history events for 10 or 1,000 nodes.
 */
export async function describeFleet(
  { plan, clients }: DeploymentContext,
  options: { states?: InstanceStateName[]; name?: string } = {},
): Promise<Instance[]> {
  const filters = deploymentFilters(plan, options.name === undefined ? {} : { name: options.name });
  if (options.states) filters.push({ Name: 'instance-state-name', Values: options.states });
  const site = {
    resource: options.name ? `instance ${options.name}` : `instances of ${plan.deployment}`,
  };
  const instances: Instance[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall(site, () =>
      clients.ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: token })),
    );
    instances.push(...(page.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []));
    token = page.NextToken;
  } while (token);
  return instances;
}

const STATE_RANK: Record<string, number> = {
  running: 0,
  pending: 1,
  stopping: 2,
  stopped: 3,
  'shutting-down': 4,
  terminated: 5,
};

/**
 * The instance that stands for a node: the one in the most alive state (running, then pending, ...), the newest
 * launch first among equals. Older terminated generations of the node are ignored when a newer one exists.
 */
export function currentInstance(instances: Instance[]): Instance | undefined {
  return [...instances].sort(
    (a, b) =>
      (STATE_RANK[a.State?.Name ?? ''] ?? 9) - (STATE_RANK[b.State?.Name ?? ''] ?? 9) ||
      (b.LaunchTime?.getTime() ?? 0) - (a.LaunchTime?.getTime() ?? 0),
  )[0];
}

/** The fleet's instances grouped by node (Name tag), in plan order; a node without any instance gets `[]`. */
export function instancesByNode(nodes: NodePlan[], instances: Instance[]): Map<NodePlan, Instance[]> {
  const byName = new Map<string, Instance[]>();
  for (const instance of instances) {
    const name = tagValue(instance.Tags, 'Name');
    if (name === undefined) continue;
    byName.set(name, [...(byName.get(name) ?? []), instance]);
  }
  return new Map(nodes.map((node) => [node, byName.get(node.name) ?? []]));
}

/** The bastion node of the plan. */
export function bastionNode({ plan }: DeploymentContext): NodePlan {
  return plan.nodes.find((node) => node.role === 'bastion')!;
}

/**
 * The bastion's pending or running instance, or a ProvisioningFailed saying why it is needed (`purpose`) when the
 * bastion was terminated or never launched.
 */
export async function liveBastion(ctx: DeploymentContext, purpose: string): Promise<Instance> {
  const bastion = bastionNode(ctx);
  const instance = currentInstance(
    await describeFleet(ctx, { name: bastion.name, states: ['pending', 'running'] }),
  );
  if (!instance) {
    throw new ProvisioningFailed({
      resource: `instance ${bastion.name}`,
      message: `no pending or running instance tagged Name=${bastion.name} in deployment ${ctx.plan.deployment}: ${purpose}`,
      hint: 'The bastion was terminated or never launched; re-run create to launch it.',
    });
  }
  return instance;
}

/** Runs `work` over `items` with at most `limit` in flight; returns every outcome in item order. */
export async function settleWithLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}

/**
 * The instances of `fleet` whose nodes the plan no longer has (a resize removed them), live, optionally of some
 * roles, in the order they leave: highest ordinal first (cass008 before cass007).
 */
export function surplusIn(ctx: DeploymentContext, fleet: Instance[], roles?: readonly string[]): Instance[] {
  const planned = new Set(ctx.plan.nodes.map((node) => node.name));
  const nameOf = (instance: Instance) => tagValue(instance.Tags, 'Name') ?? '';
  return fleet
    .filter((instance) => LIVE_STATES.includes(instance.State?.Name as InstanceStateName))
    .filter((instance) => !planned.has(nameOf(instance)))
    .filter((instance) => !roles || roles.includes(tagValue(instance.Tags, 'Role') ?? ''))
    .sort((a, b) => leavingOrder(nameOf(a), nameOf(b)));
}

/** The deployment's live instances the plan no longer has (see {@link surplusIn}): one DescribeInstances. */
export async function surplusInstances(
  ctx: DeploymentContext,
  roles?: readonly string[],
): Promise<Instance[]> {
  return surplusIn(ctx, await describeFleet(ctx, { states: LIVE_STATES }), roles);
}

/** A removed node as a plan node, from its instance's tags: what the documents it still runs need to know. */
export function surplusNode(ctx: DeploymentContext, instance: Instance): NodePlan {
  const name = tagValue(instance.Tags, 'Name') ?? instance.InstanceId!;
  const role = tagValue(instance.Tags, 'Role') as NodePlan['role'];
  return {
    nickname: tagValue(instance.Tags, 'Nickname') ?? name.replace(`${ctx.plan.deployment}-`, ''),
    name,
    role,
    instanceType: instance.InstanceType ?? '',
    privateIp: instance.PrivateIpAddress ?? '',
    subnet: 'private',
    securityGroup: 'internal',
  };
}
