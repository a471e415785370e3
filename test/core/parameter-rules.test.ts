import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { documentParameters, PROVISIONING_DOCUMENTS } from '../../src/core/documents.js';
import {
  DOCUMENT_PARAMETER_RULES,
  type ParameterRule,
  RULES,
  ruleRegExp,
  SPEC_RELEASE_URL,
  stripTrailingSlashes,
} from '../../src/core/parameter-rules.js';
import { FLAVORS } from '../../src/core/spec/flavors.js';
import { parseCidr } from '../../src/core/spec/ipv4.js';
import { planDeployment } from '../../src/core/spec/plan.js';
import { checkSpec, type DeploymentSpecInput } from '../../src/core/spec/schema.js';
import { loadDocuments } from '../../src/provisioning/documents.js';
import { mulberry32 } from '../seeded.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'capi-rules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Values no parameter may carry, alone or around a valid value: shell metacharacters and injections. */
const HOSTILE = [
  '$(reboot)',
  '`id`',
  '; rm -rf /',
  '| cat /etc/shadow',
  '&& reboot',
  ' ',
  '"',
  "'",
  '\\',
  '\n',
];

/** More values per rule, valid and not, beyond the example and the hostile ones. */
const CASES: Record<keyof typeof RULES, { valid: string[]; invalid: string[] }> = {
  deploymentName: {
    valid: ['a', '0', 'my-cluster-01', 'a'.repeat(24)],
    invalid: ['', 'a'.repeat(25), '-a', 'a-', 'My', 'a_b', 'a.b'],
  },
  region: {
    valid: ['eu-west-1', 'ap-southeast-2', 'us-gov-west-1', 'ca-central-1'],
    invalid: ['us-east', 'US-EAST-1', 'us-east-0', 'us-east-1a', 'useast1'],
  },
  availabilityZone: { valid: ['eu-west-1b', 'us-gov-east-1c'], invalid: ['us-east-1', 'us-east-1A'] },
  ipv4: {
    valid: ['0.0.0.0', '255.255.255.255', '10.5.1.10', '192.168.100.99'],
    invalid: ['256.0.0.1', '10.5.0', '10.5.0.1.2', '010.5.0.1', '10.5.0.1/32', '1.2.3.-4'],
  },
  ipv4List: {
    valid: ['10.5.0.11', '10.5.0.11,10.5.0.12,10.5.1.200'],
    invalid: ['', '10.5.0.11,', ',10.5.0.11'],
  },
  cidr: {
    valid: ['0.0.0.0/0', '10.0.0.0/8', '198.51.100.7/32'],
    invalid: ['10.0.0.0/33', '10.0.0.0', '300.0.0.0/8', '10.0.0.0/08', '10.0.0.0/-1'],
  },
  cidrList: { valid: ['10.0.0.0/8,192.168.0.0/16'], invalid: ['', '10.0.0.0/8,,10.0.0.0/8', '10.0.0.0/8 '] },
  targetList: {
    valid: ['10.5.0.4:9090', '10.5.0.11:9100,10.5.0.12:7070'],
    invalid: ['', '10.5.0.11', '10.5.0.11:0', '10.5.0.11:123456', 'host:9100'],
  },
  optionalTargetList: { valid: ['', '10.5.0.11:7070,10.5.0.12:7070'], invalid: [',', '10.5.0.11:'] },
  optionalHost: {
    valid: ['', 'capi', 'capi.example.com', '203.0.113.10', 'a-b.c-d.example'],
    invalid: ['-capi', 'capi-', 'capi..example', '.capi', 'capi.example.com.', 'capi_x', 'a'.repeat(64)],
  },
  httpsUrl: {
    valid: [
      'https://x',
      'https://example.com:8443/capi/v1.2.0',
      'https://bucket.s3.eu-west-1.amazonaws.com/a%20b/c+d/e~f/g_h',
      `https://x${'/a'.repeat(16)}`,
    ],
    invalid: [
      'http://x/latest',
      'https://',
      'https://x/',
      'https://x/$(reboot)',
      'https://x/a b',
      'https://x/a(b)',
      'https://x/latest?version=1',
      'https://x/latest#top',
      'https://user:pass@x/latest',
      'https://x:0/latest',
      'https://-x/latest',
      `https://x${'/a'.repeat(17)}`,
      `https://x/${'a'.repeat(129)}`,
    ],
  },
  volumeId: {
    valid: ['vol-01234567', 'vol-0123456789abcdef0'],
    invalid: ['vol-0123456789', 'vol-0123456789ABCDEF0', 'vol-0123456789abcdef01', 'i-0123456789abcdef0'],
  },
  cassandraVersion: {
    valid: ['5.0', '5.0.4', '5.0.123'],
    invalid: ['5', '5.1', '4.1.3', '5.0.1234', '5.0.x'],
  },
  rabbitmqVersion: { valid: ['4.0', '4.1', '4.1.2'], invalid: ['3.13', '4', '4.1.2.3', '4.1-rc1'] },
  prometheusVersion: { valid: ['3.5.0', '2.53.4'], invalid: ['3.5', 'v3.5.0', '3.5.0-rc.0', '1000.0.0'] },
  nodeExporterVersion: { valid: ['1.8.2'], invalid: ['1.8', 'latest'] },
  jmxExporterVersion: { valid: ['0.20.0'], invalid: ['1.3'] },
  clusterSize: { valid: ['1', '128', '9999'], invalid: ['0', '01', '10000', '-1'] },
  workerCount: { valid: ['1', '999'], invalid: ['0', '1000', '06'] },
  expectedNodes: { valid: ['0', '1', '9999'], invalid: ['', '00', '10000'] },
  expectedTargets: { valid: ['0', '99999'], invalid: ['', '007', '100000'] },
  healthCheck: {
    valid: ['rabbitmq', 'webapi', 'ui', 'prometheus'],
    invalid: ['', 'nginx', 'ui,webapi', 'UI'],
  },
  flag: { valid: ['false', 'true'], invalid: ['', 'True', 'yes', '1', 'true,false'] },
  nodeRole: {
    valid: ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'],
    invalid: ['', 'webapi', 'daemon,bastion', 'Daemon'],
  },
  logGroupName: {
    valid: ['/capideploy/a', '/capideploy/my-cluster-01'],
    invalid: ['', 'capideploy/a', '/capideploy/', '/capideploy/-a', '/aws/a', '/capideploy/a/b'],
  },
  logFiles: {
    valid: ['ssm=/var/lib/amazon/ssm/*/std*', 'rabbitmq=/var/log/rabbitmq/rabbit@*.log,ssm=/x'],
    invalid: ['', 'ssm', '=/x', 'ssm=', 'ssm=/x,', 'Ssm=/x', 'ssm=/x y', 'ssm=/x;id'],
  },
};

const rules = Object.entries(RULES) as [keyof typeof RULES, ParameterRule][];

/** Every value tried against a rule, and whether it should match. */
function corpus(name: keyof typeof RULES, rule: ParameterRule): { value: string; valid: boolean }[] {
  const hostile = HOSTILE.flatMap((bad) => [bad, `${rule.example}${bad}`, `${bad}${rule.example}`]);
  return [
    ...[rule.example, ...CASES[name].valid].map((value) => ({ value, valid: true })),
    ...[...CASES[name].invalid, ...hostile].map((value) => ({ value, valid: false })),
  ];
}

describe('parameter rules', () => {
  it.each(rules)(
    '%s: anchored, short, accepts its example and valid values, refuses the rest',
    (name, rule) => {
      expect(rule.pattern).toMatch(/^\^.*\$$/);
      // Parameter Store's own AllowedPattern limit; the documents' patterns stay under it too.
      expect(rule.pattern.length).toBeLessThanOrEqual(1024);
      // Only what JavaScript, Java and POSIX ERE read alike: no \d \w \s, no (?…), no lazy quantifiers.
      expect(rule.pattern).not.toMatch(/\\[dDwWsSbB]|\(\?|[*+?}]\?/);
      expect(rule.description).not.toMatch(/^must /);
      const regex = ruleRegExp(rule);
      for (const { value, valid } of corpus(name, rule))
        expect(regex.test(value), JSON.stringify(value)).toBe(valid);
    },
  );

  it.each(['C', 'C.UTF-8'])(
    'reads the same in bash [[ =~ ]] (the scripts’ param) as in JavaScript (LC_ALL=%s)',
    (locale) => {
      const tried = rules.flatMap(([name, rule]) => corpus(name, rule).map(({ value }) => ({ rule, value })));
      const input = join(scratch, `corpus-${locale}`);
      writeFileSync(input, tried.map(({ rule, value }) => `${rule.pattern}\0${value}\0`).join(''));
      const bash = spawnSync(
        'bash',
        [
          '-c',
          `while IFS= read -r -d '' re && IFS= read -r -d '' v; do [[ $v =~ $re ]] && echo 1 || echo 0; done < "$1"`,
          '_',
          input,
        ],
        { encoding: 'utf8', env: { ...process.env, LC_ALL: locale } },
      );
      expect(bash.status, bash.stderr).toBe(0);
      const answers = bash.stdout.trim().split('\n');
      expect(answers).toHaveLength(tried.length);
      tried.forEach(({ rule, value }, i) => {
        expect(answers[i] === '1', `${rule.pattern} on ${JSON.stringify(value)}`).toBe(
          ruleRegExp(rule).test(value),
        );
      });
    },
  );

  it('maps every parameter to a rule that exists', () => {
    for (const [parameter, rule] of Object.entries(DOCUMENT_PARAMETER_RULES))
      expect(RULES, parameter).toHaveProperty(rule);
  });

  it('takes the release URL in the spec with trailing slashes, which the documents never receive', () => {
    for (const url of ['https://x/latest/', 'https://x//', 'https://x/', 'https://x:8443/a/b///']) {
      expect(url).toMatch(SPEC_RELEASE_URL);
      expect(stripTrailingSlashes(url)).toMatch(ruleRegExp(RULES.httpsUrl));
    }
    for (const url of CASES.httpsUrl.invalid.filter((url) => !/^https:\/\/x\/?$/.test(url))) {
      expect(SPEC_RELEASE_URL.test(url), url).toBe(false);
    }
  });
});

/** Seeded choices, so a failing spec can be reproduced from its seed. */
function random(seed: number) {
  const next = mulberry32(seed);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)];
  const text = (chars: string, min: number, max: number) =>
    Array.from({ length: int(min, max) }, () => pick([...chars])).join('');
  return { next, int, pick, text };
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const REGIONS = [
  ['us-east-1', 'a'],
  ['eu-west-1', 'b'],
  ['ap-southeast-2', 'c'],
  ['us-gov-west-1', 'a'],
  ['ca-central-1', 'd'],
] as const;

/** A valid spec, varied in every field that becomes a document parameter. */
function randomSpec(seed: number): DeploymentSpecInput {
  const r = random(seed);
  const label = (max: number) => {
    const inner = r.text(`${ALNUM}ABCXYZ-`, 0, max - 2);
    return r.next() < 0.3 ? r.pick([...ALNUM]) : `${r.pick([...ALNUM])}${inner}${r.pick([...ALNUM])}`;
  };
  const name = label(24).toLowerCase();
  const [region, zone] = r.pick(REGIONS);
  // A network address (EC2 refuses host bits), so any /0 is 0.0.0.0/0, which needs allowWorld.
  const cidr = () =>
    parseCidr(`${Array.from({ length: 4 }, () => r.int(0, 255)).join('.')}/${r.int(0, 32)}`).network;
  const allowedCidrs = [...new Set(Array.from({ length: r.int(1, 6) }, cidr))];
  const releaseUrl = () =>
    `https://${Array.from({ length: r.int(1, 4) }, () => label(63)).join('.')}${r.next() < 0.3 ? `:${r.int(1, 65535)}` : ''}${Array.from(
      { length: r.int(0, 16) },
      () => `/${r.text(`${ALNUM}._~%+-`, 1, 40)}`,
    ).join('')}${r.pick(['', '', '/', '//'])}`;
  const release = () => `${r.int(0, 999)}.${r.int(0, 999)}.${r.int(0, 999)}`;
  const counts = [1, 2, 3, 4, 90, 91, 128, 154, 155, 500, 1000];
  return {
    name,
    region,
    availabilityZone: `${region}${zone}`,
    flavor:
      r.next() < 0.7
        ? r.pick(Object.keys(FLAVORS))
        : {
            cassandraCores: r.pick([1, 2, 7, 64, 448, 896]),
            // Every type of the flavor's architecture.
            ...r.pick([
              {
                arch: 'arm64',
                cassandra: 'c7gd.2xlarge',
                daemon: 'c7g.2xlarge',
                rabbitmq: 'c7g.medium',
                prometheus: 'c7g.medium',
                bastion: 'c7g.large',
              },
              {
                arch: 'amd64',
                cassandra: 'c5ad.2xlarge',
                daemon: 'c6a.2xlarge',
                rabbitmq: 't3.micro',
                prometheus: 't3.micro',
                bastion: 't3.small',
              },
            ] as const),
          },
    cassandraNodes: r.next() < 0.5 ? r.pick(counts) : r.int(1, 40),
    daemons: r.next() < 0.5 ? r.pick(counts) : r.int(1, 40),
    allowedCidrs,
    ...(allowedCidrs.includes('0.0.0.0/0') ? { allowWorld: true } : {}),
    ...(r.next() < 0.8 ? { capillariesReleaseUrl: releaseUrl() } : {}),
    ...(r.next() < 0.8
      ? {
          versions: {
            cassandra: r.pick(['5.0', `5.0.${r.int(0, 999)}`]),
            rabbitmq: r.pick(['4.1', `4.${r.int(0, 999)}`, `4.${r.int(0, 999)}.${r.int(0, 999)}`]),
            prometheus: release(),
            nodeExporter: release(),
            jmxExporter: release(),
          },
        }
      : {}),
  };
}

const documents = loadDocuments();
const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

describe('validate refuses first whatever SSM would refuse', () => {
  it('capi-deploy validate rejects a release URL carrying a command substitution (exit 2, field named)', () => {
    const file = join(scratch, 'reboot.json');
    writeFileSync(file, JSON.stringify({ ...sample, capillariesReleaseUrl: 'https://x/$(reboot)' }));
    const cli = spawnSync(process.execPath, [join(ROOT, 'bin/capi-deploy.js'), 'validate', file], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    expect(cli.status, cli.stdout + cli.stderr).toBe(2);
    expect(cli.stderr).toContain(`${file}: capillariesReleaseUrl: must be an https URL of a host name`);
    expect(cli.stderr).toContain('no query, space, quote, $ or parenthesis');
    expect(cli.stdout).toBe('');
  });

  it.each([
    ['name', { name: 'x;reboot' }],
    ['region', { region: 'us-east-1$(id)' }],
    ['capillariesReleaseUrl', { capillariesReleaseUrl: 'https://x/a b' }],
    ['allowedCidrs.0', { allowedCidrs: ['0.0.0.0/0 ;'] }],
    ['versions.cassandra', { versions: { cassandra: '5.0.1`id`' } }],
    ['versions.rabbitmq', { versions: { rabbitmq: '4.1|x' } }],
    ['versions.prometheus', { versions: { prometheus: '3.5.0\n' } }],
    ['versions.nodeExporter', { versions: { nodeExporter: '1.9.1&&x' } }],
    ['versions.jmxExporter', { versions: { jmxExporter: '"1.3.0"' } }],
  ])('checkSpec names %s when it holds a shell metacharacter', (field, override) => {
    const { problems } = checkSpec({ ...sample, ...override });
    expect(problems.map((problem) => problem.field)).toEqual([field]);
    expect(problems[0].message).toMatch(/^must be /);
  });

  it.each(SEEDS)(
    'a spec that validates produces only parameters every document accepts (seed %i)',
    (seed) => {
      const raw = randomSpec(seed);
      const checked = checkSpec(raw);
      expect(checked.problems, JSON.stringify(raw)).toEqual([]);
      const spec = checked.spec!;
      const plan = planDeployment(spec);
      const r = random(seed * 7919);
      const extras = {
        logVolumeId: `vol-${r.text('0123456789abcdef', 17, 17).slice(0, r.pick([8, 17]))}`,
        capillariesReleaseUrl: spec.capillariesReleaseUrl,
        versions: spec.versions,
        publicAddress: r.pick(['', 'capi.example.com', '203.0.113.10']),
      };
      const seen = new Set<string>();
      for (const name of PROVISIONING_DOCUMENTS) {
        const declared = documents[name].parameters;
        for (const node of plan.nodes) {
          let parameters: Record<string, string[]>;
          try {
            parameters = documentParameters(plan, name, node, extras);
          } catch (error) {
            // A document for another role: documentParameters refuses it by design.
            expect((error as Error).message).toMatch(/ runs on /);
            continue;
          }
          const checks =
            name === 'capi-health-check' ? ['cassandra', 'rabbitmq', 'webapi', 'ui', 'prometheus'] : [''];
          for (const check of checks) {
            const sent = check ? { ...parameters, Check: [check] } : parameters;
            const key = `${name} ${JSON.stringify(sent)}`;
            if (seen.has(key)) continue;
            seen.add(key);
            for (const [parameter, [value]] of Object.entries(sent)) {
              expect(declared[parameter], `${name}: ${parameter} is not declared`).toBeDefined();
              expect(value, `${name} on ${node.nickname}: ${parameter}`).toMatch(
                new RegExp(declared[parameter].allowedPattern),
              );
            }
            for (const [parameter, definition] of Object.entries(declared)) {
              if (definition.default === undefined)
                expect(sent, `${name} lacks ${parameter}`).toHaveProperty(parameter);
            }
          }
        }
      }
    },
  );
});
