import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import {
  CancelCommandCommand,
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { describe, expect, it, vi } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import { PARSERS } from '../../functions/health-check/health-check.js';
import { planDeployment } from '../../src/core/spec/plan.js';
import { DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import { OPERATOR_ACCESS_KEY, type SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { LATENCY_SECONDS } from '../../src/sim/latency.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { SSM_MANAGED_INSTANCE_CORE } from '../../src/sim/services/iam.js';
import { openAccount } from '../../src/sim/services/index.js';
import { DOCUMENT_SECONDS, type SimDocument, type SsmState } from '../../src/sim/services/ssm.js';

// A stand-in for the EC2 simulator (its state contract only): instances, and a route kind per subnet.
vi.mock('../../src/sim/services/ec2.js', () => ({
  ec2Simulator: { name: 'EC2', initialState: () => ({ instances: {}, routes: {} }), operations: {} },
  refreshEc2: () => undefined,
  subnetHasInternetRoute: (state: StandInEc2, subnetId: string) => state.routes[subnetId] ?? null,
  UBUNTU_AMIS: {},
}));

interface StandInEc2 {
  instances: Record<string, Record<string, unknown>>;
  routes: Record<string, 'nat' | 'igw' | null>;
}

const START = Date.parse('2026-01-05T10:00:00Z');
const PRIVATE = 'subnet-0000000000000aaaa';
const PUBLIC = 'subnet-0000000000000bbbb';
const ISOLATED = 'subnet-0000000000000cccc';
const ACCOUNT = '123456789012';

const step = (timeoutSeconds: number) => [{ name: 'run', inputs: { timeoutSeconds } }];
const noParameters = (timeoutSeconds = 3600): SimDocument => ({
  parameters: {},
  mainSteps: step(timeoutSeconds),
});

/** Test documents shaped like provisioning-docs/ (the real ones are validated in test/provisioning). */
const DOCUMENTS: Record<string, SimDocument> = {
  'capi-cassandra-install': {
    parameters: { CassandraVersion: { type: 'String', allowedPattern: '^[0-9]+\\.[0-9]+$', default: '5.0' } },
    mainSteps: step(3600),
  },
  'capi-cassandra-configure': {
    parameters: {
      NodeIp: { type: 'String', allowedPattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$' },
      ClusterSize: { type: 'String', allowedPattern: '^[0-9]{1,4}$', default: '1' },
    },
    mainSteps: step(900),
  },
  'capi-prometheus-configure': {
    parameters: {
      NodeTargets: { type: 'String', allowedPattern: '^[0-9.:,]*$', default: '' },
      JmxTargets: { type: 'String', allowedPattern: '^[0-9.:,]*$', default: '' },
      DaemonTargets: { type: 'String', allowedPattern: '^[0-9.:,]*$', default: '' },
      WebapiTargets: { type: 'String', allowedPattern: '^[0-9.:,]*$', default: '' },
      RabbitmqTargets: { type: 'String', allowedPattern: '^[0-9.:,]*$', default: '' },
    },
    mainSteps: step(600),
  },
  'capi-health-check': {
    parameters: {
      Check: { type: 'String', allowedPattern: '^(cassandra|rabbitmq|webapi|ui|prometheus)$' },
      ExpectedNodes: { type: 'String', allowedPattern: '^[0-9]{1,4}$', default: '0' },
      ExpectedTargets: { type: 'String', allowedPattern: '^[0-9]{1,5}$', default: '0' },
    },
    mainSteps: step(300),
  },
  ...Object.fromEntries(
    ['bastion', 'rabbitmq', 'prometheus', 'daemon']
      .flatMap((role) => [`capi-${role}-install`, `capi-${role}-configure`])
      .filter((name) => name !== 'capi-prometheus-configure')
      .map((name) => [name, noParameters()]),
  ),
};

const wait = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

async function rejection(work: () => Promise<unknown>): Promise<any> {
  return work().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

const credentials = { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' };

interface LaunchOptions {
  ip?: string;
  subnet?: string;
  publicIp?: string;
  profileArn?: string | null;
  state?: string;
  deployment?: string;
}

/** A simulated account with an SSM-ready instance profile, and a way to put instances into its EC2 state. */
async function newWorld(
  options: { faults?: Partial<FaultRule>[]; documents?: Record<string, SimDocument> } = {},
) {
  const faults = (options.faults ?? []).map((rule) => ({ times: 1, ...rule }) as FaultRule);
  const account: SimulatedAccount = openAccount(null, {
    documents: options.documents ?? DOCUMENTS,
    faults,
    callLatency: false,
  });
  const ec2 = account.stateOf<StandInEc2>('EC2');
  ec2.routes = { [PRIVATE]: 'nat', [PUBLIC]: 'igw', [ISOLATED]: null };
  const ssm = new SSMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
  const iam = new IAMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
  attachSimulator(ssm, account);
  attachSimulator(iam, account);
  const profileArn = await instanceProfile(iam, 'ssm', true);
  let counter = 0;
  const launch = (name: string, launchOptions: LaunchOptions = {}) => {
    counter += 1;
    const id = `i-0${counter.toString(16).padStart(16, '0')}`;
    const profile = launchOptions.profileArn === undefined ? profileArn : launchOptions.profileArn;
    ec2.instances[id] = {
      InstanceId: id,
      State: { Name: launchOptions.state ?? 'running' },
      SubnetId: launchOptions.subnet ?? PRIVATE,
      VpcId: 'vpc-0000000000000000a',
      PrivateIpAddress: launchOptions.ip ?? `10.5.0.${10 + counter}`,
      ...(launchOptions.publicIp ? { PublicIpAddress: launchOptions.publicIp } : {}),
      ...(profile ? { IamInstanceProfile: { Arn: profile } } : {}),
      Tags: [
        { Key: 'Name', Value: name },
        { Key: 'DeploymentName', Value: launchOptions.deployment ?? 'demo' },
      ],
      launchedAt: Date.now(),
      runningAt: Date.now(),
    };
    return id;
  };
  return { account, ec2, ssm, iam, launch };
}

async function instanceProfile(iam: IAMClient, name: string, ssmPolicy: boolean): Promise<string> {
  await iam.send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
    }),
  );
  if (ssmPolicy)
    await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: SSM_MANAGED_INSTANCE_CORE }));
  const { InstanceProfile } = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  return InstanceProfile!.Arn!;
}

type World = Awaited<ReturnType<typeof newWorld>>;

async function describeAll(ssm: SSMClient, input: Record<string, unknown> = {}) {
  const pages: string[][] = [];
  let NextToken = input.NextToken as string | undefined;
  do {
    const page = await ssm.send(new DescribeInstanceInformationCommand({ ...input, NextToken }));
    pages.push((page.InstanceInformationList ?? []).map((info) => info.InstanceId!));
    NextToken = page.NextToken;
  } while (NextToken);
  return pages;
}

/** Launches instances and waits until SSM lists them Online. */
async function online(world: World, names: string[], options: LaunchOptions = {}): Promise<string[]> {
  const ids = names.map((name) => world.launch(name, options));
  await describeAll(world.ssm);
  await wait(LATENCY_SECONDS.ssmAgentOnline);
  return ids;
}

const invocation = (ssm: SSMClient, CommandId: string, InstanceId: string) =>
  ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId }));

async function send(world: World, document: string, ids: string[], parameters?: Record<string, string[]>) {
  const { Command } = await world.ssm.send(
    new SendCommandCommand({
      DocumentName: document,
      InstanceIds: ids,
      Parameters: parameters,
      TimeoutSeconds: 600,
    }),
  );
  return Command!.CommandId!;
}

/** Sends a document and waits until every invocation has finished. */
async function run(world: World, document: string, ids: string[], parameters?: Record<string, string[]>) {
  const commandId = await send(world, document, ids, parameters);
  await wait(
    LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered + DOCUMENT_SECONDS[document],
  );
  return Promise.all(ids.map((id) => invocation(world.ssm, commandId, id)));
}

const inVirtualTime = (work: () => Promise<void>) => runInVirtualTime(START, work);

describe('SSM agent registration', () => {
  it('lists an instance Online ssmAgentOnline seconds after it is first seen reachable', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const id = world.launch('demo-cass001', { ip: '10.5.0.11' });
      expect(await describeAll(world.ssm)).toEqual([[]]);
      await wait(LATENCY_SECONDS.ssmAgentOnline - 1);
      expect(await describeAll(world.ssm)).toEqual([[]]);
      await wait(1);
      const { InstanceInformationList } = await world.ssm.send(new DescribeInstanceInformationCommand({}));
      expect(InstanceInformationList).toEqual([
        expect.objectContaining({
          InstanceId: id,
          PingStatus: 'Online',
          PlatformType: 'Linux',
          PlatformName: 'Ubuntu',
          PlatformVersion: '24.04',
          ResourceType: 'EC2Instance',
          IPAddress: '10.5.0.11',
          ComputerName: 'ip-10-5-0-11.ec2.internal',
          AgentVersion: expect.stringMatching(/^3\.3\.\d+\.0$/),
          LastPingDateTime: new Date(START + LATENCY_SECONDS.ssmAgentOnline * 1000),
        }),
      ]);
    });
  });

  it('needs the SSM policy in the profile and a way out: NAT, or IGW with a public address', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const noPolicy = await instanceProfile(world.iam, 'plain', false);
      const ids = {
        natRoute: world.launch('a'),
        noProfile: world.launch('b', { profileArn: null }),
        noSsmPolicy: world.launch('c', { profileArn: noPolicy }),
        isolated: world.launch('d', { subnet: ISOLATED }),
        igwNoPublicIp: world.launch('e', { subnet: PUBLIC }),
        igwPublicIp: world.launch('f', { subnet: PUBLIC, publicIp: '198.51.100.7' }),
        pending: world.launch('g', { state: 'pending' }),
      };
      await describeAll(world.ssm);
      await wait(30);
      expect(await describeAll(world.ssm)).toEqual([[ids.natRoute, ids.igwPublicIp]]);

      // The NAT route goes away: the registered agent loses its connection; a terminated one disappears.
      world.ec2.routes[PRIVATE] = null;
      (world.ec2.instances[ids.igwPublicIp].State as { Name: string }).Name = 'terminated';
      const { InstanceInformationList } = await world.ssm.send(new DescribeInstanceInformationCommand({}));
      expect(InstanceInformationList?.map((info) => [info.InstanceId, info.PingStatus])).toEqual([
        [ids.natRoute, 'ConnectionLost'],
      ]);
    });
  });

  it('pages and filters, rejecting bad filters as SSM does', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await online(
        world,
        Array.from({ length: 12 }, (_, i) => `demo-n${i}`),
      );
      const pages = await describeAll(world.ssm, { MaxResults: 5 });
      expect(pages.map((page) => page.length)).toEqual([5, 5, 2]);
      expect(pages.flat()).toEqual(ids);
      const filtered = await describeAll(world.ssm, {
        Filters: [
          { Key: 'InstanceIds', Values: [ids[3], ids[7]] },
          { Key: 'PingStatus', Values: ['Online'] },
        ],
      });
      expect(filtered).toEqual([[ids[3], ids[7]]]);
      const byTag = await describeAll(world.ssm, { Filters: [{ Key: 'tag:Name', Values: ['demo-n0'] }] });
      expect(byTag).toEqual([[ids[0]]]);

      const errors = await Promise.all([
        rejection(() => describeAll(world.ssm, { Filters: [{ Key: 'Colour', Values: ['red'] }] })),
        rejection(() => describeAll(world.ssm, { Filters: [{ Key: 'PingStatus', Values: ['Asleep'] }] })),
        rejection(() => describeAll(world.ssm, { Filters: [{ Key: 'InstanceIds', Values: ['web-1'] }] })),
        rejection(() => describeAll(world.ssm, { MaxResults: 100 })),
        rejection(() => describeAll(world.ssm, { NextToken: 'bogus' })),
      ]);
      expect(errors.map((error) => error.name)).toEqual([
        'InvalidFilterKey',
        'InvalidInstanceInformationFilterValue',
        'InvalidInstanceInformationFilterValue',
        'ValidationException',
        'InvalidNextToken',
      ]);
    });
  });
});

describe('SSM SendCommand validation', () => {
  it('checks the document, the targets and the parameters', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const [ready] = await online(world, ['demo-cass001']);
      const notReady = world.launch('demo-cass002');
      const attempt = (DocumentName: string, InstanceIds: string[], Parameters?: Record<string, string[]>) =>
        rejection(() => world.ssm.send(new SendCommandCommand({ DocumentName, InstanceIds, Parameters })));
      const configure = 'capi-cassandra-configure';

      const unknownDocument = await attempt('capi-nope', [ready]);
      expect(unknownDocument.name).toBe('InvalidDocument');
      const tooMany = await attempt(
        configure,
        Array.from({ length: 51 }, (_, i) => `i-0${String(i).padStart(16, '0')}`),
      );
      expect(tooMany.name).toBe('ValidationException');
      expect(tooMany.message).toMatch(
        /at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50$/,
      );
      const offline = await attempt(configure, [ready, notReady], { NodeIp: ['10.5.0.11'] });
      expect(offline.name).toBe('InvalidInstanceId');
      expect(offline.message).toBe(`Instances [[${notReady}]] not in a valid state for account ${ACCOUNT}`);

      const badPattern = await attempt(configure, [ready], { NodeIp: ['10.5.0.11; rm -rf /'] });
      expect(badPattern.name).toBe('InvalidParameters');
      expect(badPattern.message).toContain('failed to satisfy constraint');
      const unknown = await attempt(configure, [ready], { NodeIp: ['10.5.0.11'], Colour: ['red'] });
      expect(unknown.name).toBe('InvalidParameters');
      expect(unknown.message).toBe('Invalid parameter name Colour.');
      const missing = await attempt(configure, [ready], { ClusterSize: ['2'] });
      expect(missing.name).toBe('InvalidParameters');
      expect(missing.message).toContain('NodeIp');
      const list = await attempt(configure, [ready], { NodeIp: ['10.5.0.11', '10.5.0.12'] });
      expect(list.name).toBe('InvalidParameters');
    });
  });
});

describe('SSM Run Command', () => {
  it('goes InvocationDoesNotExist, Pending, InProgress, Success on the latency model', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const [id] = await online(world, ['demo-cass001']);
      const sent = await world.ssm.send(
        new SendCommandCommand({
          DocumentName: 'capi-cassandra-install',
          InstanceIds: [id],
          TimeoutSeconds: 600,
          OutputS3BucketName: 'capi-logs',
          OutputS3KeyPrefix: 'demo/install',
        }),
      );
      const commandId = sent.Command!.CommandId!;
      expect(commandId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(sent.Command).toMatchObject({ Status: 'Pending', TargetCount: 1, CompletedCount: 0 });

      const early = await rejection(() => invocation(world.ssm, commandId, id));
      expect(early).toBeInstanceOf(InvocationDoesNotExist);
      const listed = await world.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }));
      expect(listed.CommandInvocations).toEqual([]);

      await wait(LATENCY_SECONDS.commandRegistered);
      expect(await invocation(world.ssm, commandId, id)).toMatchObject({
        Status: 'Pending',
        StatusDetails: 'Pending',
        ResponseCode: -1,
        ExecutionStartDateTime: '',
      });
      await wait(LATENCY_SECONDS.commandDelivered);
      const running = await invocation(world.ssm, commandId, id);
      expect(running).toMatchObject({
        Status: 'InProgress',
        StatusDetails: 'In Progress',
        StandardOutputContent: '',
      });
      await wait(DOCUMENT_SECONDS['capi-cassandra-install'] - 1);
      expect((await invocation(world.ssm, commandId, id)).Status).toBe('InProgress');
      await wait(1);
      const done = await invocation(world.ssm, commandId, id);
      expect(done).toMatchObject({
        Status: 'Success',
        StatusDetails: 'Success',
        ResponseCode: 0,
        PluginName: 'run',
        ExecutionElapsedTime: `PT${DOCUMENT_SECONDS['capi-cassandra-install']}.000S`,
      });
      expect(done.StandardOutputContent).toContain('capi-cassandra-install');
      expect(done.StandardOutputUrl).toBe(
        `https://s3.us-east-1.amazonaws.com/capi-logs/demo/install/${commandId}/${id}/awsrunShellScript/run/stdout`,
      );
      const { Commands } = await world.ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      expect(Commands?.[0]).toMatchObject({ Status: 'Success', CompletedCount: 1, ErrorCount: 0 });
      const state = world.account.stateOf<SsmState>('SSM');
      expect(state.managedInstances[id].provisioned['capi-cassandra-install']).toBe('Success');
    });
  });

  it('fails only the faulted target, with its exit code and stderr', async () => {
    const stderr = 'E: Unable to locate package cassandra\n';
    await inVirtualTime(async () => {
      const world = await newWorld({
        faults: [
          {
            service: 'SSM',
            operation: 'SendCommand',
            target: 'cass002',
            document: 'capi-cassandra-install',
            exitCode: 100,
            stderr,
          },
        ],
      });
      const ids = await online(world, ['demo-cass001', 'demo-cass002', 'demo-cass003']);
      const results = await run(world, 'capi-cassandra-install', ids);
      expect(results.map((r) => [r.Status, r.ResponseCode])).toEqual([
        ['Success', 0],
        ['Failed', 100],
        ['Success', 0],
      ]);
      expect(results[1].StandardErrorContent).toBe(stderr);
      expect(results[1].StatusDetails).toBe('Failed');

      const commandId = results[0].CommandId!;
      const { CommandInvocations } = await world.ssm.send(
        new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }),
      );
      const failed = CommandInvocations?.find((i) => i.InstanceId === ids[1]);
      expect(failed?.CommandPlugins?.[0]).toMatchObject({ Status: 'Failed', ResponseCode: 100 });
      expect(failed?.CommandPlugins?.[0].Output).toContain(`----------ERROR-------\n${stderr}`);
      const { Commands } = await world.ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      expect(Commands?.[0]).toMatchObject({ Status: 'Failed', CompletedCount: 3, ErrorCount: 1 });
      const firstPage = await world.ssm.send(
        new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 2 }),
      );
      const secondPage = await world.ssm.send(
        new ListCommandInvocationsCommand({
          CommandId: commandId,
          MaxResults: 2,
          NextToken: firstPage.NextToken,
        }),
      );
      expect(
        [...firstPage.CommandInvocations!, ...secondPage.CommandInvocations!].map((i) => i.InstanceId),
      ).toEqual(ids);
      expect(secondPage.NextToken).toBeUndefined();
      expect(world.account.stateOf<SsmState>('SSM').managedInstances[ids[1]].provisioned).toEqual({
        'capi-cassandra-install': 'Failed',
      });
    });
  });

  it('truncates standard error at 8,000 characters', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({
        faults: [{ service: 'SSM', operation: 'SendCommand', status: 'Failed', stderr: 'x'.repeat(10_000) }],
      });
      const ids = await online(world, ['demo-daemon001']);
      const [result] = await run(world, 'capi-daemon-install', ids);
      expect(result.StandardErrorContent).toHaveLength(8_000);
      expect(result.ResponseCode).toBe(1);
    });
  });

  it('times out after the document step timeout, and delaySeconds lengthens a run', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({
        faults: [
          { service: 'SSM', operation: 'SendCommand', target: 'cass001', status: 'TimedOut' },
          { service: 'SSM', operation: 'SendCommand', target: 'cass002', delaySeconds: 100 },
        ],
      });
      const ids = await online(world, ['demo-cass001', 'demo-cass002']);
      const commandId = await send(world, 'capi-cassandra-configure', ids, { NodeIp: ['10.5.0.11'] });
      const started = LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered;
      const configure = DOCUMENT_SECONDS['capi-cassandra-configure'];
      await wait(started + configure + 99);
      expect((await invocation(world.ssm, commandId, ids[1])).Status).toBe('InProgress');
      await wait(1);
      expect((await invocation(world.ssm, commandId, ids[1])).Status).toBe('Success');
      await wait(900 - configure - 101);
      expect((await invocation(world.ssm, commandId, ids[0])).Status).toBe('InProgress');
      await wait(1);
      expect(await invocation(world.ssm, commandId, ids[0])).toMatchObject({
        Status: 'TimedOut',
        StatusDetails: 'Execution Timed Out',
        ResponseCode: -1,
      });
    });
  });

  it('cancels what has not finished', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await online(world, ['demo-prometheus']);
      const commandId = await send(world, 'capi-prometheus-install', ids);
      await wait(10);
      await world.ssm.send(new CancelCommandCommand({ CommandId: commandId }));
      expect(await invocation(world.ssm, commandId, ids[0])).toMatchObject({
        Status: 'Cancelled',
        StatusDetails: 'Cancelled',
      });
      const { Commands } = await world.ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      expect(Commands?.[0].Status).toBe('Cancelled');
      await wait(DOCUMENT_SECONDS['capi-prometheus-install']);
      expect((await invocation(world.ssm, commandId, ids[0])).Status).toBe('Cancelled');
    });
  });

  it('runs one node at a time with MaxConcurrency 1', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await online(world, ['demo-daemon001', 'demo-daemon002']);
      const { Command } = await world.ssm.send(
        new SendCommandCommand({
          DocumentName: 'capi-daemon-configure',
          InstanceIds: ids,
          MaxConcurrency: '1',
        }),
      );
      const seconds = LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered;
      await wait(seconds + DOCUMENT_SECONDS['capi-daemon-configure']);
      const statuses = async () =>
        Promise.all(ids.map(async (id) => (await invocation(world.ssm, Command!.CommandId!, id)).Status));
      expect(await statuses()).toEqual(['Success', 'InProgress']);
      await wait(DOCUMENT_SECONDS['capi-daemon-configure']);
      expect(await statuses()).toEqual(['Success', 'Success']);
    });
  });
});

describe('capi-health-check output', () => {
  const spec = DeploymentSpecSchema.parse({ ...sample, name: 'demo', cassandraNodes: 2, daemons: 1 });
  const plan = planDeployment(spec);

  /** The plan's fleet, Online. */
  async function fleet(world: World): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    for (const node of plan.nodes) {
      ids[node.nickname] = world.launch(node.name, {
        ip: node.privateIp,
        ...(node.subnet === 'public' ? { subnet: PUBLIC, publicIp: '198.51.100.10' } : {}),
      });
    }
    await describeAll(world.ssm);
    await wait(LATENCY_SECONDS.ssmAgentOnline);
    return ids;
  }

  const check = async (world: World, id: string, name: string, extra: Record<string, string[]> = {}) => {
    const [result] = await run(world, 'capi-health-check', [id], { Check: [name], ...extra });
    return result;
  };
  const parse = (name: string, result: GetCommandInvocationCommandOutput) =>
    PARSERS[name](plan, result.StandardOutputContent ?? '');
  const hosts = plan.cassandra.hosts;

  it('cassandra: raw nodetool status of the ring, which the nodes not configured yet are not part of', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await fleet(world);
      const before = await check(world, ids.cass001, 'cassandra');
      expect(before).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
      expect(before.StandardOutputContent).toContain("nodetool: Failed to connect to '127.0.0.1:7199'");

      await run(world, 'capi-cassandra-configure', [ids.cass001], { NodeIp: [hosts[0]] });
      const half = await check(world, ids.cass001, 'cassandra', { ExpectedNodes: ['2'] });
      const lines = half.StandardOutputContent!.trimEnd().split('\n');
      expect(lines.slice(0, 5)).toEqual([
        'Datacenter: datacenter1',
        '=======================',
        'Status=Up/Down',
        '|/ State=Normal/Leaving/Joining/Moving',
        '--  Address  Load  Tokens  Owns (effective)  Host ID  Rack',
      ]);
      expect(lines[5]).toMatch(
        new RegExp(`^UN  ${hosts[0]}  1\\.21 MiB  1  100\\.0%  [0-9a-f-]{36}  rack1$`),
      );
      expect(lines).toHaveLength(6);
      expect(half).toMatchObject({
        Status: 'Failed',
        ResponseCode: 1,
        StandardErrorContent: '1 of 2 Cassandra nodes are UN\n',
      });
      expect(parse('cassandra', half)).toMatchObject({ healthy: false, unhealthy: ['cass002'] });

      await run(world, 'capi-cassandra-configure', [ids.cass002], { NodeIp: [hosts[1]] });
      const all = await check(world, ids.cass001, 'cassandra', { ExpectedNodes: ['2'] });
      expect(all).toMatchObject({ Status: 'Success', ResponseCode: 0 });
      expect(parse('cassandra', all)).toMatchObject({ healthy: true, summary: '2/2 Cassandra nodes UN' });
    });
  });

  it('rabbitmq: listener after install, queue after configure', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await fleet(world);
      const outputs: string[] = [];
      for (const document of [undefined, 'capi-rabbitmq-install', 'capi-rabbitmq-configure']) {
        if (document) await run(world, document, [ids.rabbitmq]);
        const result = await check(world, ids.rabbitmq, 'rabbitmq');
        outputs.push(`${result.ResponseCode}: ${result.StandardOutputContent}`);
      }
      expect(outputs).toEqual([
        '1: amqp10-listener missing\nqueue capidaemon missing\n',
        '1: amqp10-listener ok\nqueue capidaemon missing\n',
        '0: amqp10-listener ok\nqueue capidaemon present\n',
      ]);
      const last = await check(world, ids.rabbitmq, 'rabbitmq');
      expect(parse('rabbitmq', last).healthy).toBe(true);
    });
  });

  it('webapi and ui: 200 once the bastion is configured, 000 before', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await fleet(world);
      await run(world, 'capi-bastion-install', [ids.bastion]);
      const webapi = await check(world, ids.bastion, 'webapi');
      expect(webapi).toMatchObject({
        Status: 'Failed',
        ResponseCode: 1,
        StandardOutputContent: 'webapi http 000\n',
      });
      expect(parse('webapi', webapi).healthy).toBe(false);
      await run(world, 'capi-bastion-configure', [ids.bastion]);
      for (const name of ['webapi', 'ui']) {
        const result = await check(world, ids.bastion, name);
        expect(result).toMatchObject({ Status: 'Success', StandardOutputContent: `${name} http 200\n` });
        expect(parse(name, result).healthy).toBe(true);
      }
    });
  });

  it('prometheus: one sorted line per configured target, down until its node is provisioned', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await fleet(world);
      for (const node of plan.nodes.filter((n) => n.role !== 'daemon')) {
        await run(world, `capi-${node.role}-install`, [ids[node.nickname]]);
      }
      for (const [i, nickname] of ['cass001', 'cass002'].entries()) {
        await run(world, 'capi-cassandra-configure', [ids[nickname]], { NodeIp: [hosts[i]] });
      }
      const targets = (job: string) =>
        plan.prometheusTargets
          .filter((t) => t.job === job)
          .map((t) => t.target)
          .join(',');
      await run(world, 'capi-prometheus-configure', [ids.prometheus], {
        NodeTargets: [targets('node')],
        JmxTargets: [targets('cassandra-jmx')],
        DaemonTargets: [targets('capidaemon')],
        WebapiTargets: [targets('capiwebapi')],
        RabbitmqTargets: [targets('rabbitmq')],
      });
      // The daemon exporters (9201) are down until their configure starts them; so are the webapi's and RabbitMQ's.
      for (const role of ['bastion', 'rabbitmq'] as const) {
        const node = plan.nodes.find((n) => n.role === role)!;
        await run(world, `capi-${role}-configure`, [ids[node.nickname]]);
      }
      for (const node of plan.nodes.filter((n) => n.role === 'daemon' && n.nickname !== 'daemon001')) {
        await run(world, 'capi-daemon-install', [ids[node.nickname]]);
        await run(world, 'capi-daemon-configure', [ids[node.nickname]]);
      }
      const expectedTargets = { ExpectedTargets: [String(plan.prometheusTargets.length)] };
      const missingDaemon = await check(world, ids.prometheus, 'prometheus', expectedTargets);
      const lines = missingDaemon.StandardOutputContent!.trimEnd().split('\n');
      expect(lines).toEqual([...lines].sort());
      expect(lines).toHaveLength(plan.prometheusTargets.length);
      const daemon = plan.nodes.find((n) => n.role === 'daemon')!;
      expect(lines).toContain(`target ${daemon.privateIp}:9100 down`);
      expect(lines).toContain(`target ${hosts[0]}:7070 up`);
      expect(missingDaemon.ResponseCode).toBe(1);
      expect(lines).toContain(`target ${daemon.privateIp}:9201 down`);
      expect(parse('prometheus', missingDaemon).unhealthy).toEqual([
        `daemon001 ${daemon.privateIp}:9100`,
        `daemon001 ${daemon.privateIp}:9201`,
      ]);

      await run(world, 'capi-daemon-install', [ids.daemon001]);
      await run(world, 'capi-daemon-configure', [ids.daemon001]);
      const healthy = await check(world, ids.prometheus, 'prometheus', expectedTargets);
      expect(healthy).toMatchObject({ Status: 'Success', ResponseCode: 0 });
      expect(parse('prometheus', healthy).healthy).toBe(true);
    });
  });

  it('follows a fault rule on the health check itself', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({
        faults: [
          {
            service: 'SSM',
            operation: 'SendCommand',
            document: 'capi-health-check',
            exitCode: 2,
            stderr: 'curl: (7) Failed to connect\n',
          },
        ],
      });
      const ids = await fleet(world);
      await run(world, 'capi-bastion-configure', [ids.bastion]);
      const result = await check(world, ids.bastion, 'webapi');
      expect(result).toMatchObject({
        Status: 'Failed',
        ResponseCode: 2,
        StandardErrorContent: 'curl: (7) Failed to connect\n',
      });
      expect((await check(world, ids.bastion, 'webapi')).Status).toBe('Success');
    });
  });
});

describe('SSM Run Command to an agent that lost its connection', () => {
  const INSTALL = 'capi-daemon-install';
  const delivered = LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered;

  /** Two Online nodes, then the NAT route goes: their agents are ConnectionLost (registered, unreachable). */
  async function lostAgents(world: World): Promise<string[]> {
    const ids = await online(world, ['demo-daemon001', 'demo-daemon002']);
    await describeAll(world.ssm);
    world.ec2.routes[PRIVATE] = null;
    const { InstanceInformationList } = await world.ssm.send(new DescribeInstanceInformationCommand({}));
    expect(InstanceInformationList?.map((info) => info.PingStatus)).toEqual([
      'ConnectionLost',
      'ConnectionLost',
    ]);
    return ids;
  }

  const statusOf = async (world: World, commandId: string, id: string) => {
    const { Status, StatusDetails, ResponseCode } = await invocation(world.ssm, commandId, id);
    return { Status, StatusDetails, ResponseCode };
  };

  it('accepts the command, holds it Pending then Delayed, and runs it once the agent is back', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const [id] = await lostAgents(world);
      const commandId = await send(world, INSTALL, [id]);
      await wait(LATENCY_SECONDS.commandRegistered);
      expect(await statusOf(world, commandId, id)).toEqual({
        Status: 'Pending',
        StatusDetails: 'Pending',
        ResponseCode: -1,
      });
      await wait(LATENCY_SECONDS.commandDelivered + 60);
      expect(await statusOf(world, commandId, id)).toEqual({
        Status: 'Delayed',
        StatusDetails: 'Delayed',
        ResponseCode: -1,
      });
      const listed = await world.ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      expect(listed.Commands![0]).toMatchObject({ Status: 'InProgress', CompletedCount: 0 });

      // The route is back: the agent reconnects, picks the command up and runs it.
      world.ec2.routes[PRIVATE] = 'nat';
      await describeAll(world.ssm);
      await wait(LATENCY_SECONDS.ssmAgentOnline);
      expect((await statusOf(world, commandId, id)).Status).toBe('InProgress');
      await wait(DOCUMENT_SECONDS[INSTALL]);
      expect(await statusOf(world, commandId, id)).toEqual({
        Status: 'Success',
        StatusDetails: 'Success',
        ResponseCode: 0,
      });
    });
  });

  it('times the delivery out after TimeoutSeconds when the agent stays away', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const [id] = await lostAgents(world);
      const commandId = await send(world, INSTALL, [id]);
      await wait(600 - 1);
      expect((await statusOf(world, commandId, id)).Status).toBe('Delayed');
      await wait(1);
      expect(await statusOf(world, commandId, id)).toEqual({
        Status: 'TimedOut',
        StatusDetails: 'Delivery Timed Out',
        ResponseCode: -1,
      });
      const { CommandInvocations } = await world.ssm.send(
        new ListCommandInvocationsCommand({ CommandId: commandId }),
      );
      expect(CommandInvocations?.map((row) => [row.Status, row.StatusDetails])).toEqual([
        ['TimedOut', 'Delivery Timed Out'],
      ]);
      const listed = await world.ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      expect(listed.Commands![0]).toMatchObject({
        Status: 'TimedOut',
        StatusDetails: 'Delivery Timed Out',
        DeliveryTimedOutCount: 1,
        ErrorCount: 0,
      });
    });
  });

  it('makes the invocation Undeliverable when the instance is terminated while it waits', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const [gone, waiting] = await lostAgents(world);
      const commandId = await send(world, INSTALL, [gone, waiting]);
      await wait(delivered + 30);
      (world.ec2.instances[gone].State as { Name: string }).Name = 'terminated';
      expect(await statusOf(world, commandId, gone)).toEqual({
        Status: 'Failed',
        StatusDetails: 'Undeliverable',
        ResponseCode: -1,
      });
      expect((await statusOf(world, commandId, waiting)).Status).toBe('Delayed');
      // A terminated instance is no managed instance: a new command to it is refused at once.
      const refused = await rejection(() => send(world, INSTALL, [gone]));
      expect(refused.name).toBe('InvalidInstanceId');
    });
  });
});

describe('SSM documents live in the stack region only', () => {
  it('describes a provisioning document in the stack region and answers InvalidDocument in another region', async () => {
    // Prepare
    const account = openAccount(null, { documents: DOCUMENTS, callLatency: false });
    const here = new SSMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
    const there = new SSMClient({ region: 'eu-west-1', credentials, maxAttempts: 1 });
    attachSimulator(here, account);
    attachSimulator(there, account);
    const name = Object.keys(DOCUMENTS)[0];
    // Act
    const found = await here.send(new DescribeDocumentCommand({ Name: name }));
    const missing = await there
      .send(new DescribeDocumentCommand({ Name: name }))
      .catch((error: Error) => error);
    const unsent = await there
      .send(new SendCommandCommand({ DocumentName: name, InstanceIds: ['i-00000000000000001'] }))
      .catch((error: Error) => error);
    // Assess
    expect(account.region).toBe('us-east-1');
    expect(found.Document?.Name).toBe(name);
    expect((missing as Error).name).toBe('InvalidDocument');
    expect((unsent as Error).name).toBe('InvalidDocument');
  });

  it('takes the stack region from openAccount', async () => {
    // Prepare
    const account = openAccount(null, { documents: DOCUMENTS, stackRegion: 'eu-west-1', callLatency: false });
    const ssm = new SSMClient({ region: 'eu-west-1', credentials, maxAttempts: 1 });
    const east = new SSMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
    attachSimulator(ssm, account);
    attachSimulator(east, account);
    const name = Object.keys(DOCUMENTS)[0];
    // Act
    const found = await ssm.send(new DescribeDocumentCommand({ Name: name }));
    const missing = await east
      .send(new DescribeDocumentCommand({ Name: name }))
      .catch((error: Error) => error);
    // Assess
    expect(account.region).toBe('eu-west-1');
    expect(found.Document?.Name).toBe(name);
    expect((missing as Error).name).toBe('InvalidDocument');
  });
});
