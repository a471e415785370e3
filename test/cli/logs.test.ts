import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsQuery, sinceTime } from '../../src/cli/logs-command.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from './capture.js';

/** `capi-deploy logs` and `history --logs` from the CLI, in local mode. */

const captured = captureOutput();
const dir = mkdtempSync(join(tmpdir(), 'capi-logs-cli-'));
const stateDir = join(dir, 'state');
const run = (...argv: string[]) => main([...argv, '--local', '--state-dir', stateDir]);

beforeAll(async () => {
  expect(await run('create', 'examples/sample.json')).toBe(0);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('capi-deploy logs', () => {
  it("prints one node's Cassandra lines, prefixed with time, node and source", async () => {
    // Act
    const code = await run('logs', 'sample', '--node', 'cass001', '--source', 'cassandra');

    // Assess
    expect(code).toBe(0);
    expect(captured.out.length).toBe(3);
    for (const line of captured.out)
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z cass001 +cassandra +INFO/);
  });

  it('refuses an unknown source, a bad --since and an unknown deployment (exit 2)', async () => {
    expect(await run('logs', 'sample', '--source', 'syslog')).toBe(2);
    expect(captured.err.join('\n')).toContain('--source "syslog": expected one of cassandra');
    expect(await run('logs', 'sample', '--since', 'yesterday')).toBe(2);
    expect(await run('logs', 'nosuch')).toBe(2);
  });

  it('shows each step with its Lambda log lines in history --logs', async () => {
    // Act
    const code = await run('history', 'sample', '--logs');

    // Assess
    expect(code).toBe(0);
    const text = captured.out.join('\n');
    expect(text).toContain('step started');
    expect(text).toContain('command sent');
  });
});

describe('the logs query', () => {
  it('selects streams by node and source, and reads --since as a duration or a date', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(logsQuery('sample', { node: 'cass002', source: 'cassandra', grep: 'ERROR' }, now)).toEqual({
      group: '/capideploy/sample',
      logStreamNames: ['cass002/cassandra'],
      filterPattern: '"ERROR"',
    });
    expect(logsQuery('sample', { node: 'sample-cass002' }, now).logStreamNamePrefix).toBe('cass002/');
    expect(logsQuery('sample', { source: 'rabbitmq' }, now).source).toBe('rabbitmq');
    expect(sinceTime('15m', now)).toBe(now - 15 * 60_000);
    expect(sinceTime('2026-11-29T11:00:00Z', now)).toBe(now - 3_600_000);
  });
});
