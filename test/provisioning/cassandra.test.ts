import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APT_VERSIONS,
  exists,
  explain,
  type FakeNode,
  fakeNode,
  leakedSecrets,
  linkTarget,
  modeOf,
  parametersFor,
  read,
  runDocument,
  samplePlan,
  treeDiff,
  treeState,
} from './harness.js';

const RING = ['10.5.0.11', '10.5.0.12', '10.5.0.13', '10.5.0.14'];
const ROOT_EBS = 'nvme0n1 Amazon Elastic Block Store';
const STORE = 'Amazon EC2 NVMe Instance Storage';

describe('capi-cassandra-install', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());

  it('installs Java 17 and Cassandra 5.0 without starting it, the JMX agent and node_exporter; a re-run changes nothing', () => {
    // Prepare
    node = fakeNode();
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-install', 'cass001');
    // Act
    const first = runDocument(node, 'capi-cassandra-install', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    expect(read(node, 'etc/apt/sources.list.d/cassandra.list')).toBe(
      'deb [signed-by=/etc/apt/keyrings/apache-cassandra.asc] https://debian.cassandra.apache.org 50x main\n',
    );
    const installs = first.calls.filter((call) => / install /.test(call)).join('\n');
    expect(installs).toMatch(/openjdk-17-jre-headless/);
    expect(installs).toMatch(/ cassandra$/m);
    // The package's init script was held back while it installed, and policy-rc.d is gone afterwards.
    expect(exists(node, 'usr/sbin/policy-rc.d')).toBe(false);
    expect(first.calls.filter((call) => call.startsWith('systemctl') && call.includes('cassandra'))).toEqual(
      [],
    );
    expect(linkTarget(node, 'opt/jmx_exporter/jmx_prometheus_javaagent.jar')).toBe(
      '/opt/jmx_exporter/jmx_prometheus_javaagent-1.3.0.jar',
    );
    expect(read(node, 'etc/cassandra/jmx_exporter.yml')).toContain('org.apache.cassandra.metrics');
    expect(read(node, 'etc/sysctl.d/60-cassandra.conf')).toContain('vm.max_map_count = 1048575');

    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-cassandra-install', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /^(apt-get|curl|sysctl)|restart/.test(call))).toEqual([]);
  });

  it('installs a PyPI cqlsh when the packaged one does not run on the Python of the node', () => {
    // Prepare
    node = fakeNode({ env: { STUB_CQLSH_BROKEN: '1' } });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-install', 'cass001');
    // Act
    const first = runDocument(node, 'capi-cassandra-install', parameters);
    const second = runDocument(node, 'capi-cassandra-install', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    expect(first.calls).toContain(`python3 -m venv ${node.root}/opt/cqlsh`);
    expect(first.calls).toContain('pip install --quiet --disable-pip-version-check cqlsh==6.2.2');
    expect(linkTarget(node, 'usr/local/bin/cqlsh')).toBe('/opt/cqlsh/bin/cqlsh');
    expect(second.status, explain(second)).toBe(0);
    expect(second.calls.filter((call) => call.startsWith('python3'))).toEqual([]);
  });

  it('installs an exact Cassandra release when the spec names one', () => {
    // Prepare
    node = fakeNode();
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-install', 'cass001', {
      versions: { cassandra: '5.0.4' },
    });
    const versions = `${APT_VERSIONS} cassandra=5.0.4`.replace('cassandra=5.0.6 ', '');
    // Act
    const run = runDocument(node, 'capi-cassandra-install', parameters, {
      env: { STUB_APT_VERSIONS: versions },
    });
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.calls.some((call) => / install .*cassandra=5\.0\.4$/.test(call))).toBe(true);
    expect(run.stdout).toContain('cassandra 5.0.4 (Cassandra 5.0.4)');
  });

  it.each([
    [
      'another Cassandra than the one asked for',
      { cassandra: '5.0.4' },
      'cassandra is 5.0.6, not Cassandra 5.0.4',
    ],
    ['a Java other than 17', {}, 'openjdk-17-jre-headless is 21.0.8+9-1, not OpenJDK 17'],
  ])('fails closed when apt installs %s', (_, versions, message) => {
    // Prepare
    node = fakeNode();
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-install', 'cass001', { versions });
    // Act
    const run = runDocument(node, 'capi-cassandra-install', parameters, {
      env: {
        STUB_APT_VERSIONS: APT_VERSIONS.replace(
          /openjdk-17-jre-headless=\S+/,
          'openjdk-17-jre-headless=21.0.8+9-1',
        ),
      },
    });
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`ERROR: ${message}`);
  });
});

describe('capi-cassandra-configure', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());

  it('mounts the instance store, writes cassandra.yaml, starts the node and sets up authentication once', () => {
    // Prepare
    node = fakeNode({ lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`, nodes: RING });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass001');
    // Act
    const first = runDocument(node, 'capi-cassandra-configure', parameters);
    // Assess: only the instance store is formatted, and it is mounted by UUID with nofail
    expect(first.status, explain(first)).toBe(0);
    expect(first.calls.filter((call) => call.startsWith('mkfs'))).toEqual(['mkfs.xfs -q -K /dev/nvme1n1']);
    expect(read(node, 'etc/fstab')).toMatch(/^UUID=[0-9a-f-]+ \/data xfs defaults,noatime,nofail 0 2\n$/);
    const yaml = read(node, 'etc/cassandra/cassandra.yaml');
    for (const line of [
      "cluster_name: 'sample'",
      'num_tokens: 1',
      "initial_token: '-9223372036854775808'",
      // At most three seeds, the first nodes of the list.
      '      - seeds: "10.5.0.11,10.5.0.12,10.5.0.13"',
      'listen_address: 10.5.0.11',
      'rpc_address: 10.5.0.11',
      'authenticator: PasswordAuthenticator',
      'authorizer: CassandraAuthorizer',
      'data_file_directories:\n  - /data/data\n',
      'commitlog_directory: /data/commitlog',
    ]) {
      expect(yaml).toContain(line);
    }
    expect(yaml).not.toContain('auto_bootstrap');
    // The seeds the plan shows are the ones the node writes.
    expect(yaml).toContain(`      - seeds: "${samplePlan().cassandra.seeds.join(',')}"\n`);
    const unit = read(node, 'etc/systemd/system/cassandra.service');
    expect(unit).toContain('-javaagent:/opt/jmx_exporter/jmx_prometheus_javaagent.jar=7070:');
    // Half of the node's 4000 MiB, as Cassandra 5.0 sizes the heap for G1; heap dumps on the data disk.
    expect(unit).toContain('Environment=MAX_HEAP_SIZE=2000M\n');
    expect(unit).toContain('Environment=CASSANDRA_HEAPDUMP_DIR=/data/heapdump\n');
    expect(modeOf(node, 'data/heapdump')).toBe('750');
    expect(first.calls).toContain(
      `chown -R cassandra:cassandra ${node.root}/data/data ${node.root}/data/commitlog ${node.root}/data/saved_caches ${node.root}/data/hints ${node.root}/data/cdc_raw ${node.root}/data/heapdump`,
    );
    // A seed starts without waiting for the others.
    expect(first.calls.filter((call) => call.startsWith('nc '))).toEqual([]);
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('WantedBy=multi-user.target');
    expect(first.calls).toContain('systemctl restart cassandra');
    // Authentication: probe as capillaries (fails), create it as the default superuser, then lock the default one
    const cql = first.calls.filter((call) => call.startsWith('cqlsh'));
    expect(cql.map((call) => /cqlshrc\.(\w+)/.exec(call)?.[1])).toEqual([
      'capillaries',
      'cassandra',
      'capillaries',
    ]);
    expect(first.calls).toContain('nodetool repair --full system_auth');
    expect(leakedSecrets(first)).toEqual([]);

    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-cassandra-configure', parameters, { from: 'disk' });
    // Assess: nothing rewritten or restarted, and the role is only probed
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /mkfs|restart|repair|mount /.test(call))).toEqual([]);
    expect(second.calls.filter((call) => call.startsWith('cqlsh'))).toHaveLength(1);
    expect(leakedSecrets(second)).toEqual([]);
  });

  it('puts data on every instance-store disk and leaves authentication to the first node', () => {
    // Prepare
    node = fakeNode({
      lsblk: `nvme2n1 ${STORE}\\n${ROOT_EBS}\\nnvme1n1 ${STORE}  `,
      nodes: RING,
      ip: '10.5.0.13',
    });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass003');
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', parameters);
    // Assess
    expect(run.status, explain(run)).toBe(0);
    const yaml = read(node, 'etc/cassandra/cassandra.yaml');
    // The third node of four bisects the first half of the ring of two (src/core/spec/plan.ts cassandraToken).
    expect(yaml).toContain("initial_token: '-4611686018427387904'");
    expect(yaml).toContain('data_file_directories:\n  - /data/data\n  - /data1/data\n');
    expect(read(node, 'etc/fstab').split('\n').filter(Boolean)).toHaveLength(2);
    expect(run.calls.filter((call) => call.startsWith('cqlsh') || call.includes('aws '))).toEqual([]);
  });

  it('refuses to configure a node whose address is not in the node list', () => {
    // Prepare
    node = fakeNode({ lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`, nodes: RING, ip: '10.5.0.99' });
    // Act
    const run = runDocument(
      node,
      'capi-cassandra-configure',
      parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass001'),
    );
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('this node (10.5.0.99) is not in the Cassandra node list');
    expect(run.calls.filter((call) => call.startsWith('mkfs'))).toEqual([]);
  });

  it('fails with a clear message on an instance type without instance store', () => {
    // Prepare
    node = fakeNode({ lsblk: ROOT_EBS, nodes: RING });
    // Act
    const run = runDocument(
      node,
      'capi-cassandra-configure',
      parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass002'),
    );
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("no NVMe instance store ('Amazon EC2 NVMe Instance Storage')");
    expect(run.calls.filter((call) => call.startsWith('mkfs'))).toEqual([]);
  });

  it('starts a non-seed node only once every seed serves CQL, and joins it without bootstrapping', () => {
    // Prepare
    node = fakeNode({ lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`, nodes: RING, ip: '10.5.0.14' });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass004');
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', parameters);
    // Assess
    expect(run.status, explain(run)).toBe(0);
    const yaml = read(node, 'etc/cassandra/cassandra.yaml');
    expect(yaml).toContain('      - seeds: "10.5.0.11,10.5.0.12,10.5.0.13"');
    expect(yaml).toContain('auto_bootstrap: false\n');
    const probes = run.calls.filter((call) => call.startsWith('nc '));
    expect(probes).toEqual(['10.5.0.11', '10.5.0.12', '10.5.0.13'].map((ip) => `nc -z -w 3 ${ip} 9042`));
    expect(run.calls.indexOf(probes[2])).toBeLessThan(run.calls.indexOf('systemctl restart cassandra'));
  });

  it('does not start a non-seed node while a seed is down, and says which seeds it waited for', () => {
    // Prepare
    node = fakeNode({
      lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`,
      nodes: RING,
      ip: '10.5.0.14',
      env: { STUB_CLOSED_PORTS: '10.5.0.12:9042' },
    });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass004');
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', parameters);
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      'ERROR: the seed nodes 10.5.0.11,10.5.0.12,10.5.0.13 do not all accept CQL on 9042 after 900s: this node (10.5.0.14) was not started',
    );
    expect(run.calls.filter((call) => call.startsWith('sleep'))).toHaveLength(90);
    expect(run.calls.filter((call) => call.startsWith('systemctl') && call.includes('cassandra'))).toEqual(
      [],
    );
  });

  it("polls for Cassandra's default superuser and says what it waited for", () => {
    // Prepare: the role appears after three failed logins
    node = fakeNode({
      lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`,
      nodes: RING,
      env: { STUB_SUPERUSER_AFTER: '3' },
    });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass001');
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', parameters);
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.stdout).toContain(
      "waiting for Cassandra's default superuser role 'cassandra' (created 30000 ms after start; up to 300s)",
    );
    expect(run.stdout).toContain('logged in as the default superuser after 30s');
    expect(run.calls.filter((call) => call.includes('cqlshrc.cassandra'))).toHaveLength(4);
    expect(leakedSecrets(run)).toEqual([]);
  });

  it('gives up on the default superuser after its documented bound, naming it', () => {
    // Prepare: the role never appears
    node = fakeNode({
      lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`,
      nodes: RING,
      env: { STUB_SUPERUSER_AFTER: '1000' },
    });
    const parameters = parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass001');
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', parameters);
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      "ERROR: Cassandra's default superuser role 'cassandra' could not log in after 300s (it is created 30000 ms after start)",
    );
    // 300 s in rounds of 10 s: the first try and 30 more.
    expect(run.calls.filter((call) => call.includes('cqlshrc.cassandra'))).toHaveLength(31);
    expect(leakedSecrets(run)).toEqual([]);
  });

  it.each([
    [16_384_000, '8000M'],
    [131_072_000, '31744M'],
  ])('sizes the heap from the memory (%i kB -> %s)', (kilobytes, heap) => {
    // Prepare
    node = fakeNode({ lsblk: `${ROOT_EBS}\\nnvme1n1 ${STORE}`, nodes: RING, ip: '10.5.0.12' });
    writeFileSync(join(node.root, 'proc/meminfo'), `MemTotal:       ${kilobytes} kB\n`);
    // Act
    const run = runDocument(
      node,
      'capi-cassandra-configure',
      parametersFor(samplePlan(), 'capi-cassandra-configure', 'cass002'),
    );
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(read(node, 'etc/systemd/system/cassandra.service')).toContain(
      `Environment=MAX_HEAP_SIZE=${heap}\n`,
    );
  });
});
