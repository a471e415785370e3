import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/volumes/handler.js';
import { deleteLogVolumes, ensureLogVolume } from '../../../functions/volumes/volumes.js';
import {
  awsError,
  expectNamedError,
  idOf,
  instance,
  ownFilters,
  RAW_SPEC,
  sampleContext,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);
const BASTION = idOf('bastion');
const VOLUME = 'vol-0log';
const NAME_FILTER = [...ownFilters, { Name: 'tag:Name', Values: ['sample_log'] }];

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock
    .on(DescribeInstancesCommand)
    .resolves({ Reservations: [{ Instances: [instance('bastion', 'running')] }] });
});

describe('ensureLogVolume', () => {
  it('creates the encrypted gp3 volume in the zone, tagged, when none exists', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock.on(CreateVolumeCommand).resolves({ VolumeId: VOLUME, State: 'creating' });
    // Act
    const result = await ensureLogVolume(sampleContext());
    // Assess
    expect(result).toEqual({ volumeId: VOLUME, state: 'creating', attached: false });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeVolumesCommand, { Filters: NAME_FILTER });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateVolumeCommand, {
      AvailabilityZone: 'us-east-1a',
      Size: 10,
      VolumeType: 'gp3',
      Encrypted: true,
      ClientToken: `sample-log-${BASTION}`,
      TagSpecifications: [
        {
          ResourceType: 'volume',
          Tags: expect.arrayContaining([
            { Key: 'Name', Value: 'sample_log' },
            { Key: 'DeploymentName', Value: 'sample' },
            { Key: 'DeploymentOperator', Value: 'capideploy' },
          ]),
        },
      ],
    });
    expect(ec2Mock).not.toHaveReceivedCommand(AttachVolumeCommand);
  });

  it('attaches an available volume to the bastion as /dev/sdf', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: VOLUME, State: 'available' }] });
    const result = await ensureLogVolume(sampleContext());
    expect(result).toEqual({ volumeId: VOLUME, state: 'available', attached: false });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AttachVolumeCommand, {
      VolumeId: VOLUME,
      InstanceId: BASTION,
      Device: '/dev/sdf',
    });
  });

  it('reports attached without any mutating call once the attachment is attached', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        {
          VolumeId: VOLUME,
          State: 'in-use',
          Attachments: [{ InstanceId: BASTION, State: 'attached', Device: '/dev/sdf' }],
        },
      ],
    });
    expect(await ensureLogVolume(sampleContext())).toEqual({
      volumeId: VOLUME,
      state: 'in-use',
      attached: true,
    });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateVolumeCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(AttachVolumeCommand);
  });

  it('keeps waiting while the attachment is attaching', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        {
          VolumeId: VOLUME,
          State: 'in-use',
          Attachments: [{ InstanceId: BASTION, State: 'attaching', AttachTime: new Date() }],
        },
      ],
    });
    expect((await ensureLogVolume(sampleContext())).attached).toBe(false);
    expect(ec2Mock).not.toHaveReceivedCommand(AttachVolumeCommand);
  });

  it('names the volume, the AWS error and a hint when AttachVolume fails', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: VOLUME, State: 'available' }] });
    ec2Mock.on(AttachVolumeCommand).rejects(awsError('IncorrectState', 'vol-0log is not available'));
    await expectNamedError(ensureLogVolume(sampleContext()), 'ProvisioningFailed', {
      resource: 'volume sample_log',
      id: VOLUME,
      awsError: 'IncorrectState',
    });
  });

  it('refuses a volume attached to another instance', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        { VolumeId: VOLUME, State: 'in-use', Attachments: [{ InstanceId: 'i-0other', State: 'attached' }] },
      ],
    });
    const cause = await expectNamedError(ensureLogVolume(sampleContext()), 'ResourceConflict', {
      resource: 'volume sample_log',
      id: VOLUME,
    });
    expect(cause.hint).toContain(
      `\`aws ec2 detach-volume --region us-east-1 --volume-id ${VOLUME} --instance-id i-0other\``,
    );
  });
});

describe('deleteLogVolumes', () => {
  it('deletes an available log volume', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: VOLUME, State: 'available' }] });
    expect(await deleteLogVolumes(sampleContext())).toEqual({ deleted: [VOLUME], waiting: false });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeVolumesCommand, { Filters: NAME_FILTER });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteVolumeCommand, { VolumeId: VOLUME });
  });

  it('detaches a volume still attached and waits', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        {
          VolumeId: VOLUME,
          State: 'in-use',
          Attachments: [{ InstanceId: BASTION, State: 'attached', Device: '/dev/sdf' }],
        },
      ],
    });
    expect(await deleteLogVolumes(sampleContext())).toEqual({ deleted: [], waiting: true });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DetachVolumeCommand, {
      VolumeId: VOLUME,
      InstanceId: BASTION,
      Device: '/dev/sdf',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteVolumeCommand);
  });

  it('does nothing when no volume is left', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    expect(await deleteLogVolumes(sampleContext())).toEqual({ deleted: [], waiting: false });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteVolumeCommand);
  });

  it('turns VolumeInUse into DependencyViolation naming the volume', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: VOLUME, State: 'available' }] });
    ec2Mock
      .on(DeleteVolumeCommand)
      .rejects(awsError('VolumeInUse', `Volume ${VOLUME} is currently attached to i-0x`));
    await expectNamedError(deleteLogVolumes(sampleContext()), 'DependencyViolation', {
      resource: 'volume sample_log',
      id: VOLUME,
      awsError: 'VolumeInUse',
    });
  });

  it('tolerates a volume already gone', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: VOLUME, State: 'available' }] });
    ec2Mock.on(DeleteVolumeCommand).rejects(awsError('InvalidVolume.NotFound'));
    expect(await deleteLogVolumes(sampleContext())).toEqual({ deleted: [VOLUME], waiting: false });
  });

  it('is reached through the handler', async () => {
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    expect(await handler({ action: 'delete', spec: RAW_SPEC })).toEqual({ deleted: [], waiting: false });
  });
});
