import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import type { NodePlan, Plan } from '../spec/plan.js';
import { DeploymentSpecSchema } from '../spec/schema.js';

/**
 * The SSM Command documents of `provisioning-docs/`: loading (YAML + inlined scripts) and the parameters each
 * document takes for a node of a plan. SSM cannot ship files with a command, so each document's runCommand holds a
 * `{{script:<path>}}` line that the loader replaces with the script, itself with `lib/common.sh` inlined.
 */

/** Every provisioning document, by name (the YAML file's base name and the SSM document name). */
export const PROVISIONING_DOCUMENTS = [
  'capi-bastion-install',
  'capi-bastion-configure',
  'capi-rabbitmq-install',
  'capi-rabbitmq-configure',
  'capi-prometheus-install',
  'capi-prometheus-configure',
  'capi-cassandra-install',
  'capi-cassandra-configure',
  'capi-daemon-install',
  'capi-daemon-configure',
  'capi-health-check',
] as const;

export type ProvisioningDocumentName = (typeof PROVISIONING_DOCUMENTS)[number];

/**
 * Where the YAML documents and their scripts live in the repository. A function, not a constant: a Lambda bundle
 * imports this module for `documentParameters` only, and must not resolve a path at load time.
 */
export function provisioningDocsDir(): string {
  return fileURLToPath(new URL('../../provisioning-docs/', import.meta.url));
}

const parameterSchema = z.strictObject({
  type: z.enum(['String', 'StringList']),
  description: z.string().min(1),
  default: z.string().optional(),
  // Anchored at both ends: an unanchored pattern accepts anything that merely contains a valid value.
  allowedPattern: z.string().regex(/^\^.*\$$/, 'must be anchored with ^ and $'),
  interpolationType: z.literal('ENV_VAR').optional(),
});

const stepSchema = z.strictObject({
  action: z.literal('aws:runShellScript'),
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  precondition: z
    .strictObject({ StringEquals: z.tuple([z.literal('platformType'), z.literal('Linux')]) })
    .optional(),
  inputs: z.strictObject({
    timeoutSeconds: z.number().int().min(1).max(172_800),
    runCommand: z.array(z.string()).min(1),
    workingDirectory: z.string().optional(),
  }),
});

const documentSchema = z.strictObject({
  schemaVersion: z.literal('2.2'),
  description: z.string().min(1),
  parameters: z.record(z.string().regex(/^[A-Za-z0-9]+$/), parameterSchema),
  mainSteps: z.array(stepSchema).min(1),
});

/** One parameter of a Command document (schema 2.2). */
export type SsmDocumentParameter = z.infer<typeof parameterSchema>;
/** One `aws:runShellScript` step. */
export type RunShellScriptStep = z.infer<typeof stepSchema>;
/** A Command document's content: what CDK's `CfnDocument.content` and the simulator take. */
export type SsmCommandDocument = z.infer<typeof documentSchema>;

const PLACEHOLDER = /^\{\{script:([A-Za-z0-9_./-]+\.sh)\}\}$/;
/** `. "…/common.sh" # capi:inline lib/common.sh`: sourced from disk, inlined in a document. */
const INLINE_MARKER = /^\s*(?:\.|source)\s.*#\s*capi:inline\s+([A-Za-z0-9_./-]+\.sh)\s*$/;

function readScript(scriptsDir: string, path: string): string[] {
  const full = normalize(join(scriptsDir, path));
  if (!full.startsWith(scriptsDir)) throw new Error(`script path ${path} leaves ${scriptsDir}`);
  return readFileSync(full, 'utf8').replace(/\n$/, '').split('\n');
}

/**
 * The lines of a script with its `capi:inline` libraries expanded (each library once per document) and the
 * shebang of inlined files dropped: the document's first runCommand line is the only one the kernel reads.
 */
function scriptLines(scriptsDir: string, path: string, inlined: Set<string>): string[] {
  return readScript(scriptsDir, path).flatMap((line, index) => {
    if (index === 0 && line.startsWith('#!')) return [];
    const library = INLINE_MARKER.exec(line)?.[1];
    if (!library) return [line];
    if (inlined.has(library)) return [];
    inlined.add(library);
    return [
      `# --- inlined ${library} ---`,
      ...scriptLines(scriptsDir, library, inlined),
      `# --- end ${library} ---`,
    ];
  });
}

function inlineScripts(document: SsmCommandDocument, scriptsDir: string): SsmCommandDocument {
  const inlined = new Set<string>();
  const mainSteps = document.mainSteps.map((step) => ({
    ...step,
    inputs: {
      ...step.inputs,
      runCommand: step.inputs.runCommand.flatMap((line) => {
        const script = PLACEHOLDER.exec(line.trim())?.[1];
        return script ? scriptLines(scriptsDir, script, inlined) : [line];
      }),
    },
  }));
  return { ...document, mainSteps };
}

/** Options of the loaders: tests point them at a copy of the documents. */
export interface LoadOptions {
  /** Directory of the `*.yaml` documents, with the scripts under `scripts/`. Default: `provisioning-docs/`. */
  dir?: string;
}

/** Loads one document: parses and validates its YAML, then inlines its scripts. */
export function loadDocument(name: ProvisioningDocumentName, options: LoadOptions = {}): SsmCommandDocument {
  const dir = options.dir ?? provisioningDocsDir();
  const raw = parse(readFileSync(join(dir, `${name}.yaml`), 'utf8'));
  const checked = documentSchema.safeParse(raw);
  if (!checked.success) {
    throw new Error(`provisioning-docs/${name}.yaml: ${z.prettifyError(checked.error)}`);
  }
  return inlineScripts(checked.data, normalize(join(dir, 'scripts/')));
}

/** Loads every provisioning document, by name. */
export function loadDocuments(
  options: LoadOptions = {},
): Record<ProvisioningDocumentName, SsmCommandDocument> {
  return Object.fromEntries(
    PROVISIONING_DOCUMENTS.map((name) => [name, loadDocument(name, options)]),
  ) as Record<ProvisioningDocumentName, SsmCommandDocument>;
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters

/** Software versions the documents install (the spec's `versions`). */
export type SoftwareVersions = z.output<typeof DeploymentSpecSchema.shape.versions>;

/** What a document's parameters need beyond the plan. Every field is optional. */
export interface DocumentExtras {
  /** The bastion's log volume: required by `capi-bastion-install`. */
  logVolumeId?: string;
  /** Versions to install; default: the plan's if it carries them, else the spec schema's defaults. */
  versions?: Partial<SoftwareVersions>;
  /** Capillaries release URL; default: the plan's if it carries one, else the spec schema's default. */
  capillariesReleaseUrl?: string;
  /** Address browsers use for the bastion; default: empty, and the bastion asks IMDS for its public IPv4. */
  publicAddress?: string;
}

/** Fields the plan does not carry (yet): taken from it when present, so a richer plan needs no change here. */
interface PlanSoftware {
  versions?: Partial<SoftwareVersions>;
  capillariesReleaseUrl?: string;
  allowedCidrs?: string[];
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

/** The operator allow-list: from the plan if it has one, else the sources of the bastion's public UI rule. */
function allowedCidrs(plan: Plan & PlanSoftware): string {
  if (plan.allowedCidrs?.length) return plan.allowedCidrs.join(',');
  const bastion = plan.securityGroups.find((group) => group.key === 'bastion');
  const cidrs = bastion?.rules.filter((rule) => rule.port === 80).map((rule) => rule.cidr) ?? [];
  return [...new Set(cidrs)].join(',');
}

const secretsSource = ({ plan }: ParameterContext) => ({
  DeploymentName: plan.deployment,
  Region: plan.region,
});
const cassandraHosts = ({ plan }: ParameterContext) => plan.cassandra.hosts.join(',');
const nodeExporter = ({ versions }: ParameterContext) => ({ NodeExporterVersion: versions.nodeExporter });
/** The Prometheus jobs of the plan that capi-prometheus-configure scrapes. */
const SCRAPED_JOBS: string[] = ['node', 'cassandra-jmx'];
const targetsOf = (plan: Plan, job: 'node' | 'cassandra-jmx') =>
  plan.prometheusTargets
    .filter((target) => target.job === job)
    .map((target) => target.target)
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
  'capi-bastion-configure': (ctx) => {
    requireRole(ctx, 'capi-bastion-configure', ['bastion']);
    return {
      ...secretsSource(ctx),
      AllowedCidrs: allowedCidrs(ctx.plan),
      CassandraHosts: cassandraHosts(ctx),
      RabbitmqIp: nodeOfRole(ctx.plan, 'rabbitmq').privateIp,
      PrometheusIp: nodeOfRole(ctx.plan, 'prometheus').privateIp,
      PublicAddress: ctx.extras.publicAddress ?? '',
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
    return { NodeTargets: targetsOf(ctx.plan, 'node'), JmxTargets: targetsOf(ctx.plan, 'cassandra-jmx') };
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
  // `Check` comes from the orchestration step; these make each check fail when the cluster is incomplete. Only the
  // jobs capi-prometheus-configure scrapes are expected up.
  'capi-health-check': ({ plan }) => ({
    ExpectedNodes: String(plan.cassandra.hosts.length),
    ExpectedTargets: String(
      plan.prometheusTargets.filter((target) => SCRAPED_JOBS.includes(target.job)).length,
    ),
  }),
};

const isDocument = (name: string): name is ProvisioningDocumentName =>
  (PROVISIONING_DOCUMENTS as readonly string[]).includes(name);

/**
 * The parameters of `document` for `node`, from the plan: non-secret values only (the nodes read their secrets
 * from Parameter Store). Every value is a one-element list, as SendCommand takes them. `capi-health-check` also
 * needs `Check`, which the caller adds. Empty values are left out so the document's default applies. Throws for an
 * unknown document or a node of the wrong role.
 */
export function documentParameters(
  plan: Plan,
  document: string,
  node: NodePlan,
  extras: DocumentExtras = {},
): Record<string, string[]> {
  if (!isDocument(document)) throw new Error(`unknown provisioning document ${document}`);
  const software = plan as Plan & PlanSoftware;
  const ctx: ParameterContext = {
    plan,
    node,
    extras,
    versions: {
      ...DeploymentSpecSchema.shape.versions.parse(undefined),
      ...software.versions,
      ...extras.versions,
    },
    // The documents take the URL without a trailing slash: they append /linux/<arch>/… themselves.
    releaseUrl: (
      extras.capillariesReleaseUrl ??
      software.capillariesReleaseUrl ??
      DeploymentSpecSchema.shape.capillariesReleaseUrl.parse(undefined)
    ).replace(/\/+$/, ''),
  };
  // An empty value is left out, so the document's default applies (SendCommand gets no empty strings).
  return Object.fromEntries(
    Object.entries(BUILDERS[document](ctx))
      .filter(([, value]) => value !== '')
      .map(([key, value]) => [key, [value]]),
  );
}
