import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** IAM service prefix of each AWS SDK client package our code may import (`@aws-sdk/client-<name>`). */
const IAM_PREFIX: Record<string, string> = {
  ec2: 'ec2',
  iam: 'iam',
  ssm: 'ssm',
  sts: 'sts',
  'service-quotas': 'servicequotas',
  'resource-groups-tagging-api': 'tag',
  sfn: 'states',
  cloudformation: 'cloudformation',
  'cloudwatch-logs': 'logs',
};

const NAMED_IMPORT = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;
const NAMESPACE_IMPORT = /import\s+\*\s+as\s+(\w+)\s+from\s*'([^']+)'/g;
const RELATIVE_MODULE = /(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'(\.{1,2}\/[^']+)'/g;
const DYNAMIC_IMPORT = /import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function resolveModule(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((candidate) => candidate.endsWith('.ts') && existsSync(candidate));
}

/** The AWS actions one file calls: `new XxxCommand(` and `paginateXxx(` of names imported from an SDK client. */
function callsIn(text: string): string[] {
  const actions: string[] = [];
  const commandOf = new Map<string, string>();
  for (const [, typeOnly, names, source] of text.matchAll(NAMED_IMPORT)) {
    const client = /^@aws-sdk\/client-(.+)$/.exec(source)?.[1];
    if (typeOnly || !client) continue;
    const prefix = IAM_PREFIX[client];
    if (!prefix) throw new Error(`no IAM prefix for @aws-sdk/client-${client}; add it to IAM_PREFIX`);
    for (const specifier of names.split(',').map((part) => part.trim())) {
      if (!specifier || specifier.startsWith('type ')) continue;
      const [imported, local = imported] = specifier.split(/\s+as\s+/);
      const operation = /^(\w+)Command$/.exec(imported)?.[1] ?? /^paginate(\w+)$/.exec(imported)?.[1];
      if (operation) commandOf.set(local, `${prefix}:${operation}`);
    }
  }
  for (const [local, action] of commandOf) {
    const used = local.endsWith('Command')
      ? new RegExp(`new\\s+${local}\\s*\\(`).test(text)
      : new RegExp(`\\b${local}\\s*\\(`).test(text);
    if (used) actions.push(action);
  }
  for (const [, namespace, source] of text.matchAll(NAMESPACE_IMPORT)) {
    const client = /^@aws-sdk\/client-(.+)$/.exec(source)?.[1];
    if (!client) continue;
    for (const [, operation] of text.matchAll(
      new RegExp(`new\\s+${namespace}\\.(\\w+)Command\\s*\\(`, 'g'),
    )) {
      actions.push(`${IAM_PREFIX[client]}:${operation}`);
    }
  }
  return actions;
}

/**
 * Every AWS action a Lambda's bundle can call: the calls of its entry file and of every file it imports, followed
 * through relative imports (type-only imports excluded), which is what esbuild bundles.
 */
function sdkCalls(entry: string, root: string) {
  const seen = new Set<string>();
  const actions = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const action of callsIn(text))
      actions.set(action, [...(actions.get(action) ?? []), relative(root, file)]);
    const modules = [
      ...[...text.matchAll(RELATIVE_MODULE)]
        .filter(([, typeOnly]) => !typeOnly)
        .map(([, , specifier]) => specifier),
      ...[...text.matchAll(DYNAMIC_IMPORT)].map(([, specifier]) => specifier),
    ];
    for (const specifier of modules) {
      const resolved = resolveModule(file, specifier);
      if (resolved) visit(resolved);
    }
  };
  visit(join(root, entry));
  return { actions, files: [...seen].map((file) => relative(root, file)) };
}

export { callsIn, sdkCalls };
