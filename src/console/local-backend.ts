import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MachineName } from '../core/catalogue.js';
import { type ExecutionRecord, LOCAL_EXECUTION_NAME } from '../core/execution-record.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { type CostEstimate, estimateCost } from '../cost/estimate.js';
import {
  knownDeployments,
  type LocalSession,
  type LocalSessionOptions,
  loadDeploymentSpec,
  loadExecution,
  localInventory,
  openLocalSession,
  runLocalExecution,
} from '../local/local-mode.js';
import { localCreateRefusals } from '../local/resize.js';
import { checkStateDir, lockStateDir } from '../local/store.js';
import {
  type ConsoleBackend,
  ConsoleRefusal,
  type DeploymentDetail,
  type DeploymentRow,
  type ExecutionItem,
  type Started,
} from './backend.js';

/**
 * The console in local mode: the state dir's records and specs, the simulated account's inventory and cost, and
 * runs in this process. A run takes the state dir's lock as `capi-deploy create` does (so a concurrent CLI create
 * is refused, and the console's is refused while the CLI runs), and a stop aborts it at its next state as SIGINT
 * does. One run at a time: the engine and the virtual clock are the process's.
 */
/** A fault rule of `--faults` (src/sim/faults.ts), as a session takes it. */
type FaultRule = NonNullable<LocalSessionOptions['faults']>[number];

interface LocalBackendOptions {
  stateDir: string;
  /** Reads and validates a spec text as `validate` does; throws an error with `problems` (one line each). */
  checkSpec(text: string, fileName: string): DeploymentSpec;
  /** The fault rules of a run (`--faults`), checked against the spec; throws an error with `problems`. */
  faultsFor?(spec: DeploymentSpec): FaultRule[];
  seed?: number;
  /** @default true */
  iam?: boolean;
}

interface ActiveRun {
  deployment: string;
  execution: string;
  stop: AbortController;
  done: Promise<void>;
}

const problemsOf = (error: unknown): string[] | null => {
  const problems = (error as { problems?: unknown }).problems;
  return Array.isArray(problems) ? problems.map(String) : null;
};

function localBackend(options: LocalBackendOptions): ConsoleBackend {
  const { stateDir } = options;
  const listeners: ((deployment: string, execution: string) => void)[] = [];
  const costs = new Map<string, CostEstimate>();
  const records = new Map<string, { mtimeMs: number; item: ExecutionItem }>();
  let active: ActiveRun | null = null;
  const emit = (deployment: string, execution: string) => {
    for (const listener of listeners) listener(deployment, execution);
  };

  /** Resources and cost now; while a run of this process goes on, the last listing (the account is busy). */
  const costOf = async (spec: DeploymentSpec): Promise<{ cost: CostEstimate | null; note?: string }> => {
    if (active) {
      const cached = costs.get(spec.name) ?? null;
      return { cost: cached, note: 'resources as listed before the current run; listed again when it ends' };
    }
    try {
      const session = openLocalSession(stateDir, { iam: options.iam });
      const cost = estimateCost(await localInventory(session, spec), spec.region);
      costs.set(spec.name, cost);
      return { cost };
    } catch (error) {
      return {
        cost: costs.get(spec.name) ?? null,
        note: `resources not listed: ${(error as Error).message}`,
      };
    }
  };

  const executionsDir = join(stateDir, 'executions');
  const executionsOf = (deployment: string): ExecutionItem[] => {
    const files = existsSync(executionsDir) ? readdirSync(executionsDir) : [];
    const items: { order: string; item: ExecutionItem }[] = [];
    for (const file of files) {
      const match = file.endsWith('.json') ? LOCAL_EXECUTION_NAME.exec(file.slice(0, -5)) : null;
      if (!match || match[2] !== deployment) continue;
      const name = file.slice(0, -5);
      const mtimeMs = statSync(join(executionsDir, file), { throwIfNoEntry: false })?.mtimeMs ?? 0;
      let cached = records.get(name);
      // A record is read again only when its file changed: a 25,000-event history is parsed once.
      if (!cached || cached.mtimeMs !== mtimeMs || cached.item.status === 'RUNNING') {
        const record = loadExecution(stateDir, name);
        if (!record) continue;
        cached = { mtimeMs, item: itemOf(record) };
        records.set(name, cached);
      }
      items.push({ order: `${match[3]}-${(match[4] ?? '1').padStart(6, '0')}`, item: cached.item });
    }
    return items.sort((a, b) => b.order.localeCompare(a.order)).map(({ item }) => item);
  };

  const rowOf = async (name: string): Promise<{ row: DeploymentRow; cost: CostEstimate | null }> => {
    const spec = loadDeploymentSpec(stateDir, name);
    const latest = executionsOf(name)[0] ?? null;
    const { cost, note } = spec ? await costOf(spec) : { cost: null, note: 'no spec in the state dir' };
    return {
      cost,
      row: {
        deployment: name,
        region: spec?.region ?? null,
        operation: latest?.operation ?? null,
        status: latest?.status ?? null,
        execution: latest?.execution ?? null,
        resources: cost ? cost.items.length : null,
        billed: cost ? cost.items.filter((item) => item.billed).length : null,
        hourlyUsd: cost ? cost.hourlyUsd : null,
        ...(note ? { note } : {}),
      },
    };
  };

  const start = (machine: MachineName, spec: DeploymentSpec): Started => {
    if (active) {
      throw new ConsoleRefusal(409, [
        `${active.execution} is running in this console; wait until it ends, or stop it`,
      ]);
    }
    let faults: FaultRule[] = [];
    try {
      faults = options.faultsFor?.(spec) ?? [];
      checkStateDir(stateDir, { create: true });
    } catch (error) {
      throw new ConsoleRefusal(400, problemsOf(error) ?? [(error as Error).message]);
    }
    const operation = machine === 'create-deployment' ? 'create' : 'delete';
    let unlock: () => void;
    try {
      unlock = lockStateDir(stateDir, `${operation} ${spec.name} (console, pid ${process.pid})`);
    } catch (error) {
      throw new ConsoleRefusal(409, [(error as Error).message]);
    }
    let session: LocalSession;
    try {
      session = openLocalSession(stateDir, { faults, seed: options.seed, writable: true, iam: options.iam });
    } catch (error) {
      unlock();
      throw new ConsoleRefusal(409, [(error as Error).message]);
    }
    const stop = new AbortController();
    let lastEmit = 0;
    let execution = '';
    const running = runLocalExecution(
      session,
      machine,
      spec,
      () => {
        // Wall time: Date is virtual while the run goes.
        if (performance.now() - lastEmit < 100) return;
        lastEmit = performance.now();
        emit(spec.name, execution);
      },
      stop.signal,
    );
    // The run writes its RUNNING record before its first await: the deployment's latest execution is this one.
    execution = loadExecution(stateDir, spec.name)?.execution ?? '';
    const done = running
      .then(
        () => undefined,
        (error: Error) =>
          console.error(`console: ${operation} ${spec.name} ended with an error: ${error.message}`),
      )
      .finally(() => {
        session.account.close();
        unlock();
        active = null;
        emit(spec.name, execution);
      });
    active = { deployment: spec.name, execution, stop, done };
    emit(spec.name, execution);
    return { execution, message: `${operation} ${spec.name} started (execution ${execution})` };
  };

  const storedSpec = (name: string): DeploymentSpec => {
    const spec = knownDeployments(stateDir).includes(name) ? loadDeploymentSpec(stateDir, name) : null;
    if (!spec) throw new ConsoleRefusal(404, [`no deployment named ${name} in ${stateDir}`]);
    return spec;
  };

  return {
    mode: 'local',
    canChange: true,
    canStop: true,
    where: `state dir ${stateDir}`,
    async deployments() {
      checkStateDir(stateDir, { create: false });
      const rows: DeploymentRow[] = [];
      for (const name of knownDeployments(stateDir)) rows.push((await rowOf(name)).row);
      return rows;
    },
    async deployment(name): Promise<DeploymentDetail | null> {
      if (!knownDeployments(stateDir).includes(name)) return null;
      const { row, cost } = await rowOf(name);
      return { row, cost, executions: executionsOf(name) };
    },
    async execution(name) {
      return loadExecution(stateDir, name);
    },
    async create(specText, fileName) {
      let spec: DeploymentSpec;
      try {
        spec = options.checkSpec(specText, fileName);
      } catch (error) {
        throw new ConsoleRefusal(400, problemsOf(error) ?? [(error as Error).message]);
      }
      // A changed spec that cannot be applied in place (src/core/resize.ts) is refused before the run, as by the CLI.
      const refusals = await localCreateRefusals(stateDir, spec, options.iam !== false);
      if (refusals.length > 0) throw new ConsoleRefusal(400, refusals);
      return start('create-deployment', spec);
    },
    async resume(name) {
      return start('create-deployment', storedSpec(name));
    },
    async delete(name) {
      return start('delete-deployment', storedSpec(name));
    },
    async stop(execution) {
      if (!active || active.execution !== execution) {
        throw new ConsoleRefusal(409, [
          `${execution} is not running in this console (a run of the CLI is stopped with Ctrl-C in its shell)`,
        ]);
      }
      active.stop.abort();
      await active.done;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {
      active?.stop.abort();
      await active?.done;
    },
  };
}

function itemOf(record: ExecutionRecord): ExecutionItem {
  return {
    execution: record.execution,
    operation: record.machine.endsWith('delete-deployment') ? 'delete' : 'create',
    status: record.status,
    startDate: record.startDate,
    stopDate: record.stopDate,
  };
}

export type { LocalBackendOptions };
export { itemOf, localBackend };
