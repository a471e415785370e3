import { beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { openLocalSession } from '../../src/local/local-mode.js';
import type { FaultRule } from '../../src/sim/faults.js';
import { forkStateDir, inventory, newStateDir, resourceCounts, run, specWith } from './harness.js';

/**
 * Resize by re-applying a changed spec (issue 17): create-deployment run again with more or fewer daemons and
 * Cassandra nodes converges the live deployment. New Cassandra nodes join one at a time, removed ones are
 * decommissioned one at a time, highest first; removed daemons are drained, then every removed instance terminated;
 * Prometheus and the other node lists are configured again, and the health check proves the ring.
 */

const four = specWith({ cassandraNodes: 4, daemons: 4 });
const eight = specWith({ cassandraNodes: 8, daemons: 8 });
const shrunk = specWith({ cassandraNodes: 4, daemons: 2 });

/** The states an execution entered, in order, with how many times. */
const entered = (record: ExecutionRecord, state: string) =>
  record.steps.filter((step) => step.name === state).length;

/** Live instances of the deployment by role. */
async function rolesLive(stateDir: string, spec = four): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const item of await inventory(stateDir, spec)) {
    if (item.type !== 'instance' || item.state === 'terminated') continue;
    const role = item.name.replace(/^sample-/, '').replace(/\d+$/, '');
    counts[role] = (counts[role] ?? 0) + 1;
  }
  return counts;
}

/** The SendCommand calls of one document in the simulated account, oldest first, with their targets. */
function commandsOf(stateDir: string, document: string) {
  const { account } = openLocalSession(stateDir);
  const commands = account.stateOf<{ commands: Record<string, any> }>('SSM').commands;
  return Object.values(commands)
    .filter((command) => command.DocumentName === document)
    .sort((a, b) => a.RequestedAt - b.RequestedAt)
    .map((command) => ({
      instances: command.InstanceIds as string[],
      parameters: command.Parameters as Record<string, string[]>,
      ends: Object.values(command.invocations as Record<string, { startAt: number; endAt: number }>),
    }));
}

let created: string;
let grown: string;
let grow: ExecutionRecord;

beforeAll(async () => {
  created = newStateDir();
  expect((await run(created, 'create-deployment', four)).failure).toBeNull();
  grown = forkStateDir(created);
  grow = await run(grown, 'create-deployment', eight);
}, 120_000);

describe('resize by re-applying a spec (local mode)', () => {
  it('grows 4 to 8 Cassandra nodes and 4 to 8 daemons, joining one node at a time', async () => {
    expect(grow.failure).toBeNull();
    expect(await rolesLive(grown, eight)).toMatchObject({ cass: 8, daemon: 8 });
    expect(entered(grow, 'Join the next Cassandra node')).toBe(4);
    expect(entered(grow, 'Configure and start Cassandra')).toBe(0);
    const joins = commandsOf(grown, 'capi-cassandra-configure').filter(
      (command) => command.parameters.Join?.[0] === 'true',
    );
    expect(joins.map((join) => join.instances.length)).toEqual([1, 1, 1, 1]);
    // One at a time: each join starts after the previous one ended.
    for (let i = 1; i < joins.length; i++) {
      expect(joins[i].ends[0].startAt).toBeGreaterThanOrEqual(joins[i - 1].ends[0].endAt);
    }
    expect(entered(grow, 'Clean up Cassandra nodes')).toBe(1);
    expect(JSON.stringify(grow.output)).toContain('cassandra');
  });

  it('installs only the new nodes and configures the services again for the new lists', () => {
    const installs = commandsOf(grown, 'capi-cassandra-install');
    expect(installs.at(-1)?.instances).toHaveLength(4);
    const prometheus = commandsOf(grown, 'capi-prometheus-configure');
    expect(prometheus).toHaveLength(2);
    expect(prometheus[1].parameters.DaemonTargets[0].split(',')).toHaveLength(8);
  });

  it('shrinks 8 to 4 Cassandra nodes and 8 to 2 daemons: decommission highest first, drain, terminate', async () => {
    const stateDir = forkStateDir(grown);
    const shrink = await run(stateDir, 'create-deployment', shrunk);
    expect(shrink.failure).toBeNull();
    expect(await rolesLive(stateDir, shrunk)).toMatchObject({ cass: 4, daemon: 2 });
    expect(entered(shrink, 'Decommission the next Cassandra node')).toBe(4);
    expect(entered(shrink, 'Drain removed daemons')).toBe(1);
    expect(entered(shrink, 'Terminate removed nodes')).toBeGreaterThanOrEqual(1);
    const drains = commandsOf(stateDir, 'capi-services-stop');
    expect(drains.at(-1)?.instances).toHaveLength(6);
    const decommissions = commandsOf(stateDir, 'capi-cassandra-decommission');
    expect(decommissions.map((command) => command.instances.length)).toEqual([1, 1, 1, 1]);
    // A re-apply of the same spec changes nothing.
    const again = await run(stateDir, 'create-deployment', shrunk);
    expect(again.failure).toBeNull();
    expect(entered(again, 'Decommission the next Cassandra node')).toBe(0);
    expect(entered(again, 'Terminate removed nodes')).toBe(0);
  }, 120_000);

  it('refuses a Cassandra count the ring cannot take at the preflight, naming the field, before any change', async () => {
    const stateDir = forkStateDir(created);
    const odd = await run(stateDir, 'create-deployment', specWith({ cassandraNodes: 6, daemons: 4 }));
    expect(odd.failure).toMatchObject({
      state: 'Check AMI, instance types and quota',
      error: 'PreflightFailed',
    });
    expect(odd.failure?.cause).toMatch(/cassandraNodes: 4 to 6 cannot be done in place.*choose 2, 8, 16/);
    // Refused before anything changed: nothing launched, no command sent.
    expect(odd.metrics.apiCallsByOperation['EC2:RunInstances']).toBeUndefined();
    expect(odd.metrics.apiCallsByOperation['SSM:SendCommand']).toBeUndefined();
  });
});

const DENIED: Record<string, string> = { EC2: 'UnauthorizedOperation', SSM: 'AccessDeniedException' };
const denied = (key: string): [string, Partial<FaultRule>] => {
  const [service, operation] = key.split(':') as [FaultRule['service'], string];
  return [key, { service, operation, error: DENIED[service], times: -1 }];
};
const failOn = (target: string, document: string): [string, Partial<FaultRule>] => [
  `${document} fails on ${target}`,
  { service: 'SSM', operation: 'SendCommand', target, document, exitCode: 1, stderr: 'ERROR: simulated' },
];

describe('resize properties: fail at each mutating step, re-apply converges, delete leaves nothing', () => {
  it.each([
    denied('EC2:RunInstances'),
    denied('SSM:SendCommand'),
    failOn('cass006', 'capi-cassandra-configure'),
    failOn('cass005', 'capi-cassandra-cleanup'),
    failOn('daemon007', 'capi-daemon-install'),
    failOn('prometheus', 'capi-prometheus-configure'),
  ])(
    'grow: fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(created);
      const failed = await run(stateDir, 'create-deployment', eight, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumed = await run(stateDir, 'create-deployment', eight);
      expect(resumed.failure).toBeNull();
      expect(await resourceCounts(stateDir, eight)).toEqual(await resourceCounts(grown, eight));
      expect((await run(stateDir, 'delete-deployment', eight)).failure).toBeNull();
      expect(await inventory(stateDir, eight)).toEqual([]);
    },
    60_000,
  );

  it.each([
    denied('SSM:SendCommand'),
    denied('EC2:TerminateInstances'),
    failOn('cass008', 'capi-cassandra-decommission'),
    failOn('cass006', 'capi-cassandra-decommission'),
    failOn('daemon005', 'capi-services-stop'),
    failOn('daemon001', 'capi-daemon-configure'),
  ])(
    'shrink: fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(grown);
      const failed = await run(stateDir, 'create-deployment', shrunk, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumed = await run(stateDir, 'create-deployment', shrunk);
      expect(resumed.failure).toBeNull();
      expect(await rolesLive(stateDir, shrunk)).toMatchObject({ cass: 4, daemon: 2 });
      expect(entered(resumed, 'Judge cluster health')).toBe(1);
      expect((await run(stateDir, 'delete-deployment', shrunk)).failure).toBeNull();
      expect(await inventory(stateDir, shrunk)).toEqual([]);
    },
    60_000,
  );
});
