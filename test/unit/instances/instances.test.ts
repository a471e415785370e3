import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/instances/handler.js';
import {
  clientToken,
  instancesStatus,
  instancesTerminated,
  launchInstances,
  terminateInstances,
} from '../../../functions/instances/instances.js';
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
  sourceImage,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);

const INPUT = {
  privateSubnetId: 'subnet-0private',
  publicSubnetId: 'subnet-0public',
  bastionSecurityGroupId: 'sg-0bastion',
  internalSecurityGroupId: 'sg-0internal',
  instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/capideploy/capideploy-sample-instance',
  amiId: 'ami-0abc1234def567890',
};

const runInputs = () => ec2Mock.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);
const runFor = (nickname: string) =>
  runInputs().find(
    (input) =>
      input.PrivateIpAddress &&
      input.TagSpecifications?.[0].Tags?.some((tag) => tag.Value === `sample-${nickname}`),
  )!;

/**
 * The launch paces RunInstances at EC2's rate (2 a second) on the clock: the tests run it on fake timers, advanced
 * until the launch settles, so they take no real seconds.
 */
async function paced<T>(launch: Promise<T>): Promise<T> {
  let settled = false;
  launch.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) await vi.advanceTimersByTimeAsync(250);
  return launch;
}

afterEach(() => {
  vi.useRealTimers();
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  ec2Mock.reset();
  ec2Mock.on(RunInstancesCommand).callsFake((input) => ({
    Instances: [
      { InstanceId: `i-0${input.PrivateIpAddress.replaceAll('.', '')}`, State: { Name: 'pending' } },
    ],
  }));
});

describe('launchInstances', () => {
  it('launches every node with its IP, subnet, group, profile, IMDSv2, encrypted gp3 root and tags', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    // Act
    const result = await paced(launchInstances(sampleContext(), INPUT));
    // Assess
    expect(result).toEqual({ total: 11, launched: 11, existing: 0, remaining: 0, done: true });
    expect(ec2Mock).toHaveReceivedCommandTimes(RunInstancesCommand, 11);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { Filters: ownFilters });
    const bastion = runFor('bastion');
    expect(bastion).toMatchObject({
      ImageId: INPUT.amiId,
      InstanceType: 'c7g.large',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-0public',
      PrivateIpAddress: '10.5.1.10',
      SecurityGroupIds: ['sg-0bastion'],
      IamInstanceProfile: { Arn: INPUT.instanceProfileArn },
      MetadataOptions: {
        HttpTokens: 'required',
        HttpEndpoint: 'enabled',
        HttpPutResponseHopLimit: 1,
        InstanceMetadataTags: 'enabled',
      },
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/sda1',
          Ebs: { VolumeType: 'gp3', VolumeSize: 20, Encrypted: true, DeleteOnTermination: true },
        },
      ],
    });
    expect(bastion.KeyName).toBeUndefined();
    expect(bastion.ClientToken).toMatch(/^capi-[0-9a-f]{48}$/);
    expect(bastion.TagSpecifications!.map((spec) => spec.ResourceType)).toEqual([
      'instance',
      'volume',
      'network-interface',
    ]);
    expect(bastion.TagSpecifications![0].Tags).toEqual(
      expect.arrayContaining([
        { Key: 'Name', Value: 'sample-bastion' },
        { Key: 'DeploymentName', Value: 'sample' },
        { Key: 'DeploymentOperator', Value: 'capideploy' },
        { Key: 'Role', Value: 'bastion' },
        { Key: 'Nickname', Value: 'bastion' },
      ]),
    );
    expect(runFor('cass002')).toMatchObject({
      InstanceType: 'c7gd.2xlarge',
      SubnetId: 'subnet-0private',
      PrivateIpAddress: '10.5.0.12',
      SecurityGroupIds: ['sg-0internal'],
    });
    expect(new Set(runInputs().map((input) => input.ClientToken)).size).toBe(11);
  });

  it('launches nothing when every node is pending or running', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(fleetPage('running', { cass003: { State: { Name: 'pending' } } }));
    const result = await paced(launchInstances(sampleContext(), INPUT));
    expect(result).toEqual({ total: 11, launched: 0, existing: 11, remaining: 0, done: true });
    expect(ec2Mock).not.toHaveReceivedCommand(RunInstancesCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
  });

  it('replaces a terminated node with a new client token generation', async () => {
    // Prepare
    const page = fleetPage('running');
    const instances = page.Reservations[0].Instances;
    instances[4] = instance('cass002', 'terminated', 'i-0deadcass002');
    ec2Mock.on(DescribeInstancesCommand).resolves(page);
    const ctx = sampleContext();
    const node = ctx.plan.nodes.find((candidate) => candidate.nickname === 'cass002')!;
    // Act
    const result = await paced(launchInstances(ctx, INPUT));
    // Assess
    expect(result).toEqual({ total: 11, launched: 1, existing: 10, remaining: 0, done: true });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(RunInstancesCommand, {
      PrivateIpAddress: '10.5.0.12',
      ClientToken: clientToken('sample', node, INPUT.privateSubnetId, 1),
    });
    expect(clientToken('sample', node, INPUT.privateSubnetId, 1)).not.toBe(
      clientToken('sample', node, INPUT.privateSubnetId, 0),
    );
  });

  it('moves to the next token generation when EC2 returns the dead instance of a spent token', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock
      .on(RunInstancesCommand)
      .resolvesOnce({ Instances: [{ InstanceId: 'i-0old', State: { Name: 'terminated' } }] })
      .resolves({ Instances: [{ InstanceId: 'i-0new', State: { Name: 'pending' } }] });
    const result = await paced(launchInstances(sampleContext(), INPUT));
    expect(result.launched).toBe(11);
    expect(ec2Mock).toHaveReceivedCommandTimes(RunInstancesCommand, 12);
  });

  it('names the node and its instance type when capacity is missing', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock
      .on(RunInstancesCommand, { PrivateIpAddress: '10.5.0.12' })
      .rejects(
        awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient c7gd.2xlarge capacity'),
      );
    // Act
    const cause = await expectNamedError(
      paced(launchInstances(sampleContext(), INPUT)),
      'InsufficientCapacity',
      {
        resource: 'instance sample-cass002 (c7gd.2xlarge)',
        id: null,
        awsError: 'InsufficientInstanceCapacity',
      },
    );
    // Assess
    expect(cause.hint).toMatch(/another availabilityZone or flavor/);
    expect(ec2Mock).toHaveReceivedCommandTimes(RunInstancesCommand, 11);
  });

  it('turns an instance profile EC2 does not know yet into InstanceProfileNotReady', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock
      .on(RunInstancesCommand)
      .rejects(
        awsError(
          'InvalidParameterValue',
          'Value (capideploy-sample-instance) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
        ),
      );
    const cause = await expectNamedError(
      paced(launchInstances(sampleContext(), INPUT)),
      'InstanceProfileNotReady',
      {
        resource: 'instance sample-bastion (c7g.large)',
        awsError: 'InvalidParameterValue',
      },
    );
    // Should EC2 keep refusing it, the hint names the exact commands that make create build a new profile.
    expect(cause.hint).toContain(
      '`aws iam remove-role-from-instance-profile --instance-profile-name capideploy-sample-instance --role-name capideploy-sample-instance` then `aws iam delete-instance-profile --instance-profile-name capideploy-sample-instance`',
    );
    expect(cause.hint).toContain('`capi-deploy terminate sample instance-profile --local`');
  });

  it('refuses a stopped node as a ResourceConflict without launching anything', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(fleetPage('running', { daemon002: { State: { Name: 'stopped' } } }));
    const cause = await expectNamedError(paced(launchInstances(sampleContext(), INPUT)), 'ResourceConflict', {
      resource: 'instance sample-daemon002',
      id: idOf('daemon002'),
    });
    expect(cause.hint).toContain(
      `\`aws ec2 start-instances --region us-east-1 --instance-ids ${idOf('daemon002')}\``,
    );
    expect(cause.hint).toContain('`capi-deploy terminate sample daemon002 --local`');
    expect(ec2Mock).not.toHaveReceivedCommand(RunInstancesCommand);
  });
});

describe('launchInstances from images (spec.fromImages)', () => {
  const RESTORE = { ...INPUT, fromImages: 'sample' };
  const images = (overrides: Record<string, ReturnType<typeof sourceImage> | null> = {}) =>
    SAMPLE_NICKNAMES.flatMap((nickname) => {
      const image = nickname in overrides ? overrides[nickname] : sourceImage(nickname);
      return image ? [image] : [];
    });

  it("launches each node from its node's image: same IP, type, profile, IMDSv2 and tags; root from the snapshot", async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const bigRoot = sourceImage('cass002');
    bigRoot.BlockDeviceMappings![0].Ebs!.VolumeSize = 30;
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: images({ cass002: bigRoot }) });

    // Act
    const result = await paced(launchInstances(sampleContext(), RESTORE));

    // Assess
    expect(result).toMatchObject({ launched: 11, remaining: 0, done: true });
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ['self'],
      Filters: [
        { Name: 'tag:DeploymentName', Values: ['sample'] },
        { Name: 'tag:DeploymentOperator', Values: ['capideploy'] },
      ],
    });
    for (const nickname of SAMPLE_NICKNAMES) {
      expect(runFor(nickname).ImageId, nickname).toBe(sourceImage(nickname).ImageId);
    }
    expect(runFor('bastion')).toMatchObject({
      InstanceType: 'c7g.large',
      SubnetId: 'subnet-0public',
      PrivateIpAddress: '10.5.1.10',
      SecurityGroupIds: ['sg-0bastion'],
      IamInstanceProfile: { Arn: INPUT.instanceProfileArn },
      MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
      // The log volume of the image is left out: the log-volume step makes and attaches the deployment's own.
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/sda1',
          Ebs: { VolumeType: 'gp3', VolumeSize: 20, Encrypted: true, DeleteOnTermination: true },
        },
        { DeviceName: '/dev/sdf', NoDevice: '' },
      ],
    });
    expect(runFor('bastion').TagSpecifications![0].Tags).toEqual(
      expect.arrayContaining([
        { Key: 'Name', Value: 'sample-bastion' },
        { Key: 'Role', Value: 'bastion' },
        { Key: 'Nickname', Value: 'bastion' },
      ]),
    );
    // The root volume is at least the snapshot's size (EC2 refuses a smaller one).
    expect(runFor('cass002').BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { VolumeType: 'gp3', VolumeSize: 30, Encrypted: true, DeleteOnTermination: true },
      },
    ]);
    expect(runFor('cass002').PrivateIpAddress).toBe('10.5.0.12');
  });

  it('launches nothing when a node to launch has no available image, naming each node and state', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const pending = sourceImage('daemon003', 'pending');
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: images({ cass002: null, daemon003: pending }) });

    // Act
    const cause = await expectNamedError(
      paced(launchInstances(sampleContext(), RESTORE)),
      'ProvisioningFailed',
      { resource: 'images of sample', id: pending.ImageId },
    );

    // Assess
    expect(cause.message).toContain('2 of 11 nodes have no available image');
    expect(cause.message).toContain('cass002 (no image)');
    expect(cause.message).toContain(`daemon003 (${pending.ImageId}, pending)`);
    expect(cause.hint).toContain('capi-deploy images list sample');
    expect(ec2Mock).not.toHaveReceivedCommand(RunInstancesCommand);
  });

  it('asks images only of the nodes still to launch', async () => {
    // Prepare: every node but cass002 runs already; only cass002's image is left
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(fleetPage('running', { cass002: { State: { Name: 'terminated' } } }));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [sourceImage('cass002')] });

    // Act
    const result = await paced(launchInstances(sampleContext(), RESTORE));

    // Assess
    expect(result).toMatchObject({ launched: 1, existing: 10, done: true });
    expect(runInputs()).toHaveLength(1);
    expect(runInputs()[0].ImageId).toBe(sourceImage('cass002').ImageId);
  });

  it('asks no image when every node is launched already', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(fleetPage('running'));
    await paced(launchInstances(sampleContext(), RESTORE));
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it("keeps a node's client token without an image, and makes another one per image", () => {
    const [node] = sampleContext().plan.nodes;
    const plain = clientToken('sample', node, 'subnet-0public', 0);
    expect(clientToken('sample', node, 'subnet-0public', 0, undefined)).toBe(plain);
    expect(clientToken('sample', node, 'subnet-0public', 0, 'ami-0aaa')).not.toBe(plain);
    expect(clientToken('sample', node, 'subnet-0public', 0, 'ami-0aaa')).not.toBe(
      clientToken('sample', node, 'subnet-0public', 0, 'ami-0bbb'),
    );
  });
});

describe('instancesStatus', () => {
  it('waits for pending and not yet visible nodes, from one DescribeInstances', async () => {
    const page = fleetPage('running', { rabbitmq: { State: { Name: 'pending' } } });
    page.Reservations[0].Instances.pop(); // daemon004 not visible yet
    ec2Mock.on(DescribeInstancesCommand).resolves(page);
    const result = await instancesStatus(sampleContext());
    expect(result).toEqual({ allRunning: false, running: 9, total: 11, waiting: ['rabbitmq', 'daemon004'] });
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
  });

  it('follows DescribeInstances pages and reports all running', async () => {
    const all = fleetPage('running').Reservations[0].Instances;
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: all.slice(0, 5) }], NextToken: 'page2' })
      .resolves({ Reservations: [{ Instances: all.slice(5) }] });
    const result = await instancesStatus(sampleContext());
    expect(result).toEqual({ allRunning: true, running: 11, total: 11, waiting: [] });
    expect(ec2Mock).toHaveReceivedNthCommandWith(DescribeInstancesCommand, 2, { NextToken: 'page2' });
  });

  it('prefers the live instance of a node over its terminated predecessor', async () => {
    const page = fleetPage('running');
    page.Reservations[0].Instances.push(instance('cass002', 'terminated', 'i-0oldcass002'));
    ec2Mock.on(DescribeInstancesCommand).resolves(page);
    expect((await instancesStatus(sampleContext())).allRunning).toBe(true);
  });

  it('fails naming the node, its instance and the state reason when it terminated', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(
      fleetPage('running', {
        cass003: {
          State: { Name: 'terminated' },
          StateReason: {
            Code: 'Server.InternalError',
            Message: 'Server.InternalError: Internal error on launch',
          },
        },
      }),
    );
    const cause = await expectNamedError(instancesStatus(sampleContext()), 'ProvisioningFailed', {
      resource: 'instance sample-cass003 (c7gd.2xlarge)',
      id: idOf('cass003'),
      awsError: 'Server.InternalError',
    });
    expect(cause.message).toContain('Internal error on launch');
    expect(cause.hint).toMatch(/Re-run create to launch a replacement\.$/);
  });

  it('asks to terminate a node that stopped while the fleet came up, naming the commands', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(fleetPage('running', { cass003: { State: { Name: 'stopped' } } }));
    const cause = await expectNamedError(instancesStatus(sampleContext()), 'ProvisioningFailed', {
      resource: 'instance sample-cass003 (c7gd.2xlarge)',
      id: idOf('cass003'),
    });
    expect(cause.hint).toContain(
      `\`aws ec2 terminate-instances --region us-east-1 --instance-ids ${idOf('cass003')}\``,
    );
    expect(cause.hint).toContain('`capi-deploy terminate sample cass003 --local`');
  });

  it('times out an instance pending for too long', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(
      fleetPage('running', {
        prometheus: { State: { Name: 'pending' }, LaunchTime: new Date(Date.now() - 3_600_000) },
      }),
    );
    // The wait loop's last round (its bound is counted in the execution)
    const cause = await expectNamedError(
      instancesStatus(sampleContext(), { attempt: 119, maxAttempts: 120 }),
      'WaitTimedOut',
      { resource: 'instance sample-prometheus', id: idOf('prometheus') },
    );
    const id = idOf('prometheus');
    expect(cause.hint).toContain(
      `on AWS \`aws ec2 terminate-instances --region us-east-1 --instance-ids ${id}\` then \`aws ec2 wait instance-terminated --region us-east-1 --instance-ids ${id}\`; in local mode \`capi-deploy terminate sample prometheus --local\``,
    );
  });
});

describe('terminateInstances and instancesTerminated', () => {
  it('terminates every live instance of the deployment in one batch, skipping those shutting down', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(fleetPage('running', { bastion: { State: { Name: 'shutting-down' } } }));
    const result = await terminateInstances(sampleContext());
    expect(result.terminating).toHaveLength(11);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [
        ...ownFilters,
        {
          Name: 'instance-state-name',
          Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'],
        },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(TerminateInstancesCommand, {
      InstanceIds: SAMPLE_NICKNAMES.filter((nickname) => nickname !== 'bastion').map(idOf),
    });
  });

  it('makes no TerminateInstances call when nothing is left', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    expect(await terminateInstances(sampleContext())).toEqual({ terminating: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
  });

  it('names the instances when termination is refused', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [instance('bastion', 'running')] }] });
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('OperationNotPermitted', 'may not be terminated'));
    await expectNamedError(terminateInstances(sampleContext()), 'ProvisioningFailed', {
      resource: 'instances of sample',
      id: idOf('bastion'),
      awsError: 'OperationNotPermitted',
    });
  });

  it('reports what is still shutting down', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [instance('cass001', 'shutting-down'), instance('daemon004', 'shutting-down')] },
      ],
    });
    expect(await instancesTerminated(sampleContext())).toEqual({
      allTerminated: false,
      remaining: 2,
      waiting: ['cass001', 'daemon004'],
    });
  });
});

describe('handler', () => {
  it('checks the launch inputs before any AWS call', async () => {
    await expectNamedError(
      handler({ action: 'launch', spec: RAW_SPEC, ...INPUT, amiId: 'not-an-ami' }),
      'InvalidSpec',
      { resource: 'input of instances' },
    );
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it("launches from the images of the spec's fromImages", async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock
      .on(DescribeImagesCommand)
      .resolves({ Images: SAMPLE_NICKNAMES.map((nickname) => sourceImage(nickname)) });

    // Act
    await paced(handler({ action: 'launch', spec: { ...RAW_SPEC, fromImages: 'sample' }, ...INPUT }));

    // Assess
    expect(runFor('rabbitmq').ImageId).toBe(sourceImage('rabbitmq').ImageId);
  });
});
