import { fileURLToPath } from 'node:url';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awsInventory } from '../../src/cli/aws-clients.js';
import { readSpecFile } from '../../src/cli/spec-file.js';

/**
 * The CLI's own inventory call in AWS mode (src/cli/aws-clients.ts) retries throttling as the state machines do
 * (src/core/retry.ts), instead of crashing the command after a deployment that survived it.
 */

const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const iamMock = mockClient(IAMClient);
const logsMock = mockClient(CloudWatchLogsClient);
const spec = readSpecFile(fileURLToPath(new URL('../../examples/sample.json', import.meta.url)));
const awsError = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });

beforeEach(() => {
  iamMock.on(GetRoleCommand).rejects(awsError('NoSuchEntity'));
  iamMock.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntity'));
  logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
});

afterEach(() => {
  taggingMock.reset();
  iamMock.reset();
  logsMock.reset();
});

afterAll(() => {
  taggingMock.restore();
  iamMock.restore();
  logsMock.restore();
});

describe('awsInventory', () => {
  it('retries a throttled inventory with backoff and answers', async () => {
    // Arrange
    taggingMock
      .on(GetResourcesCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ ResourceTagMappingList: [] });
    const sleep = vi.fn(async (_ms: number) => {});
    // Act
    const items = await awsInventory(spec, { sleep });
    // Assert
    expect(items).toEqual([]);
    expect(taggingMock.commandCalls(GetResourcesCommand)).toHaveLength(3);
    expect(sleep).toHaveBeenCalledTimes(2);
  });

  it('gives up after the ASL policy (6 retries) with the Throttled error', async () => {
    // Arrange
    taggingMock.on(GetResourcesCommand).rejects(awsError('ThrottlingException'));
    const sleep = vi.fn(async (_ms: number) => {});
    // Act / Assert
    await expect(awsInventory(spec, { sleep })).rejects.toMatchObject({ name: 'Throttled' });
    expect(taggingMock.commandCalls(GetResourcesCommand)).toHaveLength(7);
  });

  it('does not retry an error that is not transient', async () => {
    // Arrange
    taggingMock.on(GetResourcesCommand).rejects(awsError('AccessDeniedException'));
    const sleep = vi.fn(async (_ms: number) => {});
    // Act / Assert
    await expect(awsInventory(spec, { sleep })).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(taggingMock.commandCalls(GetResourcesCommand)).toHaveLength(1);
    expect(sleep).not.toHaveBeenCalled();
  });
});
