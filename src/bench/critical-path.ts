import { PHASE_NAMES, PHASES, type PhaseName } from '../core/phases.js';
import { LATENCY_SECONDS as L } from '../sim/latency.js';
import { DEFAULT_DOCUMENT_SECONDS, DOCUMENT_SECONDS } from '../sim/services/ssm.js';

/** How long one command of a phase takes from SendCommand to done: delivery plus its slowest document. */
function phaseSeconds(phase: PhaseName): number {
  const slowest = Math.max(
    ...PHASES[phase].map((step) => DOCUMENT_SECONDS[step.document] ?? DEFAULT_DOCUMENT_SECONDS),
  );
  return L.commandRegistered + L.commandDelivered + slowest;
}

/**
 * The shortest possible create under the simulator's latency model: what an orchestrator that never idles would
 * take, whatever the cluster size (every node works in parallel). The benchmark divides the measured virtual
 * time by this, so the ratio shows the workflow's own overhead (polling intervals, step ordering).
 *
 * Dependency chain: instances launch once their subnet (VPC available) and the instance profile (propagation)
 * exist, and run after `instanceRunning`; the NAT gateway starts with the VPC. SSM agents come online once an
 * instance runs and its subnet routes to the available NAT gateway. Then the provisioning phases run in order
 * (PHASE_NAMES is their workflow order).
 */
export function criticalPathSeconds(): number {
  const launchAt = Math.max(L.vpcAvailable, L.instanceProfilePropagation);
  const running = launchAt + L.instanceRunning;
  const natAvailable = L.vpcAvailable + L.natGatewayAvailable;
  const ssmOnline = Math.max(running, natAvailable) + L.ssmAgentOnline;
  return PHASE_NAMES.reduce((seconds, phase) => seconds + phaseSeconds(phase), ssmOnline);
}
