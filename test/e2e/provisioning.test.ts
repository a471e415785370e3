import { describe, expect, it } from 'vitest';
import { parseCause } from '../../src/core/errors.js';
import { openLocalSession } from '../../src/local/local-mode.js';
import type { SsmState } from '../../src/sim/services/ssm.js';
import { newStateDir, run, sampleSpec } from './harness.js';

/** The SSM slice of a persisted simulated account. */
const ssmOf = (stateDir: string) => openLocalSession(stateDir).account.stateOf<SsmState>('SSM');

/** The commands of one document, oldest first. */
function commandsOf(stateDir: string, document: string) {
  return Object.values(ssmOf(stateDir).commands)
    .filter((command) => command.DocumentName === document)
    .sort((a, b) => a.RequestedAt - b.RequestedAt);
}

describe('provisioning over SSM Run Command', () => {
  it('fails a failed install naming node, instance, command, exit code and stderr tail; a re-run redoes only that node', async () => {
    const stateDir = newStateDir();
    const failed = await run(stateDir, 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass002',
        document: 'capi-cassandra-install',
        exitCode: 100,
        stderr: 'Reading package lists...\nE: Unable to locate package cassandra',
      },
    ]);
    expect(failed.status).toBe('FAILED');
    const cause = parseCause(failed.failure?.cause);
    expect(cause?.resource).toMatch(/cass002/);
    expect(cause?.id).toMatch(/^i-/);
    expect(cause?.details).toMatchObject({
      node: expect.stringMatching(/cass002/),
      exitCode: 100,
      commandId: expect.any(String),
      stderrTail: expect.stringContaining('E: Unable to locate package cassandra'),
    });

    const resumed = await run(stateDir, 'create-deployment', sampleSpec);
    expect(resumed.failure).toBeNull();
    const installs = commandsOf(stateDir, 'capi-cassandra-install');
    expect(installs.length).toBeGreaterThanOrEqual(2);
    // The re-run sends the install to the failed node only: the others already succeeded with these parameters.
    expect(installs.at(-1)?.InstanceIds).toHaveLength(1);
    expect(installs.at(-1)?.InstanceIds[0]).toBe(cause?.id);
  });

  it('fails a command that times out, saying so', async () => {
    const failed = await run(newStateDir(), 'create-deployment', sampleSpec, [
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'daemon001',
        document: 'capi-daemon-install',
        status: 'TimedOut',
      },
    ]);
    expect(failed.status).toBe('FAILED');
    const cause = parseCause(failed.failure?.cause);
    expect(cause).toMatchObject({ awsError: 'TimedOut' });
    expect(cause?.resource).toMatch(/daemon001/);
    expect(cause?.hint).toMatch(/timeout/);
  });

  it('keeps every generated secret out of the execution, its history and the command parameters', async () => {
    const stateDir = newStateDir();
    const record = await run(stateDir, 'create-deployment', sampleSpec);
    expect(record.failure).toBeNull();
    const ssm = ssmOf(stateDir);
    const secrets = Object.values(ssm.parameters).filter((parameter) => parameter.Type === 'SecureString');
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const execution = JSON.stringify(record);
    const commandParameters = JSON.stringify(
      Object.values(ssm.commands).map((command) => command.Parameters),
    );
    for (const secret of secrets) {
      expect(secret.Value.length).toBeGreaterThanOrEqual(32);
      expect(execution).not.toContain(secret.Value);
      expect(commandParameters).not.toContain(secret.Value);
    }
  });

  it('sends each document to at most 50 instances per command', async () => {
    const stateDir = newStateDir();
    const spec = { ...sampleSpec, name: 'wide', cassandraNodes: 8, daemons: 60 };
    const record = await run(stateDir, 'create-deployment', spec);
    expect(record.failure).toBeNull();
    const installs = commandsOf(stateDir, 'capi-daemon-install');
    expect(installs.map((command) => command.InstanceIds.length).sort((a, b) => a - b)).toEqual([10, 50]);
  });
});
