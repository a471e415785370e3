import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROVISIONING_DOCUMENTS, provisioningDocsDir } from '../../src/provisioning/documents.js';
import { documentScript } from './harness.js';

/** shellcheck is a hard requirement of this suite (CI installs it): a missing binary fails, never skips. */
function shellcheckBinary(): string {
  if (existsSync('/usr/bin/shellcheck')) return '/usr/bin/shellcheck';
  const found = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' }).stdout.trim();
  return found;
}

function scriptsUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return scriptsUnder(path);
    return name.endsWith('.sh') ? [path] : [];
  });
}

const SCRIPTS_DIR = join(provisioningDocsDir(), 'scripts');
const scratch = mkdtempSync(join(tmpdir(), 'capi-shellcheck-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function shellcheck(files: string[]) {
  const binary = shellcheckBinary();
  expect(binary, 'shellcheck is not installed: apt-get install -y shellcheck').not.toBe('');
  return spawnSync(binary, ['--external-sources', '--shell=bash', '--severity=style', ...files], {
    encoding: 'utf8',
    cwd: SCRIPTS_DIR,
  });
}

describe('shellcheck', () => {
  it('is installed', () => {
    expect(shellcheckBinary(), 'shellcheck is not installed: apt-get install -y shellcheck').not.toBe('');
  });

  it('passes every provisioning script', () => {
    const files = scriptsUnder(SCRIPTS_DIR);
    expect(files.length).toBeGreaterThanOrEqual(12);
    const result = shellcheck(files);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('passes the text SSM runs for every document (fallback lines and inlined scripts)', () => {
    const files = PROVISIONING_DOCUMENTS.map((name) => {
      const file = join(scratch, `${name}.sh`);
      writeFileSync(file, documentScript(name));
      return file;
    });
    const result = shellcheck(files);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});
