import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { provisioningDocsDir } from '../../src/provisioning/documents.js';
import { requireTool, skipWithout, type Tool } from '../tools.js';

/**
 * The AWS CLI signing key kept in provisioning-docs/scripts/lib/awscli.sh, read by the real gpg: it is the key AWS
 * documents (fingerprint FB5D B77F D5C1 18B8 0511 ADA8 A631 0ACC 4672 475C, "AWS CLI Team <aws-cli@amazon.com>"),
 * its self-signature is valid, and it expires when the README says.
 */

const GPG: Tool = { command: 'gpg', install: 'apt-get install gnupg' };
const LIBRARY = join(provisioningDocsDir(), 'scripts/lib/awscli.sh');
const home = mkdtempSync(join(tmpdir(), 'capi-gnupg-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const keyBlock = () => {
  const text = readFileSync(LIBRARY, 'utf8');
  const block = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+?-----END PGP PUBLIC KEY BLOCK-----\n/.exec(
    text,
  )?.[0];
  if (!block) throw new Error(`no key block in ${LIBRARY}`);
  return block;
};

const gpg = (...args: string[]) =>
  spawnSync(requireTool(GPG), ['--homedir', home, '--batch', ...args], { encoding: 'utf8' });

describe.skipIf(skipWithout(GPG))('the AWS CLI signing key in lib/awscli.sh', () => {
  it('is the key AWS publishes, self-signed, valid until 2027-07-01', () => {
    // Prepare
    const file = join(home, 'aws-cli.asc');
    writeFileSync(file, keyBlock());
    // Act
    const shown = gpg('--with-colons', '--show-keys', file);
    const imported = gpg('--import', file);
    const checked = gpg('--with-colons', '--check-sigs', 'FB5DB77FD5C118B80511ADA8A6310ACC4672475C');
    // Assess
    expect(shown.status, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n').map((line) => line.split(':'));
    const pub = lines.find((fields) => fields[0] === 'pub');
    expect(lines.find((fields) => fields[0] === 'fpr')?.[9]).toBe('FB5DB77FD5C118B80511ADA8A6310ACC4672475C');
    expect(lines.find((fields) => fields[0] === 'uid')?.[9]).toBe('AWS CLI Team <aws-cli@amazon.com>');
    expect(new Date(Number(pub?.[6]) * 1000).toISOString().slice(0, 10)).toBe('2027-07-01');
    expect(imported.status, imported.stderr).toBe(0);
    // A good self-signature: sig with validity "!".
    expect(checked.stdout).toMatch(/^sig:!:/m);
    expect(readFileSync(LIBRARY, 'utf8')).toContain(
      'AWS_CLI_FINGERPRINT=FB5DB77FD5C118B80511ADA8A6310ACC4672475C',
    );
  });
});
