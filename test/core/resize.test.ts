import { describe, expect, it } from 'vitest';
import { cassandraCountProblem, inPlaceRefusals, type LiveNode, resizePlan } from '../../src/core/resize.js';
import { planDeployment } from '../../src/core/spec/plan.js';
import { specWith } from '../e2e/harness.js';

const base = specWith({ cassandraNodes: 4, daemons: 4 });

describe('cassandraCountProblem', () => {
  it('accepts doubling and halving, repeated', () => {
    for (const [from, to] of [
      [4, 4],
      [4, 8],
      [4, 16],
      [16, 4],
      [3, 12],
      [6, 3],
    ]) {
      expect(cassandraCountProblem(from, to), `${from} to ${to}`).toBeNull();
    }
  });

  it('refuses any other count, naming the field and the counts it can go to', () => {
    expect(cassandraCountProblem(4, 6)).toMatch(
      /^cassandraNodes: 4 to 6 cannot be done in place.*choose 2, 8, 16/,
    );
    expect(cassandraCountProblem(3, 4)).toMatch(/choose 6, 12 /);
    expect(cassandraCountProblem(8, 12)).toMatch(/^cassandraNodes: 8 to 12/);
  });
});

describe('inPlaceRefusals', () => {
  it('lets counts and configuration change', () => {
    expect(
      inPlaceRefusals(base, specWith({ cassandraNodes: 8, daemons: 32, allowedCidrs: ['198.51.100.0/24'] })),
    ).toEqual([]);
  });

  it('refuses region, zone and a role instance type, one line per field with what to do', () => {
    const problems = inPlaceRefusals(
      base,
      specWith({ region: 'eu-west-1', availabilityZone: 'eu-west-1a', flavor: 'aws.arm64.c7g.16' }),
    );
    expect(problems.map((line) => line.split(':')[0])).toEqual([
      'region',
      'availabilityZone',
      'flavor',
      'flavor',
    ]);
    expect(problems[2]).toContain('the cassandra instance type c7gd.2xlarge to c7gd.4xlarge');
    expect(problems[3]).toContain('the daemon instance type c7g.large to c7g.xlarge');
    for (const line of problems) expect(line).toContain('delete sample and create it again');
  });

  it('refuses counts that need a larger private subnet', () => {
    const problems = inPlaceRefusals(base, specWith({ cassandraNodes: 4, daemons: 200 }));
    expect(problems).toEqual([
      expect.stringMatching(/^cassandraNodes\/daemons: .*a subnet cannot be resized/),
    ]);
  });
});

describe('resizePlan', () => {
  const live = (names: string[], state = 'running'): LiveNode[] =>
    names.map((name, i) => ({
      name: `sample-${name}`,
      role: name.startsWith('cass') ? 'cassandra' : name.startsWith('daemon') ? 'daemon' : name,
      state,
      instanceId: `i-${String(i).padStart(17, '0')}`,
    }));
  const fleet = (cassandra: number, daemons: number) =>
    live([
      'bastion',
      'rabbitmq',
      'prometheus',
      ...Array.from({ length: cassandra }, (_, i) => `cass00${i + 1}`),
      ...Array.from({ length: daemons }, (_, i) => `daemon00${i + 1}`),
    ]);

  it('grows: launches the new nodes, joins the new Cassandra nodes in plan order, cleans up the old ones', () => {
    const plan = resizePlan(planDeployment(specWith({ cassandraNodes: 8, daemons: 4 })), fleet(4, 4));
    expect(plan.launch).toEqual(['sample-cass005', 'sample-cass006', 'sample-cass007', 'sample-cass008']);
    expect(plan.join).toEqual(plan.launch);
    expect(plan.cleanup).toEqual(['sample-cass001', 'sample-cass002', 'sample-cass003', 'sample-cass004']);
    expect(plan.decommission).toEqual([]);
    expect(plan.reconfigure).toBe(true);
    // The first four keep their tokens; the new ones bisect the ring.
    expect(plan.ring.slice(0, 4).map((node) => node.token)).toEqual([
      '-9223372036854775808',
      '0',
      '-4611686018427387904',
      '4611686018427387904',
    ]);
  });

  it('shrinks: drains and decommissions the removed nodes, highest first, then terminates them', () => {
    const plan = resizePlan(planDeployment(specWith({ cassandraNodes: 2, daemons: 2 })), fleet(4, 4));
    expect(plan.launch).toEqual([]);
    expect(plan.decommission).toEqual(['sample-cass004', 'sample-cass003']);
    expect(plan.drain).toEqual(['sample-daemon004', 'sample-daemon003']);
    expect(plan.terminate).toEqual([...plan.drain, ...plan.decommission]);
  });

  it('creates a new deployment whole: nothing joins one at a time', () => {
    const plan = resizePlan(planDeployment(base), []);
    expect(plan.launch).toHaveLength(11);
    expect(plan.join).toEqual([]);
    expect(plan.reconfigure).toBe(true);
  });

  it('changes nothing for the same spec', () => {
    const plan = resizePlan(planDeployment(base), fleet(4, 4));
    expect([plan.launch, plan.join, plan.cleanup, plan.drain, plan.decommission]).toEqual([
      [],
      [],
      [],
      [],
      [],
    ]);
    expect(plan.reconfigure).toBe(false);
  });
});
