import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkSpecText } from '../../src/cli/spec-file.js';
import { awsBackend } from '../../src/console/aws-backend.js';

/** The console on AWS: Step Functions read with the caller's credentials, changes only with --allow-changes. */

const sfn = mockClient(SFNClient);
const machines = {
  createArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:CapiDeploy-create-deployment',
  deleteArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:CapiDeploy-delete-deployment',
};
const create = {
  name: 'sample-0123456789-1',
  executionArn:
    'arn:aws:states:us-east-1:123456789012:execution:CapiDeploy-create-deployment:sample-0123456789-1',
  stateMachineArn: machines.createArn,
  status: 'FAILED' as const,
  startDate: new Date('2026-11-24T01:02:03Z'),
  stopDate: new Date('2026-11-24T01:12:03Z'),
};
const spec = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'sample.json'), 'utf8');

const backendFor = (allowChanges: boolean) =>
  awsBackend({
    sfn: new SFNClient({ region: 'us-east-1' }),
    machines,
    where: 'stack CapiDeploy',
    allowChanges,
    checkSpec: checkSpecText,
  });

describe('awsBackend', () => {
  beforeEach(() => {
    sfn.reset();
    // The day-2 machines (stop, start, images; src/core/lifecycle.ts checks none runs): no executions.
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: machines.createArn }).resolves({ executions: [create] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: machines.deleteArn }).resolves({ executions: [] });
    sfn.on(DescribeExecutionCommand).resolves({ ...create, input: spec });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
  });

  it('lists deployments and their executions from Step Functions', async () => {
    // Act
    const backend = backendFor(false);
    const rows = await backend.deployments();
    const detail = await backend.deployment('sample');

    // Assess
    expect(rows).toEqual([
      expect.objectContaining({ deployment: 'sample', status: 'FAILED', execution: create.name }),
    ]);
    expect(detail?.executions).toEqual([
      expect.objectContaining({ execution: create.name, operation: 'create' }),
    ]);
    expect(detail?.row.region).toBe('us-east-1');
  });

  it('reads an execution as history does', async () => {
    // Act
    const record = await backendFor(false).execution(create.name);

    // Assess
    expect(record?.execution).toBe(create.name);
    expect(record?.mode).toBe('aws');
  });

  it('is read-only without --allow-changes', async () => {
    // Act
    const backend = backendFor(false);

    // Assess
    expect(backend.canChange).toBe(false);
    await expect(backend.create(spec, 'spec.json')).rejects.toMatchObject({ status: 403 });
    await expect(backend.delete('sample')).rejects.toMatchObject({ status: 403 });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('starts a create with --allow-changes, named as the CLI names it', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${create.executionArn}x`, startDate: new Date() });

    // Act
    const started = await backendFor(true).resume('sample');

    // Assess
    expect(started.execution).toMatch(/^sample-[0-9a-f]{10}-2$/);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: machines.createArn });
  });
});
