import type { Instance } from '@aws-sdk/client-ec2';
import { InvalidSpec } from '../../src/core/errors.js';
import { tagValue } from '../../src/core/tags.js';
import { CLUSTER_SIZE_TAG, configured, decommissioned, ringSizeProblem } from '../shared/cassandra-ring.js';
import type { DeploymentContext } from '../shared/context.js';
import { currentInstance, describeFleet, instancesByNode, surplusIn } from '../shared/fleet.js';

/** What the Cassandra part of create does next: the state machine loops over this answer until `settled`. */
export interface RingStep {
  /**
   * configure: no node is configured yet, every node starts at once (a new ring); join: `node` bootstraps into the
   * running ring; decommission: `node`, no longer planned, leaves the ring; settled: nothing to change.
   */
  next: 'configure' | 'join' | 'decommission' | 'settled';
  node: string | null;
  /** Planned Cassandra nodes already in the ring, and the planned total. */
  inRing: number;
  planned: number;
  /** Nodes the plan no longer has: daemons to drain, and instances to terminate once drained or decommissioned. */
  drain: number;
  terminate: number;
  /**
   * Whether some node of the ring was configured for another ring size (the ring grew or shrank): `nodetool cleanup`
   * then runs once per node and ring size. A ring configured whole at this size has nothing to drop.
   */
  cleanup: boolean;
}

/**
 * Refuses a plan whose Cassandra count the configured nodes' tokens cannot take. The preflight checks it first,
 * before anything is launched; this is the guard of a run resumed after the ring changed.
 */
function checkRingSize(ctx: DeploymentContext, ring: Instance[]): void {
  const problem = ringSizeProblem(ctx, ring);
  if (problem) throw new InvalidSpec(problem);
}

/**
 * Reads the ring from the instances' provisioning tags (one DescribeInstances): which Cassandra node joins next (plan
 * order: cass005 before cass006, one at a time, as Cassandra requires), or which removed node is decommissioned next
 * (highest first), or whether the ring is new or settled.
 */
export async function readRing(ctx: DeploymentContext): Promise<RingStep> {
  const cassandra = ctx.plan.nodes.filter((node) => node.role === 'cassandra');
  const fleet = await describeFleet(ctx);
  const byNode = instancesByNode(cassandra, fleet);
  const planned = [...byNode].map(([node, instances]) => ({ node, instance: currentInstance(instances) }));
  const surplus = surplusIn(ctx, fleet);
  const leaving = surplus.filter((instance) => tagValue(instance.Tags, 'Role') === 'cassandra');
  const ring = [
    ...planned.flatMap(({ instance }) => (instance && configured(instance) ? [instance] : [])),
    ...leaving.filter((instance) => configured(instance) && !decommissioned(instance)),
  ];
  checkRingSize(ctx, ring);
  const inRing = planned.filter(({ instance }) => instance && configured(instance)).length;
  const counts = {
    inRing,
    planned: cassandra.length,
    cleanup: ring.some((instance) => tagValue(instance.Tags, CLUSTER_SIZE_TAG) !== String(cassandra.length)),
    drain: surplus.filter((instance) => tagValue(instance.Tags, 'Role') === 'daemon').length,
    terminate: surplus.length,
  };
  if (ring.length === 0) return { next: 'configure', node: null, ...counts };
  const joining = planned.find(({ instance }) => !instance || !configured(instance));
  if (joining) return { next: 'join', node: joining.node.name, ...counts };
  const next = leaving.find((instance) => configured(instance) && !decommissioned(instance));
  if (next) return { next: 'decommission', node: tagValue(next.Tags, 'Name') ?? null, ...counts };
  return { next: 'settled', node: null, ...counts };
}
