import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { cassandraToken, planDeployment } from '../../src/core/spec/plan.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import { provisioningDocsDir } from '../../src/provisioning/documents.js';
import {
  exists,
  explain,
  type FakeNode,
  fakeNode,
  parametersFor,
  read,
  runDocument,
  treeDiff,
  treeState,
} from './harness.js';

/** Resizing a ring (issue 17): joining nodes (capi-cassandra-configure Join=true), decommission and cleanup. */

const ROOT_EBS = 'nvme0n1 Amazon Elastic Block Store';
const STORE = 'Amazon EC2 NVMe Instance Storage';
const LSBLK = `${ROOT_EBS}\\nnvme1n1 ${STORE}`;
const ringOf = (count: number) => Array.from({ length: count }, (_, i) => `10.5.0.${11 + i}`);
const planOf = (cassandraNodes: number) =>
  planDeployment(DeploymentSpecSchema.parse({ ...sample, cassandraNodes }));
/** The configure parameters of `nickname` in a ring of `count`, joining a running ring. */
const joinParameters = (count: number, nickname: string) => ({
  ...parametersFor(planOf(count), 'capi-cassandra-configure', nickname),
  Join: 'true',
});

describe('cassandra_token (configure.sh) and cassandraToken (the planner)', () => {
  /** The token functions of configure.sh, cut out of the script so they run on their own. */
  const functions = (() => {
    const script = readFileSync(join(provisioningDocsDir(), 'scripts/cassandra/configure.sh'), 'utf8');
    return ['initial_token', 'cassandra_token'].map((name) => {
      const body = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(script)?.[0];
      if (!body) throw new Error(`configure.sh has no function ${name}`);
      return body;
    });
  })();

  it('agree for every node of every ring up to 64 nodes and for sampled nodes of large rings', () => {
    // Prepare
    const pairs: [number, number][] = [];
    for (let count = 1; count <= 64; count++) for (let i = 0; i < count; i++) pairs.push([i, count]);
    for (const count of [96, 100, 127, 128, 192, 384, 1000, 1024, 3072, 4096, 8192, 9998, 9999]) {
      for (const i of new Set([
        0,
        1,
        2,
        count >> 1,
        (count >> 1) + 1,
        count - 2,
        count - 1,
        (count * 7) >> 3,
      ])) {
        if (i >= 0 && i < count) pairs.push([i, count]);
      }
    }
    const input = pairs.map(([i, count]) => `${i} ${count}`).join('\n');
    // Act
    const result = spawnSync(
      'bash',
      [
        '-c',
        `set -euo pipefail\n${functions.join('\n')}\nwhile read -r i n; do cassandra_token "$i" "$n"; done`,
      ],
      { input: `${input}\n`, encoding: 'utf8' },
    );
    // Assess
    expect(result.status, result.stderr).toBe(0);
    const shell = result.stdout.trim().split('\n');
    expect(shell).toHaveLength(pairs.length);
    const mismatches = pairs
      .map(([i, count], k) => ({ i, count, shell: shell[k], planner: cassandraToken(i, count) }))
      .filter((pair) => pair.shell !== pair.planner);
    expect(mismatches).toEqual([]);
  });

  it('keeps every token of a ring when it doubles', () => {
    for (const count of [1, 3, 4, 5, 12]) {
      const before = Array.from({ length: count }, (_, i) => cassandraToken(i, count));
      const after = Array.from({ length: count }, (_, i) => cassandraToken(i, count * 2));
      expect(after).toEqual(before);
    }
  });
});

describe('capi-cassandra-configure with Join=true', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());

  it('bootstraps into the running ring: not a seed, auto_bootstrap left at its default, waits until UN, no auth setup', () => {
    // Prepare: cass005 joins a ring of eight (four running); Cassandra is installed, not running, and streams for a while
    node = fakeNode({
      lsblk: LSBLK,
      nodes: ringOf(8),
      ip: '10.5.0.15',
      env: { STUB_INACTIVE_UNITS: 'cassandra', STUB_JOIN_POLLS: '5' },
    });
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', joinParameters(8, 'cass005'));
    // Assess
    expect(run.status, explain(run)).toBe(0);
    const yaml = read(node, 'etc/cassandra/cassandra.yaml');
    expect(yaml).not.toContain('auto_bootstrap');
    expect(yaml).toContain('      - seeds: "10.5.0.11,10.5.0.12,10.5.0.13"\n');
    expect(yaml).toContain(`initial_token: '${cassandraToken(4, 8)}'\n`);
    // It starts once the seeds serve CQL, then polls while it shows UJ
    const probes = run.calls.filter((call) => call.startsWith('nc '));
    expect(probes).toEqual(['10.5.0.11', '10.5.0.12', '10.5.0.13'].map((ip) => `nc -z -w 3 ${ip} 9042`));
    expect(run.calls.indexOf(probes[2])).toBeLessThan(run.calls.indexOf('systemctl restart cassandra'));
    expect(run.stdout).toContain('bootstraps into the running ring');
    expect(run.stdout).toContain('joining: this node (10.5.0.15) is UJ after 0s');
    expect(run.stdout).toContain('joined the ring: UN after 50s');
    // No authentication setup: no secret read, no cqlsh, no repair
    expect(run.calls.filter((call) => /^(cqlsh|aws )|repair/.test(call))).toEqual([]);
  });

  it('is never a seed, even at an index below three, and waits only for the seeds that joined before it', () => {
    // Prepare: a ring of one grows to four; cass002 joins first, while cass003 (a seed to be) does not exist yet
    node = fakeNode({
      lsblk: LSBLK,
      nodes: ringOf(4),
      ip: '10.5.0.12',
      env: { STUB_INACTIVE_UNITS: 'cassandra', STUB_CLOSED_PORTS: '10.5.0.13:9042' },
    });
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', joinParameters(4, 'cass002'));
    // Assess
    expect(run.status, explain(run)).toBe(0);
    const yaml = read(node, 'etc/cassandra/cassandra.yaml');
    expect(yaml).toContain('      - seeds: "10.5.0.11,10.5.0.13"\n');
    expect(yaml).toContain(`initial_token: '${cassandraToken(1, 4)}'\n`);
    expect(yaml).not.toContain('auto_bootstrap');
    expect(run.calls.filter((call) => call.startsWith('nc '))).toEqual(['nc -z -w 3 10.5.0.11 9042']);
  });

  it('does not start while the seeds before it do not serve CQL', () => {
    // Prepare
    node = fakeNode({
      lsblk: LSBLK,
      nodes: ringOf(8),
      ip: '10.5.0.15',
      env: { STUB_INACTIVE_UNITS: 'cassandra', STUB_CLOSED_PORTS: '10.5.0.12:9042' },
    });
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', joinParameters(8, 'cass005'));
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      'the seed nodes 10.5.0.11,10.5.0.12,10.5.0.13 do not all accept CQL on 9042 after 900s: this node (10.5.0.15) was not started',
    );
    expect(run.calls.filter((call) => /^systemctl (start|restart) cassandra/.test(call))).toEqual([]);
  });

  it('does nothing but log on a node already UN at its token', () => {
    // Prepare: a first run joins the node
    node = fakeNode({
      lsblk: LSBLK,
      nodes: ringOf(8),
      ip: '10.5.0.16',
      env: { STUB_INACTIVE_UNITS: 'cassandra' },
    });
    const parameters = joinParameters(8, 'cass006');
    const first = runDocument(node, 'capi-cassandra-configure', parameters);
    expect(first.status, explain(first)).toBe(0);
    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-cassandra-configure', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(second.stdout).toContain(
      `this node (10.5.0.16) is already UN in the ring at its token ${cassandraToken(5, 8)}: nothing to do`,
    );
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(
      second.calls.filter((call) => /^(mkfs|mount|nc|systemctl (restart|start|enable))/.test(call)),
    ).toEqual([]);
  });

  it('refuses Join=true on a ring of one: there is nothing to join', () => {
    // Prepare
    node = fakeNode({ lsblk: LSBLK, nodes: ringOf(1), env: { STUB_INACTIVE_UNITS: 'cassandra' } });
    // Act
    const run = runDocument(node, 'capi-cassandra-configure', joinParameters(1, 'cass001'));
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      'Join=true on the only node of the list (10.5.0.11): there is no ring to join',
    );
  });
});

describe('capi-cassandra-decommission', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());
  const MARKER = 'var/lib/capideploy/cassandra-decommissioned';

  it('decommissions the node, then stops and disables Cassandra; a second run does nothing', () => {
    // Prepare
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.18' });
    // Act
    const first = runDocument(node, 'capi-cassandra-decommission', {});
    // Assess
    expect(first.status, explain(first)).toBe(0);
    const decommission = first.calls.indexOf('nodetool decommission');
    expect(decommission).toBeGreaterThanOrEqual(0);
    expect(first.calls.indexOf('systemctl stop cassandra')).toBeGreaterThan(decommission);
    expect(first.calls.indexOf('systemctl disable --quiet cassandra')).toBeGreaterThan(decommission);
    expect(exists(node, MARKER)).toBe(true);
    expect(first.stdout).toContain('this node (10.5.0.18) is decommissioned');

    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-cassandra-decommission', {}, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(second.stdout).toContain('was already decommissioned and Cassandra is stopped: nothing to do');
    expect(second.calls.filter((call) => /^nodetool|^systemctl (stop|disable)/.test(call))).toEqual([]);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
  });

  it.each(['UJ', 'UL', 'UM', 'DN'])('refuses while another node is %s', (state) => {
    // Prepare
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.18', env: { STUB_NODE_STATES: `10.5.0.12=${state}` } });
    // Act
    const run = runDocument(node, 'capi-cassandra-decommission', {});
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `ERROR: not every node is UN (10.5.0.12 ${state}): refusing to decommission 10.5.0.18`,
    );
    expect(run.calls.filter((call) => /decommission|^systemctl (stop|disable)/.test(call))).toEqual([]);
  });

  it('refuses unless this node is UN', () => {
    // Prepare
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.18', env: { STUB_NODE_STATES: '10.5.0.18=UM' } });
    // Act
    const run = runDocument(node, 'capi-cassandra-decommission', {});
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('this node (10.5.0.18) is UM, not UN: refusing to decommission it');
    expect(run.calls).not.toContain('nodetool decommission');
  });

  it('refuses the last node of a ring', () => {
    node = fakeNode({ nodes: ringOf(1) });
    const run = runDocument(node, 'capi-cassandra-decommission', {});
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('is the only node of the ring: refusing to decommission it');
  });

  it('refuses a stopped node it did not decommission: its data would be lost', () => {
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.18', env: { STUB_INACTIVE_UNITS: 'cassandra' } });
    const run = runDocument(node, 'capi-cassandra-decommission', {});
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('Cassandra does not answer nodetool on this node (10.5.0.18)');
    expect(run.calls).not.toContain('nodetool decommission');
  });

  it.each([
    ['has completed', 'DECOMMISSIONED', 'already completed'],
    ['is still streaming after an interrupted run', 'LEAVING', 'already under way'],
  ])('stops a node whose decommission %s, without decommissioning again', (_, mode, message) => {
    // Prepare
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.18', env: { STUB_MODE: mode } });
    // Act
    const run = runDocument(node, 'capi-cassandra-decommission', {});
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.stdout).toContain(message);
    expect(run.calls).not.toContain('nodetool decommission');
    expect(run.calls).toContain('systemctl disable --quiet cassandra');
    expect(exists(node, MARKER)).toBe(true);
  });

  it('fails, and leaves Cassandra running, when nodetool decommission fails', () => {
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.18', env: { STUB_DECOMMISSION_FAIL: '1' } });
    const run = runDocument(node, 'capi-cassandra-decommission', {});
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('ERROR: nodetool decommission failed on 10.5.0.18 (mode NORMAL)');
    expect(run.calls.filter((call) => /^systemctl (stop|disable)/.test(call))).toEqual([]);
    expect(exists(node, MARKER)).toBe(false);
  });
});

describe('capi-cassandra-cleanup', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());

  it('runs nodetool cleanup and logs the load before and after; running it again is harmless', () => {
    // Prepare
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.12' });
    const parameters = parametersFor(planOf(8), 'capi-cassandra-cleanup', 'cass002');
    expect(parameters).toEqual({ ClusterSize: '8' });
    for (const from of ['document', 'disk'] as const) {
      // Act
      const run = runDocument(node, 'capi-cassandra-cleanup', parameters, { from });
      // Assess
      expect(run.status, explain(run)).toBe(0);
      expect(run.calls).toContain('nodetool cleanup');
      expect(run.stdout).toContain('load before cleanup: 1.2 MiB (ring of 8)');
      expect(run.stdout).toContain('load after cleanup: 1.2 MiB; nodetool info load 1.2 MiB');
    }
  });

  it('refuses a node that is not UN', () => {
    node = fakeNode({ nodes: ringOf(8), ip: '10.5.0.12', env: { STUB_INACTIVE_UNITS: 'cassandra' } });
    const run = runDocument(node, 'capi-cassandra-cleanup', { ClusterSize: '8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      'nodetool status does not list this node (10.5.0.12): is Cassandra running?',
    );
    expect(run.calls).not.toContain('nodetool cleanup');
  });
});
