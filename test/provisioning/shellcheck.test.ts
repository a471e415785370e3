import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROVISIONING_DOCUMENTS } from '../../src/core/documents.js';
import { provisioningDocsDir } from '../../src/provisioning/documents.js';
import { requireTool, SHELLCHECK, skipWithout } from '../tools.js';
import { documentScript } from './harness.js';

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

/** Runs shellcheck on files; without shellcheck (and CAPI_REQUIRE_TOOLS=1) the test fails here. */
function shellcheck(files: string[]) {
  return spawnSync(
    requireTool(SHELLCHECK),
    ['--external-sources', '--shell=bash', '--severity=style', ...files],
    {
      encoding: 'utf8',
      cwd: SCRIPTS_DIR,
    },
  );
}

// Skipped with a notice where shellcheck is absent, failed instead under CAPI_REQUIRE_TOOLS=1 (test/tools.ts).
describe.skipIf(skipWithout(SHELLCHECK))('shellcheck', () => {
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
