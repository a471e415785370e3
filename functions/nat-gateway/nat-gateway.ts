import {
  CreateNatGatewayCommand,
  DeleteNatGatewayCommand,
  DescribeNatGatewaysCommand,
  type NatGateway,
} from '@aws-sdk/client-ec2';
import { ProvisioningFailed, ResourceConflict, WaitTimedOut } from '../../src/core/errors.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';
import { deleteNatGatewayCommands } from '../shared/remedies.js';
import { isLastRound, type Round, roundsText } from '../shared/rounds.js';

export interface NatGatewayResult {
  natGatewayId: string;
  state: string;
}

const LIVE_STATES = new Set(['pending', 'available']);
/** Gateways that will never serve again, each holding the client token it was created with. */
const SPENT_STATES = new Set(['failed', 'deleting', 'deleted']);
/** How many further token generations one ensure tries when EC2 answers a token with a spent gateway. */
const MAX_TOKEN_GENERATIONS = 3;

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
 * the NAT elastic IP. The ClientToken holds the public subnet's id and a generation, the number of spent gateways
 * (failed, deleting or deleted) still listed: a redrive returns the same gateway, a retry after a failed gateway
 * or one the operator deleted creates a fresh one, and a deployment deleted and created again (new subnet) gets a
 * new token. A retried token returns the token's first gateway, "the result may show updated status", and the EC2
 * idempotency guide gives no lifetime for a token after its gateway is gone
 * (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html), so a token answered with a spent
 * gateway moves on to the next generation. A gateway still deleting holds the elastic IP ("Deleting a public NAT
 * gateway disassociates its Elastic IP address", which is done once it is deleted): a conflict to wait out, not a
 * create to try.
 */
export async function ensureNatGateway(
  ctx: DeploymentContext,
  publicSubnetId: string,
  allocationId: string,
): Promise<NatGatewayResult> {
  const { plan, clients } = ctx;
  const site = { resource: `NAT gateway ${plan.names.natGateway}` };
  const gateways = await describeNatGateways(ctx);
  const live =
    gateways.find((gateway) => gateway.State === 'available') ??
    gateways.find((gateway) => LIVE_STATES.has(gateway.State ?? ''));
  if (live) return { natGatewayId: live.NatGatewayId!, state: live.State! };
  const deleting = gateways.find((gateway) => gateway.State === 'deleting');
  if (deleting) {
    const id = deleting.NatGatewayId!;
    throw new ResourceConflict({
      ...site,
      id,
      message: `NAT gateway ${id} is still deleting and holds the elastic IP ${allocationId}`,
      hint: `Wait until it is deleted (on AWS \`aws ec2 wait nat-gateway-deleted --region ${plan.region} --nat-gateway-ids ${id}\`), then re-run create.`,
    });
  }
  const spent = gateways.filter((gateway) => SPENT_STATES.has(gateway.State ?? '')).length;
  for (let generation = spent; ; generation++) {
    const token = `${plan.deployment}-natgw-${publicSubnetId}-${generation}`;
    const created = await awsCall(site, () =>
      clients.ec2.send(
        new CreateNatGatewayCommand({
          SubnetId: publicSubnetId,
          AllocationId: allocationId,
          ConnectivityType: 'public',
          ClientToken: token,
          TagSpecifications: tagSpecifications(plan, 'natgateway', plan.names.natGateway),
        }),
      ),
    );
    const gateway = created.NatGateway!;
    if (!SPENT_STATES.has(gateway.State ?? ''))
      return { natGatewayId: gateway.NatGatewayId!, state: gateway.State! };
    if (generation - spent >= MAX_TOKEN_GENERATIONS) {
      throw new ProvisioningFailed({
        ...site,
        id: gateway.NatGatewayId ?? null,
        message: `CreateNatGateway keeps returning a ${gateway.State} gateway for client token ${token}`,
        hint: 'Re-run create in an hour, once the spent NAT gateways are gone from DescribeNatGateways.',
      });
    }
  }
}

/** The NAT gateway's state for the wait loop; `failed` and a wait past the timeout are terminal errors. */
export async function natGatewayStatus(
  { plan, clients }: DeploymentContext,
  natGatewayId: string,
  round: Round = {},
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
      hint: 'Re-run create: it makes a new NAT gateway (a failed one holds nothing, and AWS removes it after about an hour). If that fails too, check that the elastic IP is free and the internet gateway is attached.',
    });
  }
  const ageSeconds = (Date.now() - (gateway.CreateTime?.getTime() ?? Date.now())) / 1000;
  if (gateway.State === 'pending' && isLastRound(round)) {
    throw new WaitTimedOut({
      ...site,
      message: `the NAT gateway is still pending ${roundsText(round)}, ${Math.round(ageSeconds)} s after it was created`,
      hint: `AWS left the NAT gateway pending (check the AWS Health Dashboard for the zone). Delete it and wait until it is deleted (${deleteNatGatewayCommands(plan, natGatewayId)}), then re-run create: it makes a new one.`,
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
  round: Round = {},
): Promise<{ gone: boolean; remaining: string[] }> {
  const remaining = (await describeNatGateways(ctx))
    .filter((gateway) => gateway.State !== 'deleted' && gateway.State !== 'failed')
    .map((gateway) => gateway.NatGatewayId!);
  if (remaining.length > 0 && isLastRound(round)) {
    throw new WaitTimedOut({
      resource: `NAT gateway ${ctx.plan.names.natGateway}`,
      id: remaining[0],
      message: `the NAT gateway is still not deleted ${roundsText(round)}`,
      hint: `Wait until it is deleted (\`aws ec2 wait nat-gateway-deleted --region ${ctx.plan.region} --nat-gateway-ids ${remaining[0]}\`), then run delete again.`,
    });
  }
  return { gone: remaining.length === 0, remaining };
}
