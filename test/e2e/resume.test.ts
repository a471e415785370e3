import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type FailureCause, parseCause } from '../../src/core/errors.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { renderHistory } from '../../src/report/history.js';
import type { FaultRule } from '../../src/sim/faults.js';
import {
  creations,
  forkStateDir,
  inventory,
  newStateDir,
  resourceCounts,
  run,
  sampleSpec,
} from './harness.js';

/**
 * Resume after every failure class of the README's troubleshooting table, read from the README itself: create with
 * the row's fault rule fails at the row's step with the row's error; the operator does what the row and the failure
 * hint name (in local mode, the `capi-deploy terminate` command the hint gives); create again without the fault
 * succeeds with exactly a clean run's resources.
 */

interface TableRow {
  failureClass: string;
  /** The failed step, or null for "any step". */
  step: string | null;
  error: string;
  whatToDo: string;
  rule: Partial<FaultRule> | null;
}

function troubleshootingTable(): TableRow[] {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = /\n## Troubleshooting\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !/^\| (Failure class|-)/.test(line))
    .map((line) => {
      const [failureClass, failed, , whatToDo, reproduce] = line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim());
      const [, step, error] = /^(.*?)(?: \(.*\))? \/ `([\w.]+)`/.exec(failed) ?? [];
      const rule = /^`(\{.*\})`$/.exec(reproduce)?.[1];
      return {
        failureClass,
        step: step === 'any step' ? null : step,
        error,
        whatToDo,
        rule: rule ? (JSON.parse(rule) as Partial<FaultRule>) : null,
      };
    });
}

const TABLE = troubleshootingTable();
const DELETE_CLASS = 'DependencyViolation on delete';

/** Per failure class of a create: the operator action the hint names, and what the resume must make again. */
const REMEDIES: Record<string, { terminate?: string[]; recreates?: Record<string, number> }> = {
  'vCPU quota': {},
  Capacity: { recreates: { 'EC2:RunInstances': 1 } },
  'Instance profile propagation': {
    terminate: ['instance-profile'],
    recreates: { 'IAM:CreateInstanceProfile': 1, 'IAM:AddRoleToInstanceProfile': 1 },
  },
  'Instance stuck pending': { terminate: ['cass002'], recreates: { 'EC2:RunInstances': 1 } },
  'No NAT route': { recreates: { 'EC2:CreateNatGateway': 1 } },
  'NAT gateway stuck pending': { terminate: ['natgw'], recreates: { 'EC2:CreateNatGateway': 1 } },
  'SSM agent offline': { terminate: ['daemon002'], recreates: { 'EC2:RunInstances': 1 } },
  'apt / script failure': {},
  'Cassandra node not UN': {},
  Throttling: {},
  // What the timed-out launch's calls had sent stays launched: the resume launches only the rest.
  'Lambda timeout': {},
};

const CREATE_ROWS = TABLE.filter((row) => row.rule && row.failureClass !== DELETE_CLASS);

/** The failed step and error as the operator reads them in `capi-deploy history`, and the failure cause. */
function failureOf(record: ExecutionRecord): { step: string; error: string; cause: FailureCause | null } {
  const text = renderHistory(record).join('\n');
  return {
    step: /FAILED at step: (.*)/.exec(text)?.[1] ?? '',
    error: /^\s+error:\s+(.*)$/m.exec(text)?.[1] ?? '',
    cause: parseCause(record.failure?.cause),
  };
}

/** Runs the CLI in-process; its output is captured, not printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const code = await main(argv);
    const lines = (spy: typeof out) => spy.mock.calls.map((call) => call.join(' ')).join('\n');
    return { code, out: lines(out), err: lines(err) };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('resume after every failure class of the troubleshooting table', () => {
  let cleanDir: string;
  let cleanCounts: Record<string, number>;

  beforeAll(async () => {
    cleanDir = newStateDir();
    const clean = await run(cleanDir, 'create-deployment');
    expect(clean.status).toBe('SUCCEEDED');
    cleanCounts = await resourceCounts(cleanDir);
  });

  it('covers every row of the table that has a fault rule', () => {
    expect(CREATE_ROWS.length).toBeGreaterThan(8);
    expect(CREATE_ROWS.map((row) => row.failureClass).sort()).toEqual(Object.keys(REMEDIES).sort());
    expect(TABLE.some((row) => row.failureClass === DELETE_CLASS && row.rule)).toBe(true);
  });

  it.each(CREATE_ROWS.map((row) => [row.failureClass, row] as const))('%s', async (failureClass, row) => {
    const remedy = REMEDIES[failureClass] ?? {};
    const stateDir = newStateDir();
    const failed = await run(stateDir, 'create-deployment', sampleSpec, [row.rule!]);
    expect(failed.status).toBe('FAILED');
    const { step, error, cause } = failureOf(failed);
    if (row.step) expect(step).toBe(row.step);
    expect(error).toBe(row.error);

    if (remedy.terminate) {
      // The table and the hint name the exact local command; the hint also the AWS CLI one, with the id.
      const targets = remedy.terminate.join(' ');
      expect(row.whatToDo).toContain(`\`capi-deploy terminate <name> ${targets} --local\``);
      expect(cause?.hint).toContain(`\`capi-deploy terminate sample ${targets} --local\``);
      expect(cause?.hint).toMatch(/`aws (ec2|iam) [^`]*(i-|nat-|capideploy-sample-instance)/);
      const done = await cli('terminate', 'sample', ...remedy.terminate, '--local', '--state-dir', stateDir);
      expect(done).toMatchObject({ code: 0, err: '' });
      expect(done.out).toMatch(/: (terminated|deleted)$/m);
    }

    const resumed = await run(stateDir, 'create-deployment');
    expect(resumed.failure).toBeNull();
    expect(resumed.status).toBe('SUCCEEDED');
    expect(await resourceCounts(stateDir)).toEqual(cleanCounts);
    const created = Object.fromEntries(creations(resumed));
    for (const [operation, calls] of Object.entries(remedy.recreates ?? {})) {
      expect(created[operation], operation).toBe(calls);
    }
  });

  it('keeps an instance profile that live instances use', async () => {
    const stateDir = forkStateDir(cleanDir);
    const done = await cli('terminate', 'sample', 'instance-profile', '--local', '--state-dir', stateDir);
    expect(done.code).toBe(1);
    expect(done.out).toMatch(/capideploy-sample-instance: kept, in use by i-\w+, /);
    expect(await resourceCounts(stateDir)).toEqual(cleanCounts);
  });

  it(`${DELETE_CLASS}: the delete fails with ResourcesLeft, a delete again removes everything`, async () => {
    const row = TABLE.find((candidate) => candidate.failureClass === DELETE_CLASS)!;
    const stateDir = forkStateDir(cleanDir);
    const failed = await run(stateDir, 'delete-deployment', sampleSpec, [row.rule!]);
    expect(failed.status).toBe('FAILED');
    const { step, error } = failureOf(failed);
    expect(step).toBe(row.step);
    expect(error).toBe(row.error);
    expect((await inventory(stateDir)).map((item) => item.type)).toContain('security-group');

    const again = await run(stateDir, 'delete-deployment');
    expect(again.failure).toBeNull();
    expect(again.status).toBe('SUCCEEDED');
    expect(await inventory(stateDir)).toEqual([]);
  });
});

describe('capi-deploy terminate', () => {
  const stateDir = newStateDir();

  beforeAll(async () => {
    // A deployment the state dir knows: a create that fails at once (nothing is launched) is enough.
    await run(stateDir, 'create-deployment', sampleSpec, [
      { service: 'EC2', operation: 'CreateVpc', error: 'UnauthorizedOperation', times: -1 },
    ]);
  });

  it('says so in one line and exits 2 for an unknown deployment or node', async () => {
    const unknownDeployment = await cli('terminate', 'other', 'cass002', '--local', '--state-dir', stateDir);
    expect(unknownDeployment.code).toBe(2);
    expect(unknownDeployment.err).toBe(`no deployment named other in ${stateDir} (known: sample)`);

    const unknownNode = await cli('terminate', 'sample', 'cass009', '--local', '--state-dir', stateDir);
    expect(unknownNode.code).toBe(2);
    expect(unknownNode.err).toBe(
      'deployment sample has no node cass009 (nodes: bastion, rabbitmq, prometheus, cass001..cass004, daemon001..daemon004; or natgw, instance-profile)',
    );
  });

  it('has nothing to do for a node without an instance, and changes nothing', async () => {
    const done = await cli('terminate', 'sample', 'sample-cass002', '--local', '--state-dir', stateDir);
    expect(done.code).toBe(0);
    expect(done.out).toContain('sample-cass002: nothing to remove (already gone)');
  });

  it('in AWS mode prints the AWS CLI commands and exits 2', async () => {
    const done = await cli('terminate', 'sample', 'cass002', 'natgw', '--region', 'us-east-1');
    expect(done.code).toBe(2);
    expect(done.err).toMatch(/local simulated account only \(add --local\)/);
    expect(done.err).toContain('aws ec2 terminate-instances --region us-east-1 --instance-ids $ids');
    expect(done.err).toContain('Name=tag:Name,Values=sample-cass002');
    expect(done.err).toContain('aws ec2 delete-nat-gateway --region us-east-1 --nat-gateway-id $id');
  });
});
