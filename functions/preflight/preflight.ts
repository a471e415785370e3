import {
  type _InstanceType,
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  type InstanceTypeInfo,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { DescribeDocumentCommand, GetParametersCommand } from '@aws-sdk/client-ssm';
import type { ProvisioningDocumentName } from '../../src/core/documents.js';
import { PreflightFailed } from '../../src/core/errors.js';
import type { Plan } from '../../src/core/spec/plan.js';
import { asDeploymentError, awsCall } from '../shared/aws-errors.js';
import { ringOf, ringSizeProblem } from '../shared/cassandra-ring.js';
import type { DeploymentContext } from '../shared/context.js';
import { describeFleet } from '../shared/fleet.js';
import { probeUrl } from '../shared/http.js';
import { restoreFailure, restoreImages } from '../shared/restore-images.js';

/** EC2 "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", counted in vCPUs. */
export const VCPU_QUOTA_CODE = 'L-1216C47A';
/** Instance families that count against {@link VCPU_QUOTA_CODE}; others (G, P, X, ...) have their own quotas. */
const STANDARD_FAMILY = /^[acdhimrtz]/;
/** DescribeInstanceTypes takes at most 100 types per call. */
const TYPES_PER_CALL = 100;

export interface PreflightResult {
  /**
   * The current Canonical Ubuntu 24.04 AMI of the region and architecture; in a restore (`fromImages`), the first
   * node's image (each node is launched from its own: see {@link PreflightResult.restore}).
   */
  amiId: string;
  /** A restore (`spec.fromImages`): the deployment whose images the nodes are launched from, and how many. */
  restore?: { fromImages: string; images: number; unusedImages: string[] };
  arch: Plan['arch'];
  /** The distinct instance types of the fleet, sorted. */
  instanceTypes: string[];
  /** vCPUs the fleet needs from the standard On-Demand quota. */
  vcpusNeeded: number;
  /** The account's quota L-1216C47A, or null when Service Quotas could not be read (the check is skipped). */
  vcpuQuota: number | null;
  releaseUrl: string;
}

/** Canonical's public parameter holding the current Ubuntu 24.04 gp3 AMI of a region and architecture. */
export const ubuntuAmiParameter = (arch: Plan['arch']) =>
  `/aws/service/canonical/ubuntu/server/24.04/stable/current/${arch}/hvm/ebs-gp3/ami-id`;

/** The architecture names EC2 uses for ours. */
const EC2_ARCH: Record<Plan['arch'], string> = { arm64: 'arm64', amd64: 'x86_64' };

/** A file every release has for every architecture: the daemon binary the daemons' install script downloads. */
export const releaseProbeUrl = (releaseUrl: string, arch: Plan['arch']) =>
  `${releaseUrl.replace(/\/+$/, '')}/linux/${arch}/capidaemon.gz`;

/**
 * The provisioning documents exist only where a CapiDeploy stack deployed them (infra/provisioning-documents.ts, named
 * exactly as the Provisioning handler sends them). We check that they exist in the spec's region rather than requiring
 * the stack's region, so an operator may deploy a second stack in another region and use it from either. One document
 * stands for all: the stack deploys them together.
 */
async function checkDocuments({ plan, clients }: DeploymentContext): Promise<void> {
  const name: ProvisioningDocumentName = 'capi-health-check';
  const site = { resource: `SSM document in ${plan.region}`, id: name };
  try {
    await clients.ssm.send(new DescribeDocumentCommand({ Name: name }));
  } catch (error) {
    if ((error as Error).name !== 'InvalidDocument') throw asDeploymentError(error, site);
    throw new PreflightFailed({
      ...site,
      awsError: 'InvalidDocument',
      message: `${plan.region} has no CapiDeploy provisioning documents (${name} does not exist there): the documents exist only in regions where the CapiDeploy stack is deployed`,
      hint: `Deploy the CapiDeploy stack in ${plan.region}, or use the stack's region in the spec (region and availabilityZone).`,
      details: { region: plan.region, document: name },
    });
  }
}

async function resolveAmi({ plan, clients }: DeploymentContext): Promise<string> {
  const name = ubuntuAmiParameter(plan.arch);
  const site = { resource: `Ubuntu 24.04 ${plan.arch} AMI parameter`, id: name };
  const found = await awsCall(site, () => clients.ssm.send(new GetParametersCommand({ Names: [name] })));
  const amiId = found.Parameters?.find((parameter) => parameter.Name === name)?.Value;
  if (!amiId) {
    throw new PreflightFailed({
      ...site,
      awsError: 'ParameterNotFound',
      message: `Parameter Store of ${plan.region} has no ${name}`,
      hint: 'Canonical publishes this parameter in every commercial region; check the spec region, or that the region is enabled for the account.',
    });
  }
  const images = await awsCall({ resource: `Ubuntu 24.04 ${plan.arch} AMI`, id: amiId }, () =>
    clients.ec2.send(new DescribeImagesCommand({ ImageIds: [amiId] })),
  );
  const image = images.Images?.[0];
  const problem = !image
    ? 'the image is not visible to the account'
    : image.State !== 'available'
      ? `the image is ${image.State}`
      : image.Architecture !== EC2_ARCH[plan.arch]
        ? `the image is ${image.Architecture}, the flavor needs ${EC2_ARCH[plan.arch]}`
        : null;
  if (problem) {
    throw new PreflightFailed({
      resource: `Ubuntu 24.04 ${plan.arch} AMI`,
      id: amiId,
      message: `${name} points to ${amiId}, but ${problem}`,
      hint: 'Canonical may be replacing the image; retry in a few minutes.',
    });
  }
  return amiId;
}

async function checkOfferings({ plan, clients }: DeploymentContext, types: string[]): Promise<void> {
  const zone = plan.availabilityZone;
  const site = { resource: `instance types in ${zone}`, id: zone };
  const offered = new Set<string>();
  let token: string | undefined;
  do {
    const page = await awsCall(site, () =>
      clients.ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: 'availability-zone',
          Filters: [
            { Name: 'location', Values: [zone] },
            { Name: 'instance-type', Values: types },
          ],
          NextToken: token,
        }),
      ),
    );
    for (const offering of page.InstanceTypeOfferings ?? []) offered.add(offering.InstanceType!);
    token = page.NextToken;
  } while (token);
  const missing = types.filter((type) => !offered.has(type));
  if (missing.length > 0) {
    const roles = (type: string) => [
      ...new Set(plan.nodes.filter((node) => node.instanceType === type).map((node) => node.role)),
    ];
    throw new PreflightFailed({
      ...site,
      message: `not offered in ${zone}: ${missing.map((type) => `${type} (${roles(type).join(', ')})`).join('; ')}`,
      hint: 'Choose another availabilityZone of the region that offers these types (aws ec2 describe-instance-type-offerings --location-type availability-zone), or another flavor.',
      details: { zone, missing },
    });
  }
}

async function describeTypes({ clients }: DeploymentContext, types: string[]): Promise<InstanceTypeInfo[]> {
  const infos: InstanceTypeInfo[] = [];
  for (let start = 0; start < types.length; start += TYPES_PER_CALL) {
    const batch = types.slice(start, start + TYPES_PER_CALL);
    const found = await awsCall({ resource: `instance types ${batch.join(', ')}` }, () =>
      clients.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: batch as _InstanceType[] })),
    );
    infos.push(...(found.InstanceTypes ?? []));
  }
  return infos;
}

/** The account's vCPU quota, or null when Service Quotas will not tell (no permission, quota not modeled). */
async function readVcpuQuota({ clients }: DeploymentContext): Promise<number | null> {
  try {
    const found = await clients.quotas.send(
      new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: VCPU_QUOTA_CODE }),
    );
    return found.Quota?.Value ?? null;
  } catch (error) {
    const name = (error as Error).name;
    if (/^(AccessDenied|NoSuchResource)(Exception)?$/.test(name)) return null;
    throw asDeploymentError(error, { resource: `vCPU quota ${VCPU_QUOTA_CODE}`, id: VCPU_QUOTA_CODE });
  }
}

/**
 * A restore's images (`spec.fromImages`): every planned node must have an `available` image of the node with its
 * nickname in the source deployment, of the flavor's architecture, with an EBS root snapshot; otherwise a
 * PreflightFailed names each node and its image's state. Nothing is created before this answers.
 */
async function checkRestoreImages(
  ctx: DeploymentContext,
  fromImages: string,
): Promise<{ amiId: string; restore: NonNullable<PreflightResult['restore']> }> {
  const { byNode, problems, unused } = await restoreImages(ctx, fromImages);
  if (problems.length > 0) throw new PreflightFailed(restoreFailure(ctx, fromImages, problems));
  const first = byNode.get(ctx.plan.nodes[0])!;
  return {
    amiId: first.ImageId!,
    restore: { fromImages, images: byNode.size, unusedImages: unused.slice(0, 20) },
  };
}

/**
 * What a live deployment refuses before anything changes: a stopped fleet (create would make a NAT gateway, then
 * find the nodes' IPs held by stopped instances; `start` is the way back), and a resize the live Cassandra ring's
 * tokens cannot take (a count that is not a doubling or halving of the size its nodes were configured for).
 */
async function checkLiveDeployment(ctx: DeploymentContext): Promise<void> {
  const fleet = await describeFleet(ctx, { states: ['pending', 'running', 'stopping', 'stopped'] });
  const stopped = fleet.filter((instance) => ['stopping', 'stopped'].includes(instance.State?.Name ?? ''));
  if (stopped.length > 0) {
    throw new PreflightFailed({
      resource: `instances of ${ctx.plan.deployment}`,
      id: stopped[0].InstanceId ?? null,
      message: `${stopped.length} of the deployment's ${fleet.length} instances are stopped or stopping`,
      hint: `The deployment is stopped: bring it back with \`capi-deploy start ${ctx.plan.deployment}\`, then run create again (to resume it or apply a changed spec). Nothing was changed.`,
    });
  }
  const problem = ringSizeProblem(ctx, ringOf(fleet));
  if (problem) throw new PreflightFailed({ ...problem, hint: `${problem.hint} Nothing was changed.` });
}

/**
 * Checks, before anything is created, what would otherwise fail half-way through a create: the provisioning
 * documents in the region, the Ubuntu AMI of the region and architecture (or, in a restore, every node's image),
 * that every instance type is offered in the zone and has the flavor's architecture, that
 * the fleet fits in the account's vCPU quota, that a live deployment is not stopped and its Cassandra ring can take the plan's node count, and that the
 * Capillaries release answers. Each failure is a
 * terminal PreflightFailed naming what is wrong and what to change.
 */
export async function preflight(
  ctx: DeploymentContext,
  releaseUrl: string,
  fromImages?: string,
): Promise<PreflightResult> {
  const { plan } = ctx;
  await checkDocuments(ctx);
  await checkLiveDeployment(ctx);
  // A restore launches from the deployment's images, not from the Ubuntu AMI: the images are checked instead.
  const restored = fromImages === undefined ? undefined : await checkRestoreImages(ctx, fromImages);
  const amiId = restored?.amiId ?? (await resolveAmi(ctx));

  const instanceTypes = [...new Set(plan.nodes.map((node) => node.instanceType))].sort();
  await checkOfferings(ctx, instanceTypes);
  const infos = await describeTypes(ctx, instanceTypes);
  const infoOf = new Map<string, InstanceTypeInfo>(infos.map((info) => [info.InstanceType!, info]));
  const wrongArch = instanceTypes.filter(
    (type) =>
      !infoOf.get(type)?.ProcessorInfo?.SupportedArchitectures?.includes(EC2_ARCH[plan.arch] as never),
  );
  if (wrongArch.length > 0) {
    throw new PreflightFailed({
      resource: `instance types of flavor ${plan.arch}`,
      id: wrongArch.join(', '),
      message: `${wrongArch.join(', ')} cannot run ${EC2_ARCH[plan.arch]} (the flavor's architecture ${plan.arch})`,
      hint: 'Use instance types of one architecture: Graviton types (c7g, c7gd, t4g, ...) for arm64, Intel or AMD types (c5ad, t3, ...) for amd64.',
    });
  }
  const vcpusNeeded = plan.nodes
    .filter((node) => STANDARD_FAMILY.test(node.instanceType))
    .reduce((sum, node) => sum + (infoOf.get(node.instanceType)?.VCpuInfo?.DefaultVCpus ?? 0), 0);

  const vcpuQuota = await readVcpuQuota(ctx);
  if (vcpuQuota !== null && vcpusNeeded > vcpuQuota) {
    throw new PreflightFailed({
      resource: `vCPU quota ${VCPU_QUOTA_CODE}`,
      id: VCPU_QUOTA_CODE,
      message: `the fleet of ${plan.nodes.length} instances needs ${vcpusNeeded} vCPUs; the account's quota of Running On-Demand Standard instances in ${plan.region} is ${vcpuQuota}`,
      hint: `Request an increase of quota ${VCPU_QUOTA_CODE} in Service Quotas, or use fewer Cassandra nodes or daemons, or a smaller flavor.`,
      details: { vcpusNeeded, vcpuQuota },
    });
  }

  const probed = releaseProbeUrl(releaseUrl, plan.arch);
  const answer = await probeUrl(probed);
  if (!answer.ok) {
    throw new PreflightFailed({
      resource: 'Capillaries release',
      id: probed,
      awsError: null,
      message:
        answer.status === 0
          ? `${probed} did not answer (no connection or a timeout after one retry)`
          : `${probed} answered HTTP ${answer.status}`,
      hint: 'Check capillariesReleaseUrl in the spec: it must hold linux/<arch>/capidaemon.gz and the other release files.',
      details: { url: probed, status: answer.status },
    });
  }

  return {
    amiId,
    ...(restored ? { restore: restored.restore } : {}),
    arch: plan.arch,
    instanceTypes,
    vcpusNeeded,
    vcpuQuota,
    releaseUrl,
  };
}
