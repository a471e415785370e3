import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { DeploymentSpecSchema, SPEC_LIMITS } from './schema.js';

/**
 * The deployment spec reference (docs/spec-reference.md), generated from {@link DeploymentSpecSchema}: every field
 * with its type, whether it is required, its default, description, constraints, the message a wrong value gets,
 * and an example. A test compares the file with {@link renderSpecReference}, so the two never drift; to update the
 * file after a schema change, run `npx tsx src/core/spec/reference.ts`.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE_FILE = 'examples/sample.json';
const REFERENCE_FILE = 'docs/spec-reference.md';

/**
 * Examples of fields that examples/sample.json leaves out and that have no default to show instead.
 * Kept valid by a test that parses the sample merged with these.
 */
const EXTRA_EXAMPLES: Record<string, unknown> = {
  flavor: {
    arch: 'arm64',
    cassandraCores: 8,
    cassandra: 'c7gd.2xlarge',
    daemon: 'c7g.2xlarge',
    rabbitmq: 'c7g.medium',
    prometheus: 'c7g.medium',
    bastion: 'c7g.large',
  },
  customer: 'acme',
  fromImages: 'sample',
};

type JsonSchema = {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
};

/** One documented field. */
interface FieldDoc {
  path: string;
  type: string;
  required: boolean;
  /** Required only in this case: "the object form of `flavor`", "`assumeRole` is given". */
  when?: string;
  /** The forms of a field that takes one of several shapes, with their own validation messages. */
  forms: string[];
  default?: unknown;
  description?: string;
  constraints: string[];
  messages: string[];
  example?: unknown;
}

/** Minimal view of zod 4 internals: enough to reach a field's own validation messages. */
type ZodNode = {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, ZodNode>;
      innerType?: ZodNode;
      options?: ZodNode[];
      element?: ZodNode;
      in?: ZodNode;
      error?: (issue?: unknown) => unknown;
      checks?: { _zod: { def: { check: string; error?: (issue?: unknown) => unknown } } }[];
    };
  };
};

/** The zod schemas under a wrapper (default, optional, pipe): where checks and shapes are. */
function unwrap(node: ZodNode | undefined): ZodNode | undefined {
  const def = node?._zod.def;
  if (!def) return undefined;
  if (def.innerType) return unwrap(def.innerType);
  if (def.type === 'pipe' && def.in) return unwrap(def.in);
  return node;
}

/** Custom messages of a schema's checks (refinements, regex and bound messages), in declaration order. */
function messagesOf(node: ZodNode | undefined): string[] {
  const messages: string[] = [];
  const add = (error: ((issue?: unknown) => unknown) | undefined, prefix = '') => {
    try {
      const message = error?.();
      if (typeof message === 'string' && message && !messages.includes(`${prefix}${message}`)) {
        messages.push(`${prefix}${message}`);
      }
    } catch {
      // A message built from the failing value cannot be shown without one.
    }
  };
  const def = unwrap(node)?._zod.def;
  add(def?.error);
  for (const check of def?.checks ?? []) add(check._zod.def.error);
  const element = unwrap(def?.element)?._zod.def;
  add(element?.error, 'each item: ');
  for (const check of element?.checks ?? []) add(check._zod.def.error, 'each item: ');
  return messages;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A field the schema keeps only to refuse it with a message (`assumeRole`): its description starts so. */
const REFUSED = 'refused: ';

function typeOf(schema: JsonSchema): string {
  if (schema.description?.startsWith(REFUSED)) return 'refused';
  if (schema.const !== undefined) return `${JSON.stringify(schema.const)} (constant)`;
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ');
  if (schema.type === 'array') return `array of ${schema.items ? typeOf(schema.items) : 'any'}`;
  if (schema.type === 'string' && schema.format === 'uri') return 'string (URL)';
  return schema.type ?? 'any';
}

function constraintsOf(schema: JsonSchema, prefix = ''): string[] {
  const out: string[] = [];
  const range = (min: number | undefined, max: number | undefined, unit: string) => {
    const hasMax = max !== undefined && max < MAX_SAFE;
    if (min !== undefined && hasMax) out.push(`${prefix}${min} to ${max}${unit}`);
    else if (min !== undefined) out.push(`${prefix}at least ${min}${unit}`);
    else if (hasMax) out.push(`${prefix}at most ${max}${unit}`);
  };
  range(schema.minLength, schema.maxLength, ' characters');
  range(schema.minimum, schema.maximum, '');
  if (schema.minItems === 1 && schema.maxItems === undefined) out.push(`${prefix}at least 1 item`);
  else range(schema.minItems, schema.maxItems, ' items');
  if (schema.pattern) out.push(`${prefix}matches \`${schema.pattern}\``);
  if (schema.format === 'uri') out.push(`${prefix}a URL`);
  if (schema.type === 'integer') out.push(`${prefix}a whole number`);
  if (schema.additionalProperties === false) out.push(`${prefix}no fields other than those listed`);
  if (schema.items) out.push(...constraintsOf(schema.items, 'each item: '));
  return out;
}

function valueAt(root: unknown, path: string[]): unknown {
  let value = root;
  for (const key of path) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A field's example: from the sample spec, else from {@link EXTRA_EXAMPLES}, else its default. */
function exampleOf(sample: unknown, path: string[], schema: JsonSchema): unknown {
  return valueAt(sample, path) ?? valueAt(EXTRA_EXAMPLES, path) ?? schema.default;
}

function collect(
  schema: JsonSchema,
  zod: ZodNode | undefined,
  path: string[],
  required: boolean,
  sample: unknown,
  out: FieldDoc[],
  when?: string,
): void {
  if (path.length > 0) {
    out.push({
      path: path.join('.'),
      type: typeOf(schema),
      required,
      ...(when ? { when } : {}),
      ...(schema.default !== undefined ? { default: schema.default } : {}),
      ...(schema.description ? { description: schema.description } : {}),
      constraints: schema.anyOf ? [] : constraintsOf(schema),
      messages: schema.anyOf ? [] : messagesOf(zod),
      forms: (schema.anyOf ?? []).map((alternative, i) => {
        const messages = alternative.properties ? [] : messagesOf(unwrap(zod)?._zod.def.options?.[i]);
        const what = alternative.description ?? (alternative.properties ? 'fields below' : '');
        const invalid = messages.map((message) => ` (when invalid: “${message}”)`).join('');
        return `${typeOf(alternative)}${what ? `: ${what}` : ''}${alternative.properties ? ', fields below' : ''}${invalid}`;
      }),
      example: exampleOf(sample, path, schema),
    });
  }
  const inner = unwrap(zod)?._zod.def;
  if (schema.properties) {
    // A required field of an optional object is required only when the object is given.
    const childWhen =
      when ?? (path.length > 0 && !required ? `when \`${path.join('.')}\` is given` : undefined);
    for (const [key, child] of Object.entries(schema.properties)) {
      const childRequired = (schema.required ?? []).includes(key);
      collect(
        child,
        inner?.shape?.[key],
        [...path, key],
        childRequired,
        sample,
        out,
        childRequired ? childWhen : when,
      );
    }
  }
  (schema.anyOf ?? []).forEach((alternative, i) => {
    if (!alternative.properties) return;
    for (const [key, child] of Object.entries(alternative.properties)) {
      const zodChild = unwrap(inner?.options?.[i])?._zod.def.shape?.[key];
      collect(
        child,
        zodChild,
        [...path, key],
        (alternative.required ?? []).includes(key),
        sample,
        out,
        `in the object form of \`${path.join('.')}\``,
      );
    }
  });
}

/** Every field of the deployment spec, depth first in schema order. */
function specFields(): FieldDoc[] {
  const schema = z.toJSONSchema(DeploymentSpecSchema, { io: 'input' }) as JsonSchema;
  const sample = JSON.parse(readFileSync(join(ROOT, SAMPLE_FILE), 'utf8')) as unknown;
  const fields: FieldDoc[] = [];
  collect(schema, DeploymentSpecSchema as unknown as ZodNode, [], true, sample, fields);
  return fields;
}

const code = (value: unknown) => `\`${JSON.stringify(value)}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|');
/** Prose for Markdown: `<arch>` would otherwise be read as an HTML tag. */
const md = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fieldSection(field: FieldDoc): string[] {
  const lines = [`### \`${field.path}\``, ''];
  if (field.description)
    lines.push(md(`${field.description[0].toUpperCase()}${field.description.slice(1)}.`), '');
  lines.push(`- **Type:** ${field.type}`);
  lines.push(
    `- **Required:** ${field.required ? 'yes' : 'no'}${field.required && field.when ? `, ${field.when}` : ''}${field.default !== undefined ? `; default ${code(field.default)}` : ''}`,
  );
  for (const form of field.forms) lines.push(`- **Form:** ${md(form)}`);
  if (field.constraints.length > 0) lines.push(`- **Constraints:** ${field.constraints.join('; ')}`);
  for (const message of field.messages) lines.push(`- **When invalid:** “${md(message)}”`);
  lines.push(`- **Example:** ${field.example === undefined ? '—' : code(field.example)}`, '');
  return lines;
}

/**
 * The Markdown reference of every field of the deployment spec.
 * @see docs/spec-reference.md, which must equal this (test/report/spec-reference.test.ts)
 */
function renderSpecReference(): string {
  const fields = specFields();
  const lines = [
    '# Deployment spec reference',
    '',
    '<!-- Generated from DeploymentSpecSchema (src/core/spec/schema.ts) by renderSpecReference() in src/core/spec/reference.ts.',
    '     Do not edit by hand: run `npx tsx src/core/spec/reference.ts` after changing the schema. A test fails when they differ. -->',
    '',
    'A deployment spec is the JSON file given to `capi-deploy create` (and `capi-deploy validate`), and the input of the',
    '`create-deployment` state machine. Unknown fields are rejected, and every invalid field is reported at once,',
    `before any AWS call. Secrets are never part of it: the workflow generates them. A complete example is \`${SAMPLE_FILE}\`.`,
    `The spec's JSON may be at most ${SPEC_LIMITS.specBytes.toLocaleString('en-US')} bytes: it is the execution's input, which Step Functions`,
    `carries in every state (at most ${SPEC_LIMITS.stateBytes.toLocaleString('en-US')} bytes each). A key given twice in one object is refused; a leading byte`,
    'order mark is ignored.',
    '',
    '| Field | Type | Required | Default |',
    '| --- | --- | --- | --- |',
    ...fields.map(
      (field) =>
        `| \`${field.path}\` | ${cell(field.type)} | ${field.required ? (field.when ? `yes, ${field.when}` : 'yes') : 'no'} | ${field.default === undefined ? '—' : cell(code(field.default))} |`,
    ),
    '',
    '## Fields',
    '',
    ...fields.flatMap(fieldSection),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Writes docs/spec-reference.md. */
function writeSpecReference(root: string = ROOT): string {
  const file = join(root, REFERENCE_FILE);
  writeFileSync(file, renderSpecReference());
  return file;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`wrote ${writeSpecReference()}`);
}

export type { FieldDoc };
export { EXTRA_EXAMPLES, REFERENCE_FILE, renderSpecReference, specFields, writeSpecReference };
