import {
  type Address,
  AllocateAddressCommand,
  DescribeAddressesCommand,
  DisassociateAddressCommand,
  ReleaseAddressCommand,
} from '@aws-sdk/client-ec2';
import { DependencyViolation, type DeploymentError } from '../../src/core/errors.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';

export interface ElasticIp {
  allocationId: string;
  publicIp: string;
}

export interface ElasticIps {
  nat: ElasticIp;
  bastion: ElasticIp;
}

async function describeDeploymentAddresses({ plan, clients }: DeploymentContext): Promise<Address[]> {
  const found = await awsCall({ resource: `elastic IPs of ${plan.deployment}` }, () =>
    clients.ec2.send(new DescribeAddressesCommand({ Filters: deploymentFilters(plan) })),
  );
  return found.Addresses ?? [];
}

/** Finds or allocates the NAT gateway's and the bastion's elastic IPs. */
export async function ensureElasticIps(ctx: DeploymentContext): Promise<ElasticIps> {
  const { plan, clients } = ctx;
  const existing = await describeDeploymentAddresses(ctx);
  const ensureOne = async (name: string): Promise<ElasticIp> => {
    let address = existing.find((candidate) => tagValue(candidate.Tags, 'Name') === name);
    if (!address) {
      address = await awsCall({ resource: `elastic IP ${name}` }, () =>
        clients.ec2.send(
          new AllocateAddressCommand({
            Domain: 'vpc',
            TagSpecifications: tagSpecifications(plan, 'elastic-ip', name),
          }),
        ),
      );
    }
    return { allocationId: address.AllocationId!, publicIp: address.PublicIp! };
  };
  return {
    nat: await ensureOne(plan.names.natElasticIp),
    bastion: await ensureOne(plan.names.bastionElasticIp),
  };
}

/**
 * Releases every elastic IP of the deployment. ReleaseAddress refuses an address that is still associated
 * (InvalidIPAddress.InUse, or AuthFailure on EC2-Classic-era accounts: aws-api-behaviour.md, ReleaseAddress), so:
 * an address associated to an instance (a terminated one whose association EC2 has not dropped yet, or a live one)
 * is disassociated first (DisassociateAddress on its association id; gone already is fine); one held by a NAT
 * gateway (no InstanceId: its network interface) cannot be disassociated by us (AWS answers AuthFailure) and is
 * a DependencyViolation, which the ASL retries with backoff while the NAT gateway finishes deleting.
 */
export async function releaseElasticIps(ctx: DeploymentContext): Promise<{ released: string[] }> {
  const released: string[] = [];
  for (const address of await describeDeploymentAddresses(ctx)) {
    const name = tagValue(address.Tags, 'Name') ?? address.AllocationId!;
    const site = { resource: `elastic IP ${name}`, id: address.AllocationId };
    if (address.AssociationId && address.InstanceId) {
      await deleteIfPresent({ ...site, id: address.AssociationId }, () =>
        ctx.clients.ec2.send(new DisassociateAddressCommand({ AssociationId: address.AssociationId })),
      );
    } else if (address.AssociationId) {
      throw new DependencyViolation({
        ...site,
        awsError: 'InvalidIPAddress.InUse',
        message: `elastic IP ${address.PublicIp} is still associated (${address.AssociationId}, network interface ${address.NetworkInterfaceId ?? '?'})`,
        hint: 'Waiting for the NAT gateway using it to be deleted; the workflow retries. If it stays, delete that NAT gateway and run delete again.',
      });
    }
    try {
      await deleteIfPresent(site, () =>
        ctx.clients.ec2.send(new ReleaseAddressCommand({ AllocationId: address.AllocationId })),
      );
    } catch (error) {
      // AuthFailure is the other answer documented for an address still associated: wait and retry like InUse.
      if ((error as DeploymentError).failure?.awsError !== 'AuthFailure') throw error;
      throw new DependencyViolation({ ...(error as DeploymentError).failure, awsError: 'AuthFailure' });
    }
    released.push(address.AllocationId!);
  }
  return { released };
}
