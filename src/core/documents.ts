import type { z } from 'zod';
import { logGroupName, sourcesOf } from './cluster-logs.js';
import { stripTrailingSlashes } from './parameter-rules.js';
import type { NodePlan, Plan, PrometheusTarget } from './spec/plan.js';
import type { DeploymentSpecSchema } from './spec/schema.js';

/**
 * The SSM Command documents of `provisioning-docs/` as the workflow knows them: their names, and the parameters
 * each takes for a node of a plan. Loading the YAML files is `src/provisioning/documents.ts`.
 */

/** Every provisioning document, by name (the YAML file's base name and the SSM document name). */
const PROVISIONING_DOCUMENTS = [
  'capi-bastion-install',
  'capi-bastion-configure',
  'capi-rabbitmq-install',
  'capi-rabbitmq-configure',
  'capi-prometheus-install',
  'capi-prometheus-configure',
  'capi-cassandra-install',
  'capi-cassandra-configure',
  'capi-cassandra-decommission',
  'capi-cassandra-cleanup',
  'capi-daemon-install',
  'capi-daemon-configure',
  'capi-cloudwatch-agent',
  'capi-health-check',
  'capi-services-stop',
  'capi-services-start',
] as const;

type ProvisioningDocumentName = (typeof PROVISIONING_DOCUMENTS)[number];

/** Software versions the documents install (the spec's `versions`). */
type SoftwareVersions = z.output<typeof DeploymentSpecSchema.shape.versions>;

/** What a document's parameters need beyond the plan. Every field is optional. */
interface DocumentExtras {
  /** The bastion's log volume: required by `capi-bastion-install` and `capi-bastion-configure`. */
  logVolumeId?: string;
  /** Versions to install instead of the plan's. */
  versions?: Partial<SoftwareVersions>;
  /** Capillaries release URL instead of the plan's. */
  capillariesReleaseUrl?: string;
  /** Address browsers use for the bastion; default: empty, and the bastion asks IMDS for its public IPv4. */
  publicAddress?: string;
}

interface ParameterContext {
  plan: Plan;
  node: NodePlan;
  extras: DocumentExtras;
  versions: SoftwareVersions;
  releaseUrl: string;
}

const nodeOfRole = (plan: Plan, role: NodePlan['role']): NodePlan => {
  const node = plan.nodes.find((candidate) => candidate.role === role);
  if (!node) throw new Error(`the plan of ${plan.deployment} has no ${role} node`);
  return node;
};

const secretsSource = ({ plan }: ParameterContext) => ({
  DeploymentName: plan.deployment,
  Region: plan.region,
});
const cassandraHosts = ({ plan }: ParameterContext) => plan.cassandra.hosts.join(',');
const nodeExporter = ({ versions }: ParameterContext) => ({ NodeExporterVersion: versions.nodeExporter });
/** The Prometheus jobs of the plan that capi-prometheus-configure scrapes: all of them. */
const SCRAPED_JOBS: string[] = ['node', 'cassandra-jmx', 'capidaemon', 'capiwebapi', 'rabbitmq'];
const targetsOf = (plan: Plan, job: PrometheusTarget['job']) =>
  plan.prometheusTargets
    .filter((target) => target.job === job)
    .map((target) => target.target)
    .join(',');

/**
 * The `LogFiles` of capi-cloudwatch-agent for a node of `role`: its sources (src/core/cluster-logs.ts) as
 * `source=path` pairs, comma-separated. The same for every node of the role, so one command per role.
 */
const logFilesOf = (role: NodePlan['role']) =>
  sourcesOf(role)
    .map((entry) => `${entry.source}=${entry.path}`)
    .join(',');

function requireRole(ctx: ParameterContext, document: string, roles: NodePlan['role'][]): void {
  if (!roles.includes(ctx.node.role)) {
    throw new Error(`${document} runs on ${roles.join(' or ')} nodes, not on ${ctx.node.nickname}`);
  }
}

const BUILDERS: Record<ProvisioningDocumentName, (ctx: ParameterContext) => Record<string, string>> = {
  'capi-bastion-install': (ctx) => {
    requireRole(ctx, 'capi-bastion-install', ['bastion']);
    if (!ctx.extras.logVolumeId)
      throw new Error('capi-bastion-install needs the log volume id (extras.logVolumeId)');
    return {
      ...nodeExporter(ctx),
      CapillariesReleaseUrl: ctx.releaseUrl,
      LogVolumeId: ctx.extras.logVolumeId,
    };
  },
  // Configure mounts the log volume too: a bastion restored from an image (create --from-images) skips install.
  'capi-bastion-configure': (ctx) => {
    requireRole(ctx, 'capi-bastion-configure', ['bastion']);
    if (!ctx.extras.logVolumeId)
      throw new Error('capi-bastion-configure needs the log volume id (extras.logVolumeId)');
    return {
      ...secretsSource(ctx),
      AllowedCidrs: ctx.plan.allowedCidrs.join(','),
      CassandraHosts: cassandraHosts(ctx),
      RabbitmqIp: nodeOfRole(ctx.plan, 'rabbitmq').privateIp,
      PrometheusIp: nodeOfRole(ctx.plan, 'prometheus').privateIp,
      PublicAddress: ctx.extras.publicAddress ?? '',
      LogVolumeId: ctx.extras.logVolumeId,
    };
  },
  'capi-rabbitmq-install': (ctx) => {
    requireRole(ctx, 'capi-rabbitmq-install', ['rabbitmq']);
    return { RabbitmqVersion: ctx.versions.rabbitmq, ...nodeExporter(ctx) };
  },
  'capi-rabbitmq-configure': (ctx) => {
    requireRole(ctx, 'capi-rabbitmq-configure', ['rabbitmq']);
    return secretsSource(ctx);
  },
  'capi-prometheus-install': (ctx) => {
    requireRole(ctx, 'capi-prometheus-install', ['prometheus']);
    return { PrometheusVersion: ctx.versions.prometheus, ...nodeExporter(ctx) };
  },
  'capi-prometheus-configure': (ctx) => {
    requireRole(ctx, 'capi-prometheus-configure', ['prometheus']);
    return {
      NodeTargets: targetsOf(ctx.plan, 'node'),
      JmxTargets: targetsOf(ctx.plan, 'cassandra-jmx'),
      DaemonTargets: targetsOf(ctx.plan, 'capidaemon'),
      WebapiTargets: targetsOf(ctx.plan, 'capiwebapi'),
      RabbitmqTargets: targetsOf(ctx.plan, 'rabbitmq'),
    };
  },
  'capi-cassandra-install': (ctx) => {
    requireRole(ctx, 'capi-cassandra-install', ['cassandra']);
    return {
      CassandraVersion: ctx.versions.cassandra,
      JmxExporterVersion: ctx.versions.jmxExporter,
      ...nodeExporter(ctx),
    };
  },
  'capi-cassandra-configure': (ctx) => {
    requireRole(ctx, 'capi-cassandra-configure', ['cassandra']);
    // The same for every node (one command per batch): a node's token and role follow from its place in Seeds.
    return {
      ClusterName: ctx.plan.deployment,
      Seeds: ctx.plan.cassandra.hosts.join(','),
      ClusterSize: String(ctx.plan.cassandra.hosts.length),
      ...secretsSource(ctx),
    };
  },
  // Resize: a removed node leaves the ring. It runs on a node the plan no longer has, so nothing comes from the plan;
  // the node finds itself in the ring by its own address.
  'capi-cassandra-decommission': (ctx) => {
    requireRole(ctx, 'capi-cassandra-decommission', ['cassandra']);
    return {};
  },
  // Resize: after nodes joined, the staying nodes drop what they no longer own; once per ring size.
  'capi-cassandra-cleanup': (ctx) => {
    requireRole(ctx, 'capi-cassandra-cleanup', ['cassandra']);
    return { ClusterSize: String(ctx.plan.cassandra.hosts.length) };
  },
  'capi-daemon-install': (ctx) => {
    requireRole(ctx, 'capi-daemon-install', ['daemon']);
    return { CapillariesReleaseUrl: ctx.releaseUrl, ...nodeExporter(ctx) };
  },
  'capi-daemon-configure': (ctx) => {
    requireRole(ctx, 'capi-daemon-configure', ['daemon']);
    return {
      ...secretsSource(ctx),
      CassandraHosts: cassandraHosts(ctx),
      RabbitmqIp: nodeOfRole(ctx.plan, 'rabbitmq').privateIp,
      ThreadPoolSize: String(ctx.plan.daemon.threadPoolSize),
      WriterWorkers: String(ctx.plan.daemon.dbWriters),
    };
  },
  // Every role; the node's name (its stream prefix) the script reads from its Name tag in the instance metadata.
  'capi-cloudwatch-agent': ({ plan, node }) => ({
    LogGroupName: logGroupName(plan.deployment),
    LogFiles: logFilesOf(node.role),
  }),
  // `Check` comes from the orchestration step; these make each check fail when the cluster is incomplete. Only the
  // jobs capi-prometheus-configure scrapes are expected up.
  'capi-health-check': ({ plan }) => ({
    ExpectedNodes: String(plan.cassandra.hosts.length),
    ExpectedTargets: String(
      plan.prometheusTargets.filter((target) => SCRAPED_JOBS.includes(target.job)).length,
    ),
  }),
  // stop-deployment and start-deployment: which services of the node to stop or start.
  'capi-services-stop': ({ node }) => ({ Role: node.role }),
  'capi-services-start': ({ node }) => ({ Role: node.role }),
};

const isDocument = (name: string): name is ProvisioningDocumentName =>
  (PROVISIONING_DOCUMENTS as readonly string[]).includes(name);

/**
 * The parameters of `document` for `node`, from the plan: non-secret values only (the nodes read their secrets
 * from Parameter Store). Every value is a one-element list, as SendCommand takes them. `capi-health-check` also
 * needs `Check`, which the caller adds. Empty values are left out so the document's default applies. Throws for an
 * unknown document or a node of the wrong role.
 */
function documentParameters(
  plan: Plan,
  document: string,
  node: NodePlan,
  extras: DocumentExtras = {},
): Record<string, string[]> {
  if (!isDocument(document)) throw new Error(`unknown provisioning document ${document}`);
  const ctx: ParameterContext = {
    plan,
    node,
    extras,
    versions: { ...plan.versions, ...extras.versions },
    releaseUrl: stripTrailingSlashes(extras.capillariesReleaseUrl ?? plan.capillariesReleaseUrl),
  };
  // An empty value is left out, so the document's default applies (SendCommand gets no empty strings).
  return Object.fromEntries(
    Object.entries(BUILDERS[document](ctx))
      .filter(([, value]) => value !== '')
      .map(([key, value]) => [key, [value]]),
  );
}

export type { DocumentExtras, ProvisioningDocumentName, SoftwareVersions };
export { documentParameters, PROVISIONING_DOCUMENTS };
