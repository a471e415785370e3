import { AssociateAddressCommand, DescribeAddressesCommand } from '@aws-sdk/client-ec2';
import { ProvisioningFailed, ResourceConflict } from '../../src/core/errors.js';
import { awsCall } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { liveBastion } from '../shared/fleet.js';

export interface BastionAddressResult {
  publicIp: string;
  associationId: string;
}

/**
 * Gives the bastion (found by the deployment tags and its Name) the bastion elastic IP, unless the address is
 * already associated with it. An address held by another instance is a conflict, never silently moved.
 */
export async function associateBastionAddress(
  ctx: DeploymentContext,
  allocationId: string,
): Promise<BastionAddressResult> {
  const { plan, clients } = ctx;
  const instance = await liveBastion(ctx, 'the elastic IP has nothing to go to');
  const site = { resource: `elastic IP ${plan.names.bastionElasticIp}`, id: allocationId };
  const found = await awsCall(site, () =>
    clients.ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] })),
  );
  const address = found.Addresses?.[0];
  if (!address) {
    throw new ProvisioningFailed({
      ...site,
      awsError: 'InvalidAllocationID.NotFound',
      message: `elastic IP ${allocationId} does not exist`,
      hint: 'The bastion elastic IP was released; re-run create to allocate a new one.',
    });
  }
  if (address.AssociationId && address.InstanceId === instance.InstanceId) {
    return { publicIp: address.PublicIp!, associationId: address.AssociationId };
  }
  if (address.AssociationId) {
    throw new ResourceConflict({
      ...site,
      message: `elastic IP ${address.PublicIp} is associated with ${address.InstanceId ?? address.NetworkInterfaceId}, not with the bastion ${instance.InstanceId}`,
      hint: 'Disassociate the address from the other instance (aws ec2 disassociate-address) and re-run create.',
    });
  }
  const associated = await awsCall(site, () =>
    clients.ec2.send(
      new AssociateAddressCommand({
        AllocationId: allocationId,
        InstanceId: instance.InstanceId,
        AllowReassociation: false,
      }),
    ),
  );
  return { publicIp: address.PublicIp!, associationId: associated.AssociationId! };
}
