import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { PROVISIONING_DOCUMENTS, type ProvisioningDocumentName } from '../core/documents.js';
import { parameterRule } from '../core/parameter-rules.js';

/**
 * The SSM Command documents of `provisioning-docs/`: loading (YAML + inlined scripts). The parameters each
 * document takes for a node of a plan are in `src/core/documents.ts`. SSM cannot ship files with a command, so each document's runCommand holds a
 * `{{script:<path>}}` line that the loader replaces with the script, itself with `lib/common.sh` inlined.
 */

/** Where the YAML documents and their scripts live in the repository. */
export function provisioningDocsDir(): string {
  return fileURLToPath(new URL('../../provisioning-docs/', import.meta.url));
}

const parameterSchema = z.strictObject({
  type: z.enum(['String', 'StringList']),
  description: z.string().min(1),
  default: z.string().optional(),
  // Anchored at both ends: an unanchored pattern accepts anything that merely contains a valid value.
  allowedPattern: z.string().regex(/^\^.*\$$/, 'must be anchored with ^ and $'),
  interpolationType: z.literal('ENV_VAR').optional(),
});

const stepSchema = z.strictObject({
  action: z.literal('aws:runShellScript'),
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  precondition: z
    .strictObject({ StringEquals: z.tuple([z.literal('platformType'), z.literal('Linux')]) })
    .optional(),
  inputs: z.strictObject({
    timeoutSeconds: z.number().int().min(1).max(172_800),
    runCommand: z.array(z.string()).min(1),
    workingDirectory: z.string().optional(),
  }),
});

const documentSchema = z.strictObject({
  schemaVersion: z.literal('2.2'),
  description: z.string().min(1),
  parameters: z.record(z.string().regex(/^[A-Za-z0-9]+$/), parameterSchema),
  mainSteps: z.array(stepSchema).min(1),
});

/** One parameter of a Command document (schema 2.2). */
export type SsmDocumentParameter = z.infer<typeof parameterSchema>;
/** One `aws:runShellScript` step. */
export type RunShellScriptStep = z.infer<typeof stepSchema>;
/** A Command document's content: what CDK's `CfnDocument.content` and the simulator take. */
export type SsmCommandDocument = z.infer<typeof documentSchema>;

const PLACEHOLDER = /^\{\{script:([A-Za-z0-9_./-]+\.sh)\}\}$/;
/** `. "…/common.sh" # capi:inline lib/common.sh`: sourced from disk, inlined in a document. */
const INLINE_MARKER = /^\s*(?:\.|source)\s.*#\s*capi:inline\s+([A-Za-z0-9_./-]+\.sh)\s*$/;

function readScript(scriptsDir: string, path: string): string[] {
  const full = normalize(join(scriptsDir, path));
  if (!full.startsWith(scriptsDir)) throw new Error(`script path ${path} leaves ${scriptsDir}`);
  return readFileSync(full, 'utf8').replace(/\n$/, '').split('\n');
}

/**
 * The lines of a script with its `capi:inline` libraries expanded (each library once per document) and the
 * shebang of inlined files dropped: the document's first runCommand line is the only one the kernel reads.
 */
function scriptLines(scriptsDir: string, path: string, inlined: Set<string>): string[] {
  return readScript(scriptsDir, path).flatMap((line, index) => {
    if (index === 0 && line.startsWith('#!')) return [];
    const library = INLINE_MARKER.exec(line)?.[1];
    if (!library) return [line];
    if (inlined.has(library)) return [];
    inlined.add(library);
    return [
      `# --- inlined ${library} ---`,
      ...scriptLines(scriptsDir, library, inlined),
      `# --- end ${library} ---`,
    ];
  });
}

function inlineScripts(document: SsmCommandDocument, scriptsDir: string): SsmCommandDocument {
  const inlined = new Set<string>();
  const mainSteps = document.mainSteps.map((step) => ({
    ...step,
    inputs: {
      ...step.inputs,
      runCommand: step.inputs.runCommand.flatMap((line) => {
        const script = PLACEHOLDER.exec(line.trim())?.[1];
        return script ? scriptLines(scriptsDir, script, inlined) : [line];
      }),
    },
  }));
  return { ...document, mainSteps };
}

/** Options of the loaders: tests point them at a copy of the documents. */
export interface LoadOptions {
  /** Directory of the `*.yaml` documents, with the scripts under `scripts/`. Default: `provisioning-docs/`. */
  dir?: string;
}

/**
 * The problems of a document's parameters against the parameter rules (src/core/parameter-rules.ts): every
 * parameter must have a rule, and its allowedPattern must be that rule's pattern exactly, so the spec validation,
 * SSM and the scripts accept the same values.
 */
function ruleProblems(document: SsmCommandDocument): string[] {
  return Object.entries(document.parameters).flatMap(([parameter, definition]) => {
    const rule = parameterRule(parameter);
    if (!rule)
      return [`parameters.${parameter}: no parameter rule of that name in src/core/parameter-rules.ts`];
    return definition.allowedPattern === rule.pattern
      ? []
      : [`parameters.${parameter}.allowedPattern: must be its rule's pattern ${rule.pattern}`];
  });
}

/** Loads one document: parses and validates its YAML, checks its patterns, then inlines its scripts. */
export function loadDocument(name: ProvisioningDocumentName, options: LoadOptions = {}): SsmCommandDocument {
  const dir = options.dir ?? provisioningDocsDir();
  const raw = parse(readFileSync(join(dir, `${name}.yaml`), 'utf8'));
  const checked = documentSchema.safeParse(raw);
  if (!checked.success) {
    throw new Error(`provisioning-docs/${name}.yaml: ${z.prettifyError(checked.error)}`);
  }
  const problems = ruleProblems(checked.data);
  if (problems.length > 0) throw new Error(`provisioning-docs/${name}.yaml: ${problems.join('; ')}`);
  return inlineScripts(checked.data, normalize(join(dir, 'scripts/')));
}

/** Loads every provisioning document, by name. */
export function loadDocuments(
  options: LoadOptions = {},
): Record<ProvisioningDocumentName, SsmCommandDocument> {
  return Object.fromEntries(
    PROVISIONING_DOCUMENTS.map((name) => [name, loadDocument(name, options)]),
  ) as Record<ProvisioningDocumentName, SsmCommandDocument>;
}
