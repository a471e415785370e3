import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** `capi-deploy console`: bad flags are bad input (exit 2) before anything listens. */
describe('capi-deploy console', () => {
  const errors: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    errors.length = 0;
  });
  const run = async (args: string[]) => {
    vi.spyOn(console, 'error').mockImplementation((line: string) => {
      errors.push(line);
    });
    return main(['console', ...args]);
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'capi-console-cli-'));

  it('refuses a bad port', async () => {
    // Act
    const code = await run(['--local', '--state-dir', stateDir, '--port', 'abc']);

    // Assess
    expect(code).toBe(2);
    expect(errors).toEqual(['--port abc: expected a port number from 0 (any free port) to 65535']);
  });

  it('refuses --allow-changes in local mode and --faults in AWS mode', async () => {
    // Act
    const local = await run(['--local', '--state-dir', stateDir, '--allow-changes']);
    const aws = await run(['--faults', 'faults.json']);

    // Assess
    expect([local, aws]).toEqual([2, 2]);
    expect(errors[0]).toContain('--allow-changes is for AWS mode');
    expect(errors[1]).toContain('--faults and --seed are for local mode');
  });

  it('refuses a faults file with a rule that cannot match, before it listens', async () => {
    // Prepare
    const faults = join(stateDir, 'faults.json');
    (await import('node:fs')).writeFileSync(
      faults,
      JSON.stringify([{ service: 'EC2', operation: 'CreateNatGatewy', error: 'X' }]),
    );

    // Act
    const code = await run(['--local', '--state-dir', stateDir, '--faults', faults]);

    // Assess
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain('did you mean CreateNatGateway?');
  });
});
