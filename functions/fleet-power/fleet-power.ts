import { type Instance, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { ProvisioningFailed, WaitTimedOut } from '../../src/core/errors.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { chunks, currentInstance, describeFleet, instancesByNode } from '../shared/fleet.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

/**
 * Stops and starts a deployment's fleet (stop-deployment, start-deployment): one StopInstances or StartInstances
 * per 50 instances, and one paginated DescribeInstances per poll round, whatever the fleet size. Only instances
 * tagged with the deployment (DeploymentName, DeploymentOperator) are touched: the grants say so too.
 */

/** StopInstances and StartInstances take many ids; 50 per call keeps each request small. */
const IDS_PER_CALL = 50;

/** Which way the fleet goes, and the state each instance must reach. */
type Direction = 'stop' | 'start';
const TARGET: Record<Direction, string> = { stop: 'stopped', start: 'running' };
/** States from which each direction's call is accepted (or has nothing to do). */
const MOVABLE: Record<Direction, Set<string>> = {
  stop: new Set(['pending', 'running']),
  start: new Set(['stopped']),
};
/** States that end the wait badly: the instance will never get there by itself. */
const STUCK: Record<Direction, Set<string>> = {
  stop: new Set(['shutting-down', 'terminated']),
  start: new Set(['shutting-down', 'terminated']),
};

export interface FleetPowerResult {
  /** Instances the call was sent for now (0 when every one was already on its way). */
  changed: number;
  total: number;
}

export interface FleetStateResult {
  /** True once every node's instance is in the target state. */
  done: boolean;
  total: number;
  /** Nicknames of the nodes not there yet, with their state. */
  waiting: string[];
  /** Instance count by state. */
  states: Record<string, number>;
}

/** The current instance of every node of the plan; a node without one fails: stop and start need the whole fleet. */
async function fleetOf(ctx: DeploymentContext): Promise<{ nickname: string; instance: Instance }[]> {
  const byNode = instancesByNode(ctx.plan.nodes, await describeFleet(ctx));
  const missing: string[] = [];
  const fleet: { nickname: string; instance: Instance }[] = [];
  for (const [node, instances] of byNode) {
    const instance = currentInstance(instances);
    if (!instance || instance.State?.Name === 'terminated') missing.push(node.nickname);
    else fleet.push({ nickname: node.nickname, instance });
  }
  if (missing.length > 0) {
    throw new ProvisioningFailed({
      resource: `instances of ${ctx.plan.deployment}`,
      message: `no instance for ${missing.join(', ')}: the deployment is incomplete`,
      hint: 'Run create again to complete the deployment (a stopped deployment: run start first), or delete it.',
      details: { missing },
    });
  }
  return fleet;
}

/** Sends StopInstances or StartInstances for every instance not already on its way there. */
export async function powerFleet(ctx: DeploymentContext, direction: Direction): Promise<FleetPowerResult> {
  const fleet = await fleetOf(ctx);
  const ids = fleet
    .filter(({ instance }) => MOVABLE[direction].has(instance.State?.Name ?? ''))
    .map(({ instance }) => instance.InstanceId!);
  for (const batch of chunks(ids, IDS_PER_CALL)) {
    await awsCall({ resource: `instances of ${ctx.plan.deployment}`, id: batch[0] }, () =>
      ctx.clients.ec2.send(
        direction === 'stop'
          ? new StopInstancesCommand({ InstanceIds: batch })
          : new StartInstancesCommand({ InstanceIds: batch }),
      ),
    );
  }
  return { changed: ids.length, total: fleet.length };
}

/**
 * Whether every instance reached the direction's target state (stopped, running). Fails with WaitTimedOut in the
 * loop's last round, or at once when an instance is shutting down or terminated, naming each node and its state.
 */
export async function fleetState(
  ctx: DeploymentContext,
  direction: Direction,
  round: Round,
): Promise<FleetStateResult> {
  const fleet = await fleetOf(ctx);
  const target = TARGET[direction];
  const states: Record<string, number> = {};
  const waiting: string[] = [];
  const stuck: string[] = [];
  for (const { nickname, instance } of fleet) {
    const state = instance.State?.Name ?? 'unknown';
    states[state] = (states[state] ?? 0) + 1;
    if (state === target) continue;
    const label = `${nickname} (${instance.InstanceId}, ${state})`;
    waiting.push(label);
    if (STUCK[direction].has(state)) stuck.push(label);
  }
  if (stuck.length > 0 || (waiting.length > 0 && isLastRound(round))) {
    const ids = fleet
      .filter(({ instance }) => instance.State?.Name !== target)
      .map(({ instance }) => instance.InstanceId!);
    throw new WaitTimedOut({
      resource: `instances of ${ctx.plan.deployment}`,
      id: ids[0] ?? null,
      message:
        stuck.length > 0
          ? `not every instance can be ${target}: ${stuck.join(', ')}`
          : `not every instance is ${target} ${roundsText(round)}: ${waiting.join(', ')}`,
      hint:
        direction === 'stop'
          ? `An instance stuck in stopping can be forced: aws ec2 stop-instances --force --instance-ids ${ids.join(' ')}; then run stop again.`
          : 'Look at the instance in the EC2 console (its state reason); run start again, or replace the node (terminate it, then create).',
      details: { waiting, names: fleet.map(({ instance }) => tagValue(instance.Tags, 'Name')) },
    });
  }
  return { done: waiting.length === 0, total: fleet.length, waiting, states };
}
