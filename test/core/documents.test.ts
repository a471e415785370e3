import { describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { documentParameters } from '../../src/core/documents.js';
import { planDeployment } from '../../src/core/spec/plan.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';

describe('documentParameters', () => {
  it("sends the spec's release URL, versions and allow-list, not the defaults", () => {
    // Prepare
    const spec = DeploymentSpecSchema.parse({
      ...sample,
      capillariesReleaseUrl: 'https://releases.example.com/capi/v1.2.3/',
      versions: { cassandra: '5.0.4', rabbitmq: '4.1.2', prometheus: '3.4.1' },
      allowedCidrs: ['198.51.100.0/24', '203.0.113.7/32'],
    });
    const plan = planDeployment(spec);
    const nodeOf = (role: string) => plan.nodes.find((node) => node.role === role)!;

    // Act
    const daemon = documentParameters(plan, 'capi-daemon-install', nodeOf('daemon'));
    const cassandra = documentParameters(plan, 'capi-cassandra-install', nodeOf('cassandra'));
    const rabbitmq = documentParameters(plan, 'capi-rabbitmq-install', nodeOf('rabbitmq'));
    const bastion = documentParameters(plan, 'capi-bastion-configure', nodeOf('bastion'), {
      logVolumeId: 'vol-0123456789abcdef0',
    });

    // Assess
    expect(daemon.CapillariesReleaseUrl).toEqual(['https://releases.example.com/capi/v1.2.3']);
    expect(cassandra.CassandraVersion).toEqual(['5.0.4']);
    expect(rabbitmq.RabbitmqVersion).toEqual(['4.1.2']);
    expect(bastion.AllowedCidrs).toEqual(['198.51.100.0/24,203.0.113.7/32']);
  });
});
