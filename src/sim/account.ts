import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsError } from './aws-error.js';
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
  faults?: FaultRule[];
  seed?: number;
  accountId?: string;
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
  services: Record<string, unknown>;
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
  }

  /** Opens the account persisted in `stateDir` (or a fresh one). */
  static open(
    stateDir: string,
    simulators: ServiceSimulator[],
    options: AccountOptions = {},
  ): SimulatedAccount {
    const file = join(stateDir, 'account.json');
    const persisted = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as PersistedAccount)
      : undefined;
    return new SimulatedAccount(simulators, options, persisted);
  }

  /** Persists the account; `nowMs` is the virtual time the run ended at, so the next run starts after it. */
  save(stateDir: string, nowMs = Date.now()): void {
    mkdirSync(stateDir, { recursive: true });
    this.data.clock = Math.max(this.data.clock, nowMs);
    writeFileSync(join(stateDir, 'account.json'), `${JSON.stringify(this.data, null, 1)}\n`);
  }

  get accountId(): string {
    return this.data.accountId;
  }

  get region(): string {
    return this.data.region;
  }

  /** The virtual time a new run should start at: never before the last one ended. */
  get lastClock(): number {
    return this.data.clock;
  }

  /** A service's state slice, for cross-service reads (SSM reads EC2 instances) and for tests. */
  stateOf<S>(service: string): S {
    const state = this.data.services[service];
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

  private context<S>(service: string, caller: CallerIdentity): OperationContext<S> {
    return {
      state: this.stateOf<S>(service),
      account: this,
      caller,
      region: this.region,
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
    auth: { accessKeyId: string },
  ) {
    const key = `${service}:${operation}`;
    this.apiCalls[key] = (this.apiCalls[key] ?? 0) + 1;
    const simulator = this.simulators.get(service);
    const implementation = simulator?.operations[operation];
    if (!simulator || !implementation) {
      throw awsError('InvalidAction', `The simulated account does not implement ${service}:${operation}`);
    }
    const ctx = this.context(service, this.identityFor(auth.accessKeyId));
    const targets = simulator.targetsOf?.(ctx, operation, input) ?? [];
    const fault = this.faults.take({ service, operation, targets }, 'error');
    if (fault?.error) throw awsError(fault.error, faultMessage(fault.error, operation, targets));
    const output = await implementation(ctx, input);
    // Callers must never hold references into the account's state.
    return output === undefined ? {} : structuredClone(output);
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
