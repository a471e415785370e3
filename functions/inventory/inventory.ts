import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { GetResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { logGroupName } from '../../src/core/cluster-logs.js';
import { parseCause, ResourcesLeft, TeardownStepsFailed } from '../../src/core/errors.js';
import type { InventoryItem } from '../../src/core/inventory.js';
import { tagValue } from '../../src/core/tags.js';
import { asDeploymentError, awsCall, isNotFound } from '../shared/aws-errors.js';
import type { DeploymentContext } from '../shared/context.js';
import { deploymentFilters } from '../shared/ec2.js';
import { isLastRound, type Round } from '../shared/rounds.js';

interface Described {
  state: string;
  billed: boolean;
  name?: string;
  size?: string;
  /** Gone for good (terminated instance, deleted NAT gateway): not owned any more. */
  gone?: boolean;
}

type Describer = (ctx: DeploymentContext, ids: string[]) => Promise<Map<string, Described>>;

const named = (tags: Tag[] | undefined) => tagValue(tags, 'Name');

/** Per ARN type, one batched describe call that gives each resource's state and billing (capideploy §2.7). */
const DESCRIBERS: Record<string, Describer> = {
  vpc: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeVpcsCommand({ VpcIds: ids }));
    return new Map(out.Vpcs?.map((v) => [v.VpcId!, { state: v.State!, billed: true, name: named(v.Tags) }]));
  },
  subnet: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ids }));
    return new Map(
      out.Subnets?.map((s) => [s.SubnetId!, { state: s.State!, billed: true, name: named(s.Tags) }]),
    );
  },
  'security-group': async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ids }));
    return new Map(
      out.SecurityGroups?.map((g) => [g.GroupId!, { state: 'present', billed: true, name: named(g.Tags) }]),
    );
  },
  'route-table': async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ids }));
    return new Map(
      out.RouteTables?.map((t) => [
        t.RouteTableId!,
        { state: `${t.Routes?.length ?? 0} routes`, billed: true, name: named(t.Tags) },
      ]),
    );
  },
  'internet-gateway': async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: ids }));
    return new Map(
      out.InternetGateways?.map((g) => [
        g.InternetGatewayId!,
        { state: `${g.Attachments?.length ?? 0} attachments`, billed: true, name: named(g.Tags) },
      ]),
    );
  },
  natgateway: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: ids }));
    return new Map(
      out.NatGateways?.map((n) => [
        n.NatGatewayId!,
        {
          state: n.State!,
          billed: n.State === 'pending' || n.State === 'available',
          name: named(n.Tags),
          gone: n.State === 'deleted' || n.State === 'failed',
        },
      ]),
    );
  },
  'elastic-ip': async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeAddressesCommand({ AllocationIds: ids }));
    return new Map(
      out.Addresses?.map((a) => [
        a.AllocationId!,
        { state: a.PublicIp ?? 'allocated', billed: true, name: named(a.Tags) },
      ]),
    );
  },
  instance: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const instances = out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    return new Map(
      instances.map((i) => [
        i.InstanceId!,
        {
          state: i.State!.Name!,
          billed: i.State!.Name === 'pending' || i.State!.Name === 'running',
          name: named(i.Tags),
          size: i.InstanceType,
          gone: i.State!.Name === 'terminated',
        },
      ]),
    );
  },
  'network-interface': async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ids }));
    return new Map(
      out.NetworkInterfaces?.map((n) => [
        n.NetworkInterfaceId!,
        {
          state: `${n.Status} ${n.InterfaceType ?? 'interface'}${n.Description ? `: ${n.Description}` : ''}`,
          billed: false,
          name: named(n.TagSet),
        },
      ]),
    );
  },
  volume: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeVolumesCommand({ VolumeIds: ids }));
    return new Map(
      out.Volumes?.map((v) => [
        v.VolumeId!,
        {
          state: v.State!,
          billed: ['available', 'creating', 'in-use'].includes(v.State!),
          name: named(v.Tags),
          size: `${v.Size}`,
        },
      ]),
    );
  },
  // images create (functions/images): the AMIs and their snapshots, kept by delete-deployment unless asked.
  image: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeImagesCommand({ ImageIds: ids }));
    return new Map(
      out.Images?.map((i) => [i.ImageId!, { state: i.State!, billed: false, name: i.Name ?? named(i.Tags) }]),
    );
  },
  snapshot: async ({ clients }, ids) => {
    const out = await clients.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }));
    return new Map(
      out.Snapshots?.map((s) => [
        s.SnapshotId!,
        { state: s.State!, billed: true, name: named(s.Tags), size: `${s.VolumeSize}` },
      ]),
    );
  },
};

/** `arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc` -> { type: vpc, id: vpc-0abc }; SSM parameters keep their path. */
export function parseArn(arn: string): { service: string; type: string; id: string } {
  const [, , service, , , resource] = arn.split(':');
  const slash = resource.indexOf('/');
  const type = resource.slice(0, slash);
  const rest = resource.slice(slash + 1);
  return { service, type, id: type === 'parameter' ? `/${rest}` : rest };
}

/**
 * Describes a batch; the tagging API lags behind deletes, so an id that no longer exists makes the batch fail
 * with NotFound, and the ids are then described one by one, skipping the missing ones.
 */
async function describeTolerant(
  ctx: DeploymentContext,
  type: string,
  ids: string[],
): Promise<Map<string, Described>> {
  const describe: Describer | undefined = DESCRIBERS[type];
  if (!describe) return new Map(ids.map((id) => [id, { state: 'unknown', billed: false }]));
  const site = { resource: `${type}s of ${ctx.plan.deployment}` };
  try {
    return await describe(ctx, ids);
  } catch (error) {
    if (!isNotFound(error)) throw asDeploymentError(error, site);
    if (ids.length === 1) return new Map();
  }
  const merged = new Map<string, Described>();
  for (const id of ids)
    for (const [key, value] of await describeTolerant(ctx, type, [id])) merged.set(key, value);
  return merged;
}

async function taggedArns({ plan, clients }: DeploymentContext): Promise<string[]> {
  const arns: string[] = [];
  let token: string | undefined;
  do {
    const page = await awsCall({ resource: `tagged resources of ${plan.deployment}` }, () =>
      clients.tagging.send(
        new GetResourcesCommand({
          TagFilters: [
            { Key: 'DeploymentName', Values: [plan.deployment] },
            { Key: 'DeploymentOperator', Values: [plan.tagsBase.DeploymentOperator] },
          ],
          ResourcesPerPage: 100,
          PaginationToken: token,
        }),
      ),
    );
    arns.push(...(page.ResourceTagMappingList ?? []).map((mapping) => mapping.ResourceARN!));
    token = page.PaginationToken || undefined;
  } while (token);
  return arns;
}

/** The IAM role and instance profile: the tagging API does not list IAM, so they are looked up by name. */
async function identityResources({ plan, clients }: DeploymentContext): Promise<InventoryItem[]> {
  const items: InventoryItem[] = [];
  const lookups = [
    {
      type: 'role',
      name: plan.names.instanceRole,
      get: () => clients.iam.send(new GetRoleCommand({ RoleName: plan.names.instanceRole })),
    },
    {
      type: 'instance-profile',
      name: plan.names.instanceProfile,
      get: () =>
        clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: plan.names.instanceProfile })),
    },
  ];
  for (const lookup of lookups) {
    try {
      await lookup.get();
      items.push({ type: lookup.type, id: lookup.name, name: lookup.name, state: 'present', billed: false });
    } catch (error) {
      if (!isNotFound(error)) {
        throw asDeploymentError(error, { resource: `${lookup.type} ${lookup.name}`, id: lookup.name });
      }
    }
  }
  return items;
}

/**
 * The cluster's log group (`/capideploy/<deployment>`), looked up by name: its retention, and its stored bytes,
 * which CloudWatch Logs bills (the cost estimate prices them).
 */
async function logGroupResources({ plan, clients }: DeploymentContext): Promise<InventoryItem[]> {
  const name = logGroupName(plan.deployment);
  const found = await awsCall({ resource: `log group ${name}`, id: name }, () =>
    clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name })),
  );
  return (found.logGroups ?? [])
    .filter((group) => group.logGroupName === name)
    .map((group) => ({
      type: 'log-group',
      id: name,
      name,
      state: `${group.retentionInDays ? `${group.retentionInDays} days` : 'kept forever'}, ${group.storedBytes ?? 0} bytes stored`,
      billed: (group.storedBytes ?? 0) > 0,
      size: String(group.storedBytes ?? 0),
    }));
}

/** The ids each per-service Describe* finds with the deployment's tag filters, by ARN resource type. */
async function describedIds({ plan, clients }: DeploymentContext): Promise<Map<string, string[]>> {
  const Filters = deploymentFilters(plan);
  const site = { resource: `resources of ${plan.deployment}` };
  const ec2 = clients.ec2;
  const found = await awsCall(site, async () => {
    const [vpcs, subnets, groups, tables, gateways, nats, addresses, instances, volumes] = await Promise.all([
      ec2.send(new DescribeVpcsCommand({ Filters })),
      ec2.send(new DescribeSubnetsCommand({ Filters })),
      ec2.send(new DescribeSecurityGroupsCommand({ Filters })),
      ec2.send(new DescribeRouteTablesCommand({ Filters })),
      ec2.send(new DescribeInternetGatewaysCommand({ Filters })),
      // DescribeNatGateways names its filter parameter `Filter`.
      ec2.send(new DescribeNatGatewaysCommand({ Filter: Filters })),
      ec2.send(new DescribeAddressesCommand({ Filters })),
      ec2.send(new DescribeInstancesCommand({ Filters })),
      ec2.send(new DescribeVolumesCommand({ Filters })),
    ]);
    return {
      vpc: vpcs?.Vpcs?.map((v) => v.VpcId!),
      subnet: subnets?.Subnets?.map((s) => s.SubnetId!),
      'security-group': groups?.SecurityGroups?.map((g) => g.GroupId!),
      'route-table': tables?.RouteTables?.map((t) => t.RouteTableId!),
      'internet-gateway': gateways?.InternetGateways?.map((g) => g.InternetGatewayId!),
      natgateway: nats?.NatGateways?.map((n) => n.NatGatewayId!),
      'elastic-ip': addresses?.Addresses?.map((a) => a.AllocationId!),
      instance: instances?.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!),
      volume: volumes?.Volumes?.map((v) => v.VolumeId!),
    };
  });
  return new Map(Object.entries(found).map(([type, ids]) => [type, ids ?? []]));
}

/**
 * What is inside the deployment's VPCs without its tags: network interfaces (a stranger's ENI, a Lambda's or a load
 * balancer's), route tables other than the main one and security groups other than `default` (those two go with the
 * VPC). Any of them keeps the VPC from being deleted.
 */
async function untaggedInVpcs(
  { plan, clients }: DeploymentContext,
  vpcIds: string[],
): Promise<Map<string, string[]>> {
  if (vpcIds.length === 0) return new Map();
  const Filters = [{ Name: 'vpc-id', Values: vpcIds }];
  const site = { resource: `VPC ${plan.names.vpc}`, id: vpcIds.join(', ') };
  const ec2 = clients.ec2;
  return awsCall(site, async () => {
    const [interfaces, tables, groups] = await Promise.all([
      ec2.send(new DescribeNetworkInterfacesCommand({ Filters })),
      ec2.send(new DescribeRouteTablesCommand({ Filters })),
      ec2.send(new DescribeSecurityGroupsCommand({ Filters })),
    ]);
    return new Map([
      ['network-interface', (interfaces?.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!)],
      [
        'route-table',
        (tables?.RouteTables ?? [])
          .filter((t) => !t.Associations?.some((association) => association.Main))
          .map((t) => t.RouteTableId!),
      ],
      [
        'security-group',
        (groups?.SecurityGroups ?? []).filter((g) => g.GroupName !== 'default').map((g) => g.GroupId!),
      ],
    ]);
  });
}

/**
 * Everything the deployment owns now, found by its tags (and IAM by name), with state and billing. `thorough` (the
 * teardown's final check) adds the union of per-service Describe* calls with the deployment's tag filters, for what
 * the tagging API misses or lags on, and what is untagged inside the deployment's VPCs; ids are deduplicated.
 */
export async function listResources(
  ctx: DeploymentContext,
  options: { thorough?: boolean } = {},
): Promise<InventoryItem[]> {
  const byType = new Map<string, string[]>();
  const parameters: InventoryItem[] = [];
  const add = (type: string, id: string) => {
    const ids = byType.get(type) ?? [];
    if (!ids.includes(id)) byType.set(type, [...ids, id]);
  };
  for (const arn of await taggedArns(ctx)) {
    const { type, id } = parseArn(arn);
    if (type === 'parameter') {
      parameters.push({ type, id, name: id, state: 'SecureString', billed: false });
    } else {
      add(type, id);
    }
  }
  if (options.thorough) {
    for (const [type, ids] of await describedIds(ctx)) for (const id of ids) add(type, id);
    for (const [type, ids] of await untaggedInVpcs(ctx, byType.get('vpc') ?? [])) {
      for (const id of ids) add(type, id);
    }
  }
  const items: InventoryItem[] = [];
  for (const [type, ids] of byType) {
    const described = await describeTolerant(ctx, type, ids);
    for (const id of ids) {
      const info = described.get(id);
      if (!info || info.gone) continue;
      const size = info.size ? { size: info.size } : {};
      items.push({ type, id, name: info.name ?? id, state: info.state, billed: info.billed, ...size });
    }
  }
  items.push(...parameters, ...(await identityResources(ctx)), ...(await logGroupResources(ctx)));
  return items.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

/** Which teardown step is responsible for each resource type, to explain a leftover with that step's error. */
const STEP_OF_TYPE: Record<string, string> = {
  instance: 'instances',
  volume: 'volumes',
  'security-group': 'securityGroups',
  role: 'instanceRole',
  'instance-profile': 'instanceRole',
  natgateway: 'natGateway',
  'internet-gateway': 'internetGateway',
  subnet: 'subnets',
  'route-table': 'routeTables',
  vpc: 'vpc',
  'elastic-ip': 'elasticIps',
  parameter: 'secrets',
  'log-group': 'instanceRole',
};

/** What delete-deployment keeps on purpose: images and their snapshots (functions/images). */
const KEPT_TYPES = new Set(['image', 'snapshot']);

type StepErrors = Record<string, { Error?: string; Cause?: string } | undefined>;

/** Why a leftover is still there: its teardown step's error, or what it is when no step owns it. */
function whyLeft(item: InventoryItem, errors: StepErrors): string {
  if (item.type === 'network-interface') {
    return `untagged network interface in the deployment's VPC (${item.state}), not made by capideploy: delete it or what owns it`;
  }
  const stepError = errors[STEP_OF_TYPE[item.type] ?? ''];
  const cause = parseCause(stepError?.Cause);
  return stepError
    ? `${stepError.Error}${cause?.awsError ? ` (${cause.awsError})` : ''}: ${cause?.message ?? stepError.Cause ?? ''}`.trim()
    : 'still present although its teardown step succeeded';
}

/** Each teardown step whose failure was caught: the step, the error name, the resource, its id and AWS's code. */
function failedSteps(errors: StepErrors) {
  return Object.entries(errors).flatMap(([step, error]) => {
    if (!error?.Error) return [];
    const cause = parseCause(error.Cause);
    return [
      {
        step,
        error: error.Error,
        resource: cause?.resource ?? step,
        id: cause?.id ?? null,
        awsError: cause?.awsError ?? null,
        message: cause?.message ?? error.Cause ?? '',
      },
    ];
  });
}

/**
 * The teardown's verdict, in a counted loop (`attempt` of `maxAttempts`): while something is left and rounds remain,
 * `settled: false` (the ASL looks again, riding out the tagging API's and EC2's eventual consistency). Then it fails
 * with ResourcesLeft naming each leftover, its id and why, or, when nothing is left but a step's failure was caught,
 * with TeardownStepsFailed naming each step's resource and AWS error code. Without a round it judges at once.
 */
export async function checkLeftovers(
  ctx: DeploymentContext,
  errors: StepErrors,
  round: Round = {},
  keepLogs = false,
): Promise<{ settled: boolean; resources: InventoryItem[] }> {
  // A log group the spec keeps (`keepLogs`) is meant to outlive the deployment: not a leftover. Nor are the
  // deployment's images and their snapshots: delete-deployment keeps them (images delete, or delete --with-images).
  const resources = (await listResources(ctx, { thorough: true })).filter(
    (item) => !(keepLogs && item.type === 'log-group') && !KEPT_TYPES.has(item.type),
  );
  const last = round.attempt === undefined || isLastRound(round);
  if (resources.length > 0 && !last) return { settled: false, resources };
  const failed = failedSteps(errors);
  const steps = failed.map(
    (entry) =>
      `${entry.resource}${entry.id ? ` ${entry.id}` : ''}: ${entry.error}${entry.awsError ? ` (${entry.awsError})` : ''}`,
  );
  if (resources.length > 0) {
    const leftovers = resources.map((item) => ({
      type: item.type,
      id: item.id,
      name: item.name,
      state: item.state,
      why: whyLeft(item, errors),
    }));
    throw new ResourcesLeft({
      resource: `deployment ${ctx.plan.deployment}`,
      message: `${leftovers.length} resource(s) still left for the deployment: ${leftovers
        .slice(0, 10)
        .map((item) => `${item.type} ${item.id} (${item.why})`)
        .join('; ')}`,
      hint: 'Fix the cause shown for each resource, then run delete again: it only removes what is left.',
      details: { leftovers: leftovers.slice(0, 50), failedSteps: failed.slice(0, 20) },
    });
  }
  if (failed.length > 0) {
    throw new TeardownStepsFailed({
      resource: `deployment ${ctx.plan.deployment}`,
      id: failed[0].id,
      awsError: failed[0].awsError,
      message: `nothing is left, but ${failed.length} teardown step(s) failed: ${steps.slice(0, 10).join('; ')}`,
      hint: 'Check each named resource in the console (the inventory may lag), then run delete again: it only removes what is left and ends SUCCEEDED when every step does.',
      details: { failedSteps: failed.slice(0, 20) },
    });
  }
  return { settled: true, resources };
}
