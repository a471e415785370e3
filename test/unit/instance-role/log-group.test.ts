import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { deleteLogGroup, ensureLogGroup } from '../../../functions/instance-role/log-group.js';
import { awsError, expectNamedError, sampleContext } from '../helpers.js';

const logsMock = mockClient(CloudWatchLogsClient);
const GROUP = '/capideploy/sample';
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

beforeEach(() => {
  logsMock.reset();
});

describe('ensureLogGroup', () => {
  it('creates the group tagged, encrypted with the key, then sets its retention', async () => {
    // Prepare
    logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });

    // Act
    const result = await ensureLogGroup(sampleContext(), 30, KEY);

    // Assess
    expect(result).toEqual({ logGroupName: GROUP, retentionInDays: 30 });
    expect(logsMock).toHaveReceivedCommandWith(CreateLogGroupCommand, {
      logGroupName: GROUP,
      kmsKeyId: KEY,
      tags: { Name: GROUP, DeploymentName: 'sample', DeploymentOperator: 'capideploy' },
    });
    expect(logsMock).toHaveReceivedCommandWith(PutRetentionPolicyCommand, {
      logGroupName: GROUP,
      retentionInDays: 30,
    });
  });

  it('changes nothing when the group exists with the retention asked for', async () => {
    // Prepare
    logsMock
      .on(DescribeLogGroupsCommand)
      .resolves({ logGroups: [{ logGroupName: GROUP, retentionInDays: 7 }] });

    // Act
    await ensureLogGroup(sampleContext(), 7);

    // Assess
    expect(logsMock).not.toHaveReceivedCommand(CreateLogGroupCommand);
    expect(logsMock).not.toHaveReceivedCommand(PutRetentionPolicyCommand);
  });

  it('names the group when CreateLogGroup is refused', async () => {
    // Prepare
    logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    logsMock.on(CreateLogGroupCommand).rejects(awsError('AccessDeniedException'));

    // Act
    const cause = await expectNamedError(ensureLogGroup(sampleContext(), 30), 'AccessDenied', {
      resource: `log group ${GROUP}`,
    });

    // Assess
    expect(cause.awsError).toBe('AccessDeniedException');
  });
});

describe('deleteLogGroup', () => {
  it('deletes the group, and converges when it is already gone', async () => {
    // Prepare
    logsMock.on(DeleteLogGroupCommand).resolvesOnce({}).rejects(awsError('ResourceNotFoundException'));

    // Act
    const first = await deleteLogGroup(sampleContext(), false);
    const second = await deleteLogGroup(sampleContext(), false);

    // Assess
    expect(first.deleted).toEqual([`log-group/${GROUP}`]);
    expect(second.deleted).toEqual([]);
  });

  it('keeps the group when the spec says keepLogs', async () => {
    // Act
    const result = await deleteLogGroup(sampleContext(), true);

    // Assess
    expect(result.deleted).toEqual([]);
    expect(logsMock).not.toHaveReceivedCommand(DeleteLogGroupCommand);
  });
});
