import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import { ProvisioningFailed, ResourceConflict, WaitTimedOut } from '../../src/core/errors.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';
import { liveBastion } from '../shared/fleet.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

/** The API device name of the bastion log volume, as in capideploy; scripts find it by volume id under /dev/disk/by-id. */
export const LOG_VOLUME_DEVICE = '/dev/sdf';

export interface VolumeResult {
  volumeId: string;
  state: string;
  /** True only once the attachment to the bastion is `attached`; the ASL loops until then. */
  attached: boolean;
}

const STATE_RANK: Record<string, number> = { 'in-use': 0, available: 1, creating: 2 };

async function describeLogVolumes({ plan, clients }: DeploymentContext): Promise<Volume[]> {
  const name = plan.names.logVolume;
  const found = await awsCall({ resource: `volume ${name}` }, () =>
    clients.ec2.send(new DescribeVolumesCommand({ Filters: deploymentFilters(plan, { name }) })),
  );
  return found.Volumes ?? [];
}

/**
 * Ensures the bastion log volume (encrypted gp3 in the deployment's zone) exists and is attached to the bastion as
 * /dev/sdf. One step per call, so the ASL's wait loop sees progress: create, then attach once `available`, then
 * report `attached` once the attachment says so.
 */
export async function ensureLogVolume(ctx: DeploymentContext, round: Round = {}): Promise<VolumeResult> {
  const { plan, clients } = ctx;
  const name = plan.names.logVolume;
  const instance = await liveBastion(ctx, 'the log volume has nothing to attach to');
  const volumes = await describeLogVolumes(ctx);
  const volume = volumes
    .filter((candidate) => (candidate.State ?? '') in STATE_RANK)
    .sort((a, b) => STATE_RANK[a.State!] - STATE_RANK[b.State!])[0];

  const broken = volumes.find((candidate) => candidate.State === 'error');
  if (!volume && broken) {
    throw new ProvisioningFailed({
      resource: `volume ${name}`,
      id: broken.VolumeId,
      message: 'the volume is in state error',
      hint: `Delete the volume (\`aws ec2 delete-volume --region ${plan.region} --volume-id ${broken.VolumeId}\`) and re-run create to make a new one.`,
    });
  }
  if (!volume) {
    const created = await awsCall({ resource: `volume ${name}` }, () =>
      clients.ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: plan.availabilityZone,
          Size: plan.logVolume.sizeGiB,
          VolumeType: 'gp3',
          Encrypted: true,
          // Bound to this bastion's lifetime: a retry after a lost answer returns the same volume, while a
          // bastion launched again later (after a delete) gets a fresh one.
          ClientToken: `${plan.deployment}-log-${instance.InstanceId}`,
          TagSpecifications: tagSpecifications(plan, 'volume', name),
        }),
      ),
    );
    return { volumeId: created.VolumeId!, state: created.State!, attached: false };
  }

  const site = { resource: `volume ${name}`, id: volume.VolumeId };
  const result = (attached: boolean): VolumeResult => ({
    volumeId: volume.VolumeId!,
    state: volume.State!,
    attached,
  });
  if (volume.State === 'creating') {
    if (isLastRound(round)) {
      throw new WaitTimedOut({
        ...site,
        message: `the volume is still creating ${roundsText(round)}`,
        hint: `Check the AWS Health Dashboard for EBS in the zone; delete the volume (\`aws ec2 delete-volume --region ${plan.region} --volume-id ${volume.VolumeId}\`) and re-run create.`,
      });
    }
    return result(false);
  }
  if (volume.State === 'available') {
    if (isLastRound(round)) {
      throw new WaitTimedOut({
        ...site,
        message: `the volume is still not attached to ${instance.InstanceId} ${roundsText(round)}`,
        hint: `Check the bastion is running, attach the volume (\`aws ec2 attach-volume --region ${plan.region} --volume-id ${volume.VolumeId} --instance-id ${instance.InstanceId} --device ${LOG_VOLUME_DEVICE}\`) or delete it, then re-run create.`,
      });
    }
    if (instance.State?.Name !== 'running') return result(false);
    await awsCall(site, () =>
      clients.ec2.send(
        new AttachVolumeCommand({
          VolumeId: volume.VolumeId,
          InstanceId: instance.InstanceId,
          Device: LOG_VOLUME_DEVICE,
        }),
      ),
    );
    return result(false);
  }
  const attachment = volume.Attachments?.find((candidate) => candidate.State !== 'detached');
  if (attachment && attachment.InstanceId !== instance.InstanceId) {
    throw new ResourceConflict({
      ...site,
      message: `the volume is attached to ${attachment.InstanceId}, not to the bastion ${instance.InstanceId}`,
      hint: `Detach the volume from the other instance (\`aws ec2 detach-volume --region ${plan.region} --volume-id ${volume.VolumeId} --instance-id ${attachment.InstanceId}\`) and re-run create.`,
    });
  }
  if (attachment?.State === 'attached') return result(true);
  if (isLastRound(round)) {
    throw new WaitTimedOut({
      ...site,
      message: `the volume is still ${attachment?.State ?? volume.State} on ${instance.InstanceId} ${roundsText(round)}`,
      hint: `Detach the volume (\`aws ec2 detach-volume --region ${plan.region} --volume-id ${volume.VolumeId} --force\`), or stop and start the bastion (\`aws ec2 stop-instances --region ${plan.region} --instance-ids ${instance.InstanceId}\`, then \`aws ec2 start-instances\` with the same id), then re-run create.`,
    });
  }
  return result(false);
}

/**
 * Deletes the bastion log volume: detaches it first when it is still attached (normally instances are terminated
 * before, which detaches it), and deletes it once `available`. `waiting` says a detach or create is in progress.
 * A volume AWS still reports in use is a DependencyViolation, which the ASL retries.
 */
export async function deleteLogVolumes(
  ctx: DeploymentContext,
  round: Round = {},
): Promise<{ deleted: string[]; waiting: boolean }> {
  const { plan, clients } = ctx;
  const deleted: string[] = [];
  let waiting = false;
  for (const volume of await describeLogVolumes(ctx)) {
    const site = { resource: `volume ${plan.names.logVolume}`, id: volume.VolumeId };
    switch (volume.State) {
      case 'deleting':
      case 'deleted':
        deleted.push(volume.VolumeId!);
        break;
      case 'creating':
        waiting = true;
        break;
      case 'in-use':
        for (const attachment of volume.Attachments ?? []) {
          if (attachment.State === 'attached' || attachment.State === 'attaching') {
            await deleteIfPresent(site, () =>
              clients.ec2.send(
                new DetachVolumeCommand({
                  VolumeId: volume.VolumeId,
                  InstanceId: attachment.InstanceId,
                  Device: attachment.Device,
                }),
              ),
            );
          }
        }
        waiting = true;
        break;
      default:
        await deleteIfPresent(site, () =>
          clients.ec2.send(new DeleteVolumeCommand({ VolumeId: volume.VolumeId })),
        );
        deleted.push(volume.VolumeId!);
    }
  }
  if (waiting && isLastRound(round)) {
    throw new WaitTimedOut({
      resource: `volume ${plan.names.logVolume}`,
      message: `the log volume is still detaching or creating ${roundsText(round)}`,
      hint: `Detach it (\`aws ec2 detach-volume --region ${plan.region} --volume-id <id> --force\`), then run delete again.`,
    });
  }
  return { deleted, waiting };
}
