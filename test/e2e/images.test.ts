import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { localImages } from '../../src/cli/images-command.js';
import { main } from '../../src/cli/main.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { SNAPSHOT_GB_MONTH_USD } from '../../src/cost/prices.js';
import { openLocalSession, runLocalExecution } from '../../src/local/local-mode.js';
import { renderHistory } from '../../src/report/history.js';
import type { FaultRule } from '../../src/sim/faults.js';
import type { Ec2State } from '../../src/sim/services/ec2.js';
import { captureOutput } from '../cli/capture.js';
import {
  forkStateDir,
  inventory,
  newStateDir,
  resourceCounts,
  run,
  sampleSpec,
  specWith,
} from './harness.js';

/**
 * images create / list / delete (issue 17): the CLI's refusal, --json and exit codes; what a clean run calls; and the
 * lifecycle properties for every mutating step of both machines: fail there, run the same operation again, and it
 * converges with one image per node, no duplicate and no stray snapshot; then images delete leaves nothing.
 */

const output = captureOutput();
const SAMPLE = fileURLToPath(new URL('../../examples/sample.json', import.meta.url));
const json = () => JSON.parse(output.out.join('\n'));

const DENIED: Record<string, string> = { EC2: 'UnauthorizedOperation', SSM: 'AccessDeniedException' };

const CREATE_OPERATIONS = ['SSM:SendCommand', 'EC2:StopInstances', 'EC2:CreateImage'];
const DELETE_OPERATIONS = ['EC2:DeregisterImage', 'EC2:DeleteSnapshot'];

const isMutating = (operation: string) =>
  /:(Create|Delete|Deregister|Run|Stop|Start|Replace|Attach|Associate|Authorize|Put|Add|Send)/.test(
    operation,
  ) && !operation.endsWith(':CreateTags');
const mutatingCalls = (record: ExecutionRecord) =>
  Object.keys(record.metrics.apiCallsByOperation).filter(isMutating).sort();

const denied = (key: string): [string, Partial<FaultRule>] => {
  const [service, operation] = key.split(':') as [FaultRule['service'], string];
  return [key, { service, operation, error: DENIED[service], times: -1 }];
};

const images = (stateDir: string) => localImages(openLocalSession(stateDir), sampleSpec);

/** The raw EC2 state: every image and snapshot of the account, whoever owns it. */
function ec2State(stateDir: string): Ec2State {
  return openLocalSession(stateDir).account.stateOf<Ec2State>('EC2');
}

/** One available image per node, named as the node's instance, each with tagged, completed snapshots. */
async function expectOneImagePerNode(stateDir: string) {
  const list = await images(stateDir);
  expect(list.images.map((image) => image.node)).toEqual(
    [...new Set(list.images.map((image) => image.node))].sort(),
  );
  expect(list.images).toHaveLength(11);
  expect(list.images.every((image) => image.state === 'available')).toBe(true);
  expect(list.images.every((image) => image.snapshots.every((s) => s.state === 'completed'))).toBe(true);
  expect(list.orphanSnapshots).toEqual([]);
  const state = ec2State(stateDir);
  expect(Object.keys(state.images)).toHaveLength(11);
  expect(Object.keys(state.snapshots)).toHaveLength(list.images.flatMap((image) => image.snapshots).length);
  return list;
}

let created: string;
let imaged: string;

beforeAll(async () => {
  created = newStateDir();
  expect((await run(created, 'create-deployment')).failure).toBeNull();
  imaged = forkStateDir(created);
  const record = await run(imaged, 'images-create');
  expect(record.failure).toBeNull();
  expect(mutatingCalls(record)).toEqual([...CREATE_OPERATIONS].sort());
}, 120_000);

describe('capi-deploy images (local mode, CLI)', () => {
  it('refuses without --force, creates, lists with the monthly cost, deletes; --json and exit codes', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'capi-images-'));
    expect(await main(['create', SAMPLE, '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    output.err.length = 0;
    expect(await main(['images', 'create', 'sample', '--local', '--state-dir', stateDir])).toBe(2);
    expect(output.err.join('\n')).toMatch(/images create refused: .*instance-store NVMe/);
    expect(await main(['images', 'create', 'sample', '--state-dir', stateDir])).toBe(2);
    // Without --local it is AWS mode: refused without --force, before any AWS call, as in local mode.
    expect(output.err.join('\n')).toMatch(/images create refused|AWS (region not set|credentials not found)/);

    output.out.length = 0;
    expect(
      await main(['images', 'create', 'sample', '--local', '--state-dir', stateDir, '--force', '--json']),
    ).toBe(0);
    const createdJson = json();
    expect(createdJson).toMatchObject({
      deployment: 'sample',
      operation: 'images-create',
      status: 'SUCCEEDED',
    });
    expect(createdJson.execution).toMatch(/^images-create-sample-/);

    output.out.length = 0;
    expect(await main(['images', 'list', 'sample', '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    const listed = json();
    const [list] = listed.deployments;
    expect(list.deployment).toBe('sample');
    expect(list.images).toHaveLength(11);
    expect(list.images[0]).toMatchObject({ state: 'available' });
    expect(list.images.map((image: { node: string }) => image.node)).toContain('sample-cass001');
    expect(list.monthlyUsd).toBeCloseTo(list.sizeGiB * SNAPSHOT_GB_MONTH_USD, 2);
    expect(list.monthlyUsd).toBeGreaterThan(0);
    expect(listed.monthlyUsd).toBe(list.monthlyUsd);

    output.out.length = 0;
    expect(await main(['images', 'list', '--local', '--state-dir', stateDir])).toBe(0);
    expect(output.out.join('\n')).toMatch(/sample: 11 images, \d+ GiB of snapshots, \$[\d.]+\/month/);

    output.out.length = 0;
    expect(await main(['history', 'sample', '--local', '--state-dir', stateDir])).toBe(0);
    expect(output.out.join('\n')).toContain('images-create sample: SUCCEEDED');

    output.out.length = 0;
    expect(await main(['images', 'delete', 'sample', '--local', '--state-dir', stateDir, '--json'])).toBe(0);
    expect(json()).toMatchObject({ operation: 'images-delete', status: 'SUCCEEDED' });
    output.out.length = 0;
    expect(await main(['images', 'list', 'sample', '--local', '--state-dir', stateDir])).toBe(0);
    expect(output.out.join('\n')).toContain('sample: no images');
    expect(await main(['images', 'delete', 'nosuch', '--local', '--state-dir', stateDir])).toBe(2);
  }, 120_000);
});

describe('images: results', () => {
  it('one image per node named as capideploy names it, image and snapshots tagged with the deployment', async () => {
    await expectOneImagePerNode(imaged);
    const state = ec2State(imaged);
    for (const image of Object.values(state.images)) {
      const tags = Object.fromEntries(image.Tags.map((tag) => [tag.Key, tag.Value]));
      expect(tags).toMatchObject({
        Name: image.Name,
        DeploymentName: 'sample',
        DeploymentOperator: 'capideploy',
      });
      for (const mapping of image.BlockDeviceMappings) {
        const snapshot = state.snapshots[mapping.Ebs.SnapshotId];
        expect(Object.fromEntries(snapshot.Tags.map((tag) => [tag.Key, tag.Value]))).toEqual(tags);
      }
    }
    // The fleet is stopped; nothing else changed.
    const instances = (await inventory(imaged)).filter((item) => item.type === 'instance');
    expect(new Set(instances.map((item) => item.state))).toEqual(new Set(['stopped']));
  });

  it('a second images create changes nothing; images delete leaves nothing; start still works', async () => {
    const stateDir = forkStateDir(imaged);
    const again = await run(stateDir, 'images-create');
    expect(again.failure).toBeNull();
    expect(mutatingCalls(again)).toEqual([]);
    const removed = await run(stateDir, 'images-delete');
    expect(removed.failure).toBeNull();
    expect(mutatingCalls(removed)).toEqual([...DELETE_OPERATIONS].sort());
    expect(removed.output).toMatchObject({ images: 11 });
    const state = ec2State(stateDir);
    expect(state.images).toEqual({});
    expect(state.snapshots).toEqual({});
    const deletedAgain = await run(stateDir, 'images-delete');
    expect(deletedAgain.failure).toBeNull();
    expect(mutatingCalls(deletedAgain)).toEqual([]);
    expect((await run(stateDir, 'start-deployment')).failure).toBeNull();
  }, 120_000);
});

describe('images create properties: fail at each mutating step, create again converges with no duplicate', () => {
  it.each([
    ...CREATE_OPERATIONS.map(denied),
    [
      'an image that ends failed (cass002)',
      { service: 'EC2', operation: 'CreateImage', target: 'cass002', finalState: 'failed' },
    ] as [string, Partial<FaultRule>],
    [
      'an image pending past the 1 h wait (daemon001)',
      { service: 'EC2', operation: 'CreateImage', target: 'daemon001', delaySeconds: 4000 },
    ] as [string, Partial<FaultRule>],
  ])(
    'fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(created);
      const failed = await run(stateDir, 'images-create', sampleSpec, [rule]);
      expect(failed.status).toBe('FAILED');
      expect(failed.failure).not.toBeNull();
      const resumed = await run(stateDir, 'images-create');
      expect(resumed.failure).toBeNull();
      await expectOneImagePerNode(stateDir);
      expect((await run(stateDir, 'images-delete')).failure).toBeNull();
      const state = ec2State(stateDir);
      expect(state.images).toEqual({});
      expect(state.snapshots).toEqual({});
    },
    120_000,
  );

  it('a failed image is deregistered and made again, its snapshots deleted first', async () => {
    const stateDir = forkStateDir(created);
    const rule: Partial<FaultRule> = {
      service: 'EC2',
      operation: 'CreateImage',
      target: 'cass002',
      finalState: 'failed',
    };
    const failed = await run(stateDir, 'images-create', sampleSpec, [rule]);
    expect(failed.failure?.error).toBe('ProvisioningFailed');
    expect(failed.failure?.cause).toContain('cass002 (ami-');
    const resumed = await run(stateDir, 'images-create');
    expect(resumed.metrics.apiCallsByOperation['EC2:CreateImage']).toBe(1);
    expect(resumed.metrics.apiCallsByOperation['EC2:DeregisterImage']).toBe(1);
    expect(resumed.metrics.apiCallsByOperation['EC2:DeleteSnapshot']).toBeGreaterThan(0);
  }, 120_000);
});

describe('images delete properties: fail at each mutating step, delete again leaves nothing', () => {
  it.each(DELETE_OPERATIONS.map(denied))(
    'fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(imaged);
      const failed = await run(stateDir, 'images-delete', sampleSpec, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumed = await run(stateDir, 'images-delete');
      expect(resumed.failure).toBeNull();
      const state = ec2State(stateDir);
      expect(state.images).toEqual({});
      expect(state.snapshots).toEqual({});
      // The deployment itself is untouched: start, then delete, leave nothing.
      expect((await run(stateDir, 'start-deployment')).failure).toBeNull();
      expect(await resourceCounts(stateDir)).toEqual(await resourceCounts(created));
      expect((await run(stateDir, 'delete-deployment')).failure).toBeNull();
      expect(await inventory(stateDir)).toEqual([]);
    },
    120_000,
  );
});

describe('delete keeps images unless --with-images; list, status and the cost estimate include them', () => {
  it('prices the snapshots, survives delete, and goes with delete --with-images', async () => {
    const stateDir = forkStateDir(imaged);
    const base = ['--local', '--state-dir', stateDir];
    output.out.length = 0;
    expect(await main(['status', 'sample', ...base, '--json'])).toBe(0);
    const status = json();
    const snapshots = status.resources.filter((item: { type: string }) => item.type === 'snapshot');
    const imageItems = status.resources.filter((item: { type: string }) => item.type === 'image');
    expect(imageItems).toHaveLength(11);
    expect(snapshots.length).toBeGreaterThanOrEqual(11);
    expect(
      snapshots.every((item: { billed: boolean; hourlyUsd: number }) => item.billed && item.hourlyUsd > 0),
    ).toBe(true);
    expect(status.complete).toBe(true);
    const list = await images(stateDir);
    const snapshotHourly = snapshots.reduce(
      (sum: number, item: { hourlyUsd: number }) => sum + item.hourlyUsd,
      0,
    );
    expect(snapshotHourly * 730).toBeCloseTo(list.monthlyUsd, 1);

    output.out.length = 0;
    expect(await main(['list', ...base, '--json'])).toBe(0);
    const [row] = json().deployments;
    expect(row.resources).toBe(status.resources.length);

    // delete-deployment keeps the images and their snapshots, and succeeds.
    output.out.length = 0;
    expect(await main(['delete', 'sample', ...base, '--json'])).toBe(0);
    expect(json()).toMatchObject({ operation: 'delete', status: 'SUCCEEDED' });
    const left = await inventory(stateDir);
    expect([...new Set(left.map((item) => item.type))].sort()).toEqual(['image', 'snapshot']);
    expect((await images(stateDir)).images).toHaveLength(11);

    // --with-images: the images go first, then the (already deleted) deployment's teardown converges.
    output.out.length = 0;
    expect(await main(['delete', 'sample', ...base, '--with-images', '--json'])).toBe(0);
    expect(json()).toMatchObject({ operation: 'delete', status: 'SUCCEEDED' });
    expect(await inventory(stateDir)).toEqual([]);
    const state = ec2State(stateDir);
    expect(state.images).toEqual({});
    expect(state.snapshots).toEqual({});
    expect(await main(['delete', 'sample', '--with-images', '--state-dir', stateDir])).toBe(2);
  }, 120_000);

  it('delete --with-images of a running deployment with images leaves nothing; a failed images delete keeps the deployment', async () => {
    const stateDir = forkStateDir(imaged);
    const rules = join(stateDir, 'faults.json');
    writeFileSync(
      rules,
      JSON.stringify([{ service: 'EC2', operation: 'DeleteSnapshot', error: 'UnauthorizedOperation' }]),
    );
    output.out.length = 0;
    expect(
      await main([
        'delete',
        'sample',
        '--local',
        '--state-dir',
        stateDir,
        '--with-images',
        '--faults',
        rules,
        '--json',
      ]),
    ).toBe(1);
    expect(json()).toMatchObject({ operation: 'images-delete', status: 'FAILED' });
    expect((await inventory(stateDir)).some((item) => item.type === 'instance')).toBe(true);
    output.out.length = 0;
    expect(await main(['delete', 'sample', '--local', '--state-dir', stateDir, '--with-images'])).toBe(0);
    expect(await inventory(stateDir)).toEqual([]);
  }, 120_000);
});

describe('images create on a larger fleet', () => {
  it('makes at most 40 images per invocation and calls again until every node has one', async () => {
    const spec = specWith({ name: 'imgfleet', cassandraNodes: 16, daemons: 30 });
    const stateDir = newStateDir();
    expect((await run(stateDir, 'create-deployment', spec)).failure).toBeNull();
    const record = await run(stateDir, 'images-create', spec);
    expect(record.failure).toBeNull();
    const creates = record.steps.filter((step) => step.name === 'Create an image of every instance');
    expect(creates).toHaveLength(2);
    const list = await localImages(openLocalSession(stateDir), spec);
    expect(list.images).toHaveLength(spec.cassandraNodes + spec.daemons + 3);
    expect(new Set(list.images.map((image) => image.node)).size).toBe(list.images.length);
    expect((await run(stateDir, 'images-delete', spec)).failure).toBeNull();
    expect(ec2State(stateDir).snapshots).toEqual({});
  }, 240_000);
});

describe('images: every grant is needed (IAM evaluation in local mode)', () => {
  it.each([
    ['images-create', 'ec2:CreateImage', 'Create an image of every instance'],
    ['images-create', 'ec2:CreateTags', 'Create an image of every instance'],
    ['images-create', 'ec2:DescribeImages', 'Create an image of every instance'],
    ['images-delete', 'ec2:DeregisterImage', 'Deregister images'],
    ['images-delete', 'ec2:DeleteSnapshot', 'Delete snapshots'],
    ['images-delete', 'ec2:DescribeSnapshots', 'Delete snapshots'],
  ] as const)(
    '%s without Images %s fails at "%s", naming it',
    async (machine, action, step) => {
      const stateDir = forkStateDir(machine === 'images-create' ? created : imaged);
      const session = openLocalSession(stateDir, {
        writable: true,
        withoutGrants: [{ fn: 'Images', action }],
      });
      const record = await runLocalExecution(session, machine, sampleSpec);
      expect(record.status).toBe('FAILED');
      const text = renderHistory(record).join('\n');
      expect(/FAILED at step: (.*)/.exec(text)?.[1]).toContain(step);
      expect(text).toContain(`is not authorized to perform: ${action} on resource:`);
    },
    120_000,
  );

  it('images delete touches only images and snapshots tagged DeploymentOperator=capideploy', async () => {
    const stateDir = forkStateDir(imaged);
    const session = openLocalSession(stateDir, { writable: true });
    const state = session.account.stateOf<Ec2State>('EC2');
    // Same DeploymentName, but not the operator tag: a stranger's, found by neither the filters nor the grants.
    for (const entry of [...Object.values(state.images), ...Object.values(state.snapshots)]) {
      entry.Tags = entry.Tags.filter((tag) => tag.Key !== 'DeploymentOperator');
    }
    session.account.close();
    const record = await run(stateDir, 'images-delete');
    expect(record.failure).toBeNull();
    expect(mutatingCalls(record)).toEqual([]);
    expect(Object.keys(ec2State(stateDir).images)).toHaveLength(11);
  }, 120_000);
});
