/**
 * The rules a value must follow to become a parameter of a provisioning document, each written once. Three places
 * check them and must agree, or a spec that validates is refused by SSM after the network and fleet are built:
 * - the deployment spec (src/core/spec/schema.ts) uses the rules of the fields that become parameters;
 * - each SSM document parameter's `allowedPattern` (provisioning-docs/*.yaml) is its rule's pattern, exactly;
 * - each script's `param NAME 'REGEX'` check (provisioning-docs/scripts) is its rule's pattern, exactly.
 * test/provisioning/patterns.test.ts compares the last two with these, character for character.
 *
 * A pattern is anchored with ^ and $ and uses only what JavaScript (the simulator), Java (SSM) and POSIX extended
 * regular expressions (bash `[[ =~ ]]`) read alike: bracket expressions, groups, `|`, `?`, `*`, `{m,n}`, `\.`; no
 * `\d`, no non-capturing or lazy groups. No pattern admits a space, quote, `$`, backtick, parenthesis, `;`, `|`,
 * `&`, `\` or newline: a value may be pasted into a shell script (the documents' `{{ Name }}` fallback).
 */

/** One rule: its pattern and what a valid value is, in words an operator understands. */
export interface ParameterRule {
  /** The anchored regular expression source, as written in `allowedPattern` and in the scripts. */
  readonly pattern: string;
  /** What is expected, completing "must be …": "an IPv4 CIDR such as 203.0.113.0/24". */
  readonly description: string;
  /** A valid value. */
  readonly example: string;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = `${OCTET}(\\.${OCTET}){3}`;
const CIDR = `${IPV4}/(3[0-2]|[12]?[0-9])`;
const PORT = '[1-9][0-9]{0,4}';
const TARGET = `${IPV4}:${PORT}`;
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST = `${LABEL}(\\.${LABEL})*`;
const REGION = '[a-z]{2}(-gov)?-[a-z]{4,16}-[1-9]';
const RELEASE = '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}';
/** One or more comma-separated items. */
const list = (item: string) => `${item}(,${item})*`;
const anchored = (body: string) => `^${body}$`;

const release = (software: string, example: string): ParameterRule => ({
  pattern: anchored(RELEASE),
  description: `a ${software} release such as ${example}`,
  example,
});

/** Every rule, by name. */
export const RULES = {
  deploymentName: {
    pattern: anchored('[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?'),
    description: '1 to 24 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
    example: 'sample',
  },
  region: {
    pattern: anchored(REGION),
    description: 'an AWS region such as us-east-1',
    example: 'us-east-1',
  },
  availabilityZone: {
    pattern: anchored(`${REGION}[a-z]`),
    description: 'an availability zone such as us-east-1a',
    example: 'us-east-1a',
  },
  ipv4: {
    pattern: anchored(IPV4),
    description: 'an IPv4 address such as 10.5.0.5',
    example: '10.5.0.5',
  },
  ipv4List: {
    pattern: anchored(list(IPV4)),
    description: 'comma-separated IPv4 addresses such as 10.5.0.11,10.5.0.12',
    example: '10.5.0.11,10.5.0.12',
  },
  cidr: {
    pattern: anchored(CIDR),
    description: 'an IPv4 CIDR such as 203.0.113.0/24',
    example: '203.0.113.0/24',
  },
  cidrList: {
    pattern: anchored(list(CIDR)),
    description: 'comma-separated IPv4 CIDRs such as 203.0.113.0/24,198.51.100.7/32',
    example: '203.0.113.0/24,198.51.100.7/32',
  },
  targetList: {
    pattern: anchored(list(TARGET)),
    description: 'comma-separated scrape targets <IPv4>:<port> such as 10.5.0.11:9100,10.5.0.12:9100',
    example: '10.5.0.11:9100,10.5.0.12:9100',
  },
  optionalTargetList: {
    pattern: anchored(`(${list(TARGET)})?`),
    description: 'empty, or comma-separated scrape targets <IPv4>:<port> such as 10.5.0.11:7070',
    example: '10.5.0.11:7070',
  },
  optionalHost: {
    pattern: anchored(`(${HOST})?`),
    description: 'empty, or a DNS name or IPv4 address such as capi.example.com',
    example: 'capi.example.com',
  },
  httpsUrl: {
    pattern: anchored(`https://${HOST}(:${PORT})?(/[A-Za-z0-9._~%+-]{1,128}){0,16}`),
    description:
      'an https URL of a host name, an optional port and up to 16 path segments of letters, digits and . _ ~ % + - ' +
      '(no query, space, quote, $ or parenthesis), such as https://capillaries-release.s3.us-east-1.amazonaws.com/latest',
    example: 'https://capillaries-release.s3.us-east-1.amazonaws.com/latest',
  },
  volumeId: {
    pattern: anchored('vol-([0-9a-f]{8}|[0-9a-f]{17})'),
    description: 'an EBS volume id such as vol-0123456789abcdef0',
    example: 'vol-0123456789abcdef0',
  },
  cassandraVersion: {
    pattern: anchored('5\\.0(\\.[0-9]{1,3})?'),
    description: 'a Cassandra 5.0 release such as 5.0 or 5.0.4',
    example: '5.0',
  },
  rabbitmqVersion: {
    pattern: anchored('4\\.[0-9]{1,3}(\\.[0-9]{1,3})?'),
    description: 'a RabbitMQ 4 release such as 4.1',
    example: '4.1',
  },
  prometheusVersion: release('Prometheus', '3.5.0'),
  nodeExporterVersion: release('node_exporter', '1.9.1'),
  jmxExporterVersion: release('JMX exporter', '1.3.0'),
  clusterSize: {
    pattern: anchored('[1-9][0-9]{0,3}'),
    description: 'a node count from 1 to 9999',
    example: '4',
  },
  workerCount: {
    pattern: anchored('[1-9][0-9]{0,2}'),
    description: 'a number from 1 to 999',
    example: '6',
  },
  expectedNodes: {
    pattern: anchored('(0|[1-9][0-9]{0,3})'),
    description: 'a node count from 0 to 9999',
    example: '4',
  },
  expectedTargets: {
    pattern: anchored('(0|[1-9][0-9]{0,4})'),
    description: 'a target count from 0 to 99999',
    example: '15',
  },
  healthCheck: {
    pattern: anchored('(cassandra|rabbitmq|webapi|ui|prometheus)'),
    description: 'one of cassandra, rabbitmq, webapi, ui, prometheus',
    example: 'cassandra',
  },
  flag: {
    pattern: anchored('(false|true)'),
    description: 'false or true',
    example: 'false',
  },
  nodeRole: {
    pattern: anchored('(bastion|rabbitmq|prometheus|cassandra|daemon)'),
    description: 'one of bastion, rabbitmq, prometheus, cassandra, daemon',
    example: 'daemon',
  },
  logGroupName: {
    pattern: anchored('/capideploy/[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?'),
    description: "a deployment's log group /capideploy/<deployment> such as /capideploy/sample",
    example: '/capideploy/sample',
  },
  logFiles: {
    pattern: anchored(list('[a-z0-9-]+=[A-Za-z0-9_./*@-]+')),
    description:
      'comma-separated log sources <source>=<path glob> such as cassandra=/var/log/cassandra/system.log',
    example: 'cassandra=/var/log/cassandra/system.log,ssm=/var/lib/amazon/ssm/*/std*',
  },
} as const satisfies Record<string, ParameterRule>;

export type RuleName = keyof typeof RULES;

/**
 * The rule of every parameter of every provisioning document. A parameter name means the same thing in every
 * document that declares it, so one entry covers them all.
 */
export const DOCUMENT_PARAMETER_RULES = {
  DeploymentName: 'deploymentName',
  ClusterName: 'deploymentName',
  Region: 'region',
  AllowedCidrs: 'cidrList',
  CassandraHosts: 'ipv4List',
  Seeds: 'ipv4List',
  RabbitmqIp: 'ipv4',
  PrometheusIp: 'ipv4',
  PublicAddress: 'optionalHost',
  CapillariesReleaseUrl: 'httpsUrl',
  LogVolumeId: 'volumeId',
  CassandraVersion: 'cassandraVersion',
  RabbitmqVersion: 'rabbitmqVersion',
  PrometheusVersion: 'prometheusVersion',
  NodeExporterVersion: 'nodeExporterVersion',
  JmxExporterVersion: 'jmxExporterVersion',
  ClusterSize: 'clusterSize',
  ThreadPoolSize: 'workerCount',
  WriterWorkers: 'workerCount',
  NodeTargets: 'targetList',
  JmxTargets: 'optionalTargetList',
  DaemonTargets: 'optionalTargetList',
  WebapiTargets: 'optionalTargetList',
  RabbitmqTargets: 'optionalTargetList',
  Check: 'healthCheck',
  ExpectedNodes: 'expectedNodes',
  ExpectedTargets: 'expectedTargets',
  Role: 'nodeRole',
  Join: 'flag',
  LogGroupName: 'logGroupName',
  LogFiles: 'logFiles',
} as const satisfies Record<string, RuleName>;

export type DocumentParameterName = keyof typeof DOCUMENT_PARAMETER_RULES;

/** The rule of a document parameter, or undefined for a name no document may declare. */
export function parameterRule(parameter: string): ParameterRule | undefined {
  return Object.hasOwn(DOCUMENT_PARAMETER_RULES, parameter)
    ? RULES[DOCUMENT_PARAMETER_RULES[parameter as DocumentParameterName]]
    : undefined;
}

/** A rule's pattern as a RegExp. */
export const ruleRegExp = (rule: ParameterRule): RegExp => new RegExp(rule.pattern);

const DEPLOYMENT_NAME = ruleRegExp(RULES.deploymentName);

/** Whether a name given as an argument (or found as a file name) is a deployment name, as a spec's must be. */
export const isDeploymentName = (name: string): boolean => DEPLOYMENT_NAME.test(name);

/** The documents take a URL without trailing slashes: they append `/linux/<arch>/…` themselves. */
export const stripTrailingSlashes = (url: string): string => url.replace(/\/+$/, '');

/**
 * The release URL as the spec takes it: {@link RULES}.httpsUrl once trailing slashes are stripped, which is what
 * the documents are sent ({@link stripTrailingSlashes}).
 */
export const SPEC_RELEASE_URL = new RegExp(`${RULES.httpsUrl.pattern.slice(0, -1)}/*$`);
