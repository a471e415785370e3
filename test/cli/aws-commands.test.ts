import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsCommands } from '../../src/cli/aws-commands.js';
import { BadInput, readSpecFile } from '../../src/cli/spec-file.js';
import { canonicalJson, createName, specHash } from '../../src/core/lifecycle.js';

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);

const PREFIX = 'arn:aws:states:us-east-1:111122223333';
const CREATE_MACHINE = `${PREFIX}:stateMachine:CapiDeploy-create-deployment`;
const DELETE_MACHINE = `${PREFIX}:stateMachine:CapiDeploy-delete-deployment`;
const executionArn = (machine: 'create' | 'delete', name: string) =>
  `${PREFIX}:execution:CapiDeploy-${machine}-deployment:${name}`;

const spec = readSpecFile(fileURLToPath(new URL('../../examples/sample.json', import.meta.url)));
const changedSpec = { ...spec, daemons: spec.daemons + 1 };
const T0 = Date.parse('2026-11-24T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

/** A history event with the fields Step Functions sets, ids counted from 1. */
function history(...events: [string, Partial<HistoryEvent>?][]): HistoryEvent[] {
  return events.map(([type, extra], index) => ({
    id: index + 1,
    previousEventId: index,
    timestamp: at(index),
    type: type as HistoryEvent['type'],
    ...extra,
  }));
}
const entered = (type: string, name: string): [string, Partial<HistoryEvent>] => [
  `${type}StateEntered`,
  { stateEnteredEventDetails: { name } },
];
const exited = (type: string, name: string): [string, Partial<HistoryEvent>] => [
  `${type}StateExited`,
  { stateExitedEventDetails: { name } },
];

/** A create that validates the spec, then creates the VPC inside a Parallel after one throttled attempt. */
const CREATE_HISTORY = history(
  ['ExecutionStarted'],
  entered('Task', 'Validate the deployment spec'),
  ['LambdaFunctionScheduled'],
  ['LambdaFunctionStarted'],
  ['LambdaFunctionSucceeded'],
  exited('Task', 'Validate the deployment spec'),
  entered('Parallel', 'Create network and instance role'),
  ['ParallelStateStarted'],
  entered('Task', 'Create VPC'),
  ['LambdaFunctionScheduled'],
  ['LambdaFunctionStarted'],
  ['LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error: 'Throttled', cause: '{}' } }],
  ['LambdaFunctionScheduled'],
  ['LambdaFunctionStarted'],
  ['LambdaFunctionSucceeded'],
  exited('Task', 'Create VPC'),
  ['ParallelStateSucceeded'],
  exited('Parallel', 'Create network and instance role'),
  entered('Pass', 'Deployment ready'),
  exited('Pass', 'Deployment ready'),
  ['ExecutionSucceeded'],
);

const LEFTOVERS_CAUSE = JSON.stringify({
  resource: 'deployment sample',
  message: '1 resource(s) still tagged for the deployment: vpc vpc-0abc (DependencyViolation: ...)',
  hint: 'Fix the cause shown for each resource, then run delete again: it only removes what is left.',
  details: { leftovers: [{ type: 'vpc', id: 'vpc-0abc', name: 'sample_vpc', state: 'available', why: 'x' }] },
});

/** A delete whose final inventory finds a leftover: the Task's failure is caught into a Fail state. */
const DELETE_HISTORY = history(
  ['ExecutionStarted'],
  entered('Task', 'Delete VPC'),
  ['LambdaFunctionScheduled'],
  ['LambdaFunctionStarted'],
  ['LambdaFunctionSucceeded'],
  exited('Task', 'Delete VPC'),
  entered('Task', 'List what is left'),
  ['LambdaFunctionScheduled'],
  ['LambdaFunctionStarted'],
  [
    'LambdaFunctionFailed',
    { lambdaFunctionFailedEventDetails: { error: 'ResourcesLeft', cause: LEFTOVERS_CAUSE } },
  ],
  exited('Task', 'List what is left'),
  entered('Fail', 'Resources left'),
  ['ExecutionFailed', { executionFailedEventDetails: { error: 'ResourcesLeft', cause: LEFTOVERS_CAUSE } }],
);

const listed = (machine: 'create' | 'delete', name: string, status: string): ExecutionListItem => ({
  executionArn: executionArn(machine, name),
  stateMachineArn: machine === 'create' ? CREATE_MACHINE : DELETE_MACHINE,
  name,
  status: status as ExecutionListItem['status'],
  startDate: at(0),
  ...(status === 'RUNNING' ? {} : { stopDate: at(60) }),
});

function givenExecutions(creates: ExecutionListItem[], deletes: ExecutionListItem[] = []) {
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({ executions: creates });
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: DELETE_MACHINE }).resolves({ executions: deletes });
}

function givenRun(arn: string, name: string, events: HistoryEvent[], status: string, output?: unknown) {
  sfnMock
    .on(DescribeExecutionCommand, { executionArn: arn })
    .resolvesOnce({ executionArn: arn, name, status: 'RUNNING', startDate: at(0) })
    .resolves({
      executionArn: arn,
      name,
      status: status as never,
      startDate: at(0),
      stopDate: at(events.length),
      input: canonicalJson(spec),
      ...(output === undefined ? {} : { output: JSON.stringify(output) }),
      ...(status === 'FAILED' ? { error: 'ResourcesLeft', cause: LEFTOVERS_CAUSE } : {}),
    });
  // Two pages: the first poll sees the first half, the next poll re-reads from the last page's token.
  const half = Math.floor(events.length / 2);
  sfnMock
    .on(GetExecutionHistoryCommand, { executionArn: arn, nextToken: undefined })
    .resolvesOnce({ events: events.slice(0, half) })
    .resolves({ events: events.slice(0, half), nextToken: 'page-2' });
  sfnMock
    .on(GetExecutionHistoryCommand, { executionArn: arn, nextToken: 'page-2' })
    .resolves({ events: events.slice(half) });
}

const sleep = vi.fn(async () => {});
const commands = () =>
  awsCommands({ sfn: new SFNClient({}), cloudformation: new CloudFormationClient({}), sleep });
const options = { stateDir: '.unused', stack: 'CapiDeploy' };
let lines: string[];

beforeEach(() => {
  // Prepare: the stack's outputs name the machines
  sfnMock.reset();
  cfnMock.reset();
  sleep.mockClear();
  // The day-2 machines (stop, start, images): no executions unless a test says otherwise.
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  cfnMock.on(DescribeStacksCommand, { StackName: 'CapiDeploy' }).resolves({
    Stacks: [
      {
        StackName: 'CapiDeploy',
        CreationTime: at(0),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'CreateDeploymentStateMachineArn', OutputValue: CREATE_MACHINE },
          { OutputKey: 'DeleteDeploymentStateMachineArn', OutputValue: DELETE_MACHINE },
        ],
      },
    ],
  });
  lines = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => {
    lines.push(line);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('create', () => {
  it('starts the first generation of the spec and follows it to its end, one line per step', async () => {
    // Prepare
    const name = createName(spec, 1);
    givenExecutions([]);
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn('create', name), startDate: at(0) });
    givenRun(executionArn('create', name), name, CREATE_HISTORY, 'SUCCEEDED', { vpcId: 'vpc-0abc' });
    // Act
    await commands().create(spec, options);
    // Assess
    expect(name).toBe(`sample-${specHash(spec)}-1`);
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: CREATE_MACHINE,
      name,
      input: canonicalJson(spec),
    });
    expect(sleep).toHaveBeenCalledWith(5000);
    expect(sfnMock).toReceiveCommandWith(GetExecutionHistoryCommand, { nextToken: 'page-2' });
    expect(lines).toContain('[+00:00] ✔ Validate the deployment spec  4.0s');
    expect(lines).toContain('[+00:05] ┌ Create network and instance role');
    expect(lines).toContain('[+00:07]   │ ✔ Create VPC  7.0s  (1 retry)');
    expect(lines).toContain('[+00:05] ✔ Create network and instance role  11.0s');
    expect(lines.filter((line) => line.includes('Create VPC'))).toHaveLength(1);
    expect(lines.slice(-4)).toEqual([
      `✔ create-deployment sample: SUCCEEDED (execution ${name})`,
      `  ${CREATE_HISTORY.length} s, 5 state transitions, ${CREATE_HISTORY.length} history events`,
      'resources:',
      '  vpc           vpc-0abc',
    ]);
    expect(process.exitCode).toBe(0);
  });

  it('prints the --json object of local mode, with mode aws and real seconds', async () => {
    // Prepare
    const name = createName(spec, 1);
    givenExecutions([]);
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn('create', name), startDate: at(0) });
    givenRun(executionArn('create', name), name, CREATE_HISTORY, 'SUCCEEDED', { vpcId: 'vpc-0abc' });
    // Act
    await commands().create(spec, { ...options, json: true });
    // Assess
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({
      deployment: 'sample',
      operation: 'create',
      status: 'SUCCEEDED',
      mode: 'aws',
      execution: name,
      executionArn: executionArn('create', name),
      historyEvents: CREATE_HISTORY.length,
      stateTransitions: 5,
      virtualSeconds: CREATE_HISTORY.length,
      apiCalls: null,
      resources: [{ type: 'vpc', id: 'vpc-0abc', name: '', state: '' }],
      failure: null,
    });
  });

  it('follows the running create of the same spec instead of starting a second one', async () => {
    // Prepare: a double submit
    const name = createName(spec, 1);
    givenExecutions([listed('create', name, 'RUNNING')]);
    givenRun(executionArn('create', name), name, CREATE_HISTORY, 'SUCCEEDED');
    // Act
    await commands().create(spec, options);
    // Assess
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
    expect(lines[0]).toBe(
      `create sample (AWS mode): sample is already being created from this spec (${name})`,
    );
    expect(process.exitCode).toBe(0);
  });

  it('starts the next generation after a failed create of the same spec', async () => {
    // Prepare
    const failed = createName(spec, 1);
    const next = createName(spec, 2);
    givenExecutions([listed('create', failed, 'FAILED')]);
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn('create', next), startDate: at(0) });
    givenRun(executionArn('create', next), next, CREATE_HISTORY, 'SUCCEEDED');
    // Act
    await commands().create(spec, options);
    // Assess
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { name: next });
  });

  it.each([
    ['SUCCEEDED', 'its deletion'],
    ['FAILED', 'the FAILED delete'],
  ])('starts the next generation after a %s delete of the same spec', async (status, after) => {
    // Prepare
    const created = createName(spec, 1);
    const next = createName(spec, 2);
    givenExecutions(
      [listed('create', created, 'SUCCEEDED')],
      [listed('delete', `${created}-delete-1`, status)],
    );
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn('create', next), startDate: at(0) });
    givenRun(executionArn('create', next), next, CREATE_HISTORY, 'SUCCEEDED');
    // Act
    await commands().create(spec, options);
    // Assess
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { name: next });
    expect(lines[0]).toBe(
      `create sample (AWS mode): re-creating sample after ${after} ${created}-delete-1 (${next})`,
    );
  });

  it('reports a create already done with this spec without starting anything', async () => {
    // Prepare
    const name = createName(spec, 1);
    givenExecutions([listed('create', name, 'SUCCEEDED')]);
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: executionArn('create', name),
      name,
      status: 'SUCCEEDED',
      startDate: at(0),
      stopDate: at(21),
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: CREATE_HISTORY });
    // Act
    await commands().create(spec, options);
    // Assess
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
    expect(lines.filter((line) => line.startsWith('['))).toEqual([]);
    expect(process.exitCode).toBe(0);
  });

  it('refuses while a create of another spec runs (bad input, nothing started)', async () => {
    givenExecutions([listed('create', createName(changedSpec, 1), 'RUNNING')]);
    await expect(commands().create(spec, options)).rejects.toThrow(BadInput);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('refuses while the deployment is being deleted', async () => {
    const created = createName(spec, 1);
    givenExecutions(
      [listed('create', created, 'SUCCEEDED')],
      [listed('delete', `${created}-delete-1`, 'RUNNING')],
    );
    await expect(commands().create(spec, options)).rejects.toThrow(/is being deleted/);
  });

  it('redrives the failed create of the same spec with --redrive and prints only the new steps', async () => {
    // Prepare: the failed run's history, then the redriven part
    const name = createName(spec, 1);
    const arn = executionArn('create', name);
    givenExecutions([listed('create', name, 'FAILED')]);
    const failedPart = CREATE_HISTORY.slice(0, 6);
    sfnMock
      .on(GetExecutionHistoryCommand, { executionArn: arn })
      .resolvesOnce({ events: failedPart })
      .resolves({ events: CREATE_HISTORY });
    sfnMock.on(RedriveExecutionCommand).resolves({ redriveDate: at(100) });
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: arn,
      name,
      status: 'SUCCEEDED',
      startDate: at(0),
      stopDate: at(21),
    });
    // Act
    await commands().create(spec, { ...options, redrive: true });
    // Assess
    expect(sfnMock).toReceiveCommandWith(RedriveExecutionCommand, { executionArn: arn });
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
    expect(lines.some((line) => line.includes('Validate the deployment spec'))).toBe(false);
    expect(lines.some((line) => line.includes('Create VPC'))).toBe(true);
    expect(process.exitCode).toBe(0);
  });

  it('refuses --redrive when the spec changed since the failed create', async () => {
    givenExecutions([listed('create', createName(spec, 1), 'FAILED')]);
    await expect(commands().create(changedSpec, { ...options, redrive: true })).rejects.toThrow(
      /the spec changed since/,
    );
    expect(sfnMock).not.toReceiveCommand(RedriveExecutionCommand);
  });

  it('refuses --redrive when the latest create succeeded', async () => {
    givenExecutions([listed('create', createName(spec, 1), 'SUCCEEDED')]);
    await expect(commands().create(spec, { ...options, redrive: true })).rejects.toThrow(/is SUCCEEDED/);
  });
});

describe('delete', () => {
  it('deletes with the spec of the latest create and reports the step that failed', async () => {
    // Prepare
    const created = createName(spec, 2);
    const name = `${created}-delete-1`;
    givenExecutions([
      listed('create', createName(spec, 1), 'FAILED'),
      listed('create', created, 'SUCCEEDED'),
    ]);
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: executionArn('create', created) })
      .resolves({ input: canonicalJson(spec), status: 'SUCCEEDED', startDate: at(0) });
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn('delete', name), startDate: at(0) });
    givenRun(executionArn('delete', name), name, DELETE_HISTORY, 'FAILED');
    // Act
    await commands().delete('sample', { ...options, json: true });
    // Assess
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: DELETE_MACHINE,
      name,
      input: canonicalJson(spec),
    });
    const out = JSON.parse(lines[0]);
    expect(out).toMatchObject({
      deployment: 'sample',
      operation: 'delete',
      status: 'FAILED',
      mode: 'aws',
      apiCalls: null,
      failure: { state: 'List what is left', error: 'ResourcesLeft', cause: LEFTOVERS_CAUSE },
      resources: [{ type: 'vpc', id: 'vpc-0abc', name: 'sample_vpc', state: 'available' }],
    });
    expect(process.exitCode).toBe(1);
  });

  it('prints the failure as local mode does', async () => {
    // Prepare
    const created = createName(spec, 1);
    const name = `${created}-delete-2`;
    givenExecutions(
      [listed('create', created, 'SUCCEEDED')],
      [listed('delete', `${created}-delete-1`, 'FAILED')],
    );
    sfnMock.on(DescribeExecutionCommand, { executionArn: executionArn('create', created) }).resolves({
      input: canonicalJson(spec),
    });
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: executionArn('delete', name), startDate: at(0) });
    givenRun(executionArn('delete', name), name, DELETE_HISTORY, 'FAILED');
    // Act
    await commands().delete('sample', options);
    // Assess: a failed delete is deleted again, under the next number
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { name });
    expect(lines).toContain('✖ FAILED at step: List what is left');
    expect(lines).toContain('  error:    ResourcesLeft');
    expect(lines).toContain('still tagged:');
  });

  it('refuses a deployment that has no create execution', async () => {
    givenExecutions([]);
    await expect(commands().delete('nothing', options)).rejects.toThrow(/no deployment named nothing/);
  });
});

describe('status and list', () => {
  it('shows the state, the current step and the failure of the latest execution', async () => {
    // Prepare
    const created = createName(spec, 1);
    const deletion = `${created}-delete-1`;
    givenExecutions([listed('create', created, 'SUCCEEDED')], [listed('delete', deletion, 'FAILED')]);
    sfnMock.on(DescribeExecutionCommand, { executionArn: executionArn('delete', deletion) }).resolves({
      executionArn: executionArn('delete', deletion),
      name: deletion,
      status: 'FAILED',
      startDate: at(0),
      stopDate: at(13),
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: DELETE_HISTORY });
    // Act
    await commands().status('sample', { ...options, json: true });
    // Assess
    expect(JSON.parse(lines[0])).toEqual({
      deployment: 'sample',
      mode: 'aws',
      state: 'delete-failed',
      operation: 'delete',
      status: 'FAILED',
      execution: deletion,
      executionArn: executionArn('delete', deletion),
      currentStep: 'Resources left',
      failure: { state: 'List what is left', error: 'ResourcesLeft', cause: LEFTOVERS_CAUSE },
      day2: null,
    });
  });

  it('lists each deployment once, by its latest execution', async () => {
    // Prepare
    const other = { ...spec, name: 'other' };
    givenExecutions(
      [
        listed('create', createName(spec, 1), 'FAILED'),
        listed('create', createName(spec, 2), 'SUCCEEDED'),
        listed('create', createName(other, 1), 'RUNNING'),
        listed('create', 'started-from-the-console', 'SUCCEEDED'),
      ],
      [listed('delete', `${createName(spec, 2)}-delete-1`, 'SUCCEEDED')],
    );
    // Act
    await commands().list({ ...options, json: true });
    // Assess
    const out = JSON.parse(lines[0]);
    expect(out.mode).toBe('aws');
    expect(
      out.deployments.map((row: { deployment: string; state: string }) => [row.deployment, row.state]),
    ).toEqual([
      ['other', 'creating'],
      ['sample', 'deleted'],
    ]);
  });

  it('finds the machines from --state-machine-arn without asking CloudFormation', async () => {
    givenExecutions([]);
    await commands().list({ stateDir: '.unused', stateMachineArn: DELETE_MACHINE });
    expect(cfnMock).not.toReceiveCommand(DescribeStacksCommand);
    expect(sfnMock).toReceiveCommandWith(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE });
    expect(lines).toEqual(['no deployments']);
  });

  it('pages through ListExecutions', async () => {
    sfnMock
      .on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE, nextToken: undefined })
      .resolves({ executions: [listed('create', createName(spec, 1), 'SUCCEEDED')], nextToken: 'more' });
    sfnMock
      .on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE, nextToken: 'more' })
      .resolves({ executions: [listed('create', createName({ ...spec, name: 'zeta' }, 1), 'SUCCEEDED')] });
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: DELETE_MACHINE }).resolves({ executions: [] });
    await commands().list(options);
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['sample', 'zeta']);
  });

  it('explains a stack that is not deployed', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    await expect(commands().list({ ...options, stack: 'Nope' })).rejects.toThrow(/stack Nope not found/);
  });

  it('refuses an ARN that is not a deployment state machine', async () => {
    await expect(
      commands().list({ stateDir: '.unused', stateMachineArn: `${PREFIX}:stateMachine:Something` }),
    ).rejects.toThrow(BadInput);
  });
});

describe('day-2 operations (issue 17)', () => {
  const MACHINE = (machine: string) => `${PREFIX}:stateMachine:CapiDeploy-${machine}`;
  const day2Arn = (machine: string, name: string) => `${PREFIX}:execution:CapiDeploy-${machine}:${name}`;
  const created = createName(spec, 1);
  const STOP_HISTORY = history(
    ['ExecutionStarted'],
    entered('Task', 'Stop instances'),
    ['LambdaFunctionScheduled'],
    ['LambdaFunctionStarted'],
    ['LambdaFunctionSucceeded'],
    exited('Task', 'Stop instances'),
    ['ExecutionSucceeded'],
  );
  const givenCreated = () => {
    givenExecutions([listed('create', created, 'SUCCEEDED')]);
    sfnMock.on(DescribeExecutionCommand, { executionArn: executionArn('create', created) }).resolves({
      executionArn: executionArn('create', created),
      name: created,
      status: 'SUCCEEDED',
      input: canonicalJson(spec),
    });
  };
  const givenDay2 = (machine: string, name: string, status: string) =>
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: MACHINE(machine) }).resolves({
      executions: [
        {
          executionArn: day2Arn(machine, name),
          stateMachineArn: MACHINE(machine),
          name,
          status: status as ExecutionListItem['status'],
          startDate: at(100),
        },
      ],
    });

  it('refuses stop without --force when Cassandra keeps its data on instance-store disks, before any start', async () => {
    // Prepare
    givenCreated();
    // Act
    const refused = commands().day2('stop', 'sample', options);
    // Assess
    await expect(refused).rejects.toThrow(BadInput);
    await expect(refused).rejects.toMatchObject({
      problems: [
        expect.stringMatching(/^stop refused: stopping sample erases its Cassandra data: .* --force$/),
      ],
    });
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('starts stop --force once, named after the create, with its spec, and follows it', async () => {
    // Prepare
    givenCreated();
    const name = `${created}-stop-1`;
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: day2Arn('stop-deployment', name), startDate: at(0) });
    givenRun(day2Arn('stop-deployment', name), name, STOP_HISTORY, 'SUCCEEDED', { deployment: 'sample' });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    // Act
    await commands().day2('stop', 'sample', { ...options, force: true, json: true });
    // Assess
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE('stop-deployment'),
      name,
      input: canonicalJson(spec),
    });
    expect(JSON.parse(lines.join('\n'))).toMatchObject({
      deployment: 'sample',
      operation: 'stop',
      status: 'SUCCEEDED',
      mode: 'aws',
      execution: name,
    });
    expect(process.exitCode).toBe(0);
  });

  it('follows the running stop instead of starting a second one, and answers a finished one as done', async () => {
    // Prepare
    givenCreated();
    const name = `${created}-stop-1`;
    givenDay2('stop-deployment', name, 'RUNNING');
    givenRun(day2Arn('stop-deployment', name), name, STOP_HISTORY, 'SUCCEEDED');
    // Act
    await commands().day2('stop', 'sample', { ...options, force: true });
    // Assess
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
    expect(lines[0]).toBe(`stop sample (AWS mode): stopping sample already runs (${name})`);
    expect(lines.at(-2)).toBe(`✔ stop-deployment sample: SUCCEEDED (execution ${name})`);
  });

  it('refuses start while a stop runs, and a create or delete too', async () => {
    // Prepare
    givenCreated();
    givenDay2('stop-deployment', `${created}-stop-1`, 'RUNNING');
    // Act / Assess
    await expect(commands().day2('start', 'sample', options)).rejects.toMatchObject({
      problems: [`sample is running stop (execution ${created}-stop-1); wait until it ends, then run start`],
    });
    await expect(commands().delete('sample', options)).rejects.toMatchObject({
      problems: [`sample is running stop (execution ${created}-stop-1); wait until it ends, then try again`],
    });
    await expect(commands().create(changedSpec, options)).rejects.toThrow(BadInput);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('starts the next number of an operation after another operation ran', async () => {
    // Prepare: stopped by stop-1, then started by start-1: the next stop is stop-2
    givenCreated();
    givenDay2('stop-deployment', `${created}-stop-1`, 'SUCCEEDED');
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: MACHINE('start-deployment') }).resolves({
      executions: [
        {
          executionArn: day2Arn('start-deployment', `${created}-start-1`),
          stateMachineArn: MACHINE('start-deployment'),
          name: `${created}-start-1`,
          status: 'SUCCEEDED',
          startDate: at(200),
        },
      ],
    });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: at(0) });
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: 'arn:x' })
      .resolves({ status: 'RUNNING', name: 'x' });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    // Act
    await commands().day2('stop', 'sample', { ...options, force: true, wait: false });
    // Assess
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { name: `${created}-stop-2` });
    expect(lines.at(-1)).toBe('RUNNING: not waiting; follow it with: capi-deploy watch arn:x');
  });

  it('images create and images delete start their own machines', async () => {
    // Prepare
    givenCreated();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: at(0) });
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: 'arn:x' })
      .resolves({ status: 'RUNNING', name: 'x' });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    // Act
    await commands().day2('images-create', 'sample', { ...options, force: true, wait: false });
    await commands().day2('images-delete', 'sample', { ...options, wait: false });
    // Assess
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE('images-create'),
      name: `${created}-images-create-1`,
    });
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE('images-delete'),
      name: `${created}-images-delete-1`,
    });
  });

  it('delete --with-images deletes the images first, then the deployment', async () => {
    // Prepare
    givenCreated();
    const images = `${created}-images-delete-1`;
    const deletion = `${created}-delete-1`;
    sfnMock
      .on(StartExecutionCommand, { stateMachineArn: MACHINE('images-delete') })
      .resolves({ executionArn: day2Arn('images-delete', images), startDate: at(0) });
    sfnMock
      .on(StartExecutionCommand, { stateMachineArn: DELETE_MACHINE })
      .resolves({ executionArn: executionArn('delete', deletion), startDate: at(0) });
    givenRun(day2Arn('images-delete', images), images, STOP_HISTORY, 'SUCCEEDED', { images: 0 });
    givenRun(executionArn('delete', deletion), deletion, STOP_HISTORY, 'SUCCEEDED', {});
    // Act
    await commands().delete('sample', { ...options, withImages: true, json: true });
    // Assess: one JSON object, the delete's
    expect(sfnMock).toReceiveCommandTimes(StartExecutionCommand, 2);
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ operation: 'delete', execution: deletion });
    expect(process.exitCode).toBe(0);
  });

  it('refuses a changed spec that cannot be applied in place, one line per refusal, and re-applies one that can', async () => {
    // Prepare
    givenCreated();
    const moved = { ...spec, region: 'us-west-2', availabilityZone: 'us-west-2a', cassandraNodes: 3 };
    // Act
    const refused = commands().create(moved, options);
    // Assess
    await expect(refused).rejects.toMatchObject({
      problems: [
        expect.stringMatching(/^region: us-east-1 to us-west-2 cannot be changed in place/),
        expect.stringMatching(/^availabilityZone: /),
        expect.stringMatching(/^cassandraNodes: 4 to 3 cannot be done in place/),
      ],
    });
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
    // Act: more daemons is a re-apply, the next generation of the deployment
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: at(0) });
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: 'arn:x' })
      .resolves({ status: 'RUNNING', name: 'x' });
    await commands().create(changedSpec, { ...options, wait: false });
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: CREATE_MACHINE,
      name: createName(changedSpec, 2),
    });
  });
});
