import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
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

describe('capi-prometheus-install and capi-prometheus-configure', () => {
  let node: FakeNode;
  beforeEach(() => {
    node = fakeNode();
  });
  afterEach(() => node.cleanup());

  it('installs the release, scrapes every planned target, and reloads (not restarts) on a target change', () => {
    // Prepare
    const plan = samplePlan();
    const install = parametersFor(plan, 'capi-prometheus-install', 'prometheus');
    const configure = parametersFor(plan, 'capi-prometheus-configure', 'prometheus');
    // Act
    const installed = runDocument(node, 'capi-prometheus-install', install);
    const configured = runDocument(node, 'capi-prometheus-configure', configure);
    // Assess
    expect(installed.status, explain(installed)).toBe(0);
    expect(linkTarget(node, 'usr/local/bin/prometheus')).toBe('/opt/prometheus-3.5.0.linux-arm64/prometheus');
    expect(linkTarget(node, 'usr/local/bin/node_exporter')).toBe(
      '/opt/node_exporter-1.9.1.linux-arm64/node_exporter',
    );
    expect(configured.status, explain(configured)).toBe(0);
    const config = read(node, 'etc/prometheus/prometheus.yml');
    for (const target of plan.prometheusTargets) expect(config).toContain(`- '${target.target}'`);
    expect(config).toContain('job_name: node');
    expect(config).toContain('job_name: cassandra-jmx');
    expect(config.match(/:7070'/g)).toHaveLength(4);
    expect(config.match(/:9100'/g)).toHaveLength(plan.nodes.length);
    // The Capillaries binaries' own exporters and RabbitMQ's Prometheus plugin, each a job of its own.
    expect(config).toContain(
      "  - job_name: capidaemon\n    static_configs:\n      - targets:\n          - '10.5.0.101:9201'\n",
    );
    expect(config.match(/:9201'/g)).toHaveLength(plan.nodes.filter((node) => node.role === 'daemon').length);
    expect(config).toContain(
      "  - job_name: capiwebapi\n    static_configs:\n      - targets:\n          - '10.5.1.10:9200'\n",
    );
    expect(config).toContain(
      "  - job_name: rabbitmq\n    static_configs:\n      - targets:\n          - '10.5.0.5:15692'\n",
    );
    expect(configured.stdout).toContain(
      `prometheus configure done (${plan.prometheusTargets.length} targets)`,
    );
    const unit = read(node, 'etc/systemd/system/prometheus.service');
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('WantedBy=multi-user.target');

    // Act: both again, from the script files
    const before = treeState(node.root);
    const again = [
      runDocument(node, 'capi-prometheus-install', install, { from: 'disk' }),
      runDocument(node, 'capi-prometheus-configure', configure, { from: 'disk' }),
    ];
    // Assess
    for (const run of again) expect(run.status, explain(run)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(again.flatMap((run) => run.calls).filter((call) => /restart|reload|curl/.test(call))).toEqual([]);

    // Act: one target less
    const fewer = runDocument(node, 'capi-prometheus-configure', {
      ...configure,
      JmxTargets: '10.5.0.11:7070,10.5.0.12:7070,10.5.0.13:7070',
    });
    // Assess
    expect(fewer.status, explain(fewer)).toBe(0);
    expect(fewer.calls).toContain('systemctl reload prometheus');
    expect(fewer.calls.filter((call) => call.includes('restart'))).toEqual([]);
    expect(read(node, 'etc/prometheus/prometheus.yml')).not.toContain('10.5.0.14:7070');
  });
});

describe('capi-daemon-install and capi-daemon-configure', () => {
  let node: FakeNode;
  beforeEach(() => {
    node = fakeNode();
  });
  afterEach(() => node.cleanup());

  it('installs capidaemon and runs it as a unit with its CAPI_* settings; a re-run changes nothing', () => {
    // Prepare
    const plan = samplePlan();
    const install = parametersFor(plan, 'capi-daemon-install', 'daemon001');
    const configure = parametersFor(plan, 'capi-daemon-configure', 'daemon001');
    // Act
    const installed = runDocument(node, 'capi-daemon-install', install);
    const configured = runDocument(node, 'capi-daemon-configure', configure);
    // Assess
    expect(installed.status, explain(installed)).toBe(0);
    expect(read(node, 'opt/capillaries/bin/capidaemon')).toBe('ELF capidaemon\n');
    expect(read(node, 'opt/capillaries/bin/capidaemon.json')).toContain('capidaemon');
    expect(installed.calls.some((call) => /^apt-get .* install .*python3-dateutil/.test(call))).toBe(true);
    expect(configured.status, explain(configured)).toBe(0);
    expect(modeOf(node, 'etc/capillaries/capidaemon.env')).toBe('600');
    const env = read(node, 'etc/capillaries/capidaemon.env');
    for (const line of [
      'CAPI_THREAD_POOL_SIZE="3"',
      'CAPI_CASSANDRA_WRITER_WORKERS="4"',
      'CAPI_CASSANDRA_HOSTS="10.5.0.11,10.5.0.12,10.5.0.13,10.5.0.14"',
      'CAPI_CASSANDRA_USERNAME="capillaries"',
      `CAPI_CASSANDRA_PASSWORD="SECRET-cass-x'y\\\\z"`,
      'CAPI_MQ_TYPE="amqp10"',
      'CAPI_AMQP10_URL="amqp://capiuser:SECRET-user-p%40ss%3Aw%2Frd%22q@10.5.0.5:5672/"',
      'CAPI_AMQP10_ADDRESS="/queues/capidaemon"',
      'CAPI_AMQP10_RETRY_METHOD="reject"',
      'CAPI_PROMETHEUS_EXPORTER_PORT="9201"',
      'CAPI_PYCALC_INTERPRETER_PATH="python3"',
      'AWS_DEFAULT_REGION="us-east-1"',
      'GOMEMLIMIT="3000MiB"',
    ]) {
      expect(env).toContain(`${line}\n`);
    }
    const unit = read(node, 'etc/systemd/system/capidaemon.service');
    expect(unit).toContain('EnvironmentFile=/etc/capillaries/capidaemon.env');
    expect(unit).toContain('ExecStart=/opt/capillaries/bin/capidaemon');
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('WantedBy=multi-user.target');
    expect(configured.calls).toContain('systemctl restart capidaemon');
    expect(leakedSecrets(configured)).toEqual([]);

    // Act
    const before = treeState(node.root);
    const again = [
      runDocument(node, 'capi-daemon-install', install, { from: 'disk' }),
      runDocument(node, 'capi-daemon-configure', configure, { from: 'disk' }),
    ];
    // Assess
    for (const run of again) expect(run.status, explain(run)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(again.flatMap((run) => run.calls).filter((call) => /restart|apt-get/.test(call))).toEqual([]);
    expect(again.flatMap(leakedSecrets)).toEqual([]);

    // Act: a new thread pool size
    const retuned = runDocument(node, 'capi-daemon-configure', { ...configure, ThreadPoolSize: '6' });
    // Assess
    expect(retuned.status, explain(retuned)).toBe(0);
    expect(read(node, 'etc/capillaries/capidaemon.env')).toContain('CAPI_THREAD_POOL_SIZE="6"\n');
    expect(retuned.calls).toContain('systemctl restart capidaemon');
  });
});
