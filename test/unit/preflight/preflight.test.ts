import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { DescribeDocumentCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/preflight/handler.js';
import { preflight } from '../../../functions/preflight/preflight.js';
import { configureHttp, type FetchLike } from '../../../functions/shared/http.js';
import {
  awsError,
  expectNamedError,
  RAW_SPEC,
  SAMPLE_NICKNAMES,
  sampleContext,
  sourceImage,
} from '../helpers.js';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const quotasMock = mockClient(ServiceQuotasClient);

const PARAMETER = '/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id';
const AMI = 'ami-0abc1234def567890';
const RELEASE = 'https://capillaries-release.s3.us-east-1.amazonaws.com/latest';
const PROBED = `${RELEASE}/linux/arm64/capidaemon.gz`;
/** vCPUs of the sample flavor aws.arm64.c7g.8, as EC2 describes them. */
const VCPUS: Record<string, number> = { 'c7g.medium': 1, 'c7g.large': 2, 'c7gd.2xlarge': 8 };
/** bastion 2 + rabbitmq 1 + prometheus 1 + 4 Cassandra x 8 + 4 daemons x 2. */
const SAMPLE_VCPUS = 44;

let fetchMock: ReturnType<typeof vi.fn<FetchLike>>;

function healthyAccount(options: { offered?: string[]; arch?: string } = {}) {
  ssmMock
    .on(DescribeDocumentCommand)
    .resolves({ Document: { Name: 'capi-health-check', DocumentType: 'Command', Status: 'Active' } });
  ssmMock
    .on(GetParametersCommand)
    .resolves({ Parameters: [{ Name: PARAMETER, Value: AMI }], InvalidParameters: [] });
  ec2Mock.on(DescribeImagesCommand).resolves({
    Images: [{ ImageId: AMI, State: 'available', Architecture: (options.arch ?? 'arm64') as never }],
  });
  ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: (options.offered ?? Object.keys(VCPUS)).map((type) => ({
      InstanceType: type as never,
      LocationType: 'availability-zone',
      Location: 'us-east-1a',
    })),
  });
  ec2Mock.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: Object.entries(VCPUS).map(([type, vcpus]) => ({
      InstanceType: type as never,
      VCpuInfo: { DefaultVCpus: vcpus },
      ProcessorInfo: { SupportedArchitectures: [(options.arch ?? 'arm64') as never] },
    })),
  });
  quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { QuotaCode: 'L-1216C47A', Value: 1152 } });
}

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  quotasMock.reset();
  // No live ring: a first create.
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  fetchMock = vi.fn<FetchLike>(async () => ({ status: 200 }));
  configureHttp({ fetch: fetchMock, retryDelayMs: 0 });
});

afterEach(() => {
  configureHttp({});
});

describe('preflight', () => {
  it('resolves the AMI, checks types, quota and release, and reports the figures', async () => {
    // Prepare
    healthyAccount();
    // Act
    const result = await preflight(sampleContext(), RELEASE);
    // Assess
    expect(result).toEqual({
      amiId: AMI,
      arch: 'arm64',
      instanceTypes: ['c7g.large', 'c7g.medium', 'c7gd.2xlarge'],
      vcpusNeeded: SAMPLE_VCPUS,
      vcpuQuota: 1152,
      releaseUrl: RELEASE,
    });
    expect(ssmMock).toHaveReceivedCommandWith(GetParametersCommand, { Names: [PARAMETER] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [AMI] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstanceTypeOfferingsCommand, {
      LocationType: 'availability-zone',
      Filters: [
        { Name: 'location', Values: ['us-east-1a'] },
        { Name: 'instance-type', Values: ['c7g.large', 'c7g.medium', 'c7gd.2xlarge'] },
      ],
    });
    expect(quotasMock).toHaveReceivedCommandWith(GetServiceQuotaCommand, {
      ServiceCode: 'ec2',
      QuotaCode: 'L-1216C47A',
    });
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(fetchMock.mock.calls[0][0]).toBe(PROBED);
    expect(fetchMock.mock.calls[0][1].method).toBe('HEAD');
  });

  it('refuses a Cassandra count the live ring cannot take, before anything else', async () => {
    // Prepare: a ring of 4 configured nodes (tokens for 4); the plan asks for 6.
    healthyAccount();
    const node = (n: number) => ({
      InstanceId: `i-0000000000000000${n}`,
      State: { Name: 'running' as const },
      Tags: [
        { Key: 'Role', Value: 'cassandra' },
        { Key: 'capideploy:capi-cassandra-configure', Value: 'abc' },
        { Key: 'capideploy:cassandra-cluster-size', Value: '4' },
      ],
    });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [1, 2, 3, 4].map(node) }] });
    // Act
    const refused = preflight(sampleContext({ cassandraNodes: 6 }), RELEASE);
    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'PreflightFailed',
      failure: { message: expect.stringMatching(/^cassandraNodes: 4 to 6 cannot be done in place/) },
    });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeInstanceTypesCommand);
    // Doubling keeps every token: accepted.
    await expect(preflight(sampleContext({ cassandraNodes: 8 }), RELEASE)).resolves.toMatchObject({
      amiId: AMI,
    });
  });

  it('refuses a stopped deployment, pointing to start', async () => {
    // Prepare
    healthyAccount();
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [{ InstanceId: 'i-00000000000000001', State: { Name: 'stopped' }, Tags: [] }] },
      ],
    });
    // Act + Assess
    await expect(preflight(sampleContext(), RELEASE)).rejects.toMatchObject({
      name: 'PreflightFailed',
      failure: { hint: expect.stringContaining('capi-deploy start sample') },
    });
  });

  it('only reads: every EC2 call is a Describe, nothing is created', async () => {
    healthyAccount();
    await preflight(sampleContext(), RELEASE);
    const operations = ec2Mock.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(operations.length).toBeGreaterThan(0);
    expect(operations.every((name) => name.startsWith('Describe'))).toBe(true);
  });

  it('fails naming each instance type missing in the zone, and the zone', async () => {
    healthyAccount({ offered: ['c7g.medium', 'c7g.large'] });
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE), 'PreflightFailed', {
      resource: 'instance types in us-east-1a',
      id: 'us-east-1a',
    });
    expect(cause.message).toContain('c7gd.2xlarge (cassandra)');
    expect(cause.message).not.toContain('c7g.large');
    expect(cause.hint).toMatch(/availabilityZone|flavor/);
    expect(quotasMock).not.toHaveReceivedCommand(GetServiceQuotaCommand);
  });

  it('fails when the instance types are of another architecture than the flavor', async () => {
    healthyAccount();
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: Object.entries(VCPUS).map(([type, vcpus]) => ({
        InstanceType: type as never,
        VCpuInfo: { DefaultVCpus: vcpus },
        ProcessorInfo: { SupportedArchitectures: [type === 'c7gd.2xlarge' ? 'x86_64' : 'arm64'] as never },
      })),
    });
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE), 'PreflightFailed', {
      id: 'c7gd.2xlarge',
    });
    expect(cause.message).toContain('arm64');
  });

  it('goes on with vcpuQuota null when Service Quotas refuses', async () => {
    healthyAccount();
    quotasMock.on(GetServiceQuotaCommand).rejects(awsError('AccessDeniedException'));
    const result = await preflight(sampleContext(), RELEASE);
    expect(result.vcpuQuota).toBeNull();
    expect(result.vcpusNeeded).toBe(SAMPLE_VCPUS);
  });

  it('fails with the numbers when the fleet needs more vCPUs than the quota', async () => {
    healthyAccount();
    quotasMock.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 32 } });
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE), 'PreflightFailed', {
      resource: 'vCPU quota L-1216C47A',
      id: 'L-1216C47A',
      details: { vcpusNeeded: SAMPLE_VCPUS, vcpuQuota: 32 },
    });
    expect(cause.message).toContain('44');
    expect(cause.message).toContain('32');
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('fails naming the URL and the status when the release is missing', async () => {
    healthyAccount();
    fetchMock.mockResolvedValue({ status: 404 });
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE), 'PreflightFailed', {
      resource: 'Capillaries release',
      id: PROBED,
    });
    expect(cause.message).toContain('404');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('fails when the AMI parameter does not exist in the region', async () => {
    healthyAccount();
    ssmMock.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: [PARAMETER] });
    await expectNamedError(preflight(sampleContext(), RELEASE), 'PreflightFailed', {
      id: PARAMETER,
      awsError: 'ParameterNotFound',
    });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('turns a throttled DescribeInstanceTypeOfferings into Throttled naming the zone', async () => {
    healthyAccount();
    ec2Mock.on(DescribeInstanceTypeOfferingsCommand).rejects(awsError('RequestLimitExceeded'));
    await expectNamedError(preflight(sampleContext(), RELEASE), 'Throttled', {
      resource: 'instance types in us-east-1a',
      id: 'us-east-1a',
      awsError: 'RequestLimitExceeded',
    });
  });

  it('is called through the handler with the spec release URL', async () => {
    healthyAccount();
    const result = await handler({ action: 'check', spec: RAW_SPEC });
    expect(result.releaseUrl).toBe(RAW_SPEC.capillariesReleaseUrl);
  });
});

describe('preflight: provisioning documents in the region', () => {
  it('looks up a provisioning document by the name the Provisioning handler sends, and goes on when it exists', async () => {
    // Prepare
    healthyAccount();
    // Act
    await preflight(sampleContext(), RELEASE);
    // Assess
    expect(ssmMock).toHaveReceivedCommandWith(DescribeDocumentCommand, { Name: 'capi-health-check' });
    expect(ssmMock).toHaveReceivedCommandTimes(GetParametersCommand, 1);
  });

  it('refuses a region without the documents with PreflightFailed naming the region, the document and the fix, before any other call', async () => {
    // Prepare
    healthyAccount();
    ssmMock
      .on(DescribeDocumentCommand)
      .rejects(awsError('InvalidDocument', 'The specified document does not exist.'));
    // Act
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE), 'PreflightFailed', {
      id: 'capi-health-check',
      awsError: 'InvalidDocument',
      details: { region: 'us-east-1', document: 'capi-health-check' },
    });
    // Assess
    expect(cause.message).toContain('us-east-1');
    expect(cause.hint).toContain('Deploy the CapiDeploy stack in us-east-1');
    expect(cause.hint).toContain("stack's region");
    expect(ssmMock).toHaveReceivedCommandTimes(GetParametersCommand, 0);
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(quotasMock.calls()).toHaveLength(0);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('reports another DescribeDocument error as that error, not as a missing document', async () => {
    // Prepare
    healthyAccount();
    ssmMock.on(DescribeDocumentCommand).rejects(awsError('AccessDeniedException'));
    // Act
    const error = await preflight(sampleContext(), RELEASE).then(
      () => null,
      (caught: unknown) => caught as Error,
    );
    // Assess
    expect(error).not.toBeNull();
    expect(error!.name).not.toBe('PreflightFailed');
  });
});

describe('preflight: a restore from images (spec.fromImages)', () => {
  /** The sample deployment's images, one per node, with `overrides` (null: no image for the node). */
  function restoreAccount(overrides: Record<string, ReturnType<typeof sourceImage> | null> = {}) {
    healthyAccount();
    const images = SAMPLE_NICKNAMES.flatMap((nickname) => {
      const image = nickname in overrides ? overrides[nickname] : sourceImage(nickname);
      return image ? [image] : [];
    });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: images });
  }

  it("checks every node's image instead of the Ubuntu AMI, and reports them", async () => {
    // Prepare
    restoreAccount();
    // Act
    const result = await preflight(sampleContext(), RELEASE, 'sample');
    // Assess
    expect(result).toMatchObject({
      amiId: sourceImage('bastion').ImageId,
      restore: { fromImages: 'sample', images: 11, unusedImages: [] },
      vcpusNeeded: SAMPLE_VCPUS,
    });
    expect(ssmMock).not.toHaveReceivedCommand(GetParametersCommand);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      Owners: ['self'],
      Filters: [
        { Name: 'tag:DeploymentName', Values: ['sample'] },
        { Name: 'tag:DeploymentOperator', Values: ['capideploy'] },
      ],
    });
  });

  it('matches an image by its Nickname tag too, and lists images no node takes', async () => {
    // Prepare: cass001's image renamed but tagged with the nickname; a fifth Cassandra image nobody takes
    const tagged = sourceImage('cass001', 'available', { Name: 'renamed' });
    tagged.Tags = [...tagged.Tags!, { Key: 'Nickname', Value: 'cass001' }];
    restoreAccount({ cass001: tagged });
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        ...SAMPLE_NICKNAMES.filter((nickname) => nickname !== 'cass001').map((n) => sourceImage(n)),
        tagged,
        sourceImage('cass005'),
      ],
    });
    // Act
    const result = await preflight(sampleContext(), RELEASE, 'sample');
    // Assess
    expect(result.restore).toEqual({ fromImages: 'sample', images: 11, unusedImages: ['sample-cass005'] });
  });

  it('fails naming each node without an available image and its state, before the rest of the checks', async () => {
    // Prepare
    const failed = sourceImage('daemon001', 'failed', {
      StateReason: { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error' },
    });
    restoreAccount({ cass002: null, daemon001: failed, daemon002: sourceImage('daemon002', 'pending') });
    // Act
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE, 'sample'), 'PreflightFailed', {
      resource: 'images of sample',
      id: failed.ImageId,
    });
    // Assess
    expect(cause.message).toBe(
      `cannot restore sample from the images of sample: 3 of 11 nodes have no available image: cass002 (no image), daemon001 (${failed.ImageId}, failed: Server.InternalError: Internal error), daemon002 (${sourceImage('daemon002').ImageId}, pending)`,
    );
    expect(cause.hint).toContain('`capi-deploy images list sample`');
    expect(cause.hint).toContain('`capi-deploy images create sample`');
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeInstanceTypeOfferingsCommand);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('says to wait when the only problem is images still pending', async () => {
    restoreAccount({ rabbitmq: sourceImage('rabbitmq', 'pending') });
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE, 'sample'), 'PreflightFailed', {
      resource: 'images of sample',
    });
    expect(cause.hint).toMatch(/still being made: wait until `capi-deploy images list sample`/);
  });

  it("refuses an image of another architecture than the flavor's, or without a root snapshot", async () => {
    restoreAccount({
      bastion: sourceImage('bastion', 'available', { Architecture: 'x86_64' }),
      prometheus: sourceImage('prometheus', 'available', { BlockDeviceMappings: [] }),
    });
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE, 'sample'), 'PreflightFailed', {
      resource: 'images of sample',
    });
    expect(cause.message).toContain('bastion (');
    expect(cause.message).toContain('the image is x86_64, the flavor needs arm64');
    expect(cause.message).toContain('prometheus (');
    expect(cause.message).toContain('the image has no EBS snapshot of its root device');
  });

  it('names at most 10 nodes in the message, and counts the rest', async () => {
    restoreAccount(Object.fromEntries(SAMPLE_NICKNAMES.map((nickname) => [nickname, null])));
    const cause = await expectNamedError(preflight(sampleContext(), RELEASE, 'sample'), 'PreflightFailed', {
      resource: 'images of sample',
      id: null,
    });
    expect(cause.message).toContain('11 of 11 nodes have no available image');
    expect(cause.message).toMatch(/daemon003 \(no image\) and 1 more$/);
  });

  it("is called through the handler with the spec's fromImages", async () => {
    restoreAccount();
    const result = await handler({ action: 'check', spec: { ...RAW_SPEC, fromImages: 'sample' } });
    expect(result.restore).toMatchObject({ fromImages: 'sample', images: 11 });
  });
});
