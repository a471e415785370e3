import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { listResources } from '../../functions/inventory/inventory.js';
import { clientsFor } from '../../functions/shared/clients.js';
import type { MachineName } from '../core/catalogue.js';
import type { ExecutionRecord, StepRecord } from '../core/execution-record.js';
import type { InventoryItem } from '../core/inventory.js';
import { planDeployment } from '../core/spec/plan.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { loadDocuments } from '../provisioning/documents.js';
import type { SimulatedAccount } from '../sim/account.js';
import { runInVirtualTime } from '../sim/clock.js';
import type { FaultRule } from '../sim/faults.js';
import { openAccount } from '../sim/services/index.js';
import { executeMachine, preloadHandlers, useSimulatedAccount } from './engine.js';
import { HistoryRecorder } from './recorder.js';

export interface LocalSession {
  stateDir: string;
  account: SimulatedAccount;
}

/**
 * Opens the simulated account persisted in `stateDir`, with this run's fault rules. Only a session that runs an
 * execution is `writable` (its command holds the state dir's lock); the others read.
 */
export function openLocalSession(
  stateDir: string,
  options: { faults?: FaultRule[]; seed?: number; writable?: boolean } = {},
): LocalSession {
  const account = openAccount(stateDir, {
    documents: loadDocuments(),
    faults: options.faults,
    seed: options.seed,
    writable: options.writable,
  });
  return { stateDir, account };
}

const executionsDir = (stateDir: string) => join(stateDir, 'executions');
const deploymentsDir = (stateDir: string) => join(stateDir, 'deployments');

function executionName(machine: MachineName, deployment: string, startMs: number): string {
  const stamp = new Date(startMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${machine === 'create-deployment' ? 'create' : 'delete'}-${deployment}-${stamp}`;
}

/**
 * Runs a state machine locally under a virtual clock, persists the account, the execution record and
 * (for a create) the spec, so `delete <name>`, `history` and `report` work later from another process.
 */
export async function runLocalExecution(
  session: LocalSession,
  machine: MachineName,
  spec: DeploymentSpec,
  onStep?: (step: StepRecord, phase: 'start' | 'end') => void,
): Promise<ExecutionRecord> {
  const { account, stateDir } = session;
  useSimulatedAccount(account);
  const callsBefore = { ...account.apiCalls };
  const startMs = Math.max(Date.now(), account.lastClock + 1000);
  const recorder = new HistoryRecorder();
  const base = { execution: executionName(machine, spec.name, startMs), machine, deployment: spec.name };
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
  });
  if (machine === 'create-deployment') saveDeploymentSpec(stateDir, spec);
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
        output: await executeMachine(machine, spec, { account, recorder, onStep: step }),
      };
    } catch {
      return { ok: false as const, output: null };
    } finally {
      recorder.finish(Date.now());
    }
  });
  const failedStep = recorder.failedStep();
  const record: ExecutionRecord = {
    ...snapshot(outcome.endMs),
    status: outcome.result.ok ? 'SUCCEEDED' : 'FAILED',
    stopDate: outcome.endMs,
    output: outcome.result.output,
    failure: outcome.result.ok
      ? null
      : {
          state: failedStep?.name ?? null,
          error: recorder.executionError?.error ?? failedStep?.error ?? 'States.Runtime',
          cause: recorder.executionError?.cause ?? failedStep?.cause ?? '',
        },
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
  writeFileSync(join(deploymentsDir(stateDir), `${spec.name}.json`), `${JSON.stringify(spec, null, 2)}\n`);
}

/** The spec a deployment was last created with, so `delete <name>` needs only the name. */
export function loadDeploymentSpec(stateDir: string, name: string): DeploymentSpec | null {
  const file = join(deploymentsDir(stateDir), `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DeploymentSpec) : null;
}

/** Names of every deployment ever created in this state directory. */
export function knownDeployments(stateDir: string): string[] {
  const dir = deploymentsDir(stateDir);
  return existsSync(dir)
    ? readdirSync(dir)
        .map((file) => file.replace(/\.json$/, ''))
        .sort()
    : [];
}

function saveExecution(stateDir: string, record: ExecutionRecord): void {
  mkdirSync(executionsDir(stateDir), { recursive: true });
  writeFileSync(join(executionsDir(stateDir), `${record.execution}.json`), JSON.stringify(record));
}

/** An execution by its name, or the latest execution of a deployment by the deployment's name. */
export function loadExecution(stateDir: string, nameOrDeployment: string): ExecutionRecord | null {
  const dir = executionsDir(stateDir);
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  const exact = files.find((file) => file === `${nameOrDeployment}.json`);
  const stamp = (file: string) => file.slice(-'20261124T010203Z.json'.length);
  const ofDeployment = new RegExp(`^(create|delete)-${nameOrDeployment}-\\d{8}T\\d{6}Z\\.json$`);
  const latest = files
    .filter((file) => ofDeployment.test(file))
    .sort((a, b) => stamp(a).localeCompare(stamp(b)))
    .pop();
  const file = exact ?? latest;
  return file ? (JSON.parse(readFileSync(join(dir, file), 'utf8')) as ExecutionRecord) : null;
}

/** What a deployment owns in the simulated account right now. */
export async function localInventory(session: LocalSession, spec: DeploymentSpec): Promise<InventoryItem[]> {
  useSimulatedAccount(session.account);
  const clients = await clientsFor(spec.region, spec.assumeRole);
  // The account's timestamps are virtual: read it at its own last virtual time, not the wall clock.
  const { result } = await runInVirtualTime(Math.max(Date.now(), session.account.lastClock), () =>
    listResources({ plan: planDeployment(spec), clients }),
  );
  return result;
}
