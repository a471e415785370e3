import {
  AuthorizeSecurityGroupIngressCommand,
  type AuthorizeSecurityGroupIngressCommandInput,
  CreateSecurityGroupCommand,
  type CreateSecurityGroupCommandInput,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  type DescribeSecurityGroupRulesCommandInput,
  DescribeSecurityGroupsCommand,
  type DescribeSecurityGroupsCommandInput,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/security-groups/handler.js';
import {
  deleteSecurityGroups,
  ensureSecurityGroups,
} from '../../../functions/security-groups/security-groups.js';
import {
  ALLOWED_CIDRS,
  awsError,
  expectNamedError,
  mutatingCalls,
  ownFilters,
  RAW_SPEC,
  sampleContext,
  tagSpec,
  VPC_CIDR,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);

const BASTION = 'sample_bastion_security_group';
const INTERNAL = 'sample_internal_security_group';
const GROUP_IDS: Record<string, string> = { [BASTION]: 'sg-0bastion', [INTERNAL]: 'sg-0internal' };
const PUBLIC_PORTS = [80, 6544, 9090, 15672];
const INTERNAL_PORTS = [9090, 9100, 7070, 7000, 9042, 5672, 15672, 15692, 9201];

const rule = (groupId: string, port: number, cidr: string, id = `sgr-${groupId}-${port}-${cidr}`) =>
  ({
    SecurityGroupRuleId: id,
    GroupId: groupId,
    IsEgress: false,
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    CidrIpv4: cidr,
  }) satisfies SecurityGroupRule;

/** The planned ingress rules, as AWS would list them once created. */
const plannedRules = (): Record<string, SecurityGroupRule[]> => ({
  'sg-0bastion': [
    ...PUBLIC_PORTS.flatMap((port) => ALLOWED_CIDRS.map((cidr) => rule('sg-0bastion', port, cidr))),
    rule('sg-0bastion', 9100, VPC_CIDR),
    rule('sg-0bastion', 9200, VPC_CIDR),
    {
      SecurityGroupRuleId: 'sgr-egress',
      GroupId: 'sg-0bastion',
      IsEgress: true,
      IpProtocol: '-1',
      CidrIpv4: '0.0.0.0/0',
    },
  ],
  'sg-0internal': INTERNAL_PORTS.map((port) => rule('sg-0internal', port, VPC_CIDR)),
});

/** Answers the group lookup (existing or not) and the rule lookup per group id. */
function describe2(groupsExist: boolean, rules: Record<string, SecurityGroupRule[]>) {
  ec2Mock.on(DescribeSecurityGroupsCommand).callsFake((input: DescribeSecurityGroupsCommandInput) => {
    const name = input.Filters?.find((filter) => filter.Name === 'tag:Name')?.Values?.[0] ?? '';
    return { SecurityGroups: groupsExist ? [{ GroupId: GROUP_IDS[name], GroupName: name }] : [] };
  });
  ec2Mock.on(DescribeSecurityGroupRulesCommand).callsFake((input: DescribeSecurityGroupRulesCommandInput) => {
    const groupId = input.Filters?.find((filter) => filter.Name === 'group-id')?.Values?.[0] ?? '';
    return { SecurityGroupRules: rules[groupId] ?? [] };
  });
  ec2Mock
    .on(CreateSecurityGroupCommand)
    .callsFake((input: CreateSecurityGroupCommandInput) => ({ GroupId: GROUP_IDS[input.GroupName!] }));
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
}

/** Every permission authorized for a group, flattened to one entry per port and CIDR. */
function authorized(groupId: string) {
  return ec2Mock
    .commandCalls(AuthorizeSecurityGroupIngressCommand)
    .map((call) => call.args[0].input as AuthorizeSecurityGroupIngressCommandInput)
    .filter((input) => input.GroupId === groupId)
    .flatMap((input) =>
      (input.IpPermissions ?? []).flatMap((permission) =>
        (permission.IpRanges ?? []).map((range) => ({
          protocol: permission.IpProtocol,
          from: permission.FromPort,
          to: permission.ToPort,
          cidr: range.CidrIp,
        })),
      ),
    );
}

const inVpc = (cidr: string | undefined) => cidr === VPC_CIDR;

beforeEach(() => {
  ec2Mock.reset();
});

describe('ensureSecurityGroups', () => {
  it('creates both groups with the deployment tags and authorizes the planned rules', async () => {
    // Prepare
    describe2(false, {});
    // Act
    const result = await ensureSecurityGroups(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({
      bastionSecurityGroupId: 'sg-0bastion',
      internalSecurityGroupId: 'sg-0internal',
      rulesAdded: PUBLIC_PORTS.length * ALLOWED_CIDRS.length + 2 + INTERNAL_PORTS.length,
      rulesRemoved: 0,
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
      Filters: [
        ...ownFilters,
        { Name: 'tag:Name', Values: [BASTION] },
        { Name: 'vpc-id', Values: ['vpc-0abc'] },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandTimes(CreateSecurityGroupCommand, 2);
    expect(ec2Mock).toHaveReceivedCommandWith(CreateSecurityGroupCommand, {
      VpcId: 'vpc-0abc',
      GroupName: BASTION,
      TagSpecifications: tagSpec('security-group', BASTION),
    });
    expect(ec2Mock).toHaveReceivedCommandWith(CreateSecurityGroupCommand, {
      VpcId: 'vpc-0abc',
      GroupName: INTERNAL,
      TagSpecifications: tagSpec('security-group', INTERNAL),
    });
    expect(ec2Mock).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);

    const bastion = authorized('sg-0bastion');
    const internal = authorized('sg-0internal');
    // node_exporter (9100) and the webapi's metrics (9200), to the VPC for Prometheus.
    expect(bastion).toHaveLength(PUBLIC_PORTS.length * ALLOWED_CIDRS.length + 2);
    expect(internal).toHaveLength(INTERNAL_PORTS.length);
    // Every rule is a single TCP port; none opens SSH.
    for (const permission of [...bastion, ...internal]) {
      expect(permission.protocol).toBe('tcp');
      expect(permission.from).toBe(permission.to);
      expect(permission.from).not.toBe(22);
    }
    // Public ports open to exactly the allowed CIDRs; everything else only to the VPC.
    for (const port of PUBLIC_PORTS) {
      const sources = bastion.filter((permission) => permission.from === port).map((p) => p.cidr);
      expect(sources.sort()).toEqual([...ALLOWED_CIDRS].sort());
    }
    for (const permission of bastion.filter((p) => !inVpc(p.cidr))) {
      expect(ALLOWED_CIDRS).toContain(permission.cidr);
      expect(PUBLIC_PORTS).toContain(permission.from);
    }
    expect(bastion).toContainEqual({ protocol: 'tcp', from: 9100, to: 9100, cidr: VPC_CIDR });
    expect(internal.every((permission) => inVpc(permission.cidr))).toBe(true);
    expect(internal.map((permission) => permission.from).sort()).toEqual([...INTERNAL_PORTS].sort());
  });

  it('opens no public port to 0.0.0.0/0 and no port at all to the world', async () => {
    // Prepare
    describe2(false, {});
    // Act
    await ensureSecurityGroups(sampleContext(), 'vpc-0abc');
    // Assess
    const all = [...authorized('sg-0bastion'), ...authorized('sg-0internal')];
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((permission) => permission.cidr === '0.0.0.0/0')).toEqual([]);
  });

  it('makes no mutating call when both groups exist with exactly the planned rules', async () => {
    // Prepare
    describe2(true, plannedRules());
    // Act
    const result = await ensureSecurityGroups(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result).toEqual({
      bastionSecurityGroupId: 'sg-0bastion',
      internalSecurityGroupId: 'sg-0internal',
      rulesAdded: 0,
      rulesRemoved: 0,
    });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateSecurityGroupCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(mutatingCalls(ec2Mock)).toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
      Filters: [{ Name: 'group-id', Values: ['sg-0bastion'] }],
    });
  });

  it('reconciles drift: revokes extra rules (SSH from anywhere) and adds the missing one', async () => {
    // Prepare
    const rules = plannedRules();
    rules['sg-0bastion'] = rules['sg-0bastion'].filter(
      (r) => !(r.FromPort === 6544 && r.CidrIpv4 === ALLOWED_CIDRS[1]),
    );
    rules['sg-0bastion'].push(rule('sg-0bastion', 22, '0.0.0.0/0', 'sgr-ssh'));
    rules['sg-0internal'].push(rule('sg-0internal', 9042, '0.0.0.0/0', 'sgr-cql-world'));
    describe2(true, rules);
    // Act
    const result = await ensureSecurityGroups(sampleContext(), 'vpc-0abc');
    // Assess
    expect(result.rulesAdded).toBe(1);
    expect(result.rulesRemoved).toBe(2);
    expect(ec2Mock).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: 'sg-0bastion',
      SecurityGroupRuleIds: ['sgr-ssh'],
    });
    expect(ec2Mock).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: 'sg-0internal',
      SecurityGroupRuleIds: ['sgr-cql-world'],
    });
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(AuthorizeSecurityGroupIngressCommand, {
      GroupId: 'sg-0bastion',
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 6544,
          ToPort: 6544,
          IpRanges: [{ CidrIp: ALLOWED_CIDRS[1], Description: expect.any(String) }],
        },
      ],
    });
    expect(ec2Mock).not.toHaveReceivedCommand(CreateSecurityGroupCommand);
  });

  it('revokes a port-range rule that starts at a planned port', async () => {
    // Prepare: 80-65535 from an allowed CIDR opens far more than port 80
    const rules = plannedRules();
    const wide = { ...rule('sg-0bastion', 80, ALLOWED_CIDRS[0], 'sgr-wide'), ToPort: 65535 };
    rules['sg-0bastion'] = rules['sg-0bastion'].map((r) =>
      r.FromPort === 80 && r.CidrIpv4 === ALLOWED_CIDRS[0] ? wide : r,
    );
    describe2(true, rules);
    // Act
    const result = await ensureSecurityGroups(sampleContext(), 'vpc-0abc');
    // Assess
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: 'sg-0bastion',
      SecurityGroupRuleIds: ['sgr-wide'],
    });
    expect(authorized('sg-0bastion')).toEqual([
      { protocol: 'tcp', from: 80, to: 80, cidr: ALLOWED_CIDRS[0] },
    ]);
    expect(result).toMatchObject({ rulesAdded: 1, rulesRemoved: 1 });
  });

  it('revokes an all-traffic ingress rule', async () => {
    // Prepare
    const rules = plannedRules();
    rules['sg-0internal'].push({
      SecurityGroupRuleId: 'sgr-all',
      GroupId: 'sg-0internal',
      IsEgress: false,
      IpProtocol: '-1',
      FromPort: -1,
      ToPort: -1,
      CidrIpv4: VPC_CIDR,
    });
    describe2(true, rules);
    // Act
    await ensureSecurityGroups(sampleContext(), 'vpc-0abc');
    // Assess
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: 'sg-0internal',
      SecurityGroupRuleIds: ['sgr-all'],
    });
    expect(ec2Mock).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
  });

  it('turns an authorize error into ProvisioningFailed naming the group and its id', async () => {
    // Prepare
    describe2(true, {});
    ec2Mock
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(
        awsError(
          'RulesPerSecurityGroupLimitExceeded',
          'The maximum number of rules per security group has been reached.',
        ),
      );
    // Act + Assess
    await expectNamedError(ensureSecurityGroups(sampleContext(), 'vpc-0abc'), 'ProvisioningFailed', {
      resource: `security group ${BASTION}`,
      id: 'sg-0bastion',
      awsError: 'RulesPerSecurityGroupLimitExceeded',
      message: 'The maximum number of rules per security group has been reached.',
    });
  });

  it('turns an UnauthorizedOperation of the create into AccessDenied', async () => {
    // Prepare
    describe2(false, {});
    ec2Mock.on(CreateSecurityGroupCommand).rejects(awsError('UnauthorizedOperation'));
    // Act
    const cause = await expectNamedError(ensureSecurityGroups(sampleContext(), 'vpc-0abc'), 'AccessDenied', {
      resource: `security group ${BASTION}`,
      awsError: 'UnauthorizedOperation',
    });
    // Assess
    expect(cause.hint).toMatch(/permission/);
    expect(ec2Mock).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
  });
});

describe('deleteSecurityGroups', () => {
  const groups = {
    SecurityGroups: [
      { GroupId: 'sg-0bastion', Tags: [{ Key: 'Name', Value: BASTION }] },
      { GroupId: 'sg-0internal', Tags: [{ Key: 'Name', Value: INTERNAL }] },
    ],
  };

  it('deletes both groups and treats InvalidGroup.NotFound as done', async () => {
    // Prepare
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves(groups);
    ec2Mock.on(DeleteSecurityGroupCommand).resolvesOnce({}).rejectsOnce(awsError('InvalidGroup.NotFound'));
    // Act
    const result = await deleteSecurityGroups(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: ['sg-0bastion', 'sg-0internal'] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, { Filters: ownFilters });
    expect(ec2Mock).toHaveReceivedNthCommandWith(DeleteSecurityGroupCommand, 2, { GroupId: 'sg-0internal' });
  });

  it('turns DependencyViolation into our DependencyViolation naming the group', async () => {
    // Prepare
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves(groups);
    ec2Mock
      .on(DeleteSecurityGroupCommand)
      .rejects(awsError('DependencyViolation', 'resource sg-0bastion has a dependent object'));
    // Act + Assess
    await expectNamedError(deleteSecurityGroups(sampleContext()), 'DependencyViolation', {
      resource: `security group ${BASTION}`,
      id: 'sg-0bastion',
      awsError: 'DependencyViolation',
      message: 'resource sg-0bastion has a dependent object',
    });
  });
});

describe('security-groups handler', () => {
  it('ensures the groups through the handler', async () => {
    // Prepare
    describe2(true, plannedRules());
    // Act
    const result = await handler({ action: 'ensure', spec: RAW_SPEC, vpcId: 'vpc-0h' });
    // Assess
    expect(result).toMatchObject({ bastionSecurityGroupId: 'sg-0bastion', rulesAdded: 0, rulesRemoved: 0 });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
      Filters: expect.arrayContaining([{ Name: 'vpc-id', Values: ['vpc-0h'] }]),
    });
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'open', spec: RAW_SPEC, vpcId: 'vpc-0h' }), 'InvalidSpec', {
      resource: 'input of security-groups',
    });
    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
