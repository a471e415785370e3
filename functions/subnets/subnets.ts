import {
  CreateSubnetCommand,
  DeleteSubnetCommand,
  DescribeSubnetsCommand,
  type Subnet,
} from '@aws-sdk/client-ec2';
import { ResourceConflict } from '../../src/core/errors.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';
import { deleteDeploymentCommand } from '../shared/remedies.js';

export interface SubnetsResult {
  privateSubnetId: string;
  publicSubnetId: string;
}

/** Finds or creates the private and public subnets, both in the spec's availability zone. */
export async function ensureSubnets(
  { plan, clients }: DeploymentContext,
  vpcId: string,
): Promise<SubnetsResult> {
  const found = await awsCall({ resource: `subnets of ${plan.names.vpc}`, id: vpcId }, () =>
    clients.ec2.send(new DescribeSubnetsCommand({ Filters: deploymentFilters(plan, { vpcId }) })),
  );
  const ensureOne = async (name: string, cidr: string): Promise<string> => {
    const existing = found.Subnets?.find((subnet: Subnet) => tagValue(subnet.Tags, 'Name') === name);
    if (existing) {
      if (existing.CidrBlock !== cidr || existing.AvailabilityZone !== plan.availabilityZone) {
        throw new ResourceConflict({
          resource: `subnet ${name}`,
          id: existing.SubnetId,
          message: `the subnet is ${existing.CidrBlock} in ${existing.AvailabilityZone}, the plan needs ${cidr} in ${plan.availabilityZone}`,
          hint: `The node count or zone changed since the subnet was made; delete the deployment (${deleteDeploymentCommand(plan)}) and create it again.`,
        });
      }
      return existing.SubnetId!;
    }
    const created = await awsCall({ resource: `subnet ${name}` }, () =>
      clients.ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: cidr,
          AvailabilityZone: plan.availabilityZone,
          TagSpecifications: tagSpecifications(plan, 'subnet', name),
        }),
      ),
    );
    return created.Subnet!.SubnetId!;
  };
  return {
    privateSubnetId: await ensureOne(plan.names.privateSubnet, plan.network.privateSubnetCidr),
    publicSubnetId: await ensureOne(plan.names.publicSubnet, plan.network.publicSubnetCidr),
  };
}

/** Deletes every subnet tagged for the deployment. */
export async function deleteSubnets({ plan, clients }: DeploymentContext): Promise<{ deleted: string[] }> {
  const found = await awsCall({ resource: `subnets of ${plan.deployment}` }, () =>
    clients.ec2.send(new DescribeSubnetsCommand({ Filters: deploymentFilters(plan) })),
  );
  const deleted: string[] = [];
  for (const subnet of found.Subnets ?? []) {
    const site = { resource: `subnet ${tagValue(subnet.Tags, 'Name')}`, id: subnet.SubnetId };
    await deleteIfPresent(site, () =>
      clients.ec2.send(new DeleteSubnetCommand({ SubnetId: subnet.SubnetId })),
    );
    deleted.push(subnet.SubnetId!);
  }
  return { deleted };
}
