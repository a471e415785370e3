import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { captureOutput } from '../cli/capture.js';
import { forkStateDir, inventory, newStateDir, resourceCounts, run, sampleSpec } from './harness.js';

/**
 * stop-deployment and start-deployment (issue 17): the CLI's refusal and --json, what a stopped deployment still
 * bills, and the lifecycle properties for every step of stop and of start that changes something: fail there,
 * run the same operation again, and it converges (then a start gives a clean create's resources, no duplicates,
 * and a delete leaves nothing).
 */

const output = captureOutput();
const SAMPLE = fileURLToPath(new URL('../../examples/sample.json', import.meta.url));
const json = () => JSON.parse(output.out.join('\n'));

const DENIED: Record<string, string> = { EC2: 'UnauthorizedOperation', SSM: 'AccessDeniedException' };

/** Every mutating operation each machine performs; a clean run must call no other (checked below). */
const STOP_OPERATIONS = ['SSM:SendCommand', 'EC2:DeleteNatGateway', 'EC2:StopInstances'];
const START_OPERATIONS = [
  'EC2:StartInstances',
  'EC2:CreateNatGateway',
  'EC2:ReplaceRoute',
  'SSM:SendCommand',
];

const isMutating = (operation: string) =>
  /:(Create|Delete|Run|Stop|Start|Replace|Attach|Associate|Authorize|Put|Add|Send)/.test(operation) &&
  !operation.endsWith(':CreateTags');
const mutatingCalls = (record: ExecutionRecord) =>
  Object.keys(record.metrics.apiCallsByOperation).filter(isMutating).sort();

const denied = (key: string): [string, Partial<FaultRule>] => {
  const [service, operation] = key.split(':') as [FaultRule['service'], string];
  return [key, { service, operation, error: DENIED[service], times: -1 }];
};

/** Instance states of the deployment, by state. */
async function instanceStates(stateDir: string): Promise<Record<string, number>> {
  const states: Record<string, number> = {};
  for (const item of await inventory(stateDir)) {
    if (item.type === 'instance') states[item.state] = (states[item.state] ?? 0) + 1;
  }
  return states;
}

let created: string;
let stopped: string;
let cleanCounts: Record<string, number>;

beforeAll(async () => {
  created = newStateDir();
  expect((await run(created, 'create-deployment')).failure).toBeNull();
  cleanCounts = await resourceCounts(created);
  stopped = forkStateDir(created);
  const stop = await run(stopped, 'stop-deployment');
  expect(stop.failure).toBeNull();
  expect(mutatingCalls(stop)).toEqual([...STOP_OPERATIONS].sort());
});

describe('capi-deploy stop and start (local mode, CLI)', () => {
  it('refuses a stop that loses Cassandra data without --force, naming why, before any AWS call', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'capi-stop-'));
    expect(await main(['create', SAMPLE, '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    output.err.length = 0;
    expect(await main(['stop', 'sample', '--local', '--state-dir', stateDir])).toBe(2);
    expect(output.err.join('\n')).toMatch(/stop refused: .*instance-store NVMe.*--force/);
    expect(await main(['history', 'sample', '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    expect(output.out.join('\n')).not.toContain('stop-deployment');

    output.out.length = 0;
    expect(await main(['stop', 'sample', '--local', '--state-dir', stateDir, '--force', '--json'])).toBe(0);
    const stop = json();
    expect(stop).toMatchObject({ deployment: 'sample', operation: 'stop', status: 'SUCCEEDED' });
    expect(stop.execution).toMatch(/^stop-sample-/);
    expect(stop.resources.filter((r: { type: string }) => r.type === 'natgateway')).toEqual([]);

    output.out.length = 0;
    expect(await main(['status', 'sample', '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    const status = json();
    const billed = status.resources.filter(
      (item: { billed: boolean; hourlyUsd: number | null }) => item.billed,
    );
    const charged = billed.filter((item: { hourlyUsd: number | null }) => (item.hourlyUsd ?? 0) > 0);
    expect([...new Set(charged.map((item: { type: string }) => item.type))].sort()).toEqual([
      'elastic-ip',
      'volume',
    ]);

    output.out.length = 0;
    expect(await main(['start', 'sample', '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    expect(json()).toMatchObject({ operation: 'start', status: 'SUCCEEDED' });
    output.out.length = 0;
    expect(await main(['history', 'sample', '--local', '--state-dir', stateDir])).toBe(0);
    expect(output.out.join('\n')).toContain('start-deployment sample: SUCCEEDED');
    output.out.length = 0;
    expect(await main(['list', '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    expect(json().deployments[0]).toMatchObject({
      deployment: 'sample',
      state: 'start succeeded',
      lastOperation: { operation: 'start', status: 'SUCCEEDED' },
    });
    output.out.length = 0;
    expect(await main(['stop', 'nosuch', '--local', '--state-dir', stateDir, '--force'])).toBe(2);
    expect(await main(['start', 'sample', '--state-dir', stateDir])).toBe(2);
    // Without --local it is an AWS call: no region or credentials here, bad input before any call.
    expect(output.err.join('\n')).toMatch(/AWS (region not set|credentials not found)/);
  }, 60_000);
});

describe('stop and start: results', () => {
  it('a stopped deployment keeps its instances stopped, no NAT gateway; start brings back a clean create', async () => {
    expect(await instanceStates(stopped)).toEqual({ stopped: 11 });
    expect((await inventory(stopped)).filter((item) => item.type === 'natgateway')).toEqual([]);
    const again = forkStateDir(stopped);
    const second = await run(again, 'stop-deployment');
    expect(second.failure).toBeNull();
    // Nothing left to stop: no command is sent, no StopInstances.
    expect(mutatingCalls(second)).toEqual([]);

    const start = await run(again, 'start-deployment');
    expect(start.failure).toBeNull();
    expect(mutatingCalls(start)).toEqual([...START_OPERATIONS].sort());
    expect(await resourceCounts(again)).toEqual(cleanCounts);
    expect(await instanceStates(again)).toEqual({ running: 11 });
    expect(
      (start.output as { health: { healthy: boolean }[] }).health.every((result) => result.healthy),
    ).toBe(true);
    // Cassandra is configured again on its blank disks, on every node.
    const configure = start.steps.find((step) => step.name === 'Configure and start Cassandra again');
    expect(configure?.outcome).toBe('succeeded');
  }, 60_000);
});

describe('stop properties: fail at each mutating step, stop again converges; start and delete clean', () => {
  it.each([
    ...STOP_OPERATIONS.map(denied),
    [
      'an instance stuck in stopping (past the 10 min wait)',
      { service: 'EC2', operation: 'StopInstances', target: 'cass002', delaySeconds: 700 },
    ] as [string, Partial<FaultRule>],
  ])(
    'fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(created);
      const failed = await run(stateDir, 'stop-deployment', sampleSpec, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumed = await run(stateDir, 'stop-deployment');
      expect(resumed.failure).toBeNull();
      expect(await instanceStates(stateDir)).toEqual({ stopped: 11 });
      expect((await run(stateDir, 'start-deployment')).failure).toBeNull();
      expect(await resourceCounts(stateDir)).toEqual(cleanCounts);
      expect((await run(stateDir, 'delete-deployment')).failure).toBeNull();
      expect(await inventory(stateDir)).toEqual([]);
    },
    60_000,
  );
});

describe('start properties: fail at each mutating step, start again converges with no duplicate', () => {
  it.each([
    ...START_OPERATIONS.map(denied),
    [
      'an instance stuck in pending (past the 10 min wait)',
      { service: 'EC2', operation: 'StartInstances', target: 'daemon003', delaySeconds: 700 },
    ] as [string, Partial<FaultRule>],
    [
      'Cassandra configure fails on cass002',
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass002',
        document: 'capi-cassandra-configure',
        exitCode: 1,
        stderr: 'ERROR: mount failed',
      },
    ] as [string, Partial<FaultRule>],
  ])(
    'fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(stopped);
      const failed = await run(stateDir, 'start-deployment', sampleSpec, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumed = await run(stateDir, 'start-deployment');
      expect(resumed.failure).toBeNull();
      expect(await resourceCounts(stateDir)).toEqual(cleanCounts);
      expect(await instanceStates(stateDir)).toEqual({ running: 11 });
      expect((await run(stateDir, 'delete-deployment')).failure).toBeNull();
      expect(await inventory(stateDir)).toEqual([]);
    },
    60_000,
  );
});

describe('create on a stopped deployment', () => {
  it('is refused at the preflight, pointing to start, before anything changes', async () => {
    const stateDir = forkStateDir(stopped);
    const create = await run(stateDir, 'create-deployment');
    expect(create.failure).toMatchObject({
      state: 'Check AMI, instance types and quota',
      error: 'PreflightFailed',
    });
    expect(create.failure?.cause).toContain('capi-deploy start sample');
    expect(mutatingCalls(create)).toEqual([]);
  });
});
