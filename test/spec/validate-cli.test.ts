import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { readSpecFile } from '../../src/cli/spec-file.js';

/** `capi-deploy validate` on spec files JSON.parse alone would read wrongly or not at all. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'capi-validate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function validate(name: string, text: string) {
  const file = join(scratch, name);
  writeFileSync(file, text);
  const cli = spawnSync(process.execPath, [join(ROOT, 'bin/capi-deploy.js'), 'validate', file], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  return { file, status: cli.status, stdout: cli.stdout, stderr: cli.stderr };
}

const specText = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ ...sample, ...overrides }, null, 2);

describe('capi-deploy validate', () => {
  it('refuses a key given twice (exit 2), naming it', () => {
    const text = specText().replace('"cassandraNodes": 4,', '"cassandraNodes": 4,\n  "cassandraNodes": 40,');
    const { file, status, stdout, stderr } = validate('twice.json', text);
    expect(status, stderr).toBe(2);
    expect(stderr).toBe(
      `${file}: cassandraNodes: key given more than once in the same object; JSON keeps only the last value, so give it once\n`,
    );
    expect(stdout).toBe('');
  });

  it('accepts a file starting with a UTF-8 byte order mark (exit 0)', () => {
    const { status, stdout, stderr } = validate('bom.json', `\uFEFF${specText()}`);
    expect(status, stderr).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('10.5.0.11');
  });

  it('refuses 0.0.0.0/0 without "allowWorld": true (exit 2)', () => {
    const { file, status, stderr } = validate('world.json', specText({ allowedCidrs: ['0.0.0.0/0'] }));
    expect(status).toBe(2);
    expect(stderr).toBe(
      `${file}: allowedCidrs.0: 0.0.0.0/0 opens ports 80, 6544, 9090 and 15672 of the bastion to the whole internet; add "allowWorld": true to the spec to accept that\n`,
    );
  });

  it('accepts 0.0.0.0/0 with "allowWorld": true and warns on stderr, naming the ports (exit 0)', () => {
    const { file, status, stdout, stderr } = validate(
      'world-allowed.json',
      specText({ allowedCidrs: ['0.0.0.0/0'], allowWorld: true }),
    );
    expect(status, stderr).toBe(0);
    expect(stderr).toBe(
      `${file}: warning: allowedCidrs.0: 0.0.0.0/0 opens ports 80, 6544, 9090 and 15672 of the bastion (Capillaries UI, Capillaries webapi, Prometheus UI, RabbitMQ console) to the whole internet ("allowWorld": true)\n`,
    );
    expect(stdout).toContain('0.0.0.0/0');
  });
});

describe('examples', () => {
  it.each(readdirSync(join(ROOT, 'examples')).filter((name) => name.endsWith('.json')))(
    '%s validates',
    (name) => {
      expect(() => readSpecFile(join(ROOT, 'examples', name))).not.toThrow();
    },
  );
});
