import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  documentParameters,
  PROVISIONING_DOCUMENTS,
  type ProvisioningDocumentName,
} from '../../src/core/documents.js';
import { DOCUMENT_PARAMETER_RULES, parameterRule } from '../../src/core/parameter-rules.js';
import { loadDocuments, provisioningDocsDir } from '../../src/provisioning/documents.js';
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

/** The parameters each YAML file declares, read without the loader (which checks the rules itself). */
const declared = PROVISIONING_DOCUMENTS.map((name) => {
  const yaml = parse(readFileSync(join(provisioningDocsDir(), `${name}.yaml`), 'utf8')) as {
    parameters: Record<string, { allowedPattern?: string }>;
  };
  return { name, parameters: yaml.parameters };
});

describe('allowedPattern is the parameter rule (src/core/parameter-rules.ts)', () => {
  it.each(declared)(
    '$name: every parameter has a rule, and its allowedPattern is exactly the rule',
    (doc) => {
      for (const [parameter, definition] of Object.entries(doc.parameters)) {
        const rule = parameterRule(parameter);
        expect(rule, `${doc.name} ${parameter} has no rule`).toBeDefined();
        expect(definition.allowedPattern, `${doc.name} ${parameter}`).toBe(rule?.pattern);
      }
    },
  );

  it('has no rule for a parameter no document declares', () => {
    const used = new Set(declared.flatMap((doc) => Object.keys(doc.parameters)));
    expect(Object.keys(DOCUMENT_PARAMETER_RULES).filter((parameter) => !used.has(parameter))).toEqual([]);
  });
});

const SCRIPTS_DIR = join(provisioningDocsDir(), 'scripts');
const scriptsUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return scriptsUnder(path);
    return entry.endsWith('.sh') ? [path] : [];
  });

/** A single- or double-quoted shell string, as one regex alternative: '…' or "…" with backslash escapes. */
const QUOTED = String.raw`'[^']*'|"(?:[^"\\]|\\.)*"`;

/**
 * The value bash gives a word made of quoted strings only ('…' literal; "…" with $NAME / ${NAME} expanded from
 * `vars` and \$ \` \" \\ unescaped), or undefined when it uses a variable not in `vars` or anything else.
 */
function shellWord(word: string, vars: Record<string, string>): string | undefined {
  let out = '';
  for (const part of word.match(new RegExp(QUOTED, 'g')) ?? []) {
    if (part.startsWith("'")) {
      out += part.slice(1, -1);
      continue;
    }
    const body = part.slice(1, -1);
    for (let i = 0; i < body.length; i++) {
      const char = body[i];
      if (char === '\\' && '$`"\\'.includes(body[i + 1] ?? '')) {
        out += body[++i];
      } else if (char === '$' && /[{A-Za-z_]/.test(body[i + 1] ?? '')) {
        const reference = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(body.slice(i));
        const name = reference?.[1] ?? reference?.[2];
        if (!reference || name === undefined || !(name in vars)) return undefined;
        out += vars[name];
        i += reference[0].length - 1;
      } else {
        out += char;
      }
    }
  }
  return word.match(new RegExp(`^(?:${QUOTED})+$`)) ? out : undefined;
}

/** Every `param NAME REGEX` check of a script, REGEX as bash sees it after expanding the script's variables. */
function paramChecks(file: string) {
  const vars: Record<string, string> = {};
  const checks: { parameter: string; regex: string | undefined }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const assignment = new RegExp(`^([A-Z_][A-Z0-9_]*)=((?:${QUOTED})+)$`).exec(line);
    const value = assignment ? shellWord(assignment[2], vars) : undefined;
    if (assignment && value !== undefined) vars[assignment[1]] = value;
    for (const call of line.matchAll(new RegExp(`\\$\\(param (\\w+) ((?:${QUOTED})+)\\)`, 'g'))) {
      checks.push({ parameter: call[1], regex: shellWord(call[2], vars) });
    }
  }
  return checks;
}

const scripts = scriptsUnder(SCRIPTS_DIR).map((file) => ({ script: relative(SCRIPTS_DIR, file), file }));

describe('param checks of the scripts are the parameter rules', () => {
  it('expands quoted shell words as bash does', () => {
    const vars = { IP: '[0-9]+', EMPTY: '' };
    /** Shell text: `{` stands for `${`, so the source holds no template placeholder. */
    const sh = (text: string) => text.replaceAll('{', '${');
    expect(shellWord(sh(String.raw`"^{IP}(,$IP)*\$x\\.$"`), vars)).toBe(String.raw`^[0-9]+(,[0-9]+)*$x\.$`);
    expect(shellWord(sh(String.raw`'^a\.b$'"{EMPTY}"`), vars)).toBe(String.raw`^a\.b$`);
    expect(shellWord(sh('"{UNKNOWN}"'), vars)).toBeUndefined();
    expect(shellWord('unquoted', vars)).toBeUndefined();
  });

  it.each(scripts)('$script: every param NAME REGEX is exactly the rule of NAME', ({ file }) => {
    const text = readFileSync(file, 'utf8');
    const checks = paramChecks(file);
    // Every call is understood: a check the parser cannot read would otherwise escape the comparison.
    expect(checks).toHaveLength([...text.matchAll(/\$\(param /g)].length);
    for (const { parameter, regex } of checks) {
      const rule = parameterRule(parameter);
      expect(rule, `${parameter} has no rule`).toBeDefined();
      expect(regex, parameter).toBe(rule?.pattern);
    }
  });

  it('covers every parameter some document declares', () => {
    const checked = new Set(scripts.flatMap(({ file }) => paramChecks(file).map((check) => check.parameter)));
    const parameters = new Set(declared.flatMap((doc) => Object.keys(doc.parameters)));
    expect([...parameters].filter((parameter) => !checked.has(parameter))).toEqual([]);
  });
});
