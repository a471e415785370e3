import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { describe, expect, it, vi } from 'vitest';
import { cassandraToken } from '../../src/core/spec/plan.js';
import { loadDocuments } from '../../src/provisioning/documents.js';
import { OPERATOR_ACCESS_KEY, type SimulatedAccount } from '../../src/sim/account.js';
import { runInVirtualTime } from '../../src/sim/clock.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { LATENCY_SECONDS } from '../../src/sim/latency.js';
import { attachSimulator } from '../../src/sim/middleware.js';
import { SSM_MANAGED_INSTANCE_CORE } from '../../src/sim/services/iam.js';
import { openAccount } from '../../src/sim/services/index.js';
import { factsAt } from '../../src/sim/services/ssm/ring.js';
import type { SsmState } from '../../src/sim/services/ssm.js';

// The Cassandra ring of the simulator (src/sim/services/ssm/ring.ts), driven through the real SSM client with the
// real provisioning documents: configure (fresh or Join=true), decommission, cleanup, and `nodetool status`.

// A stand-in for the EC2 simulator (its state contract only), so a test can stop an instance by setting its state.
vi.mock('../../src/sim/services/ec2.js', () => ({
  ec2Simulator: { name: 'EC2', initialState: () => ({ instances: {}, routes: {} }), operations: {} },
  refreshEc2: () => undefined,
  subnetHasInternetRoute: (state: StandInEc2, subnetId: string) => state.routes[subnetId] ?? null,
  UBUNTU_AMIS: {},
}));

interface StandInEc2 {
  instances: Record<string, { State: { Name: string } } & Record<string, unknown>>;
  routes: Record<string, 'nat' | 'igw' | null>;
}

const START = Date.parse('2026-03-02T08:00:00Z');
const PRIVATE = 'subnet-0000000000000aaaa';
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const credentials = { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated' };
const DOCUMENTS = loadDocuments();

/** The plan's Cassandra addresses: cass001 at .11, and so on. */
const IPS = ['10.5.0.11', '10.5.0.12', '10.5.0.13', '10.5.0.14'];

const wait = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const inVirtualTime = (work: () => Promise<void>) => runInVirtualTime(START, work);

interface WorldOptions {
  cassandraLoadGiB?: number;
  faults?: Partial<FaultRule>[];
  stateDir?: string;
}

/** A simulated account with an SSM-ready instance profile, and Cassandra nodes Online in its EC2 state. */
async function newWorld(options: WorldOptions = {}) {
  const account: SimulatedAccount = openAccount(options.stateDir ?? null, {
    documents: DOCUMENTS,
    faults: (options.faults ?? []).map((rule) => ({ times: 1, ...rule }) as FaultRule),
    callLatency: false,
    writable: options.stateDir !== undefined,
    cassandraLoadGiB: options.cassandraLoadGiB,
  });
  const ec2 = account.stateOf<StandInEc2>('EC2');
  ec2.routes = { [PRIVATE]: 'nat' };
  const ssm = new SSMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
  const iam = new IAMClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
  attachSimulator(ssm, account);
  attachSimulator(iam, account);
  const profileArn = await instanceProfile(iam);
  let counter = 0;
  /** Launches `cassNNN` at `ip` and waits until its agent is Online. */
  const launch = async (nickname: string, ip: string) => {
    counter += 1;
    const id = `i-0${counter.toString(16).padStart(16, '0')}`;
    ec2.instances[id] = {
      InstanceId: id,
      State: { Name: 'running' },
      SubnetId: PRIVATE,
      VpcId: 'vpc-0000000000000000a',
      PrivateIpAddress: ip,
      IamInstanceProfile: { Arn: profileArn },
      Tags: [
        { Key: 'Name', Value: `demo-${nickname}` },
        { Key: 'DeploymentName', Value: 'demo' },
      ],
    };
    await ssm.send(new DescribeInstanceInformationCommand({}));
    await wait(LATENCY_SECONDS.ssmAgentOnline);
    return id;
  };
  return { account, ec2, ssm, launch };
}

type World = Awaited<ReturnType<typeof newWorld>>;

async function instanceProfile(iam: IAMClient): Promise<string> {
  const name = 'cassandra';
  await iam.send(
    new CreateRoleCommand({
      RoleName: name,
      AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
    }),
  );
  await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: SSM_MANAGED_INSTANCE_CORE }));
  const { InstanceProfile } = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
  return InstanceProfile!.Arn!;
}

const COMMON = { ClusterName: ['demo'], DeploymentName: ['demo'], Region: ['us-east-1'] };

/** capi-cassandra-configure's parameters for a ring of `size` nodes (IPS in plan order). */
const configure = (size: number, join = false) => ({
  ...COMMON,
  Seeds: [IPS.slice(0, size).join(',')],
  ClusterSize: [String(size)],
  ...(join ? { Join: ['true'] } : {}),
});

async function send(
  world: World,
  document: string,
  ids: string[],
  parameters: Record<string, string[]> = {},
) {
  const { Command } = await world.ssm.send(
    new SendCommandCommand({ DocumentName: document, InstanceIds: ids, Parameters: parameters }),
  );
  return Command!.CommandId!;
}

const invocation = (world: World, CommandId: string, InstanceId: string) =>
  world.ssm.send(new GetCommandInvocationCommand({ CommandId, InstanceId }));

const UNFINISHED = new Set(['Pending', 'InProgress', 'Delayed']);

/** Waits until every invocation of the command has finished, and returns them. */
async function finished(world: World, commandId: string, ids: string[]) {
  for (;;) {
    const results = await Promise.all(
      ids.map((id) => invocation(world, commandId, id).catch(() => undefined)),
    );
    if (results.every((result) => result && !UNFINISHED.has(result.Status!))) {
      return results as GetCommandInvocationCommandOutput[];
    }
    await wait(5);
  }
}

/** Sends a document and waits for its end. */
async function run(world: World, document: string, ids: string[], parameters: Record<string, string[]> = {}) {
  return finished(world, await send(world, document, ids, parameters), ids);
}

/** `nodetool status` on a node (capi-health-check, Check=cassandra). */
async function nodetool(world: World, id: string, expectedNodes = 0) {
  const [result] = await run(world, 'capi-health-check', [id], {
    Check: ['cassandra'],
    ExpectedNodes: [String(expectedNodes)],
  });
  const lines = (result.StandardOutputContent ?? '').trimEnd().split('\n').slice(5);
  return { result, lines, codes: lines.map((line) => line.split('  ').slice(0, 2).join(' ')) };
}

/** Columns of one nodetool line: code, address, load, tokens, owns, host id, rack. */
const columns = (line: string) => line.split('  ');

/** A node's ring entry as of now, from the account's SSM state. */
function entry(world: World, ip: string) {
  const node = world.account.stateOf<SsmState>('SSM').cassandraRing?.[`demo/${ip}`];
  return node && factsAt(node, Date.now());
}

/** Runs the seconds of a finished invocation took. */
const elapsed = (result: GetCommandInvocationCommandOutput) =>
  Number(/^PT([\d.]+)S$/.exec(result.ExecutionElapsedTime ?? '')?.[1]);

/** A fresh ring of `size` nodes (all configured at once), and the ids of every launched node. */
async function freshRing(world: World, size: number, launched = size) {
  const ids: string[] = [];
  for (let i = 0; i < launched; i++) ids.push(await world.launch(`cass00${i + 1}`, IPS[i]));
  const results = await run(world, 'capi-cassandra-configure', ids.slice(0, size), configure(size));
  expect(results.map((result) => result.Status)).toEqual(Array(size).fill('Success'));
  return ids;
}

describe('Cassandra ring: fresh cluster', () => {
  it('has every node UN at its token, each owning an equal share, after a configure of all at once', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await freshRing(world, 4);
      const { result, lines, codes } = await nodetool(world, ids[0], 4);
      expect(result).toMatchObject({ Status: 'Success', ResponseCode: 0, StandardErrorContent: '' });
      expect(result.StandardOutputContent).toMatch(
        /^Datacenter: datacenter1\n=+\nStatus=Up\/Down\n\|\/ State=Normal\/Leaving\/Joining\/Moving\n-- {2}Address {2}Load/,
      );
      expect(codes).toEqual(IPS.map((ip) => `UN ${ip}`));
      for (const line of lines) {
        expect(line).toMatch(/^UN {2}10\.5\.0\.1\d {2}1\.21 MiB {2}1 {2}25\.0% {2}[0-9a-f-]{36} {2}rack1$/);
      }
      expect(IPS.map((ip) => entry(world, ip)?.token)).toEqual(IPS.map((_, i) => cassandraToken(i, 4)));
    });
  });

  it('keeps a UN node as it is when configure runs again, and takes the data volume from cassandraLoadGiB', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 2 });
      const ids = await freshRing(world, 2);
      const before = entry(world, IPS[0]);
      await run(world, 'capi-cassandra-configure', ids, configure(2));
      expect(entry(world, IPS[0])).toEqual(before);
      expect(before).toMatchObject({ state: 'normal', loadBytes: 2 * GiB, ownedBytes: 2 * GiB });
      const { lines } = await nodetool(world, ids[1]);
      expect(lines.map((line) => columns(line)[2])).toEqual(['2 GiB', '2 GiB']);
    });
  });

  it('refuses nodetool on a node Cassandra never ran on', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await freshRing(world, 1, 2);
      const { result } = await nodetool(world, ids[1]);
      expect(result).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
      expect(result.StandardOutputContent).toContain("nodetool: Failed to connect to '127.0.0.1:7199'");
    });
  });
});

describe('Cassandra ring: joining nodes (Join=true)', () => {
  it('joins one node at a time: UJ while it streams, then UN at its bisecting token', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await freshRing(world, 2, 4);
      for (const joining of [2, 3]) {
        const commandId = await send(world, 'capi-cassandra-configure', [ids[joining]], configure(4, true));
        await wait(LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered + 1);
        const during = await nodetool(world, ids[0]);
        expect(during.codes).toContain(`UJ ${IPS[joining]}`);
        expect(columns(during.lines.find((line) => line.startsWith('UJ'))!)[4]).toBe('?');
        expect(during.result).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
        expect(during.result.StandardErrorContent).toContain(`${IPS[joining]} is UJ`);
        const [done] = await finished(world, commandId, [ids[joining]]);
        expect(done).toMatchObject({ Status: 'Success', ResponseCode: 0 });
        expect(entry(world, IPS[joining])?.token).toBe(cassandraToken(joining, 4));
      }
      const after = await nodetool(world, ids[0], 4);
      expect(after.result).toMatchObject({ Status: 'Success', ResponseCode: 0 });
      expect(after.codes).toEqual(IPS.map((ip) => `UN ${ip}`));
      expect(after.lines.map((line) => columns(line)[4])).toEqual(['25.0%', '25.0%', '25.0%', '25.0%']);
    });
  });

  it('refuses a second bootstrap while one is under way, with Cassandra’s consistent range movement error', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 1 });
      const ids = await freshRing(world, 2, 4);
      const both = await run(world, 'capi-cassandra-configure', [ids[2], ids[3]], configure(4, true));
      expect(both.map((result) => result.Status)).toEqual(['Success', 'Failed']);
      expect(both[1]).toMatchObject({
        ResponseCode: 1,
        StandardErrorContent:
          'java.lang.UnsupportedOperationException: Other bootstrapping/leaving/moving nodes detected, cannot bootstrap while cassandra.consistent.rangemovement is true\n',
      });
      expect(elapsed(both[1])).toBe(60);
      const { codes } = await nodetool(world, ids[0]);
      expect(codes).toEqual(IPS.slice(0, 3).map((ip) => `UN ${ip}`));
    });
  });

  it('joins one after the other when the same command runs with MaxConcurrency 1', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 1 });
      const ids = await freshRing(world, 2, 4);
      const { Command } = await world.ssm.send(
        new SendCommandCommand({
          DocumentName: 'capi-cassandra-configure',
          InstanceIds: [ids[2], ids[3]],
          Parameters: configure(4, true),
          MaxConcurrency: '1',
        }),
      );
      const both = await finished(world, Command!.CommandId!, [ids[2], ids[3]]);
      expect(both.map((result) => result.Status)).toEqual(['Success', 'Success']);
      expect((await nodetool(world, ids[0], 4)).result.ResponseCode).toBe(0);
    });
  });

  it('streams longer the more data the nodes hold: RING_DELAY plus the split range at 24 MiB/s', async () => {
    const joinSeconds = async (cassandraLoadGiB?: number) => {
      let seconds = 0;
      await inVirtualTime(async () => {
        const world = await newWorld({ cassandraLoadGiB });
        const ids = await freshRing(world, 2, 3);
        const [joined] = await run(world, 'capi-cassandra-configure', [ids[2]], configure(4, true));
        expect(joined.Status).toBe('Success');
        seconds = elapsed(joined);
      });
      return seconds;
    };
    // An empty ring: the usual configure time. 48 GiB per node: the new node takes half of its range's node (24 GiB).
    expect(await joinSeconds()).toBe(90);
    expect(await joinSeconds(48)).toBeCloseTo(30 + (24 * GiB) / (24 * MiB) + 5, 0);
  });

  it('leaves the data it handed over on the old owner until cleanup, which shrinks its load', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 8 });
      const ids = await freshRing(world, 2, 3);
      await run(world, 'capi-cassandra-configure', [ids[2]], configure(4, true));
      // Token -2^62 (node 3 of 4) splits the range (-2^63, 0] of cass002.
      expect(entry(world, IPS[1])).toMatchObject({ loadBytes: 8 * GiB, ownedBytes: 4 * GiB });
      expect(entry(world, IPS[2])).toMatchObject({ loadBytes: 4 * GiB, ownedBytes: 4 * GiB });
      const before = await nodetool(world, ids[0]);
      expect(before.lines.map((line) => columns(line).slice(1, 3).join(' '))).toEqual([
        '10.5.0.11 8 GiB',
        '10.5.0.12 8 GiB',
        '10.5.0.13 4 GiB',
      ]);
      const [cleaned] = await run(world, 'capi-cassandra-cleanup', [ids[1]], { ClusterSize: ['4'] });
      expect(cleaned.Status).toBe('Success');
      expect(elapsed(cleaned)).toBeCloseTo(10 + (4 * GiB) / (100 * MiB), 0);
      expect(entry(world, IPS[1])).toMatchObject({ loadBytes: 4 * GiB, ownedBytes: 4 * GiB });
      const after = await nodetool(world, ids[0]);
      expect(columns(after.lines[1])[2]).toBe('4 GiB');
    });
  });

  it('lets a fault rule decide the outcome: the node does not join', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({
        faults: [
          {
            service: 'SSM',
            operation: 'SendCommand',
            target: 'demo-cass003',
            document: 'capi-cassandra-configure',
            exitCode: 1,
            stderr: 'ERROR: mount failed\n',
          },
        ],
      });
      const ids = await freshRing(world, 2, 3);
      const [joined] = await run(world, 'capi-cassandra-configure', [ids[2]], configure(4, true));
      expect(joined).toMatchObject({ Status: 'Failed', StandardErrorContent: 'ERROR: mount failed\n' });
      expect((await nodetool(world, ids[0])).codes).toEqual([`UN ${IPS[0]}`, `UN ${IPS[1]}`]);
    });
  });
});

describe('Cassandra ring: decommission', () => {
  it('is UL while it streams its data to the next node clockwise, then gone from nodetool', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 1 });
      const ids = await freshRing(world, 4);
      const commandId = await send(world, 'capi-cassandra-decommission', [ids[3]]);
      await wait(LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered + 1);
      const during = await nodetool(world, ids[0]);
      expect(during.codes).toEqual(
        [...IPS.slice(0, 3), IPS[3]].map((ip, i) => `${i === 3 ? 'UL' : 'UN'} ${ip}`),
      );
      const [done] = await finished(world, commandId, [ids[3]]);
      expect(done).toMatchObject({ Status: 'Success', ResponseCode: 0 });
      expect(elapsed(done)).toBeCloseTo(5 + GiB / (24 * MiB) + 1, 0);
      // cass004's token 2^62 is the last: its range (0, 2^62] goes to cass001, whose token -2^63 follows it.
      const after = await nodetool(world, ids[0], 3);
      expect(after.result).toMatchObject({ Status: 'Success', ResponseCode: 0 });
      expect(after.codes).toEqual(IPS.slice(0, 3).map((ip) => `UN ${ip}`));
      expect(after.lines.map((line) => columns(line).slice(2, 5).join(' '))).toEqual([
        '2 GiB 1 50.0%',
        '1 GiB 1 25.0%',
        '1 GiB 1 25.0%',
      ]);
      expect(entry(world, IPS[3])?.state).toBe('left');
      const [again] = await run(world, 'capi-cassandra-decommission', [ids[3]]);
      expect(again.Status).toBe('Success');
    });
  });

  it('refuses a node that is not UN, and a range movement while another node moves', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 1 });
      const ids = await freshRing(world, 2, 3);
      await send(world, 'capi-cassandra-configure', [ids[2]], configure(4, true));
      await wait(LATENCY_SECONDS.commandRegistered + LATENCY_SECONDS.commandDelivered + 1);
      const [joining, other] = await Promise.all([
        run(world, 'capi-cassandra-decommission', [ids[2]]),
        run(world, 'capi-cassandra-decommission', [ids[1]]),
      ]);
      expect(joining[0]).toMatchObject({
        Status: 'Failed',
        ResponseCode: 1,
        StandardErrorContent:
          'Unsupported operation: Node in JOINING state; wait for status to become normal or restart\n',
      });
      expect(other[0]).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
      expect(other[0].StandardErrorContent).toContain(
        'Other bootstrapping/leaving/moving nodes detected, cannot decommission while cassandra.consistent.rangemovement is true',
      );
    });
  });
});

describe('Cassandra ring: nodes down', () => {
  it('shows a stopped node DN, still in the ring, and fails the check: its range has no live replica', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await freshRing(world, 3);
      world.ec2.instances[ids[1]].State = { Name: 'stopped' };
      const { result, codes } = await nodetool(world, ids[0], 3);
      expect(codes).toEqual([`UN ${IPS[0]}`, `DN ${IPS[1]}`, `UN ${IPS[2]}`]);
      expect(result).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
      expect(result.StandardErrorContent).toContain('2 of 3 Cassandra nodes are UN\n');
      expect(result.StandardErrorContent).toContain(`${IPS[1]} is DN\n`);
      expect(result.StandardErrorContent).toMatch(
        /no live replica for range \(-?\d+, -?\d+\] of 10\.5\.0\.12/,
      );
    });
  });

  it('refuses a join whose range is held by a down node', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await freshRing(world, 2, 3);
      world.ec2.instances[ids[1]].State = { Name: 'stopped' };
      const [joined] = await run(world, 'capi-cassandra-configure', [ids[2]], configure(4, true));
      expect(joined).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
      expect(joined.StandardErrorContent).toContain('A node required to move the data consistently is down');
    });
  });

  it('goes DN at services-stop and comes back UN with fresh data at the next configure (stop, then start)', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld({ cassandraLoadGiB: 1 });
      const ids = await freshRing(world, 2);
      await run(world, 'capi-cassandra-cleanup', [ids[0]], { ClusterSize: ['2'] });
      await run(world, 'capi-services-stop', [ids[1]], { Role: ['cassandra'] });
      expect((await nodetool(world, ids[0])).codes).toEqual([`UN ${IPS[0]}`, `DN ${IPS[1]}`]);
      await run(world, 'capi-services-start', [ids[1]], { Role: ['cassandra'] });
      expect(entry(world, IPS[1])).toMatchObject({ state: 'down', loadBytes: 0 });
      await run(world, 'capi-cassandra-configure', ids, configure(2));
      const after = await nodetool(world, ids[0], 2);
      expect(after.result.ResponseCode).toBe(0);
      expect(entry(world, IPS[1])).toMatchObject({ state: 'normal', loadBytes: GiB, ownedBytes: GiB });
    });
  });

  it('gives the entry of a terminated node to a new instance configured at its address', async () => {
    await inVirtualTime(async () => {
      const world = await newWorld();
      const ids = await freshRing(world, 2);
      world.ec2.instances[ids[1]].State = { Name: 'terminated' };
      expect((await nodetool(world, ids[0])).codes).toEqual([`UN ${IPS[0]}`, `DN ${IPS[1]}`]);
      const replacement = await world.launch('cass002', IPS[1]);
      await run(world, 'capi-cassandra-configure', [replacement], configure(2));
      const { codes, result } = await nodetool(world, ids[0], 2);
      expect(codes).toEqual([`UN ${IPS[0]}`, `UN ${IPS[1]}`]);
      expect(result.ResponseCode).toBe(0);
      expect(entry(world, IPS[1])?.instanceId).toBe(replacement);
    });
  });
});

describe('Cassandra ring: durability', () => {
  it('survives a reopen of the account', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'capi-ring-'));
    try {
      await inVirtualTime(async () => {
        const world = await newWorld({ stateDir, cassandraLoadGiB: 1 });
        await freshRing(world, 2);
        world.account.close();
        const reopened = openAccount(stateDir, { documents: DOCUMENTS, callLatency: false });
        const ring = reopened.stateOf<SsmState>('SSM').cassandraRing ?? {};
        const states = Object.values(ring).map((node) => [node.ip, factsAt(node, Date.now()).state]);
        expect(states).toEqual([
          [IPS[0], 'normal'],
          [IPS[1], 'normal'],
        ]);
      });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
