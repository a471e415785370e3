import { hasNvmeInstanceStore } from './spec/flavors.js';
import type { Plan } from './spec/plan.js';

/**
 * Rules of the day-2 operations that are checked before any AWS call, by the CLI and the API alike.
 */

/**
 * Why stopping this deployment loses data, or null when a stop keeps everything. Cassandra keeps its data on the
 * instance-store NVMe disks of its nodes, and AWS erases an instance store when the instance stops
 * (reference/ops-facts.md §1.8): after a start every Cassandra node comes back with a blank disk, and with
 * Capillaries' replication factor of 1 no other node holds a copy. start-deployment sets Cassandra up again, empty.
 */
export function stopDataLoss(plan: Plan): string | null {
  const nodes = plan.nodes.filter((node) => node.role === 'cassandra');
  const onInstanceStore = nodes.filter((node) => hasNvmeInstanceStore(node.instanceType));
  if (onInstanceStore.length === 0) return null;
  const types = [...new Set(onInstanceStore.map((node) => node.instanceType))].join(', ');
  return (
    `stopping ${plan.deployment} erases its Cassandra data: the ${onInstanceStore.length} Cassandra nodes (${types}) ` +
    'keep it on instance-store NVMe disks, which AWS wipes when an instance stops, and no other node holds a copy ' +
    '(replication factor 1); start sets Cassandra up again, empty. Export what you need first ' +
    '(nodetool snapshot, then copy it to S3), then stop with --force'
  );
}
