/**
 * The simulator's latency model, in virtual seconds: how long AWS takes to settle each asynchronous change.
 * Figures are typical values from reference/aws-facts.md; the benchmark derives the critical path of a create
 * from this same table, so the ratio it prints compares the workflow against the model, not against a guess.
 */
export const LATENCY_SECONDS = {
  vpcAvailable: 2,
  natGatewayAvailable: 120,
  natGatewayDeleted: 60,
  instanceRunning: 30,
  instanceTerminated: 40,
  volumeCreated: 4,
  volumeAttached: 4,
  volumeDetached: 4,
  volumeDeleted: 2,
  /** A new instance profile is not usable by RunInstances for this long. */
  instanceProfilePropagation: 10,
  /** From running and reachable (route to NAT or IGW) to SSM PingStatus Online. */
  ssmAgentOnline: 20,
  /** From SendCommand to the invocation existing (GetCommandInvocation says InvocationDoesNotExist before). */
  commandRegistered: 1,
  /** From registered to InProgress. */
  commandDelivered: 2,
} as const;

/**
 * How long one API call takes to answer, by service and family of operations, in virtual seconds: a base, an
 * optional amount per item the call acts on (instances launched, terminated or commanded), and a jitter fraction
 * (the time is drawn uniformly in base × [1 − jitter, 1 + jitter] from the account's seeded generator).
 *
 * AWS publishes no per-call latency for any control-plane API and no public measurement was found
 * (reference/aws-behaviour-2.md §1a), so every figure below is a STATED ASSUMPTION, kept small and in one place;
 * the only documented facts they rest on are named with them. Settling (a NAT gateway becoming available) is the
 * table above, not this one: "a mutating API request typically returns a result before the operation's
 * asynchronous workflows have completed" (ec2-api-idempotency, VERIFIED in §1a).
 */
export interface CallLatency {
  /** Seconds for the call itself. */
  base: number;
  /** Extra seconds per instance the call launches, terminates or sends a command to. */
  perItem?: number;
  /** Fraction of uniform jitter around the total (0.5: from half to one and a half times it). */
  jitter: number;
  /** Where the figure comes from. */
  source: string;
}

const ASSUMED = 'ASSUMPTION (no AWS figure, reference/aws-behaviour-2.md §1a)';

export const CALL_LATENCY = {
  /** EC2 Describe*, Get*: an indexed regional read. */
  ec2Read: { base: 0.15, jitter: 0.5, source: `${ASSUMED}: a regional read, ~100-200 ms` },
  /**
   * EC2 mutating calls (CreateVpc, CreateSubnet, AllocateAddress, CreateTags...): they return before the change
   * settles (VERIFIED, ec2-api-idempotency), so a few hundred ms.
   */
  ec2Write: { base: 0.35, jitter: 0.5, source: `${ASSUMED}; returns before settling (ec2-api-idempotency)` },
  /**
   * RunInstances: the heaviest call (capacity placement, ENI, volumes), 1-3 s for one instance as issue 14 states,
   * plus a little per extra instance in the same call.
   */
  ec2RunInstances: {
    base: 2,
    perItem: 0.05,
    jitter: 0.5,
    source: `${ASSUMED}: 1-3 s a call (issue 14); resource bucket 1000/2 per s (aws-behaviour-2.md §1b)`,
  },
  /** TerminateInstances: state change of each instance, answered before shutdown. */
  ec2TerminateInstances: {
    base: 0.5,
    perItem: 0.02,
    jitter: 0.5,
    source: `${ASSUMED}: a mutating call plus a little per instance`,
  },
  /** SSM reads (GetParameter, DescribeInstanceInformation, GetCommandInvocation, ListCommandInvocations). */
  ssmRead: { base: 0.1, jitter: 0.5, source: `${ASSUMED}: a regional read` },
  /** SSM writes (PutParameter, DeleteParameter, CancelCommand). */
  ssmWrite: { base: 0.2, jitter: 0.5, source: `${ASSUMED}: a regional write` },
  /** SendCommand: validates the document and parameters and fans out to up to 50 targets. */
  ssmSendCommand: {
    base: 0.5,
    perItem: 0.01,
    jitter: 0.5,
    source: `${ASSUMED}: document and parameter validation, up to 50 targets a call (aws-facts.md §2)`,
  },
  /** IAM reads: a global service served from us-east-1, slower than regional reads. */
  iamRead: { base: 0.3, jitter: 0.5, source: `${ASSUMED}: global endpoint in us-east-1, slower than EC2` },
  /**
   * IAM writes (CreateRole, PutRolePolicy, CreateInstanceProfile...): the slowest family after RunInstances; the
   * change then propagates for seconds more (IAM eventual consistency, REPORTED in §1a: instanceProfilePropagation).
   */
  iamWrite: { base: 0.8, jitter: 0.5, source: `${ASSUMED}: global, replicated writes (slower than EC2)` },
  /** STS AssumeRole, GetCallerIdentity: credentials minted regionally. */
  sts: { base: 0.2, jitter: 0.5, source: `${ASSUMED}: a regional STS endpoint` },
  /** Resource Groups Tagging API GetResources: one page of a cross-service tag index. */
  tagging: { base: 0.4, jitter: 0.5, source: `${ASSUMED}: a cross-service index, one page per call` },
  /** Service Quotas GetServiceQuota. */
  quotas: { base: 0.2, jitter: 0.5, source: `${ASSUMED}: a regional read` },
  /** Anything else. */
  other: { base: 0.2, jitter: 0.5, source: ASSUMED },
} as const satisfies Record<string, CallLatency>;

export type CallFamily = keyof typeof CALL_LATENCY;

const READ = /^(Describe|Get|List|Search|Lookup)/;

/** The family of a call, by service and operation. */
export function callFamily(service: string, operation: string): CallFamily {
  const read = READ.test(operation);
  switch (service) {
    case 'EC2':
      if (operation === 'RunInstances') return 'ec2RunInstances';
      if (operation === 'TerminateInstances') return 'ec2TerminateInstances';
      return read ? 'ec2Read' : 'ec2Write';
    case 'SSM':
      if (operation === 'SendCommand') return 'ssmSendCommand';
      return read ? 'ssmRead' : 'ssmWrite';
    case 'IAM':
      return read ? 'iamRead' : 'iamWrite';
    case 'STS':
      return 'sts';
    case 'ResourceGroupsTaggingAPI':
      return 'tagging';
    case 'ServiceQuotas':
      return 'quotas';
    default:
      return 'other';
  }
}

/** How many instances a call acts on, for the per-item part of its latency. */
function itemsOf(operation: string, input: Record<string, unknown>): number {
  if (operation === 'RunInstances') return Math.max(1, Number(input.MaxCount ?? input.MinCount ?? 1) || 1);
  const ids = input.InstanceIds;
  return Array.isArray(ids) ? ids.length : 0;
}

/** Mulberry32: the same draws for the same seed, so a run's timing replays with `--seed`. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Draws the time each call takes from {@link CALL_LATENCY}, with jitter from its own seeded stream (separate from
 * the fault rules' draws, so switching the model on or off does not change which probabilistic faults fire).
 */
export class CallLatencyModel {
  private readonly random: () => number;

  constructor(
    seed: number,
    readonly enabled = true,
  ) {
    this.random = mulberry32(seed ^ 0x1a7e9c3);
  }

  /** Virtual seconds `service`/`operation` takes to answer (0 when the model is off). */
  seconds(service: string, operation: string, input: Record<string, unknown> = {}): number {
    if (!this.enabled) return 0;
    const entry: CallLatency = CALL_LATENCY[callFamily(service, operation)];
    const nominal = entry.base + (entry.perItem ?? 0) * itemsOf(operation, input);
    const factor = 1 + entry.jitter * (2 * this.random() - 1);
    // Whole milliseconds: virtual timers fire on integer ms.
    return Math.round(nominal * factor * 1000) / 1000;
  }
}

/**
 * What Lambda adds around a handler, in virtual seconds: the Init phase of a function's first invocation in a run
 * (a cold start) and the overhead of each invocation. Init does not count against the function's timeout (it has
 * its own 10 s cap, VERIFIED in reference/aws-behaviour-2.md §1a).
 */
export const LAMBDA_INVOKE_SECONDS = {
  /**
   * Node.js with three SDK v3 clients: Init ≈ 375 ms (REPORTED, speedrun.nobackspacecrew.com 2025, in §1a;
   * 200-500 ms at 128 MB per another REPORTED source there).
   */
  coldStart: 0.375,
  /** A warm invoke: no AWS or public figure (§1a, "not found"); ASSUMPTION: 20 ms. */
  warm: 0.02,
} as const;
