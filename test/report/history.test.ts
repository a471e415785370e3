import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { renderHistory } from '../../src/report/history.js';
import { shapeOf } from '../../src/report/machine.js';
import { commandFailedCause, failedCreate, runningCreate, step, succeededCreate, T0 } from './fixtures.js';

const lineWith = (lines: string[], text: string) => lines.find((line) => line.includes(text));
const indexOf = (lines: string[], text: string) => lines.findIndex((line) => line.includes(text));

describe('renderHistory', () => {
  it('shows the failure first, blaming the Task whose error the Fail state reports', () => {
    // Act
    const lines = renderHistory(failedCreate());

    // Assess
    expect(lines[0]).toBe('✖ FAILED at step: Check installs');
    const block = lines.slice(0, lines.indexOf(''));
    expect(block).toEqual(
      expect.arrayContaining([
        '  error:    CommandFailed',
        `  resource: ${commandFailedCause.resource}`,
        '  id:       i-0cass002',
        `  message:  ${commandFailedCause.message}`,
        `  hint:     ${commandFailedCause.hint}`,
        '  at:       +03:33 into the execution',
      ]),
    );
    expect(indexOf(lines, 'offset')).toBeGreaterThan(block.length);
  });

  it('shows the AWS error code of a failure that has one', () => {
    // Prepare
    const cause = {
      resource: 'NAT gateway sample_natgw',
      id: 'nat-0abc',
      awsError: 'NatGatewayLimitExceeded',
      message: 'limit',
      hint: 'ask for more',
    };

    // Act
    const lines = renderHistory(failedCreate(cause));

    // Assess
    expect(lines).toContain('  AWS code: NatGatewayLimitExceeded');
    expect(lines).toContain('  id:       nat-0abc');
  });

  it('collapses a poll loop into one line with its check count and duration', () => {
    // Act
    const lines = renderHistory(failedCreate());

    // Assess
    const nat = lineWith(lines, 'Check NAT gateway state');
    expect(nat).toMatch(/\+00:31\s+120 s\s+✔ │ Check NAT gateway state ×24$/);
    expect(lines.filter((line) => line.includes('NAT gateway state'))).toHaveLength(1);
    expect(lineWith(lines, 'Wait for NAT gateway')).toBeUndefined();
    expect(lineWith(lines, 'Is the NAT gateway available?')).toBeUndefined();
    expect(lineWith(lines, 'Check instances state')).toContain('Check instances state ×3');
    expect(lineWith(lines, 'Check SSM agents')).toContain('Check SSM agents ×3');
  });

  it('keeps loops of interleaved Parallel branches apart', () => {
    // Act: the NAT loop (branch 0) and the instances loop (branch 1) run at the same time
    const lines = renderHistory(failedCreate());

    // Assess
    expect(indexOf(lines, 'Check NAT gateway state ×24')).toBeLessThan(
      indexOf(lines, 'Check instances state ×3'),
    );
    expect(indexOf(lines, 'Check instances state ×3')).toBeLessThan(indexOf(lines, 'Give the bastion'));
  });

  it('indents the steps of Parallel branches under their Parallel', () => {
    // Act
    const lines = renderHistory(failedCreate());

    // Assess
    expect(lineWith(lines, 'Create network and instance role')).toMatch(
      /✔ Create network and instance role$/,
    );
    expect(lineWith(lines, 'Create VPC')).toMatch(/✔ │ Create VPC$/);
    expect(lineWith(lines, 'Check SSM agents')).toMatch(/✔ Check SSM agents/);
  });

  it('shows retries and the outcome of each step', () => {
    // Act
    const lines = renderHistory(failedCreate());

    // Assess
    expect(lineWith(lines, 'Check AMI, instance types and quota')).toMatch(
      /✔ Check AMI, instance types and quota {2}\(1 retry\)$/,
    );
    expect(lineWith(lines, 'Launch instances')).toMatch(/\(2 retries\)$/);
    expect(lineWith(lines, '↷ Check installs')).toContain('caught CommandFailed  ◀ failed step');
    expect(lineWith(lines, 'Deployment failed')).toContain('✖ Deployment failed');
  });

  it('names the error a step retried, without its nodes', () => {
    // Prepare: the local recorder keeps the error of the failed attempt on a step that then succeeded
    const record = failedCreate();
    const cause = JSON.stringify({ ...commandFailedCause, message: 'throttled' });
    Object.assign(record.steps[1], { error: 'Throttled', cause });

    // Act
    const lines = renderHistory(record);

    // Assess
    const at = indexOf(lines, 'Check AMI, instance types and quota');
    expect(lines[at]).toMatch(/✔ Check AMI, instance types and quota {2}\(1 retry: Throttled\)$/);
    expect(lines[at + 1]).toContain('Create network and instance role');
    expect(lines[0]).toBe('✖ FAILED at step: Check installs');
  });

  it('lists the per-node results of the failed batch step under it', () => {
    // Act
    const lines = renderHistory(failedCreate());

    // Assess
    const at = indexOf(lines, '↷ Check installs');
    expect(lines[at + 1]).toMatch(/✖ cass002 {2}capi-cassandra-install Failed, exit code 2$/);
    expect(lines[at + 2]).toMatch(/✖ cass004/);
  });

  it('hides routing states that succeeded', () => {
    // Act
    const lines = renderHistory(failedCreate());

    // Assess
    expect(lineWith(lines, 'Create failed')).toBeUndefined();
    expect(lineWith(lines, 'Fleet launched')).toBeUndefined();
    expect(lineWith(lines, 'Is the log volume attached?')).toBeUndefined();
  });

  it('finds top-level poll loops from the steps alone when there is no ASL shape', () => {
    // Act
    const lines = renderHistory(failedCreate(), { shape: null });

    // Assess
    expect(lineWith(lines, 'Check SSM agents')).toContain('Check SSM agents ×3');
  });

  it('colors marks and the failure only when asked', () => {
    // Act
    const plain = renderHistory(failedCreate()).join('\n');
    const colored = renderHistory(failedCreate(), { color: true }).join('\n');

    // Assess
    expect(plain).not.toContain('\x1b[');
    expect(colored).toContain('\x1b[31m✖ FAILED at step: Check installs\x1b[0m');
    expect(colored).toContain('\x1b[32m✔\x1b[0m');
  });

  it('shows a running execution with its running steps and no failure', () => {
    // Act
    const lines = renderHistory(runningCreate(98));

    // Assess
    expect(lines[0]).toContain('create-deployment sample: RUNNING');
    // A record knows the time of its last event only: the Wait entered at +01:36.
    expect(lines[1]).toContain('running for 96 s (virtual time)');
    expect(lineWith(lines, 'Launch fleet while NAT gateway comes up')).toMatch(/running {2}… Launch fleet/);
    expect(lineWith(lines, 'FAILED')).toBeUndefined();
  });

  it('lists the health checks of a successful create', () => {
    // Act
    const lines = renderHistory(succeededCreate());

    // Assess
    expect(lines[0]).toBe(
      'create-deployment sample: SUCCEEDED (execution create-sample-20261124T010203Z, local mode)',
    );
    expect(lines.slice(lines.indexOf('health checks:'))).toEqual([
      'health checks:',
      '  ✔ cassandra  4/4 Cassandra nodes UN',
      '  ✔ webapi  webapi answers HTTP 200',
    ]);
  });

  it('shows one line per Map iteration and the steps of a failed one', () => {
    // Prepare
    const cause = JSON.stringify({
      resource: 'node cass003',
      message: 'exit 1',
      hint: 'look',
      details: { nodes: [{ node: 'cass003', status: 'Failed', exitCode: 1 }] },
    });
    const record: ExecutionRecord = {
      ...failedCreate(),
      machine: 'test-machine',
      failure: { state: 'Install on node', error: 'CommandFailed', cause },
      steps: [
        step('Install', 'Map', 0, 20),
        step('Install on node', 'Task', 1, 10, { parent: 'Install', index: 0 }),
        step('Install on node', 'Task', 1, 12, {
          parent: 'Install',
          index: 1,
          outcome: 'failed',
          error: 'CommandFailed',
          cause,
        }),
        step('Install on node', 'Task', 2, 9, { parent: 'Install', index: 2, retries: 1 }),
      ],
      stopDate: T0 + 20_000,
    };

    // Act
    const lines = renderHistory(record);

    // Assess
    expect(lineWith(lines, 'Install [0]')).toMatch(/9\.0 s {2}✔ │ Install \[0\]$/);
    expect(lineWith(lines, 'Install [1]')).toMatch(/✖ │ Install \[1\] {2}CommandFailed {2}◀ failed step$/);
    expect(lines[indexOf(lines, 'Install [1]') + 1]).toMatch(
      /✖ │ │ Install on node {2}CommandFailed {2}◀ failed step$/,
    );
    expect(lineWith(lines, 'Install [2]')).toMatch(/✔ │ Install \[2\] {2}\(1 retry\)$/);
    expect(lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/✖ cass003 {2}status Failed, exitCode 1$/)]),
    );
  });

  it('collapses loops by the shape it is given', () => {
    // Prepare: a one-state polling loop (self-loop) in a custom machine
    const shape = shapeOf({
      StartAt: 'Poll',
      States: {
        Poll: { Type: 'Task', Next: 'Done?' },
        'Done?': { Type: 'Choice', Choices: [{ Next: 'End' }], Default: 'Poll' },
        End: { Type: 'Succeed' },
      },
    });
    const record: ExecutionRecord = {
      ...succeededCreate(),
      output: null,
      steps: [0, 1, 2, 3].flatMap((i) => [
        step('Poll', 'Task', i * 10, i * 10 + 5),
        step('Done?', 'Choice', i * 10 + 5, i * 10 + 10),
      ]),
      stopDate: T0 + 40_000,
    };

    // Act
    const lines = renderHistory(record, { shape });

    // Assess
    expect(lines.filter((line) => line.includes('Poll'))).toEqual([
      expect.stringMatching(/\+00:00\s+40 s\s+✔ Poll ×4$/),
    ]);
  });
});
