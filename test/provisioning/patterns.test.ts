import { describe, expect, it } from 'vitest';
import {
  documentParameters,
  loadDocuments,
  PROVISIONING_DOCUMENTS,
  type ProvisioningDocumentName,
} from '../../src/provisioning/documents.js';
import { samplePlan } from './harness.js';

const documents = loadDocuments();
const plan = samplePlan();

/** Shell metacharacters and injections no parameter may carry, alone or around a valid value. */
const HOSTILE = [
  '; rm -rf /',
  '$(id)',
  '`id`',
  '| cat /etc/shadow',
  '&& reboot',
  '\nreboot',
  'x\n',
  '"',
  "'",
  '\\',
];

/** A valid value of every parameter: what documentParameters builds for the sample, else the default. */
function validValues(name: ProvisioningDocumentName): Record<string, string> {
  const node = plan.nodes.find((candidate) => {
    try {
      documentParameters(plan, name, candidate, { logVolumeId: 'vol-0123456789abcdef0' });
      return true;
    } catch {
      return false;
    }
  });
  const built = node ? documentParameters(plan, name, node, { logVolumeId: 'vol-0123456789abcdef0' }) : {};
  const examples: Record<string, string> = { Check: 'cassandra', PublicAddress: 'capi.example.com' };
  return Object.fromEntries(
    Object.entries(documents[name].parameters).map(([key, definition]) => [
      key,
      built[key]?.[0] ?? examples[key] ?? definition.default ?? '',
    ]),
  );
}

const cases = PROVISIONING_DOCUMENTS.flatMap((name) =>
  Object.entries(validValues(name)).map(([parameter, valid]) => ({
    name,
    parameter,
    valid,
    pattern: new RegExp(documents[name].parameters[parameter].allowedPattern),
  })),
);

describe('allowedPattern of every parameter', () => {
  it.each(cases)('$name $parameter accepts its valid value and rejects shell metacharacters', (c) => {
    expect(c.valid, 'valid example').toMatch(c.pattern);
    for (const hostile of HOSTILE) {
      for (const value of [hostile, `${c.valid}${hostile}`, `${hostile}${c.valid}`]) {
        expect(c.pattern.test(value), JSON.stringify(value)).toBe(false);
      }
    }
  });

  it('is anchored at both ends', () => {
    for (const c of cases) expect(c.pattern.source, `${c.name} ${c.parameter}`).toMatch(/^\^.*\$$/);
  });

  it('limits Check to the five health checks', () => {
    const check = documents['capi-health-check'].parameters.Check.allowedPattern;
    expect(check).toBe('^(cassandra|rabbitmq|webapi|ui|prometheus)$');
  });
});
