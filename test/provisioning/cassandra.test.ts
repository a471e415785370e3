import { afterEach, describe, expect, it } from 'vitest';
import {
  exists,
  explain,
  type FakeNode,
  fakeNode,
  leakedSecrets,
  linkTarget,
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
    // Act
    const run = runDocument(node, 'capi-cassandra-install', parameters);
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.calls.some((call) => / install .*cassandra=5\.0\.4$/.test(call))).toBe(true);
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
      '      - seeds: "10.5.0.11,10.5.0.12,10.5.0.13,10.5.0.14"',
      'listen_address: 10.5.0.11',
      'rpc_address: 10.5.0.11',
      'authenticator: PasswordAuthenticator',
      'authorizer: CassandraAuthorizer',
      'data_file_directories:\n  - /data/data\n',
      'commitlog_directory: /data/commitlog',
    ]) {
      expect(yaml).toContain(line);
    }
    const unit = read(node, 'etc/systemd/system/cassandra.service');
    expect(unit).toContain('-javaagent:/opt/jmx_exporter/jmx_prometheus_javaagent.jar=7070:');
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
    expect(yaml).toContain("initial_token: '0'");
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
});
