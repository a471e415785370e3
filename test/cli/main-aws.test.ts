import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeNatGatewaysCommand,
  DescribeSnapshotsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readSpecFile } from '../../src/cli/spec-file.js';
import { canonicalJson, createName } from '../../src/core/lifecycle.js';
import { INSTANCE_HOURLY_USD, SNAPSHOT_GB_MONTH_USD } from '../../src/cost/prices.js';

/**
 * AWS mode through the program: `capi-deploy <command>` without --local makes its clients in the factory
 * (src/cli/aws-clients.ts) from the SDK default chain; aws-sdk-client-mock answers them.
 */

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const ec2Mock = mockClient(EC2Client);
const iamMock = mockClient(IAMClient);
const logsMock = mockClient(CloudWatchLogsClient);

const SAMPLE = fileURLToPath(new URL('../../examples/sample.json', import.meta.url));
const spec = readSpecFile(SAMPLE);
const PREFIX = 'arn:aws:states:us-east-1:111122223333';
const CREATE_MACHINE = `${PREFIX}:stateMachine:CapiDeploy-create-deployment`;
const DELETE_MACHINE = `${PREFIX}:stateMachine:CapiDeploy-delete-deployment`;
const CREATE_NAME = createName(spec, 1);
const CREATE_ARN = `${PREFIX}:execution:CapiDeploy-create-deployment:${CREATE_NAME}`;
const T0 = new Date('2026-11-24T10:00:00Z');
const ec2Arn = (type: string, id: string) => `arn:aws:ec2:us-east-1:111122223333:${type}/${id}`;

const HISTORY: HistoryEvent[] = [
  { id: 1, previousEventId: 0, timestamp: T0, type: 'ExecutionStarted' },
  {
    id: 2,
    previousEventId: 1,
    timestamp: T0,
    type: 'TaskStateEntered',
    stateEnteredEventDetails: { name: 'Create VPC' },
  },
  { id: 3, previousEventId: 2, timestamp: T0, type: 'LambdaFunctionScheduled' },
  { id: 4, previousEventId: 3, timestamp: T0, type: 'LambdaFunctionSucceeded' },
  {
    id: 5,
    previousEventId: 4,
    timestamp: new Date(T0.getTime() + 5000),
    type: 'TaskStateExited',
    stateExitedEventDetails: { name: 'Create VPC' },
  },
  { id: 6, previousEventId: 5, timestamp: new Date(T0.getTime() + 5000), type: 'ExecutionSucceeded' },
];

let out: string[];
let err: string[];
const stdout = () => out.join('\n');

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    out.push(String(line));
  });
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
    err.push(String(line));
  });
  cfnMock.on(DescribeStacksCommand, { StackName: 'CapiDeploy' }).resolves({
    Stacks: [
      {
        StackName: 'CapiDeploy',
        CreationTime: T0,
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'CreateDeploymentStateMachineArn', OutputValue: CREATE_MACHINE },
          { OutputKey: 'DeleteDeploymentStateMachineArn', OutputValue: DELETE_MACHINE },
        ],
      },
    ],
  });
  // The day-2 machines (stop, start, images): no executions unless a test says otherwise.
  sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({
    executions: [
      {
        executionArn: CREATE_ARN,
        stateMachineArn: CREATE_MACHINE,
        name: CREATE_NAME,
        status: 'SUCCEEDED',
        startDate: T0,
        stopDate: new Date(T0.getTime() + 5000),
      },
    ],
  });
  sfnMock.on(ListExecutionsCommand, { stateMachineArn: DELETE_MACHINE }).resolves({ executions: [] });
  sfnMock.on(DescribeExecutionCommand, { executionArn: CREATE_ARN }).resolves({
    executionArn: CREATE_ARN,
    stateMachineArn: CREATE_MACHINE,
    name: CREATE_NAME,
    status: 'SUCCEEDED',
    startDate: T0,
    stopDate: new Date(T0.getTime() + 5000),
    input: canonicalJson(spec),
    output: '{}',
  });
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: HISTORY });
  // The deployment owns a VPC, a running daemon, a stopped Cassandra node and a NAT gateway.
  taggingMock.on(GetResourcesCommand).resolves({
    ResourceTagMappingList: [
      { ResourceARN: ec2Arn('vpc', 'vpc-1') },
      { ResourceARN: ec2Arn('instance', 'i-daemon') },
      { ResourceARN: ec2Arn('instance', 'i-cass') },
      { ResourceARN: ec2Arn('natgateway', 'nat-1') },
    ],
  });
  ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1', State: 'available' }] });
  ec2Mock.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          {
            InstanceId: 'i-daemon',
            InstanceType: 'c7g.large',
            State: { Name: 'running' },
            Tags: [{ Key: 'Name', Value: 'sample_daemon001' }],
          },
          {
            InstanceId: 'i-cass',
            InstanceType: 'c7gd.2xlarge',
            State: { Name: 'stopped' },
            Tags: [{ Key: 'Name', Value: 'sample_cass001' }],
          },
        ],
      },
    ],
  });
  ec2Mock.on(DescribeNatGatewaysCommand).resolves({
    NatGateways: [
      { NatGatewayId: 'nat-1', State: 'available', Tags: [{ Key: 'Name', Value: 'sample_natgw' }] },
    ],
  });
  const noSuchEntity = Object.assign(new Error('not found'), { name: 'NoSuchEntity' });
  iamMock.on(GetRoleCommand).rejects(noSuchEntity);
  iamMock.on(GetInstanceProfileCommand).rejects(noSuchEntity);
  logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const mock of [sfnMock, cfnMock, taggingMock, ec2Mock, iamMock, logsMock]) mock.reset();
  process.exitCode = undefined;
});

afterAll(() => {
  for (const mock of [sfnMock, cfnMock, taggingMock, ec2Mock, iamMock, logsMock]) mock.restore();
});

const hourly = INSTANCE_HOURLY_USD['us-east-1']['c7g.large'] + 0.045;

describe('capi-deploy in AWS mode', () => {
  it('status --json: the execution state, each resource with billing and $/hour, and the total', async () => {
    // Act
    const code = await main(['status', 'sample', '--region', 'us-east-1', '--json']);
    // Assert
    expect(code).toBe(0);
    const status = JSON.parse(stdout());
    expect(status).toMatchObject({
      deployment: 'sample',
      mode: 'aws',
      state: 'created',
      status: 'SUCCEEDED',
    });
    expect(status.resources).toEqual([
      {
        type: 'instance',
        id: 'i-cass',
        name: 'sample_cass001',
        state: 'stopped',
        billed: false,
        hourlyUsd: 0,
        size: 'c7gd.2xlarge',
      },
      {
        type: 'instance',
        id: 'i-daemon',
        name: 'sample_daemon001',
        state: 'running',
        billed: true,
        hourlyUsd: INSTANCE_HOURLY_USD['us-east-1']['c7g.large'],
        size: 'c7g.large',
      },
      {
        type: 'natgateway',
        id: 'nat-1',
        name: 'sample_natgw',
        state: 'available',
        billed: true,
        hourlyUsd: 0.045,
      },
      { type: 'vpc', id: 'vpc-1', name: 'vpc-1', state: 'available', billed: true, hourlyUsd: 0 },
    ]);
    expect(status.hourlyUsd).toBeCloseTo(hourly, 6);
    // The stack was found by its outputs, the inventory asked the tagging API for the deployment's tags.
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'CapiDeploy' });
    expect(taggingMock.commandCalls(GetResourcesCommand)[0].args[0].input.TagFilters).toEqual([
      { Key: 'DeploymentName', Values: ['sample'] },
      { Key: 'DeploymentOperator', Values: ['capideploy'] },
    ]);
  });

  it('status: prints the resource table and the total hourly cost line', async () => {
    // Act
    const code = await main(['status', 'sample', '--region', 'us-east-1']);
    // Assert
    expect(code).toBe(0);
    expect(stdout()).toContain(`sample: created (create execution ${CREATE_NAME}, SUCCEEDED)`);
    expect(stdout()).toMatch(/instance\s+i-daemon\s+sample_daemon001\s+running\s+yes\s+\$0\.0725/);
    expect(stdout()).toMatch(/instance\s+i-cass\s+sample_cass001\s+stopped\s+no\s+-/);
    expect(stdout()).toContain(`total: $${hourly.toFixed(4)}/hour`);
  });

  it('list --json: each deployment with its resource counts and hourly cost', async () => {
    // Act
    const code = await main(['list', '--json', '--stack', 'CapiDeploy']);
    // Assert
    expect(code).toBe(0);
    const [row] = JSON.parse(stdout()).deployments;
    expect(row).toMatchObject({ deployment: 'sample', state: 'created', resources: 4, billed: 3 });
    expect(row.hourlyUsd).toBeCloseTo(hourly, 6);
  });

  it('create --no-wait: starts the execution and returns while it runs', async () => {
    // Arrange: no execution yet
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({ executions: [] });
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: CREATE_ARN, startDate: T0 });
    sfnMock.on(DescribeExecutionCommand, { executionArn: CREATE_ARN }).resolves({
      executionArn: CREATE_ARN,
      name: CREATE_NAME,
      status: 'RUNNING',
      startDate: T0,
    });
    // Act
    const code = await main(['create', SAMPLE, '--no-wait', '--json']);
    // Assert
    expect(code).toBe(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input).toMatchObject({
      stateMachineArn: CREATE_MACHINE,
      name: CREATE_NAME,
      input: canonicalJson(spec),
    });
    expect(JSON.parse(stdout())).toMatchObject({ status: 'RUNNING', mode: 'aws', executionArn: CREATE_ARN });
  });

  it('report --html: writes the page with the resources and the cost estimate', async () => {
    // Arrange
    const dir = mkdtempSync(join(tmpdir(), 'capi-report-'));
    const file = join(dir, 'report.html');
    try {
      // Act
      const code = await main(['report', 'sample', '--html', file, '--region', 'us-east-1']);
      // Assert
      expect(code).toBe(0);
      expect(existsSync(file)).toBe(true);
      const html = readFileSync(file, 'utf8');
      expect(html).toContain('Cost estimate');
      expect(html).toContain('sample_daemon001');
      expect(stdout()).toContain(`written to ${file}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('history <execution name>: finds it among the stack machines executions', async () => {
    // Act
    const code = await main(['history', CREATE_NAME, '--no-color']);
    // Assert
    expect(code).toBe(0);
    expect(stdout()).toContain('Create VPC');
  });

  it('refuses local-only flags without --local, before any AWS call (exit 2)', async () => {
    // Act
    const codes = [
      await main(['create', SAMPLE, '--faults', 'faults.json']),
      await main(['delete', 'sample', '--seed', '7']),
    ];
    // Assert
    expect(codes).toEqual([2, 2]);
    expect(err.join('\n')).toContain('--faults is for local mode');
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('an unknown deployment is bad input (exit 2)', async () => {
    // Act
    const code = await main(['status', 'nosuch', '--region', 'us-east-1']);
    // Assert
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('no deployment named nosuch');
  });

  it('passes --region to the clients it makes', async () => {
    // Arrange
    const regions: string[] = [];
    const factory = vi.fn((options: { region?: string }) => {
      regions.push(options.region ?? '');
      return { sfn: new SFNClient({ region: options.region }), cloudformation: new CloudFormationClient({}) };
    });
    // Act
    const code = await main(['list', '--region', 'eu-west-1', '--json'], { aws: factory });
    // Assert
    expect(code).toBe(0);
    expect(regions).toEqual(['eu-west-1']);
    // Without an inventory, list shows executions only.
    expect(JSON.parse(stdout()).deployments[0]).toMatchObject({ deployment: 'sample', resources: null });
  });
});

describe('capi-deploy in AWS mode: day-2 operations, images and plan (issue 17)', () => {
  let specDir: string;
  beforeEach(() => {
    specDir = mkdtempSync(join(tmpdir(), 'capi-aws-plan-'));
  });
  afterEach(() => rmSync(specDir, { recursive: true, force: true }));
  const specFile = (fields: Record<string, unknown>) => {
    const file = join(specDir, 'spec.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(SAMPLE, 'utf8')), ...fields }));
    return file;
  };
  /** The sample's 11 instances, running, as the inventory finds them by their tags. */
  const givenFleet = () => {
    const names = [
      'bastion',
      'rabbitmq',
      'prometheus',
      ...[1, 2, 3, 4].map((n) => `cass00${n}`),
      ...[1, 2, 3, 4].map((n) => `daemon00${n}`),
    ];
    taggingMock.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: names.map((name) => ({ ResourceARN: ec2Arn('instance', `i-${name}`) })),
    });
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: names.map((name) => ({
            InstanceId: `i-${name}`,
            InstanceType: 'c7g.large',
            State: { Name: 'running' as const },
            Tags: [{ Key: 'Name', Value: `sample-${name}` }],
          })),
        },
      ],
    });
  };

  it('stop without --force is bad input (exit 2) and starts nothing', async () => {
    expect(await main(['stop', 'sample', '--region', 'us-east-1'])).toBe(2);
    expect(err.join('\n')).toMatch(/^stop refused: stopping sample erases its Cassandra data/);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('images list --json: the images by the deployment tags, owner self, with size and monthly snapshot cost', async () => {
    // Arrange
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: 'ami-1',
          Name: 'sample-cass001',
          State: 'available',
          CreationDate: '2026-11-24T11:00:00Z',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-1' } }],
        },
      ],
    });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-1', State: 'completed', VolumeSize: 20 }],
    });
    // Act
    const code = await main(['images', 'list', 'sample', '--region', 'us-east-1', '--json']);
    // Assert
    expect(code).toBe(0);
    const listed = JSON.parse(stdout());
    expect(listed).toMatchObject({ mode: 'aws', monthlyUsd: 20 * SNAPSHOT_GB_MONTH_USD });
    expect(listed.deployments[0]).toMatchObject({
      deployment: 'sample',
      sizeGiB: 20,
      images: [{ node: 'sample-cass001', imageId: 'ami-1', state: 'available', sizeGiB: 20 }],
    });
    const input = ec2Mock.commandCalls(DescribeImagesCommand)[0].args[0].input;
    expect(input.Owners).toEqual(['self']);
    expect(input.Filters).toEqual(
      expect.arrayContaining([{ Name: 'tag:DeploymentName', Values: ['sample'] }]),
    );
  });

  it('images list of an unknown deployment is bad input (exit 2)', async () => {
    expect(await main(['images', 'list', 'nothing', '--region', 'us-east-1'])).toBe(2);
    expect(err.join('\n')).toContain('no deployment named nothing');
  });

  it('plan --json: fewer daemons drains and terminates the highest first (exit 0)', async () => {
    // Arrange
    givenFleet();
    // Act
    const code = await main(['plan', specFile({ daemons: 2 }), '--region', 'us-east-1', '--json']);
    // Assert
    expect(code).toBe(0);
    expect(JSON.parse(stdout())).toMatchObject({
      deployment: 'sample',
      mode: 'aws',
      exists: true,
      launch: [],
      drain: ['sample-daemon004', 'sample-daemon003'],
      terminate: ['sample-daemon004', 'sample-daemon003'],
      reconfigure: true,
      refusals: [],
    });
    // validate --against-live is the same command
    const planned = stdout();
    out.length = 0;
    expect(
      await main(['validate', specFile({ daemons: 2 }), '--against-live', '--region', 'us-east-1', '--json']),
    ).toBe(0);
    expect(stdout()).toBe(planned);
  });

  it('plan of Cassandra nodes 4 to 8 joins them in order and cleans up the others', async () => {
    givenFleet();
    expect(await main(['plan', specFile({ cassandraNodes: 8 }), '--region', 'us-east-1'])).toBe(0);
    expect(stdout()).toContain(
      'join the ring, in order:  sample-cass005, sample-cass006, sample-cass007, sample-cass008',
    );
    expect(stdout()).toContain(
      'nodetool cleanup:         sample-cass001, sample-cass002, sample-cass003, sample-cass004',
    );
  });

  it('plan of a change that cannot be made in place prints the refusals and exits 2; create refuses it too', async () => {
    givenFleet();
    const file = specFile({ cassandraNodes: 6 });
    expect(await main(['plan', file, '--region', 'us-east-1'])).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^cassandraNodes: 4 to 6 cannot be done in place/)]);
    err.length = 0;
    expect(await main(['create', file, '--region', 'us-east-1'])).toBe(2);
    expect(err).toEqual([expect.stringMatching(/^cassandraNodes: 4 to 6 cannot be done in place/)]);
    expect(sfnMock).not.toReceiveCommand(StartExecutionCommand);
  });

  it('plan of a deployment that does not exist yet creates everything', async () => {
    sfnMock.on(ListExecutionsCommand, { stateMachineArn: CREATE_MACHINE }).resolves({ executions: [] });
    expect(await main(['plan', specFile({ name: 'fresh' }), '--region', 'us-east-1'])).toBe(0);
    expect(stdout()).toContain('fresh (aws mode): does not exist yet; create makes everything: 11 instances');
  });
});
