import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  exists,
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

  it("adds the Erlang 27 PPA and Team RabbitMQ's repository, pins both and blocks Ubuntu's; a re-run changes nothing", () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-rabbitmq-install', 'rabbitmq');
    // Act
    const first = runDocument(node, 'capi-rabbitmq-install', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    const sources = read(node, 'etc/apt/sources.list.d/rabbitmq.list')
      .split('\n')
      .filter((line) => line.startsWith('deb '));
    expect(sources).toEqual([
      'deb [arch=arm64 signed-by=/usr/share/keyrings/net.launchpad.ppa.rabbitmq.erlang.gpg] https://ppa.launchpadcontent.net/rabbitmq/rabbitmq-erlang-27/ubuntu noble main',
      'deb [signed-by=/usr/share/keyrings/com.rabbitmq.team.gpg] https://deb1.rabbitmq.com/rabbitmq-server/ubuntu/noble noble main',
      'deb [signed-by=/usr/share/keyrings/com.rabbitmq.team.gpg] https://deb2.rabbitmq.com/rabbitmq-server/ubuntu/noble noble main',
    ]);
    expect(read(node, 'etc/apt/preferences.d/rabbitmq')).toContain(
      [
        'Package: erlang*\nPin: version 1:27.*\nPin-Priority: 1001\n',
        'Package: erlang*\nPin: release o=Ubuntu\nPin-Priority: -1\n',
        'Package: rabbitmq-server\nPin: version 4.1.*\nPin-Priority: 1001\n',
        'Package: rabbitmq-server\nPin: release o=Ubuntu\nPin-Priority: -1\n',
      ].join('\n'),
    );
    // Both keys were checked by fingerprint before they were written.
    expect(first.calls.filter((call) => call.startsWith('gpg --show-keys'))).toHaveLength(2);
    const installs = first.calls.filter((call) => / install /.test(call)).join('\n');
    expect(installs).toMatch(/--allow-downgrades erlang-base .* erlang-xmerl$/m);
    expect(installs).toMatch(/--allow-downgrades rabbitmq-server$/m);
    expect(first.stdout).toContain('erlang-base 1:27.3.4.2-1rmq1ppa1~ubuntu24.04.1 (Erlang 27');
    expect(first.stdout).toContain('rabbitmq-server 4.1.4-1 (RabbitMQ 4.1');
    expect(read(node, 'etc/systemd/system/node_exporter.service')).toContain('Restart=on-failure');

    // Act
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-rabbitmq-install', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /^(apt-get|curl)|restart/.test(call))).toEqual([]);
  });

  it('pins an exact RabbitMQ release when the spec names one', () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-rabbitmq-install', 'rabbitmq', {
      versions: { rabbitmq: '4.1.4' },
    });
    // Act
    const run = runDocument(node, 'capi-rabbitmq-install', parameters);
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(read(node, 'etc/apt/preferences.d/rabbitmq')).toContain(
      'Package: rabbitmq-server\nPin: version 4.1.4-*\nPin-Priority: 1001\n',
    );
  });

  it.each([
    [
      "Ubuntu 24.04's Erlang 25",
      'erlang-*=1:25.3.2.8+dfsg-1ubuntu4 rabbitmq-server=4.1.4-1',
      'erlang-base is 1:25.3.2.8+dfsg-1ubuntu4, not Erlang 27',
    ],
    [
      'Erlang 28',
      'erlang-*=1:28.0.2-1rmq1ppa1~ubuntu24.04.1 rabbitmq-server=4.1.4-1',
      'erlang-base is 1:28.0.2-1rmq1ppa1~ubuntu24.04.1, not Erlang 27',
    ],
    [
      "Ubuntu 24.04's RabbitMQ 3.12",
      `erlang-*=1:27.3.4.2-1 rabbitmq-server=3.12.1-1ubuntu1`,
      'rabbitmq-server is 3.12.1-1ubuntu1, not RabbitMQ 4.1',
    ],
    [
      'RabbitMQ 4.2',
      'erlang-*=1:27.3.4.2-1 rabbitmq-server=4.2.0-1',
      'rabbitmq-server is 4.2.0-1, not RabbitMQ 4.1',
    ],
  ])('fails closed, naming both versions, when apt installs %s', (_, versions, message) => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-rabbitmq-install', 'rabbitmq');
    // Act
    const run = runDocument(node, 'capi-rabbitmq-install', parameters, {
      env: { STUB_APT_VERSIONS: versions },
    });
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`ERROR: ${message}`);
    expect(run.stderr).toContain("check 'apt-cache policy");
    expect(run.calls.filter((call) => call.includes('node_exporter'))).toEqual([]);
  });

  it('refuses a signing key whose fingerprint is not the documented one', () => {
    // Prepare: the keyserver answers with another key
    const parameters = parametersFor(samplePlan(), 'capi-rabbitmq-install', 'rabbitmq');
    writeFileSync(join(node.env.STUB_FIXTURES, 'evil.asc'), 'KEY 1111111111111111111111111111111111111111\n');
    const urls = join(node.env.STUB_FIXTURES, 'urls.tsv');
    writeFileSync(urls, readFileSync(urls, 'utf8').replace(/(search=0xF77F1EDA57EBB1CC\t)\S+/, '$1evil.asc'));
    // Act
    const run = runDocument(node, 'capi-rabbitmq-install', parameters);
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      "fingerprint '1111111111111111111111111111111111111111', expected one ending in F77F1EDA57EBB1CC",
    );
    expect(exists(node, 'usr/share/keyrings/net.launchpad.ppa.rabbitmq.erlang.gpg')).toBe(false);
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
