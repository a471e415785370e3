import {
  DescribeImagesCommand,
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
import { awsError, expectNamedError, RAW_SPEC, sampleContext } from '../helpers.js';

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
