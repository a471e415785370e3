import type { InventoryItem } from './inventory.js';
import { cassandraToken, type NodePlan, type Plan, planDeployment, roleOfNickname } from './spec/plan.js';
import type { DeploymentSpec } from './spec/schema.js';

/**
 * Re-applying a changed spec to a deployment (issue 17): what may change in place, and what a re-apply does.
 *
 * In place: the number of daemons (any), the number of Cassandra nodes (doubling or halving only, see
 * {@link cassandraCountProblem}), and everything that is configuration (allowed CIDRs, buckets, versions, release URL,
 * log settings). Not in place: region, zone, customer account, a role's instance type, and a count that would move a
 * node that stays to another private IP (the private subnet grows past a /24). The CLI and the API check these before
 * any AWS call; create-deployment checks the Cassandra count again against the live ring.
 */

/** Why N Cassandra nodes cannot become M in place, or null. */
export function cassandraCountProblem(from: number, to: number): string | null {
  if (from === to) return null;
  const [small, large] = from < to ? [from, to] : [to, from];
  const ratio = large / small;
  if (Number.isInteger(ratio) && (ratio & (ratio - 1)) === 0) return null;
  const up = [from * 2, from * 4].filter((n) => n <= 1000);
  const down = from % 2 === 0 ? [from / 2] : [];
  const allowed = [...down, ...up].join(', ');
  return (
    `cassandraNodes: ${from} to ${to} cannot be done in place: each node has one fixed token, and only doubling ` +
    `or halving keeps every remaining node's token (a balanced ring without nodetool move); choose ${allowed} ` +
    '(repeat to go further), or create a new deployment and copy the data'
  );
}

const FIXED_FIELDS: { field: keyof DeploymentSpec; what: string }[] = [
  { field: 'region', what: 'a deployment lives in one region' },
  { field: 'availabilityZone', what: 'both subnets live in one zone' },
  { field: 'customer', what: "the customer's account holds every resource" },
];

/**
 * One line per change a re-apply cannot make in place, naming the field and what to do instead; empty when the new
 * spec can be applied to the deployment of the previous one.
 */
export function inPlaceRefusals(previous: DeploymentSpec, next: DeploymentSpec): string[] {
  if (previous.name !== next.name) return [];
  const problems: string[] = [];
  const recreate = `delete ${next.name} and create it again, or create the new spec under another name`;
  for (const { field, what } of FIXED_FIELDS) {
    if (previous[field] !== next[field]) {
      problems.push(
        `${field}: ${String(previous[field] ?? '(none)')} to ${String(next[field] ?? '(none)')} cannot be changed in place (${what}); ${recreate}`,
      );
    }
  }
  const before = planDeployment(previous);
  const after = planDeployment(next);
  for (const role of ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'] as const) {
    const was = before.nodes.find((node) => node.role === role)?.instanceType;
    const now = after.nodes.find((node) => node.role === role)?.instanceType;
    if (was && now && was !== now) {
      problems.push(
        `flavor: the ${role} instance type ${was} to ${now} cannot be changed in place (its nodes would have to be replaced); keep ${was} for ${role}, or ${recreate}`,
      );
    }
  }
  const cassandra = cassandraCountProblem(previous.cassandraNodes, next.cassandraNodes);
  if (cassandra) problems.push(cassandra);
  if (before.network.privateSubnetCidr !== after.network.privateSubnetCidr) {
    problems.push(
      `cassandraNodes/daemons: ${next.cassandraNodes} Cassandra nodes and ${next.daemons} daemons need the private subnet ${after.network.privateSubnetCidr} instead of ${before.network.privateSubnetCidr}, and a subnet cannot be resized; stay within 90 Cassandra nodes and 154 daemons, or ${recreate}`,
    );
  } else {
    const moved = after.nodes.filter((node) => {
      const old = before.nodes.find((candidate) => candidate.name === node.name);
      return old && old.privateIp !== node.privateIp;
    });
    if (moved.length > 0) {
      problems.push(
        `cassandraNodes/daemons: ${moved.map((node) => node.nickname).join(', ')} would move to other private IPs; ${recreate}`,
      );
    }
  }
  return problems;
}

/** A live instance of the deployment, as the plan sees it. */
export interface LiveNode {
  name: string;
  role: string;
  state: string;
  instanceId: string;
}

/** What re-applying a plan to the live fleet does, node by node, in the order the workflow does it. */
export interface ResizePlan {
  deployment: string;
  /** Nodes without an instance: launched and installed. */
  launch: string[];
  /** New Cassandra nodes, joined one at a time in this order (bootstrap, streaming from their neighbours). */
  join: string[];
  /**
   * Cassandra nodes that stay and run `nodetool cleanup` after the joins (the workflow runs it on every node
   * configured for another ring size, once per size: also after shrinking a ring that had grown).
   */
  cleanup: string[];
  /** Daemons no longer planned: capidaemon stopped gracefully (unacknowledged messages go back to the queue). */
  drain: string[];
  /** Cassandra nodes no longer planned: `nodetool decommission`, one at a time, highest first. */
  decommission: string[];
  /** Instances no longer planned: terminated once drained or decommissioned. */
  terminate: string[];
  /** Whether the node lists of Prometheus, the daemons and the bastion change (their configure runs again). */
  reconfigure: boolean;
  /** The ring after the re-apply: node name and token. */
  ring: { name: string; token: string }[];
}

const LIVE = new Set(['pending', 'running', 'stopping', 'stopped']);
const ordinalOf = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? 0);

/** The order removed nodes leave in, by name: highest ordinal first (cass008 before cass007), as cass-operator does. */
export const leavingOrder = (a: string, b: string) => ordinalOf(b) - ordinalOf(a);

/** Names of the live instances no longer in the plan, of one role, highest ordinal first. */
function surplusOf(plan: Plan, live: LiveNode[], role: string): string[] {
  const planned = new Set(plan.nodes.map((node) => node.name));
  return live
    .filter((node) => node.role === role && LIVE.has(node.state) && !planned.has(node.name))
    .map((node) => node.name)
    .sort(leavingOrder);
}

/** What a re-apply of `plan` does to the live fleet `live` (the instances tagged with the deployment). */
export function resizePlan(plan: Plan, live: LiveNode[]): ResizePlan {
  const liveNames = new Set(live.filter((node) => LIVE.has(node.state)).map((node) => node.name));
  const missing = (node: NodePlan) => !liveNames.has(node.name);
  const cassandra = plan.nodes.filter((node) => node.role === 'cassandra');
  const ringExists = cassandra.some((node) => !missing(node));
  const join = ringExists ? cassandra.filter(missing).map((node) => node.name) : [];
  const drain = surplusOf(plan, live, 'daemon');
  const decommission = surplusOf(plan, live, 'cassandra');
  const launch = plan.nodes.filter(missing).map((node) => node.name);
  return {
    deployment: plan.deployment,
    launch,
    join,
    cleanup: join.length > 0 ? cassandra.filter((node) => !missing(node)).map((node) => node.name) : [],
    drain,
    decommission,
    terminate: [...drain, ...decommission],
    reconfigure: launch.some((name) => !name.endsWith('-bastion')) || drain.length + decommission.length > 0,
    ring: cassandra.map((node, index) => ({
      name: node.name,
      token: cassandraToken(index, cassandra.length),
    })),
  };
}

/** The role of an instance from its Name tag, `<deployment>-<nickname>`; an unknown nickname stands for itself. */
function roleOfName(deployment: string, name: string): string {
  const nickname = name.startsWith(`${deployment}-`) ? name.slice(deployment.length + 1) : name;
  return roleOfNickname(nickname) ?? nickname;
}

/** The instances of an inventory as the resize plan reads them. */
export function liveNodesOf(items: InventoryItem[], deployment: string): LiveNode[] {
  return items
    .filter((item) => item.type === 'instance')
    .map((item) => ({
      name: item.name,
      role: roleOfName(deployment, item.name),
      state: item.state,
      instanceId: item.id,
    }));
}

/** Whether an inventory holds a deployment (a VPC or an instance not terminated), not just its kept images. */
export const holdsDeployment = (items: InventoryItem[]) =>
  items.some((item) => item.type === 'vpc' || (item.type === 'instance' && item.state !== 'terminated'));
