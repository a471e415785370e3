import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsReportCommands, type Io, reportCommands } from '../../src/cli/report-commands.js';
import { BadInput } from '../../src/cli/spec-file.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import type { InventoryItem } from '../../src/core/inventory.js';
import { loadMachineShape } from '../../src/report/machine.js';
import { failedCreate, runningCreate, succeededCreate } from './fixtures.js';

const sfn = mockClient(SFNClient);
/** Task states of a normal create: the total `watch` shows. */
const TOTAL = loadMachineShape('create-deployment')!.tasks.length;
const STATE_DIR = '/state';
const resources: InventoryItem[] = [
  { type: 'vpc', id: 'vpc-0abc', name: 'sample_vpc', state: 'available', billed: true },
];

/** Captures what a command prints, on a non-TTY. */
function capture(): { io: Partial<Io>; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const written: string[] = [];
  return {
    io: {
      print: (line) => lines.push(line),
      write: (text) => written.push(text),
      tty: false,
      sleep: async () => undefined,
      now: () => 0,
    },
    lines,
    text: () => [...written, ...lines].join('\n'),
  };
}

/** Local deps over an in-memory state directory: executions by name, latest by deployment. */
function localDeps(records: ExecutionRecord[], out: ReturnType<typeof capture>, inventory = resources) {
  return {
    loadExecution: (_dir: string, name: string) =>
      records.find((record) => record.execution === name) ??
      records.filter((record) => record.deployment === name).at(-1) ??
      null,
    knownDeployments: () => [...new Set(records.map((record) => record.deployment))],
    inventory: async () => inventory,
    estimateCost: (items: InventoryItem[]) => ({ total: items.length * 0.5, currency: 'USD' as const }),
    io: out.io,
  };
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('reportCommands (local mode)', () => {
  it('history prints the failure first and exits 0 although the execution failed', async () => {
    // Prepare
    const out = capture();
    const commands = reportCommands(localDeps([failedCreate()], out));

    // Act
    await commands.history('sample', { stateDir: STATE_DIR });

    // Assess
    expect(out.lines[0]).toBe('✖ FAILED at step: Check installs');
    expect(out.lines).toEqual(
      expect.arrayContaining([expect.stringContaining('Check NAT gateway state ×24')]),
    );
    expect(process.exitCode).toBe(0);
  });

  it('history --json prints the execution record', async () => {
    // Prepare
    const out = capture();
    const record = failedCreate();

    // Act
    await reportCommands(localDeps([record], out)).history(record.execution, {
      stateDir: STATE_DIR,
      json: true,
    });

    // Assess
    expect(JSON.parse(out.lines.join('\n'))).toEqual(record);
  });

  it('rejects an unknown name as bad input, naming the known deployments', async () => {
    // Prepare
    const out = capture();
    const commands = reportCommands(localDeps([failedCreate()], out));

    // Act
    const result = commands.history('nope', { stateDir: STATE_DIR });

    // Assess
    await expect(result).rejects.toBeInstanceOf(BadInput);
    await expect(result).rejects.toThrow(
      'no execution or deployment named nope in /state (deployments: sample)',
    );
  });

  it('report writes the HTML page with the resources and the cost', async () => {
    // Prepare
    const out = capture();
    const file = join(mkdtempSync(join(tmpdir(), 'capi-report-')), 'report.html');

    // Act
    await reportCommands(localDeps([failedCreate()], out)).report('sample', {
      stateDir: STATE_DIR,
      html: file,
    });

    // Assess
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('id="failed-step" class="failure" data-state="Check installs"');
    expect(html).toContain('<code>vpc-0abc</code>');
    expect(html).toContain('<strong>$0.50 per hour</strong>');
    expect(out.lines).toEqual([
      `report of create-deployment sample (FAILED, execution create-sample-20261124T010203Z) written to ${file}`,
    ]);
    expect(process.exitCode).toBe(0);
  });

  it('report still writes the page when the resources cannot be listed', async () => {
    // Prepare
    const out = capture();
    const file = join(mkdtempSync(join(tmpdir(), 'capi-report-')), 'report.html');
    const deps = { ...localDeps([succeededCreate()], out), inventory: async () => null };

    // Act
    await reportCommands(deps).report('sample', { stateDir: STATE_DIR, html: file, json: true });

    // Assess
    expect(readFileSync(file, 'utf8')).toContain('No spec of sample in /state: resources not listed.');
    expect(JSON.parse(out.lines.join('\n'))).toMatchObject({ file, status: 'SUCCEEDED', resources: 0 });
  });

  it('report rejects a file it cannot write as bad input', async () => {
    // Prepare
    const out = capture();

    // Act
    const result = reportCommands(localDeps([failedCreate()], out)).report('sample', {
      stateDir: STATE_DIR,
      html: '/no/such/dir/report.html',
    });

    // Assess
    await expect(result).rejects.toThrow(/--html \/no\/such\/dir\/report.html: cannot write/);
  });

  it('watch of a finished execution prints its final state and exits like it', async () => {
    // Prepare
    const out = capture();

    // Act
    await reportCommands(localDeps([failedCreate()], out)).watch('sample', { stateDir: STATE_DIR });

    // Assess
    expect(out.text()).toContain(`✖ create-deployment sample: FAILED, 20/${TOTAL} steps done, took 03:35`);
    expect(out.lines).toContain('✖ FAILED at step: Check installs');
    expect(process.exitCode).toBe(1);
  });

  it('watch re-reads the record file of a running execution until it ends', async () => {
    // Prepare
    const out = capture();
    const sequence = [runningCreate(60), runningCreate(98), succeededCreate()];
    let reads = 0;
    const deps = {
      ...localDeps([], out),
      loadExecution: () => sequence[Math.min(reads++, sequence.length - 1)],
    };

    // Act
    await reportCommands(deps).watch('sample', { stateDir: STATE_DIR, pollSeconds: '1' });

    // Assess
    expect(reads).toBe(3);
    expect(out.text()).toContain('running: Wait for NAT gateway (×14)');
    expect(out.text()).toContain(`✔ create-deployment sample: SUCCEEDED, 21/${TOTAL} steps done`);
    expect(process.exitCode).toBe(0);
  });

  it('watch rejects a poll interval out of range', async () => {
    // Prepare
    const out = capture();

    // Act
    const result = reportCommands(localDeps([failedCreate()], out)).watch('sample', {
      stateDir: STATE_DIR,
      pollSeconds: '0',
    });

    // Assess
    await expect(result).rejects.toBeInstanceOf(BadInput);
  });
});

describe('awsReportCommands', () => {
  const CREATE = 'arn:aws:states:us-east-1:123456789012:stateMachine:CapiDeploy-create-deployment';
  const DELETE = 'arn:aws:states:us-east-1:123456789012:stateMachine:CapiDeploy-delete-deployment';
  const executionArn = (machine: string, name: string) =>
    `${machine.replace(':stateMachine:', ':execution:')}:${name}`;
  const CREATED = executionArn(CREATE, 'sample-0123456789-1');
  const start = new Date('2026-11-24T10:00:00Z');
  const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);
  const events: HistoryEvent[] = [
    { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
    {
      id: 2,
      previousEventId: 1,
      type: 'TaskStateEntered',
      timestamp: at(0),
      stateEnteredEventDetails: { name: 'Validate the deployment spec' },
    },
    { id: 3, previousEventId: 2, type: 'LambdaFunctionScheduled', timestamp: at(0) },
    { id: 4, previousEventId: 3, type: 'LambdaFunctionSucceeded', timestamp: at(1) },
    {
      id: 5,
      previousEventId: 4,
      type: 'TaskStateExited',
      timestamp: at(1),
      stateExitedEventDetails: { name: 'Validate the deployment spec' },
    },
    { id: 6, previousEventId: 5, type: 'ExecutionSucceeded', timestamp: at(1) },
  ];

  beforeEach(() => {
    sfn.reset();
    // The day-2 machines (stop, start, images) have no executions here.
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: CREATE }).resolves({
      executions: [
        {
          name: 'sample-0123456789-1',
          executionArn: CREATED,
          stateMachineArn: CREATE,
          status: 'SUCCEEDED',
          startDate: start,
        },
      ],
    });
    sfn.on(ListExecutionsCommand, { stateMachineArn: DELETE }).resolves({ executions: [] });
    sfn.on(DescribeExecutionCommand, { executionArn: CREATED }).resolves({
      executionArn: CREATED,
      stateMachineArn: CREATE,
      name: 'sample-0123456789-1',
      status: 'SUCCEEDED',
      startDate: start,
      stopDate: at(1),
      input: '{"name":"sample"}',
    });
    sfn.on(GetExecutionHistoryCommand, { executionArn: CREATED }).resolves({ events });
  });

  it('history finds the latest execution of a deployment by its name', async () => {
    // Prepare
    const out = capture();

    // Act
    await awsReportCommands({ sfn: new SFNClient({ region: 'us-east-1' }), io: out.io }).history('sample', {
      stateMachineArn: CREATE,
    });

    // Assess
    expect(out.lines[0]).toBe(
      'create-deployment sample: SUCCEEDED (execution sample-0123456789-1, aws mode)',
    );
    expect(out.lines).toEqual(
      expect.arrayContaining([expect.stringMatching(/✔ Validate the deployment spec$/)]),
    );
    expect(process.exitCode).toBe(0);
  });

  it('history of a deployment shows its latest day-2 operation when it is newer than the create', async () => {
    // Prepare: a stop of the create, an hour later.
    const STOP = CREATE.replace('create-deployment', 'stop-deployment');
    const STOPPED = executionArn(STOP, 'sample-0123456789-1-stop-1');
    sfn.on(ListExecutionsCommand, { stateMachineArn: STOP }).resolves({
      executions: [
        {
          name: 'sample-0123456789-1-stop-1',
          executionArn: STOPPED,
          stateMachineArn: STOP,
          status: 'SUCCEEDED',
          startDate: at(3600),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand, { executionArn: STOPPED }).resolves({
      executionArn: STOPPED,
      stateMachineArn: STOP,
      name: 'sample-0123456789-1-stop-1',
      status: 'SUCCEEDED',
      startDate: at(3600),
      stopDate: at(3601),
      input: '{"name":"sample"}',
    });
    sfn.on(GetExecutionHistoryCommand, { executionArn: STOPPED }).resolves({ events });
    const out = capture();
    const commands = awsReportCommands({ sfn: new SFNClient({ region: 'us-east-1' }), io: out.io });

    // Act: by deployment name, then by the stop's execution name.
    await commands.history('sample', { stateMachineArn: CREATE });
    await commands.history('sample-0123456789-1-stop-1', { stateMachineArn: CREATE });

    // Assess
    const headers = out.lines.filter((line) => line.includes('aws mode'));
    expect(headers).toEqual([
      'stop-deployment sample: SUCCEEDED (execution sample-0123456789-1-stop-1, aws mode)',
      'stop-deployment sample: SUCCEEDED (execution sample-0123456789-1-stop-1, aws mode)',
    ]);
  });

  it('history takes an execution name or ARN as well', async () => {
    // Prepare
    const out = capture();
    const commands = awsReportCommands({ sfn: new SFNClient({ region: 'us-east-1' }), io: out.io });

    // Act
    await commands.history('sample-0123456789-1', { stateMachineArn: DELETE });
    await commands.history(CREATED, { json: true });

    // Assess
    expect(out.lines[0]).toContain('execution sample-0123456789-1, aws mode');
    expect(JSON.parse(out.lines.slice(out.lines.indexOf('{')).join('\n'))).toMatchObject({
      mode: 'aws',
      machine: 'create-deployment',
      deployment: 'sample',
    });
  });

  it('rejects an unknown deployment, a missing machine and an unknown execution ARN as bad input', async () => {
    // Prepare
    const commands = awsReportCommands({ sfn: new SFNClient({ region: 'us-east-1' }), io: capture().io });
    const missing = executionArn(CREATE, 'nope');
    sfn
      .on(DescribeExecutionCommand, { executionArn: missing })
      .rejects(Object.assign(new Error('Execution does not exist'), { name: 'ExecutionDoesNotExist' }));

    // Act + Assess
    await expect(commands.history('other', { stateMachineArn: CREATE })).rejects.toThrow(
      'no execution or deployment named other (deployments: sample)',
    );
    await expect(commands.history('sample', {})).rejects.toThrow(
      /pass an execution ARN, or --state-machine-arn/,
    );
    await expect(commands.history(missing, {})).rejects.toBeInstanceOf(BadInput);
  });

  it('report lists the resources with the injected inventory', async () => {
    // Prepare
    const out = capture();
    const file = join(mkdtempSync(join(tmpdir(), 'capi-report-')), 'aws.html');
    const commands = awsReportCommands({
      sfn: new SFNClient({ region: 'us-east-1' }),
      inventory: async () => resources,
      io: out.io,
    });

    // Act
    await commands.report(CREATED, { html: file });

    // Assess
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('create-deployment <span class="deployment">sample</span>: SUCCEEDED');
    expect(html).toContain('<code>vpc-0abc</code>');
    expect(process.exitCode).toBe(0);
  });

  it('watch follows the execution to its end', async () => {
    // Prepare
    const out = capture();

    // Act
    await awsReportCommands({ sfn: new SFNClient({ region: 'us-east-1' }), io: out.io }).watch(CREATED, {});

    // Assess
    expect(out.text()).toContain(`✔ create-deployment sample: SUCCEEDED, 1/${TOTAL} steps done, took 00:01`);
    expect(process.exitCode).toBe(0);
  });
});
