import type { Instance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import { WaitTimedOut } from '../../src/core/errors.js';
import type { NodePlan } from '../../src/core/spec/plan.js';
import { awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { chunks, currentInstance, describeFleet, instancesByNode } from '../shared/fleet.js';
import { terminateNodesCommands } from '../shared/remedies.js';

/** DescribeInstanceInformation: at most 50 results per page; we ask for at most 50 instance ids per filter. */
export const IDS_PER_CALL = 50;
export const DEFAULT_MAX_ATTEMPTS = 60;
/** Without an attempt counter: an agent not online this long after its instance launched is not coming. */
export const OFFLINE_TIMEOUT_SECONDS = 15 * 60;

export interface ReadinessOptions {
  /** The poll round, counted by the state machine from 0; when given, the wait ends after `maxAttempts`. */
  attempt?: number;
  maxAttempts?: number;
}

export interface ReadinessResult {
  allOnline: boolean;
  online: number;
  total: number;
  /** Nicknames of the nodes whose agent is not online yet. */
  waiting: string[];
}

/** PingStatus by instance id, for the given ids: ceil(n / 50) filtered, paginated calls per poll. */
async function pingStatuses(
  { plan, clients }: DeploymentContext,
  ids: string[],
): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const batch of chunks(ids, IDS_PER_CALL)) {
    let token: string | undefined;
    do {
      const page = await awsCall({ resource: `SSM agents of ${plan.deployment}` }, () =>
        clients.ssm.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: 'InstanceIds', Values: batch }],
            MaxResults: IDS_PER_CALL,
            NextToken: token,
          }),
        ),
      );
      for (const info of page.InstanceInformationList ?? []) {
        statuses.set(info.InstanceId!, info.PingStatus ?? 'Unknown');
      }
      token = page.NextToken;
    } while (token);
  }
  return statuses;
}

/**
 * Whether the SSM agent of every node is Online: one paginated DescribeInstances for the fleet and one
 * DescribeInstanceInformation per 50 instances, per poll round, whatever the fleet size. The wait ends with a
 * WaitTimedOut naming each offline node, its instance and the likely causes, after `maxAttempts` rounds when the
 * state machine counts them, otherwise once an offline agent's instance launched more than 15 minutes ago.
 */
export async function ssmReadiness(
  ctx: DeploymentContext,
  options: ReadinessOptions = {},
): Promise<ReadinessResult> {
  const { plan } = ctx;
  const byNode = instancesByNode(plan.nodes, await describeFleet(ctx, { states: ['running'] }));
  const instanceOf = new Map<NodePlan, Instance | undefined>(
    [...byNode].map(([node, instances]) => [node, currentInstance(instances)]),
  );
  const ids = [...instanceOf.values()].flatMap((instance) => (instance ? [instance.InstanceId!] : []));
  const statuses = await pingStatuses(ctx, ids);

  const offline = plan.nodes.filter((node) => {
    const instance = instanceOf.get(node);
    return !instance || statuses.get(instance.InstanceId!) !== 'Online';
  });
  const result: ReadinessResult = {
    allOnline: offline.length === 0,
    online: plan.nodes.length - offline.length,
    total: plan.nodes.length,
    waiting: offline.map((node) => node.nickname),
  };
  if (offline.length === 0) return result;

  const launchTimes = offline.flatMap((node) => {
    const launched = instanceOf.get(node)?.LaunchTime?.getTime();
    return launched === undefined ? [] : [launched];
  });
  const counted = options.attempt !== undefined;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const timedOut = counted
    ? options.attempt! + 1 >= maxAttempts
    : launchTimes.length > 0 && Date.now() - Math.min(...launchTimes) > OFFLINE_TIMEOUT_SECONDS * 1000;
  if (!timedOut) return result;

  const nodes = offline.map((node) => {
    const instance = instanceOf.get(node);
    return {
      node: node.nickname,
      name: node.name,
      instanceId: instance?.InstanceId ?? null,
      pingStatus: instance ? (statuses.get(instance.InstanceId!) ?? 'not registered') : 'no running instance',
      launchTime: instance?.LaunchTime?.toISOString() ?? null,
    };
  });
  throw new WaitTimedOut({
    resource: `SSM agent on ${nodes.map((node) => node.name).join(', ')}`,
    id: nodes.find((node) => node.instanceId)?.instanceId ?? null,
    message: `${nodes.length} of ${plan.nodes.length} SSM agents not online ${
      counted ? `after ${maxAttempts} checks` : `${OFFLINE_TIMEOUT_SECONDS / 60} minutes after launch`
    }: ${nodes.map((node) => `${node.name} (${node.instanceId ?? 'no instance'}): ${node.pingStatus}`).join('; ')}`,
    hint: `The agent needs a route to SSM: the private subnet must route 0.0.0.0/0 to an available NAT gateway (or have VPC endpoints for ssm, ssmmessages and ec2messages), and the instance profile ${plan.names.instanceProfile} must carry AmazonSSMManagedInstanceCore. Fix either, then ${
      counted
        ? 're-run create; if an agent still does not come online, replace its node'
        : 'replace the offline nodes (this wait counts from launch, so a re-run alone gives their agents no time)'
    }: terminate them and wait until they are terminated (${terminateNodesCommands(
      plan,
      nodes.map((node) => ({ nickname: node.node, instanceId: node.instanceId })),
    )}), then re-run create, which launches fresh ones.`,
    details: { nodes },
  });
}
