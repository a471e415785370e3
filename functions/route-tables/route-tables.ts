import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteTableCommand,
  DescribeRouteTablesCommand,
  DisassociateRouteTableCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { tagValue } from '../../src/core/tags.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';

const ANYWHERE = '0.0.0.0/0';

export interface RouteTableRequest {
  vpcId: string;
  subnetId: string;
  /** Which default route: the public subnet goes to the internet gateway, the private one to the NAT gateway. */
  kind: 'public' | 'private';
  /** The internet gateway id (public) or the NAT gateway id (private). */
  targetId: string;
}

/**
 * Makes the subnet's route table right, whatever state it is in: finds or creates the table by tags, makes its
 * default route point at the target (create or replace), and associates it with the subnet (associate or
 * replace another table's association). Never touches the VPC's main route table.
 */
export async function ensureRouteTable(
  { plan, clients }: DeploymentContext,
  request: RouteTableRequest,
): Promise<{ routeTableId: string }> {
  const name = request.kind === 'public' ? plan.names.publicRouteTable : plan.names.privateRouteTable;
  const site = { resource: `route table ${name}` };
  const found = await awsCall(site, () =>
    clients.ec2.send(
      new DescribeRouteTablesCommand({ Filters: deploymentFilters(plan, { name, vpcId: request.vpcId }) }),
    ),
  );
  let table: RouteTable | undefined = found.RouteTables?.[0];
  if (!table) {
    const created = await awsCall(site, () =>
      clients.ec2.send(
        new CreateRouteTableCommand({
          VpcId: request.vpcId,
          TagSpecifications: tagSpecifications(plan, 'route-table', name),
        }),
      ),
    );
    table = created.RouteTable!;
  }
  const routeTableId = table.RouteTableId!;
  await ensureDefaultRoute({ plan, clients }, table, request);
  await ensureAssociation({ plan, clients }, routeTableId, name, request.subnetId);
  return { routeTableId };
}

async function ensureDefaultRoute(
  { clients }: DeploymentContext,
  table: RouteTable,
  request: RouteTableRequest,
) {
  const route = table.Routes?.find((candidate) => candidate.DestinationCidrBlock === ANYWHERE);
  const current = route?.GatewayId ?? route?.NatGatewayId;
  if (current === request.targetId && route?.State !== 'blackhole') return;
  const target =
    request.kind === 'public' ? { GatewayId: request.targetId } : { NatGatewayId: request.targetId };
  const input = { RouteTableId: table.RouteTableId, DestinationCidrBlock: ANYWHERE, ...target };
  const site = { resource: `default route of ${tagValue(table.Tags, 'Name')}`, id: table.RouteTableId };
  await awsCall(site, () =>
    route
      ? clients.ec2.send(new ReplaceRouteCommand(input))
      : clients.ec2.send(new CreateRouteCommand(input)),
  );
}

async function ensureAssociation(
  { clients }: DeploymentContext,
  routeTableId: string,
  name: string,
  subnetId: string,
) {
  const site = { resource: `route table ${name}`, id: routeTableId };
  const current = await awsCall(site, () =>
    clients.ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }),
    ),
  );
  const association = current.RouteTables?.flatMap((table) => table.Associations ?? []).find(
    (candidate) => candidate.SubnetId === subnetId,
  );
  if (association?.RouteTableId === routeTableId) return;
  await awsCall(site, () =>
    association
      ? clients.ec2.send(
          new ReplaceRouteTableAssociationCommand({
            AssociationId: association.RouteTableAssociationId,
            RouteTableId: routeTableId,
          }),
        )
      : clients.ec2.send(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: subnetId })),
  );
}

/** Disassociates and deletes every route table tagged for the deployment (the VPC's main table goes with the VPC). */
export async function deleteRouteTables({
  plan,
  clients,
}: DeploymentContext): Promise<{ deleted: string[] }> {
  const found = await awsCall({ resource: `route tables of ${plan.deployment}` }, () =>
    clients.ec2.send(new DescribeRouteTablesCommand({ Filters: deploymentFilters(plan) })),
  );
  const deleted: string[] = [];
  for (const table of found.RouteTables ?? []) {
    if (table.Associations?.some((association) => association.Main)) continue;
    const site = { resource: `route table ${tagValue(table.Tags, 'Name')}`, id: table.RouteTableId };
    for (const association of table.Associations ?? []) {
      await deleteIfPresent(site, () =>
        clients.ec2.send(
          new DisassociateRouteTableCommand({ AssociationId: association.RouteTableAssociationId }),
        ),
      );
    }
    await deleteIfPresent(site, () =>
      clients.ec2.send(new DeleteRouteTableCommand({ RouteTableId: table.RouteTableId })),
    );
    deleted.push(table.RouteTableId!);
  }
  return { deleted };
}
