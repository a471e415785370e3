import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/ssm-readiness/handler.js';
import { ssmReadiness } from '../../../functions/ssm-readiness/ssm-readiness.js';
import {
  awsError,
  expectNamedError,
  fleetPage,
  idOf,
  instance,
  ownFilters,
  RAW_SPEC,
  SAMPLE_NICKNAMES,
  sampleContext,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

const online = (nicknames: string[], status = 'Online') => ({
  InstanceInformationList: nicknames.map((nickname) => ({
    InstanceId: idOf(nickname),
    PingStatus: status as never,
  })),
});

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  ec2Mock.on(DescribeInstancesCommand).resolves(fleetPage('running'));
});

describe('ssmReadiness', () => {
  it('reports all online from one DescribeInstances and one DescribeInstanceInformation', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(online(SAMPLE_NICKNAMES));
    const result = await ssmReadiness(sampleContext());
    expect(result).toEqual({ allOnline: true, online: 11, total: 11, waiting: [] });
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [...ownFilters, { Name: 'instance-state-name', Values: ['running'] }],
    });
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: SAMPLE_NICKNAMES.map(idOf) }],
    });
  });

  it('lists the nodes whose agent is not online yet, following pages', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ ...online(SAMPLE_NICKNAMES.slice(0, 6)), NextToken: 'next' })
      .resolves(online(['daemon001', 'daemon002', 'daemon004']));
    const result = await ssmReadiness(sampleContext());
    expect(result).toEqual({ allOnline: false, online: 9, total: 11, waiting: ['cass004', 'daemon003'] });
    expect(ssmMock).toHaveReceivedNthCommandWith(DescribeInstanceInformationCommand, 2, {
      NextToken: 'next',
    });
  });

  it('asks in chunks of 50 instance ids for a large fleet', async () => {
    // Prepare: 60 Cassandra nodes and 10 daemons = 73 nodes
    const ctx = sampleContext({ cassandraNodes: 60, daemons: 10 });
    const nicknames = ctx.plan.nodes.map((node) => node.nickname);
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: nicknames.map((nickname) => instance(nickname, 'running')) }],
    });
    ssmMock.on(DescribeInstanceInformationCommand).callsFake((input) => ({
      InstanceInformationList: input.Filters[0].Values.map((id: string) => ({
        InstanceId: id,
        PingStatus: 'Online',
      })),
    }));
    // Act
    const result = await ssmReadiness(ctx);
    // Assess
    expect(result).toMatchObject({ allOnline: true, online: 73, total: 73 });
    const sizes = ssmMock
      .commandCalls(DescribeInstanceInformationCommand)
      .map((call) => call.args[0].input.Filters![0].Values!.length);
    expect(sizes).toEqual([50, 23]);
  });

  it('times out after maxAttempts naming each offline node, its instance and the likely causes', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves(online(SAMPLE_NICKNAMES.filter((n) => n !== 'daemon002')));
    const cause = await expectNamedError(
      ssmReadiness(sampleContext(), { attempt: 9, maxAttempts: 10 }),
      'WaitTimedOut',
      {
        resource: 'SSM agent on sample-daemon002',
        id: idOf('daemon002'),
      },
    );
    expect(cause.message).toContain('not registered');
    expect(cause.hint).toMatch(/NAT/);
    expect(cause.hint).toMatch(/AmazonSSMManagedInstanceCore/);
    expect(cause.hint).toMatch(/re-run create; if an agent still does not come online, replace its node/);
    expect(cause.hint).toContain('`capi-deploy terminate sample daemon002 --local`');
  });

  it('keeps waiting while attempts remain', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(online(['bastion']));
    const result = await ssmReadiness(sampleContext(), { attempt: 3, maxAttempts: 10 });
    expect(result.allOnline).toBe(false);
    expect(result.waiting).toHaveLength(10);
  });

  it('without a counter, times out agents offline 15 minutes after launch', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(fleetPage('running', { cass002: { LaunchTime: new Date(Date.now() - 16 * 60_000) } }));
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        ...online(SAMPLE_NICKNAMES.filter((n) => n !== 'cass002')).InstanceInformationList,
        { InstanceId: idOf('cass002'), PingStatus: 'ConnectionLost' },
      ],
    });
    const cause = await expectNamedError(ssmReadiness(sampleContext()), 'WaitTimedOut', {
      resource: 'SSM agent on sample-cass002',
      id: idOf('cass002'),
    });
    expect(cause.message).toContain('ConnectionLost');
    // A re-run alone would time out again at once: the hint names the commands that replace the node.
    const id = idOf('cass002');
    expect(cause.hint).toContain(
      `on AWS \`aws ec2 terminate-instances --region us-east-1 --instance-ids ${id}\` then \`aws ec2 wait instance-terminated --region us-east-1 --instance-ids ${id}\`; in local mode \`capi-deploy terminate sample cass002 --local\``,
    );
  });

  it('without a counter, keeps waiting for agents of recently launched instances', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    expect((await ssmReadiness(sampleContext())).online).toBe(0);
  });

  it('names the fleet and the AWS error when DescribeInstanceInformation is throttled', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expectNamedError(ssmReadiness(sampleContext()), 'Throttled', {
      resource: 'SSM agents of sample',
      awsError: 'ThrottlingException',
    });
  });

  it('takes attempt and maxAttempts through the handler', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    await expectNamedError(
      handler({ action: 'status', spec: RAW_SPEC, attempt: 0, maxAttempts: 1 }),
      'WaitTimedOut',
      {
        resource: expect.stringContaining('sample-bastion') as never,
      },
    );
  });
});
