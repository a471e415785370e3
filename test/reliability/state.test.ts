import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, hasStackTrace, newStateDir, piped, resourceCounts, specFile, start } from './harness.js';

/**
 * Two commands at once, corrupt or odd state, closed pipes and hostile names: each exits as the contract says
 * (2 for the operator's problem, with one line naming the file or field), never with a stack trace, and never
 * reads a broken account as an empty one.
 */

let created: string;
let spec: string;
let clean: Record<string, number>;

beforeAll(() => {
  created = newStateDir();
  spec = specFile(created);
  expect(cli(['create', spec], created).status).toBe(0);
  clean = resourceCounts(created);
}, 60_000);

/** A copy of the created deployment's state dir, to break. */
function copy(): string {
  const dir = newStateDir();
  cpSync(created, dir, { recursive: true });
  return dir;
}

/** Exit 2 with exactly one line on stderr that matches, and no stack trace. */
function expectProblem(result: { status: number | null; stdout: string; stderr: string }, line: RegExp) {
  expect(hasStackTrace(result.stdout + result.stderr)).toBe(false);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(line)]);
  expect(result.status).toBe(2);
}

describe('commands at once on one state dir', () => {
  it('runs one create at a time; the other is refused naming the holder, and nothing is lost', async () => {
    // Prepare
    const stateDir = newStateDir();
    const other = specFile(stateDir, { name: 'sample2' }, 'other.json');

    // Act
    const [first, second] = await Promise.all([
      start(['create', specFile(stateDir)], stateDir).done,
      start(['create', other], stateDir).done,
    ]);

    // Assess
    const [winner, loser] = first.status === 0 ? [first, second] : [second, first];
    expect(winner.status).toBe(0);
    expect(loser.status).toBe(2);
    expect(loser.stderr).toMatch(/is in use by "create sample2?" \(pid \d+ on .+, since \d{4}-/);
    const listed = JSON.parse(cli(['list', '--json'], stateDir).stdout).deployments;
    expect(listed).toHaveLength(1);
    // 39 AWS resources and the cluster's log group (issue 16).
    expect(listed[0].resources).toBe(40);
  }, 120_000);

  it('refuses a delete while a create of the same deployment runs', async () => {
    // Prepare
    const stateDir = copy();

    // Act
    const [create, remove] = await Promise.all([
      start(['create', spec], stateDir).done,
      start(['delete', 'sample'], stateDir).done,
    ]);

    // Assess: exactly one ran; the deployment is either whole or gone, never half
    expect([create.status, remove.status].sort()).toEqual([0, 2]);
    const counts = resourceCounts(stateDir);
    expect([clean, {}]).toContainEqual(counts);
  }, 120_000);

  it('takes over the lock of a process that died', () => {
    // Prepare
    const stateDir = copy();
    writeFileSync(
      join(stateDir, 'lock'),
      JSON.stringify({
        pid: 2 ** 22 + 7,
        host: require('node:os').hostname(),
        command: 'create sample',
        since: '',
      }),
    );

    // Act
    const result = cli(['create', spec], stateDir);

    // Assess
    expect(result.status).toBe(0);
  }, 60_000);
});

describe('corrupt or odd state', () => {
  const account = (dir: string) => join(dir, 'account.json');
  const cases: [string, (dir: string) => void, string[], RegExp][] = [
    [
      'a truncated account.json',
      (dir) => writeFileSync(account(dir), readFileSync(account(dir), 'utf8').slice(0, 5000)),
      ['status', 'sample'],
      /account\.json: not valid JSON \(truncated or corrupt\)/,
    ],
    [
      'garbage in account.json',
      (dir) => writeFileSync(account(dir), '\u0000\u0001garbage'),
      ['list'],
      /account\.json: not valid JSON/,
    ],
    [
      'an account.json of null',
      (dir) => writeFileSync(account(dir), 'null'),
      ['delete', 'sample'],
      /account\.json: not an account object/,
    ],
    [
      'an account.json without its EC2 state',
      (dir) => {
        const data = JSON.parse(readFileSync(account(dir), 'utf8'));
        delete data.services.EC2;
        writeFileSync(account(dir), JSON.stringify(data));
      },
      ['status', 'sample'],
      /account\.json: the state of EC2 is missing or not an object/,
    ],
    [
      'a directory where account.json should be',
      (dir) => {
        rmSync(account(dir));
        mkdirSync(account(dir));
      },
      ['status', 'sample'],
      /account\.json: is a directory, not a file/,
    ],
    [
      'a stored spec that is not JSON',
      (dir) => writeFileSync(join(dir, 'deployments', 'sample.json'), '{"name": "sam'),
      ['delete', 'sample'],
      /deployments\/sample\.json: not valid JSON/,
    ],
    [
      'a stored spec that is not a valid spec',
      (dir) =>
        writeFileSync(join(dir, 'deployments', 'sample.json'), '{"name": "sample", "cassandraNodes": -1}'),
      ['status', 'sample'],
      /deployments\/sample\.json: not a valid deployment spec/,
    ],
    [
      'a truncated execution record',
      (dir) => {
        const [file] = require('node:fs').readdirSync(join(dir, 'executions')) as string[];
        writeFileSync(join(dir, 'executions', file), '{"execution": "create-sample');
      },
      ['history', 'sample'],
      /executions\/create-sample-.*\.json: not valid JSON/,
    ],
  ];

  it.each(cases)(
    '%s: exit 2 naming the file, no stack trace',
    (_, breakIt, args, message) => {
      // Prepare
      const stateDir = copy();
      breakIt(stateDir);

      // Act
      const result = cli(args, stateDir);

      // Assess
      expectProblem(result, message);
    },
    60_000,
  );

  it('a state dir that is a file: exit 2', () => {
    // Prepare
    const file = join(newStateDir(), 'not-a-dir');
    writeFileSync(file, 'x');

    // Act and assess
    expectProblem(cli(['list'], file), /state dir .*not-a-dir: not a directory/);
    expectProblem(cli(['create', spec], file), /not a directory/);
  }, 60_000);

  it('ignores stray files in the state dir', () => {
    // Prepare
    const stateDir = copy();
    writeFileSync(join(stateDir, 'deployments', 'notes.txt'), 'remember the milk');
    writeFileSync(join(stateDir, 'executions', 'README'), 'x');

    // Act
    const listed = cli(['list', '--json'], stateDir);

    // Assess
    expect(listed.status).toBe(0);
    expect(
      JSON.parse(listed.stdout).deployments.map((row: { deployment: string }) => row.deployment),
    ).toEqual(['sample']);
  }, 60_000);
});

describe('hostile deployment names', () => {
  it.each([
    ['delete', '../deployments/sample'],
    ['status', '../../other/deployments/x'],
    ['history', '../executions/x'],
  ])(
    '%s %s: refused before touching the file system',
    (command, name) => {
      // Act
      const result = cli([command, name], created);

      // Assess
      expectProblem(result, /deployment name "\.\.\/.*": must be 1 to 24 lowercase/);
      expect(resourceCounts(created)).toEqual(clean);
    },
    60_000,
  );
});

describe('a closed stdout', () => {
  it('ends the output quietly and never kills the run', () => {
    // Prepare
    const stateDir = newStateDir();

    // Act
    const result = piped(['create', spec], stateDir, 'head -2');

    // Assess
    expect(result.stdout.split('\n')).toHaveLength(3);
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.status).toBe(0);
    expect(resourceCounts(stateDir)).toEqual(clean);
  }, 60_000);

  it.each([['history', 'sample'], ['status', 'sample'], ['list']])(
    '%s | head -1: no stack trace',
    (...args) => {
      const result = piped(args, created, 'head -1');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );
});
