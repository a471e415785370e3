import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sample from '../../examples/sample.json' with { type: 'json' };
import { DeploymentSpecSchema } from '../core/spec/schema.js';
import { openLocalSession, runLocalExecution } from '../local/local-mode.js';
import { setVcpuQuota } from '../sim/services/quotas.js';
import { criticalPathSeconds } from './critical-path.js';

const BENCH_VCPU_QUOTA = 8192;

/**
 * `npm run bench`: creates and deletes a deployment in local mode for several cluster sizes and prints, per size,
 * what Step Functions would record (history events, state transitions), the AWS API calls, the virtual time of the
 * create, the critical path of the create from the simulator's latency model, and wall-clock time.
 */
const SIZES = (process.argv[2] ?? '4,16,64,128').split(',').map(Number);

interface Row {
  nodes: number;
  /** The create's outcome (a row is printed for a failed create too). */
  create: string;
  historyEvents: number;
  stateTransitions: number;
  apiCalls: number;
  virtualSeconds: number;
  criticalPath: number;
  ratio: string;
  deleteHistoryEvents: number;
  deleteVirtualSeconds: number;
  /** Durability: calls committed to the journal (create + delete) and their MiB. */
  commits: number;
  journalMiB: string;
  wallSeconds: string;
}

async function measure(size: number): Promise<Row> {
  const stateDir = `.capi-bench-${size}`;
  rmSync(stateDir, { recursive: true, force: true });
  const spec = DeploymentSpecSchema.parse({
    ...sample,
    name: `bench${size}`,
    cassandraNodes: size,
    daemons: size,
  });
  const started = performance.now();
  const session = openLocalSession(stateDir, { writable: true });
  // 500 + 500 nodes of the sample flavor need ~5000 vCPUs: bench an account whose quota was raised for it.
  setVcpuQuota(session.account, BENCH_VCPU_QUOTA);
  const create = await runLocalExecution(session, 'create-deployment', spec);
  const deletion = openLocalSession(stateDir, { writable: true });
  const removed = await runLocalExecution(deletion, 'delete-deployment', spec);
  const commits = session.account.committed.calls + deletion.account.committed.calls;
  const journalBytes = session.account.committed.bytes + deletion.account.committed.bytes;
  const wallSeconds = ((performance.now() - started) / 1000).toFixed(1);
  rmSync(stateDir, { recursive: true, force: true });
  if (create.status !== 'SUCCEEDED' || removed.status !== 'SUCCEEDED') {
    // Still a row: the figures of a run that failed late (the largest sizes) say what it cost until then.
    console.error(
      `size ${size}: create ${create.status}, delete ${removed.status}: ${JSON.stringify(create.failure ?? removed.failure)}`,
    );
  }
  const criticalPath = criticalPathSeconds();
  return {
    nodes: size,
    create: create.status,
    historyEvents: create.metrics.historyEvents,
    stateTransitions: create.metrics.stateTransitions,
    apiCalls: create.metrics.apiCalls,
    virtualSeconds: create.metrics.virtualSeconds,
    criticalPath,
    ratio: (create.metrics.virtualSeconds / criticalPath).toFixed(3),
    deleteHistoryEvents: removed.metrics.historyEvents,
    deleteVirtualSeconds: removed.metrics.virtualSeconds,
    commits,
    journalMiB: (journalBytes / 2 ** 20).toFixed(1),
    wallSeconds,
  };
}

const rows: Row[] = [];
for (const size of SIZES) rows.push(await measure(size));
console.log('cassandraNodes = daemons = N; figures of the create unless marked delete\n');
console.table(rows);
const growth = rows.length > 1 ? rows[rows.length - 1].historyEvents / rows[0].historyEvents - 1 : 0;
console.log(
  `history events grow ${(growth * 100).toFixed(1)}% from N=${rows[0].nodes} to N=${rows[rows.length - 1].nodes}`,
);
