import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  explain,
  type FakeNode,
  fakeNode,
  leakedSecrets,
  parametersFor,
  read,
  runDocument,
  samplePlan,
  treeDiff,
  treeState,
} from './harness.js';

describe('capi-rabbitmq-install', () => {
  let node: FakeNode;
  beforeEach(() => {
    node = fakeNode();
  });
  afterEach(() => node.cleanup());

  it("adds Team RabbitMQ's repositories, pins the release and installs Erlang and RabbitMQ; a re-run changes nothing", () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-rabbitmq-install', 'rabbitmq');
    // Act
    const first = runDocument(node, 'capi-rabbitmq-install', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    const sources = read(node, 'etc/apt/sources.list.d/rabbitmq.list');
    for (const repo of ['rabbitmq-erlang', 'rabbitmq-server']) {
      for (const mirror of ['deb1', 'deb2']) {
        expect(sources).toContain(
          `deb [signed-by=/usr/share/keyrings/com.rabbitmq.team.gpg] https://${mirror}.rabbitmq.com/${repo}/ubuntu/noble noble main`,
        );
      }
    }
    expect(read(node, 'etc/apt/preferences.d/rabbitmq')).toContain('Pin: version 4.1.*');
    const installs = first.calls.filter((call) => / install /.test(call)).join('\n');
    expect(installs).toMatch(/erlang-base/);
    expect(installs).toMatch(/rabbitmq-server/);
    expect(read(node, 'etc/systemd/system/node_exporter.service')).toContain('Restart=on-failure');

    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-rabbitmq-install', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /^(apt-get|curl)|restart/.test(call))).toEqual([]);
  });
});

describe('capi-rabbitmq-configure', () => {
  let node: FakeNode;
  beforeEach(() => {
    node = fakeNode();
  });
  afterEach(() => node.cleanup());

  it('creates the accounts without guest and the capidaemon dead-letter loop; a re-run changes nothing', () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-rabbitmq-configure', 'rabbitmq');
    // Act
    const first = runDocument(node, 'capi-rabbitmq-configure', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    expect(read(node, 'etc/rabbitmq/enabled_plugins')).toBe('[rabbitmq_management,rabbitmq_prometheus].\n');
    expect(read(node, 'etc/rabbitmq/rabbitmq.conf')).toContain('listeners.tcp.default = 5672');
    expect(first.calls).toEqual(
      expect.arrayContaining([
        'rabbitmqctl -s add_user capiadmin',
        'rabbitmqctl -s set_user_tags capiadmin administrator',
        'rabbitmqctl -s add_user capiuser',
        'rabbitmqctl -s set_permissions -p / capiuser .* .* .*',
        'rabbitmqctl -s delete_user guest',
        'systemctl restart rabbitmq-server',
      ]),
    );
    const api = first.calls.filter((call) => call.includes('127.0.0.1:15672/api')).join('\n');
    expect(api).toContain(
      '"arguments":{"x-queue-type":"quorum","x-dead-letter-exchange":"capillaries.dlx","x-dead-letter-routing-key":"capidaemon.dlq"}} http://127.0.0.1:15672/api/queues/%2F/capidaemon',
    );
    expect(api).toContain(
      '"x-message-ttl":5000,"x-dead-letter-exchange":"capillaries","x-dead-letter-routing-key":"capidaemon"}} http://127.0.0.1:15672/api/queues/%2F/capidaemon.dlq',
    );
    expect(api).toContain(
      '{"routing_key":"capidaemon"} http://127.0.0.1:15672/api/bindings/%2F/e/capillaries/q/capidaemon',
    );
    expect(api).toContain(
      '{"routing_key":"capidaemon.dlq"} http://127.0.0.1:15672/api/bindings/%2F/e/capillaries.dlx/q/capidaemon.dlq',
    );
    expect(leakedSecrets(first)).toEqual([]);

    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-rabbitmq-configure', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /add_user|delete_user|restart/.test(call))).toEqual([]);
    expect(second.calls).toContain('rabbitmqctl -s change_password capiadmin');
    expect(leakedSecrets(second)).toEqual([]);
  });
});
