import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  documentParameters,
  PROVISIONING_DOCUMENTS,
  type ProvisioningDocumentName,
} from '../../src/core/documents.js';
import { RULES } from '../../src/core/parameter-rules.js';
import type { NodePlan, Plan } from '../../src/core/spec/plan.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import {
  loadDocument,
  loadDocuments,
  provisioningDocsDir,
  type SsmCommandDocument,
} from '../../src/provisioning/documents.js';
import { plan128, samplePlan } from './harness.js';

const documents = loadDocuments();
const entries = Object.entries(documents) as [ProvisioningDocumentName, SsmCommandDocument][];
const runCommandOf = (document: SsmCommandDocument) =>
  document.mainSteps.flatMap((step) => step.inputs.runCommand);

/** The roles each document runs on; the health check runs on the node of the role it checks. */
const ROLES_OF: Record<ProvisioningDocumentName, NodePlan['role'][]> = {
  'capi-bastion-install': ['bastion'],
  'capi-bastion-configure': ['bastion'],
  'capi-rabbitmq-install': ['rabbitmq'],
  'capi-rabbitmq-configure': ['rabbitmq'],
  'capi-prometheus-install': ['prometheus'],
  'capi-prometheus-configure': ['prometheus'],
  'capi-cassandra-install': ['cassandra'],
  'capi-cassandra-configure': ['cassandra'],
  'capi-cassandra-decommission': ['cassandra'],
  'capi-cassandra-cleanup': ['cassandra'],
  'capi-daemon-install': ['daemon'],
  'capi-daemon-configure': ['daemon'],
  'capi-cloudwatch-agent': ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'],
  'capi-health-check': ['bastion', 'rabbitmq', 'prometheus', 'cassandra'],
  'capi-services-stop': ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'],
  'capi-services-start': ['bastion', 'rabbitmq', 'prometheus', 'cassandra', 'daemon'],
};

/**
 * The documents that move a Cassandra range (a join streams the node's range in, a decommission streams it out,
 * cleanup rewrites the SSTables) may run for hours (ops-facts §1.4); every other step is bounded by an hour.
 */
const LONGEST_STEP_SECONDS: Partial<Record<ProvisioningDocumentName, number>> = {
  'capi-cassandra-configure': 6 * 3600,
  'capi-cassandra-decommission': 6 * 3600,
  'capi-cassandra-cleanup': 3 * 3600,
};

/**
 * Loads document `name` from a copy of provisioning-docs/ whose parameters `edit` changed: a function to pass to
 * `expect(…).toThrow`. The copy is removed after each load.
 */
function loadEdited(
  name: ProvisioningDocumentName,
  edit: (parameters: Record<string, Record<string, unknown>>) => void,
): () => SsmCommandDocument {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'capi-docs-'));
    try {
      cpSync(provisioningDocsDir(), dir, { recursive: true });
      const file = join(dir, `${name}.yaml`);
      const doc = parse(readFileSync(file, 'utf8'));
      edit(doc.parameters);
      writeFileSync(file, stringify(doc));
      return loadDocument(name, { dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('provisioning documents', () => {
  it('are exactly the YAML files of provisioning-docs/, one per name', () => {
    const files = readdirSync(provisioningDocsDir()).filter((file) => file.endsWith('.yaml'));
    expect(files.map((file) => file.replace(/\.yaml$/, '')).sort()).toEqual(
      [...PROVISIONING_DOCUMENTS].sort(),
    );
  });

  it.each(entries)(
    '%s: schema 2.2, typed parameters with patterns, runShellScript steps with timeouts',
    (name, doc) => {
      expect(doc.schemaVersion).toBe('2.2');
      expect(doc.description.length).toBeGreaterThan(20);
      for (const [name, parameter] of Object.entries(doc.parameters)) {
        expect(['String', 'StringList'], name).toContain(parameter.type);
        expect(parameter.allowedPattern, name).toMatch(/^\^.*\$$/);
        expect(parameter.interpolationType, name).toBe('ENV_VAR');
        expect(parameter.description.length, name).toBeGreaterThan(10);
        if (parameter.default !== undefined)
          expect(parameter.default, name).toMatch(new RegExp(parameter.allowedPattern));
      }
      for (const step of doc.mainSteps) {
        expect(step.action).toBe('aws:runShellScript');
        expect(step.inputs.timeoutSeconds).toBeGreaterThanOrEqual(60);
        expect(step.inputs.timeoutSeconds).toBeLessThanOrEqual(LONGEST_STEP_SECONDS[name] ?? 3600);
      }
    },
  );

  it.each(entries)(
    '%s: scripts inlined, bash first, no placeholder left, under the 64 KB document limit',
    (_, doc) => {
      const lines = runCommandOf(doc);
      expect(lines[0]).toBe('#!/usr/bin/env bash');
      const text = lines.join('\n');
      expect(text).not.toMatch(/\{\{\s*script:/);
      expect(text).not.toMatch(/^\s*(\.|source)\s.*capi:inline/m);
      expect(text).toContain('set -euo pipefail');
      expect(text).toContain('# --- inlined lib/common.sh ---');
      // The library appears once, whatever the number of scripts that include it.
      expect(text.split('# --- inlined lib/common.sh ---')).toHaveLength(2);
      expect(lines.filter((line) => line.startsWith('#!'))).toHaveLength(1);
      expect(Buffer.byteLength(JSON.stringify(doc))).toBeLessThan(64 * 1024);
    },
  );

  it.each(entries)('%s: every {{ }} reference is a declared parameter with an ENV_VAR fallback', (_, doc) => {
    const text = runCommandOf(doc).join('\n');
    const references = [...text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((match) => match[1]);
    const declared = Object.keys(doc.parameters);
    // SSM interpolates every {{ name }} of the document: the scripts must not contain any other.
    expect([...new Set(references)].sort()).toEqual([...declared].sort());
    for (const name of declared) {
      expect(text).toContain(`if [ -z "\${SSM_${name}+x}" ]; then export SSM_${name}="{{ ${name} }}"; fi`);
    }
  });

  it.each(entries)('%s: the script reads exactly the declared parameters', (_, doc) => {
    const text = runCommandOf(doc).join('\n');
    const read = [...text.matchAll(/\$\(param (\w+) /g)].map((match) => match[1]);
    expect([...new Set(read)].sort()).toEqual(Object.keys(doc.parameters).sort());
  });

  it('default versions and release URL are the spec schema defaults', () => {
    const spec = DeploymentSpecSchema.parse({
      name: 'x',
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      flavor: 'aws.arm64.c7g.8',
      cassandraNodes: 1,
      daemons: 1,
      allowedCidrs: ['203.0.113.0/24'],
    });
    const defaults = entries.flatMap(([, doc]) =>
      Object.entries(doc.parameters).map(([name, parameter]) => [name, parameter.default] as const),
    );
    const expected: Record<string, string> = {
      NodeExporterVersion: spec.versions.nodeExporter,
      PrometheusVersion: spec.versions.prometheus,
      JmxExporterVersion: spec.versions.jmxExporter,
      CassandraVersion: spec.versions.cassandra,
      RabbitmqVersion: spec.versions.rabbitmq,
      CapillariesReleaseUrl: spec.capillariesReleaseUrl,
    };
    for (const [name, value] of defaults) if (name in expected) expect(value, name).toBe(expected[name]);
  });

  it('rejects a document whose pattern drifts from its parameter rule, or a parameter without a rule', () => {
    const load = loadEdited('capi-daemon-install', (parameters) => {
      parameters.CapillariesReleaseUrl.allowedPattern = '^https://[^ ]+$';
      parameters.Colour = { ...parameters.NodeExporterVersion };
    });
    expect(load).toThrow(/^provisioning-docs\/capi-daemon-install\.yaml: /);
    expect(load).toThrow(
      `parameters.CapillariesReleaseUrl.allowedPattern: must be its rule's pattern ${RULES.httpsUrl.pattern}`,
    );
    expect(load).toThrow('parameters.Colour: no parameter rule of that name');
  });

  it('rejects a document without an allowedPattern, naming the file and the field', () => {
    const load = loadEdited('capi-health-check', (parameters) => {
      delete parameters.Check.allowedPattern;
    });
    expect(load).toThrow(/capi-health-check\.yaml: .*\n.*parameters\.Check\.allowedPattern/);
  });
});

/** Every (document, node) pair the orchestration can send, with the parameters documentParameters builds. */
function sendable(plan: Plan) {
  return PROVISIONING_DOCUMENTS.flatMap((name) =>
    plan.nodes
      .filter((node) => ROLES_OF[name].includes(node.role))
      .map((node) => ({
        name,
        node,
        parameters: {
          ...documentParameters(plan, name, node, { logVolumeId: 'vol-0123456789abcdef0' }),
          ...(name === 'capi-health-check' ? { Check: ['cassandra'] } : {}),
        },
      })),
  );
}

describe('documentParameters', () => {
  it.each([
    ['the sample spec', samplePlan()],
    ['a 128-node spec', plan128()],
  ])('fits every allowedPattern and supplies every required parameter for %s', (_, plan) => {
    for (const { name, node, parameters } of sendable(plan)) {
      const declared = documents[name].parameters;
      const where = `${name} on ${node.nickname}`;
      for (const [key, values] of Object.entries(parameters)) {
        expect(declared[key], `${where}: ${key} is not a parameter`).toBeDefined();
        expect(values).toHaveLength(1);
        expect(values[0], `${where}: ${key}`).toMatch(new RegExp(declared[key].allowedPattern));
      }
      const required = Object.entries(declared).filter(([, parameter]) => parameter.default === undefined);
      for (const [key] of required) expect(parameters, `${where} lacks ${key}`).toHaveProperty(key);
    }
  });

  it('gives every Cassandra node the same values: the ordered node list its address and token follow from', () => {
    const plan = plan128();
    const cassandra = plan.nodes.filter((node) => node.role === 'cassandra');
    const configure = cassandra.map((node) => documentParameters(plan, 'capi-cassandra-configure', node));
    expect(new Set(configure.map((parameters) => JSON.stringify(parameters))).size).toBe(1);
    expect(configure[0]).toMatchObject({ ClusterSize: ['128'] });
    expect(configure[0].Seeds[0].split(',')).toEqual(cassandra.map((node) => node.privateIp));
    expect(configure[0]).not.toHaveProperty('NodeIp');
    expect(configure[0]).not.toHaveProperty('InitialToken');
  });

  it('takes versions and the release URL from extras, without a trailing slash', () => {
    const plan = samplePlan();
    const parameters = documentParameters(plan, 'capi-daemon-install', plan.nodes[7], {
      capillariesReleaseUrl: 'https://example.com/capi/v1.2/',
      versions: { nodeExporter: '1.8.2' },
    });
    expect(parameters).toEqual({
      CapillariesReleaseUrl: ['https://example.com/capi/v1.2'],
      NodeExporterVersion: ['1.8.2'],
    });
  });

  it('leaves an empty public address out, so the bastion asks the instance metadata', () => {
    const plan = samplePlan();
    expect(
      documentParameters(plan, 'capi-bastion-configure', plan.nodes[0], {
        logVolumeId: 'vol-0123456789abcdef0',
      }),
    ).not.toHaveProperty('PublicAddress');
  });

  it('refuses unknown documents, wrong roles and a bastion install or configure without its log volume', () => {
    const plan = samplePlan();
    const [bastion, rabbitmq] = plan.nodes;
    expect(() => documentParameters(plan, 'capi-unknown', bastion)).toThrow(/unknown provisioning document/);
    expect(() => documentParameters(plan, 'capi-cassandra-configure', rabbitmq)).toThrow(
      /runs on cassandra nodes, not on rabbitmq/,
    );
    expect(() => documentParameters(plan, 'capi-bastion-install', bastion)).toThrow(/extras.logVolumeId/);
    expect(() => documentParameters(plan, 'capi-bastion-configure', bastion)).toThrow(
      /capi-bastion-configure needs the log volume id/,
    );
  });

  it('never carries a secret: no parameter is named like one', () => {
    for (const [, doc] of entries) {
      for (const name of Object.keys(doc.parameters)) expect(name).not.toMatch(/pass|secret|credential/i);
    }
  });
});
