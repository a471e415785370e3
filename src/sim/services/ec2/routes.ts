import { filterOf } from './filters.js';
import { attachedInternetGateway } from './lifecycle.js';
import {
  type Ctx,
  dependencyViolation,
  type Ec2State,
  ec2Error,
  invalidParameter,
  lookup,
  lookupAll,
  missingParameter,
  parseCidr,
  present,
  type Route,
  type RouteTable,
  type RouteTableAssociation,
  tagsFromSpecifications,
} from './state.js';

/** A new route table with its `local` route; `main` makes it the VPC's main table. */
export function newRouteTable(ctx: Ctx, vpcId: string, main: boolean, tags = [] as RouteTable['Tags']) {
  const id = ctx.newId('rtb');
  const table: RouteTable = {
    RouteTableId: id,
    VpcId: vpcId,
    OwnerId: ctx.caller.accountId,
    Routes: [
      {
        DestinationCidrBlock: ctx.state.vpcs[vpcId].CidrBlock,
        GatewayId: 'local',
        Origin: 'CreateRouteTable',
      },
    ],
    Associations: main
      ? [
          {
            RouteTableAssociationId: ctx.newId('rtbassoc'),
            RouteTableId: id,
            Main: true,
            AssociationState: { State: 'associated' },
          },
        ]
      : [],
    PropagatingVgws: [],
    Tags: tags,
  };
  ctx.state.routeTables[id] = table;
  return table;
}

/** A route is a blackhole when its target is gone: a NAT gateway not (yet or any more) usable, a detached IGW. */
function routeState(state: Ec2State, table: RouteTable, route: Route): 'active' | 'blackhole' {
  if (route.NatGatewayId) {
    const nat = state.natGateways[route.NatGatewayId];
    return nat && (nat.State === 'pending' || nat.State === 'available') ? 'active' : 'blackhole';
  }
  if (route.GatewayId?.startsWith('igw-')) {
    return attachedInternetGateway(state, table.VpcId)?.InternetGatewayId === route.GatewayId
      ? 'active'
      : 'blackhole';
  }
  return 'active';
}

export function routeTableOutput(state: Ec2State, table: RouteTable) {
  return present({
    ...table,
    Routes: table.Routes.map((route) => ({ ...route, State: routeState(state, table, route) })),
  });
}

const ROUTE_TABLE_FILTERS = {
  'route-table-id': (table: RouteTable) => table.RouteTableId,
  'vpc-id': (table: RouteTable) => table.VpcId,
  'owner-id': (table: RouteTable) => table.OwnerId,
  'association.subnet-id': (table: RouteTable) => table.Associations.map((a) => a.SubnetId),
  'association.main': (table: RouteTable) => table.Associations.map((a) => a.Main),
  'association.route-table-association-id': (table: RouteTable) =>
    table.Associations.map((a) => a.RouteTableAssociationId),
  'association.route-table-id': (table: RouteTable) => table.Associations.map((a) => a.RouteTableId),
  'route.destination-cidr-block': (table: RouteTable) => table.Routes.map((r) => r.DestinationCidrBlock),
  'route.gateway-id': (table: RouteTable) => table.Routes.map((r) => r.GatewayId),
  'route.nat-gateway-id': (table: RouteTable) => table.Routes.map((r) => r.NatGatewayId),
};

function describeRouteTables(ctx: Ctx, input: any) {
  const ids: unknown[] = input.RouteTableIds ?? [];
  const tables =
    ids.length > 0 ? lookupAll(ctx.state, 'routeTables', ids) : Object.values(ctx.state.routeTables);
  const matches = filterOf(input.Filters, ROUTE_TABLE_FILTERS);
  return { RouteTables: tables.filter(matches).map((table) => routeTableOutput(ctx.state, table)) };
}

function createRouteTable(ctx: Ctx, input: any) {
  if (!input.VpcId) throw missingParameter('vpcId');
  lookup(ctx.state, 'vpcs', input.VpcId);
  const table = newRouteTable(
    ctx,
    input.VpcId,
    false,
    tagsFromSpecifications(input.TagSpecifications, 'route-table'),
  );
  return { RouteTable: routeTableOutput(ctx.state, table) };
}

function deleteRouteTable(ctx: Ctx, input: any) {
  const table = lookup(ctx.state, 'routeTables', input.RouteTableId);
  if (table.Associations.length > 0) {
    throw dependencyViolation(
      `The routeTable '${table.RouteTableId}' has dependencies and cannot be deleted.`,
    );
  }
  delete ctx.state.routeTables[table.RouteTableId];
  return {};
}

/** The route's target, checked: an internet gateway of the same VPC or an existing NAT gateway. */
function routeTarget(ctx: Ctx, table: RouteTable, input: any): Pick<Route, 'GatewayId' | 'NatGatewayId'> {
  if (input.GatewayId) {
    const gateway = ctx.state.internetGateways[input.GatewayId];
    if (!gateway) {
      throw ec2Error('InvalidGatewayID.NotFound', `The gateway ID '${input.GatewayId}' does not exist`);
    }
    if (!gateway.Attachments.some((attachment) => attachment.VpcId === table.VpcId)) {
      throw invalidParameter(
        `route table ${table.RouteTableId} and network gateway ${input.GatewayId} belong to different networks`,
      );
    }
    return { GatewayId: input.GatewayId };
  }
  if (input.NatGatewayId) {
    const nat = lookup(ctx.state, 'natGateways', input.NatGatewayId);
    if (nat.VpcId !== table.VpcId) {
      throw invalidParameter(
        `route table ${table.RouteTableId} and NAT gateway ${nat.NatGatewayId} belong to different networks`,
      );
    }
    return { NatGatewayId: input.NatGatewayId };
  }
  throw missingParameter('gatewayId or natGatewayId');
}

function destinationOf(input: any): string {
  const cidr = parseCidr(input.DestinationCidrBlock);
  if (!cidr) {
    throw invalidParameter(
      `Value (${String(input.DestinationCidrBlock)}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`,
    );
  }
  return cidr.text;
}

function createRoute(ctx: Ctx, input: any) {
  const table = lookup(ctx.state, 'routeTables', input.RouteTableId);
  const destination = destinationOf(input);
  if (table.Routes.some((route) => route.DestinationCidrBlock === destination)) {
    throw ec2Error('RouteAlreadyExists', `The route identified by ${destination} already exists.`);
  }
  table.Routes.push({
    DestinationCidrBlock: destination,
    ...routeTarget(ctx, table, input),
    Origin: 'CreateRoute',
  });
  return { Return: true };
}

/** The table's route to `destination`, or EC2's InvalidRoute.NotFound. The local route cannot be changed. */
function existingRoute(table: RouteTable, destination: string): number {
  const index = table.Routes.findIndex((route) => route.DestinationCidrBlock === destination);
  if (index < 0) {
    throw ec2Error(
      'InvalidRoute.NotFound',
      `no route with destination-cidr-block ${destination} in route table ${table.RouteTableId}`,
    );
  }
  if (table.Routes[index].GatewayId === 'local') {
    throw invalidParameter(`cannot remove local route ${destination} in route table ${table.RouteTableId}`);
  }
  return index;
}

function replaceRoute(ctx: Ctx, input: any) {
  const table = lookup(ctx.state, 'routeTables', input.RouteTableId);
  const destination = destinationOf(input);
  const index = existingRoute(table, destination);
  table.Routes[index] = {
    DestinationCidrBlock: destination,
    ...routeTarget(ctx, table, input),
    Origin: 'CreateRoute',
  };
  return {};
}

function deleteRoute(ctx: Ctx, input: any) {
  const table = lookup(ctx.state, 'routeTables', input.RouteTableId);
  table.Routes.splice(existingRoute(table, destinationOf(input)), 1);
  return {};
}

/** The association with this id, and the table holding it. */
function associationById(
  state: Ec2State,
  id: unknown,
): { table: RouteTable; association: RouteTableAssociation } {
  for (const table of Object.values(state.routeTables)) {
    const association = table.Associations.find((candidate) => candidate.RouteTableAssociationId === id);
    if (association) return { table, association };
  }
  throw ec2Error('InvalidAssociationID.NotFound', `The association ID '${String(id)}' does not exist`);
}

function associateRouteTable(ctx: Ctx, input: any) {
  const table = lookup(ctx.state, 'routeTables', input.RouteTableId);
  const subnet = lookup(ctx.state, 'subnets', input.SubnetId);
  if (subnet.VpcId !== table.VpcId) {
    throw invalidParameter(
      `Route table ${table.RouteTableId} and subnet ${subnet.SubnetId} belong to different networks`,
    );
  }
  const current = Object.values(ctx.state.routeTables).find((candidate) =>
    candidate.Associations.some((association) => association.SubnetId === subnet.SubnetId),
  );
  if (current)
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `the specified association for route table ${current.RouteTableId} conflicts with an existing association`,
    );
  const association: RouteTableAssociation = {
    RouteTableAssociationId: ctx.newId('rtbassoc'),
    RouteTableId: table.RouteTableId,
    Main: false,
    SubnetId: subnet.SubnetId,
    AssociationState: { State: 'associated' },
  };
  table.Associations.push(association);
  return {
    AssociationId: association.RouteTableAssociationId,
    AssociationState: association.AssociationState,
  };
}

function disassociateRouteTable(ctx: Ctx, input: any) {
  const { table, association } = associationById(ctx.state, input.AssociationId);
  if (association.Main) {
    throw invalidParameter(
      `cannot disassociate the main route table association ${association.RouteTableAssociationId}`,
    );
  }
  table.Associations = table.Associations.filter((candidate) => candidate !== association);
  return {};
}

/** Moves an association (a subnet's, or the VPC's main one) to another table of the same VPC. */
function replaceRouteTableAssociation(ctx: Ctx, input: any) {
  const { table, association } = associationById(ctx.state, input.AssociationId);
  const target = lookup(ctx.state, 'routeTables', input.RouteTableId);
  if (target.VpcId !== table.VpcId) {
    throw invalidParameter(
      `Route table ${target.RouteTableId} belongs to another network than ${table.RouteTableId}`,
    );
  }
  table.Associations = table.Associations.filter((candidate) => candidate !== association);
  const moved: RouteTableAssociation = {
    ...association,
    RouteTableAssociationId: ctx.newId('rtbassoc'),
    RouteTableId: target.RouteTableId,
  };
  target.Associations.push(moved);
  return { NewAssociationId: moved.RouteTableAssociationId, AssociationState: moved.AssociationState };
}

export const routeOperations = {
  CreateRouteTable: createRouteTable,
  DescribeRouteTables: describeRouteTables,
  DeleteRouteTable: deleteRouteTable,
  CreateRoute: createRoute,
  ReplaceRoute: replaceRoute,
  DeleteRoute: deleteRoute,
  AssociateRouteTable: associateRouteTable,
  DisassociateRouteTable: disassociateRouteTable,
  ReplaceRouteTableAssociation: replaceRouteTableAssociation,
};
