import type { Role } from './spec/flavors.js';

/**
 * The cluster's logs in CloudWatch Logs: one log group per deployment, `/capideploy/<deployment>`, one stream per
 * node and source, `<node>/<source>` (`cass002/cassandra`). The CloudWatch agent on every node ships the files below
 * (provisioning-docs/capi-cloudwatch-agent.yaml writes its configuration from this table); local mode's simulated
 * nodes write the same streams; `capi-deploy logs` reads them; a failed provisioning step's cause names them.
 */

/** A kind of log on a node: where the agent reads it, and which nodes have it. */
export interface LogSource {
  source: string;
  /** The file the agent tails (glob); journald units instead where the software logs only there. */
  path: string;
  roles: readonly Role[] | 'all';
  what: string;
}

export const LOG_SOURCES: readonly LogSource[] = [
  {
    source: 'cassandra',
    path: '/var/log/cassandra/system.log',
    roles: ['cassandra'],
    what: "Cassandra's system log",
  },
  {
    source: 'cassandra-debug',
    path: '/var/log/cassandra/debug.log',
    roles: ['cassandra'],
    what: "Cassandra's debug log",
  },
  {
    source: 'rabbitmq',
    path: '/var/log/rabbitmq/rabbit@*.log',
    roles: ['rabbitmq'],
    what: 'the RabbitMQ broker log',
  },
  {
    source: 'capidaemon',
    path: '/var/log/capillaries/capidaemon.log',
    roles: ['daemon'],
    what: 'capidaemon (JSON lines)',
  },
  {
    source: 'webapi',
    path: '/var/log/capillaries/capiwebapi.log',
    roles: ['bastion'],
    what: 'the Capillaries webapi (JSON lines)',
  },
  {
    source: 'nginx-access',
    path: '/var/log/nginx/access.log',
    roles: ['bastion'],
    what: 'the nginx access log',
  },
  {
    source: 'nginx-error',
    path: '/var/log/nginx/error.log',
    roles: ['bastion'],
    what: 'the nginx error log',
  },
  {
    source: 'prometheus',
    path: '/var/log/prometheus/prometheus.log',
    roles: ['prometheus'],
    what: 'the Prometheus server',
  },
  {
    source: 'ssm',
    // The SSM agent keeps each command's output under its orchestration directory.
    path: '/var/lib/amazon/ssm/*/document/orchestration/*/awsrunShellScript/*/std*',
    roles: 'all',
    what: 'the output of the provisioning commands (SSM Run Command)',
  },
];

export const LOG_SOURCE_NAMES = LOG_SOURCES.map((entry) => entry.source);

/** Days CloudWatch Logs keeps the cluster's logs unless the spec says `logRetentionDays`. */
export const DEFAULT_LOG_RETENTION_DAYS = 30;

/** The values PutRetentionPolicy accepts. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const logGroupName = (deployment: string) => `/capideploy/${deployment}`;

export const logStreamName = (node: string, source: string) => `${node}/${source}`;

/** The node and source of a stream name, or null for a stream of another shape. */
export function parseLogStream(stream: string): { node: string; source: string } | null {
  const match = /^([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(stream);
  return match ? { node: match[1], source: match[2] } : null;
}

/** The sources a node of `role` has. */
export const sourcesOf = (role: Role) =>
  LOG_SOURCES.filter((entry) => entry.roles === 'all' || entry.roles.includes(role));

/** The software log that tells why a provisioning document failed (besides its own output, source `ssm`). */
export function sourceOfDocument(document: string): string {
  if (document.startsWith('capi-cassandra')) return 'cassandra';
  if (document.startsWith('capi-rabbitmq')) return 'rabbitmq';
  if (document.startsWith('capi-daemon')) return 'capidaemon';
  if (document.startsWith('capi-prometheus')) return 'prometheus';
  if (document.startsWith('capi-bastion')) return 'nginx-error';
  return 'ssm';
}

/** The `capi-deploy logs` command that shows a node's source (`--local` added for a local deployment). */
export function logsCommand(deployment: string, node: string, source: string): string {
  return `capi-deploy logs ${deployment} --node ${node} --source ${source}`;
}

/** Where a failed command's evidence is: for a cause's `details.logs` and its hint. */
export function commandEvidence(deployment: string, node: string, document: string) {
  const source = sourceOfDocument(document);
  return {
    group: logGroupName(deployment),
    streams: [logStreamName(node, 'ssm'), ...(source === 'ssm' ? [] : [logStreamName(node, source)])],
    command: logsCommand(deployment, node, source),
  };
}
