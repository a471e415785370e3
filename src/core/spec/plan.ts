import { type Arch, FLAVORS, type Flavor, type Role } from './flavors.js';
import { ipToNumber, numberToIp } from './ipv4.js';
import { INTERNAL_PORTS, PUBLIC_PORTS } from './ports.js';
import type { DeploymentSpec } from './schema.js';

/**
 * The derived plan: everything about a deployment that follows from its spec, as a pure function.
 * Handlers re-derive it from the spec they receive, so the state machine carries the small spec, not the plan.
 */

export { INTERNAL_PORTS, PUBLIC_PORTS };

export const DEPLOYMENT_OPERATOR = 'capideploy';

export interface Tags {
  Name: string;
  DeploymentName: string;
  DeploymentOperator: string;
}

export interface IngressRule {
  protocol: 'tcp' | 'udp';
  port: number;
  cidr: string;
  description: string;
}

export interface SecurityGroupPlan {
  key: 'bastion' | 'internal';
  name: string;
  description: string;
  rules: IngressRule[];
}

export interface NodePlan {
  /** Short name used in scripts, faults and messages: bastion, rabbitmq, prometheus, cass001, daemon001. */
  nickname: string;
  /** EC2 Name tag: `<deployment>-<nickname>`. */
  name: string;
  role: Role;
  instanceType: string;
  privateIp: string;
  subnet: 'public' | 'private';
  securityGroup: 'bastion' | 'internal';
  /** Cassandra only: the initial token of this node, as a decimal string. */
  initialToken?: string;
}

/**
 * A Prometheus scrape target. Jobs: `node` (node_exporter :9100 on every node), `cassandra-jmx` (the JMX exporter
 * agent :7070 on each Cassandra node), `capidaemon` (:9201) and `capiwebapi` (:9200): the Capillaries binaries' own
 * exporters (CAPI_PROMETHEUS_EXPORTER_PORT, the Terraform deployment's ports), and `rabbitmq` (the rabbitmq_prometheus
 * plugin, :15692).
 */
export interface PrometheusTarget {
  job: 'node' | 'cassandra-jmx' | 'capidaemon' | 'capiwebapi' | 'rabbitmq';
  target: string;
  nickname: string;
}

export interface Plan {
  deployment: string;
  region: string;
  availabilityZone: string;
  arch: Arch;
  flavor: Flavor;
  tagsBase: Omit<Tags, 'Name'>;
  names: {
    vpc: string;
    privateSubnet: string;
    publicSubnet: string;
    publicRouteTable: string;
    privateRouteTable: string;
    internetGateway: string;
    natGateway: string;
    natElasticIp: string;
    bastionElasticIp: string;
    logVolume: string;
    instanceRole: string;
    instanceProfile: string;
    /** SSM parameter path of the deployment's generated secrets. */
    secretsPath: string;
  };
  network: { vpcCidr: string; privateSubnetCidr: string; publicSubnetCidr: string };
  securityGroups: SecurityGroupPlan[];
  nodes: NodePlan[];
  cassandra: { seeds: string[]; hosts: string[] };
  daemon: { threadPoolSize: number; dbWriters: number };
  prometheusTargets: PrometheusTarget[];
  rootVolumeGiB: number;
  logVolume: { sizeGiB: number; mountPoint: string };
  /** What the provisioning documents install, and who may reach the bastion. */
  versions: DeploymentSpec['versions'];
  capillariesReleaseUrl: string;
  allowedCidrs: string[];
}

const BASTION_IP = '10.5.1.10';
const PUBLIC_SUBNET = '10.5.1.0/24';
/** The sample layout (§2.8) inside one /24: Cassandra from .11, daemons from .101, .255 reserved by AWS. */
const FIRST_CASSANDRA_OFFSET = 11;
const CASSANDRA_BLOCK = 90;

/**
 * Private subnet layout. The sample's 10.5.0.0/24 when the fleet fits (≤ 90 Cassandra nodes, ≤ 154 daemons);
 * otherwise the smallest aligned block above the public subnet that holds it, with the same offsets.
 */
function privateLayout(cassandraNodes: number, daemons: number) {
  const daemonOffset = FIRST_CASSANDRA_OFFSET + CASSANDRA_BLOCK * Math.ceil(cassandraNodes / CASSANDRA_BLOCK);
  const needed = daemonOffset + daemons + 1;
  let size = 256;
  while (size < needed) size *= 2;
  // A /24 keeps the sample's 10.5.0.0; larger blocks start at their own size, which never overlaps 10.5.1.0/24.
  const base = ipToNumber('10.5.0.0') + (size === 256 ? 0 : size);
  const prefix = 32 - Math.log2(size);
  return { base, cidr: `${numberToIp(base)}/${prefix}`, daemonOffset };
}

/**
 * The initial token of the Cassandra node at `index` (0-based) in a ring of `nodeCount` nodes, one token per node.
 *
 * The scheme keeps every existing token when the ring doubles or halves, so a resize never moves a node. Write
 * N = B * 2^k with B odd. The first B nodes split the ring evenly; each later "generation" of nodes bisects every
 * range of the ring before it: node i with B * 2^(m-1) <= i < B * 2^m takes the midpoint `(2 (i - B * 2^(m-1)) + 1)`
 * of the B * 2^m ranges. A node's token is `-2^63 + floor(p * 2^64 / (B * 2^m))` for its position p at its own
 * generation m, which does not depend on k: cass001..cassN keep their tokens in a ring of N * 2^j or N / 2^j nodes,
 * and any N gives N evenly spaced tokens (a balanced ring). With a single fixed token per node, growing to a count
 * that is not N * 2^j would move existing nodes (nodetool move, one at a time, streaming as much as a bootstrap:
 * reference/ops-facts.md §1.1), so resize allows only these counts (src/core/resize.ts). The shell twin is
 * `initial_token` in provisioning-docs/scripts/cassandra/configure.sh.
 */
export function cassandraToken(index: number, nodeCount: number): string {
  let odd = nodeCount;
  while (odd % 2 === 0) odd /= 2;
  let position = index;
  let slots = odd;
  if (index >= odd) {
    let generation = 1;
    while (index >= odd * 2 ** generation) generation++;
    position = 2 * (index - odd * 2 ** (generation - 1)) + 1;
    slots = odd * 2 ** generation;
  }
  return (-(2n ** 63n) + (BigInt(position) * 2n ** 64n) / BigInt(slots)).toString();
}

/** The initial tokens of a ring of `nodeCount` nodes, by node index (see {@link cassandraToken}). */
export function initialTokens(nodeCount: number): string[] {
  return Array.from({ length: nodeCount }, (_, i) => cassandraToken(i, nodeCount));
}

const pad3 = (n: number) => String(n).padStart(3, '0');

/** The role of a node by its nickname (`cass001` → cassandra, `daemon002` → daemon, `bastion` → bastion). */
export function roleOfNickname(nickname: string): Role | undefined {
  if (/^cass\d+$/.test(nickname)) return 'cassandra';
  if (/^daemon\d+$/.test(nickname)) return 'daemon';
  return (['bastion', 'rabbitmq', 'prometheus'] as const).find((role) => role === nickname);
}

function resolveFlavor(spec: DeploymentSpec): Flavor {
  return typeof spec.flavor === 'string' ? FLAVORS[spec.flavor] : spec.flavor;
}

function securityGroups(spec: DeploymentSpec, dep: string): SecurityGroupPlan[] {
  const bastionRules: IngressRule[] = [
    ...PUBLIC_PORTS.flatMap(({ port, description }) =>
      spec.allowedCidrs.map((cidr) => ({ protocol: 'tcp' as const, port, cidr, description })),
    ),
    { protocol: 'tcp', port: 9100, cidr: spec.vpcCidr, description: 'node exporter' },
    { protocol: 'tcp', port: 9200, cidr: spec.vpcCidr, description: 'Capillaries webapi metrics' },
  ];
  const internalRules: IngressRule[] = INTERNAL_PORTS.map(({ port, description }) => ({
    protocol: 'tcp',
    port,
    cidr: spec.vpcCidr,
    description,
  }));
  return [
    {
      key: 'bastion',
      name: `${dep}_bastion_security_group`,
      description: `${dep} bastion`,
      rules: bastionRules,
    },
    {
      key: 'internal',
      name: `${dep}_internal_security_group`,
      description: `${dep} internal`,
      rules: internalRules,
    },
  ];
}

/** Derives the whole deployment plan from a validated spec. Pure: same spec, same plan. */
export function planDeployment(spec: DeploymentSpec): Plan {
  const dep = spec.name;
  const flavor = resolveFlavor(spec);
  const layout = privateLayout(spec.cassandraNodes, spec.daemons);
  const ip = (offset: number) => numberToIp(layout.base + offset);
  const tokens = initialTokens(spec.cassandraNodes);

  const fixed = (role: 'bastion' | 'rabbitmq' | 'prometheus', privateIp: string): NodePlan => ({
    nickname: role,
    name: `${dep}-${role}`,
    role,
    instanceType: flavor[role],
    privateIp,
    subnet: role === 'bastion' ? 'public' : 'private',
    securityGroup: role === 'bastion' ? 'bastion' : 'internal',
  });
  const cassandra = tokens.map(
    (initialToken, i): NodePlan => ({
      nickname: `cass${pad3(i + 1)}`,
      name: `${dep}-cass${pad3(i + 1)}`,
      role: 'cassandra',
      instanceType: flavor.cassandra,
      privateIp: ip(FIRST_CASSANDRA_OFFSET + i),
      subnet: 'private',
      securityGroup: 'internal',
      initialToken,
    }),
  );
  const daemons = Array.from(
    { length: spec.daemons },
    (_, i): NodePlan => ({
      nickname: `daemon${pad3(i + 1)}`,
      name: `${dep}-daemon${pad3(i + 1)}`,
      role: 'daemon',
      instanceType: flavor.daemon,
      privateIp: ip(layout.daemonOffset + i),
      subnet: 'private',
      securityGroup: 'internal',
    }),
  );
  const nodes = [
    fixed('bastion', BASTION_IP),
    fixed('rabbitmq', ip(5)),
    fixed('prometheus', ip(4)),
    ...cassandra,
    ...daemons,
  ];
  const hosts = cassandra.map((node) => node.privateIp);

  return {
    deployment: dep,
    region: spec.region,
    availabilityZone: spec.availabilityZone,
    arch: flavor.arch,
    flavor,
    tagsBase: { DeploymentName: dep, DeploymentOperator: DEPLOYMENT_OPERATOR },
    names: {
      vpc: `${dep}_network`,
      privateSubnet: `${dep}_private_subnet`,
      publicSubnet: `${dep}_public_subnet`,
      publicRouteTable: `${dep}_public_subnet_rt_to_igw`,
      privateRouteTable: `${dep}_private_subnet_rt_to_natgw`,
      internetGateway: `${dep}_router`,
      natGateway: `${dep}_natgw`,
      natElasticIp: `${dep}_natgw_external_ip_name`,
      bastionElasticIp: `${dep}_bastion_external_ip_name`,
      logVolume: `${dep}_log`,
      instanceRole: `capideploy-${dep}-instance`,
      instanceProfile: `capideploy-${dep}-instance`,
      secretsPath: `/capideploy/${dep}/`,
    },
    network: { vpcCidr: spec.vpcCidr, privateSubnetCidr: layout.cidr, publicSubnetCidr: PUBLIC_SUBNET },
    securityGroups: securityGroups(spec, dep),
    nodes,
    // The first three nodes are the seeds (capi-cassandra-configure derives the same from the node list it gets).
    cassandra: { seeds: hosts.slice(0, 3), hosts },
    daemon: {
      threadPoolSize: Math.max(1, Math.round((flavor.cassandraCores / 4) * 1.5)),
      dbWriters: Math.max(1, Math.round(flavor.cassandraCores / 2)),
    },
    prometheusTargets: [
      ...nodes.map((node) => ({
        job: 'node' as const,
        target: `${node.privateIp}:9100`,
        nickname: node.nickname,
      })),
      ...cassandra.map((node) => ({
        job: 'cassandra-jmx' as const,
        target: `${node.privateIp}:7070`,
        nickname: node.nickname,
      })),
      ...daemons.map((node) => ({
        job: 'capidaemon' as const,
        target: `${node.privateIp}:9201`,
        nickname: node.nickname,
      })),
      { job: 'capiwebapi' as const, target: `${BASTION_IP}:9200`, nickname: 'bastion' },
      { job: 'rabbitmq' as const, target: `${ip(5)}:15692`, nickname: 'rabbitmq' },
    ],
    rootVolumeGiB: spec.rootVolumeGiB,
    logVolume: { sizeGiB: spec.logVolumeGiB, mountPoint: '/mnt/capi_log' },
    versions: spec.versions,
    capillariesReleaseUrl: spec.capillariesReleaseUrl,
    allowedCidrs: spec.allowedCidrs,
  };
}

/** The three tags of every resource. */
export function tagsFor(plan: Plan, name: string): Tags {
  return { Name: name, ...plan.tagsBase };
}
