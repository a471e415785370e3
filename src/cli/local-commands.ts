import { type MachineName, operationOf } from '../core/catalogue.js';
import { stopDataLoss } from '../core/day2.js';
import { parseCause } from '../core/errors.js';
import type { ExecutionRecord } from '../core/execution-record.js';
import type { InventoryItem } from '../core/inventory.js';
import { planDeployment } from '../core/spec/plan.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { estimateCost } from '../cost/estimate.js';
import {
  knownDeployments,
  type LocalSession,
  loadDeploymentSpec,
  loadExecution,
  localInventory,
  openLocalSession,
  runLocalExecution,
} from '../local/local-mode.js';
import { checkStateDir, lockStateDir } from '../local/store.js';
import { describeFailure } from '../report/format.js';
import { healthResults } from '../report/rows.js';
import { EXIT, faultsOf, type GlobalOptions } from './options.js';
import { costJson, costTable, listLine, progressPrinter, resourceTable, summaryLines } from './output.js';
import { BadInput, checkDeploymentName } from './spec-file.js';

const say = (line: string) => console.log(line);

export function session(
  options: GlobalOptions,
  writable = false,
  spec?: DeploymentSpec,
  faults = faultsOf(options, spec),
): LocalSession {
  return openLocalSession(options.stateDir, {
    faults,
    seed: options.seed === undefined ? undefined : Number(options.seed),
    writable,
    iam: options.iam !== false,
  });
}

/** The operations a local run can be: one per state machine. */
type Operation = 'create' | 'delete' | 'stop' | 'start' | 'images-create' | 'images-delete';

/** The `--json` object of create, delete, stop and start; its field names are a promise to scripts. */
export function runJson(
  record: ExecutionRecord,
  operation: Operation,
  resources: InventoryItem[],
  iamEvaluation: boolean,
) {
  return {
    deployment: record.deployment,
    operation,
    status: record.status,
    mode: record.mode,
    execution: record.execution,
    historyEvents: record.metrics.historyEvents,
    stateTransitions: record.metrics.stateTransitions,
    virtualSeconds: record.metrics.virtualSeconds,
    apiCalls: record.metrics.apiCalls,
    /** Whether every AWS call was authorized against the stack's IAM policies (off with --no-iam). */
    iamEvaluation,
    resources: resources.map(({ type, id, name, state }) => ({ type, id, name, state })),
    failure: record.failure,
  };
}

/** Exit codes of a run stopped by SIGINT or SIGTERM, as a shell reports them (128 + signal number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export async function runAndReport(
  options: GlobalOptions,
  machine: MachineName,
  spec: DeploymentSpec,
): Promise<void> {
  const operation = operationOf(machine) as Operation;
  // Bad fault rules are bad input: refused before the state dir is touched.
  const faults = faultsOf(options, spec);
  checkStateDir(options.stateDir, { create: true });
  const unlock = lockStateDir(options.stateDir, `${operation} ${spec.name}`);
  // A signal stops the run at its next state: the calls made so far are committed, the record says ABORTED.
  const interrupt = new AbortController();
  let signalled: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    signalled ??= signal;
    interrupt.abort();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const local = session(options, true, spec, faults);
    let startMs = 0;
    const printer = progressPrinter(say, () => startMs);
    if (!options.json) say(`${operation} ${spec.name} (local mode, state in ${options.stateDir})`);
    const record = await runLocalExecution(
      local,
      machine,
      spec,
      (step, phase) => {
        startMs ||= step.start;
        if (!options.json) printer(step, phase);
      },
      interrupt.signal,
    );
    local.account.close();
    if (signalled) {
      console.error(`interrupted by ${signalled}; run ${operation} again to resume`);
      process.exitCode = SIGNAL_EXIT[signalled];
      return;
    }
    await report(options, operation, spec, local, record);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    unlock();
  }
}

async function report(
  options: GlobalOptions,
  operation: Operation,
  spec: DeploymentSpec,
  local: LocalSession,
  record: ExecutionRecord,
): Promise<void> {
  const resources = await localInventory(local, spec).catch((error: Error) => {
    // SaaS mode: a customer the registry does not hold has no account to list; the run's failure says so.
    if (error.name !== 'UnknownCustomer') throw error;
    console.error(`resources not listed: ${parseCause(error.message)?.message ?? error.message}`);
    return [];
  });
  if (options.json) {
    say(JSON.stringify(runJson(record, operation, resources, local.account.iamEvaluation), null, 2));
  } else {
    for (const line of summaryLines(record)) say(line);
    if (record.failure) for (const line of describeFailure(record.failure)) say(line);
    say(operation === 'delete' ? 'still tagged:' : 'resources:');
    for (const line of resourceTable(resources)) say(line);
    if ((operation === 'create' || operation === 'start') && record.status === 'SUCCEEDED')
      for (const line of readyLines(record)) say(line);
  }
  process.exitCode = record.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
}

/** The end of a successful create: the health report of the cluster and where to reach it. */
function readyLines(record: ExecutionRecord): string[] {
  const health = healthResults(record.output).map(
    (result) => `  ${result.ok ? '✔' : '✖'} ${result.node}  ${result.text}`,
  );
  const address = (record.output as { bastionPublicIp?: string } | null)?.bastionPublicIp;
  const endpoints = address
    ? [
        `bastion ${address} (from allowedCidrs only): UI http://${address}/, webapi :6544, Prometheus :9090, RabbitMQ console :15672`,
      ]
    : [];
  return ['health checks:', ...health, ...endpoints];
}

export function specOf(options: GlobalOptions, name: string): DeploymentSpec {
  checkDeploymentName(name);
  checkStateDir(options.stateDir, { create: false });
  const spec = loadDeploymentSpec(options.stateDir, name);
  if (!spec) {
    const known = knownDeployments(options.stateDir);
    throw new BadInput([
      `no deployment named ${name} in ${options.stateDir}${known.length ? ` (known: ${known.join(', ')})` : ''}`,
    ]);
  }
  return spec;
}

/**
 * `delete <name> --with-images`: the images-delete machine first (deregister, delete snapshots), then the caller runs
 * delete-deployment. False (exit code 1, the failure printed) when the images could not all be deleted: the
 * deployment is then left as it was, and the same command resumes.
 */
async function deleteImagesFirst(options: GlobalOptions, spec: DeploymentSpec): Promise<boolean> {
  const faults = faultsOf(options, spec);
  checkStateDir(options.stateDir, { create: false });
  const unlock = lockStateDir(options.stateDir, `images delete ${spec.name}`);
  try {
    const local = session(options, true, spec, faults);
    if (!options.json) say(`images delete ${spec.name} (before the deployment: --with-images)`);
    const record = await runLocalExecution(local, 'images-delete', spec);
    local.account.close();
    if (record.status === 'SUCCEEDED') {
      if (!options.json) say(`images deleted: ${JSON.stringify(record.output)}`);
      return true;
    }
    if (options.json) {
      say(JSON.stringify(runJson(record, 'images-delete', [], local.account.iamEvaluation), null, 2));
    } else if (record.failure) {
      for (const line of describeFailure(record.failure)) say(line);
    }
    process.exitCode = EXIT.failed;
    return false;
  } finally {
    unlock();
  }
}

/** The latest operation run on a deployment (a resize is a create, a stop, an images create…), for list and status. */
function lastOperation(stateDir: string, deployment: string) {
  const record = loadExecution(stateDir, deployment);
  return record
    ? { operation: operationOf(record.machine), status: record.status, execution: record.execution }
    : null;
}

/** The commands of local mode: the same state machines and handlers, against the simulated account. */
export function localCommands() {
  return {
    /** A changed spec is refused before the run when it cannot be applied in place (src/core/resize.ts). */
    async create(spec: DeploymentSpec, options: GlobalOptions) {
      const { localCreateRefusals } = await import('../local/resize.js');
      const refusals = await localCreateRefusals(options.stateDir, spec, options.iam !== false);
      if (refusals.length > 0) throw new BadInput(refusals);
      return runAndReport(options, 'create-deployment', spec);
    },
    /** With `withImages`, the deployment's images and snapshots go first (images-delete); else they are kept. */
    async delete(name: string, options: GlobalOptions & { withImages?: boolean }) {
      const spec = specOf(options, name);
      if (options.withImages && !(await deleteImagesFirst(options, spec))) return;
      return runAndReport(options, 'delete-deployment', spec);
    },
    /** Stops services in order and the instances; refused without `force` when Cassandra data would be lost. */
    stop(name: string, options: GlobalOptions & { force?: boolean }) {
      const spec = specOf(options, name);
      const loss = stopDataLoss(planDeployment(spec));
      if (loss && !options.force) throw new BadInput([`stop refused: ${loss}`]);
      if (loss && !options.json) console.error(`warning: ${loss.replace(/, then stop with --force$/, '')}`);
      return runAndReport(options, 'stop-deployment', spec);
    },
    start: (name: string, options: GlobalOptions) =>
      runAndReport(options, 'start-deployment', specOf(options, name)),
    async list(options: GlobalOptions) {
      const local = session(options);
      const rows = [];
      for (const name of knownDeployments(options.stateDir)) {
        const spec = specOf(options, name);
        const estimate = estimateCost(await localInventory(local, spec), spec.region);
        const last = lastOperation(options.stateDir, name);
        rows.push({
          deployment: name,
          region: spec.region,
          resources: estimate.items.length,
          billed: estimate.items.filter((r) => r.billed).length,
          hourlyUsd: estimate.hourlyUsd,
          complete: estimate.complete,
          lastOperation: last,
          ...(last ? { state: `${last.operation} ${last.status.toLowerCase()}` } : {}),
        });
      }
      if (options.json) return say(JSON.stringify({ mode: 'local', deployments: rows }, null, 2));
      if (rows.length === 0) return say('no deployments');
      for (const row of rows) say(listLine(row));
    },
    async status(name: string, options: GlobalOptions) {
      const spec = specOf(options, name);
      const estimate = estimateCost(await localInventory(session(options, false, spec), spec), spec.region);
      const last = lastOperation(options.stateDir, name);
      if (options.json) {
        return say(
          JSON.stringify(
            { deployment: name, mode: 'local', lastOperation: last, ...costJson(estimate) },
            null,
            2,
          ),
        );
      }
      const billed = estimate.items.filter((item) => item.billed).length;
      const after = last ? `, last operation ${last.operation} ${last.status} (${last.execution})` : '';
      say(
        `${name}: ${estimate.items.length} resources, ${billed} billed${after} (local mode, state in ${options.stateDir})`,
      );
      for (const line of costTable(estimate)) say(line);
    },
  };
}
