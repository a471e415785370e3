/**
 * capideploy's flavor table (`aws.<arch>.<family>.<cassandra cores>`), instance types per role.
 * Source: capideploy sample.jsonnet (reference/capideploy-spec.md §2.8). The NVMe size regexes of that table
 * are gone on purpose: the Cassandra script finds the instance store by its NVMe model name.
 */
export type Arch = 'amd64' | 'arm64';
export type Role = 'bastion' | 'rabbitmq' | 'prometheus' | 'cassandra' | 'daemon';

export interface RoleInstanceTypes {
  cassandra: string;
  daemon: string;
  rabbitmq: string;
  prometheus: string;
  bastion: string;
}

export interface Flavor extends RoleInstanceTypes {
  arch: Arch;
  /** Cores of a Cassandra node: drives daemon thread pool and writer counts. */
  cassandraCores: number;
}

const amd64 = (cassandra: string, daemon: string, cores: number): Flavor => ({
  arch: 'amd64',
  cassandraCores: cores,
  cassandra,
  daemon,
  rabbitmq: 't3.micro',
  prometheus: 't3.micro',
  bastion: 't3.small',
});

const arm64 = (cassandra: string, daemon: string, cores: number): Flavor => ({
  arch: 'arm64',
  cassandraCores: cores,
  cassandra,
  daemon,
  rabbitmq: 'c7g.medium',
  prometheus: 'c7g.medium',
  bastion: 'c7g.large',
});

/**
 * The t2.micro of capideploy's amd64 rows is replaced by t3: t2 is not Nitro, so it has no NVMe device names
 * and cannot enforce the encrypted-by-default gp3 root volume at the same price point.
 */
export const FLAVORS: Readonly<Record<string, Flavor>> = {
  'aws.amd64.c5a.4': amd64('c5ad.xlarge', 'c6a.large', 4),
  'aws.amd64.c5a.8': amd64('c5ad.2xlarge', 'c6a.large', 8),
  'aws.amd64.c5a.16': amd64('c5ad.4xlarge', 'c6a.xlarge', 16),
  'aws.amd64.c5a.32': amd64('c5ad.8xlarge', 'c6a.2xlarge', 32),
  'aws.amd64.c5a.64': amd64('c5ad.16xlarge', 'c6a.4xlarge', 64),
  'aws.arm64.c7g.4': arm64('c7gd.xlarge', 'c7g.medium', 4),
  'aws.arm64.c7g.8': arm64('c7gd.2xlarge', 'c7g.large', 8),
  'aws.arm64.c7g.16': arm64('c7gd.4xlarge', 'c7g.xlarge', 16),
  'aws.arm64.c7g.32': arm64('c7gd.8xlarge', 'c7g.2xlarge', 32),
  'aws.arm64.c7g.64': arm64('c7gd.16xlarge', 'c7g.4xlarge', 64),
};

/** vCPUs per instance type we may launch, for the quota preflight and the simulator. */
export const INSTANCE_VCPUS: Readonly<Record<string, number>> = {
  't3.micro': 2,
  't3.small': 2,
  't3.medium': 2,
  'c5ad.xlarge': 4,
  'c5ad.2xlarge': 8,
  'c5ad.4xlarge': 16,
  'c5ad.8xlarge': 32,
  'c5ad.16xlarge': 64,
  'c6a.large': 2,
  'c6a.xlarge': 4,
  'c6a.2xlarge': 8,
  'c6a.4xlarge': 16,
  'c7g.medium': 1,
  'c7g.large': 2,
  'c7g.xlarge': 4,
  'c7g.2xlarge': 8,
  'c7g.4xlarge': 16,
  'c7gd.xlarge': 4,
  'c7gd.2xlarge': 8,
  'c7gd.4xlarge': 16,
  'c7gd.8xlarge': 32,
  'c7gd.16xlarge': 64,
};

/**
 * An instance type's name read by EC2's naming convention: series, generation, capability letters, then the size
 * (`c7gd.2xlarge`: series c, generation 7, capabilities gd; `u7in-16tb.224xlarge`: u, 7, in). Null for a name that
 * does not follow it (`u-6tb1.metal`).
 * @see https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html
 */
function instanceTypeName(type: string): { series: string; generation: number; capabilities: string } | null {
  const match = /^([a-z]+)(\d+)([a-z]*)(?:-[a-z0-9]+)*\.[a-z0-9-]+$/.exec(type);
  return match ? { series: match[1], generation: Number(match[2]), capabilities: match[3] } : null;
}

/**
 * The architecture an instance type runs: arm64 for Graviton (capability `g`: c7g, c7gd, t4g, m6gd, im4gn,
 * is4gen, ...) and the first-generation Arm series `a1`, amd64 for every other type. The same rule as CDK's
 * `InstanceType.architecture` (aws-cdk-lib/aws-ec2). Preflight still asks EC2 (DescribeInstanceTypes).
 */
export function instanceTypeArch(type: string): Arch {
  const name = instanceTypeName(type);
  return name && (name.series === 'a' || name.capabilities.includes('g')) ? 'arm64' : 'amd64';
}

/**
 * Whether an instance type has NVMe instance store, where Cassandra keeps its data (reference/capideploy-spec.md
 * §2.8: the `c5ad`/`c7gd` types; the Cassandra script finds the disks by their NVMe model name). By EC2's naming
 * convention: capability `d` (c5ad, c7gd, m6id, r6gd, z1d, x2idn, ...), or a storage-optimised series on Nitro,
 * whose instance store is NVMe (i3 and later i types, im4gn, is4gen, d3, d3en). Older i2 and d2 have SATA disks.
 */
export function hasNvmeInstanceStore(type: string): boolean {
  const name = instanceTypeName(type);
  if (!name) return false;
  if (name.capabilities.includes('d')) return true;
  if (name.series === 'im' || name.series === 'is') return true;
  return (name.series === 'i' || name.series === 'd') && name.generation >= 3;
}
