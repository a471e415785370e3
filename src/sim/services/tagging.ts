import type { OperationContext, ServiceSimulator } from '../account.js';
import { type Paging, pageOf, pageSize } from '../pagination.js';
import { refreshEc2 } from './ec2.js';
import { modeledError, type Tag } from './iam.js';
import type { SsmState } from './ssm/state.js';

/** What GetResources returns for one resource. */
interface TaggedResource {
  ResourceARN: string;
  Tags: Tag[];
}

/** ARN resource types by EC2 id prefix (the Service Authorization Reference names). */
const EC2_TYPES: Record<string, string> = {
  vpc: 'vpc',
  subnet: 'subnet',
  igw: 'internet-gateway',
  nat: 'natgateway',
  rtb: 'route-table',
  sg: 'security-group',
  sgr: 'security-group-rule',
  vol: 'volume',
  eipalloc: 'elastic-ip',
  i: 'instance',
  eni: 'network-interface',
  key: 'key-pair',
  lt: 'launch-template',
  ami: 'image',
  snap: 'snapshot',
};

/**
 * The fields that hold an entry's own id, most specific first: an address carries the InstanceId it is
 * associated with and a subnet its VpcId, so the order decides.
 */
const ID_FIELDS = [
  'AllocationId',
  'NatGatewayId',
  'VolumeId',
  'NetworkInterfaceId',
  'InstanceId',
  'RouteTableId',
  'InternetGatewayId',
  'SecurityGroupRuleId',
  'GroupId',
  'SubnetId',
  'VpcId',
  'KeyPairId',
  'LaunchTemplateId',
  'ImageId',
  'SnapshotId',
];

const GONE = new Set(['terminated', 'deleted']);

const ec2TypeOf = (id: unknown) =>
  typeof id === 'string' && /^[a-z]+-[0-9a-f]+$/.test(id) ? EC2_TYPES[id.split('-')[0]] : undefined;

function ownId(key: string, entry: Record<string, unknown>): string | undefined {
  if (ec2TypeOf(key)) return key;
  const field = ID_FIELDS.find((name) => ec2TypeOf(entry[name]));
  return field ? (entry[field] as string) : undefined;
}

function tagsOf(entry: Record<string, unknown>): Tag[] {
  const tags = entry.Tags;
  if (Array.isArray(tags)) return tags as Tag[];
  if (tags && typeof tags === 'object') {
    return Object.entries(tags).map(([Key, Value]) => ({ Key, Value: String(Value) }));
  }
  return [];
}

function isGone(entry: Record<string, unknown>): boolean {
  const state = entry.State as { Name?: string } | string | undefined;
  const name = typeof state === 'string' ? state : state?.Name;
  return (name !== undefined && GONE.has(name)) || entry.deleted === true;
}

/**
 * Every tagged EC2 resource that still exists. The EC2 state is read generically: each collection maps ids to
 * entries with a `Tags` list. Terminated instances and deleted NAT gateways are left out, although AWS keeps
 * listing them for a while.
 */
function ec2Resources(ctx: OperationContext<unknown>): TaggedResource[] {
  let state: Record<string, unknown>;
  try {
    state = ctx.account.stateOf<Record<string, unknown>>('EC2');
  } catch {
    return [];
  }
  refreshEc2(state as never, ctx.now());
  const prefix = `arn:aws:ec2:${ctx.region}:${ctx.caller.accountId}`;
  return Object.values(state).flatMap((collection) => {
    if (!collection || typeof collection !== 'object' || Array.isArray(collection)) return [];
    return Object.entries(collection as Record<string, unknown>).flatMap(([key, value]) => {
      if (!value || typeof value !== 'object') return [];
      const entry = value as Record<string, unknown>;
      const id = ownId(key, entry);
      const tags = tagsOf(entry);
      if (!id || tags.length === 0 || isGone(entry)) return [];
      const type = ec2TypeOf(id);
      // Images and snapshots have no account in their ARN: arn:aws:ec2:<region>::image/<id>.
      const arnPrefix = type === 'image' || type === 'snapshot' ? `arn:aws:ec2:${ctx.region}:` : prefix;
      return [{ ResourceARN: `${arnPrefix}:${type}/${id}`, Tags: tags }];
    });
  });
}

function ssmResources(ctx: OperationContext<unknown>): TaggedResource[] {
  let state: SsmState;
  try {
    state = ctx.account.stateOf<SsmState>('SSM');
  } catch {
    return [];
  }
  return Object.values(state.parameters ?? {})
    .filter((parameter) => parameter.Tags.length > 0)
    .map((parameter) => ({
      ResourceARN: `arn:aws:ssm:${ctx.region}:${ctx.caller.accountId}:parameter${parameter.Name.startsWith('/') ? '' : '/'}${parameter.Name}`,
      Tags: parameter.Tags,
    }));
}

function invalidParameter(message: string) {
  return modeledError('InvalidParameterException', message);
}

/** `ec2`, `ec2:instance`: the service and ARN resource type a filter names. */
function typeMatcher(filters: unknown): (arn: string) => boolean {
  const list: string[] = Array.isArray(filters) ? filters.map(String) : [];
  for (const filter of list) {
    if (!/^[a-z0-9-]+(:[a-z0-9-]+)?$/.test(filter)) {
      throw invalidParameter(`Unsupported resource type filter: ${filter}`);
    }
  }
  if (list.length === 0) return () => true;
  return (arn) => {
    const [, , service, , , resource] = arn.split(':');
    const type = resource.split('/')[0];
    return list.some((filter) => filter === service || filter === `${service}:${type}`);
  };
}

function tagMatcher(filters: unknown): (tags: Tag[]) => boolean {
  const list = (Array.isArray(filters) ? filters : []) as { Key?: string; Values?: string[] }[];
  if (list.length > 50) throw invalidParameter('TagFilters can contain at most 50 keys.');
  return (tags) =>
    list.every((filter) =>
      tags.some(
        (tag) => tag.Key === filter.Key && (!filter.Values?.length || filter.Values.includes(tag.Value)),
      ),
    );
}

const RESOURCE_PAGING: Paging = {
  min: 1,
  max: 100,
  fallback: 50,
  badSize: () => invalidParameter('ResourcesPerPage must be between 1 and 100.'),
  badToken: () => invalidParameter('The specified pagination token is not valid.'),
};

function getResources(ctx: OperationContext<unknown>, input: any) {
  // First, so a request wrong in both ways is refused for its page size.
  pageSize(input.ResourcesPerPage, RESOURCE_PAGING);
  const byType = typeMatcher(input.ResourceTypeFilters);
  const byTags = tagMatcher(input.TagFilters);
  const arns: string[] | undefined = input.ResourceARNList;
  // The Tagging API does not list IAM roles and instance profiles: those are found through IAM itself.
  const resources = [...ec2Resources(ctx), ...ssmResources(ctx)].filter(
    (resource) =>
      byType(resource.ResourceARN) && byTags(resource.Tags) && (!arns || arns.includes(resource.ResourceARN)),
  );
  const scope = `resources:${JSON.stringify([input.TagFilters, input.ResourceTypeFilters, arns])}`;
  const request = { size: input.ResourcesPerPage, token: input.PaginationToken, scope };
  const { page, NextToken } = pageOf(resources, request, RESOURCE_PAGING);
  // GetResources answers '' on the last page, not an absent token.
  return { ResourceTagMappingList: page, PaginationToken: NextToken ?? '' };
}

/** Resource Groups Tagging API: GetResources over the tagged EC2 resources and SSM parameters. */
export const taggingSimulator: ServiceSimulator<Record<string, never>> = {
  name: 'ResourceGroupsTaggingAPI',
  initialState: () => ({}),
  operations: { GetResources: getResources },
};
