import { z } from 'zod';
import { DEFAULT_LOG_RETENTION_DAYS, RETENTION_DAYS } from '../cluster-logs.js';
import { CUSTOMER_NAME_RULE, CUSTOMERS_PATH, INLINE_EXTERNAL_ID_MESSAGE } from '../customers.js';
import { type ParameterRule, RULES, ruleRegExp, SPEC_RELEASE_URL } from '../parameter-rules.js';
import {
  type Arch,
  FLAVORS,
  hasNvmeInstanceStore,
  instanceTypeArch,
  type RoleInstanceTypes,
} from './flavors.js';
import { parseCidr } from './ipv4.js';
import { PUBLIC_PORTS } from './ports.js';

/**
 * A string that follows a parameter rule (src/core/parameter-rules.ts). Fields that become document parameters use
 * these, so a value SSM would refuse is refused here first, before any AWS call.
 */
const ruled = (rule: ParameterRule) => z.string().regex(ruleRegExp(rule), `must be ${rule.description}`);

/** The deployment name whose secrets path would be the customers registry's. */
const RESERVED_DEPLOYMENT_NAME = CUSTOMERS_PATH.split('/')[2];

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const instanceType = z.string().regex(INSTANCE_TYPE, 'must be an EC2 instance type such as c7g.large');

/**
 * Bounds that keep a valid spec within what its consumers carry. The spec is the input of the create-deployment
 * execution and is passed, whole, to every state beside the steps' results: Step Functions limits the input and
 * output of a task, state or execution to 262,144 bytes (256 KiB) of UTF-8, and fails a larger one with
 * States.DataLimitExceeded (https://docs.aws.amazon.com/step-functions/latest/dg/limits.html,
 * reference/aws-facts.md §1). A spec's JSON may take at most an eighth of it, leaving the rest to the results,
 * which stay a few KiB whatever the fleet size (commands are per role or batch: 3.3 KB measured in local mode with
 * 100 Cassandra nodes, as with 4). Each list has its own cap, well inside the byte limit (test/spec/rules.test.ts),
 * so a spec too large is refused for the field that makes it so whenever a list does.
 */
export const SPEC_LIMITS = {
  /** The spec's JSON, in UTF-8 bytes. */
  specBytes: 32 * 1024,
  /** The Step Functions payload limit per state, in bytes. */
  stateBytes: 256 * 1024,
  /**
   * allowedCidrs: each CIDR is one bastion security-group rule per public port (plus the node exporter's), and
   * EC2 holds at most 1,000 rules in a security group (rules per group × groups per interface ≤ 1,000). The
   * adjustable quota (60 by default) is the preflight's to check.
   */
  allowedCidrs: Math.floor((1000 - 1) / PUBLIC_PORTS.length),
  /**
   * s3Buckets: the instance role's inline policy lists each bucket twice (bucket and objects), about 175
   * characters for the longest names, and IAM allows 10,240 characters of inline policy per role; a change of
   * buckets holds the old and the new policy at once, so 20 keeps the worst case under half.
   */
  s3Buckets: 20,
} as const;

const ROLES = [
  'cassandra',
  'daemon',
  'rabbitmq',
  'prometheus',
  'bastion',
] as const satisfies readonly (keyof RoleInstanceTypes)[];

const ARCH_WORDS: Record<Arch, string> = { arm64: 'arm64 (Graviton)', amd64: 'amd64 (Intel or AMD)' };

function archMismatch(type: string, arch: Arch): string {
  return `must be an ${ARCH_WORDS[arch]} type like the flavor's arch: ${type} is ${ARCH_WORDS[instanceTypeArch(type)]}`;
}

const explicitFlavor = z
  .strictObject({
    arch: z.enum(['amd64', 'arm64']),
    cassandraCores: z
      .number()
      .int()
      .min(1)
      .max(896, 'must be at most 896: no EC2 instance type has more vCPUs')
      .describe('cores of a Cassandra node; drives daemon tuning'),
    cassandra: instanceType
      .refine((type) => !INSTANCE_TYPE.test(type) || hasNvmeInstanceStore(type), {
        message:
          'must have NVMe instance store, where Cassandra keeps its data: a type with the "d" capability ' +
          '(c7gd, c5ad, m6id, r6gd, ...) or a storage-optimised i3, i4i, i4g, im4gn, is4gen or d3 type',
      })
      .describe('must have NVMe instance store (a "d" type such as c7gd)'),
    daemon: instanceType,
    rabbitmq: instanceType,
    prometheus: instanceType,
    bastion: instanceType,
  })
  .superRefine((flavor, ctx) => {
    // Every instance runs the one Ubuntu AMI of the flavor's architecture.
    if (!Object.hasOwn(ARCH_WORDS, flavor.arch)) return;
    for (const role of ROLES) {
      const type = flavor[role];
      if (!INSTANCE_TYPE.test(type) || instanceTypeArch(type) === flavor.arch) continue;
      ctx.addIssue({ code: 'custom', path: [role], message: archMismatch(type, flavor.arch) });
    }
  })
  .describe(
    "explicit instance types per role, all of the flavor's arch (arm64: Graviton types, with the g capability such as c7g)",
  );

const flavorName = z
  .string()
  .refine((name) => name in FLAVORS, {
    message: `unknown flavor; use one of ${Object.keys(FLAVORS).join(', ')} or an object of instance types per role`,
  })
  .describe('capideploy flavor aws.<arch>.<family>.<cassandra cores>');

const versions = z
  .strictObject({
    cassandra: ruled(RULES.cassandraVersion).default('5.0'),
    rabbitmq: ruled(RULES.rabbitmqVersion).default('4.1'),
    prometheus: ruled(RULES.prometheusVersion).default('3.5.0'),
    nodeExporter: ruled(RULES.nodeExporterVersion).default('1.9.1'),
    jmxExporter: ruled(RULES.jmxExporterVersion).default('1.3.0'),
  })
  .describe('software versions installed on the nodes');

const CIDR = ruleRegExp(RULES.cidr);

/** An allow-list CIDR: the rule's form, and its network address, since EC2 refuses a rule with host bits set. */
const cidr = ruled(RULES.cidr).superRefine((value, ctx) => {
  if (!CIDR.test(value)) return;
  const { network, hostBits } = parseCidr(value);
  if (hostBits)
    ctx.addIssue({
      code: 'custom',
      message: `must be the network address ${network}: ${value} has host bits set`,
    });
});

/** A valid CIDR of the whole IPv4 internet: 0.0.0.0/0. */
const isWorld = (value: string) =>
  CIDR.test(value) && parseCidr(value).prefix === 0 && !parseCidr(value).hostBits;

/** `80, 6544, 9090 and 15672`. */
const portList = () => {
  const ports = PUBLIC_PORTS.map(({ port }) => String(port));
  return `${ports.slice(0, -1).join(', ')} and ${ports.at(-1)}`;
};

const VPC_CIDR = '10.5.0.0/16';

/** The message of a vpcCidr other than 10.5.0.0/16, naming the network address of one with host bits set. */
function vpcCidrMessage(input: unknown): string {
  const fixed = `must be ${VPC_CIDR}, fixed as in capideploy so private IPs stay predictable`;
  if (typeof input !== 'string' || !CIDR.test(input)) return fixed;
  const { network, hostBits } = parseCidr(input);
  if (!hostBits) return fixed;
  return network === VPC_CIDR
    ? `must be the network address ${VPC_CIDR}: ${input} has host bits set`
    : `${fixed} (${input} has host bits set: its network address is ${network})`;
}

/** The deployment spec: the single input of create-deployment. No secrets here; the workflow generates them. */
export const DeploymentSpecSchema = z
  .strictObject({
    name: ruled(RULES.deploymentName).describe(
      'deployment name, used in every resource name and the DeploymentName tag; not `customers`, whose secrets path is the customers registry',
    ),
    region: ruled(RULES.region).describe('AWS region'),
    availabilityZone: ruled(RULES.availabilityZone).describe('the one availability zone of both subnets'),
    flavor: z
      .union([flavorName, explicitFlavor], {
        error: 'must be a flavor name such as aws.arm64.c7g.8 or an object of instance types per role',
      })
      .describe('instance sizes: a capideploy flavor name or types per role'),
    cassandraNodes: z
      .number()
      .int()
      .min(1, 'must be at least 1')
      .max(1000)
      .describe('number of Cassandra nodes'),
    daemons: z
      .number()
      .int()
      .min(1, 'must be at least 1')
      .max(1000)
      .describe('number of Capillaries daemons'),
    allowedCidrs: z
      .array(cidr)
      .min(1, 'list at least one CIDR allowed to reach the bastion')
      .max(
        SPEC_LIMITS.allowedCidrs,
        `list at most ${SPEC_LIMITS.allowedCidrs} CIDRs: each opens ${PUBLIC_PORTS.length} ports in the bastion security group, which EC2 limits to 1,000 rules`,
      )
      .superRefine((cidrs, ctx) => {
        // EC2 refuses a security group rule that repeats another.
        cidrs.forEach((value, index) => {
          const first = cidrs.indexOf(value);
          if (first < index) {
            ctx.addIssue({
              code: 'custom',
              path: [index],
              message: `repeats allowedCidrs.${first}; list each CIDR once`,
            });
          }
        });
      })
      .describe(
        'nginx and security-group allow-list for the public ports of the bastion: network addresses ' +
          '(203.0.113.0/24, not 203.0.113.7/24), each once; 0.0.0.0/0 only with allowWorld',
      ),
    allowWorld: z
      .boolean()
      .default(false)
      .describe(
        `true to accept 0.0.0.0/0 in allowedCidrs, which opens the bastion's ports ${PUBLIC_PORTS.map(({ port }) => port).join(', ')} to the whole internet; validate and create then print a warning`,
      ),
    capillariesReleaseUrl: z
      .string()
      .refine((url) => url.startsWith('https://'), { message: 'must be an https URL', abort: true })
      .regex(SPEC_RELEASE_URL, `must be ${RULES.httpsUrl.description}; a trailing / is ignored`)
      .default('https://capillaries-release.s3.us-east-1.amazonaws.com/latest')
      .describe('where the Capillaries binaries and UI are downloaded from'),
    s3Buckets: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'))
      .max(
        SPEC_LIMITS.s3Buckets,
        `list at most ${SPEC_LIMITS.s3Buckets} buckets: the instance role's inline policy names each, and IAM limits a role's inline policies to 10,240 characters`,
      )
      .default([])
      .describe('buckets the daemons and webapi may read and write'),
    vpcCidr: z
      .literal(VPC_CIDR, { error: (issue) => vpcCidrMessage(issue?.input) })
      .default(VPC_CIDR)
      .describe('the VPC block; fixed as in capideploy, so IPs stay predictable'),
    rootVolumeGiB: z.number().int().min(8).max(1024).default(20).describe('encrypted gp3 root volume size'),
    logVolumeGiB: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(10)
      .describe('encrypted gp3 bastion log volume size'),
    versions: versions.default({
      cassandra: '5.0',
      rabbitmq: '4.1',
      prometheus: '3.5.0',
      nodeExporter: '1.9.1',
      jmxExporter: '1.3.0',
    }),
    customer: ruled(CUSTOMER_NAME_RULE)
      .optional()
      .describe(
        'cross-account mode: a customer registered with `capi-deploy customers add`; every call runs under its role, assumed with the external id the registry holds',
      ),
    // Refused (superRefine below): the role ARN and external id in clear were a confused-deputy hole. Kept in the
    // schema as "anything", so the API's model lets it through to the function, whose message says what to do.
    assumeRole: z.unknown().optional().describe(`refused: ${INLINE_EXTERNAL_ID_MESSAGE}`),
    onFailure: z
      .enum(['keep', 'delete'])
      .default('keep')
      .describe('what create does after a failure: keep resources to fix and resume, or delete them'),
    logRetentionDays: z
      .union(RETENTION_DAYS.map((days) => z.literal(days)))
      .default(DEFAULT_LOG_RETENTION_DAYS)
      .describe(
        `days CloudWatch Logs keeps the cluster's logs (log group /capideploy/<name>); one of ${RETENTION_DAYS.join(', ')}`,
      ),
    keepLogs: z
      .boolean()
      .default(false)
      .describe(
        "true: delete leaves the cluster's log group /capideploy/<name> (and its retention) in place",
      ),
    fromImages: ruled(RULES.deploymentName)
      .optional()
      .describe(
        'restore: a deployment (often this one) whose images, made by `capi-deploy images create`, the nodes are launched from, each from the image of the node with its nickname; install is skipped and Cassandra starts with an empty ring. `capi-deploy create --from-images` sets it',
      ),
  })
  .superRefine((spec, ctx) => {
    if (spec.assumeRole !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['assumeRole'], message: INLINE_EXTERNAL_ID_MESSAGE });
    }
    // The registry's entries live under /capideploy/customers/, beside each deployment's /capideploy/<name>/ secrets.
    if (spec.name === RESERVED_DEPLOYMENT_NAME) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `${RESERVED_DEPLOYMENT_NAME} is reserved: its secrets path /capideploy/${RESERVED_DEPLOYMENT_NAME}/ is the customers registry; choose another name`,
      });
    }
    // A bad region is its own problem: the zone is compared only with a valid one.
    if (ruleRegExp(RULES.region).test(spec.region) && !spec.availabilityZone.startsWith(spec.region)) {
      ctx.addIssue({
        code: 'custom',
        path: ['availabilityZone'],
        message: `must be a zone of region ${spec.region}`,
      });
    }
    // The whole internet on the bastion's public ports only when the spec says so.
    if (spec.allowWorld !== true) {
      spec.allowedCidrs.forEach((value, index) => {
        if (!isWorld(value)) return;
        ctx.addIssue({
          code: 'custom',
          path: ['allowedCidrs', index],
          message: `${value} opens ports ${portList()} of the bastion to the whole internet; add "allowWorld": true to the spec to accept that`,
        });
      });
    }
  });

export type DeploymentSpecInput = z.input<typeof DeploymentSpecSchema>;
export type DeploymentSpec = z.output<typeof DeploymentSpecSchema>;

/** One problem in a spec: the dotted field path and what is wrong. */
export interface SpecProblem {
  field: string;
  message: string;
}

type Issue = z.core.$ZodIssue;

/**
 * The problems of zod's issues, one per issue. A union (the flavor: a name or an object) is judged by the option
 * of the value's own type, so each bad field of a flavor object is its own problem, not one "Invalid input".
 */
function problemsOf(issues: readonly Issue[], prefix: PropertyKey[] = []): SpecProblem[] {
  return issues.flatMap((issue): SpecProblem[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'unknown field' }));
    }
    if (issue.code === 'invalid_union') {
      // The options the value has the type of: those not refused at the union's own path for their type.
      const matching = issue.errors.filter(
        (option) => !option.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
      );
      if (matching.length === 1) return problemsOf(matching[0], path);
    }
    return [{ field: path.join('.') || '(spec)', message: issue.message }];
  });
}

/**
 * One problem per field: the first said about it, and none inside a field that is wrong as a whole (a list too
 * long is one problem, not one per item).
 */
function onePerField(problems: SpecProblem[]): SpecProblem[] {
  const fields = new Set(problems.map((problem) => problem.field));
  const seen = new Set<string>();
  return problems.filter(({ field }) => {
    const parts = field.split('.');
    const inWrongParent = parts.slice(1).some((_, i) => fields.has(parts.slice(0, i + 1).join('.')));
    if (inWrongParent || seen.has(field)) return false;
    seen.add(field);
    return true;
  });
}

/** The size of a value as JSON in UTF-8 bytes, or null when it is not JSON (a cycle, a BigInt). */
function jsonBytes(value: unknown): number | null {
  try {
    return new TextEncoder().encode(JSON.stringify(value) ?? '').length;
  } catch {
    return null;
  }
}

const bytes = (n: number) => n.toLocaleString('en-US');

/** Validates a spec, returning the parsed spec or one problem per field. */
export function checkSpec(
  raw: unknown,
): { spec: DeploymentSpec; problems: [] } | { spec: null; problems: SpecProblem[] } {
  const size = jsonBytes(raw);
  const tooLarge: SpecProblem[] =
    size !== null && size > SPEC_LIMITS.specBytes
      ? [
          {
            field: '(spec)',
            message: `is ${bytes(size)} bytes of JSON; a spec may have at most ${bytes(SPEC_LIMITS.specBytes)}: it is the execution's input, and Step Functions carries at most ${bytes(SPEC_LIMITS.stateBytes)} bytes per state`,
          },
        ]
      : [];
  const result = DeploymentSpecSchema.safeParse(raw);
  if (result.success && tooLarge.length === 0) return { spec: result.data, problems: [] };
  return { spec: null, problems: onePerField([...tooLarge, ...problemsOf(result.error?.issues ?? [])]) };
}

/**
 * What a valid spec does that its operator should hear about, one line each, naming the field. Printed by the
 * CLI's validate and create (on stderr); nothing here refuses the spec.
 */
export function specWarnings(spec: DeploymentSpec): string[] {
  const services = PUBLIC_PORTS.map(({ description }) => description.replace(/ \(.*\)$/, '')).join(', ');
  return spec.allowedCidrs.flatMap((value, index) =>
    isWorld(value)
      ? [
          `allowedCidrs.${index}: ${value} opens ports ${portList()} of the bastion (${services}) to the whole internet ("allowWorld": true)`,
        ]
      : [],
  );
}
