import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
}

export interface AccountOptions {
  /** Commit changing calls to the state dir (only the command holding its lock): false for a command that reads. */
  writable?: boolean;
  faults?: FaultRule[];
  seed?: number;
  accountId?: string;
  /** The stack's region (default us-east-1): where the provisioning documents exist. Calls carry their own region. */
  region?: string;
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
  readonly apiCalls: Record<string, number> = {};
  private readonly data: PersistedAccount;
  private readonly simulators = new Map<string, ServiceSimulator>();
  private readonly tracker: ChangeTracker<Record<string, unknown>>;
  /** Where committed calls go; none for an account kept in memory. */
  private journal: Journal | null = null;
  private stateDir: string | null = null;
  private requestCount = 0;

  constructor(simulators: ServiceSimulator[], options: AccountOptions = {}, persisted?: PersistedAccount) {
    this.faults = new FaultInjector(options.faults ?? [], options.seed ?? 42);
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
    const names = simulators.map((simulator) => simulator.name);
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

  /** The identity behind an access key: the operator, or an assumed role recorded by the STS simulator. */
  identityFor(accessKeyId: string): CallerIdentity {
    const sessions = (
      this.data.services.STS as { sessions?: Record<string, { arn: string; accountId: string }> }
    )?.sessions;
    const session = sessions?.[accessKeyId];
    if (session) return { accessKeyId, arn: session.arn, accountId: session.accountId };
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

  /** Answers one API call, as AWS would: output object, or an error with the AWS code. */
  async handle(
    service: string,
    operation: string,
    input: Record<string, unknown>,
    auth: { accessKeyId: string; region?: string },
  ) {
    const key = `${service}:${operation}`;
    this.apiCalls[key] = (this.apiCalls[key] ?? 0) + 1;
    const simulator = this.simulators.get(service);
    const implementation = simulator?.operations[operation];
    if (!simulator || !implementation) {
      throw awsError('InvalidAction', `The simulated account does not implement ${service}:${operation}`);
    }
    const ctx = this.context(service, this.identityFor(auth.accessKeyId), auth.region ?? this.region);
    const targets = simulator.targetsOf?.(ctx, operation, input) ?? [];
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
