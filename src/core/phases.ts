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
}

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
  ],
  'configure-cassandra': [{ document: 'capi-cassandra-configure', roles: ['cassandra'] }],
  'cassandra-status': [check('cassandra', 'cassandra')],
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
} as const satisfies Record<string, readonly PhaseStep[]>;

export type PhaseName = keyof typeof PHASES;
export const PHASE_NAMES = Object.keys(PHASES) as PhaseName[];
