import { afterEach, describe, expect, it } from 'vitest';
import { PARSERS } from '../../functions/health-check/health-check.js';
import { explain, type FakeNode, fakeNode, parametersFor, runDocument, samplePlan } from './harness.js';

const plan = samplePlan();
const check = (name: string, nickname: string) => ({
  ...parametersFor(plan, 'capi-health-check', nickname),
  Check: name,
});
const RING = plan.cassandra.hosts;

describe('capi-health-check output contract', () => {
  let node: FakeNode;
  afterEach(() => node.cleanup());

  it('cassandra: prints the raw nodetool status, which the handler reads as 4/4 UN', () => {
    // Prepare
    node = fakeNode({ nodes: RING });
    // Act
    const run = runDocument(node, 'capi-health-check', check('cassandra', 'cass001'));
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.stdout).toMatch(/^Datacenter: datacenter1\n/);
    expect(run.stdout).toMatch(/^UN {2}10\.5\.0\.11 {2}.* rack1$/m);
    expect(PARSERS.cassandra(plan, run.stdout)).toMatchObject({
      healthy: true,
      summary: '4/4 Cassandra nodes UN',
    });
  });

  it('cassandra: exits non-zero when fewer nodes than expected are UN', () => {
    // Prepare
    node = fakeNode({ nodes: RING.slice(0, 3) });
    // Act
    const run = runDocument(node, 'capi-health-check', check('cassandra', 'cass001'));
    // Assess
    expect(run.status).toBe(1);
    expect(PARSERS.cassandra(plan, run.stdout)).toMatchObject({ healthy: false, unhealthy: ['cass004'] });
  });

  it('rabbitmq: reports the AMQP 1.0 listener and the capidaemon queue', () => {
    // Prepare: a broker where capi-rabbitmq-configure declared the queue
    node = fakeNode();
    runDocument(node, 'capi-rabbitmq-configure', parametersFor(plan, 'capi-rabbitmq-configure', 'rabbitmq'));
    // Act
    const run = runDocument(node, 'capi-health-check', check('rabbitmq', 'rabbitmq'));
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.stdout).toBe('amqp10-listener ok\nqueue capidaemon present\n');
    expect(PARSERS.rabbitmq(plan, run.stdout).healthy).toBe(true);
  });

  it('rabbitmq: reports a missing queue and exits non-zero', () => {
    // Prepare
    node = fakeNode();
    // Act
    const run = runDocument(node, 'capi-health-check', check('rabbitmq', 'rabbitmq'));
    // Assess
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('amqp10-listener ok\nqueue capidaemon missing\n');
    expect(PARSERS.rabbitmq(plan, run.stdout).healthy).toBe(false);
  });

  it('webapi and ui: print the HTTP status', () => {
    // Prepare
    node = fakeNode();
    // Act
    const webapi = runDocument(node, 'capi-health-check', check('webapi', 'bastion'));
    const ui = runDocument(node, 'capi-health-check', check('ui', 'bastion'));
    const broken = runDocument(node, 'capi-health-check', check('webapi', 'bastion'), {
      env: { STUB_HTTP_CODE: '502' },
    });
    // Assess
    expect(webapi.stdout).toBe('webapi http 200\n');
    expect(webapi.calls).toContain(
      'curl -s -o /dev/null -w %{http_code} --connect-timeout 3 --max-time 10 http://127.0.0.1:6543/ks',
    );
    expect(ui.stdout).toBe('ui http 200\n');
    expect(PARSERS.webapi(plan, webapi.stdout).healthy && PARSERS.ui(plan, ui.stdout).healthy).toBe(true);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toBe('webapi http 502\n');
    expect(PARSERS.webapi(plan, broken.stdout).healthy).toBe(false);
  });

  it('prometheus: prints one line per target, up or down', () => {
    // Prepare
    const up = plan.prometheusTargets.map((target) => `${target.target} ${target.job} 1`);
    node = fakeNode({ env: { STUB_PROM_UP: [...up, '127.0.0.1:9090 prometheus 1'].join('\\n') } });
    // Act
    const healthy = runDocument(node, 'capi-health-check', check('prometheus', 'prometheus'));
    const oneDown = runDocument(node, 'capi-health-check', check('prometheus', 'prometheus'), {
      env: { STUB_PROM_UP: [...up.slice(1), `${plan.prometheusTargets[0].target} node 0`].join('\\n') },
    });
    // Assess
    expect(healthy.status, explain(healthy)).toBe(0);
    const lines = healthy.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(plan.prometheusTargets.length);
    expect(lines).toContain('target 10.5.0.11:7070 up');
    expect(lines.every((line) => /^target \d+\.\d+\.\d+\.\d+:\d+ up$/.test(line))).toBe(true);
    expect(PARSERS.prometheus(plan, healthy.stdout).healthy).toBe(true);
    expect(oneDown.status).toBe(1);
    expect(oneDown.stdout).toContain('target 10.5.1.10:9100 down\n');
    expect(PARSERS.prometheus(plan, oneDown.stdout)).toMatchObject({
      healthy: false,
      unhealthy: ['bastion 10.5.1.10:9100'],
    });
  });

  it('rejects an unknown check before doing anything', () => {
    // Prepare
    node = fakeNode();
    // Act
    const run = runDocument(node, 'capi-health-check', { ...check('cassandra', 'cass001'), Check: 'disk' });
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('parameter Check is missing or malformed');
    expect(run.calls).toEqual([]);
  });
});
