import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionName } from '../core/catalogue.js';
import { awsError } from './aws-error.js';
import {
  applyJournalLine,
  ChangeTracker,
  Journal,
  type JournalLine,
  journalLine,
  readStateFile,
  unwrap,
  writeFileAtomic,
} from './durable.js';
import { FaultInjector, type FaultRule } from './faults.js';
import {
  authorizeCall,
  type Principal,
  type RemovedGrant,
  rolePrincipal,
  workflowPrincipal,
} from './iam/authorizer.js';
import { CallLatencyModel } from './latency.js';
import { Ec2Throttle } from './throttle.js';

/** Who is calling: the operator's own identity, or a role assumed through the simulated STS. */
export interface CallerIdentity {
  accountId: string;
  arn: string;
  accessKeyId: string;
}

/** What an operation implementation receives besides its input. */
export interface OperationContext<S> {
  /** This service's slice of the account state; mutate it in place. */
  state: S;
  account: SimulatedAccount;
  caller: CallerIdentity;
  region: string;
  /** Virtual now, in epoch milliseconds. */
  now(): number;
  /** A fresh AWS-looking id: `vpc-0a1b2c3d4e5f60718`. */
  newId(prefix: string, hexLength?: number): string;
  /** Consumes an effect rule (delaySeconds, finalState, SSM outcome) matching this call, if any. */
  effect(operation: string, targets: string[], document?: string): FaultRule | undefined;
}

export type Operation<S> = (ctx: OperationContext<S>, input: any) => unknown;

/** One simulated AWS service: its state, its operations, and how to name the targets of a call for fault rules. */
export interface ServiceSimulator<S = any> {
  name: string;
  initialState(): S;
  operations: Record<string, Operation<S>>;
  targetsOf?(ctx: OperationContext<S>, operation: string, input: any): string[];
  /** A service added after state dirs existed: a snapshot without its state opens with an empty one. */
  addedLater?: boolean;
}

export interface AccountOptions {
  /** Commit changing calls to the state dir (only the command holding its lock): false for a command that reads. */
  writable?: boolean;
  faults?: FaultRule[];
  seed?: number;
  accountId?: string;
  /** The stack's region (default us-east-1): where the provisioning documents exist. Calls carry their own region. */
  region?: string;
  /**
   * Authorize every call against IAM before answering it (src/sim/iam/): a workflow function's call against the
   * statements the stack gives its role, an assumed role's against its policies and boundary in the simulated IAM.
   * The operator's own calls (the CLI) are not evaluated. Default false; local mode turns it on (`--no-iam` off).
   */
  iam?: boolean;
  /** Grants taken out of workflow roles, to show which step needs each (tests; see iam/authorizer.ts). */
  withoutGrants?: readonly RemovedGrant[];
  /**
   * Every call takes virtual time to answer (`CALL_LATENCY` in latency.ts, jitter from `seed`); default true.
   * False answers instantly, for unit tests that run outside a virtual clock.
   */
  callLatency?: boolean;
  /**
   * EC2's request-rate token buckets (throttle.ts): a call finding its bucket empty answers RequestLimitExceeded.
   * Default: on when `callLatency` is (a run under the virtual clock), off for instant unit-test accounts.
   */
  throttling?: boolean;
  /**
   * The data each Cassandra node holds after a fresh configure, in GiB: what a join streams and a decommission
   * moves grows with it (src/sim/services/ssm/ring.ts). Default: an empty node's 1.21 MiB.
   */
  cassandraLoadGiB?: number;
}

export const OPERATOR_ACCESS_KEY = 'AKIASIMULATEDOPERATOR';
export const DEFAULT_ACCOUNT_ID = '123456789012';

interface PersistedAccount {
  accountId: string;
  region: string;
  nextId: number;
  /** Last virtual time seen, so a later run never goes back in time. */
  clock: number;
  /** Which journal (`journal-<n>.jsonl`) holds the calls committed after this snapshot. */
  journal?: number;
  services: Record<string, unknown>;
}

const snapshotFile = (stateDir: string) => join(stateDir, 'account.json');
const journalFile = (stateDir: string, generation: number) => join(stateDir, `journal-${generation}.jsonl`);

/** What is wrong with a snapshot's shape, or null: a wrong one must never be read as an empty account. */
function snapshotProblem(value: unknown, services: string[]): string | null {
  const data = value as Partial<PersistedAccount> | null;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return 'not an account object';
  for (const [field, type] of [
    ['accountId', 'string'],
    ['region', 'string'],
    ['nextId', 'number'],
    ['clock', 'number'],
  ] as const) {
    if (typeof data[field] !== type) return `${field} is missing or not a ${type}`;
  }
  if (!data.services || typeof data.services !== 'object') return 'services is missing or not an object';
  const missing = services.filter((name) => {
    const state = data.services![name];
    return !state || typeof state !== 'object' || Array.isArray(state);
  });
  return missing.length > 0 ? `the state of ${missing.join(', ')} is missing or not an object` : null;
}

/** Reads the snapshot of a state dir (undefined when there is none yet), checked. */
function readSnapshot(stateDir: string, services: string[]): PersistedAccount | undefined {
  return readStateFile<PersistedAccount>(snapshotFile(stateDir), (value) => {
    const problem = snapshotProblem(value, services);
    return problem && `${problem}; restore it or remove the state dir`;
  });
}

/**
 * An in-memory AWS account that real SDK clients talk to (see middleware.ts). It dispatches each call to a
 * service simulator, applies fault rules, counts API calls, and persists its state to a directory.
 */
export class SimulatedAccount {
  readonly faults: FaultInjector;
  /** Whether calls are authorized against IAM (see AccountOptions.iam). */
  readonly iamEvaluation: boolean;
  private readonly withoutGrants: readonly RemovedGrant[];
  readonly latency: CallLatencyModel;
  /** EC2's request-rate limits (per account and Region), and the calls they refused. */
  readonly throttle: Ec2Throttle;
  readonly apiCalls: Record<string, number> = {};
  /** See {@link AccountOptions.cassandraLoadGiB}. */
  readonly cassandraLoadGiB: number | undefined;
  private readonly data: PersistedAccount;
  private readonly simulators = new Map<string, ServiceSimulator>();
  private readonly tracker: ChangeTracker<Record<string, unknown>>;
  /** Where committed calls go; none for an account kept in memory. */
  private journal: Journal | null = null;
  private stateDir: string | null = null;
  private requestCount = 0;

  constructor(simulators: ServiceSimulator[], options: AccountOptions = {}, persisted?: PersistedAccount) {
    this.faults = new FaultInjector(options.faults ?? [], options.seed ?? 42);
    this.iamEvaluation = options.iam ?? false;
    this.withoutGrants = options.withoutGrants ?? [];
    this.latency = new CallLatencyModel(options.seed ?? 42, options.callLatency ?? true);
    this.throttle = new Ec2Throttle(options.throttling ?? options.callLatency ?? true);
    this.cassandraLoadGiB = options.cassandraLoadGiB;
    this.data = persisted ?? {
      accountId: options.accountId ?? DEFAULT_ACCOUNT_ID,
      region: options.region ?? 'us-east-1',
      nextId: 1,
      clock: 0,
      services: {},
    };
    for (const simulator of simulators) {
      this.simulators.set(simulator.name, simulator);
      this.data.services[simulator.name] ??= simulator.initialState();
    }
    this.tracker = new ChangeTracker(this.data.services);
  }

  /**
   * Opens the account persisted in `stateDir` (or a fresh one): the snapshot plus every call committed to its
   * journal since, so a run that was killed leaves exactly what it had created. From then on every call that
   * changes the account is committed to the journal before it answers.
   */
  static open(
    stateDir: string,
    simulators: ServiceSimulator[],
    options: AccountOptions = {},
  ): SimulatedAccount {
    const names = simulators.filter((simulator) => !simulator.addedLater).map((simulator) => simulator.name);
    // A writer may fold the journal into a new snapshot while we read: then read again.
    for (let attempt = 0; ; attempt++) {
      const persisted = readSnapshot(stateDir, names);
      const generation = persisted?.journal ?? 0;
      const journal = new Journal(journalFile(stateDir, generation));
      const lines = journal.read();
      if (attempt < 3 && (readSnapshot(stateDir, names)?.journal ?? 0) !== generation) continue;
      // Without a snapshot (the first run was killed before its end), the journal applies to a fresh account.
      const account = new SimulatedAccount(simulators, options, persisted);
      for (const line of lines) account.replay(line);
      if (options.writable) {
        account.stateDir = stateDir;
        account.journal = journal;
      }
      return account;
    }
  }

  /** Applies one committed call of the journal. */
  private replay(line: JournalLine): void {
    applyJournalLine(this.data.services, line);
    this.data.nextId = Math.max(this.data.nextId, line.nextId);
    this.data.clock = Math.max(this.data.clock, line.clock);
  }

  /**
   * Folds everything into a new snapshot (written atomically) and starts a new journal; `nowMs` is the virtual
   * time the run ended at, so the next run starts after it.
   */
  save(stateDir: string, nowMs = Date.now()): void {
    mkdirSync(stateDir, { recursive: true });
    this.data.clock = Math.max(this.data.clock, nowMs);
    const previous = this.stateDir === stateDir ? this.journal : null;
    this.data.journal = (this.data.journal ?? 0) + 1;
    writeFileAtomic(snapshotFile(stateDir), `${JSON.stringify(this.data, null, 1)}\n`);
    previous?.remove();
    this.stateDir = stateDir;
    this.journal = new Journal(journalFile(stateDir, this.data.journal));
  }

  /** Calls committed to the journal by this process, and their bytes (the benchmark's durability figures). */
  readonly committed = { calls: 0, bytes: 0 };

  /** Commits the changes of one call to the journal (the caller gets its answer only after this). */
  private commit(): void {
    if (!this.tracker.hasChanges) return;
    const changed = this.tracker.takeChanges();
    if (!this.journal) return;
    this.data.clock = Math.max(this.data.clock, Date.now());
    this.committed.bytes += this.journal.append(
      journalLine(this.data.services, changed, { nextId: this.data.nextId, clock: this.data.clock }),
    );
    this.committed.calls += 1;
  }

  /** Stops writing (the journal file stays: it is the account's since the snapshot). */
  close(): void {
    this.commit();
    this.journal?.close();
  }

  get accountId(): string {
    return this.data.accountId;
  }

  /** The stack's region: where the CapiDeploy stack and its SSM documents are. Each call has its own region. */
  get region(): string {
    return this.data.region;
  }

  /** The virtual time a new run should start at: never before the last one ended. */
  get lastClock(): number {
    return this.data.clock;
  }

  /** A service's state slice, for cross-service reads (SSM reads EC2 instances) and for tests. */
  stateOf<S>(service: string): S {
    const state = this.tracker.view[service];
    if (state === undefined) throw new Error(`simulator has no service ${service}`);
    return state as S;
  }

  newId(prefix: string, hexLength = 17): string {
    const counter = this.data.nextId++;
    const hex = (counter * 2654435761).toString(16).padStart(hexLength, '0').slice(-hexLength);
    return `${prefix}-${hex}`;
  }

  requestId(): string {
    this.requestCount += 1;
    return `sim-req-${this.requestCount}`;
  }

  private sessionOf(accessKeyId: string) {
    const sessions = (
      this.data.services.STS as {
        sessions?: Record<string, { arn: string; accountId: string; roleArn: string }>;
      }
    )?.sessions;
    return sessions?.[accessKeyId];
  }

  /**
   * The identity behind an access key: an assumed role recorded by the STS simulator, the role of the workflow
   * function making the call (local mode runs each Lambda with the operator's keys, see iam/caller.ts), or the
   * operator.
   */
  identityFor(accessKeyId: string, fn?: FunctionName): CallerIdentity {
    const session = this.sessionOf(accessKeyId);
    if (session) return { accessKeyId, arn: session.arn, accountId: session.accountId };
    if (fn)
      return {
        accessKeyId,
        arn: workflowPrincipal(fn, this.accountId, this.region).callerArn,
        accountId: this.accountId,
      };
    return {
      accessKeyId,
      arn: `arn:aws:iam::${this.accountId}:user/capideploy-operator`,
      accountId: this.accountId,
    };
  }

  private context<S>(service: string, caller: CallerIdentity, region: string): OperationContext<S> {
    return {
      state: this.stateOf<S>(service),
      account: this,
      caller,
      region,
      now: () => Date.now(),
      newId: (prefix, hexLength) => this.newId(prefix, hexLength),
      effect: (operation, targets, document) =>
        this.faults.take({ service, operation, targets, document }, 'effect'),
    };
  }

  /** Who IAM evaluates for a call, or null for the operator's own calls (not evaluated). */
  private principalFor(accessKeyId: string, fn?: FunctionName): Principal | null {
    const session = this.sessionOf(accessKeyId);
    if (session) return rolePrincipal(this.stateOf('IAM'), session.roleArn, session.arn);
    if (!fn) return null;
    // With no grant removed, every account shares the rendered roles (workflowPrincipal caches by this array).
    const removed = this.withoutGrants.length > 0 ? this.withoutGrants : undefined;
    return workflowPrincipal(fn, this.accountId, this.region, removed);
  }

  /** Answers one API call, as AWS would: output object, or an error with the AWS code. */
  async handle(
    service: string,
    operation: string,
    input: Record<string, unknown>,
    auth: { accessKeyId: string; region?: string; fn?: FunctionName },
  ) {
    const key = `${service}:${operation}`;
    this.apiCalls[key] = (this.apiCalls[key] ?? 0) + 1;
    const simulator = this.simulators.get(service);
    const implementation = simulator?.operations[operation];
    if (!simulator || !implementation) {
      throw awsError('InvalidAction', `The simulated account does not implement ${service}:${operation}`);
    }
    const ctx = this.context(
      service,
      this.identityFor(auth.accessKeyId, auth.fn),
      auth.region ?? this.region,
    );
    const targets = simulator.targetsOf?.(ctx, operation, input) ?? [];
    // EC2 decides on arrival whether the request fits its rate limits; a refused one answers after a round trip.
    const scope = { accountId: ctx.caller.accountId, region: ctx.region };
    if (service === 'EC2' && !this.throttle.admit(scope, operation, input, Date.now())) {
      // Answered without doing anything: a read's round trip (CALL_LATENCY.ec2Read).
      const seconds = this.latency.seconds(service, 'DescribeThrottledRequest');
      if (seconds > 0) await new Promise<void>((resolve) => setTimeout(resolve, Math.round(seconds * 1000)));
      throw awsError('RequestLimitExceeded', faultMessage('RequestLimitExceeded', operation, targets));
    }
    await this.callTime(service, operation, input, targets);
    const principal = this.iamEvaluation ? this.principalFor(auth.accessKeyId, auth.fn) : null;
    if (principal) {
      const view = { service, operation, input, region: ctx.region, account: ctx.caller.accountId };
      await authorizeCall({ ...view, state: (name) => this.stateOf(name) }, principal);
    }
    const fault = this.faults.take({ service, operation, targets }, 'error');
    if (fault?.error) throw awsError(fault.error, faultMessage(fault.error, operation, targets));
    try {
      const output = await implementation(ctx, input);
      // Callers must never hold references into the account's state.
      return output === undefined ? {} : structuredClone(unwrap(output));
    } finally {
      // As on AWS, what a call did exists before its caller hears about it, even when the call failed.
      this.commit();
    }
  }

  /**
   * The time the call takes to answer, in virtual time: a `latencySeconds` fault rule's, or the latency model's.
   * A timer under the run's fake clock, so calls a Lambda makes concurrently overlap, and the answer reflects the
   * account as it is when the call completes. Nothing waits when the model is off and no rule matches.
   */
  private async callTime(
    service: string,
    operation: string,
    input: Record<string, unknown>,
    targets: string[],
  ) {
    const rule = this.faults.take({ service, operation, targets }, 'latency');
    const seconds = rule?.latencySeconds ?? this.latency.seconds(service, operation, input);
    if (seconds > 0) await new Promise<void>((resolve) => setTimeout(resolve, Math.round(seconds * 1000)));
  }

  /** Total API calls of this run. */
  get totalApiCalls(): number {
    return Object.values(this.apiCalls).reduce((sum, count) => sum + count, 0);
  }
}

const FAULT_MESSAGES: Record<string, string> = {
  RequestLimitExceeded: 'Request limit exceeded.',
  InsufficientInstanceCapacity:
    'We currently do not have sufficient capacity in the Availability Zone you requested. Our system will be working on provisioning additional capacity.',
  VcpuLimitExceeded:
    'You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to.',
  InternalError: 'An internal error has occurred.',
  ServiceUnavailable: 'The service is unavailable. Try again later.',
  UnauthorizedOperation: 'You are not authorized to perform this operation.',
  AccessDenied: 'User is not authorized to perform this operation.',
};

function faultMessage(code: string, operation: string, targets: string[]): string {
  const base = FAULT_MESSAGES[code] ?? `Simulated ${code} for ${operation}.`;
  return targets.length > 0 ? `${base} (${targets.join(', ')})` : base;
}
