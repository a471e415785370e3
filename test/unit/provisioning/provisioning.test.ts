import { CreateTagsCommand, DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  type CommandInvocation,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/provisioning/handler.js';
import {
  MAX_TARGETS_PER_COMMAND,
  phaseStatus,
  type SendResult,
  type SentCommand,
  sendPhase,
} from '../../../functions/provisioning/provisioning.js';
import {
  awsError,
  expectNamedError,
  idOf,
  instance,
  ownFilters,
  RAW_SPEC,
  SAMPLE_NICKNAMES,
  sampleContext,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

const CASSANDRA = ['cass001', 'cass002', 'cass003', 'cass004'];
const CONFIGURE_CASSANDRA = 'capi-cassandra-configure';
const TAG_KEY = `capideploy:${CONFIGURE_CASSANDRA}`;
/** A configured Cassandra node also records the ring size its token was computed for (the sample's 4). */
const CLUSTER_SIZE = { Key: 'capideploy:cassandra-cluster-size', Value: '4' };
/** The parameters of capi-cassandra-configure for the sample plan, the same on every Cassandra node. */
const CASSANDRA_PARAMETERS = {
  ClusterName: ['sample'],
  Seeds: ['10.5.0.11,10.5.0.12,10.5.0.13,10.5.0.14'],
  ClusterSize: ['4'],
  DeploymentName: ['sample'],
  Region: ['us-east-1'],
};

/** Running instances for `nicknames`, with extra tags per nickname (e.g. a provisioned-by tag). */
function runningFleet(nicknames: string[], extraTags: Record<string, Record<string, string>> = {}) {
  return nicknames.map((nickname) => {
    const base = instance(nickname, 'running');
    const extra = Object.entries(extraTags[nickname] ?? {}).map(([Key, Value]) => ({ Key, Value }));
    return { ...base, Tags: [...base.Tags!, ...extra] };
  });
}

const describes = (instances: Instance[]) => ({ Reservations: [{ Instances: instances }] });

/** Answers SendCommand with command ids cmd-1, cmd-2, ... in call order. */
function numberedCommands() {
  let sent = 0;
  ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-${++sent}` } }));
}

const sendInputs = () => ssmMock.commandCalls(SendCommandCommand).map((call) => call.args[0].input);

/** One ListCommandInvocations page: each nickname's invocation in the given status. */
const invocations = (statuses: Record<string, string>): { CommandInvocations: CommandInvocation[] } => ({
  CommandInvocations: Object.entries(statuses).map(([nickname, status]) => ({
    InstanceId: idOf(nickname),
    Status: status as never,
  })),
});

const command = (overrides: Partial<SentCommand> = {}): SentCommand => ({
  commandId: 'cmd-1',
  document: CONFIGURE_CASSANDRA,
  instances: 4,
  parametersHash: '0123456789abcdef',
  ...overrides,
});

const tagInputs = () => ec2Mock.commandCalls(CreateTagsCommand).map((call) => call.args[0].input);

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  ec2Mock.on(DescribeInstancesCommand).resolves(describes(runningFleet(SAMPLE_NICKNAMES)));
  ec2Mock.on(CreateTagsCommand).resolves({});
  numberedCommands();
});

describe('sendPhase', () => {
  it('sends the document with its parameters to the nodes of the role, from one DescribeInstances', async () => {
    // Act
    const result = await sendPhase(sampleContext(), 'configure-cassandra', { outputBucket: 'capi-output' });
    // Assess
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [...ownFilters, { Name: 'instance-state-name', Values: ['running'] }],
    });
    expect(sendInputs()).toEqual([
      {
        DocumentName: CONFIGURE_CASSANDRA,
        InstanceIds: CASSANDRA.map(idOf),
        Parameters: CASSANDRA_PARAMETERS,
        TimeoutSeconds: 600,
        Comment: 'sample configure-cassandra capi-cassandra-configure',
        OutputS3BucketName: 'capi-output',
        OutputS3KeyPrefix: 'sample/configure-cassandra',
      },
    ]);
    expect(result).toEqual({
      phase: 'configure-cassandra',
      commands: [
        {
          commandId: 'cmd-1',
          document: CONFIGURE_CASSANDRA,
          instances: 4,
          instanceIds: expect.arrayContaining([expect.stringMatching(/^i-/)]),
          parametersHash: expect.stringMatching(/^[0-9a-f]{16}$/),
        },
      ],
      skipped: 0,
    });
  });

  it('leaves out the output bucket when none is configured (local mode)', async () => {
    // Act
    await sendPhase(sampleContext(), 'configure-cassandra', {});
    // Assess
    expect(sendInputs()[0]).not.toHaveProperty('OutputS3BucketName');
    expect(sendInputs()[0]).not.toHaveProperty('OutputS3KeyPrefix');
  });

  it('sends each step of a phase in order, one command per role, the log volume to the bastion', async () => {
    // Act
    const result = await sendPhase(sampleContext(), 'install', { logVolumeId: 'vol-0log' });
    // Assess
    expect(sendInputs().map((input) => [input.DocumentName, input.InstanceIds])).toEqual([
      ['capi-bastion-install', [idOf('bastion')]],
      ['capi-rabbitmq-install', [idOf('rabbitmq')]],
      ['capi-prometheus-install', [idOf('prometheus')]],
      ['capi-cassandra-install', CASSANDRA.map(idOf)],
      ['capi-daemon-install', ['daemon001', 'daemon002', 'daemon003', 'daemon004'].map(idOf)],
      // The agent: one step on every role, one command per role (its parameters differ only between roles).
      ['capi-cloudwatch-agent', [idOf('bastion')]],
      ['capi-cloudwatch-agent', [idOf('rabbitmq')]],
      ['capi-cloudwatch-agent', [idOf('prometheus')]],
      ['capi-cloudwatch-agent', CASSANDRA.map(idOf)],
      ['capi-cloudwatch-agent', ['daemon001', 'daemon002', 'daemon003', 'daemon004'].map(idOf)],
    ]);
    expect(sendInputs()[0].Parameters).toMatchObject({ LogVolumeId: ['vol-0log'] });
    expect(sendInputs()[8].Parameters).toEqual({
      LogGroupName: ['/capideploy/sample'],
      LogFiles: [
        'cassandra=/var/log/cassandra/system.log,cassandra-debug=/var/log/cassandra/debug.log,ssm=/var/lib/amazon/ssm/*/document/orchestration/*/awsrunShellScript/*/std*',
      ],
    });
    expect(result.commands.map((sent) => [sent.commandId, sent.instances])).toEqual([
      ['cmd-1', 1],
      ['cmd-2', 1],
      ['cmd-3', 1],
      ['cmd-4', 4],
      ['cmd-5', 4],
      ['cmd-6', 1],
      ['cmd-7', 1],
      ['cmd-8', 1],
      ['cmd-9', 4],
      ['cmd-10', 4],
    ]);
  });

  it('sends at most 50 instance ids per SendCommand: 120 nodes make 50, 50 and 20', async () => {
    // Prepare
    const ctx = sampleContext({ cassandraNodes: 120 });
    const cassandra = ctx.plan.nodes.filter((node) => node.role === 'cassandra').map((node) => node.nickname);
    ec2Mock.on(DescribeInstancesCommand).resolves(describes(runningFleet(cassandra)));
    // Act
    const result = await sendPhase(ctx, 'configure-cassandra', {});
    // Assess
    expect(MAX_TARGETS_PER_COMMAND).toBe(50);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    const batches = sendInputs().map((input) => input.InstanceIds!);
    expect(batches.map((ids) => ids.length)).toEqual([50, 50, 20]);
    expect(batches.flat()).toEqual(cassandra.map(idOf));
    expect(new Set(sendInputs().map((input) => JSON.stringify(input.Parameters))).size).toBe(1);
    expect(result.commands.map((sent) => [sent.commandId, sent.instances])).toEqual([
      ['cmd-1', 50],
      ['cmd-2', 50],
      ['cmd-3', 20],
    ]);
    expect(new Set(result.commands.map((sent) => sent.parametersHash)).size).toBe(1);
  });

  it('skips a node tagged with the same parameters hash and resends to one tagged with another', async () => {
    // Prepare: the hash of a first run, tagged on cass001 and cass002; cass003 carries an older hash
    const { commands } = await sendPhase(sampleContext(), 'configure-cassandra', {});
    const hash = commands[0].parametersHash;
    ssmMock.resetHistory();
    ec2Mock.on(DescribeInstancesCommand).resolves(
      describes(
        runningFleet(SAMPLE_NICKNAMES, {
          cass001: { [TAG_KEY]: hash },
          cass002: { [TAG_KEY]: hash },
          cass003: { [TAG_KEY]: 'ffffffffffffffff' },
        }),
      ),
    );
    // Act
    const result = await sendPhase(sampleContext(), 'configure-cassandra', {});
    // Assess
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(sendInputs()[0].InstanceIds).toEqual([idOf('cass003'), idOf('cass004')]);
    expect(result).toMatchObject({ skipped: 2, commands: [{ instances: 2, parametersHash: hash }] });
  });

  it('sends no command when every node already ran the document with these parameters', async () => {
    // Prepare
    const { commands } = await sendPhase(sampleContext(), 'configure-cassandra', {});
    ssmMock.resetHistory();
    const tags = Object.fromEntries(
      CASSANDRA.map((nickname) => [nickname, { [TAG_KEY]: commands[0].parametersHash }]),
    );
    ec2Mock.on(DescribeInstancesCommand).resolves(describes(runningFleet(SAMPLE_NICKNAMES, tags)));
    // Act
    const result = await sendPhase(sampleContext(), 'configure-cassandra', {});
    // Assess
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(result).toEqual({ phase: 'configure-cassandra', commands: [], skipped: 4 });
  });

  it('resends the bastion install when its parameters changed since it was tagged (new log volume)', async () => {
    // Prepare: the bastion was installed with another log volume
    const first = await sendPhase(sampleContext(), 'install', { logVolumeId: 'vol-0old' });
    ssmMock.resetHistory();
    ec2Mock.on(DescribeInstancesCommand).resolves(
      describes(
        runningFleet(SAMPLE_NICKNAMES, {
          bastion: { 'capideploy:capi-bastion-install': first.commands[0].parametersHash },
        }),
      ),
    );
    // Act
    const result = await sendPhase(sampleContext(), 'install', { logVolumeId: 'vol-0new' });
    // Assess
    expect(result.skipped).toBe(0);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'capi-bastion-install',
      InstanceIds: [idOf('bastion')],
      Parameters: expect.objectContaining({ LogVolumeId: ['vol-0new'] }),
    });
    expect(result.commands[0].parametersHash).not.toBe(first.commands[0].parametersHash);
  });

  it('always sends health checks, to the first node of the role only, with the check to run', async () => {
    // Prepare: tags that would skip a provisioning document do not skip a check
    const { commands } = await sendPhase(sampleContext(), 'cassandra-status', {});
    ssmMock.resetHistory();
    ec2Mock.on(DescribeInstancesCommand).resolves(
      describes(
        runningFleet(SAMPLE_NICKNAMES, {
          cass001: { 'capideploy:capi-health-check': commands[0].parametersHash },
        }),
      ),
    );
    // Act
    const result = await sendPhase(sampleContext(), 'health-checks', {});
    // Assess
    expect(
      sendInputs().map((input) => [input.DocumentName, input.InstanceIds, input.Parameters!.Check]),
    ).toEqual([
      ['capi-health-check', [idOf('cass001')], ['cassandra']],
      ['capi-health-check', [idOf('rabbitmq')], ['rabbitmq']],
      ['capi-health-check', [idOf('bastion')], ['webapi']],
      ['capi-health-check', [idOf('bastion')], ['ui']],
      ['capi-health-check', [idOf('prometheus')], ['prometheus']],
    ]);
    expect(sendInputs()[0].Parameters).toEqual({
      ExpectedNodes: ['4'],
      ExpectedTargets: ['21'],
      Check: ['cassandra'],
    });
    expect(result.skipped).toBe(0);
    expect(result.commands.map((sent) => sent.check)).toEqual([
      'cassandra',
      'rabbitmq',
      'webapi',
      'ui',
      'prometheus',
    ]);
  });

  it('fails naming the node that is not running, before sending anything', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(describes(runningFleet(SAMPLE_NICKNAMES.filter((nickname) => nickname !== 'cass003'))));
    // Act
    const cause = await expectNamedError(
      sendPhase(sampleContext(), 'configure-cassandra', {}),
      'ProvisioningFailed',
      {
        resource: 'instance sample-cass003',
        message: 'cass003 is not running, so capi-cassandra-configure cannot run on it',
      },
    );
    // Assess
    expect(cause.hint).toMatch(/re-run create/i);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('names the document and the first instance when SendCommand is throttled', async () => {
    // Prepare
    ssmMock.on(SendCommandCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    // Act
    await expectNamedError(sendPhase(sampleContext(), 'configure-cassandra', {}), 'Throttled', {
      resource: `command ${CONFIGURE_CASSANDRA}`,
      id: idOf('cass001'),
      awsError: 'ThrottlingException',
    });
  });
});

describe('phaseStatus', () => {
  it('counts an unregistered command as pending, not failed, and tags nothing', async () => {
    // Prepare
    ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    // Act
    const result = await phaseStatus(sampleContext(), [command()]);
    // Assess
    expect(result).toEqual({ done: false, total: 4, succeeded: 0, finished: 0 });
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: 'cmd-1' });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateTagsCommand);
  });

  it('judges each requested instance: one with no invocation listed yet is unfinished, never done', async () => {
    // Prepare: three of the four requested nodes succeeded, cass004's invocation is not listed yet
    const requested = command({ instanceIds: CASSANDRA.map((nickname) => idOf(nickname)) });
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(invocations({ cass001: 'Success', cass002: 'Success', cass003: 'Success' }));
    // Act
    const result = await phaseStatus(sampleContext(), [requested]);
    // Assess
    expect(result).toEqual({ done: false, total: 4, succeeded: 3, finished: 3 });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateTagsCommand);
  });

  it('fails with CommandTimedOut in the last round, naming the node, instance, document and last status', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(describes(runningFleet(CASSANDRA)));
    const requested = command({ instanceIds: CASSANDRA.map((nickname) => idOf(nickname)) });
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(invocations({ cass001: 'Success', cass002: 'InProgress', cass003: 'Success' }));
    // Act
    const cause = await expectNamedError(
      phaseStatus(sampleContext(), [requested], { attempt: 99, maxAttempts: 100 }),
      'CommandTimedOut',
      { resource: `node cass002 (${CONFIGURE_CASSANDRA})`, id: idOf('cass002'), awsError: 'InProgress' },
    );
    // Assess
    expect(cause.message).toContain('after 100 checks');
    expect(cause.details).toMatchObject({
      node: 'cass002',
      document: CONFIGURE_CASSANDRA,
      lastStatus: 'InProgress',
      unfinished: [
        { node: 'cass002', instanceId: idOf('cass002'), lastStatus: 'InProgress' },
        { node: 'cass004', instanceId: idOf('cass004'), lastStatus: 'not registered' },
      ],
    });
  });

  it('keeps waiting while some nodes are still running the command, tagging nothing yet', async () => {
    // Prepare
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(
        invocations({ cass001: 'Success', cass002: 'InProgress', cass003: 'Success', cass004: 'Pending' }),
      );
    // Act
    const result = await phaseStatus(sampleContext(), [command()]);
    // Assess
    expect(result).toEqual({ done: false, total: 4, succeeded: 2, finished: 2 });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateTagsCommand);
  });

  it('finishes when every node succeeded and tags each with the document and parameters hash', async () => {
    // Prepare: two batches of one document
    const commands = [
      command({ commandId: 'cmd-1', instances: 2 }),
      command({ commandId: 'cmd-2', instances: 2 }),
    ];
    ssmMock
      .on(ListCommandInvocationsCommand, { CommandId: 'cmd-1' })
      .resolves(invocations({ cass001: 'Success', cass002: 'Success' }))
      .on(ListCommandInvocationsCommand, { CommandId: 'cmd-2' })
      .resolves(invocations({ cass003: 'Success', cass004: 'Success' }));
    // Act
    const result = await phaseStatus(sampleContext(), commands);
    // Assess
    expect(result).toEqual({ done: true, total: 4, succeeded: 4, finished: 4 });
    expect(tagInputs()).toEqual([
      {
        Resources: [idOf('cass001'), idOf('cass002')],
        Tags: [{ Key: TAG_KEY, Value: '0123456789abcdef' }, CLUSTER_SIZE],
      },
      {
        Resources: [idOf('cass003'), idOf('cass004')],
        Tags: [{ Key: TAG_KEY, Value: '0123456789abcdef' }, CLUSTER_SIZE],
      },
    ]);
  });

  it('follows ListCommandInvocations pages', async () => {
    // Prepare
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolvesOnce({ ...invocations({ cass001: 'Success', cass002: 'Success' }), NextToken: 'page-2' })
      .resolves(invocations({ cass003: 'Success', cass004: 'Success' }));
    // Act
    const result = await phaseStatus(sampleContext(), [command()]);
    // Assess
    expect(result.done).toBe(true);
    expect(ssmMock).toHaveReceivedNthCommandWith(ListCommandInvocationsCommand, 2, {
      CommandId: 'cmd-1',
      NextToken: 'page-2',
    });
    expect(tagInputs()[0].Resources).toEqual(CASSANDRA.map(idOf));
  });

  it('fails naming node, instance id, command id, exit code and the stderr tail', async () => {
    // Prepare: 20 lines of stderr, of which the failure keeps the last 15
    const stderr = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n');
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(
        invocations({ cass001: 'Success', cass002: 'Failed', cass003: 'Success', cass004: 'InProgress' }),
      );
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Failed', ResponseCode: 3, StandardErrorContent: `${stderr}\n` });
    // Act
    const cause = await expectNamedError(
      phaseStatus(sampleContext(), [command({ commandId: 'cmd-7f3a' })]),
      'CommandFailed',
      {
        resource: `node cass002 (${CONFIGURE_CASSANDRA})`,
        id: idOf('cass002'),
        awsError: 'Failed',
        message: `${CONFIGURE_CASSANDRA} Failed on cass002 with exit code 3: line 20`,
      },
    );
    // Assess
    expect(cause.details).toEqual({
      node: 'cass002',
      instanceId: idOf('cass002'),
      commandId: 'cmd-7f3a',
      document: CONFIGURE_CASSANDRA,
      status: 'Failed',
      exitCode: 3,
      stderrTail: Array.from({ length: 15 }, (_, i) => `line ${i + 6}`).join('\n'),
      failedNodes: ['cass002'],
      // Where the evidence is: the node's streams of the cluster's log group (issue 16).
      logs: {
        group: '/capideploy/sample',
        streams: ['cass002/ssm', 'cass002/cassandra'],
        command: 'capi-deploy logs sample --node cass002 --source cassandra',
      },
    });
    expect(cause.hint).toMatch(/stderr/);
    expect(cause.hint).toContain('CloudWatch Logs group /capideploy/sample');
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, {
      CommandId: 'cmd-7f3a',
      InstanceId: idOf('cass002'),
    });
  });

  it('tags the nodes that succeeded before failing, so a re-run skips them', async () => {
    // Prepare
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(
        invocations({ cass001: 'Success', cass002: 'Failed', cass003: 'Success', cass004: 'InProgress' }),
      );
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 1 });
    // Act
    await expectNamedError(phaseStatus(sampleContext(), [command()]), 'CommandFailed', {});
    // Assess
    expect(tagInputs()).toEqual([
      {
        Resources: [idOf('cass001'), idOf('cass003')],
        Tags: [{ Key: TAG_KEY, Value: '0123456789abcdef' }, CLUSTER_SIZE],
      },
    ]);
  });

  it('lists every failed node and ends the message at the exit code when stderr is empty', async () => {
    // Prepare
    ssmMock.on(ListCommandInvocationsCommand).resolves(
      invocations({
        cass001: 'Cancelled',
        cass002: 'Undeliverable',
        cass003: 'Terminated',
        cass004: 'Failed',
      }),
    );
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Cancelled', ResponseCode: -1 });
    // Act
    const cause = await expectNamedError(phaseStatus(sampleContext(), [command()]), 'CommandFailed', {
      resource: `node cass001 (${CONFIGURE_CASSANDRA})`,
      message: `${CONFIGURE_CASSANDRA} Cancelled on cass001 with exit code -1`,
    });
    // Assess
    expect(cause.details).toMatchObject({ stderrTail: '', failedNodes: CASSANDRA });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateTagsCommand);
  });

  it('lists at most 10 failed nodes', async () => {
    // Prepare
    const ctx = sampleContext({ daemons: 12 });
    const daemons = ctx.plan.nodes.filter((node) => node.role === 'daemon').map((node) => node.nickname);
    ec2Mock.on(DescribeInstancesCommand).resolves(describes(runningFleet(daemons)));
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(invocations(Object.fromEntries(daemons.map((nickname) => [nickname, 'Failed']))));
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 1 });
    // Act
    const cause = await expectNamedError(
      phaseStatus(ctx, [command({ document: 'capi-daemon-configure', instances: 12 })]),
      'CommandFailed',
      { resource: 'node daemon001 (capi-daemon-configure)' },
    );
    // Assess
    expect(cause.details!.failedNodes).toEqual(daemons.slice(0, 10));
  });

  it('points to Session Manager when the command timed out', async () => {
    // Prepare
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(
        invocations({ cass001: 'TimedOut', cass002: 'Success', cass003: 'Success', cass004: 'Success' }),
      );
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'TimedOut', ResponseCode: -1, StandardErrorContent: 'nodetool: waiting\n' });
    // Act
    const cause = await expectNamedError(phaseStatus(sampleContext(), [command()]), 'CommandFailed', {
      awsError: 'TimedOut',
      message: `${CONFIGURE_CASSANDRA} TimedOut on cass001 with exit code -1: nodetool: waiting`,
    });
    // Assess
    expect(cause.hint).toMatch(/timeout/);
    expect(cause.hint).toMatch(/Session Manager/);
  });

  it('names the failed node by its instance id once it is no longer running', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(describes(runningFleet(SAMPLE_NICKNAMES.filter((nickname) => nickname !== 'cass004'))));
    ssmMock.on(ListCommandInvocationsCommand).resolves(invocations({ cass004: 'Failed' }));
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 137 });
    // Act
    await expectNamedError(phaseStatus(sampleContext(), [command({ instances: 1 })]), 'CommandFailed', {
      resource: `node ${idOf('cass004')} (${CONFIGURE_CASSANDRA})`,
      id: idOf('cass004'),
    });
  });

  it('counts a failed health check as finished, without CommandFailed and without tags', async () => {
    // Prepare: checks report through their output, read by the health-check step
    const checks = [
      command({ commandId: 'cmd-1', document: 'capi-health-check', check: 'cassandra', instances: 1 }),
      command({ commandId: 'cmd-2', document: 'capi-health-check', check: 'rabbitmq', instances: 1 }),
    ];
    ssmMock
      .on(ListCommandInvocationsCommand, { CommandId: 'cmd-1' })
      .resolves(invocations({ cass001: 'Failed' }))
      .on(ListCommandInvocationsCommand, { CommandId: 'cmd-2' })
      .resolves(invocations({ rabbitmq: 'Success' }));
    // Act
    const result = await phaseStatus(sampleContext(), checks);
    // Assess
    expect(result).toEqual({ done: true, total: 2, succeeded: 1, finished: 2 });
    expect(ssmMock).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(CreateTagsCommand);
  });

  it('names the command when ListCommandInvocations is throttled', async () => {
    // Prepare
    ssmMock.on(ListCommandInvocationsCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    // Act
    await expectNamedError(phaseStatus(sampleContext(), [command()]), 'Throttled', {
      resource: `command ${CONFIGURE_CASSANDRA}`,
      id: 'cmd-1',
    });
  });
});

describe('re-run after a failure', () => {
  it('sends only to the nodes that did not succeed, as their tags say', async () => {
    // Prepare: a fleet whose tags CreateTags really changes
    const fleet = runningFleet(SAMPLE_NICKNAMES);
    ec2Mock.on(DescribeInstancesCommand).callsFake(() => describes(structuredClone(fleet)));
    ec2Mock.on(CreateTagsCommand).callsFake((input) => {
      for (const node of fleet.filter((candidate) => input.Resources.includes(candidate.InstanceId))) {
        node.Tags.push(...input.Tags);
      }
      return {};
    });
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(
        invocations({ cass001: 'Success', cass002: 'Success', cass003: 'Failed', cass004: 'Success' }),
      );
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 1 });
    const first = await sendPhase(sampleContext(), 'configure-cassandra', {});
    await expectNamedError(phaseStatus(sampleContext(), first.commands), 'CommandFailed', {
      resource: `node cass003 (${CONFIGURE_CASSANDRA})`,
    });
    ssmMock.resetHistory();
    // Act
    const rerun = await sendPhase(sampleContext(), 'configure-cassandra', {});
    // Assess
    expect(sendInputs()).toEqual([expect.objectContaining({ InstanceIds: [idOf('cass003')] })]);
    expect(rerun).toMatchObject({ skipped: 3, commands: [{ commandId: 'cmd-2', instances: 1 }] });
  });
});

describe('provisioning handler', () => {
  it('sends a phase and reports its status through the handler', async () => {
    // Prepare
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves(
        invocations({ cass001: 'Success', cass002: 'Success', cass003: 'Success', cass004: 'Success' }),
      );
    // Act
    const sent = (await handler({
      action: 'send',
      spec: RAW_SPEC,
      phase: 'configure-cassandra',
    })) as SendResult;
    const status = await handler({ action: 'status', spec: RAW_SPEC, commands: sent.commands });
    // Assess
    expect(sent).toMatchObject({ phase: 'configure-cassandra', skipped: 0, commands: [{ instances: 4 }] });
    expect(status).toEqual({ done: true, total: 4, succeeded: 4, finished: 4 });
  });

  it('rejects an unknown phase as InvalidSpec before any AWS call', async () => {
    // Act
    await expectNamedError(
      handler({ action: 'send', spec: RAW_SPEC, phase: 'configure-everything' }),
      'InvalidSpec',
      {
        resource: 'input of provisioning',
        message: expect.stringContaining('phase') as never,
      },
    );
    // Assess
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeInstancesCommand);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});
