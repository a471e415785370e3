import type { JsonSchema } from 'aws-cdk-lib/aws-apigateway';
import { JsonSchemaVersion } from 'aws-cdk-lib/aws-apigateway';
import { z } from 'zod';
import { DeploymentSpecSchema } from '../src/core/spec/schema.js';

/** JSON Schema keywords whose CDK `JsonSchema` property has another name. */
const RENAMED: Record<string, string | null> = { $schema: null, $id: 'id', $ref: 'ref' };

function toCdkSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toCdkSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const name = key in RENAMED ? RENAMED[key] : key;
    if (name === null) continue;
    // `properties`, `definitions` and `patternProperties` map names to schemas: keep the names, convert the values.
    out[name] =
      ['properties', 'definitions', 'patternProperties'].includes(key) && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([child, schema]) => [child, toCdkSchema(schema)]))
        : toCdkSchema(value);
  }
  return out;
}

/**
 * The API Gateway model of `POST /deployments`, generated from the zod schema of the spec (draft 4, which API
 * Gateway speaks), so the two cannot drift. Refinements zod cannot express in JSON Schema (a CIDR's octets, the zone
 * belonging to the region) are left to the Lambda, which validates with the zod schema itself.
 */
function deploymentSpecModelSchema(): JsonSchema {
  const generated = z.toJSONSchema(DeploymentSpecSchema, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
  });
  return {
    ...(toCdkSchema(generated) as JsonSchema),
    schema: JsonSchemaVersion.DRAFT4,
    title: 'DeploymentSpec',
  };
}

export { deploymentSpecModelSchema };
