import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import sample from '../../examples/sample.json' with { type: 'json' };
import { documentParameters, type ProvisioningDocumentName } from '../../src/core/documents.js';
import { type Plan, planDeployment } from '../../src/core/spec/plan.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import { loadDocument, provisioningDocsDir } from '../../src/provisioning/documents.js';

/**
 * Runs the provisioning scripts under bash against a fake root, with stub system commands first on PATH
 * (test/provisioning/stub.sh, linked under each command's name). The stubs log their command lines and keep just
 * enough state (packages, users, filesystems, mounts, RabbitMQ users and queues, Cassandra roles) for a second run
 * to see what the first one did.
 */

const HERE = dirname(fileURLToPath(import.meta.url));

export const STUBBED_COMMANDS = [
  'apt-get',
  'dpkg-query',
  'fuser',
  'cloud-init',
  'systemctl',
  'useradd',
  'groupadd',
  'id',
  'chown',
  'curl',
  'gpg',
  'gpgv',
  'uname',
  'dpkg',
  'nc',
  'lsblk',
  'blkid',
  'mkfs.xfs',
  'mount',
  'mountpoint',
  'udevadm',
  'sysctl',
  'sleep',
  'unzip',
  'nginx',
  'nodetool',
  'cqlsh',
  'rabbitmqctl',
  'rabbitmq-plugins',
  'rabbitmq-diagnostics',
  'aws',
  'promtool',
  'python3',
] as const;

/** The secrets the stub `aws ssm get-parameter` returns: every one contains SECRET, and some need escaping. */
export const SECRETS = {
  admin: 'SECRET-admin-7f3a9c',
  user: 'SECRET-user-p@ss:w/rd"q',
  cassandra: "SECRET-cass-x'y\\z",
};

export const samplePlan = (): Plan => planDeployment(DeploymentSpecSchema.parse(sample));

export const plan128 = (): Plan =>
  planDeployment(DeploymentSpecSchema.parse({ ...sample, cassandraNodes: 128, daemons: 128 }));

export const RELEASE = 'https://capillaries-release.s3.us-east-1.amazonaws.com/latest';
const NODE_EXPORTER = 'https://github.com/prometheus/node_exporter/releases/download/v1.9.1';
const PROMETHEUS = 'https://github.com/prometheus/prometheus/releases/download/v3.5.0';
const JMX = 'https://repo1.maven.org/maven2/io/prometheus/jmx/jmx_prometheus_javaagent/1.3.0';
/** The AWS CLI release the scripts pin (provisioning-docs/scripts/lib/awscli.sh). */
export const AWS_CLI_VERSION = '2.36.42';

/** The two architectures of the flavours: Debian's name, the kernel's (uname -m) and the AWS CLI's. */
export type Arch = 'arm64' | 'amd64';
export const ARCHES: Arch[] = ['arm64', 'amd64'];
export const UNAME_M: Record<Arch, string> = { arm64: 'aarch64', amd64: 'x86_64' };

/** Team RabbitMQ's signing key and the Launchpad PPA key, as fixture "keys" whose fingerprint the stub gpg shows. */
export const KEY_FINGERPRINTS = {
  rabbitmqTeam: '0A9AF2115F4687BD29803A206B73A36E6026DFCA',
  launchpadErlang: '0123456789ABCDEF01234567F77F1EDA57EBB1CC',
};

/** Package versions the stub apt installs (glob=version): what the pinned sources publish. */
export const APT_VERSIONS = [
  'erlang-*=1:27.3.4.2-1rmq1ppa1~ubuntu24.04.1',
  'rabbitmq-server=4.1.4-1',
  'cassandra=5.0.6',
  'openjdk-17-jre-headless=17.0.16+8~us1-0ubuntu1~24.04.1',
].join(' ');

const sha = (algorithm: string, data: Buffer | string) => createHash(algorithm).update(data).digest('hex');

/** A gzipped tarball of `files` (path -> content), built with the system tar. */
function tarball(work: string, name: string, files: Record<string, string>): Buffer {
  const src = mkdtempSync(join(work, 'tar-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), content, { mode: 0o755 });
  }
  const out = join(work, name);
  const result = spawnSync('tar', ['-czf', out, '-C', src, '.'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar failed: ${result.stderr}`);
  return readFileSync(out);
}

/**
 * Release artifacts the scripts download, by URL, for both architectures (the spec's default versions). The AWS
 * CLI bundle's signature is `sig:<sha256>` (the stub gpgv checks it); `awsSignature: 'bad'` serves a wrong one.
 */
function writeFixtures(dir: string, options: { awsSignature?: 'good' | 'bad' } = {}): void {
  const urls: string[] = [];
  const serve = (url: string, content: Buffer | string) => {
    const file = `f${urls.length}`;
    writeFileSync(join(dir, file), content);
    urls.push(`${url}\t${file}`);
  };
  const nodeExporterSums: string[] = [];
  const prometheusSums = ['0000  other.tar.gz'];
  for (const arch of ARCHES) {
    const nodeExporterName = `node_exporter-1.9.1.linux-${arch}`;
    const nodeExporter = tarball(dir, `ne-${arch}.tgz`, {
      [`${nodeExporterName}/node_exporter`]: `#!/bin/sh\necho ne ${arch}\n`,
    });
    serve(`${NODE_EXPORTER}/${nodeExporterName}.tar.gz`, nodeExporter);
    nodeExporterSums.push(`${sha('sha256', nodeExporter)}  ${nodeExporterName}.tar.gz`);
    const prometheusName = `prometheus-3.5.0.linux-${arch}`;
    const prometheus = tarball(dir, `prom-${arch}.tgz`, {
      [`${prometheusName}/prometheus`]: `#!/bin/sh\necho prometheus ${arch}\n`,
      [`${prometheusName}/promtool`]: '#!/bin/sh\necho promtool\n',
    });
    serve(`${PROMETHEUS}/${prometheusName}.tar.gz`, prometheus);
    prometheusSums.push(`${sha('sha256', prometheus)}  ${prometheusName}.tar.gz`);
    for (const binary of ['capiwebapi', 'capidaemon']) {
      serve(`${RELEASE}/linux/${arch}/${binary}.gz`, gzipSync(`ELF ${binary}\n`));
      serve(`${RELEASE}/linux/${arch}/${binary}.json`, `{"handler_executable_type":"${binary}"}\n`);
    }
    serve(
      `https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/${arch}/latest/amazon-cloudwatch-agent.deb`,
      `Package: amazon-cloudwatch-agent\nArchitecture: ${arch}\n`,
    );
    const zip = `awscli ${AWS_CLI_VERSION}\n${UNAME_M[arch]}\n`;
    const awsUrl = `https://awscli.amazonaws.com/awscli-exe-linux-${UNAME_M[arch]}-${AWS_CLI_VERSION}.zip`;
    serve(awsUrl, zip);
    serve(`${awsUrl}.sig`, `sig:${sha('sha256', options.awsSignature === 'bad' ? `${zip}tampered` : zip)}`);
  }
  serve(`${NODE_EXPORTER}/sha256sums.txt`, `${nodeExporterSums.join('\n')}\n`);
  serve(`${PROMETHEUS}/sha256sums.txt`, `${prometheusSums.join('\n')}\n`);
  serve(
    `${RELEASE}/webui/webui.tgz`,
    tarball(dir, 'ui.tgz', {
      'index.html': '<html>capillaries</html>\n',
      '_app/immutable/entry/app.js': 'fetch("http://localhost:6543/ks")\n',
    }),
  );
  serve(
    `https://keys.openpgp.org/vks/v1/by-fingerprint/${KEY_FINGERPRINTS.rabbitmqTeam}`,
    `KEY ${KEY_FINGERPRINTS.rabbitmqTeam}\n`,
  );
  serve(
    'https://keyserver.ubuntu.com/pks/lookup?op=get&search=0xF77F1EDA57EBB1CC',
    `KEY ${KEY_FINGERPRINTS.launchpadErlang}\n`,
  );
  serve('https://downloads.apache.org/cassandra/KEYS', 'CASSANDRA KEYS\n');
  const jar = 'PK fake jmx agent';
  serve(`${JMX}/jmx_prometheus_javaagent-1.3.0.jar`, jar);
  serve(`${JMX}/jmx_prometheus_javaagent-1.3.0.jar.sha1`, sha('sha1', jar));
  writeFileSync(join(dir, 'urls.tsv'), `${urls.join('\n')}\n`);
}

/** One fake node: its root directory, the stub state and call log, and the stubs on PATH. */
export interface FakeNode {
  root: string;
  env: Record<string, string>;
  logFile: string;
  /** Stub call lines logged since the last `runScript`. */
  calls: string[];
  cleanup(): void;
}

/** A fresh fake Ubuntu 24.04 node with 4 GiB of memory, arm64 unless `arch` says otherwise. */
export function fakeNode(
  options: {
    lsblk?: string;
    nodes?: string[];
    ip?: string;
    arch?: Arch;
    awsSignature?: 'good' | 'bad';
    /** The instance's Name tag in the instance metadata; none: instance metadata tags are off (404). */
    nameTag?: string;
    env?: Record<string, string>;
  } = {},
): FakeNode {
  const arch = options.arch ?? 'arm64';
  const base = mkdtempSync(join(tmpdir(), 'capi-node-'));
  const [root, bin, state, fixtures, scratch] = ['root', 'bin', 'state', 'fixtures', 'tmp'].map((name) => {
    mkdirSync(join(base, name));
    return join(base, name);
  });
  const stub = join(bin, 'stub.sh');
  copyFileSync(join(HERE, 'stub.sh'), stub);
  chmodSync(stub, 0o755);
  for (const command of STUBBED_COMMANDS) symlinkSync(stub, join(bin, command));
  writeFixtures(fixtures, { awsSignature: options.awsSignature });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'proc'));
  writeFileSync(join(root, 'etc/os-release'), 'NAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n');
  writeFileSync(join(root, 'proc/meminfo'), 'MemTotal:        4096000 kB\nMemFree:         1000000 kB\n');
  const logFile = join(base, 'calls.log');
  writeFileSync(logFile, '');
  return {
    root,
    logFile,
    calls: [],
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: base,
      LANG: 'C.UTF-8',
      TMPDIR: scratch,
      CAPI_ROOT: root,
      STUB_LOG: logFile,
      STUB_STATE: state,
      STUB_FIXTURES: fixtures,
      STUB_BIN: bin,
      STUB_SECRET_ADMIN: SECRETS.admin,
      STUB_SECRET_USER: SECRETS.user,
      STUB_SECRET_CASSANDRA: SECRETS.cassandra,
      STUB_NODES: (options.nodes ?? []).join(' '),
      // The private address the instance metadata service reports.
      STUB_LOCAL_IPV4: options.ip ?? '10.5.0.11',
      STUB_NAME_TAG: options.nameTag ?? '',
      STUB_LSBLK: options.lsblk ?? '',
      // Both ways the scripts ask the architecture: the kernel's and dpkg's.
      STUB_UNAME_M: UNAME_M[arch],
      STUB_DPKG_ARCH: arch,
      STUB_APT_VERSIONS: APT_VERSIONS,
      ...options.env,
    },
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[];
}

/** The bash text SSM runs for a document: its first step's runCommand lines, scripts inlined. */
export function documentScript(document: ProvisioningDocumentName): string {
  return `${loadDocument(document).mainSteps[0].inputs.runCommand.join('\n')}\n`;
}

const SCRIPT_OF: Record<ProvisioningDocumentName, string> = {
  'capi-bastion-install': 'bastion/install.sh',
  'capi-bastion-configure': 'bastion/configure.sh',
  'capi-rabbitmq-install': 'rabbitmq/install.sh',
  'capi-rabbitmq-configure': 'rabbitmq/configure.sh',
  'capi-prometheus-install': 'prometheus/install.sh',
  'capi-prometheus-configure': 'prometheus/configure.sh',
  'capi-cassandra-install': 'cassandra/install.sh',
  'capi-cassandra-configure': 'cassandra/configure.sh',
  'capi-cassandra-decommission': 'cassandra/decommission.sh',
  'capi-cassandra-cleanup': 'cassandra/cleanup.sh',
  'capi-daemon-install': 'daemon/install.sh',
  'capi-daemon-configure': 'daemon/configure.sh',
  'capi-cloudwatch-agent': 'cloudwatch/agent.sh',
  'capi-health-check': 'health/check.sh',
  'capi-services-stop': 'services/stop.sh',
  'capi-services-start': 'services/start.sh',
};

/**
 * Runs a document on the fake node, with its parameters as SSM_<Name> variables (as the agent's ENV_VAR
 * interpolation sets them). `from: 'document'` runs the inlined document text, `from: 'disk'` the script file
 * (which sources lib/common.sh): both must behave the same.
 */
export function runDocument(
  node: FakeNode,
  document: ProvisioningDocumentName,
  parameters: Record<string, string[] | string>,
  options: { from?: 'document' | 'disk'; env?: Record<string, string> } = {},
): ScriptRun {
  const ssmEnv = Object.fromEntries(
    Object.entries(parameters).map(([key, value]) => [
      `SSM_${key}`,
      Array.isArray(value) ? value.join(',') : value,
    ]),
  );
  let script = join(provisioningDocsDir(), 'scripts', SCRIPT_OF[document]);
  if ((options.from ?? 'document') === 'document') {
    script = join(node.env.TMPDIR, `${document}.sh`);
    writeFileSync(script, documentScript(document));
  }
  const before = readFileSync(node.logFile, 'utf8').length;
  const result = spawnSync('bash', [script], {
    env: { ...node.env, ...ssmEnv, ...options.env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  const calls = readFileSync(node.logFile, 'utf8').slice(before).split('\n').filter(Boolean);
  node.calls = calls;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

/** Parameters for a document from the sample plan, plus defaults of the document for those not given. */
export function parametersFor(
  plan: Plan,
  document: ProvisioningDocumentName,
  nickname: string,
  extras: Parameters<typeof documentParameters>[3] = {},
): Record<string, string> {
  const node = plan.nodes.find((candidate) => candidate.nickname === nickname);
  if (!node) throw new Error(`no node ${nickname}`);
  const defaults = Object.fromEntries(
    Object.entries(loadDocument(document).parameters)
      .filter(([, definition]) => definition.default !== undefined)
      .map(([key, definition]) => [key, definition.default as string]),
  );
  const given = Object.fromEntries(
    Object.entries(documentParameters(plan, document, node, extras)).map(([key, value]) => [
      key,
      value.join(','),
    ]),
  );
  return { ...defaults, ...given };
}

/** Path -> type, mode and content hash (or link target) of every entry under `root`. */
export function treeState(root: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const key = path.slice(root.length);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) entries.set(key, `link ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        entries.set(key, `dir ${mode}`);
        walk(path);
      } else entries.set(key, `file ${mode} ${sha('sha256', readFileSync(path))}`);
    }
  };
  walk(root);
  return entries;
}

/** Entries that differ between two tree states, for a readable assertion message. */
export function treeDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((key) => before.get(key) !== after.get(key)).sort();
}

export const read = (node: FakeNode, path: string) => readFileSync(join(node.root, path), 'utf8');
export const exists = (node: FakeNode, path: string) => existsSync(join(node.root, path));
export const linkTarget = (node: FakeNode, path: string) => readlinkSync(join(node.root, path));
export const modeOf = (node: FakeNode, path: string) =>
  (lstatSync(join(node.root, path)).mode & 0o777).toString(8);

/** Every way a secret could leak: stdout, stderr and the arguments of every stubbed command. */
export function leakedSecrets(run: ScriptRun): string[] {
  const text = [run.stdout, run.stderr, ...run.calls].join('\n');
  return text.includes('SECRET') ? text.split('\n').filter((line) => line.includes('SECRET')) : [];
}

/** A readable failure message for a script run. */
export const explain = (run: ScriptRun) =>
  `exit ${run.status}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}\n--- calls\n${run.calls.join('\n')}`;
