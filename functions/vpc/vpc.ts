import { CreateVpcCommand, DeleteVpcCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ResourceConflict, WaitTimedOut } from '../../src/core/errors.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';
import { deleteDeploymentCommand } from '../shared/remedies.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

export interface VpcResult {
  vpcId: string;
  state: string;
}

/** Finds the deployment's VPC by tags, or creates it. Returns at once; the ASL polls until it is available. */
export async function ensureVpc({ plan, clients }: DeploymentContext): Promise<VpcResult> {
  const name = plan.names.vpc;
  const found = await awsCall({ resource: `VPC ${name}` }, () =>
    clients.ec2.send(new DescribeVpcsCommand({ Filters: deploymentFilters(plan, { name }) })),
  );
  const existing = found.Vpcs?.[0];
  if (existing) {
    if (existing.CidrBlock !== plan.network.vpcCidr) {
      throw new ResourceConflict({
        resource: `VPC ${name}`,
        id: existing.VpcId,
        message: `the VPC has CIDR ${existing.CidrBlock}, the deployment needs ${plan.network.vpcCidr}`,
        hint: `Delete the deployment (${deleteDeploymentCommand(plan)}) before creating it again with another network.`,
      });
    }
    return { vpcId: existing.VpcId!, state: existing.State! };
  }
  const created = await awsCall({ resource: `VPC ${name}` }, () =>
    clients.ec2.send(
      new CreateVpcCommand({
        CidrBlock: plan.network.vpcCidr,
        TagSpecifications: tagSpecifications(plan, 'vpc', name),
      }),
    ),
  );
  return { vpcId: created.Vpc!.VpcId!, state: created.Vpc!.State! };
}

/** The VPC's current state, for the wait loop. */
export async function vpcStatus(
  { plan, clients }: DeploymentContext,
  vpcId: string,
  round: Round = {},
): Promise<VpcResult> {
  const site = { resource: `VPC ${plan.names.vpc}`, id: vpcId };
  const found = await awsCall(site, () => clients.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] })));
  const state = found.Vpcs![0].State!;
  if (state !== 'available' && isLastRound(round)) {
    throw new WaitTimedOut({
      ...site,
      message: `the VPC is still ${state} ${roundsText(round)}`,
      hint: 'Check the AWS Health Dashboard for EC2 in the region, then re-run create.',
    });
  }
  return { vpcId, state };
}

/** Deletes every VPC tagged for the deployment. A remaining dependency is a DependencyViolation (retried). */
export async function deleteVpcs({ plan, clients }: DeploymentContext): Promise<{ deleted: string[] }> {
  const found = await awsCall({ resource: `VPC ${plan.names.vpc}` }, () =>
    clients.ec2.send(new DescribeVpcsCommand({ Filters: deploymentFilters(plan) })),
  );
  const deleted: string[] = [];
  for (const vpc of found.Vpcs ?? []) {
    await deleteIfPresent({ resource: `VPC ${plan.names.vpc}`, id: vpc.VpcId }, () =>
      clients.ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })),
    );
    deleted.push(vpc.VpcId!);
  }
  return { deleted };
}
