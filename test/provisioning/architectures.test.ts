import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sourcesOf } from '../../src/core/cluster-logs.js';
import type { ProvisioningDocumentName } from '../../src/core/documents.js';
import { provisioningDocsDir } from '../../src/provisioning/documents.js';
import {
  ARCHES,
  type Arch,
  AWS_CLI_VERSION,
  explain,
  type FakeNode,
  fakeNode,
  parametersFor,
  read,
  runDocument,
  samplePlan,
  UNAME_M,
} from './harness.js';

/**
 * Every install and configure document on an arm64 and an amd64 node (the stub answers `uname -m` and
 * `dpkg --print-architecture` for that architecture): what each writes and downloads, and the version matrix of
 * provisioning-docs/README.md checked against it.
 */

const RING = ['10.5.0.11', '10.5.0.12', '10.5.0.13', '10.5.0.14'];
const STORE = 'nvme0n1 Amazon Elastic Block Store\\nnvme1n1 Amazon EC2 NVMe Instance Storage';
const VOLUME = 'vol-0123456789abcdef0';

/** A bastion with its log volume attached, as bastion.test.ts sets it up. */
function bastionNode(arch: Arch): FakeNode {
  const node = fakeNode({ arch });
  mkdirSync(join(node.root, 'dev/disk/by-id'), { recursive: true });
  writeFileSync(join(node.root, 'dev/nvme1n1'), '');
  symlinkSync(
    '../../nvme1n1',
    join(node.root, 'dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'),
  );
  return node;
}

/** One role on one architecture: its install then configure document, on the same node. */
interface RoleRun {
  role: string;
  node: () => FakeNode;
  nickname: string;
  install: ProvisioningDocumentName;
  configure: ProvisioningDocumentName;
}

const ROLES = (arch: Arch): RoleRun[] => [
  {
    role: 'bastion',
    node: () => bastionNode(arch),
    nickname: 'bastion',
    install: 'capi-bastion-install',
    configure: 'capi-bastion-configure',
  },
  {
    role: 'rabbitmq',
    node: () => fakeNode({ arch }),
    nickname: 'rabbitmq',
    install: 'capi-rabbitmq-install',
    configure: 'capi-rabbitmq-configure',
  },
  {
    role: 'prometheus',
    node: () => fakeNode({ arch }),
    nickname: 'prometheus',
    install: 'capi-prometheus-install',
    configure: 'capi-prometheus-configure',
  },
  {
    role: 'cassandra',
    // The packaged cqlsh refuses Python 3.12 here, so the PyPI fallback is installed too.
    node: () => fakeNode({ arch, lsblk: STORE, nodes: RING, env: { STUB_CQLSH_BROKEN: '1' } }),
    nickname: 'cass001',
    install: 'capi-cassandra-install',
    configure: 'capi-cassandra-configure',
  },
  {
    role: 'daemon',
    node: () => fakeNode({ arch }),
    nickname: 'daemon001',
    install: 'capi-daemon-install',
    configure: 'capi-daemon-configure',
  },
];

/** What the documents did on one architecture: every stub call and the files that matter, by role. */
interface ArchRun {
  calls: string[];
  stdout: string;
  files: Record<string, string>;
  /** The CloudWatch agent configuration capi-cloudwatch-agent wrote, by node nickname. */
  agentConfigs: Record<string, string>;
}

const nodes: FakeNode[] = [];
afterAll(() => {
  for (const node of nodes) node.cleanup();
});

const FILES = [
  'etc/apt/sources.list.d/rabbitmq.list',
  'etc/apt/preferences.d/rabbitmq',
  'etc/apt/sources.list.d/cassandra.list',
  'etc/prometheus/prometheus.yml',
];

const AGENT_CONFIG = 'opt/aws/amazon-cloudwatch-agent/etc/capideploy.json';

const runs = new Map<Arch, ArchRun>();
/** Runs every role on `arch` once per test file (the matrix test reuses the runs of the arch tests). */
function runAll(arch: Arch): ArchRun {
  const cached = runs.get(arch);
  if (cached) return cached;
  const plan = samplePlan();
  const result: ArchRun = { calls: [], stdout: '', files: {}, agentConfigs: {} };
  for (const role of ROLES(arch)) {
    const node = role.node();
    nodes.push(node);
    for (const document of [role.install, role.configure, 'capi-cloudwatch-agent'] as const) {
      const run = runDocument(
        node,
        document,
        parametersFor(plan, document, role.nickname, { logVolumeId: VOLUME }),
        // The Name tag the agent document reads from the instance metadata.
        { env: { STUB_NAME_TAG: `${plan.deployment}-${role.nickname}` } },
      );
      expect(run.status, `${document} on ${arch}\n${explain(run)}`).toBe(0);
      result.calls.push(...run.calls);
      result.stdout += run.stdout;
    }
    result.agentConfigs[role.nickname] = read(node, AGENT_CONFIG);
    for (const file of FILES) {
      try {
        result.files[file] = read(node, file);
      } catch {
        // not this role's file
      }
    }
  }
  runs.set(arch, result);
  return result;
}

const urls = (run: { calls: string[] }) =>
  run.calls.filter((call) => call.startsWith('curl ')).map((call) => call.split(' ').pop() ?? '');

describe.each(ARCHES)('every install and configure document on %s', (arch) => {
  const other = arch === 'arm64' ? 'amd64' : 'arm64';

  it('downloads only the assets of its architecture, checked against their sums or signatures', () => {
    // Act
    const run = runAll(arch);
    // Assess
    const fetched = urls(run);
    for (const prefix of [
      `https://github.com/prometheus/node_exporter/releases/download/v1.9.1/node_exporter-1.9.1.linux-${arch}.tar.gz`,
      `https://github.com/prometheus/prometheus/releases/download/v3.5.0/prometheus-3.5.0.linux-${arch}.tar.gz`,
      `/linux/${arch}/capidaemon.gz`,
      `/linux/${arch}/capiwebapi.gz`,
      `https://awscli.amazonaws.com/awscli-exe-linux-${UNAME_M[arch]}-${AWS_CLI_VERSION}.zip`,
      `https://awscli.amazonaws.com/awscli-exe-linux-${UNAME_M[arch]}-${AWS_CLI_VERSION}.zip.sig`,
      `https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/${arch}/latest/amazon-cloudwatch-agent.deb`,
    ]) {
      expect(
        fetched.some((url) => url.endsWith(prefix) || url === prefix),
        prefix,
      ).toBe(true);
    }
    expect(fetched.filter((url) => url.includes(other) || url.includes(UNAME_M[other]))).toEqual([]);
    // The AWS CLI bundle is installed by every role that reads secrets, each time after gpgv accepted it.
    const gpgv = run.calls.filter((call) => call.startsWith('gpgv --keyring '));
    expect(gpgv).toHaveLength(4);
    for (const call of gpgv) expect(call).toMatch(new RegExp(`awscli-exe-linux-${UNAME_M[arch]}-`));
    expect(run.calls.filter((call) => call === 'install --update')).toHaveLength(4);
  }, 60_000);

  it("writes the repositories and pins of its architecture: Erlang 27 and RabbitMQ 4.1, never Ubuntu's", () => {
    // Act
    const { files, stdout } = runAll(arch);
    // Assess
    expect(files['etc/apt/sources.list.d/rabbitmq.list']).toContain(
      `deb [arch=${arch} signed-by=/usr/share/keyrings/net.launchpad.ppa.rabbitmq.erlang.gpg] https://ppa.launchpadcontent.net/rabbitmq/rabbitmq-erlang-27/ubuntu noble main\n`,
    );
    expect(files['etc/apt/preferences.d/rabbitmq']).toMatch(
      /Package: erlang\*\nPin: version 1:27\.\*\nPin-Priority: 1001\n\nPackage: erlang\*\nPin: release o=Ubuntu\nPin-Priority: -1\n/,
    );
    expect(files['etc/apt/preferences.d/rabbitmq']).toMatch(
      /Package: rabbitmq-server\nPin: version 4\.1\.\*\nPin-Priority: 1001\n\nPackage: rabbitmq-server\nPin: release o=Ubuntu\nPin-Priority: -1\n/,
    );
    expect(files['etc/apt/sources.list.d/cassandra.list']).toBe(
      'deb [signed-by=/etc/apt/keyrings/apache-cassandra.asc] https://debian.cassandra.apache.org 50x main\n',
    );
    // The versions each install checked after installing.
    for (const line of [
      'erlang-base 1:27.',
      'rabbitmq-server 4.1.',
      'cassandra 5.0.',
      'openjdk-17-jre-headless 17.',
      `verified awscli-exe-linux-${UNAME_M[arch]}-${AWS_CLI_VERSION}.zip`,
    ]) {
      expect(stdout).toContain(line);
    }
  });

  it('installs the CloudWatch agent on every role, shipping its sources as <node>/<source> streams', () => {
    // Act
    const run = runAll(arch);
    // Assess
    const debs = urls(run).filter((url) => url.endsWith('/amazon-cloudwatch-agent.deb'));
    expect(debs).toEqual(Array(5).fill(debs[0]));
    expect(run.calls.filter((call) => call.startsWith('dpkg -i'))).toHaveLength(5);
    const plan = samplePlan();
    for (const role of ROLES(arch)) {
      const node = plan.nodes.find((candidate) => candidate.nickname === role.nickname);
      const config = JSON.parse(run.agentConfigs[role.nickname]);
      const streams = config.logs.logs_collected.files.collect_list.map(
        (entry: { file_path: string; log_group_name: string; log_stream_name: string }) => [
          entry.log_group_name,
          entry.log_stream_name,
          entry.file_path,
        ],
      );
      expect(streams, role.role).toEqual(
        sourcesOf(node!.role).map((entry) => [
          '/capideploy/sample',
          `${role.nickname}/${entry.source}`,
          entry.path,
        ]),
      );
    }
    expect(run.calls).toContain(
      'amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/capideploy.json',
    );
  });

  it('refuses a node whose dpkg and kernel disagree on the architecture', () => {
    // Prepare: an amd64 userland on the other kernel
    const node = fakeNode({ arch, env: { STUB_DPKG_ARCH: other } });
    nodes.push(node);
    // Act
    const run = runDocument(
      node,
      'capi-prometheus-install',
      parametersFor(samplePlan(), 'capi-prometheus-install', 'prometheus'),
    );
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`ERROR: dpkg says ${other} but the kernel says ${UNAME_M[arch]}`);
    expect(urls(run)).toEqual([]);
  });
});

describe('the AWS CLI installer', () => {
  it('does not install a bundle whose signature does not verify with the key in the repository', () => {
    // Prepare
    const node = fakeNode({ arch: 'amd64', awsSignature: 'bad' });
    nodes.push(node);
    // Act
    const run = runDocument(
      node,
      'capi-daemon-install',
      parametersFor(samplePlan(), 'capi-daemon-install', 'daemon001'),
    );
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('gpgv: BAD signature');
    expect(run.stderr).toContain(
      `ERROR: the signature of https://awscli.amazonaws.com/awscli-exe-linux-x86_64-${AWS_CLI_VERSION}.zip does not verify with the AWS CLI key FB5DB77FD5C118B80511ADA8A6310ACC4672475C`,
    );
    expect(run.calls.filter((call) => call.startsWith('unzip') || call.startsWith('install'))).toEqual([]);
  });

  it('leaves the pinned release alone and replaces any other', () => {
    // Prepare
    const pinned = fakeNode({ env: { STUB_AWS_VERSION: AWS_CLI_VERSION } });
    const older = fakeNode({ env: { STUB_AWS_VERSION: '2.15.0' } });
    nodes.push(pinned, older);
    const parameters = parametersFor(samplePlan(), 'capi-daemon-install', 'daemon001');
    // Act
    const kept = runDocument(pinned, 'capi-daemon-install', parameters);
    const updated = runDocument(older, 'capi-daemon-install', parameters);
    // Assess
    expect(kept.status, explain(kept)).toBe(0);
    expect(kept.calls.filter((call) => call.includes('awscli'))).toEqual([]);
    expect(updated.status, explain(updated)).toBe(0);
    expect(updated.calls).toContain('install --update');
  });
});

/** The version matrix of provisioning-docs/README.md: component -> { amd64, arm64 } cells. */
function readmeMatrix(): Map<string, Record<Arch, string>> {
  const text = readFileSync(join(provisioningDocsDir(), 'README.md'), 'utf8');
  const section = text.split('\n## Version matrix\n')[1]?.split('\n## ')[0];
  if (!section) throw new Error('provisioning-docs/README.md has no "## Version matrix" section');
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/`/g, '')),
    );
  const [header, ...body] = rows;
  expect(header.slice(0, 3)).toEqual(['Component', 'amd64', 'arm64']);
  return new Map(body.map(([component, amd64, arm64]) => [component, { amd64, arm64 }]));
}

/** The version of each component, as the runs on `arch` show it (the first word of its matrix cell). */
function installedVersions(arch: Arch): Record<string, string> {
  const run = runAll(arch);
  const all = [...urls(run), ...run.calls, ...Object.values(run.files)].join('\n');
  const match = (pattern: RegExp) => {
    const found = pattern.exec(all)?.[1];
    if (!found) throw new Error(`no match for ${pattern} on ${arch}`);
    return found;
  };
  const pin = (pkg: string) => {
    const found = new RegExp(`Package: ${pkg}\\nPin: version (?:1:)?([0-9.]+)\\.\\*`).exec(
      run.files['etc/apt/preferences.d/rabbitmq'],
    )?.[1];
    if (!found) throw new Error(`no version pin of ${pkg} on ${arch}`);
    return `${found}.x`;
  };
  const cassandraSeries = /debian\.cassandra\.apache\.org (\d)(\d)x /.exec(
    run.files['etc/apt/sources.list.d/cassandra.list'],
  );
  return {
    Ubuntu: match(/ubuntu\/([a-z]+) \1 main/) === 'noble' ? '24.04' : 'unknown',
    Cassandra: `${cassandraSeries?.[1]}.${cassandraSeries?.[2]}.x`,
    Java: match(/ openjdk-(\d+)-jre-headless/),
    cqlsh: match(/cqlsh==([0-9.]+)/),
    RabbitMQ: pin('rabbitmq-server'),
    Erlang: pin('erlang\\*'),
    Prometheus: match(/prometheus-([0-9.]+)\.linux-/),
    node_exporter: match(/node_exporter-([0-9.]+)\.linux-/),
    'JMX exporter': match(/jmx_prometheus_javaagent-([0-9.]+)\.jar/),
    'AWS CLI': match(/awscli-exe-linux-[a-z0-9_]+-([0-9.]+)\.zip/),
    'CloudWatch agent': match(
      /amazoncloudwatch-agent\.s3\.amazonaws\.com\/ubuntu\/[a-z0-9]+\/([a-z0-9.]+)\//,
    ),
  };
}

describe('the version matrix of provisioning-docs/README.md', () => {
  it('lists, for each architecture, what the scripts install', () => {
    // Prepare
    const matrix = readmeMatrix();
    for (const arch of ARCHES) {
      // Act
      const installed = installedVersions(arch);
      // Assess
      expect([...matrix.keys()].sort()).toEqual(Object.keys(installed).sort());
      for (const [component, version] of Object.entries(installed)) {
        expect(matrix.get(component)?.[arch].split(' ')[0], `${component} on ${arch}`).toBe(version);
      }
    }
  }, 60_000);
});
