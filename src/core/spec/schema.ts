import { z } from 'zod';
import { type ParameterRule, RULES, ruleRegExp, SPEC_RELEASE_URL } from '../parameter-rules.js';
import { FLAVORS } from './flavors.js';

/**
 * A string that follows a parameter rule (src/core/parameter-rules.ts). Fields that become document parameters use
 * these, so a value SSM would refuse is refused here first, before any AWS call.
 */
const ruled = (rule: ParameterRule) => z.string().regex(ruleRegExp(rule), `must be ${rule.description}`);

const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type such as c7g.large');

const explicitFlavor = z
  .strictObject({
    arch: z.enum(['amd64', 'arm64']),
    cassandraCores: z
      .number()
      .int()
      .min(1)
      .max(896, 'must be at most 896: no EC2 instance type has more vCPUs')
      .describe('cores of a Cassandra node; drives daemon tuning'),
    cassandra: instanceType.describe('must have NVMe instance store (a "d" type such as c7gd)'),
    daemon: instanceType,
    rabbitmq: instanceType,
    prometheus: instanceType,
    bastion: instanceType,
  })
  .describe('explicit instance types per role');

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

/** The deployment spec: the single input of create-deployment. No secrets here; the workflow generates them. */
export const DeploymentSpecSchema = z
  .strictObject({
    name: ruled(RULES.deploymentName).describe(
      'deployment name, used in every resource name and the DeploymentName tag',
    ),
    region: ruled(RULES.region).describe('AWS region'),
    availabilityZone: ruled(RULES.availabilityZone).describe('the one availability zone of both subnets'),
    flavor: z
      .union([flavorName, explicitFlavor])
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
      .array(ruled(RULES.cidr))
      .min(1, 'list at least one CIDR allowed to reach the bastion')
      .describe('nginx and security-group allow-list for the public ports of the bastion'),
    capillariesReleaseUrl: z
      .string()
      .refine((url) => url.startsWith('https://'), { message: 'must be an https URL', abort: true })
      .regex(SPEC_RELEASE_URL, `must be ${RULES.httpsUrl.description}; a trailing / is ignored`)
      .default('https://capillaries-release.s3.us-east-1.amazonaws.com/latest')
      .describe('where the Capillaries binaries and UI are downloaded from'),
    s3Buckets: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'))
      .default([])
      .describe('buckets the daemons and webapi may read and write'),
    vpcCidr: z
      .literal('10.5.0.0/16')
      .default('10.5.0.0/16')
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
    assumeRole: z
      .strictObject({
        roleArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN'),
        externalId: z.string().min(2).max(1224),
      })
      .optional()
      .describe('cross-account mode: every call runs under this role, assumed with the external id'),
    onFailure: z
      .enum(['keep', 'delete'])
      .default('keep')
      .describe('what create does after a failure: keep resources to fix and resume, or delete them'),
  })
  .superRefine((spec, ctx) => {
    // A bad region is its own problem: the zone is compared only with a valid one.
    if (ruleRegExp(RULES.region).test(spec.region) && !spec.availabilityZone.startsWith(spec.region)) {
      ctx.addIssue({
        code: 'custom',
        path: ['availabilityZone'],
        message: `must be a zone of region ${spec.region}`,
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

/** Validates a spec, returning the parsed spec or one problem per field. */
export function checkSpec(
  raw: unknown,
): { spec: DeploymentSpec; problems: [] } | { spec: null; problems: SpecProblem[] } {
  const result = DeploymentSpecSchema.safeParse(raw);
  if (result.success) return { spec: result.data, problems: [] };
  const problems = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'unknown field' }))
      : [{ field: issue.path.join('.') || '(spec)', message: issue.message }],
  );
  return { spec: null, problems };
}
