import { PHASES, type PhaseName } from '../core/phases.js';
import { CALL_LATENCY, LATENCY_SECONDS as L } from '../sim/latency.js';
import { DEFAULT_DOCUMENT_SECONDS, DOCUMENT_SECONDS } from '../sim/services/ssm.js';
import { ACTION_BUCKETS, RESOURCE_BUCKETS } from '../sim/throttle.js';

/** The create's provisioning phases, in workflow order (PHASES also holds day-2 phases). */
export const CREATE_PHASES: readonly PhaseName[] = [
  'install',
  'configure-cassandra',
  'cassandra-status',
  'configure-services',
  'health-checks',
];

/** Nominal (jitter-free) time of one call of a family, for `items` instances. */
const call = (family: keyof typeof CALL_LATENCY, items = 0) => {
  const entry: { base: number; perItem?: number } = CALL_LATENCY[family];
  return entry.base + (entry.perItem ?? 0) * items;
};

/** How long one command of a phase takes from SendCommand to done: the call, delivery, its slowest document. */
function phaseSeconds(phase: PhaseName): number {
  const slowest = Math.max(
    ...PHASES[phase].map((step) => DOCUMENT_SECONDS[step.document] ?? DEFAULT_DOCUMENT_SECONDS),
  );
  // The command is sent (one call) and seen done (one read).
  return call('ssmSendCommand', 1) + L.commandRegistered + L.commandDelivered + slowest + call('ssmRead');
}

/**
 * The earliest second the last of `instances` RunInstances calls (one per node: each has its own private IP) can
 * be admitted after the first, under EC2's request bucket (5, refilled 2 a second) and resource bucket (1,000
 * instances, 2 a second), both full at the start (src/sim/throttle.ts).
 */
export function launchFloorSeconds(instances: number): number {
  const request = ACTION_BUCKETS.RunInstances;
  const resource = RESOURCE_BUCKETS.RunInstances;
  const byRequests = Math.max(0, instances - request.max) / request.refillPerSecond;
  const byResources = Math.max(0, instances - resource.max) / resource.refillPerSecond;
  return Math.max(byRequests, byResources);
}

/**
 * The shortest possible create of N Cassandra nodes and N daemons under the simulator's models: what an
 * orchestrator that never idles would take, every node working in parallel, every call at its nominal time
 * (CALL_LATENCY without jitter) and EC2's RunInstances rate limit obeyed. The benchmark divides the measured virtual
 * time by this, so the ratio shows the workflow's own overhead (polling intervals, step ordering, Lambda overhead).
 *
 * Dependency chain: the VPC (CreateVpc, available after `vpcAvailable`), then its subnet and security groups (one
 * call each, the ingress rules one more); the instance role and profile (CreateRole, CreateInstanceProfile,
 * AddRoleToInstanceProfile, then `instanceProfilePropagation`). Instances launch once both exist; the last one is
 * admitted `launchFloorSeconds` after the first, answers after its RunInstances time and runs after
 * `instanceRunning`. The NAT gateway (AllocateAddress, then CreateNatGateway once the public subnet exists) is
 * available after `natGatewayAvailable`, then the private route (one call). SSM agents come online once an instance
 * runs and routes to the NAT gateway. Then the provisioning phases run in order.
 */
export function criticalPathSeconds(size: number): number {
  const instances = 2 * size + 3;
  const vpc = call('ec2Write') + L.vpcAvailable;
  const subnet = vpc + call('ec2Write');
  const securityGroups = subnet + 2 * call('ec2Write');
  const profile = 3 * call('iamWrite') + L.instanceProfilePropagation;
  const launchAt = Math.max(securityGroups, profile);
  const running = launchAt + launchFloorSeconds(instances) + call('ec2RunInstances', 1) + L.instanceRunning;
  const natAvailable =
    Math.max(subnet, call('ec2Write')) + call('ec2Write') + L.natGatewayAvailable + call('ec2Write');
  const ssmOnline = Math.max(running, natAvailable) + L.ssmAgentOnline;
  return CREATE_PHASES.reduce((seconds, phase) => seconds + phaseSeconds(phase), ssmOnline);
}
