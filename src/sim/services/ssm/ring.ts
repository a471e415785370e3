import { ipToNumber } from '../../../core/spec/ipv4.js';
import { cassandraToken } from '../../../core/spec/plan.js';
import { tagValue } from '../../../core/tags.js';
import { untracked } from '../../durable.js';
import type {
  Ctx,
  Ec2Instance,
  Ec2View,
  RingChange,
  RingFacts,
  RingMovement,
  RingNode,
  RingState,
  SsmCommand,
  SsmInvocation,
} from './state.js';
import { uuidFrom } from './state.js';

// The Cassandra token ring of each deployment, as its simulated nodes see it: who owns which range, who is joining
// or leaving, and how much data each node holds. The documents that change it plan their effect when they are sent
// (SendCommand knows when the run starts): configure (fresh or joining), decommission, cleanup, and services
// stop/start on a Cassandra node. `nodetool status` (capi-health-check, cluster.ts) prints it. Single tokens,
// replication factor 1 (Capillaries' keyspaces): each range lives on exactly one node (reference/ops-facts.md §1).

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export const CONFIGURE_DOCUMENT = 'capi-cassandra-configure';
export const DECOMMISSION_DOCUMENT = 'capi-cassandra-decommission';
export const CLEANUP_DOCUMENT = 'capi-cassandra-cleanup';

/** A joining node sleeps RING_DELAY (30 s by default) for pending-range setup before it streams (ops-facts §1.1). */
export const RING_DELAY_SECONDS = 30;
/** `stream_throughput_outbound` defaults to 24 MiB/s in Cassandra 5.0; one sender per range with RF=1 (ops-facts §1.4). */
export const STREAM_BYTES_PER_SECOND = 24 * MiB;
/** How fast `nodetool cleanup` drops the data a node no longer owns (our estimate: a rewrite of its SSTables). */
export const CLEANUP_BYTES_PER_SECOND = 100 * MiB;
/** What a node holds after a fresh configure unless the account says otherwise (`cassandraLoadGiB`). */
export const DEFAULT_CASSANDRA_LOAD_BYTES = Math.round(1.21 * MiB);

/** A join refused at startup: Cassandra exits and the configure script gives up after its wait for the unit. */
const FAILED_JOIN_SECONDS = 60;
/** nodetool answers an error at once. */
const NODETOOL_ERROR_SECONDS = 5;
/** The configure script polls `nodetool status` until the node is UN. */
const UN_POLL_SECONDS = 5;
/** A leaving node announces LEAVING and sets up pending ranges before it streams. */
const LEAVE_SETUP_SECONDS = 5;
const CLEANUP_BASE_SECONDS = 10;

const CONNECTION_REFUSED =
  "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.\n";
const OTHER_MOVES = (operation: string) =>
  `java.lang.UnsupportedOperationException: Other bootstrapping/leaving/moving nodes detected, cannot ${operation} while cassandra.consistent.rangemovement is true\n`;
/** Consistent range movement streams from the range's one replica; with RF=1 a down one has no stand-in (§1.1). */
const SOURCE_DOWN = (ip: string) =>
  `java.lang.IllegalStateException: A node required to move the data consistently is down (/${ip}:7000). If you wish to move the data from a potentially inconsistent replica, restart the node with -Dcassandra.consistent.rangemovement=false\n`;

// ---------------------------------------------------------------------------------------------------------------
// Stored entries (their shape is in state.ts)

const keyOf = (deployment: string, ip: string) => `${deployment}/${ip}`;

const deploymentOf = (instance: Ec2Instance) => tagValue(instance.Tags, 'DeploymentName') ?? '';

/** Every entry of a deployment's ring (a plain read: nothing is changed through it). */
function entriesOf(ctx: Ctx, deployment: string): RingNode[] {
  const all = untracked(ctx.state.cassandraRing) ?? {};
  return Object.values(all).filter((node) => node.deployment === deployment);
}

const entryOf = (ctx: Ctx, deployment: string, ip: string): RingNode | undefined =>
  untracked(ctx.state.cassandraRing)?.[keyOf(deployment, ip)];

/** The entry as it is at `at`: its stored facts with the planned changes due by then. */
export function factsAt(node: RingNode, at: number): RingFacts {
  const facts: RingFacts = {
    instanceId: node.instanceId,
    hostId: node.hostId,
    token: node.token,
    state: node.state,
    loadBytes: node.loadBytes,
    ownedBytes: node.ownedBytes,
    since: { ...node.since },
  };
  const due = node.pending.filter((change) => change.at <= at).sort((a, b) => a.at - b.at);
  for (const change of due) applyChange(facts, change);
  return facts;
}

function applyChange(facts: RingFacts, change: RingChange): void {
  Object.assign(facts, change.set ?? {});
  if (change.set?.state) facts.since[change.set.state] = change.at;
  facts.ownedBytes = Math.max(0, facts.ownedBytes + (change.ownedDelta ?? 0));
  facts.loadBytes = Math.max(0, facts.loadBytes + (change.loadDelta ?? 0));
  if (change.cleanup) facts.loadBytes = facts.ownedBytes;
}

/** Folds the changes due by `upTo` into the stored facts (`node` is the tracked entry). */
function absorb(node: RingNode, upTo: number): void {
  if (!node.pending.some((change) => change.at <= upTo)) return;
  const { since, ...facts } = factsAt(node, upTo);
  Object.assign(node, facts);
  node.since = since;
  node.pending = node.pending.filter((change) => change.at > upTo);
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens and ranges

const RING_SIZE = 2n ** 64n;

/** A member of the ring at one time, as nodetool sees it. */
export interface RingMember extends RingFacts {
  ip: string;
  /** Cassandra runs on the node: its instance is running and the node is not stopped. */
  up: boolean;
}

/** A node owns ranges while normal, leaving or down: a joining node's ranges are still pending (§1.1). */
const owns = (member: RingMember) => member.state !== 'joining' && member.state !== 'left';

/** One owner's range (start, end], its length, and its share of the ring. */
export interface OwnedRange {
  owner: RingMember;
  start: bigint;
  end: bigint;
  length: bigint;
}

/** The ranges of the owners: each owns (previous token, its token]; a lone token owns the whole ring. */
export function rangesOf(members: RingMember[]): OwnedRange[] {
  const owners = members.filter(owns).sort((a, b) => {
    const order = BigInt(a.token) - BigInt(b.token);
    return order === 0n ? ipToNumber(a.ip) - ipToNumber(b.ip) : order < 0n ? -1 : 1;
  });
  return owners.map((owner, i) => {
    const end = BigInt(owner.token);
    const start = BigInt(owners[(i - 1 + owners.length) % owners.length].token);
    const length = owners.length === 1 ? RING_SIZE : (((end - start) % RING_SIZE) + RING_SIZE) % RING_SIZE;
    return { owner, start, end, length };
  });
}

/** The range holding `token` now: the first owner at or after it, clockwise. */
function rangeHolding(ranges: OwnedRange[], token: bigint): OwnedRange | undefined {
  return ranges.find((range) => range.end >= token) ?? ranges[0];
}

/** `part / whole` of two range lengths, as a number. */
const share = (part: bigint, whole: bigint) => (whole === 0n ? 0 : Number((part * 1_000_000n) / whole) / 1e6);

export const ownership = (range: OwnedRange) => share(range.length, RING_SIZE);

/** The ring of a deployment at `at`: every member (left ones are gone), sorted by address. */
export function ringAt(ctx: Ctx, ec2: Ec2View, deployment: string, at: number): RingMember[] {
  return entriesOf(ctx, deployment)
    .flatMap((node) => {
      const facts = factsAt(node, at);
      if (facts.state === 'left') return [];
      const running = ec2.instances[facts.instanceId]?.State?.Name === 'running';
      return [{ ...facts, ip: node.ip, up: running && facts.state !== 'down' }];
    })
    .sort((a, b) => ipToNumber(a.ip) - ipToNumber(b.ip));
}

// ---------------------------------------------------------------------------------------------------------------
// Planning a run

type PlannedChange = Omit<RingChange, 'at'> & { at: number | 'end' };

interface RingWrite {
  deployment: string;
  ip: string;
  changes: PlannedChange[];
  movement?: RingMovement;
}

/** How a ring document's run goes on one node, decided from the ring at its start. */
export interface RingPlan {
  /** Run time on the node. */
  runSeconds: number;
  /** Cassandra or nodetool refused: the script exits 1 with this on stderr. */
  failure?: { exitCode: number; stderr: string };
  /** What the run does to the ring, when it goes ahead (`end`: the end of the run). */
  writes: RingWrite[];
}

/** Where a run happens: the node, its deployment's ring, when it starts, the document's usual run time. */
interface Placement {
  ctx: Ctx;
  ec2: Ec2View;
  instance: Ec2Instance;
  deployment: string;
  ip: string;
  startAt: number;
  parameters: Record<string, string[]>;
  documentSeconds: number;
}

const failed = (stderr: string, runSeconds = NODETOOL_ERROR_SECONDS): RingPlan => ({
  runSeconds,
  failure: { exitCode: 1, stderr },
  writes: [],
});

/** The data a node holds after a fresh configure: the account's `cassandraLoadGiB`, else the small default. */
function freshLoadBytes(ctx: Ctx): number {
  const gib = ctx.account.cassandraLoadGiB;
  return gib === undefined ? DEFAULT_CASSANDRA_LOAD_BYTES : Math.round(gib * GiB);
}

/**
 * The node's token: its position in `Seeds` (every node, in plan order) in a ring of `ClusterSize`. A document
 * without Seeds (unit tests) places the node by address among the ring's entries.
 */
function tokenOf(place: Placement): string {
  const seeds = (place.parameters.Seeds?.[0] ?? '').split(',').filter((ip) => ip.length > 0);
  const size = Number(place.parameters.ClusterSize?.[0] ?? seeds.length) || 1;
  const index = seeds.indexOf(place.ip);
  if (index >= 0) return cassandraToken(index, Math.max(size, 1));
  const ips = [...new Set([...entriesOf(place.ctx, place.deployment).map((node) => node.ip), place.ip])];
  ips.sort((a, b) => ipToNumber(a) - ipToNumber(b));
  return cassandraToken(ips.indexOf(place.ip), Math.max(size, ips.length));
}

/** The node's own entry at the run's start, when it is this instance's. */
function ownFacts(place: Placement): RingFacts | undefined {
  const entry = entryOf(place.ctx, place.deployment, place.ip);
  const facts = entry && factsAt(entry, place.startAt);
  return facts?.instanceId === place.instance.InstanceId ? facts : undefined;
}

/** Another node whose range movement overlaps [from, to). */
function otherMovement(place: Placement, from: number, to: number): RingNode | undefined {
  return entriesOf(place.ctx, place.deployment).find(
    (node) =>
      node.ip !== place.ip && node.movement && node.movement.startAt < to && from < node.movement.endAt,
  );
}

/** The identity an instance gives its node: its host id, and the token it starts with. */
const identityOf = (place: Placement, token: string) => ({
  instanceId: place.instance.InstanceId,
  hostId: uuidFrom(`cassandra-host:${place.instance.InstanceId}`),
  token,
});

/**
 * `capi-cassandra-configure` of a fresh cluster (auto_bootstrap false, every node at once): the node is UN with its
 * token at the end of the run, holding the fresh data volume. A node of this instance already in the ring keeps its
 * saved token and data (Cassandra reads `initial_token` only on first start); a new instance on the address of a
 * down or departed node takes its entry over.
 */
function planFreshConfigure(place: Placement): RingPlan {
  const own = ownFacts(place);
  if (own && own.state !== 'down' && own.state !== 'left')
    return { runSeconds: place.documentSeconds, writes: [] };
  const bytes = freshLoadBytes(place.ctx);
  const set = { ...identityOf(place, tokenOf(place)), state: 'normal' as const };
  return {
    runSeconds: place.documentSeconds,
    writes: [
      {
        deployment: place.deployment,
        ip: place.ip,
        changes: [{ at: 'end', set: { ...set, loadBytes: bytes, ownedBytes: bytes } }],
      },
    ],
  };
}

/**
 * `capi-cassandra-configure` with Join=true: the node bootstraps into the running ring (ops-facts §1.1). It is
 * refused while another node's range movement overlaps its own, when its token is taken, or when the node holding
 * its range is down. Else it is UJ from the start of the run for RING_DELAY plus the streaming of its share of the
 * data of the node whose range its token splits (uniform density), then UN; that node keeps the data it handed
 * over until cleanup. The script waits for UN, so the run lasts at least that long.
 */
function planJoin(place: Placement): RingPlan {
  const own = ownFacts(place);
  const documentSeconds = place.documentSeconds;
  if (own?.state === 'normal') return { runSeconds: documentSeconds, writes: [] };
  const ownEntry = entryOf(place.ctx, place.deployment, place.ip);
  if (own?.state === 'joining' && ownEntry?.movement) {
    const left = (ownEntry.movement.endAt - place.startAt) / 1000 + UN_POLL_SECONDS;
    return { runSeconds: Math.max(documentSeconds, left), writes: [] };
  }
  const token = tokenOf(place);
  const others = ringAt(place.ctx, place.ec2, place.deployment, place.startAt).filter(
    (member) => member.ip !== place.ip,
  );
  const source = rangeHolding(rangesOf(others), BigInt(token));
  const streamed = source
    ? Math.round(source.owner.ownedBytes * share(streamLength(source, BigInt(token)), source.length))
    : 0;
  const endAt = place.startAt + (RING_DELAY_SECONDS + streamed / STREAM_BYTES_PER_SECOND) * 1000;
  if (otherMovement(place, place.startAt, endAt))
    return failed(OTHER_MOVES('bootstrap'), FAILED_JOIN_SECONDS);
  if (source && source.end === BigInt(token)) {
    return failed(
      `org.apache.cassandra.exceptions.ConfigurationException: Bootstrapping to existing token ${token} is not allowed (decommission/removenode the old node first).\n`,
      FAILED_JOIN_SECONDS,
    );
  }
  if (source && !source.owner.up) return failed(SOURCE_DOWN(source.owner.ip), FAILED_JOIN_SECONDS);
  const joined: RingWrite = {
    deployment: place.deployment,
    ip: place.ip,
    movement: { kind: 'join', startAt: place.startAt, endAt },
    changes: [
      {
        at: place.startAt,
        set: { ...identityOf(place, token), state: 'joining', loadBytes: 0, ownedBytes: 0 },
      },
      { at: endAt, set: { state: 'normal' }, ownedDelta: streamed, loadDelta: streamed },
    ],
  };
  const handedOver: RingWrite[] = source
    ? [{ deployment: place.deployment, ip: source.owner.ip, changes: [{ at: endAt, ownedDelta: -streamed }] }]
    : [];
  const runSeconds = Math.max(documentSeconds, (endAt - place.startAt) / 1000 + UN_POLL_SECONDS);
  return { runSeconds, writes: [joined, ...handedOver] };
}

/** The length of the part (start, token] of a range that a new token takes. */
function streamLength(range: OwnedRange, token: bigint): bigint {
  return (((token - range.start) % RING_SIZE) + RING_SIZE) % RING_SIZE;
}

/** StorageService's operation modes, as nodetool names them in its errors. */
const MODE: Record<RingState, string> = {
  joining: 'JOINING',
  normal: 'NORMAL',
  leaving: 'LEAVING',
  left: 'DECOMMISSIONED',
  down: 'DRAINED',
};

/**
 * `capi-cassandra-decommission` (`nodetool decommission`, ops-facts §1.2): only a node in NORMAL mode leaves, one
 * range movement at a time, and the script refuses while another node is down. The node is UL while it streams what
 * it owns to the next node clockwise (which then owns its range), then gone from the ring. A node that already left
 * succeeds again; a run that finds its own decommission under way (an interrupted run) waits for it.
 */
function planDecommission(place: Placement): RingPlan {
  const own = ownFacts(place);
  const movement = entryOf(place.ctx, place.deployment, place.ip)?.movement;
  if (own?.state === 'left') return { runSeconds: NODETOOL_ERROR_SECONDS, writes: [] };
  if (own?.state === 'leaving' && movement?.kind === 'leave') {
    return { runSeconds: (movement.endAt - place.startAt) / 1000 + 1, writes: [] };
  }
  if (!own || own.state === 'down') return failed(CONNECTION_REFUSED);
  if (own.state !== 'normal') {
    return failed(
      `Unsupported operation: Node in ${MODE[own.state]} state; wait for status to become normal or restart\n`,
    );
  }
  const others = ringAt(place.ctx, place.ec2, place.deployment, place.startAt).filter(
    (member) => member.ip !== place.ip,
  );
  const heir = rangeHolding(rangesOf(others), BigInt(own.token));
  if (!heir) {
    return failed(
      'Unsupported operation: no other normal nodes in the ring; decommission would be pointless\n',
    );
  }
  const endAt = place.startAt + (LEAVE_SETUP_SECONDS + own.ownedBytes / STREAM_BYTES_PER_SECOND) * 1000;
  if (otherMovement(place, place.startAt, endAt)) return failed(OTHER_MOVES('decommission'));
  const down = others.find((member) => !member.up);
  if (down) {
    return failed(
      `ERROR: not every node is UN (${down.ip} DN): refusing to decommission ${place.ip} while a node is down\n`,
    );
  }
  const moved = own.ownedBytes;
  return {
    runSeconds: (endAt - place.startAt) / 1000 + 1,
    writes: [
      {
        deployment: place.deployment,
        ip: place.ip,
        movement: { kind: 'leave', startAt: place.startAt, endAt },
        changes: [
          { at: place.startAt, set: { state: 'leaving' } },
          { at: endAt, set: { state: 'left', ownedBytes: 0 } },
        ],
      },
      // The next node clockwise takes the range over: it receives the data the leaving node owns.
      {
        deployment: place.deployment,
        ip: heir.owner.ip,
        changes: [{ at: endAt, ownedDelta: moved, loadDelta: moved }],
      },
    ],
  };
}

/**
 * `capi-cassandra-cleanup` (`nodetool cleanup`): the node drops the data of ranges it no longer owns; the run grows
 * with what it removes. Cassandra refuses it while the node's own ranges are moving.
 */
function planCleanup(place: Placement): RingPlan {
  const own = ownFacts(place);
  if (!own || own.state === 'down' || own.state === 'left') return failed(CONNECTION_REFUSED);
  if (own.state !== 'normal') {
    return failed(
      'error: Node is involved in cluster membership changes. Not safe to run cleanup.\n-- StackTrace --\njava.lang.RuntimeException: Node is involved in cluster membership changes. Not safe to run cleanup.\n',
    );
  }
  const removed = Math.max(0, own.loadBytes - own.ownedBytes);
  return {
    runSeconds: CLEANUP_BASE_SECONDS + removed / CLEANUP_BYTES_PER_SECOND,
    writes: [{ deployment: place.deployment, ip: place.ip, changes: [{ at: 'end', cleanup: true }] }],
  };
}

/**
 * `capi-services-stop` on a Cassandra node drains and stops it: DN. `capi-services-start` finds its instance-store
 * data gone after the stop (ops-facts §1.8) and keeps it stopped for the next configure: DN, nothing held.
 */
function planServices(place: Placement, start: boolean): RingPlan | undefined {
  if (place.parameters.Role?.[0] !== 'cassandra') return undefined;
  const own = ownFacts(place);
  if (!own || own.state === 'left') return { runSeconds: place.documentSeconds, writes: [] };
  const set = start ? { state: 'down' as const, loadBytes: 0, ownedBytes: 0 } : { state: 'down' as const };
  return {
    runSeconds: place.documentSeconds,
    writes: [{ deployment: place.deployment, ip: place.ip, changes: [{ at: 'end', set }] }],
  };
}

const PLANNERS: Record<string, (place: Placement) => RingPlan | undefined> = {
  [CONFIGURE_DOCUMENT]: (place) =>
    place.parameters.Join?.[0] === 'true' ? planJoin(place) : planFreshConfigure(place),
  [DECOMMISSION_DOCUMENT]: planDecommission,
  [CLEANUP_DOCUMENT]: planCleanup,
  'capi-services-stop': (place) => planServices(place, false),
  'capi-services-start': (place) => planServices(place, true),
};

/**
 * How a run of `command` on `instance` starting at `startAt` goes in the ring, or undefined for documents that do
 * not touch it. `documentSeconds` is the document's usual run time (DOCUMENT_SECONDS plus a rule's delay).
 */
export function planRingRun(
  ctx: Ctx,
  ec2: Ec2View,
  command: SsmCommand,
  instance: Ec2Instance,
  startAt: number,
  documentSeconds: number,
): RingPlan | undefined {
  const planner = PLANNERS[command.DocumentName];
  if (!planner) return undefined;
  return planner({
    ctx,
    ec2,
    instance,
    deployment: deploymentOf(instance),
    ip: instance.PrivateIpAddress,
    startAt,
    parameters: command.runParameters,
    documentSeconds,
  });
}

/** The run's length and outcome: the ring's, cut at the execution timeout (Cassandra goes on without the script). */
export function ringOutcome(
  plan: RingPlan,
  executionTimeoutSeconds: number,
): { runMs: number; fault?: SsmInvocation['fault'] } {
  const seconds = plan.runSeconds;
  if (seconds > executionTimeoutSeconds) {
    return { runMs: executionTimeoutSeconds * 1000, fault: { status: 'TimedOut' } };
  }
  const fault = plan.failure && { status: 'Failed' as const, ...plan.failure };
  return { runMs: Math.round(seconds * 1000), ...(fault ? { fault } : {}) };
}

/**
 * Records what a run that went ahead does to the ring; `endAt` is the end of the run. Changes due by `settledUpTo`
 * (SendCommand's now: every run that ended by then has been settled) are folded into the stored facts.
 */
export function commitRingPlan(ctx: Ctx, plan: RingPlan, endAt: number, settledUpTo?: number): void {
  if (plan.writes.length === 0) return;
  ctx.state.cassandraRing ??= {};
  const ring = ctx.state.cassandraRing;
  for (const write of plan.writes) {
    const key = keyOf(write.deployment, write.ip);
    ring[key] ??= newEntry(write.deployment, write.ip);
    const node = ring[key];
    if (settledUpTo !== undefined) absorb(node, settledUpTo);
    const changes = write.changes.map((change) => ({
      ...change,
      at: change.at === 'end' ? endAt : change.at,
    }));
    node.pending = [...node.pending, ...changes];
    if (write.movement) node.movement = write.movement;
  }
}

/** An entry for a node not in the ring yet: its planned changes make it a member. */
function newEntry(deployment: string, ip: string): RingNode {
  return {
    deployment,
    ip,
    instanceId: '',
    hostId: '',
    token: '',
    state: 'left',
    loadBytes: 0,
    ownedBytes: 0,
    since: {},
    pending: [],
  };
}
