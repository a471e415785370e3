import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as {
  forbidden: IForbiddenRuleType[];
};

/** Every broken rule in a tree, as `rule: from -> to` lines. */
async function violations(baseDir: string, folders: string[]): Promise<string[]> {
  const { output } = await cruise(folders, {
    baseDir,
    ruleSet: { forbidden: config.forbidden },
    validate: true,
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    outputType: 'json',
  });
  const result = (typeof output === 'string' ? JSON.parse(output) : output) as ICruiseResult;
  return result.summary.violations.map(
    (violation) =>
      `${violation.rule.name}: ${violation.from} -> ${violation.to}${violation.cycle ? ' (cycle)' : ''}`,
  );
}

describe('the import rule', () => {
  it('holds for the whole product (src, functions, infra, bin)', async () => {
    expect(await violations(ROOT, ['src', 'functions', 'infra', 'bin'])).toEqual([]);
  });

  describe('on a tree with deliberately bad imports', () => {
    const tree = mkdtempSync(join(tmpdir(), 'capi-imports-'));
    afterAll(() => rmSync(tree, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    };

    it('names each broken rule', async () => {
      write(
        'src/core/spec.ts',
        "import { handler } from '../../functions/vpc/handler.js';\nexport const x = handler;\n",
      );
      write(
        'functions/vpc/handler.ts',
        "import { y } from '../subnets/subnets.js';\nexport const handler = y;\n",
      );
      write('functions/subnets/subnets.ts', 'export const y = 1;\n');
      write('src/sim/ec2.ts', "import { z } from '../local/engine.js';\nexport const e = z;\n");
      write('src/local/engine.ts', 'export const z = 1;\n');
      write('src/report/html.ts', "import { c } from '../cli/output.js';\nexport const h = c;\n");
      write('src/cli/output.ts', "import { h } from '../report/html.js';\nexport const c = h;\n");
      expect((await violations(tree, ['src', 'functions'])).sort()).toEqual([
        'core-imports-nothing-of-ours: src/core/spec.ts -> functions/vpc/handler.ts',
        'functions-import-only-core-and-shared: functions/vpc/handler.ts -> functions/subnets/subnets.ts',
        'no-cycles: src/cli/output.ts -> src/report/html.ts (cycle)',
        'only-bin-imports-the-cli: src/report/html.ts -> src/cli/output.ts',
        'report-imports-core-and-cost: src/report/html.ts -> src/cli/output.ts',
        'sim-imports-only-core: src/sim/ec2.ts -> src/local/engine.ts',
      ]);
    });
  });
});
