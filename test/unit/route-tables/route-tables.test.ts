import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteTableCommand,
  DescribeRouteTablesCommand,
  type DescribeRouteTablesCommandInput,
  DisassociateRouteTableCommand,
  EC2Client,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/route-tables/handler.js';
import { deleteRouteTables, ensureRouteTable } from '../../../functions/route-tables/route-tables.js';
import {
  awsError,
  expectNamedError,
  mutatingCalls,
  ownFilters,
  RAW_SPEC,
  sampleContext,
  tagSpec,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);

const PUBLIC = { kind: 'public' as const, vpcId: 'vpc-0abc', subnetId: 'subnet-0pub', targetId: 'igw-0abc' };
const PRIVATE = {
  kind: 'private' as const,
  vpcId: 'vpc-0abc',
  subnetId: 'subnet-0priv',
  targetId: 'nat-0abc',
};
const PUBLIC_NAME = 'sample_public_subnet_rt_to_igw';
const PRIVATE_NAME = 'sample_private_subnet_rt_to_natgw';
const LOCAL: Route = { DestinationCidrBlock: '10.5.0.0/16', GatewayId: 'local', State: 'active' };

/**
 * Answers DescribeRouteTables: the lookup by tags gets `owned`, the lookup by subnet association gets `associated`.
 */
function describeTables(owned: RouteTable[], associated: RouteTable[]) {
  ec2Mock.on(DescribeRouteTablesCommand).callsFake((input: DescribeRouteTablesCommandInput) => {
    const bySubnet = input.Filters?.some((filter) => filter.Name === 'association.subnet-id');
    return { RouteTables: bySubnet ? associated : owned };
  });
}

const table = (id: string, name: string, extra: Partial<RouteTable> = {}): RouteTable => ({
  RouteTableId: id,
  VpcId: 'vpc-0abc',
  Tags: [{ Key: 'Name', Value: name }],
  Routes: [LOCAL],
  Associations: [],
  ...extra,
});

beforeEach(() => {
  ec2Mock.reset();
});

describe('ensureRouteTable', () => {
  it('creates the public table with the deployment tags, a default route to the IGW and the association', async () => {
    // Prepare
    describeTables([], []);
    ec2Mock.on(CreateRouteTableCommand).resolves({ RouteTable: table('rtb-0new', PUBLIC_NAME) });
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });
    ec2Mock.on(AssociateRouteTableCommand).resolves({ AssociationId: 'rtbassoc-1' });
    // Act
    const result = await ensureRouteTable(sampleContext(), PUBLIC);
    // Assess
    expect(result).toEqual({ routeTableId: 'rtb-0new' });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRouteTablesCommand, {
      Filters: [
        ...ownFilters,
        { Name: 'tag:Name', Values: [PUBLIC_NAME] },
        { Name: 'vpc-id', Values: ['vpc-0abc'] },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateRouteTableCommand, {
      VpcId: 'vpc-0abc',
      TagSpecifications: tagSpec('route-table', PUBLIC_NAME),
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateRouteCommand, {
      RouteTableId: 'rtb-0new',
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: 'igw-0abc',
    });
    expect(ec2Mock.commandCalls(CreateRouteCommand)[0].args[0].input).not.toHaveProperty('NatGatewayId');
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AssociateRouteTableCommand, {
      RouteTableId: 'rtb-0new',
      SubnetId: 'subnet-0pub',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(ReplaceRouteCommand);
  });

  it('routes the private table to the NAT gateway', async () => {
    // Prepare
    describeTables([], []);
    ec2Mock.on(CreateRouteTableCommand).resolves({ RouteTable: table('rtb-0priv', PRIVATE_NAME) });
    ec2Mock.on(CreateRouteCommand).resolves({ Return: true });
    ec2Mock.on(AssociateRouteTableCommand).resolves({ AssociationId: 'rtbassoc-2' });
    // Act
    await ensureRouteTable(sampleContext(), PRIVATE);
    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(CreateRouteTableCommand, {
      TagSpecifications: tagSpec('route-table', PRIVATE_NAME),
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateRouteCommand, {
      RouteTableId: 'rtb-0priv',
      DestinationCidrBlock: '0.0.0.0/0',
      NatGatewayId: 'nat-0abc',
    });
    expect(ec2Mock.commandCalls(CreateRouteCommand)[0].args[0].input).not.toHaveProperty('GatewayId');
  });

  it('makes no mutating call when the table, its route and its association are right', async () => {
    // Prepare
    const right = table('rtb-0pub', PUBLIC_NAME, {
      Routes: [LOCAL, { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0abc', State: 'active' }],
      Associations: [
        { RouteTableAssociationId: 'rtbassoc-1', RouteTableId: 'rtb-0pub', SubnetId: 'subnet-0pub' },
      ],
    });
    describeTables([right], [right]);
    // Act
    const result = await ensureRouteTable(sampleContext(), PUBLIC);
    // Assess
    expect(result).toEqual({ routeTableId: 'rtb-0pub' });
    expect(mutatingCalls(ec2Mock)).toEqual([]);
    expect(ec2Mock.calls().length).toBeGreaterThan(0);
  });

  it('replaces a default route that points at the wrong target', async () => {
    // Prepare
    const wrong = table('rtb-0priv', PRIVATE_NAME, {
      Routes: [LOCAL, { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0stale', State: 'active' }],
      Associations: [
        { RouteTableAssociationId: 'rtbassoc-2', RouteTableId: 'rtb-0priv', SubnetId: 'subnet-0priv' },
      ],
    });
    describeTables([wrong], [wrong]);
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    // Act
    await ensureRouteTable(sampleContext(), PRIVATE);
    // Assess
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(ReplaceRouteCommand, {
      RouteTableId: 'rtb-0priv',
      DestinationCidrBlock: '0.0.0.0/0',
      NatGatewayId: 'nat-0abc',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateRouteCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(CreateRouteTableCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(ReplaceRouteTableAssociationCommand);
  });

  it('replaces a blackholed route even when it names the right target', async () => {
    // Prepare
    const blackhole = table('rtb-0priv', PRIVATE_NAME, {
      Routes: [LOCAL, { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0abc', State: 'blackhole' }],
    });
    describeTables([blackhole], [blackhole]);
    ec2Mock.on(ReplaceRouteCommand).resolves({});
    ec2Mock.on(AssociateRouteTableCommand).resolves({});
    // Act
    await ensureRouteTable(sampleContext(), PRIVATE);
    // Assess
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(ReplaceRouteCommand, { NatGatewayId: 'nat-0abc' });
  });

  it('moves the subnet over from another table by replacing its association', async () => {
    // Prepare
    const ours = table('rtb-0pub', PUBLIC_NAME, {
      Routes: [LOCAL, { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0abc', State: 'active' }],
    });
    const stranger = table('rtb-0other', 'other', {
      Associations: [
        { RouteTableAssociationId: 'rtbassoc-9', RouteTableId: 'rtb-0other', SubnetId: 'subnet-0pub' },
      ],
    });
    describeTables([ours], [stranger]);
    ec2Mock.on(ReplaceRouteTableAssociationCommand).resolves({});
    // Act
    await ensureRouteTable(sampleContext(), PUBLIC);
    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRouteTablesCommand, {
      Filters: [{ Name: 'association.subnet-id', Values: ['subnet-0pub'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(ReplaceRouteTableAssociationCommand, {
      AssociationId: 'rtbassoc-9',
      RouteTableId: 'rtb-0pub',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(AssociateRouteTableCommand);
  });

  it('turns a CreateRoute error into ProvisioningFailed naming the table', async () => {
    // Prepare
    describeTables([table('rtb-0pub', PUBLIC_NAME)], []);
    ec2Mock
      .on(CreateRouteCommand)
      .rejects(awsError('InvalidGatewayID.NotFound', "The gateway ID 'igw-0abc' does not exist"));
    // Act
    await expectNamedError(ensureRouteTable(sampleContext(), PUBLIC), 'ProvisioningFailed', {
      resource: `default route of ${PUBLIC_NAME}`,
      id: 'rtb-0pub',
      awsError: 'InvalidGatewayID.NotFound',
      message: "The gateway ID 'igw-0abc' does not exist",
    });
    // Assess
    expect(ec2Mock).not.toHaveReceivedCommand(AssociateRouteTableCommand);
  });

  it('turns a throttled association into Throttled', async () => {
    // Prepare
    describeTables(
      [
        table('rtb-0pub', PUBLIC_NAME, {
          Routes: [LOCAL, { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0abc', State: 'active' }],
        }),
      ],
      [],
    );
    ec2Mock.on(AssociateRouteTableCommand).rejects(awsError('RequestLimitExceeded'));
    // Act + Assess
    await expectNamedError(ensureRouteTable(sampleContext(), PUBLIC), 'Throttled', {
      resource: `route table ${PUBLIC_NAME}`,
      id: 'rtb-0pub',
      awsError: 'RequestLimitExceeded',
    });
  });
});

describe('deleteRouteTables', () => {
  it('disassociates and deletes the deployment tables, never the main one', async () => {
    // Prepare
    describeTables(
      [
        table('rtb-0main', 'sample_network', {
          Associations: [{ RouteTableAssociationId: 'rtbassoc-main', Main: true }],
        }),
        table('rtb-0pub', PUBLIC_NAME, {
          Associations: [{ RouteTableAssociationId: 'rtbassoc-1', SubnetId: 'subnet-0pub' }],
        }),
      ],
      [],
    );
    ec2Mock.on(DisassociateRouteTableCommand).resolves({});
    ec2Mock.on(DeleteRouteTableCommand).resolves({});
    // Act
    const result = await deleteRouteTables(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['rtb-0pub'] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRouteTablesCommand, { Filters: ownFilters });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DisassociateRouteTableCommand, {
      AssociationId: 'rtbassoc-1',
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteRouteTableCommand, {
      RouteTableId: 'rtb-0pub',
    });
  });

  it('treats NotFound of the association and the table as done', async () => {
    // Prepare
    describeTables(
      [
        table('rtb-0pub', PUBLIC_NAME, {
          Associations: [{ RouteTableAssociationId: 'rtbassoc-1', SubnetId: 'subnet-0pub' }],
        }),
      ],
      [],
    );
    ec2Mock.on(DisassociateRouteTableCommand).rejects(awsError('InvalidAssociationID.NotFound'));
    ec2Mock.on(DeleteRouteTableCommand).rejects(awsError('InvalidRouteTableID.NotFound'));
    // Act
    const result = await deleteRouteTables(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['rtb-0pub'] });
    expect(ec2Mock).toHaveReceivedCommandOnce(DeleteRouteTableCommand);
  });

  it('turns DependencyViolation into our DependencyViolation naming the table', async () => {
    // Prepare
    describeTables([table('rtb-0pub', PUBLIC_NAME)], []);
    ec2Mock.on(DeleteRouteTableCommand).rejects(awsError('DependencyViolation'));
    // Act + Assess
    await expectNamedError(deleteRouteTables(sampleContext()), 'DependencyViolation', {
      resource: `route table ${PUBLIC_NAME}`,
      id: 'rtb-0pub',
      awsError: 'DependencyViolation',
    });
  });
});

describe('route-tables handler', () => {
  it('ensures a table through the handler', async () => {
    // Prepare
    describeTables([], []);
    ec2Mock.on(CreateRouteTableCommand).resolves({ RouteTable: table('rtb-0h', PRIVATE_NAME) });
    ec2Mock.on(CreateRouteCommand).resolves({});
    ec2Mock.on(AssociateRouteTableCommand).resolves({});
    // Act
    const result = await handler({ action: 'ensure', spec: RAW_SPEC, ...PRIVATE });
    // Assess
    expect(result).toEqual({ routeTableId: 'rtb-0h' });
    expect(ec2Mock).toHaveReceivedCommandWith(CreateRouteCommand, { NatGatewayId: 'nat-0abc' });
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'replace', spec: RAW_SPEC, ...PUBLIC }), 'InvalidSpec', {
      resource: 'input of route-tables',
    });
    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('rejects a target that is neither an internet nor a NAT gateway', async () => {
    // Act
    const cause = await expectNamedError(
      handler({ action: 'ensure', spec: RAW_SPEC, ...PUBLIC, targetId: 'eni-0abc' }),
      'InvalidSpec',
      { resource: 'input of route-tables' },
    );
    // Assess
    expect(cause.message).toMatch(/targetId/);
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
