import { describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { initialTokens, planDeployment } from '../../src/core/spec/plan.js';
import { checkSpec, DeploymentSpecSchema } from '../../src/core/spec/schema.js';

const specWith = (overrides: Record<string, unknown>) =>
  DeploymentSpecSchema.parse({ ...sample, ...overrides });

describe('initialTokens', () => {
  const sorted = (tokens: string[]) => tokens.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const capideploy4 = [-(2n ** 63n), -(2n ** 62n), 0n, 2n ** 62n];

  it("gives 4 nodes capideploy's four tokens, each new generation bisecting the ring before it", () => {
    // capideploy's cassandra_initial_tokens_map for 4 nodes, as a set; cass002 bisects cass001's whole ring.
    expect(sorted(initialTokens(4))).toEqual(capideploy4);
    expect(initialTokens(4)).toEqual([
      '-9223372036854775808',
      '0',
      '-4611686018427387904',
      '4611686018427387904',
    ]);
  });

  it('keeps every existing token when the ring doubles or halves', () => {
    for (const base of [1, 3, 4, 5, 12]) {
      const ring = initialTokens(base);
      expect(initialTokens(base * 2).slice(0, base)).toEqual(ring);
      expect(initialTokens(base * 8).slice(0, base)).toEqual(ring);
      if (base % 2 === 0) expect(initialTokens(base / 2)).toEqual(ring.slice(0, base / 2));
    }
  });

  it('spaces any count evenly: N tokens floor(p * 2^64 / N) - 2^63, p = 0..N-1', () => {
    for (const count of [3, 6, 12, 16, 20]) {
      const expected = Array.from(
        { length: count },
        (_, p) => (BigInt(p) * 2n ** 64n) / BigInt(count) - 2n ** 63n,
      );
      expect(sorted(initialTokens(count))).toEqual(expected);
    }
  });

  it('gives a single node the lowest token', () => {
    expect(initialTokens(1)).toEqual(['-9223372036854775808']);
  });
});

describe('planDeployment', () => {
  it('lays out the sample as capideploy does', () => {
    // Act
    const plan = planDeployment(specWith({}));
    // Assess
    const byNick = Object.fromEntries(plan.nodes.map((node) => [node.nickname, node]));
    expect(plan.network).toEqual({
      vpcCidr: '10.5.0.0/16',
      privateSubnetCidr: '10.5.0.0/24',
      publicSubnetCidr: '10.5.1.0/24',
    });
    expect(byNick.bastion).toMatchObject({
      privateIp: '10.5.1.10',
      subnet: 'public',
      instanceType: 'c7g.large',
    });
    expect(byNick.prometheus.privateIp).toBe('10.5.0.4');
    expect(byNick.rabbitmq.privateIp).toBe('10.5.0.5');
    expect(byNick.cass001).toMatchObject({
      privateIp: '10.5.0.11',
      instanceType: 'c7gd.2xlarge',
      name: 'sample-cass001',
    });
    expect(byNick.cass004.privateIp).toBe('10.5.0.14');
    expect(byNick.daemon001).toMatchObject({ privateIp: '10.5.0.101', instanceType: 'c7g.large' });
    expect(plan.daemon).toEqual({ threadPoolSize: 3, dbWriters: 4 });
    expect(plan.cassandra.seeds).toEqual(['10.5.0.11', '10.5.0.12', '10.5.0.13']);
    expect(plan.names.vpc).toBe('sample_network');
    expect(plan.tagsBase).toEqual({ DeploymentName: 'sample', DeploymentOperator: 'capideploy' });
  });

  it('targets every node exporter, every Cassandra JMX exporter, the Capillaries exporters and RabbitMQ', () => {
    const plan = planDeployment(specWith({}));
    // node_exporter on every node, JMX on 4 Cassandra nodes, 4 daemons, the webapi and RabbitMQ.
    expect(plan.prometheusTargets).toHaveLength(plan.nodes.length + 4 + 4 + 1 + 1);
    expect(plan.prometheusTargets).toContainEqual({
      job: 'capidaemon',
      target: '10.5.0.101:9201',
      nickname: 'daemon001',
    });
    expect(plan.prometheusTargets).toContainEqual({
      job: 'capiwebapi',
      target: '10.5.1.10:9200',
      nickname: 'bastion',
    });
    expect(plan.prometheusTargets).toContainEqual({
      job: 'rabbitmq',
      target: '10.5.0.5:15692',
      nickname: 'rabbitmq',
    });
    expect(plan.prometheusTargets).toContainEqual({
      job: 'cassandra-jmx',
      target: '10.5.0.12:7070',
      nickname: 'cass002',
    });
  });

  it('never opens port 22 and exposes public ports only to the allow-list', () => {
    const plan = planDeployment(specWith({ allowedCidrs: ['198.51.100.7/32', '203.0.113.0/24'] }));
    const rules = plan.securityGroups.flatMap((group) => group.rules);
    expect(rules.some((rule) => rule.port === 22)).toBe(false);
    const bastion = plan.securityGroups.find((group) => group.key === 'bastion')!;
    for (const port of [80, 6544, 9090, 15672]) {
      expect(bastion.rules.filter((rule) => rule.port === port).map((rule) => rule.cidr)).toEqual([
        '198.51.100.7/32',
        '203.0.113.0/24',
      ]);
    }
  });

  it.each([
    [1, 1],
    [7, 3],
    [90, 154],
    [91, 10],
    [128, 128],
    [500, 500],
  ])(
    'gives %i Cassandra nodes and %i daemons unique IPs inside the private subnet',
    (cassandraNodes, daemons) => {
      // Act
      const plan = planDeployment(specWith({ cassandraNodes, daemons }));
      // Assess
      const [base, bits] = plan.network.privateSubnetCidr.split('/');
      const toNumber = (ip: string) => ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
      const first = toNumber(base);
      const size = 2 ** (32 - Number(bits));
      const privateIps = plan.nodes
        .filter((node) => node.subnet === 'private')
        .map((node) => toNumber(node.privateIp));
      expect(new Set(privateIps).size).toBe(privateIps.length);
      for (const ip of privateIps) {
        expect(ip).toBeGreaterThanOrEqual(first + 4);
        expect(ip).toBeLessThan(first + size - 1);
      }
      // The private block never overlaps the public 10.5.1.0/24.
      const publicFirst = toNumber('10.5.1.0');
      expect(first + size <= publicFirst || first >= publicFirst + 256).toBe(true);
      expect(plan.nodes.filter((node) => node.role === 'cassandra')).toHaveLength(cassandraNodes);
      expect(plan.nodes.filter((node) => node.role === 'daemon')).toHaveLength(daemons);
    },
  );

  it('is a pure function of the spec', () => {
    expect(planDeployment(specWith({ cassandraNodes: 16 }))).toEqual(
      planDeployment(specWith({ cassandraNodes: 16 })),
    );
  });
});

describe('checkSpec', () => {
  it('accepts the sample and fills defaults', () => {
    const checked = checkSpec(sample);
    expect(checked.problems).toEqual([]);
    expect(checked.spec).toMatchObject({
      onFailure: 'keep',
      rootVolumeGiB: 20,
      versions: { cassandra: '5.0' },
    });
  });

  it('reports one problem per bad field, naming the field', () => {
    // Act
    const { problems } = checkSpec({
      ...sample,
      name: 'My_Deployment',
      cassandraNodes: 0,
      flavor: 'aws.arm64.c7g.7',
      allowedCidrs: ['10.0.0.0/33', 'not-a-cidr'],
      colour: 'blue',
    });
    // Assess
    const fields = problems.map((problem) => problem.field).sort();
    expect(fields).toEqual(
      ['allowedCidrs.0', 'allowedCidrs.1', 'cassandraNodes', 'colour', 'flavor', 'name'].sort(),
    );
    expect(problems.find((problem) => problem.field === 'colour')?.message).toBe('unknown field');
    expect(problems.find((problem) => problem.field === 'flavor')?.message).toContain('aws.arm64.c7g.8');
  });

  it('rejects a zone outside the region', () => {
    const { problems } = checkSpec({ ...sample, availabilityZone: 'eu-west-1a' });
    expect(problems).toEqual([{ field: 'availabilityZone', message: 'must be a zone of region us-east-1' }]);
  });

  it('rejects a release URL SSM would refuse, saying what is expected', () => {
    const { problems } = checkSpec({ ...sample, capillariesReleaseUrl: 'https://x/$(reboot)' });
    expect(problems).toHaveLength(1);
    expect(problems[0].field).toBe('capillariesReleaseUrl');
    expect(problems[0].message).toMatch(
      /^must be an https URL of a host name.*no query, space, quote, \$ or parenthesis/,
    );
  });

  it('gives one problem per field: a plain http URL, a long name, a bad region', () => {
    const { problems } = checkSpec({
      ...sample,
      capillariesReleaseUrl: 'http://example.com/capi',
      name: 'a'.repeat(25),
      region: 'us-east-1;',
    });
    expect(problems).toEqual([
      {
        field: 'name',
        message:
          'must be 1 to 24 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
      },
      { field: 'region', message: 'must be an AWS region such as us-east-1' },
      { field: 'capillariesReleaseUrl', message: 'must be an https URL' },
    ]);
  });

  it('accepts a release URL with a trailing slash, which the documents receive without it', () => {
    const checked = checkSpec({ ...sample, capillariesReleaseUrl: 'https://example.com:8443/capi/v1.2/' });
    expect(checked.problems).toEqual([]);
    expect(checked.spec?.capillariesReleaseUrl).toBe('https://example.com:8443/capi/v1.2/');
  });

  it('bounds the cores of an explicit flavor, whose daemon tuning becomes document parameters', () => {
    const flavor = {
      arch: 'arm64',
      cassandraCores: 897,
      cassandra: 'c7gd.2xlarge',
      daemon: 'c7g.2xlarge',
      rabbitmq: 'c7g.medium',
      prometheus: 'c7g.medium',
      bastion: 'c7g.large',
    };
    expect(checkSpec({ ...sample, flavor }).problems).toEqual([
      { field: 'flavor.cassandraCores', message: 'must be at most 896: no EC2 instance type has more vCPUs' },
    ]);
  });
});
