import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readSpecFile } from '../../src/cli/spec-file.js';
import { OperationRefused, submitDay2 } from '../../src/core/day2-lifecycle.js';
import {
  canonicalJson,
  createName,
  DeploymentConflict,
  day2MachineArn,
  day2Name,
  deleteName,
} from '../../src/core/lifecycle.js';

/**
 * The day-2 operations on Step Functions (src/core/day2-lifecycle.ts): names, exactly once, conflicts. The routes
 * and commands over them: test/infra/api.test.ts, test/cli/aws-commands.test.ts.
 */
const sfnMock = mockClient(SFNClient);
const sfn = new SFNClient({ region: 'us-east-1' });
const PREFIX = 'arn:aws:states:us-east-1:111122223333';
const machines = {
  createArn: `${PREFIX}:stateMachine:CapiDeploy-create-deployment`,
  deleteArn: `${PREFIX}:stateMachine:CapiDeploy-delete-deployment`,
};
const spec = readSpecFile(fileURLToPath(new URL('../../examples/sample.json', import.meta.url)));
const create = createName(spec, 1);
const arnOf = (machineArn: string, name: string) =>
  `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
const listing = (machineArn: string, name: string, status: ExecutionStatus, minute = 0) =>
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: machineArn }).resolves({
    executions: [
      {
        name,
        executionArn: arnOf(machineArn, name),
        stateMachineArn: machineArn,
        status,
        startDate: new Date(Date.UTC(2026, 10, 29, 10, minute)),
      },
    ],
  });

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  listing(machines.createArn, create, 'SUCCEEDED');
  sfnMock.on(DescribeExecutionCommand).resolves({ input: canonicalJson(spec) });
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:started', startDate: new Date() });
});

describe('day-2 executions', () => {
  it('are named after the create, within the 80 characters of an execution name', () => {
    const longest = createName({ ...spec, name: 'a'.repeat(24) }, 999_999);
    expect(day2Name(create, 'stop', 1)).toBe(`${create}-stop-1`);
    expect(day2Name(longest, 'images-delete', 9999).length).toBeLessThanOrEqual(80);
    expect(day2MachineArn(machines, 'images-create')).toBe(`${PREFIX}:stateMachine:CapiDeploy-images-create`);
    expect(day2MachineArn({ ...machines, day2: { stop: 'arn:given' } }, 'stop')).toBe('arn:given');
  });

  it('answers a second stop of a stopped deployment as done, without starting anything', async () => {
    // Prepare
    listing(day2MachineArn(machines, 'stop'), `${create}-stop-1`, 'SUCCEEDED');
    // Act
    const result = await submitDay2(sfn, machines, 'sample', 'stop', { force: true });
    // Assess
    expect(result).toMatchObject({ outcome: 'done', execution: { name: `${create}-stop-1` } });
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('starts the next images create after a failed one', async () => {
    listing(day2MachineArn(machines, 'images-create'), `${create}-images-create-1`, 'FAILED');
    const result = await submitDay2(sfn, machines, 'sample', 'images-create', { force: true });
    expect(result.outcome).toBe('started');
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: `${PREFIX}:stateMachine:CapiDeploy-images-create`,
      name: `${create}-images-create-2`,
      input: canonicalJson(spec),
    });
  });

  it('after a delete: refuses stop, start and images create, but deletes the images, which outlive it', async () => {
    // Prepare
    listing(machines.deleteArn, deleteName(create, 1), 'SUCCEEDED', 5);
    // Act / Assess
    for (const operation of ['stop', 'start', 'images-create'] as const) {
      await expect(submitDay2(sfn, machines, 'sample', operation, { force: true })).rejects.toThrow(
        DeploymentConflict,
      );
    }
    const images = await submitDay2(sfn, machines, 'sample', 'images-delete');
    expect(images.outcome).toBe('started');
    expect(sfnMock).toReceiveCommandTimes(StartExecutionCommand, 1);
  });

  it('refuses images create without force when Cassandra is on instance-store disks', async () => {
    await expect(submitDay2(sfn, machines, 'sample', 'images-create')).rejects.toThrow(OperationRefused);
    await expect(submitDay2(sfn, machines, 'sample', 'images-create')).rejects.toThrow(
      /^images create refused: stopping sample erases its Cassandra data/,
    );
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('treats a stack without the day-2 machines as one where none ran', async () => {
    sfnMock
      .on(ListExecutionsCommand, { stateMachineArn: day2MachineArn(machines, 'start') })
      .rejects(Object.assign(new Error('no such machine'), { name: 'StateMachineDoesNotExist' }));
    const result = await submitDay2(sfn, machines, 'sample', 'start');
    expect(result).toMatchObject({ outcome: 'started', execution: { name: `${create}-start-1` } });
  });
});
