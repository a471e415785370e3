import type { Role } from './spec/flavors.js';

/** One SSM document run on every node of some roles (or one node, for checks). */
export interface PhaseStep {
  document: string;
  roles: Role[];
  /** Only the first node of the role (health checks ask one node for the whole cluster). */
  firstNodeOnly?: boolean;
  /** Extra parameters of this step, e.g. the health check to run. */
  parameters?: Record<string, string[]>;
  /** Health checks always run: they never skip a node that passed before. */
  always?: boolean;
  /** Day-2 steps (stop): nodes whose instance is not running are skipped, not an error. */
  runningOnly?: boolean;
  /**
   * Resize: the step runs on the deployment's live instances of its roles that the plan no longer has (removed
   * daemons to drain, removed Cassandra nodes to decommission), instead of the planned nodes.
   */
  surplus?: boolean;
}

/** A day-2 step of `capi-services-stop` or `capi-services-start`: runs every time, on the running nodes. */
const service = (document: string, roles: Role[]): PhaseStep => ({
  document,
  roles,
  always: true,
  runningOnly: true,
});

const check = (name: string, role: Role): PhaseStep => ({
  document: 'capi-health-check',
  roles: [role],
  firstNodeOnly: true,
  parameters: { Check: [name] },
  always: true,
});

/**
 * The provisioning order (capideploy-spec §8.1.6): install everywhere at once; configure and start Cassandra;
 * once every node is UN, configure the services that need it; then verify the whole cluster.
 */
export const PHASES = {
  install: [
    { document: 'capi-bastion-install', roles: ['bastion'] },
    { document: 'capi-rabbitmq-install', roles: ['rabbitmq'] },
    { document: 'capi-prometheus-install', roles: ['prometheus'] },
    { document: 'capi-cassandra-install', roles: ['cassandra'] },
    { document: 'capi-daemon-install', roles: ['daemon'] },
    // The same document on every role, with the role's log files: one SendCommand per role (sendPhase groups the
    // nodes of a step by identical parameters).
    {
      document: 'capi-cloudwatch-agent',
      roles: ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'],
    },
  ],
  'configure-cassandra': [{ document: 'capi-cassandra-configure', roles: ['cassandra'] }],
  'cassandra-status': [check('cassandra', 'cassandra')],
  // Between two changes of a resize: every listed node UN and every range owned, whatever the count so far.
  'ring-status': [
    { ...check('cassandra', 'cassandra'), parameters: { Check: ['cassandra'], ExpectedNodes: ['1'] } },
  ],
  'configure-services': [
    { document: 'capi-rabbitmq-configure', roles: ['rabbitmq'] },
    { document: 'capi-prometheus-configure', roles: ['prometheus'] },
    { document: 'capi-daemon-configure', roles: ['daemon'] },
    { document: 'capi-bastion-configure', roles: ['bastion'] },
  ],
  'health-checks': [
    check('cassandra', 'cassandra'),
    check('rabbitmq', 'rabbitmq'),
    check('webapi', 'bastion'),
    check('ui', 'bastion'),
    check('prometheus', 'prometheus'),
  ],
  // stop-deployment (src/asl/stop-deployment.ts): the services stop in order, Cassandra last, after nodetool drain.
  'stop-applications': [service('capi-services-stop', ['daemon', 'bastion'])],
  'stop-broker': [service('capi-services-stop', ['rabbitmq', 'prometheus'])],
  'stop-cassandra': [service('capi-services-stop', ['cassandra'])],
  // start-deployment: Cassandra's instance-store data is gone after a stop; each node is reconfigured (new disk,
  // formatted and mounted) and started again, then the other services start and the health checks run.
  'prepare-cassandra': [service('capi-services-start', ['cassandra'])],
  'reconfigure-cassandra': [{ document: 'capi-cassandra-configure', roles: ['cassandra'], always: true }],
  'start-services': [service('capi-services-start', ['rabbitmq', 'prometheus', 'daemon', 'bastion'])],
  // Resize (create-deployment re-applied with another spec, src/core/resize.ts). A new Cassandra node joins a running
  // ring by bootstrapping (streaming its range from its neighbour), one node at a time: the send names the node.
  'join-cassandra': [
    { document: 'capi-cassandra-configure', roles: ['cassandra'], parameters: { Join: ['true'] } },
  ],
  // A removed Cassandra node leaves with `nodetool decommission` (streaming its data to the node that takes over its
  // range), one at a time; it is tagged once done, so a re-run does not decommission it again.
  'decommission-cassandra': [
    { document: 'capi-cassandra-decommission', roles: ['cassandra'], surplus: true },
  ],
  // After the ring changed, every node drops the data of the ranges it no longer owns (runs once per ring size).
  'cleanup-cassandra': [{ document: 'capi-cassandra-cleanup', roles: ['cassandra'] }],
  // A removed daemon stops capidaemon gracefully before its instance goes: unacknowledged messages are requeued.
  'drain-daemons': [{ ...service('capi-services-stop', ['daemon']), surplus: true }],
} as const satisfies Record<string, readonly PhaseStep[]>;

export type PhaseName = keyof typeof PHASES;
export const PHASE_NAMES = Object.keys(PHASES) as PhaseName[];

/**
 * SendCommand's TimeoutSeconds, the delivery timeout: "If this time is reached and the command hasn't already
 * started running, it won't run" (SDK v3 SendCommandRequest.TimeoutSeconds; aws-behaviour-2.md, Run Command).
 */
export const COMMAND_DELIVERY_SECONDS = 600;

/**
 * Each document's execution timeout: the sum of its steps' `timeoutSeconds` in provisioning-docs/ (the document's
 * own executionTimeout; test/asl/bounded-waits.test.ts keeps the two equal).
 */
export const DOCUMENT_TIMEOUT_SECONDS: Readonly<Record<string, number>> = {
  'capi-bastion-install': 3600,
  'capi-bastion-configure': 900,
  'capi-rabbitmq-install': 3600,
  'capi-rabbitmq-configure': 900,
  'capi-prometheus-install': 1800,
  'capi-prometheus-configure': 600,
  'capi-cassandra-install': 3600,
  // A join (resize) streams the node's range for hours; so does a decommission; cleanup rewrites the SSTables.
  'capi-cassandra-configure': 21600,
  'capi-cassandra-decommission': 21600,
  'capi-cassandra-cleanup': 10800,
  'capi-daemon-install': 2400,
  'capi-daemon-configure': 600,
  'capi-cloudwatch-agent': 600,
  'capi-health-check': 300,
  'capi-services-stop': 900,
  'capi-services-start': 600,
};

/** Slack after both timeouts for SSM to report the terminal status (the agent's report, status propagation). */
export const COMMAND_STATUS_MARGIN_SECONDS = 300;

/**
 * How long a phase's commands may take before one that has not finished is a CommandTimedOut: SSM itself ends a
 * command that was not delivered by TimeoutSeconds + executionTimeout ("Pending becomes Delivery Timed Out if the
 * agent does not receive the command within Timeout (seconds) plus the executionTimeout", monitor-commands doc,
 * aws-behaviour-2.md), so past that plus a margin nothing terminal is coming.
 */
export function phaseBoundSeconds(phase: PhaseName): number {
  const longest = Math.max(
    ...(PHASES[phase] as readonly PhaseStep[]).map((step) => DOCUMENT_TIMEOUT_SECONDS[step.document] ?? 3600),
  );
  return COMMAND_DELIVERY_SECONDS + longest + COMMAND_STATUS_MARGIN_SECONDS;
}

/** The poll rounds of a phase's wait loop that cover {@link phaseBoundSeconds} at `waitSeconds` per round. */
export const phaseMaxRounds = (phase: PhaseName, waitSeconds: number) =>
  Math.ceil(phaseBoundSeconds(phase) / waitSeconds);
