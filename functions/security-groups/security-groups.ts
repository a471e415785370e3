import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import type { IngressRule, SecurityGroupPlan } from '../../src/core/spec/plan.js';
import { tagValue } from '../../src/core/tags.js';
import { awsCall, deleteIfPresent } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters, tagSpecifications } from '../shared/ec2.js';

export interface SecurityGroupsResult {
  bastionSecurityGroupId: string;
  internalSecurityGroupId: string;
  /** Rules added and removed by this run: zero on a converged deployment. */
  rulesAdded: number;
  rulesRemoved: number;
}

const ruleKey = (protocol: string, port: number, cidr: string) => `${protocol}:${port}:${cidr}`;
/** A port range (80-65535) never matches a planned single-port rule, so it is revoked as extra. */
const existingKey = (rule: SecurityGroupRule) =>
  rule.FromPort === rule.ToPort
    ? ruleKey(rule.IpProtocol!, rule.FromPort!, rule.CidrIpv4 ?? '')
    : `${rule.IpProtocol}:${rule.FromPort}-${rule.ToPort}:${rule.CidrIpv4 ?? ''}`;

async function findOrCreateGroup(
  { plan, clients }: DeploymentContext,
  group: SecurityGroupPlan,
  vpcId: string,
) {
  const site = { resource: `security group ${group.name}` };
  const found = await awsCall(site, () =>
    clients.ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: deploymentFilters(plan, { name: group.name, vpcId }) }),
    ),
  );
  const existing = found.SecurityGroups?.[0]?.GroupId;
  if (existing) return existing;
  const created = await awsCall(site, () =>
    clients.ec2.send(
      new CreateSecurityGroupCommand({
        VpcId: vpcId,
        GroupName: group.name,
        Description: group.description,
        TagSpecifications: tagSpecifications(plan, 'security-group', group.name),
      }),
    ),
  );
  return created.GroupId!;
}

/**
 * Makes a group's ingress rules exactly the plan's: adds the missing ones and revokes the extra ones
 * (capideploy only added rules at creation and never noticed drift). Egress keeps AWS's default allow-all.
 */
async function reconcileRules({ clients }: DeploymentContext, group: SecurityGroupPlan, groupId: string) {
  const site = { resource: `security group ${group.name}`, id: groupId };
  const described = await awsCall(site, () =>
    clients.ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
    ),
  );
  const existing = (described.SecurityGroupRules ?? []).filter((rule) => !rule.IsEgress);
  const wanted = new Map(group.rules.map((rule) => [ruleKey(rule.protocol, rule.port, rule.cidr), rule]));
  const present = new Set(existing.map(existingKey));
  const missing: IngressRule[] = [...wanted].filter(([key]) => !present.has(key)).map(([, rule]) => rule);
  const extra = existing.filter((rule) => !wanted.has(existingKey(rule)));
  if (extra.length > 0) {
    await awsCall(site, () =>
      clients.ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          SecurityGroupRuleIds: extra.map((rule) => rule.SecurityGroupRuleId!),
        }),
      ),
    );
  }
  if (missing.length > 0) {
    await awsCall(site, () =>
      clients.ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: missing.map((rule) => ({
            IpProtocol: rule.protocol,
            FromPort: rule.port,
            ToPort: rule.port,
            IpRanges: [{ CidrIp: rule.cidr, Description: rule.description }],
          })),
        }),
      ),
    );
  }
  return { added: missing.length, removed: extra.length };
}

/** Ensures both security groups exist in the VPC with exactly the planned ingress rules. */
export async function ensureSecurityGroups(
  ctx: DeploymentContext,
  vpcId: string,
): Promise<SecurityGroupsResult> {
  const ids: Record<string, string> = {};
  let rulesAdded = 0;
  let rulesRemoved = 0;
  for (const group of ctx.plan.securityGroups) {
    ids[group.key] = await findOrCreateGroup(ctx, group, vpcId);
    const { added, removed } = await reconcileRules(ctx, group, ids[group.key]);
    rulesAdded += added;
    rulesRemoved += removed;
  }
  return {
    bastionSecurityGroupId: ids.bastion,
    internalSecurityGroupId: ids.internal,
    rulesAdded,
    rulesRemoved,
  };
}

/** Deletes the deployment's security groups; one still used by an instance is a DependencyViolation (retried). */
export async function deleteSecurityGroups({
  plan,
  clients,
}: DeploymentContext): Promise<{ deleted: string[] }> {
  const found = await awsCall({ resource: `security groups of ${plan.deployment}` }, () =>
    clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: deploymentFilters(plan) })),
  );
  const deleted: string[] = [];
  for (const group of found.SecurityGroups ?? []) {
    const site = { resource: `security group ${tagValue(group.Tags, 'Name')}`, id: group.GroupId };
    await deleteIfPresent(site, () =>
      clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: group.GroupId })),
    );
    deleted.push(group.GroupId!);
  }
  return { deleted };
}
