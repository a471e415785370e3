import { describePage, filterOf } from './filters.js';
import { holdsResources } from './lifecycle.js';
import {
  type Ctx,
  dependencyViolation,
  type Ec2State,
  ec2Error,
  lookup,
  lookupAll,
  missingParameter,
  parseCidr,
  present,
  type SecurityGroup,
  type SecurityGroupRule,
  tagsFromSpecifications,
} from './state.js';

const MAX_RULES_PER_DIRECTION = 60;

/** `tcp`, `6`, `TCP` -> `tcp`; `all`, `-1` -> `-1`. */
function protocolOf(value: unknown): string {
  const text = String(value ?? '').toLowerCase();
  const byNumber: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', all: '-1' };
  const protocol = byNumber[text] ?? text;
  if (!['tcp', 'udp', 'icmp', '-1'].includes(protocol)) {
    throw ec2Error('InvalidPermission.Malformed', `Invalid IP protocol: ${String(value)}`);
  }
  return protocol;
}

const rulesOf = (state: Ec2State, groupId: string) =>
  Object.values(state.securityGroupRules).filter((rule) => rule.GroupId === groupId);

/** Two rules are the same permission when protocol, ports and peer agree (descriptions do not count). */
const samePermission = (a: SecurityGroupRule, b: SecurityGroupRule) =>
  a.IsEgress === b.IsEgress &&
  a.IpProtocol === b.IpProtocol &&
  a.FromPort === b.FromPort &&
  a.ToPort === b.ToPort &&
  a.CidrIpv4 === b.CidrIpv4 &&
  a.ReferencedGroupInfo?.GroupId === b.ReferencedGroupInfo?.GroupId;

/** AWS's text for a duplicate: `the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists`. */
function describeRule(rule: SecurityGroupRule): string {
  const peer = rule.CidrIpv4 ?? rule.ReferencedGroupInfo?.GroupId;
  const ports =
    rule.IpProtocol === '-1'
      ? 'ALL'
      : `${rule.IpProtocol.toUpperCase()}, from port: ${rule.FromPort}, to port: ${rule.ToPort}`;
  return `peer: ${peer}, ${ports}, ALLOW`;
}

/** Expands `IpPermissions` into one rule per peer (CIDR range or group), as EC2 stores them. */
function rulesFromPermissions(ctx: Ctx, group: SecurityGroup, permissions: unknown, isEgress: boolean) {
  const list = (Array.isArray(permissions) ? permissions : []) as any[];
  if (list.length === 0) throw missingParameter('ipPermissions');
  return list.flatMap((permission) => {
    const protocol = protocolOf(permission.IpProtocol);
    const ports =
      protocol === '-1'
        ? { FromPort: -1, ToPort: -1 }
        : { FromPort: Number(permission.FromPort ?? -1), ToPort: Number(permission.ToPort ?? -1) };
    const peers = [
      ...(permission.IpRanges ?? []).map((range: any) => {
        const cidr = parseCidr(range.CidrIp);
        if (!cidr) throw ec2Error('InvalidParameterValue', `CIDR block ${String(range.CidrIp)} is malformed`);
        return { CidrIpv4: cidr.text, Description: range.Description };
      }),
      ...(permission.UserIdGroupPairs ?? []).map((pair: any) => {
        const peer = lookup(ctx.state, 'securityGroups', pair.GroupId);
        return {
          ReferencedGroupInfo: { GroupId: peer.GroupId, UserId: ctx.caller.accountId },
          Description: pair.Description,
        };
      }),
    ];
    return peers.map(
      (peer): SecurityGroupRule => ({
        SecurityGroupRuleId: '',
        SecurityGroupRuleArn: '',
        GroupId: group.GroupId,
        GroupOwnerId: ctx.caller.accountId,
        IsEgress: isEgress,
        IpProtocol: protocol,
        ...ports,
        ...peer,
        Tags: [],
      }),
    );
  });
}

function addRules(ctx: Ctx, group: SecurityGroup, rules: SecurityGroupRule[]): SecurityGroupRule[] {
  const existing = rulesOf(ctx.state, group.GroupId);
  rules.forEach((rule, index) => {
    const clash =
      existing.find((other) => samePermission(rule, other)) ??
      rules.slice(0, index).find((other) => samePermission(rule, other));
    if (clash) {
      throw ec2Error(
        'InvalidPermission.Duplicate',
        `the specified rule "${describeRule(rule)}" already exists`,
      );
    }
  });
  const direction = existing.filter((rule) => rule.IsEgress === rules[0]?.IsEgress).length;
  if (direction + rules.length > MAX_RULES_PER_DIRECTION) {
    throw ec2Error(
      'RulesPerSecurityGroupLimitExceeded',
      'The maximum number of rules per security group has been reached.',
    );
  }
  for (const rule of rules) {
    rule.SecurityGroupRuleId = ctx.newId('sgr');
    rule.SecurityGroupRuleArn = `arn:aws:ec2:${ctx.region}:${ctx.caller.accountId}:security-group-rule/${rule.SecurityGroupRuleId}`;
    if (rule.Description === undefined) delete rule.Description;
    ctx.state.securityGroupRules[rule.SecurityGroupRuleId] = rule;
  }
  return rules;
}

/** The permissions of a group as DescribeSecurityGroups shows them: rules grouped by protocol and ports. */
function permissionsOf(rules: SecurityGroupRule[]) {
  const byKey = new Map<string, any>();
  for (const rule of rules) {
    const key = `${rule.IpProtocol}:${rule.FromPort}:${rule.ToPort}`;
    if (!byKey.has(key)) {
      byKey.set(key, {
        IpProtocol: rule.IpProtocol,
        ...(rule.IpProtocol === '-1' ? {} : { FromPort: rule.FromPort, ToPort: rule.ToPort }),
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [],
      });
    }
    const permission = byKey.get(key);
    const description = rule.Description === undefined ? {} : { Description: rule.Description };
    if (rule.CidrIpv4) permission.IpRanges.push({ CidrIp: rule.CidrIpv4, ...description });
    if (rule.ReferencedGroupInfo) {
      permission.UserIdGroupPairs.push({ ...rule.ReferencedGroupInfo, ...description });
    }
  }
  return [...byKey.values()];
}

export function securityGroupOutput(state: Ec2State, group: SecurityGroup) {
  const rules = rulesOf(state, group.GroupId);
  return {
    ...present(group),
    IpPermissions: permissionsOf(rules.filter((rule) => !rule.IsEgress)),
    IpPermissionsEgress: permissionsOf(rules.filter((rule) => rule.IsEgress)),
  };
}

function newGroup(ctx: Ctx, vpcId: string, name: string, description: string, tags: SecurityGroup['Tags']) {
  const id = ctx.newId('sg');
  const group: SecurityGroup = {
    GroupId: id,
    GroupName: name,
    Description: description,
    VpcId: vpcId,
    OwnerId: ctx.caller.accountId,
    SecurityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.caller.accountId}:security-group/${id}`,
    Tags: tags,
  };
  ctx.state.securityGroups[id] = group;
  // Every new group lets all traffic out.
  addRules(
    ctx,
    group,
    rulesFromPermissions(ctx, group, [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }], true),
  );
  return group;
}

/** The VPC's `default` group: all traffic out, and all traffic in from members of the group. */
export function createDefaultGroup(ctx: Ctx, vpcId: string): SecurityGroup {
  const group = newGroup(ctx, vpcId, 'default', 'default VPC security group', []);
  addRules(
    ctx,
    group,
    rulesFromPermissions(
      ctx,
      group,
      [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: group.GroupId }] }],
      false,
    ),
  );
  return group;
}

/** Removes a group and its rules (DeleteSecurityGroup, and DeleteVpc for the default group). */
export function removeGroup(state: Ec2State, groupId: string): void {
  for (const rule of rulesOf(state, groupId)) delete state.securityGroupRules[rule.SecurityGroupRuleId];
  delete state.securityGroups[groupId];
}

function createSecurityGroup(ctx: Ctx, input: any) {
  if (!input.GroupName) throw missingParameter('groupName');
  if (input.Description === undefined) throw missingParameter('groupDescription');
  if (!input.VpcId) throw ec2Error('VPCIdNotSpecified', 'No default VPC for this user');
  const vpc = lookup(ctx.state, 'vpcs', input.VpcId);
  const name = String(input.GroupName);
  if (name === 'default') {
    throw ec2Error('InvalidGroup.Reserved', "The security group 'default' is reserved");
  }
  const taken = Object.values(ctx.state.securityGroups).some(
    (group) => group.VpcId === vpc.VpcId && group.GroupName === name,
  );
  if (taken) {
    throw ec2Error(
      'InvalidGroup.Duplicate',
      `The security group '${name}' already exists for VPC '${vpc.VpcId}'`,
    );
  }
  const group = newGroup(
    ctx,
    vpc.VpcId,
    name,
    String(input.Description),
    tagsFromSpecifications(input.TagSpecifications, 'security-group'),
  );
  return {
    GroupId: group.GroupId,
    SecurityGroupArn: group.SecurityGroupArn,
    ...(group.Tags.length ? { Tags: group.Tags } : {}),
  };
}

const GROUP_FILTERS = {
  'group-id': (group: SecurityGroup) => group.GroupId,
  'group-name': (group: SecurityGroup) => group.GroupName,
  'vpc-id': (group: SecurityGroup) => group.VpcId,
  description: (group: SecurityGroup) => group.Description,
  'owner-id': (group: SecurityGroup) => group.OwnerId,
};

function describeSecurityGroups(ctx: Ctx, input: any) {
  const ids: unknown[] = input.GroupIds ?? [];
  let groups =
    ids.length > 0 ? lookupAll(ctx.state, 'securityGroups', ids) : Object.values(ctx.state.securityGroups);
  const names: string[] = input.GroupNames ?? [];
  if (names.length > 0) {
    const missing = names.find((name) => !groups.some((group) => group.GroupName === name));
    if (missing) throw ec2Error('InvalidGroup.NotFound', `The security group '${missing}' does not exist`);
    groups = groups.filter((group) => names.includes(group.GroupName));
  }
  const matches = filterOf(input.Filters, GROUP_FILTERS);
  const { page, ...next } = describePage(
    groups.filter(matches),
    input,
    `groups:${JSON.stringify([ids, names, input.Filters])}`,
  );
  return { SecurityGroups: page.map((group) => securityGroupOutput(ctx.state, group)), ...next };
}

/** A group by GroupId, or by GroupName (which EC2 accepts for the default VPC only: here, never). */
function groupOf(ctx: Ctx, input: any): SecurityGroup {
  if (input.GroupId) return lookup(ctx.state, 'securityGroups', input.GroupId);
  if (input.GroupName) throw ec2Error('VPCIdNotSpecified', 'No default VPC for this user');
  throw missingParameter('groupId');
}

function deleteSecurityGroup(ctx: Ctx, input: any) {
  const group = groupOf(ctx, input);
  if (group.GroupName === 'default') {
    throw ec2Error(
      'CannotDelete',
      `the specified group: "${group.GroupId}" name: "default" cannot be deleted by a user`,
    );
  }
  const inUse = Object.values(ctx.state.instances).some(
    (instance) =>
      holdsResources(instance) && instance.SecurityGroups.some((member) => member.GroupId === group.GroupId),
  );
  const referenced = Object.values(ctx.state.securityGroupRules).some(
    (rule) => rule.GroupId !== group.GroupId && rule.ReferencedGroupInfo?.GroupId === group.GroupId,
  );
  if (inUse || referenced) throw dependencyViolation(`resource ${group.GroupId} has a dependent object`);
  removeGroup(ctx.state, group.GroupId);
  return { Return: true, GroupId: group.GroupId };
}

const authorize = (isEgress: boolean) => (ctx: Ctx, input: any) => {
  const group = groupOf(ctx, input);
  const rules = addRules(ctx, group, rulesFromPermissions(ctx, group, input.IpPermissions, isEgress));
  return { Return: true, SecurityGroupRules: rules.map((rule) => present(rule)) };
};

const revoke = (isEgress: boolean) => (ctx: Ctx, input: any) => {
  const group = groupOf(ctx, input);
  let revoked: SecurityGroupRule[];
  if (input.SecurityGroupRuleIds?.length) {
    revoked = lookupAll(ctx.state, 'securityGroupRules', input.SecurityGroupRuleIds);
    const foreign = revoked.find((rule) => rule.GroupId !== group.GroupId || rule.IsEgress !== isEgress);
    if (foreign) {
      throw ec2Error(
        'InvalidSecurityGroupRuleId.NotFound',
        `The security group rule ID '${foreign.SecurityGroupRuleId}' does not exist`,
      );
    }
  } else {
    const existing = rulesOf(ctx.state, group.GroupId);
    revoked = rulesFromPermissions(ctx, group, input.IpPermissions, isEgress).map((wanted) => {
      const found = existing.find((rule) => samePermission(rule, wanted));
      if (!found) {
        throw ec2Error(
          'InvalidPermission.NotFound',
          'The specified rule does not exist in this security group.',
        );
      }
      return found;
    });
  }
  for (const rule of revoked) delete ctx.state.securityGroupRules[rule.SecurityGroupRuleId];
  return { Return: true, RevokedSecurityGroupRules: revoked.map((rule) => present(rule)) };
};

function describeSecurityGroupRules(ctx: Ctx, input: any) {
  const ids: unknown[] = input.SecurityGroupRuleIds ?? [];
  const rules =
    ids.length > 0
      ? lookupAll(ctx.state, 'securityGroupRules', ids)
      : Object.values(ctx.state.securityGroupRules);
  const matches = filterOf(input.Filters, {
    'group-id': (rule: SecurityGroupRule) => rule.GroupId,
    'security-group-rule-id': (rule: SecurityGroupRule) => rule.SecurityGroupRuleId,
  });
  const { page, ...next } = describePage(
    rules.filter(matches),
    input,
    `rules:${JSON.stringify([ids, input.Filters])}`,
  );
  return { SecurityGroupRules: page.map((rule) => present(rule)), ...next };
}

export const securityGroupOperations = {
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  DeleteSecurityGroup: deleteSecurityGroup,
  AuthorizeSecurityGroupIngress: authorize(false),
  AuthorizeSecurityGroupEgress: authorize(true),
  RevokeSecurityGroupIngress: revoke(false),
  RevokeSecurityGroupEgress: revoke(true),
  DescribeSecurityGroupRules: describeSecurityGroupRules,
};
