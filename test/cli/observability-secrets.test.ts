import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { captureOutput } from './capture.js';

/**
 * No secret or external id in the logs (issue 16): a whole local create in SaaS mode (the setup of customers.test.ts),
 * then every Lambda log line it captured and every line the nodes wrote to the cluster's log group, searched for
 * the external id and for each generated secret.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const sample = JSON.parse(readFileSync(join(root, 'examples/sample.json'), 'utf8'));
const EXTERNAL_ID = 'ext-5b7e1d90-logs-4c2a-acme';
const ROLE = 'arn:aws:iam::210987654321:role/capideploy-operator-acme';

const captured = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'capi-logs-secrets-'));
const stateDir = join(dir, 'state');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) =>
  main([...argv, '--local', '--state-dir', stateDir], {
    customers: { readStdin: async () => `${EXTERNAL_ID}\n` },
  });

/** Every `{ Name, Value }` under the deployment's secrets path, anywhere in the simulated accounts. */
function secretValues(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) secretValues(item, found);
  else if (value && typeof value === 'object') {
    const entry = value as { Name?: unknown; Value?: unknown };
    if (typeof entry.Name === 'string' && entry.Name.startsWith('/capideploy/acme-prod/')) {
      found.push(String(entry.Value));
    }
    for (const child of Object.values(value)) secretValues(child, found);
  }
  return found;
}

describe('the logs of a SaaS-mode create', () => {
  it('hold neither the external id nor a generated secret', async () => {
    // Prepare
    const specFile = join(dir, 'acme.json');
    writeFileSync(specFile, JSON.stringify({ ...sample, name: 'acme-prod', customer: 'acme' }));
    expect(await run('customers', 'add', 'acme', '--role-arn', ROLE)).toBe(0);

    // Act
    const code = await run('create', specFile);

    // Assess
    expect(code, [...captured.out, ...captured.err].join('\n')).toBe(0);
    const records = readdirSync(join(stateDir, 'executions')).map(
      (file) => JSON.parse(readFileSync(join(stateDir, 'executions', file), 'utf8')) as ExecutionRecord,
    );
    const lambdaLines = records.flatMap((record) => record.steps.flatMap((step) => step.logs ?? []));
    const account = JSON.parse(readFileSync(join(stateDir, 'account.json'), 'utf8'));
    const nodeLines = Object.values(
      account.services.CloudWatchLogs.streams as Record<string, { events: { message: string }[] }>,
    ).flatMap((stream) => stream.events.map((event) => event.message));
    const secrets = secretValues(account.services).filter((secret) => secret.length >= 8);
    expect(lambdaLines.length).toBeGreaterThan(100);
    expect(nodeLines.length).toBeGreaterThan(10);
    expect(secrets.length).toBeGreaterThan(0);
    const everything = [...lambdaLines, ...nodeLines].join('\n');
    expect(everything).not.toContain(EXTERNAL_ID);
    for (const secret of secrets) expect(everything.includes(secret), 'a secret is in the logs').toBe(false);
    // The lines are there, with the deployment's correlation key.
    expect(lambdaLines.some((line) => line.includes('"deployment":"acme-prod"'))).toBe(true);
  });
});
