import type { Filter, ResourceType, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { type Plan, tagsFor } from '../../src/core/spec/plan.js';

/** TagSpecifications with the three deployment tags (plus extra ones such as Role), for a create call. */
export function tagSpecifications(
  plan: Plan,
  resourceType: ResourceType,
  name: string,
  extra: Record<string, string> = {},
): TagSpecification[] {
  return [{ ResourceType: resourceType, Tags: toTags({ ...tagsFor(plan, name), ...extra }) }];
}

export function toTags(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * Filters that find the deployment's own resources: by DeploymentName and DeploymentOperator tags, optionally one
 * Name and one VPC. Never a bare Name match, so two deployments (or a stranger's resource) cannot collide.
 */
export function deploymentFilters(
  plan: Plan,
  scope: { name?: string | string[]; vpcId?: string } = {},
): Filter[] {
  const filters: Filter[] = [
    { Name: 'tag:DeploymentName', Values: [plan.deployment] },
    { Name: 'tag:DeploymentOperator', Values: [plan.tagsBase.DeploymentOperator] },
  ];
  if (scope.name !== undefined) {
    filters.push({ Name: 'tag:Name', Values: Array.isArray(scope.name) ? scope.name : [scope.name] });
  }
  if (scope.vpcId !== undefined) filters.push({ Name: 'vpc-id', Values: [scope.vpcId] });
  return filters;
}
