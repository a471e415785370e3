import {
  CreateNatGatewayCommand,
  DeleteNatGatewayCommand,
  DescribeNatGatewaysCommand,
  type NatGateway,
} from '@aws-sdk/client-ec2';
import { ProvisioningFailed, WaitTimedOut } from '../../src/core/errors.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';

export interface NatGatewayResult {
  natGatewayId: string;
  state: string;
}

/** capideploy waits 180 s; AWS documents "a few minutes". Past this the wait fails instead of polling forever. */
export const NAT_GATEWAY_TIMEOUT_SECONDS = 600;
const LIVE_STATES = new Set(['pending', 'available']);

async function describeNatGateways({ plan, clients }: DeploymentContext): Promise<NatGateway[]> {
  const found = await awsCall({ resource: `NAT gateway ${plan.names.natGateway}` }, () =>
    clients.ec2.send(
      new DescribeNatGatewaysCommand({ Filter: deploymentFilters(plan, { name: plan.names.natGateway }) }),
    ),
  );
  return found.NatGateways ?? [];
}

/**
 * Finds a live (available, else pending) NAT gateway of the deployment, or creates one in the public subnet with
 * the NAT elastic IP. The ClientToken holds the public subnet's id and counts earlier failed gateways: a redrive
 * returns the same gateway, a retry after a `failed` one creates a fresh gateway, and a deployment deleted and
 * created again (new subnet) gets a new token, since EC2 keeps a token bound to its deleted gateway.
 */
export async function ensureNatGateway(
  ctx: DeploymentContext,
  publicSubnetId: string,
  allocationId: string,
): Promise<NatGatewayResult> {
  const { plan, clients } = ctx;
  const gateways = await describeNatGateways(ctx);
  const live =
    gateways.find((gateway) => gateway.State === 'available') ??
    gateways.find((gateway) => LIVE_STATES.has(gateway.State ?? ''));
  if (live) return { natGatewayId: live.NatGatewayId!, state: live.State! };
  const failedBefore = gateways.filter((gateway) => gateway.State === 'failed').length;
  const created = await awsCall({ resource: `NAT gateway ${plan.names.natGateway}` }, () =>
    clients.ec2.send(
      new CreateNatGatewayCommand({
        SubnetId: publicSubnetId,
        AllocationId: allocationId,
        ConnectivityType: 'public',
        ClientToken: `${plan.deployment}-natgw-${publicSubnetId}-${failedBefore}`,
        TagSpecifications: tagSpecifications(plan, 'natgateway', plan.names.natGateway),
      }),
    ),
  );
  return { natGatewayId: created.NatGateway!.NatGatewayId!, state: created.NatGateway!.State! };
}

/** The NAT gateway's state for the wait loop; `failed` and a wait past the timeout are terminal errors. */
export async function natGatewayStatus(
  { plan, clients }: DeploymentContext,
  natGatewayId: string,
): Promise<NatGatewayResult> {
  const site = { resource: `NAT gateway ${plan.names.natGateway}`, id: natGatewayId };
  const found = await awsCall(site, () =>
    clients.ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: [natGatewayId] })),
  );
  const gateway = found.NatGateways![0];
  if (gateway.State === 'failed') {
    throw new ProvisioningFailed({
      ...site,
      awsError: gateway.FailureCode ?? null,
      message: gateway.FailureMessage ?? 'the NAT gateway failed',
      hint: 'Re-run create: a new NAT gateway is made. If it fails again, check the elastic IP and the internet gateway.',
    });
  }
  const ageSeconds = (Date.now() - (gateway.CreateTime?.getTime() ?? Date.now())) / 1000;
  if (gateway.State === 'pending' && ageSeconds > NAT_GATEWAY_TIMEOUT_SECONDS) {
    throw new WaitTimedOut({
      ...site,
      message: `the NAT gateway is still pending after ${Math.round(ageSeconds)} s`,
      hint: 'Check the AWS Health Dashboard for the zone, then re-run create to resume.',
    });
  }
  return { natGatewayId, state: gateway.State! };
}

/** Starts deleting every live NAT gateway of the deployment; `natGatewaysGone` tells when they are deleted. */
export async function deleteNatGateways(ctx: DeploymentContext): Promise<{ deleting: string[] }> {
  const deleting: string[] = [];
  for (const gateway of await describeNatGateways(ctx)) {
    if (gateway.State === 'deleted') continue;
    const site = { resource: `NAT gateway ${ctx.plan.names.natGateway}`, id: gateway.NatGatewayId };
    if (gateway.State !== 'deleting') {
      await deleteIfPresent(site, () =>
        ctx.clients.ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: gateway.NatGatewayId })),
      );
    }
    deleting.push(gateway.NatGatewayId!);
  }
  return { deleting };
}

/** True when no NAT gateway of the deployment is left in any state but `deleted` or `failed`. */
export async function natGatewaysGone(
  ctx: DeploymentContext,
): Promise<{ gone: boolean; remaining: string[] }> {
  const remaining = (await describeNatGateways(ctx))
    .filter((gateway) => gateway.State !== 'deleted' && gateway.State !== 'failed')
    .map((gateway) => gateway.NatGatewayId!);
  return { gone: remaining.length === 0, remaining };
}
