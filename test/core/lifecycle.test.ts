import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readSpecFile } from '../../src/cli/spec-file.js';
import {
  canonicalJson,
  createName,
  deleteName,
  describeDeployment,
  listDeployments,
  submitCreate,
  submitDelete,
} from '../../src/core/lifecycle.js';

/**
 * A create with `onFailure: delete` that failed: its "Delete everything after failure" state started the teardown as
 * `<create name>-delete-1` (a nested execution of delete-deployment), so the lifecycle (API, CLI in AWS mode) reports
 * the deployment with the teardown's state, as if the operator had called DELETE.
 */
const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({ region: 'us-east-1' });
const PREFIX = 'arn:aws:states:us-east-1:111122223333';
const machines = {
  createArn: `${PREFIX}:stateMachine:CapiDeploy-create-deployment`,
  deleteArn: `${PREFIX}:stateMachine:CapiDeploy-delete-deployment`,
};
const spec = {
  ...readSpecFile(fileURLToPath(new URL('../../examples/sample.json', import.meta.url))),
  onFailure: 'delete' as const,
};
const create = createName(spec, 1);
const teardown = deleteName(create, 1);
const arnOf = (machineArn: string, name: string) =>
  `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 29, 10, minute));

function executions(teardownStatus: ExecutionStatus) {
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: machines.createArn }).resolves({
    executions: [
      {
        name: create,
        executionArn: arnOf(machines.createArn, create),
        stateMachineArn: machines.createArn,
        status: teardownStatus === 'RUNNING' ? 'RUNNING' : 'FAILED',
        startDate: at(0),
        stopDate: teardownStatus === 'RUNNING' ? undefined : at(30),
      },
    ],
  });
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: machines.deleteArn }).resolves({
    executions: [
      {
        name: teardown,
        executionArn: arnOf(machines.deleteArn, teardown),
        stateMachineArn: machines.deleteArn,
        status: teardownStatus,
        startDate: at(12),
        stopDate: teardownStatus === 'RUNNING' ? undefined : at(29),
      },
    ],
  });
  sfnMock.on(DescribeExecutionCommand, { executionArn: arnOf(machines.deleteArn, teardown) }).resolves({
    name: teardown,
    executionArn: arnOf(machines.deleteArn, teardown),
    status: teardownStatus,
    startDate: at(12),
    stopDate: teardownStatus === 'RUNNING' ? undefined : at(29),
    input: canonicalJson(spec),
  });
  sfnMock.on(DescribeExecutionCommand, { executionArn: arnOf(machines.createArn, create) }).resolves({
    name: create,
    executionArn: arnOf(machines.createArn, create),
    status: 'FAILED',
    input: canonicalJson(spec),
  });
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: teardownHistory(teardownStatus) });
}

function teardownHistory(status: ExecutionStatus): HistoryEvent[] {
  const e = (id: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({
    id,
    previousEventId: id - 1,
    timestamp: at(12 + id),
    type: type as HistoryEvent['type'],
    ...extra,
  });
  const events = [
    e(1, 'ExecutionStarted'),
    e(2, 'TaskStateEntered', { stateEnteredEventDetails: { name: 'List what is left' } }),
  ];
  if (status === 'RUNNING') return events;
  if (status === 'SUCCEEDED') {
    return [
      ...events,
      e(3, 'TaskStateExited', { stateExitedEventDetails: { name: 'List what is left' } }),
      e(4, 'ExecutionSucceeded'),
    ];
  }
  const failed = { error: 'ResourcesLeft', cause: '{"resource":"VPC vpc-1","message":"still there"}' };
  return [
    ...events,
    e(3, 'LambdaFunctionScheduled'),
    e(4, 'LambdaFunctionStarted'),
    e(5, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: failed }),
    e(6, 'ExecutionFailed', { executionFailedEventDetails: failed }),
  ];
}

beforeEach(() => {
  sfnMock.reset();
  // The day-2 machines (stop, start, images): no executions unless a test says otherwise.
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
});

describe('a create that failed with onFailure delete', () => {
  it('is reported as deleting while its teardown runs, with the teardown as its execution', async () => {
    // Prepare
    executions('RUNNING');
    // Act
    const described = await describeDeployment(sfn, machines, 'sample');
    const listed = await listDeployments(sfn, machines);
    // Assess
    expect(teardown).toBe(`${create}-delete-1`);
    expect(described).toMatchObject({
      deployment: 'sample',
      state: 'deleting',
      operation: 'delete',
      execution: { name: teardown, status: 'RUNNING' },
      currentStep: 'List what is left',
    });
    expect(listed).toEqual([
      expect.objectContaining({
        deployment: 'sample',
        state: 'deleting',
        execution: expect.objectContaining({ name: teardown }),
      }),
    ]);
  });

  it('is deleted once the teardown succeeded: a delete has nothing to do, a create starts the next generation', async () => {
    // Prepare
    executions('SUCCEEDED');
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: arnOf(machines.createArn, createName(spec, 2)), startDate: at(40) });
    // Act
    const described = await describeDeployment(sfn, machines, 'sample');
    const deleted = await submitDelete(sfn, machines, 'sample');
    const recreated = await submitCreate(sfn, machines, spec);
    // Assess
    expect(described).toMatchObject({ state: 'deleted', operation: 'delete', failure: null });
    expect(deleted).toMatchObject({ outcome: 'done', execution: { name: teardown } });
    expect(recreated).toMatchObject({
      outcome: 'started',
      execution: { name: createName(spec, 2) },
      message: `re-creating sample after its deletion ${teardown}`,
    });
  });

  it("is delete-failed with the teardown's failure, and DELETE starts the second delete of that create", async () => {
    // Prepare
    executions('FAILED');
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: arnOf(machines.deleteArn, deleteName(create, 2)), startDate: at(40) });
    // Act
    const described = await describeDeployment(sfn, machines, 'sample');
    const listed = await listDeployments(sfn, machines);
    const again = await submitDelete(sfn, machines, 'sample');
    // Assess
    expect(described).toMatchObject({
      state: 'delete-failed',
      operation: 'delete',
      execution: { name: teardown, status: 'FAILED' },
      failure: { error: 'ResourcesLeft' },
    });
    expect(listed.map(({ state }) => state)).toEqual(['delete-failed']);
    expect(again).toMatchObject({ outcome: 'started', execution: { name: `${create}-delete-2` } });
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: machines.deleteArn,
      name: `${create}-delete-2`,
      input: canonicalJson(spec),
    });
  });
});
