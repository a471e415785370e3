/**
 * EC2's request-rate limits, as AWS documents them: token buckets per account and per Region
 * (reference/aws-behaviour-2.md §1b, VERIFIED from https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
 *
 * - Every request takes one token from its API's bucket; a bucket refills a set number of tokens a second up to its
 *   maximum; a request that finds the bucket empty is refused with `RequestLimitExceeded` (and takes no token).
 * - Actions are grouped: non-mutating (Describe*, Get*, List*, Search*) 100 / 20 per s; the unfiltered and
 *   unpaginated form of a few big describes 50 / 10; mutating 50 / 5; resource-intensive 50 / 5 (a bucket of its
 *   own); and uncategorized actions with their own bucket (RunInstances 5 / 2 per s, TerminateInstances 100 / 5...).
 * - Resource rate limiting: RunInstances, StartInstances, StopInstances and TerminateInstances also take one token
 *   per instance they act on from a second bucket (RunInstances 1000 / 2 per s, TerminateInstances 1000 / 20);
 *   running out of either bucket throttles the call.
 *
 * The SDK's retry middleware retries `RequestLimitExceeded` with its throttling backoff (above the simulator, on
 * the virtual clock), exactly as on AWS. Buckets start full and live in memory: a new run starts with full buckets,
 * as an account left alone for a while would.
 */

export interface BucketSpec {
  max: number;
  refillPerSecond: number;
}

const NON_MUTATING: BucketSpec = { max: 100, refillPerSecond: 20 };
const UNFILTERED_NON_MUTATING: BucketSpec = { max: 50, refillPerSecond: 10 };
const MUTATING: BucketSpec = { max: 50, refillPerSecond: 5 };
const RESOURCE_INTENSIVE: BucketSpec = { max: 50, refillPerSecond: 5 };

/** The unfiltered-and-unpaginated bucket applies to these describes only when called with neither. */
const UNFILTERED_ACTIONS = new Set([
  'DescribeInstances',
  'DescribeInstanceStatus',
  'DescribeNetworkInterfaces',
  'DescribeSecurityGroups',
  'DescribeSnapshots',
  'DescribeSpotInstanceRequests',
  'DescribeVolumes',
]);

const RESOURCE_INTENSIVE_ACTIONS = new Set([
  'AcceptVpcPeeringConnection',
  'AuthorizeSecurityGroupIngress',
  'CancelSpotInstanceRequests',
  'CreateKeyPair',
  'CreateVpcPeeringConnection',
  'DeleteVpcPeeringConnection',
  'RejectVpcPeeringConnection',
  'RevokeSecurityGroupIngress',
  'RequestSpotInstances',
]);

/** Uncategorized actions with a request bucket of their own (§1b, "Selected uncategorized per-action buckets"). */
export const ACTION_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  RunInstances: { max: 5, refillPerSecond: 2 },
  StartInstances: { max: 5, refillPerSecond: 2 },
  TerminateInstances: { max: 100, refillPerSecond: 5 },
  CreateNatGateway: { max: 10, refillPerSecond: 1 },
  DeleteNatGateway: { max: 10, refillPerSecond: 1 },
  AssociateNatGatewayAddress: { max: 10, refillPerSecond: 1 },
  DisassociateNatGatewayAddress: { max: 10, refillPerSecond: 1 },
  AssignPrivateNatGatewayAddress: { max: 10, refillPerSecond: 1 },
  AssociateIamInstanceProfile: { max: 100, refillPerSecond: 5 },
  DisassociateIamInstanceProfile: { max: 100, refillPerSecond: 5 },
  CreateTags: { max: 100, refillPerSecond: 10 },
  DeleteTags: { max: 100, refillPerSecond: 10 },
  CreateNetworkInterface: { max: 100, refillPerSecond: 5 },
  DeleteNetworkInterface: { max: 100, refillPerSecond: 5 },
  CreateVolume: { max: 100, refillPerSecond: 5 },
  DeleteVolume: { max: 100, refillPerSecond: 5 },
  CreateLaunchTemplateVersion: { max: 100, refillPerSecond: 5 },
  ModifyInstanceMetadataOptions: { max: 100, refillPerSecond: 5 },
  CreateVpcEndpoint: { max: 4, refillPerSecond: 0.3 },
  DeleteVpcEndpoints: { max: 4, refillPerSecond: 0.3 },
  ModifyVpcEndpoint: { max: 4, refillPerSecond: 0.3 },
  CreateDefaultVpc: { max: 1, refillPerSecond: 1 },
  CreateDefaultSubnet: { max: 1, refillPerSecond: 1 },
};

/** Resource-token buckets: one token per instance the call acts on (§1b). */
export const RESOURCE_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  RunInstances: { max: 1000, refillPerSecond: 2 },
  TerminateInstances: { max: 1000, refillPerSecond: 20 },
  StartInstances: { max: 1000, refillPerSecond: 2 },
  StopInstances: { max: 1000, refillPerSecond: 20 },
};

const READ = /^(Describe|Get|List|Search)/;

/** The request bucket an EC2 call takes its token from: its name and size. */
export function requestBucket(operation: string, input: Record<string, unknown>): [string, BucketSpec] {
  const own = ACTION_BUCKETS[operation];
  if (own) return [operation, own];
  if (RESOURCE_INTENSIVE_ACTIONS.has(operation)) return ['resource-intensive', RESOURCE_INTENSIVE];
  if (READ.test(operation)) {
    const filtered =
      (Array.isArray(input.Filters) && input.Filters.length > 0) ||
      input.MaxResults !== undefined ||
      input.NextToken !== undefined;
    // Asking for given ids is not the "unfiltered" form either: it is served from the same index as a filter.
    const byId = Object.keys(input).some((key) => /Ids$/.test(key) && Array.isArray(input[key]));
    if (UNFILTERED_ACTIONS.has(operation) && !filtered && !byId) {
      return ['unfiltered-non-mutating', UNFILTERED_NON_MUTATING];
    }
    return ['non-mutating', NON_MUTATING];
  }
  return ['mutating', MUTATING];
}

/** How many resource tokens a call takes: the instances it launches or acts on. */
export function resourceTokens(operation: string, input: Record<string, unknown>): number {
  if (operation === 'RunInstances') return Math.max(1, Number(input.MaxCount ?? input.MinCount ?? 1) || 1);
  return Array.isArray(input.InstanceIds) ? input.InstanceIds.length : 0;
}

class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly spec: BucketSpec,
    nowMs: number,
  ) {
    this.tokens = spec.max;
    this.at = nowMs;
  }

  /** Tokens available at `nowMs` (refill is a float: some rates are fractional). */
  available(nowMs: number): number {
    if (nowMs > this.at) {
      this.tokens = Math.min(
        this.spec.max,
        this.tokens + ((nowMs - this.at) / 1000) * this.spec.refillPerSecond,
      );
      this.at = nowMs;
    }
    return this.tokens;
  }

  take(count: number): void {
    this.tokens -= count;
  }
}

/** Counts of throttled calls, by operation: the benchmark and tests read them. */
export type ThrottleCounts = Record<string, number>;

/** EC2's buckets of every account and Region that called. */
export class Ec2Throttle {
  private readonly buckets = new Map<string, TokenBucket>();
  readonly throttled: ThrottleCounts = {};

  constructor(readonly enabled = true) {}

  private bucket(key: string, spec: BucketSpec, nowMs: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(spec, nowMs);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /**
   * Takes the call's tokens, or answers false (throttled: nothing taken) when its request bucket or its resource
   * bucket lacks them.
   */
  admit(
    scope: { accountId: string; region: string },
    operation: string,
    input: Record<string, unknown>,
    nowMs: number,
  ): boolean {
    if (!this.enabled) return true;
    const prefix = `${scope.accountId}/${scope.region}/`;
    const [name, spec] = requestBucket(operation, input);
    const request = this.bucket(prefix + name, spec, nowMs);
    const resourceSpec = RESOURCE_BUCKETS[operation];
    const needed = resourceSpec ? resourceTokens(operation, input) : 0;
    const resource = resourceSpec
      ? this.bucket(`${prefix}${operation}#resources`, resourceSpec, nowMs)
      : null;
    const ok = request.available(nowMs) >= 1 && (!resource || resource.available(nowMs) >= needed);
    if (!ok) {
      this.throttled[operation] = (this.throttled[operation] ?? 0) + 1;
      return false;
    }
    request.take(1);
    resource?.take(needed);
    return true;
  }

  get totalThrottled(): number {
    return Object.values(this.throttled).reduce((sum, count) => sum + count, 0);
  }
}
