import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseCause } from '../../src/core/errors.js';
import { tagValue } from '../../src/core/tags.js';
import { openLocalSession } from '../../src/local/local-mode.js';
import type { Ec2State } from '../../src/sim/services/ec2.js';
import type { SsmState } from '../../src/sim/services/ssm.js';
import { captureOutput } from '../cli/capture.js';
import { forkStateDir, inventory, newStateDir, run, sampleSpec, specWith } from './harness.js';

/**
 * Restore from images (issue 17): `create spec.json --from-images <name>` launches every node from the image of
 * its node (images create), with the same private IPs, roles and types, skips install, and passes the health
 * checks; a restore whose images do not cover the plan fails at the preflight, naming the node, before anything is
 * created.
 */

const output = captureOutput();
const SAMPLE = fileURLToPath(new URL('../../examples/sample.json', import.meta.url));
const json = () => JSON.parse(output.out.join('\n'));

const ec2Of = (stateDir: string) => openLocalSession(stateDir).account.stateOf<Ec2State>('EC2');
const ssmOf = (stateDir: string) => openLocalSession(stateDir).account.stateOf<SsmState>('SSM');

/** Commands sent so far, by document. */
function commandsByDocument(stateDir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const command of Object.values(ssmOf(stateDir).commands)) {
    counts[command.DocumentName] = (counts[command.DocumentName] ?? 0) + 1;
  }
  return counts;
}

/** The deployment's instances that are not terminated, by Name tag. */
function liveInstances(stateDir: string) {
  return new Map(
    Object.values(ec2Of(stateDir).instances)
      .filter((instance) => instance.State.Name !== 'terminated' && instance.State.Name !== 'shutting-down')
      .map((instance) => [tagValue(instance.Tags, 'Name')!, instance]),
  );
}

/** The account after create, images create and delete (the images kept), and the original create's figures. */
let deleted: string;
let createSeconds: number;
let privateIps: Record<string, string>;

beforeAll(async () => {
  // The same machines the CLI runs (create, images create, delete), without its output.
  deleted = newStateDir();
  const created = await run(deleted, 'create-deployment');
  expect(created.failure).toBeNull();
  createSeconds = created.metrics.virtualSeconds;
  privateIps = Object.fromEntries(
    [...liveInstances(deleted)].map(([name, instance]) => [name, instance.PrivateIpAddress]),
  );
  expect((await run(deleted, 'images-create')).failure).toBeNull();
  expect((await run(deleted, 'delete-deployment')).failure).toBeNull();
  expect(liveInstances(deleted).size).toBe(0);
  expect(Object.keys(ec2Of(deleted).images)).toHaveLength(11);
}, 180_000);

describe('capi-deploy create --from-images (local mode, CLI)', () => {
  it('launches every node from its image with the same IPs, sends no install, passes the health checks, faster than a create', async () => {
    // Prepare
    const stateDir = forkStateDir(deleted);
    const before = commandsByDocument(stateDir);

    // Act
    output.out.length = 0;
    const code = await main([
      'create',
      SAMPLE,
      '--local',
      '--state-dir',
      stateDir,
      '--from-images',
      'sample',
      '--json',
    ]);

    // Assess
    const restored = json();
    expect(restored.failure).toBeNull();
    expect(code).toBe(0);
    expect(restored).toMatchObject({ deployment: 'sample', operation: 'create', status: 'SUCCEEDED' });
    expect(restored.virtualSeconds).toBeLessThan(createSeconds);

    const ec2 = ec2Of(stateDir);
    const imageByName = new Map(Object.values(ec2.images).map((image) => [image.Name, image]));
    const instances = liveInstances(stateDir);
    expect(instances.size).toBe(11);
    for (const [name, instance] of instances) {
      expect(instance.PrivateIpAddress, name).toBe(privateIps[name]);
      const image = imageByName.get(name)!;
      expect(instance.ImageId, name).toBe(image.ImageId);
      const rootSnapshot = image.BlockDeviceMappings.find(
        (mapping) => mapping.DeviceName === image.RootDeviceName,
      )!.Ebs;
      const root = Object.values(ec2.volumes).find((volume) =>
        volume.Attachments.some(
          (attachment) =>
            attachment.InstanceId === instance.InstanceId && attachment.Device === image.RootDeviceName,
        ),
      )!;
      expect(root).toMatchObject({ SnapshotId: rootSnapshot.SnapshotId, Encrypted: true, VolumeType: 'gp3' });
      expect(root.Size).toBeGreaterThanOrEqual(rootSnapshot.VolumeSize);
    }

    const after = commandsByDocument(stateDir);
    const sent = (document: string) => (after[document] ?? 0) - (before[document] ?? 0);
    const installs = Object.keys(after).filter((document) => document.endsWith('-install'));
    expect(installs.length).toBeGreaterThan(0);
    expect(Object.fromEntries(installs.map((document) => [document, sent(document)]))).toEqual(
      Object.fromEntries(installs.map((document) => [document, 0])),
    );
    expect(sent('capi-cassandra-configure')).toBeGreaterThan(0);
    expect(sent('capi-health-check')).toBeGreaterThan(0);

    // The images stay: they go only with images delete or delete --with-images; a delete leaves nothing else (the
    // image's log-volume snapshot was not launched: the log volume is the deployment's own, deleted with it).
    expect(Object.keys(ec2Of(stateDir).images)).toHaveLength(11);
    expect((await run(stateDir, 'delete-deployment')).failure).toBeNull();
    expect([...new Set((await inventory(stateDir)).map((item) => item.type))].sort()).toEqual([
      'image',
      'snapshot',
    ]);
  }, 180_000);

  it('fails at the preflight, exit code 1, naming the node without an image, and creates nothing', async () => {
    // Prepare: one Cassandra node more than the imaged deployment had
    const stateDir = forkStateDir(deleted);
    const specFile = join(stateDir, 'five.json');
    writeFileSync(specFile, JSON.stringify({ ...sampleSpec, cassandraNodes: 5 }));

    // Act
    output.out.length = 0;
    const code = await main([
      'create',
      specFile,
      '--local',
      '--state-dir',
      stateDir,
      '--from-images',
      'sample',
      '--json',
    ]);

    // Assess
    expect(code).toBe(1);
    const failed = json();
    expect(failed.status).toBe('FAILED');
    expect(failed.failure).toMatchObject({
      state: 'Check AMI, instance types and quota',
      error: 'PreflightFailed',
    });
    const cause = parseCause(failed.failure.cause)!;
    expect(cause.message).toContain('cass005 (no image)');
    expect(cause.hint).toContain('capi-deploy images list sample');
    expect(cause.hint).toContain('capi-deploy images create sample');
    expect(Object.keys(ec2Of(stateDir).vpcs)).toHaveLength(0);
    expect(liveInstances(stateDir).size).toBe(0);
  }, 120_000);

  it('refuses an image that is not available, naming the node and its state', async () => {
    // Prepare
    const stateDir = forkStateDir(deleted);

    // Act
    const record = await run(
      stateDir,
      'create-deployment',
      specWith({ fromImages: 'sample' }),
      [],
      undefined,
      (account) => {
        const image = Object.values(account.stateOf<Ec2State>('EC2').images).find(
          (candidate) => candidate.Name === 'sample-daemon002',
        )!;
        image.State = 'failed';
      },
    );

    // Assess
    expect(record.failure).toMatchObject({ error: 'PreflightFailed' });
    const cause = parseCause(record.failure!.cause)!;
    expect(cause.message).toMatch(/daemon002 \(ami-[0-9a-f]+, failed\)/);
    expect(liveInstances(stateDir).size).toBe(0);
  }, 120_000);

  it('refuses a bad --from-images name before any AWS call', async () => {
    const stateDir = forkStateDir(deleted);
    output.err.length = 0;
    expect(
      await main(['create', SAMPLE, '--local', '--state-dir', stateDir, '--from-images', 'Not_A_Name']),
    ).toBe(2);
    expect(output.err.join('\n')).toContain('deployment name "Not_A_Name"');
  });
});

describe('restore properties: fail at each mutating step, create again converges, delete leaves everything but images', () => {
  const restore = specWith({ fromImages: sampleSpec.name });
  it.each([
    [
      'RunInstances refused',
      { service: 'EC2', operation: 'RunInstances', error: 'UnauthorizedOperation', times: -1 },
    ],
    [
      'SendCommand refused',
      { service: 'SSM', operation: 'SendCommand', error: 'AccessDeniedException', times: -1 },
    ],
    [
      'Cassandra configure fails on cass003',
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'cass003',
        document: 'capi-cassandra-configure',
        exitCode: 1,
      },
    ],
    [
      'bastion configure fails',
      {
        service: 'SSM',
        operation: 'SendCommand',
        target: 'bastion',
        document: 'capi-bastion-configure',
        exitCode: 1,
      },
    ],
  ] as const)(
    'fail at %s',
    async (_, rule) => {
      const stateDir = forkStateDir(deleted);
      const failed = await run(stateDir, 'create-deployment', restore, [rule]);
      expect(failed.status).toBe('FAILED');
      const resumed = await run(stateDir, 'create-deployment', restore);
      expect(resumed.failure).toBeNull();
      // One instance per node, each from its image; no install document ever sent.
      const live = liveInstances(stateDir);
      expect(live.size).toBe(11);
      const installs = (counts: Record<string, number>) =>
        Object.entries(counts).filter(([doc]) => doc.endsWith('-install'));
      expect(installs(commandsByDocument(stateDir))).toEqual(installs(commandsByDocument(deleted)));
      expect((await run(stateDir, 'delete-deployment', restore)).failure).toBeNull();
      const left = await inventory(stateDir, restore);
      expect([...new Set(left.map((item) => item.type))].sort()).toEqual(['image', 'snapshot']);
    },
    60_000,
  );
});
