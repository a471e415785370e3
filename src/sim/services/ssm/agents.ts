import { tagValue } from '../../../core/tags.js';
import { LATENCY_SECONDS } from '../../latency.js';
import { pageOf, pageSize } from '../../pagination.js';
import { subnetHasInternetRoute } from '../ec2.js';
import { instanceProfileOfArn, profileRoleHasPolicy, SSM_MANAGED_INSTANCE_CORE } from '../iam.js';
import {
  type Ctx,
  computerName,
  type Ec2Instance,
  type Ec2View,
  ec2Of,
  GONE_STATES,
  iamOf,
  managedRecord,
  nameOf,
  ssmError,
  ssmPaging,
} from './state.js';

// Agent registration: which EC2 instances SSM manages, and DescribeInstanceInformation.

/** The SSM Agent version the simulated instances report (≥ 3.3.2746.0: honours `interpolationType: ENV_VAR`). */
export const AGENT_VERSION = '3.3.2958.0';

type PingStatus = 'Online' | 'ConnectionLost';

/** True when SSM Agent on the instance can reach SSM: running, SSM role in its profile, route to the internet. */
function reachable(ctx: Ctx, ec2: Ec2View, instance: Ec2Instance): boolean {
  if (instance.State?.Name !== 'running') return false;
  const iam = iamOf(ctx);
  const profile =
    instance.IamInstanceProfile && iam && instanceProfileOfArn(iam, instance.IamInstanceProfile.Arn);
  if (!profile || !profileRoleHasPolicy(iam, profile, SSM_MANAGED_INSTANCE_CORE)) return false;
  // `ec2` comes from ec2Of, refreshed at this call's time: refreshing again per instance made a fleet quadratic.
  const route = subnetHasInternetRoute(ec2 as never, instance.SubnetId, ctx.now(), true);
  // Through an internet gateway only an instance with a public address gets out.
  return route === 'nat' || (route === 'igw' && Boolean(instance.PublicIpAddress));
}

/**
 * The agent's ping status for an instance, updating its registration record; undefined when SSM does not list
 * the instance (never registered, or terminated). Online comes `ssmAgentOnline` seconds after a describe first
 * saw the instance reachable; a registered instance that loses its path is ConnectionLost.
 */
export function observe(ctx: Ctx, ec2: Ec2View, instance: Ec2Instance): PingStatus | undefined {
  if (GONE_STATES.has(instance.State?.Name)) return undefined;
  const now = ctx.now();
  const record = managedRecord(ctx, instance.InstanceId);
  if (!reachable(ctx, ec2, instance) || agentRegistrationFails(ctx, instance)) {
    record.reachableSince = undefined;
    return record.onlineAt === undefined ? undefined : 'ConnectionLost';
  }
  record.reachableSince ??= now;
  const onlineAt = record.reachableSince + LATENCY_SECONDS.ssmAgentOnline * 1000;
  if (now < onlineAt) return record.onlineAt === undefined ? undefined : 'ConnectionLost';
  record.onlineAt ??= onlineAt;
  record.lastPingAt = now;
  return 'Online';
}

/**
 * The agent registers and pings through UpdateInstanceInformation; an error rule on that operation (for example
 * AccessDeniedException on target cass002) keeps the node's agent from ever coming online.
 */
function agentRegistrationFails(ctx: Ctx, instance: Ec2Instance): boolean {
  const targets = [nameOf(instance, instance.InstanceId), instance.InstanceId];
  return (
    ctx.account.faults.take({ service: 'SSM', operation: 'UpdateInstanceInformation', targets }, 'error') !==
    undefined
  );
}

function instanceInformation(ctx: Ctx, instance: Ec2Instance, ping: PingStatus) {
  const record = managedRecord(ctx, instance.InstanceId);
  return {
    InstanceId: instance.InstanceId,
    PingStatus: ping,
    LastPingDateTime: new Date(record.lastPingAt ?? record.onlineAt ?? ctx.now()),
    AgentVersion: AGENT_VERSION,
    IsLatestVersion: false,
    PlatformType: 'Linux',
    PlatformName: 'Ubuntu',
    PlatformVersion: '24.04',
    ResourceType: 'EC2Instance',
    IPAddress: instance.PrivateIpAddress,
    ComputerName: computerName(instance, ctx.region),
    SourceId: instance.InstanceId,
    SourceType: 'AWS::EC2::Instance',
  };
}

type Information = ReturnType<typeof instanceInformation>;
type InformationFilter = (info: Information, instance: Ec2Instance) => boolean;

const INSTANCE_ID = /^(i|mi)-[0-9a-f]{8,17}$/;

function badFilterValue(key: string, value: unknown) {
  return ssmError(
    'InvalidInstanceInformationFilterValue',
    `The filter value ${JSON.stringify(value)} is not valid for key ${key}.`,
  );
}

function informationFilter(key: string, values: unknown): InformationFilter {
  if (!Array.isArray(values) || values.length === 0) throw badFilterValue(key, values);
  const list = values.map(String);
  if (key.startsWith('tag:')) {
    return (_info, instance) => {
      const value = tagValue(instance.Tags, key.slice(4));
      return value !== undefined && list.includes(value);
    };
  }
  if (key === 'tag-key')
    return (_info, instance) => (instance.Tags ?? []).some((tag) => list.includes(tag.Key));
  const checks: Record<string, [RegExp, (info: Information) => string]> = {
    InstanceIds: [INSTANCE_ID, (info) => info.InstanceId],
    PingStatus: [/^(Online|ConnectionLost|Inactive)$/, (info) => info.PingStatus],
    PlatformTypes: [/^(Windows|Linux|MacOS)$/, (info) => info.PlatformType],
    ResourceType: [/^(EC2Instance|ManagedInstance)$/, (info) => info.ResourceType],
    AgentVersion: [/^[0-9.]+$/, (info) => info.AgentVersion],
  };
  const check = checks[key];
  if (!check) throw ssmError('InvalidFilterKey', 'The specified key is not valid.');
  const bad = list.find((value) => !check[0].test(value));
  if (bad !== undefined) throw badFilterValue(key, bad);
  return (info) => list.includes(check[1](info));
}

function informationFilters(input: any): InformationFilter[] {
  const modern = (input.Filters ?? []).map((f: any) => informationFilter(String(f.Key ?? ''), f.Values));
  const legacy = (input.InstanceInformationFilterList ?? []).map((f: any) =>
    informationFilter(String(f.key ?? ''), f.valueSet),
  );
  const tagKeys = (input.Filters ?? []).filter((f: any) => /^tag(:|-key$)/.test(String(f.Key ?? '')));
  if (tagKeys.length > 0 && tagKeys.length < modern.length + legacy.length) {
    throw ssmError('InvalidFilter', 'Tag filters can\u2019t be combined with other filter types.');
  }
  return [...modern, ...legacy];
}

// Unverified: the API reference gives a default page of 10 (range 5-50).
const INFORMATION_PAGING = ssmPaging(5, 50, 10);

function describeInstanceInformation(ctx: Ctx, input: any) {
  const filters = informationFilters(input);
  // Checked before observe() records agent state and takes fault rules, as a rejected call must not.
  pageSize(input.MaxResults, INFORMATION_PAGING);
  const ec2 = ec2Of(ctx);
  const listed = Object.values(ec2.instances).flatMap((instance) => {
    const ping = observe(ctx, ec2, instance);
    if (!ping) return [];
    const info = instanceInformation(ctx, instance, ping);
    return filters.every((filter) => filter(info, instance)) ? [info] : [];
  });
  const scope = `info:${JSON.stringify([input.Filters, input.InstanceInformationFilterList])}`;
  const request = { size: input.MaxResults, token: input.NextToken, scope };
  const { page, ...next } = pageOf(listed, request, INFORMATION_PAGING);
  return { InstanceInformationList: page, ...next };
}

/** Agent registration's operations. */
export const agentOperations = {
  DescribeInstanceInformation: describeInstanceInformation,
};
