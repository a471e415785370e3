import './no-xray-context.js';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { listResources } from '../../functions/inventory/inventory.js';
import { deploymentContext } from '../../functions/shared/context.js';
import { type MachineName, operationOf } from '../core/catalogue.js';
import {
  blamed,
  type ExecutionOwner,
  type ExecutionRecord,
  LOCAL_EXECUTION_NAME,
  type StepRecord,
} from '../core/execution-record.js';
import type { InventoryItem } from '../core/inventory.js';
import { isDeploymentName } from '../core/parameter-rules.js';
import { retryThrottled } from '../core/retry.js';
import { planDeployment } from '../core/spec/plan.js';
import { checkSpec, type DeploymentSpec } from '../core/spec/schema.js';
import { loadDocuments, provisioningDocsDir } from '../provisioning/documents.js';
import type { SimulatedAccount } from '../sim/account.js';
import { runInVirtualTime } from '../sim/clock.js';
import { describeFsError, readStateFile, StateFileProblem } from '../sim/durable.js';
import type { FaultRule } from '../sim/faults.js';
import { ensureInstanceBoundary } from '../sim/services/iam.js';
import { type OpenAccountOptions, openAccount } from '../sim/services/index.js';
import { executeMachine, preloadHandlers, useSimulatedAccount } from './engine.js';
import { HistoryRecorder } from './recorder.js';
import { checkStateDir, isAlive, writeStateFile } from './store.js';

export interface LocalSession {
  stateDir: string;
  account: SimulatedAccount;
}

export interface LocalSessionOptions {
  faults?: FaultRule[];
  seed?: number;
  writable?: boolean;
  /** Authorize every call against IAM (default true; the CLI's `--no-iam` turns it off). */
  iam?: boolean;
  /** Grants taken out of workflow roles (tests). */
  withoutGrants?: OpenAccountOptions['withoutGrants'];
  /** Data per Cassandra node after a fresh configure, in GiB (see AccountOptions.cassandraLoadGiB). */
  cassandraLoadGiB?: number;
}

/**
 * Opens the simulated account persisted in `stateDir`, with this run's fault rules. Only a session that runs an
 * execution is `writable` (its command holds the state dir's lock); the others read.
 */
export function openLocalSession(stateDir: string, options: LocalSessionOptions = {}): LocalSession {
  checkStateDir(stateDir, { create: options.writable ?? false });
  const account = openAccount(stateDir, {
    documents: provisioningDocuments(),
    faults: options.faults,
    seed: options.seed,
    writable: options.writable,
    iam: options.iam,
    withoutGrants: options.withoutGrants,
    cassandraLoadGiB: options.cassandraLoadGiB,
    // The simulated stack's region, where the provisioning documents exist: us-east-1 unless set.
    stackRegion: process.env.CAPI_DEPLOY_STACK_REGION || undefined,
  });
  // State dirs made before instance roles got their permissions boundary lack the boundary policy.
  if (options.writable) ensureInstanceBoundary(account);
  return { stateDir, account };
}

/**
 * The provisioning documents, parsed once per version of their files: parsing (YAML, schema, scripts inlined) is
 * tens of ms and every session needs them. The version is each file's path, size and mtime; a file changed since
 * is read again. Each session gets its own copy, so nothing it does reaches another.
 */
let parsedDocuments: { version: string; documents: ReturnType<typeof loadDocuments> } | undefined;

function provisioningDocuments(): ReturnType<typeof loadDocuments> {
  const version = filesVersion(provisioningDocsDir());
  if (parsedDocuments?.version !== version) parsedDocuments = { version, documents: loadDocuments() };
  return structuredClone(parsedDocuments.documents);
}

function filesVersion(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((file) => {
      const stat = statSync(join(dir, file));
      return `${file} ${stat.size} ${stat.mtimeMs}`;
    })
    .join('\n');
}

const executionsDir = (stateDir: string) => join(stateDir, 'executions');
const deploymentsDir = (stateDir: string) => join(stateDir, 'deployments');

/** `create-sample-20261124T010203Z`, with `-2`, `-3`... when a run of the same second exists: names are unique. */
function executionName(stateDir: string, machine: MachineName, deployment: string, startMs: number): string {
  const stamp = new Date(startMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const base = `${operationOf(machine)}-${deployment}-${stamp}`;
  let name = base;
  for (let n = 2; existsSync(join(executionsDir(stateDir), `${name}.json`)); n++) name = `${base}-${n}`;
  return name;
}

/** Real wall-clock time: `Date` is virtual while a run goes, `performance` is not. */
const wallClock = () => Math.round(performance.timeOrigin + performance.now());

const owner = (): ExecutionOwner => ({ pid: process.pid, host: hostname(), heartbeat: wallClock() });

/**
 * Runs a state machine locally under a virtual clock, persists the account, the execution record and
 * (for a create) the spec, so `delete <name>`, `history` and `report` work later from another process.
 */
export async function runLocalExecution(
  session: LocalSession,
  machine: MachineName,
  spec: DeploymentSpec,
  onStep?: (step: StepRecord, phase: 'start' | 'end') => void,
  signal?: AbortSignal,
): Promise<ExecutionRecord> {
  const { account, stateDir } = session;
  useSimulatedAccount(account);
  const callsBefore = { ...account.apiCalls };
  const startMs = Math.max(Date.now(), account.lastClock + 1000);
  const recorder = new HistoryRecorder();
  const execution = executionName(stateDir, machine, spec.name, startMs);
  const base = { execution, machine, deployment: spec.name };
  const snapshot = (nowMs: number): ExecutionRecord => ({
    ...base,
    mode: 'local',
    status: 'RUNNING',
    startDate: startMs,
    stopDate: null,
    output: null,
    failure: null,
    steps: recorder.steps,
    metrics: metricsOf(recorder, account.apiCalls, callsBefore, nowMs - startMs),
    owner: owner(),
  });
  if (machine === 'create-deployment') saveDeploymentSpec(stateDir, spec);
  saveExecution(stateDir, snapshot(startMs));
  await preloadHandlers();
  // A RUNNING record, rewritten at most every 200 ms of wall time, lets `watch` follow the run from another shell.
  let savedAt = 0;
  const step = (record: StepRecord, phase: 'start' | 'end') => {
    onStep?.(record, phase);
    if (performance.now() - savedAt < 200) return;
    savedAt = performance.now();
    saveExecution(stateDir, snapshot(Date.now()));
  };
  const outcome = await runInVirtualTime(startMs, async () => {
    try {
      return {
        ok: true as const,
        output: await executeMachine(machine, spec, {
          account,
          recorder,
          onStep: step,
          signal,
          name: execution,
        }),
      };
    } catch {
      return { ok: false as const, output: null };
    } finally {
      recorder.finish(Date.now());
    }
  });
  const failedStep = recorder.failedStep();
  const aborted = signal?.aborted === true;
  const record: ExecutionRecord = {
    ...snapshot(outcome.endMs),
    status: outcome.result.ok ? 'SUCCEEDED' : aborted ? 'ABORTED' : 'FAILED',
    stopDate: outcome.endMs,
    output: outcome.result.output,
    failure:
      outcome.result.ok || aborted
        ? null
        : blamed(recorder.steps, {
            state: failedStep?.name ?? null,
            error: recorder.executionError?.error ?? failedStep?.error ?? 'States.Runtime',
            cause: recorder.executionError?.cause ?? failedStep?.cause ?? '',
          }),
  };
  account.save(stateDir, outcome.endMs);
  saveExecution(stateDir, record);
  return record;
}

/** What the run cost so far: history events and transitions as Step Functions counts them, and this run's calls. */
function metricsOf(
  recorder: HistoryRecorder,
  calls: Record<string, number>,
  callsBefore: Record<string, number>,
  elapsedMs: number,
): ExecutionRecord['metrics'] {
  const apiCallsByOperation = Object.fromEntries(
    Object.entries(calls)
      .map(([operation, count]) => [operation, count - (callsBefore[operation] ?? 0)] as const)
      .filter(([, count]) => count > 0),
  );
  return {
    historyEvents: recorder.historyEvents,
    stateTransitions: recorder.stateTransitions,
    virtualSeconds: Math.round(elapsedMs / 1000),
    apiCalls: Object.values(apiCallsByOperation).reduce((sum, count) => sum + count, 0),
    apiCallsByOperation,
  };
}

function saveDeploymentSpec(stateDir: string, spec: DeploymentSpec): void {
  mkdirSync(deploymentsDir(stateDir), { recursive: true });
  writeStateFile(join(deploymentsDir(stateDir), `${spec.name}.json`), spec);
}

/** The spec a deployment was last created with, so `delete <name>` needs only the name; checked like a new one. */
export function loadDeploymentSpec(stateDir: string, name: string): DeploymentSpec | null {
  if (!isDeploymentName(name)) return null;
  const file = join(deploymentsDir(stateDir), `${name}.json`);
  const stored = readStateFile<unknown>(file, () => null);
  if (stored === undefined) return null;
  const { spec, problems } = checkSpec(stored);
  if (!spec) {
    throw new StateFileProblem(
      `${file}: not a valid deployment spec (${problems[0]?.field}: ${problems[0]?.message})`,
    );
  }
  return spec;
}

/** Names of every deployment ever created in this state directory (files that are not specs are ignored). */
export function knownDeployments(stateDir: string): string[] {
  return listDir(deploymentsDir(stateDir))
    .filter((file) => file.endsWith('.json') && isDeploymentName(file.slice(0, -5)))
    .map((file) => file.slice(0, -5))
    .sort();
}

function listDir(dir: string): string[] {
  try {
    return existsSync(dir) ? readdirSync(dir) : [];
  } catch (error) {
    throw new StateFileProblem(`${dir}: cannot list: ${describeFsError(error)}`);
  }
}

function saveExecution(stateDir: string, record: ExecutionRecord): void {
  mkdirSync(executionsDir(stateDir), { recursive: true });
  writeStateFile(join(executionsDir(stateDir), `${record.execution}.json`), record);
}

const STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED']);

function recordProblem(value: unknown): string | null {
  const record = value as Partial<ExecutionRecord> | null;
  if (!record || typeof record !== 'object') return 'not an execution record';
  if (typeof record.execution !== 'string' || typeof record.deployment !== 'string') {
    return 'execution or deployment is missing';
  }
  if (!STATUSES.has(record.status as string)) return `status ${JSON.stringify(record.status)} is not known`;
  if (!Array.isArray(record.steps) || !record.metrics || typeof record.startDate !== 'number') {
    return 'steps, metrics or startDate is missing';
  }
  return null;
}

/** A RUNNING record whose process is gone is ABORTED: nothing will ever finish it. */
function withLiveness(record: ExecutionRecord): ExecutionRecord {
  if (record.status !== 'RUNNING' || !record.owner || isAlive(record.owner)) return record;
  return { ...record, status: 'ABORTED' };
}

/** The parts of an execution record's file name, or null for a stray file. */
const executionFileName = (file: string) =>
  file.endsWith('.json') ? LOCAL_EXECUTION_NAME.exec(file.slice(0, -'.json'.length)) : null;

/** An execution by its name, or the latest execution of a deployment by the deployment's name. */
export function loadExecution(stateDir: string, nameOrDeployment: string): ExecutionRecord | null {
  const files = listDir(executionsDir(stateDir)).filter((file) => executionFileName(file));
  const order = (file: string) => {
    const [, , , stamp, n] = executionFileName(file)!;
    return `${stamp}-${(n ?? '1').padStart(6, '0')}`;
  };
  const latest = files
    .filter((file) => executionFileName(file)![2] === nameOrDeployment)
    .sort((a, b) => order(a).localeCompare(order(b)))
    .pop();
  const file = files.find((candidate) => candidate === `${nameOrDeployment}.json`) ?? latest;
  if (!file) return null;
  const record = readStateFile<ExecutionRecord>(join(executionsDir(stateDir), file), recordProblem);
  return record ? withLiveness(record) : null;
}

/** What a deployment owns in the simulated account right now. */
export async function localInventory(session: LocalSession, spec: DeploymentSpec): Promise<InventoryItem[]> {
  useSimulatedAccount(session.account);
  // As the handlers do: SaaS mode reads the customer's role and external id from the registry.
  const { clients } = await deploymentContext(spec);
  // The account's timestamps are virtual: read it at its own last virtual time, not the wall clock.
  // Throttling is retried as the workflow's steps retry it (src/core/retry.ts), in virtual time.
  const { result } = await runInVirtualTime(Math.max(Date.now(), session.account.lastClock), () =>
    retryThrottled(() => listResources({ plan: planDeployment(spec), clients })),
  );
  return result;
}
