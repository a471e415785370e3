import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from './capture.js';

/**
 * `--faults` and `--seed` of a local run (src/cli/options.ts `faultsOf`, src/sim/faults.ts `checkFaultRules`):
 * a rule that can never match, or a field with no effect, is bad input (exit 2) with one line naming the rule and
 * the field; `--seed` is an integer.
 */

const SAMPLE = fileURLToPath(new URL('../../examples/sample.json', import.meta.url));

const output = captureOutput();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'capi-cli-faults-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a rules file and runs a local create of the sample with it, in its own state dir. */
async function createWith(name: string, rules: unknown[], ...flags: string[]) {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(rules));
  const code = await main([
    'create',
    SAMPLE,
    '--local',
    '--state-dir',
    join(dir, name),
    '--faults',
    file,
    ...flags,
  ]);
  return { code, file };
}

describe('capi-deploy --faults: rules that can never match are bad input', () => {
  it('an operation the service does not have: exit 2, one line with the closest name', async () => {
    // Act
    const { code, file } = await createWith('operation', [
      { service: 'EC2', operation: 'CreateNatGatewy', error: 'InternalError' },
    ]);
    // Assert
    expect(code).toBe(2);
    expect(output.err).toEqual([
      `faults file ${file}: rule 0, operation: EC2 has no operation CreateNatGatewy; did you mean CreateNatGateway?`,
    ]);
    expect(output.out).toEqual([]);
  });

  it('a target no node of the spec has: exit 2, one line with the nodes', async () => {
    // Act
    const { code, file } = await createWith('target', [
      { service: 'EC2', operation: 'CreateVpc', error: 'InternalError' },
      { service: 'EC2', operation: 'RunInstances', target: 'cass999', error: 'InsufficientInstanceCapacity' },
    ]);
    // Assert
    expect(code).toBe(2);
    expect(output.err).toEqual([
      `faults file ${file}: rule 1, target: cass999 names no node or resource of deployment sample (nodes: bastion, rabbitmq, prometheus, cass001..cass004, daemon001..daemon004)`,
    ]);
  });

  it('a field with no effect for the service: exit 2, one line per field', async () => {
    // Act
    const { code, file } = await createWith('field', [
      { service: 'EC2', operation: 'CreateNatGateway', exitCode: 1, finalState: 'failed' },
      {
        service: 'SSM',
        operation: 'GetCommandInvocation',
        document: 'capi-health-check',
        error: 'InternalError',
      },
    ]);
    // Assert
    expect(code).toBe(2);
    expect(output.err).toEqual([
      `faults file ${file}: rule 0, exitCode: no effect on an EC2 rule (exitCode is for SSM SendCommand)`,
      `faults file ${file}: rule 1, document: no effect on SSM GetCommandInvocation (document is for SendCommand)`,
    ]);
  });

  it('delete checks the rules against the deployment it deletes', async () => {
    // Arrange: a deployment known to the state dir, without running anything.
    const stateDir = join(dir, 'known');
    const rules = join(dir, 'known-rules.json');
    writeFileSync(
      rules,
      JSON.stringify([{ service: 'EC2', operation: 'TerminateInstances', target: 'daemon005', error: 'X' }]),
    );
    mkdirSync(join(stateDir, 'deployments'), { recursive: true });
    copyFileSync(SAMPLE, join(stateDir, 'deployments', 'sample.json'));
    // Act
    const code = await main(['delete', 'sample', '--local', '--state-dir', stateDir, '--faults', rules]);
    // Assert
    expect(code).toBe(2);
    expect(output.err).toEqual([
      `faults file ${rules}: rule 0, target: daemon005 names no node or resource of deployment sample; did you mean daemon001? (nodes: bastion, rabbitmq, prometheus, cass001..cass004, daemon001..daemon004)`,
    ]);
  });
});

describe('capi-deploy --seed', () => {
  it.each(['abc', '1.5', '7x', ''])('--seed %j is bad input (exit 2), one line', async (seed) => {
    // Act
    const code = await main(['create', SAMPLE, '--local', '--state-dir', join(dir, 'seed'), '--seed', seed]);
    // Assert
    expect(code).toBe(2);
    expect(output.err).toEqual([`--seed must be an integer, not ${JSON.stringify(seed)}`]);
  });
});

describe('capi-deploy --faults: a valid rules file still works', () => {
  it('create with a rule that fires succeeds (exit 0) with --seed', { timeout: 120_000 }, async () => {
    // Act
    const { code } = await createWith(
      'valid',
      [
        { service: 'EC2', operation: 'CreateNatGateway', target: 'natgw', delaySeconds: 60 },
        { service: 'EC2', operation: 'CreateVpc', error: 'RequestLimitExceeded' },
      ],
      '--seed',
      '7',
      '--json',
    );
    // Assert
    expect(output.err.filter((line) => !line.includes('NodeVersionSupportWarning'))).toEqual([]);
    expect(code).toBe(0);
    expect(JSON.parse(output.out.join('\n'))).toMatchObject({ deployment: 'sample', status: 'SUCCEEDED' });
  });
});
