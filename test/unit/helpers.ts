import { createHash } from 'node:crypto';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client, type Image, type Instance, type ResourceType } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { expect } from 'vitest';
import sample from '../../examples/sample.json' with { type: 'json' };
import type { AwsClients } from '../../functions/shared/clients.js';
import type { DeploymentContext } from '../../functions/shared/context.js';
import { DeploymentError, type FailureCause, parseCause } from '../../src/core/errors.js';
import { planDeployment } from '../../src/core/spec/plan.js';
import { type DeploymentSpec, DeploymentSpecSchema } from '../../src/core/spec/schema.js';

/** The raw sample spec, as the state machine passes it to a handler. Two allowed CIDRs to see each one used. */
export const RAW_SPEC = { ...sample, allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'] };
export const ALLOWED_CIDRS = RAW_SPEC.allowedCidrs;
export const VPC_CIDR = '10.5.0.0/16';

export const specWith = (overrides: Record<string, unknown> = {}): DeploymentSpec =>
  DeploymentSpecSchema.parse({ ...RAW_SPEC, ...overrides });

/** A deployment context for the sample spec, with real SDK clients (patched by `mockClient` in each test file). */
export function sampleContext(overrides: Record<string, unknown> = {}): DeploymentContext {
  const spec = specWith(overrides);
  const config = { region: spec.region };
  const clients: AwsClients = {
    ec2: new EC2Client(config),
    iam: new IAMClient(config),
    ssm: new SSMClient(config),
    sts: new STSClient(config),
    quotas: new ServiceQuotasClient(config),
    tagging: new ResourceGroupsTaggingAPIClient(config),
    logs: new CloudWatchLogsClient(config),
  };
  return { plan: planDeployment(spec), clients };
}

/** An error shaped as the SDK throws it for an AWS error code. */
export const awsError = (name: string, message = `${name} from AWS`) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });

/** The deployment tags every created resource carries: literal values, independent of the code under test. */
export const deploymentTags = (name: string) => [
  { Key: 'Name', Value: name },
  { Key: 'DeploymentName', Value: 'sample' },
  { Key: 'DeploymentOperator', Value: 'capideploy' },
];

/** The TagSpecifications a create call must carry. */
export const tagSpec = (resourceType: ResourceType, name: string) => [
  { ResourceType: resourceType, Tags: expect.arrayContaining(deploymentTags(name)) },
];

/** The filters that find the deployment's own resources by tags. */
export const ownFilters = [
  { Name: 'tag:DeploymentName', Values: ['sample'] },
  { Name: 'tag:DeploymentOperator', Values: ['capideploy'] },
];

/** Names of the commands a mock received that are not Describe*: empty when nothing was changed. */
export const mutatingCalls = (mock: { calls(): { args: unknown[] }[] }) =>
  mock
    .calls()
    .map((call) => (call.args[0] as object).constructor.name)
    .filter((name) => !name.startsWith('Describe'));

/** Awaits a promise that must reject, and returns what it rejected with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * Asserts the promise rejects with our named error `name`, whose message parses to a failure cause matching
 * `expected` and carrying a non-empty hint. Returns the cause for further checks.
 */
export async function expectNamedError(
  promise: Promise<unknown>,
  name: string,
  expected: Partial<FailureCause>,
): Promise<FailureCause> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(DeploymentError);
  expect((error as Error).name).toBe(name);
  const cause = parseCause((error as Error).message);
  expect(cause).not.toBeNull();
  expect(cause).toMatchObject(expected);
  expect(cause!.hint.trim().length).toBeGreaterThan(10);
  expect((error as DeploymentError).failure).toEqual(cause);
  return cause!;
}

/** The 11 nicknames of the sample fleet, in plan order. */
export const SAMPLE_NICKNAMES = [
  'bastion',
  'rabbitmq',
  'prometheus',
  'cass001',
  'cass002',
  'cass003',
  'cass004',
  'daemon001',
  'daemon002',
  'daemon003',
  'daemon004',
];

/** A DescribeInstances instance of the sample deployment. */
export function instance(
  nickname: string,
  state: string,
  id = idOf(nickname),
  extra: Partial<Instance> = {},
): Instance {
  return {
    InstanceId: id,
    State: { Name: state as never },
    LaunchTime: new Date(Date.now() - 60_000),
    Tags: [...deploymentTags(`sample-${nickname}`), { Key: 'Nickname', Value: nickname }],
    ...extra,
  };
}

/** Distinct, valid-looking instance ids per nickname. */
export const idOf = (nickname: string) =>
  `i-${createHash('sha256').update(nickname).digest('hex').slice(0, 17)}`;

/** The whole sample fleet in one state, as one DescribeInstances page. */
export const fleetPage = (state: string, overrides: Record<string, Partial<Instance>> = {}) => ({
  Reservations: [
    {
      Instances: SAMPLE_NICKNAMES.map((nickname) =>
        instance(nickname, state, idOf(nickname), overrides[nickname] ?? {}),
      ),
    },
  ],
});

/**
 * An image of the sample deployment's node as `images create` makes it (Name and tags of the instance, an encrypted
 * root snapshot; the bastion's also has its log volume at /dev/sdf), for restore tests (spec.fromImages).
 */
export function sourceImage(nickname: string, state = 'available', extra: Partial<Image> = {}): Image {
  const id = createHash('sha256').update(`image ${nickname}`).digest('hex').slice(0, 17);
  const ebs = (snapshot: string, size: number) => ({
    SnapshotId: `snap-${snapshot}`,
    VolumeSize: size,
    VolumeType: 'gp3' as const,
    Encrypted: true,
    DeleteOnTermination: true,
  });
  return {
    ImageId: `ami-${id}`,
    Name: `sample-${nickname}`,
    State: state as never,
    Architecture: 'arm64',
    RootDeviceName: '/dev/sda1',
    BlockDeviceMappings: [
      { DeviceName: '/dev/sda1', Ebs: ebs(`${id}r`, 20) },
      ...(nickname === 'bastion' ? [{ DeviceName: '/dev/sdf', Ebs: ebs(`${id}l`, 10) }] : []),
    ],
    Tags: deploymentTags(`sample-${nickname}`),
    ...extra,
  };
}
