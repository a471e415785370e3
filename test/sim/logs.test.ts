import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ACCESS_KEY } from '../../src/sim/account.js';
import { requestsFor } from '../../src/sim/iam/requests.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { openAccount } from '../../src/sim/services/index.js';
import { logsState, matchesPattern, writeNodeLog } from '../../src/sim/services/logs.js';

/** The CloudWatch Logs simulator (src/sim/services/logs.ts) through a real SDK client, and its IAM requests. */

const GROUP = '/capideploy/demo';

function setup() {
  const account = openAccount(null, { documents: {}, callLatency: false });
  const client = new CloudWatchLogsClient({
    region: 'us-east-1',
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' },
    maxAttempts: 1,
  });
  attachSimulator(client as never, account);
  return { account, client };
}

describe('the CloudWatch Logs simulator', () => {
  it('creates a group with retention and key, takes events and filters them by stream, time and text', async () => {
    // Prepare
    const { client } = setup();
    await client.send(
      new CreateLogGroupCommand({ logGroupName: GROUP, kmsKeyId: 'arn:aws:kms:us-east-1:1:key/k' }),
    );
    await client.send(new PutRetentionPolicyCommand({ logGroupName: GROUP, retentionInDays: 14 }));
    await client.send(
      new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'cass001/cassandra' }),
    );
    await client.send(
      new PutLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: 'cass001/cassandra',
        logEvents: [
          { timestamp: 1_000, message: 'INFO Starting Cassandra' },
          { timestamp: 3_000, message: 'ERROR seed unreachable' },
        ],
      }),
    );

    // Act
    const groups = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/capideploy/' }));
    const all = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP }));
    const errors = await client.send(
      new FilterLogEventsCommand({
        logGroupName: GROUP,
        filterPattern: '"seed unreachable"',
        startTime: 2_000,
      }),
    );

    // Assess
    expect(groups.logGroups).toEqual([
      expect.objectContaining({
        logGroupName: GROUP,
        retentionInDays: 14,
        kmsKeyId: 'arn:aws:kms:us-east-1:1:key/k',
      }),
    ]);
    expect(groups.logGroups?.[0].storedBytes).toBeGreaterThan(0);
    expect(all.events?.map((event) => event.message)).toEqual([
      'INFO Starting Cassandra',
      'ERROR seed unreachable',
    ]);
    expect(errors.events?.map((event) => event.logStreamName)).toEqual(['cass001/cassandra']);
  });

  it('answers ResourceNotFoundException for a group that does not exist, and deletes with its streams', async () => {
    // Prepare
    const { account, client } = setup();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    writeNodeLog(account, GROUP, 'cass002/ssm', 5_000, ['[capi] done']);

    // Act
    await client.send(new DeleteLogGroupCommand({ logGroupName: GROUP }));

    // Assess
    expect(logsState(account)).toEqual({ groups: {}, streams: {} });
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP }))).rejects.toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException' }),
    );
  });

  it('lets a node write only into a group that exists (the agent may not create it)', () => {
    // Prepare
    const { account } = setup();

    // Act
    writeNodeLog(account, GROUP, 'cass001/ssm', 1_000, ['line']);

    // Assess
    expect(logsState(account).streams).toEqual({});
  });

  it('reads simple filter patterns: all terms, quoted phrases, ? alternatives', () => {
    expect(matchesPattern('ERROR seed', 'ERROR: the seed is down')).toBe(true);
    expect(matchesPattern('"seed is up"', 'ERROR: the seed is down')).toBe(false);
    expect(matchesPattern('?WARN ?ERROR', 'ERROR x')).toBe(true);
    expect(matchesPattern(undefined, 'anything')).toBe(true);
  });
});

describe('IAM requests of CloudWatch Logs calls', () => {
  it('address the log group, with tag-on-create as logs:TagResource', () => {
    // Prepare
    const { account } = setup();
    const call = (operation: string, input: Record<string, unknown>) =>
      requestsFor({
        service: 'CloudWatchLogs',
        operation,
        input,
        region: 'us-east-1',
        account: '123456789012',
        state: (name) => account.stateOf(name),
      });
    const arn = `arn:aws:logs:us-east-1:123456789012:log-group:${GROUP}`;

    // Act
    const create = call('CreateLogGroup', {
      logGroupName: GROUP,
      tags: { DeploymentOperator: 'capideploy' },
    });
    const retention = call('PutRetentionPolicy', { logGroupName: GROUP, retentionInDays: 30 });
    const describe = call('DescribeLogGroups', { logGroupNamePrefix: GROUP });

    // Assess
    expect(create?.map((request) => request.action)).toEqual(['logs:CreateLogGroup', 'logs:TagResource']);
    expect(create?.[0].resources[0]).toMatchObject({
      type: 'log-group',
      arn,
      requestTags: [{ Key: 'DeploymentOperator', Value: 'capideploy' }],
    });
    expect(retention).toEqual([
      { action: 'logs:PutRetentionPolicy', resources: [{ type: 'log-group', arn }] },
    ]);
    expect(describe).toEqual([{ action: 'logs:DescribeLogGroups', resources: [] }]);
  });
});
