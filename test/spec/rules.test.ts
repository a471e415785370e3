import { describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { instancePolicy } from '../../functions/instance-role/instance-role.js';
import { FLAVORS, hasNvmeInstanceStore, instanceTypeArch } from '../../src/core/spec/flavors.js';
import { parseCidr } from '../../src/core/spec/ipv4.js';
import { PUBLIC_PORTS, planDeployment } from '../../src/core/spec/plan.js';
import { checkSpec, SPEC_LIMITS, specWarnings } from '../../src/core/spec/schema.js';

/**
 * Everything that used to pass validate and fail later in the create (issue "Local mode and the CLI survive...",
 * item 7): each is refused by checkSpec, one problem per field, before any AWS call.
 */

const ARM_FLAVOR = {
  arch: 'arm64',
  cassandraCores: 8,
  cassandra: 'c7gd.2xlarge',
  daemon: 'c7g.large',
  rabbitmq: 'c7g.medium',
  prometheus: 'c7g.medium',
  bastion: 'c7g.large',
};

/** As many buckets as a spec may list, each with the longest name S3 allows. */
const longestBuckets = Array.from(
  { length: SPEC_LIMITS.s3Buckets },
  (_, i) => `${String(i).padStart(2, '0')}${'b'.repeat(61)}`,
);

const problemsOf = (overrides: Record<string, unknown>) => checkSpec({ ...sample, ...overrides }).problems;

describe('CIDRs with host bits', () => {
  it('refuses an allow-list CIDR with host bits, naming its network address', () => {
    expect(problemsOf({ allowedCidrs: ['198.51.100.7/32', '203.0.113.7/24'] })).toEqual([
      {
        field: 'allowedCidrs.1',
        message: 'must be the network address 203.0.113.0/24: 203.0.113.7/24 has host bits set',
      },
    ]);
  });

  it('refuses a vpcCidr with host bits, naming its network address', () => {
    expect(problemsOf({ vpcCidr: '10.5.0.7/16' })).toEqual([
      { field: 'vpcCidr', message: 'must be the network address 10.5.0.0/16: 10.5.0.7/16 has host bits set' },
    ]);
    expect(problemsOf({ vpcCidr: '10.6.0.1/16' })).toEqual([
      {
        field: 'vpcCidr',
        message:
          'must be 10.5.0.0/16, fixed as in capideploy so private IPs stay predictable (10.6.0.1/16 has host bits set: its network address is 10.6.0.0/16)',
      },
    ]);
  });

  it('refuses a CIDR given twice, which EC2 refuses as a duplicate rule', () => {
    expect(problemsOf({ allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32', '203.0.113.0/24'] })).toEqual([
      { field: 'allowedCidrs.2', message: 'repeats allowedCidrs.0; list each CIDR once' },
    ]);
  });

  it.each([
    ['203.0.113.7/24', '203.0.113.0/24', true],
    ['203.0.113.0/24', '203.0.113.0/24', false],
    ['198.51.100.7/32', '198.51.100.7/32', false],
    ['10.255.255.255/8', '10.0.0.0/8', true],
    ['1.2.3.4/0', '0.0.0.0/0', true],
  ])('reads %s as network %s (host bits: %s)', (cidr, network, hostBits) => {
    expect(parseCidr(cidr)).toMatchObject({ network, hostBits });
  });
});

describe('Cassandra instance store', () => {
  it('refuses a Cassandra type without NVMe instance store', () => {
    expect(problemsOf({ flavor: { ...ARM_FLAVOR, cassandra: 'c7g.2xlarge' } })).toEqual([
      {
        field: 'flavor.cassandra',
        message:
          'must have NVMe instance store, where Cassandra keeps its data: a type with the "d" capability (c7gd, c5ad, m6id, r6gd, ...) or a storage-optimised i3, i4i, i4g, im4gn, is4gen or d3 type',
      },
    ]);
  });

  it.each([
    ['c7gd.2xlarge', true],
    ['c5ad.xlarge', true],
    ['m6id.large', true],
    ['r6gd.xlarge', true],
    ['x2iedn.xlarge', true],
    ['z1d.large', true],
    ['i3.large', true],
    ['i4i.xlarge', true],
    ['i4g.large', true],
    ['im4gn.large', true],
    ['is4gen.medium', true],
    ['d3.xlarge', true],
    ['c7g.2xlarge', false],
    ['c6a.large', false],
    ['t3.micro', false],
    ['i2.xlarge', false],
    ['d2.xlarge', false],
    ['u-6tb1.metal', false],
  ])('knows whether %s has NVMe instance store (%s)', (type, expected) => {
    expect(hasNvmeInstanceStore(type)).toBe(expected);
  });

  it("gives every named flavor a Cassandra type with NVMe instance store and types of the flavor's arch", () => {
    for (const [name, flavor] of Object.entries(FLAVORS)) {
      expect(hasNvmeInstanceStore(flavor.cassandra), name).toBe(true);
      for (const role of ['cassandra', 'daemon', 'rabbitmq', 'prometheus', 'bastion'] as const) {
        expect(instanceTypeArch(flavor[role]), `${name} ${role}`).toBe(flavor.arch);
      }
    }
  });
});

describe('nested fields of a flavor object', () => {
  it('gives each bad field of a flavor object its own problem, not one "flavor: Invalid input"', () => {
    expect(
      problemsOf({ flavor: { ...ARM_FLAVOR, cassandraCores: 'eight', daemon: 'C7G LARGE', colour: 'blue' } }),
    ).toEqual([
      { field: 'flavor.cassandraCores', message: 'Invalid input: expected number, received string' },
      { field: 'flavor.daemon', message: 'must be an EC2 instance type such as c7g.large' },
      { field: 'flavor.colour', message: 'unknown field' },
    ]);
  });

  it('says what a flavor is when it is neither a name nor an object', () => {
    expect(problemsOf({ flavor: 8 })).toEqual([
      {
        field: 'flavor',
        message: 'must be a flavor name such as aws.arm64.c7g.8 or an object of instance types per role',
      },
    ]);
  });
});

describe('what a state carries', () => {
  it('refuses 600,000 buckets: the spec is too large for a state, and the list too long', () => {
    const s3Buckets = Array.from({ length: 600_000 }, (_, i) => `bucket-${i}`);
    const bytes = Buffer.byteLength(JSON.stringify({ ...sample, s3Buckets }));
    expect(problemsOf({ s3Buckets })).toEqual([
      {
        field: '(spec)',
        message: `is ${bytes.toLocaleString('en-US')} bytes of JSON; a spec may have at most 32,768: it is the execution's input, and Step Functions carries at most 262,144 bytes per state`,
      },
      {
        field: 's3Buckets',
        message:
          "list at most 20 buckets: the instance role's inline policy names each, and IAM limits a role's inline policies to 10,240 characters",
      },
    ]);
  });

  it('caps the allow-list at what one security group holds', () => {
    const allowedCidrs = Array.from({ length: 250 }, (_, i) => `10.${i}.0.0/16`);
    expect(problemsOf({ allowedCidrs })).toEqual([
      {
        field: 'allowedCidrs',
        message:
          'list at most 249 CIDRs: each opens 4 ports in the bastion security group, which EC2 limits to 1,000 rules',
      },
    ]);
    // 249 CIDRs of 4 public ports and the node exporter's rule: 997 rules.
    expect(SPEC_LIMITS.allowedCidrs * PUBLIC_PORTS.length + 1).toBeLessThanOrEqual(1000);
  });

  it('refuses a spec whose JSON is too large even when every list is within its cap', () => {
    const daemon = `c7g-${'x'.repeat(40_000)}.large`;
    const problems = problemsOf({ flavor: { ...ARM_FLAVOR, daemon } });
    expect(problems.map((problem) => problem.field)).toEqual(['(spec)']);
  });

  it('keeps a spec at every list cap well under the byte limit, so the caps speak first', () => {
    // Prepare: every list at its cap with the longest items, the longest strings the rules allow.
    const longest = {
      ...sample,
      name: 'a'.repeat(24),
      allowedCidrs: Array.from({ length: SPEC_LIMITS.allowedCidrs }, (_, i) => `100.${i}.255.255/32`),
      s3Buckets: longestBuckets,
      capillariesReleaseUrl: `https://${'h'.repeat(63)}.example.com:65535${`/${'p'.repeat(128)}`.repeat(16)}`,
      customer: 'c'.repeat(24),
    };
    // Act
    const checked = checkSpec(longest);
    // Assess
    expect(checked.problems).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(checked.spec))).toBeLessThan(SPEC_LIMITS.specBytes / 2);
  });

  it('keeps the instance policy of the most and longest buckets under half of IAM 10,240 characters', () => {
    // Prepare: the longest deployment name, region, partition and output bucket.
    const checked = checkSpec({
      ...sample,
      name: 'a'.repeat(24),
      region: 'us-gov-abcdefghijklmnop-1',
      availabilityZone: 'us-gov-abcdefghijklmnop-1a',
      s3Buckets: longestBuckets,
    });
    // Act: the old and the new policy coexist while the buckets change.
    const plan = planDeployment(checked.spec!);
    const document = instancePolicy(
      plan,
      checked.spec!.s3Buckets,
      'aws-us-gov',
      '123456789012',
      'o'.repeat(63),
    );
    // Assess
    expect(document.replace(/\s/g, '').length).toBeLessThanOrEqual(10_240 / 2);
  });
});

describe('fleet size and architecture', () => {
  it('accepts the largest fleet, whose private subnet fits the VPC beside the public one', () => {
    // Act
    const checked = checkSpec({ ...sample, cassandraNodes: 1000, daemons: 1000 });
    // Assess: quota stays preflight's (it needs AWS); the addresses are validate's.
    expect(checked.problems).toEqual([]);
    const plan = planDeployment(checked.spec!);
    const block = parseCidr(plan.network.privateSubnetCidr);
    const vpc = parseCidr(plan.network.vpcCidr);
    const publicBlock = parseCidr(plan.network.publicSubnetCidr);
    const end = (cidr: typeof block) => cidr.address + 2 ** (32 - cidr.prefix);
    expect(plan.network.privateSubnetCidr).toBe('10.5.16.0/20');
    expect(block.address >= vpc.address && end(block) <= end(vpc)).toBe(true);
    expect(end(block) <= publicBlock.address || block.address >= end(publicBlock)).toBe(true);
    const last = Math.max(
      ...plan.nodes
        .filter((node) => node.subnet === 'private')
        .map((node) => parseCidr(`${node.privateIp}/32`).address),
    );
    expect(last).toBeLessThan(end(block) - 1);
  });

  it('refuses more nodes than the schema allows, naming the field', () => {
    expect(problemsOf({ cassandraNodes: 1001, daemons: 1001 }).map((problem) => problem.field)).toEqual([
      'cassandraNodes',
      'daemons',
    ]);
  });

  it('refuses Graviton types in an amd64 flavor, one problem per role', () => {
    const amd64 = (type: string) =>
      `must be an amd64 (Intel or AMD) type like the flavor's arch: ${type} is arm64 (Graviton)`;
    expect(problemsOf({ flavor: { ...ARM_FLAVOR, arch: 'amd64' } })).toEqual([
      { field: 'flavor.cassandra', message: amd64('c7gd.2xlarge') },
      { field: 'flavor.daemon', message: amd64('c7g.large') },
      { field: 'flavor.rabbitmq', message: amd64('c7g.medium') },
      { field: 'flavor.prometheus', message: amd64('c7g.medium') },
      { field: 'flavor.bastion', message: amd64('c7g.large') },
    ]);
  });

  it('refuses an Intel type in an arm64 flavor', () => {
    expect(problemsOf({ flavor: { ...ARM_FLAVOR, rabbitmq: 't3.micro' } })).toEqual([
      {
        field: 'flavor.rabbitmq',
        message: "must be an arm64 (Graviton) type like the flavor's arch: t3.micro is amd64 (Intel or AMD)",
      },
    ]);
  });

  it.each([
    ['c7g.large', 'arm64'],
    ['c7gd.2xlarge', 'arm64'],
    ['t4g.micro', 'arm64'],
    ['im4gn.large', 'arm64'],
    ['is4gen.medium', 'arm64'],
    ['a1.large', 'arm64'],
    ['c5ad.xlarge', 'amd64'],
    ['c6a.large', 'amd64'],
    ['g4dn.xlarge', 'amd64'],
    ['c7i-flex.large', 'amd64'],
    ['t3.micro', 'amd64'],
  ])('reads %s as %s', (type, arch) => {
    expect(instanceTypeArch(type)).toBe(arch);
  });
});

describe('the whole internet on the bastion', () => {
  it('refuses 0.0.0.0/0 without "allowWorld": true', () => {
    expect(problemsOf({ allowedCidrs: ['203.0.113.0/24', '0.0.0.0/0'] })).toEqual([
      {
        field: 'allowedCidrs.1',
        message:
          '0.0.0.0/0 opens ports 80, 6544, 9090 and 15672 of the bastion to the whole internet; add "allowWorld": true to the spec to accept that',
      },
    ]);
  });

  it('accepts it with "allowWorld": true, with a warning naming the ports', () => {
    // Act
    const checked = checkSpec({ ...sample, allowedCidrs: ['0.0.0.0/0'], allowWorld: true });
    // Assess
    expect(checked.problems).toEqual([]);
    expect(specWarnings(checked.spec!)).toEqual([
      'allowedCidrs.0: 0.0.0.0/0 opens ports 80, 6544, 9090 and 15672 of the bastion (Capillaries UI, Capillaries webapi, Prometheus UI, RabbitMQ console) to the whole internet ("allowWorld": true)',
    ]);
  });

  it('defaults allowWorld to false and warns of nothing for the sample', () => {
    const checked = checkSpec(sample);
    expect(checked.spec?.allowWorld).toBe(false);
    expect(specWarnings(checked.spec!)).toEqual([]);
  });

  it('refuses another /0 for its host bits first', () => {
    expect(problemsOf({ allowedCidrs: ['1.2.3.4/0'] })).toEqual([
      {
        field: 'allowedCidrs.0',
        message: 'must be the network address 0.0.0.0/0: 1.2.3.4/0 has host bits set',
      },
    ]);
  });
});

describe('cross-account mode: the spec names a registered customer', () => {
  it('accepts a customer name, following the deployment name rule', () => {
    expect(checkSpec({ ...sample, customer: 'acme' }).problems).toEqual([]);
    expect(problemsOf({ customer: 'Acme_Corp' })).toEqual([
      {
        field: 'customer',
        message:
          'must be 1 to 24 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
      },
    ]);
  });

  it('refuses an inline assumeRole, saying how to register the customer, without echoing the external id', () => {
    const problems = problemsOf({
      assumeRole: {
        roleArn: 'arn:aws:iam::210987654321:role/capideploy-operator',
        externalId: 'secret-ext-1',
      },
    });
    expect(problems).toEqual([
      {
        field: 'assumeRole',
        message:
          'inline external ids are not accepted: register the customer with "capi-deploy customers add <name> --role-arn <arn>" (external id on standard input) and put "customer": "<name>" in the spec',
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain('secret-ext-1');
  });

  it('refuses the deployment name customers: its secrets path would be the registry', () => {
    expect(problemsOf({ name: 'customers' })).toEqual([
      { field: 'name', message: expect.stringContaining('customers is reserved') },
    ]);
  });
});
