import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sample from '../../examples/sample.json' with { type: 'json' };
import { DeploymentSpecSchema } from '../core/spec/schema.js';
import { resetLambdaRuns, worstLambdaRun } from '../local/engine.js';
import { openLocalSession, runLocalExecution } from '../local/local-mode.js';
import type { FaultRule } from '../sim/faults.js';
import { setVcpuQuota } from '../sim/services/quotas.js';
import { runCapideployBaseline } from './capideploy-baseline.js';
import { criticalPathSeconds } from './critical-path.js';
import { type Day2Row, measureDay2, restoreFasterThanCreate } from './day2.js';

const BENCH_VCPU_QUOTA = 16_384;

/**
 * `npm run bench [-- --json] [-- --sizes 4,16] [-- --throttle 0.3]`: for each size N (N Cassandra nodes AND N
 * daemons, plus bastion, RabbitMQ and Prometheus: 2N + 3 instances; 1,000 is the spec's maximum), creates and
 * deletes a deployment in local mode and drives capideploy's own deployment_create order over the same simulator
 * (capideploy-baseline.ts), then prints one row per size. Each size runs in its own process, so its wall time and
 * peak memory are its own. Then (text output) the day-2 scenario of day2.ts: resizes, stop and start, images and a
 * restore; `--day2` runs only that scenario (with `--json`, its rows as a JSON array; `--json` alone prints the sizes'
 * rows as before).
 */
export interface BenchRow {
  /** N: Cassandra nodes = daemons (2N + 3 instances). */
  size: number;
  create: string;
  historyEvents: number;
  stateTransitions: number;
  apiCalls: number;
  /** EC2 calls refused by the token buckets (RequestLimitExceeded), create + delete. */
  throttled: number;
  virtualSeconds: number;
  criticalPathSeconds: number;
  ratio: number;
  capideploySeconds: number;
  ratioToCapideploy: number;
  /** Longest Lambda run (create or delete) over its function's timeout. */
  lambdaHeadroom: number;
  lambdaHeadroomFunction: string;
  deleteHistoryEvents: number;
  deleteVirtualSeconds: number;
  wallSeconds: number;
  peakRssMiB: number;
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};

async function measure(size: number, throttleProbability: number): Promise<BenchRow> {
  const stateDir = `.capi-bench-${size}`;
  rmSync(stateDir, { recursive: true, force: true });
  const spec = DeploymentSpecSchema.parse({
    ...sample,
    name: `bench${size}`,
    cassandraNodes: size,
    daemons: size,
  });
  const faults: FaultRule[] =
    throttleProbability > 0
      ? [
          {
            service: 'EC2',
            operation: '*',
            error: 'RequestLimitExceeded',
            probability: throttleProbability,
            times: -1,
          } as FaultRule,
        ]
      : [];
  const started = performance.now();
  resetLambdaRuns();
  const session = openLocalSession(stateDir, { writable: true, faults });
  // 1,000 + 1,000 nodes of the sample flavor need ~10,000 vCPUs: bench an account whose quota was raised for it.
  setVcpuQuota(session.account, BENCH_VCPU_QUOTA);
  const create = await runLocalExecution(session, 'create-deployment', spec);
  const deletion = openLocalSession(stateDir, { writable: true, faults });
  const removed = await runLocalExecution(deletion, 'delete-deployment', spec);
  const worst = worstLambdaRun();
  const throttled = session.account.throttle.totalThrottled + deletion.account.throttle.totalThrottled;
  const wallSeconds = (performance.now() - started) / 1000;
  // The local run's peak, before the baseline (which runs in this process too) adds its own.
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  rmSync(stateDir, { recursive: true, force: true });
  if (create.status !== 'SUCCEEDED' || removed.status !== 'SUCCEEDED') {
    console.error(
      `size ${size}: create ${create.status}, delete ${removed.status}: ${JSON.stringify(create.failure ?? removed.failure)}`,
    );
  }
  const baseline = await runCapideployBaseline(spec, { faults });
  const critical = criticalPathSeconds(size);
  const virtualSeconds = create.metrics.virtualSeconds;
  return {
    size,
    create: create.status,
    historyEvents: create.metrics.historyEvents,
    stateTransitions: create.metrics.stateTransitions,
    apiCalls: create.metrics.apiCalls,
    throttled,
    virtualSeconds,
    criticalPathSeconds: Math.round(critical),
    ratio: round3(virtualSeconds / critical),
    capideploySeconds: Math.round(baseline.virtualSeconds),
    ratioToCapideploy: round3(virtualSeconds / baseline.virtualSeconds),
    lambdaHeadroom: round3(worst?.fractionOfTimeout ?? 0),
    lambdaHeadroomFunction: worst ? `${worst.fn} ${worst.seconds.toFixed(1)} s` : '',
    deleteHistoryEvents: removed.metrics.historyEvents,
    deleteVirtualSeconds: removed.metrics.virtualSeconds,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    peakRssMiB,
  };
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

const sizeArg = option('--size');
const throttle = Number(option('--throttle') ?? '0');
const json = args.includes('--json');

/** Runs this script again in a child process with `extra` arguments; its last stdout line parsed as JSON. */
function child<T>(extra: string[], what: string): T | undefined {
  const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status !== 0 || !(line.startsWith('{') || line.startsWith('['))) {
    console.error(`${what}: the benchmark process failed (exit ${run.status})`);
    process.exitCode = 1;
    return undefined;
  }
  return JSON.parse(line) as T;
}

function printDay2(rows: Day2Row[]): void {
  if (rows.some((row) => row.status !== 'SUCCEEDED')) process.exitCode = 1;
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(
    '\nday-2 operations on one deployment (sample flavor, from 4 Cassandra nodes and 4 daemons), in order:\n',
  );
  console.table(rows);
  const faster = restoreFasterThanCreate(rows);
  console.log(
    faster === null
      ? 'restore from images did not succeed'
      : `restore from images ${faster ? 'took less' : 'did NOT take less'} virtual time than the fresh create`,
  );
}

if (args.includes('--day2-child')) {
  process.stdout.write(`${JSON.stringify(await measureDay2())}\n`);
} else if (sizeArg) {
  // A child: one size, one JSON row on stdout.
  const row = await measure(Number(sizeArg), throttle);
  process.stdout.write(`${JSON.stringify(row)}\n`);
} else if (args.includes('--day2')) {
  const rows = child<Day2Row[]>(['--day2-child'], 'day-2');
  if (rows) printDay2(rows);
} else {
  const sizes = (option('--sizes') ?? '4,16,64,128,1000').split(',').map(Number);
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const row = child<BenchRow>(['--size', String(size), '--throttle', String(throttle)], `size ${size}`);
    if (!row) continue;
    rows.push(row);
    if (!json) console.error(`size ${size} done`);
  }
  if (json) {
    const fields = [
      'size',
      'historyEvents',
      'stateTransitions',
      'apiCalls',
      'virtualSeconds',
      'criticalPathSeconds',
      'capideploySeconds',
      'ratioToCapideploy',
      'lambdaHeadroom',
      'wallSeconds',
      'peakRssMiB',
    ] as const;
    const picked = rows.map((row) => ({
      ...Object.fromEntries(fields.map((field) => [field, row[field]])),
      ratio: row.ratio,
      create: row.create,
      throttled: row.throttled,
    }));
    console.log(JSON.stringify(picked, null, 2));
  } else {
    console.log(
      'size N = N Cassandra nodes and N daemons (2N + 3 instances); figures of the create unless marked delete; ' +
        'lambda headroom = longest Lambda run (create or delete) / its timeout\n',
    );
    console.table(rows);
    const day2 = child<Day2Row[]>(['--day2-child'], 'day-2');
    if (day2) printDay2(day2);
  }
}
