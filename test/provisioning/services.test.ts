import { afterEach, describe, expect, it } from 'vitest';
import { explain, type FakeNode, fakeNode, runDocument } from './harness.js';

/** capi-services-stop and capi-services-start (stop-deployment, start-deployment) on a fake node. */
describe('capi-services-stop and capi-services-start', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());

  it('stop drains Cassandra before stopping it', () => {
    node = fakeNode();
    const run = runDocument(node, 'capi-services-stop', { Role: 'cassandra' });
    expect(run.status, explain(run)).toBe(0);
    const drain = run.calls.indexOf('nodetool drain');
    const stop = run.calls.indexOf('systemctl stop cassandra');
    expect(drain).toBeGreaterThanOrEqual(0);
    expect(stop).toBeGreaterThan(drain);
  });

  it.each([
    ['daemon', ['systemctl stop capidaemon']],
    ['bastion', ['systemctl stop capiwebapi', 'systemctl stop nginx']],
    ['rabbitmq', ['systemctl stop rabbitmq-server']],
    ['prometheus', ['systemctl stop prometheus']],
  ])('stop on a %s node stops its services, from the document and from disk alike', (role, stops) => {
    for (const from of ['document', 'disk'] as const) {
      node = fakeNode();
      const run = runDocument(node, 'capi-services-stop', { Role: role }, { from });
      expect(run.status, explain(run)).toBe(0);
      expect(run.calls.filter((call) => call.startsWith('systemctl stop'))).toEqual(stops);
      node.cleanup();
    }
    node = fakeNode();
  });

  it('stop lets capidaemon finish its batches: SIGINT to its main process, then systemctl stop once it exited', () => {
    node = fakeNode();
    const run = runDocument(node, 'capi-services-stop', { Role: 'daemon' });
    expect(run.status, explain(run)).toBe(0);
    expect(run.calls.filter((call) => call.startsWith('systemctl') && !call.includes('is-active'))).toEqual([
      'systemctl kill --kill-who=main --signal=SIGINT capidaemon',
      'systemctl stop capidaemon',
    ]);
    expect(run.stdout).toContain('capidaemon exited after 0s');
  });

  it('stop waits a bounded time for a capidaemon that does not exit, then stops the unit', () => {
    node = fakeNode({ env: { STUB_IGNORES_SIGINT: '1' } });
    const run = runDocument(node, 'capi-services-stop', { Role: 'daemon' });
    expect(run.status, explain(run)).toBe(0);
    // 600 s in rounds of 5 s, within the document's 900 s.
    expect(run.calls.filter((call) => call.startsWith('sleep'))).toHaveLength(120);
    expect(run.stdout).toContain('capidaemon still runs after 600s: stopping it');
    expect(run.calls.at(-1)).toBe('systemctl stop capidaemon');
  });

  it('stop on a daemon already stopped does nothing', () => {
    node = fakeNode({ env: { STUB_INACTIVE_UNITS: 'capidaemon' } });
    const run = runDocument(node, 'capi-services-stop', { Role: 'daemon' }, { from: 'disk' });
    expect(run.status, explain(run)).toBe(0);
    expect(run.stdout).toContain('capidaemon is not running');
    expect(run.calls.filter((call) => call.startsWith('systemctl') && !call.includes('is-active'))).toEqual(
      [],
    );
  });

  it('start on a Cassandra node whose data disk is gone stops the node for its reconfiguration', () => {
    node = fakeNode();
    const run = runDocument(node, 'capi-services-start', { Role: 'cassandra' });
    expect(run.status, explain(run)).toBe(0);
    expect(run.stdout).toContain('instance-store data was lost');
    expect(run.calls).toContain('systemctl stop cassandra');
    expect(run.calls.some((call) => call.startsWith('systemctl start'))).toBe(false);
  });

  it('start restarts the Capillaries services so they reconnect', () => {
    node = fakeNode();
    const run = runDocument(node, 'capi-services-start', { Role: 'bastion' });
    expect(run.status, explain(run)).toBe(0);
    expect(run.calls.filter((call) => call.startsWith('systemctl'))).toEqual([
      'systemctl restart capiwebapi',
      'systemctl start nginx',
    ]);
  });

  it('refuses a role it does not know', () => {
    node = fakeNode();
    const run = runDocument(node, 'capi-services-stop', { Role: 'webapi' }, { from: 'disk' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('parameter Role is missing or malformed');
  });
});
