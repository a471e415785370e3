import type { Instance } from '@aws-sdk/client-ec2';
import type { FailureCause } from '../../src/core/errors.js';
import { cassandraCountProblem } from '../../src/core/resize.js';
import { tagValue } from '../../src/core/tags.js';
import type { DeploymentContext } from './context.js';

/** The tag that marks a node where a provisioning document succeeded, its value the hash of the parameters. */
export const provisionedTag = (document: string) => `capideploy:${document}`;

/**
 * The tag a configured Cassandra node carries with the ring size its token was computed for: a resize must keep the
 * odd part of that size, or the nodes' tokens would not be the plan's (src/core/spec/plan.ts, cassandraToken).
 */
export const CLUSTER_SIZE_TAG = 'capideploy:cassandra-cluster-size';

export const configured = (instance: Instance) =>
  tagValue(instance.Tags, provisionedTag('capi-cassandra-configure')) !== undefined;
export const decommissioned = (instance: Instance) =>
  tagValue(instance.Tags, provisionedTag('capi-cassandra-decommission')) !== undefined;

const oddPart = (count: number) => {
  let odd = count;
  while (odd % 2 === 0) odd /= 2;
  return odd;
};

/**
 * Why the live ring cannot take the plan's Cassandra count, as a failure cause, or null: the configured nodes'
 * tokens were computed for a ring size whose odd part must be the plan's (doubling and halving only,
 * src/core/resize.ts). `ring` is the deployment's configured Cassandra instances still in the ring.
 */
export function ringSizeProblem(ctx: DeploymentContext, ring: Instance[]): FailureCause | null {
  const planned = ctx.plan.cassandra.hosts.length;
  for (const instance of ring) {
    const size = Number(tagValue(instance.Tags, CLUSTER_SIZE_TAG) ?? planned);
    if (oddPart(size) === oddPart(planned)) continue;
    return {
      resource: `Cassandra ring of ${ctx.plan.deployment}`,
      id: instance.InstanceId ?? null,
      message: cassandraCountProblem(size, planned) ?? `${size} to ${planned} Cassandra nodes`,
      hint: `The ring's nodes were configured for ${size} nodes: apply a spec with that many Cassandra nodes times or divided by a power of two.`,
    };
  }
  return null;
}

/** The Cassandra instances of a fleet that are in the ring: configured, not decommissioned. */
export const ringOf = (fleet: Instance[]): Instance[] =>
  fleet.filter(
    (instance) =>
      tagValue(instance.Tags, 'Role') === 'cassandra' && configured(instance) && !decommissioned(instance),
  );
