import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import {
  EXTRA_EXAMPLES,
  REFERENCE_FILE,
  renderSpecReference,
  specFields,
} from '../../src/core/spec/reference.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';

describe('spec reference', () => {
  it('docs/spec-reference.md is what renderSpecReference() generates (run `npx tsx src/core/spec/reference.ts`)', () => {
    // Act
    const committed = readFileSync(new URL(`../../${REFERENCE_FILE}`, import.meta.url), 'utf8');

    // Assess
    expect(committed).toBe(renderSpecReference());
  });

  it('documents every field of the schema, nested ones included', () => {
    // Act
    const paths = specFields().map((field) => field.path);

    // Assess
    expect(paths).toEqual(expect.arrayContaining(Object.keys(DeploymentSpecSchema.shape)));
    expect(paths).toEqual(expect.arrayContaining(['versions.cassandra', 'customer', 'flavor.cassandra']));
  });

  it('gives every field a type and an example, and every optional field a default or an example', () => {
    // Act
    const fields = specFields();

    // Assess
    expect(
      fields
        .filter((field) => field.example === undefined && field.type !== 'refused')
        .map((field) => field.path),
    ).toEqual([]);
    expect(fields.filter((field) => !field.type || field.type === 'any').map((field) => field.path)).toEqual(
      [],
    );
  });

  it('shows the validation messages a wrong value gets', () => {
    // Act
    const byPath = Object.fromEntries(specFields().map((field) => [field.path, field]));

    // Assess
    expect(byPath.allowedCidrs.messages).toContain('each item: must be an IPv4 CIDR such as 203.0.113.0/24');
    expect(byPath.capillariesReleaseUrl.messages).toContain('must be an https URL');
    expect(byPath.flavor.forms[0]).toContain('unknown flavor; use one of aws.amd64.c5a.4');
    expect(byPath.customer.messages).toContain(
      'must be 1 to 24 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
    );
    // The inline pair is refused, and the reference says how to register the customer instead.
    expect(byPath.assumeRole).toMatchObject({ type: 'refused', required: false });
    expect(byPath.assumeRole.description).toContain('capi-deploy customers add');
  });

  it('uses examples that make a valid spec', () => {
    // Act
    const parsed = DeploymentSpecSchema.safeParse({ ...sample, ...EXTRA_EXAMPLES });

    // Assess
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});
