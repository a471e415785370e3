import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sample from '../../examples/sample.json' with { type: 'json' };
import type { MachineName } from '../core/catalogue.js';
import type { ExecutionRecord } from '../core/execution-record.js';
import { type DeploymentSpec, DeploymentSpecSchema } from '../core/spec/schema.js';
import { openLocalSession, runLocalExecution } from '../local/local-mode.js';

/**
 * The day-2 benchmark (issue 17): the operations a running deployment goes through, in local mode, one after the
 * other on one simulated account, from the sample's 4 Cassandra nodes and 4 daemons: resize Cassandra 4 to 16 to 4,
 * daemons 4 to 32 to 4, stop and start, images create, then a delete (images kept) and a restore from the images,
 * whose virtual time is compared with the fresh create's; then, on a second deployment whose Cassandra nodes hold
 * 100 GiB each, a resize 4 to 8, whose joins stream.
 */
export interface Day2Row {
  operation: string;
  status: string;
  virtualSeconds: number;
  historyEvents: number;
  stateTransitions: number;
  apiCalls: number;
  wallSeconds: number;
}

/** The data each Cassandra node holds in the last scenario (the simulator's `cassandraLoadGiB`). */
const LOADED_GIB = 100;

const specOf = (overrides: Partial<Record<keyof DeploymentSpec, unknown>>) =>
  DeploymentSpecSchema.parse({ ...sample, name: 'benchday2', ...overrides });

export async function measureDay2(): Promise<Day2Row[]> {
  const stateDir = '.capi-bench-day2';
  rmSync(stateDir, { recursive: true, force: true });
  const rows: Day2Row[] = [];
  const step = async (
    operation: string,
    machine: MachineName,
    spec: DeploymentSpec,
    dir = stateDir,
    cassandraLoadGiB?: number,
  ) => {
    const started = performance.now();
    const record: ExecutionRecord = await runLocalExecution(
      openLocalSession(dir, { writable: true, cassandraLoadGiB }),
      machine,
      spec,
    );
    rows.push({
      operation,
      status: record.status,
      virtualSeconds: record.metrics.virtualSeconds,
      historyEvents: record.metrics.historyEvents,
      stateTransitions: record.metrics.stateTransitions,
      apiCalls: record.metrics.apiCalls,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    });
    if (record.status !== 'SUCCEEDED') {
      console.error(`${operation}: ${record.status} ${JSON.stringify(record.failure)}`);
    }
  };
  const base = specOf({ cassandraNodes: 4, daemons: 4 });
  const eight = specOf({ cassandraNodes: 8, daemons: 4 });
  try {
    await step('create 4 + 4', 'create-deployment', base);
    await step('resize Cassandra 4 to 16', 'create-deployment', specOf({ cassandraNodes: 16 }));
    await step('resize Cassandra 16 to 4', 'create-deployment', base);
    await step('resize daemons 4 to 32', 'create-deployment', specOf({ daemons: 32 }));
    await step('resize daemons 32 to 4', 'create-deployment', base);
    await step('stop', 'stop-deployment', base);
    await step('start', 'start-deployment', base);
    await step('images create', 'images-create', base);
    await step('delete (images kept)', 'delete-deployment', base);
    await step('restore from images', 'create-deployment', specOf({ fromImages: base.name }));
    await step('delete', 'delete-deployment', base);
    await step('images delete', 'images-delete', base);
    // Streaming grows with the data: each new node takes half of a 100 GiB node's range at 24 MiB/s.
    const loaded = `${stateDir}-loaded`;
    rmSync(loaded, { recursive: true, force: true });
    await step('create 4 + 4, 100 GiB a Cassandra node', 'create-deployment', base, loaded, LOADED_GIB);
    await step('resize Cassandra 4 to 8 (100 GiB a node)', 'create-deployment', eight, loaded, LOADED_GIB);
    rmSync(loaded, { recursive: true, force: true });
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  return rows;
}

/** Restore must beat a fresh create in virtual time: the images carry the installed software. */
export function restoreFasterThanCreate(rows: Day2Row[]): boolean | null {
  const create = rows.find((row) => row.operation === 'create 4 + 4');
  const restore = rows.find((row) => row.operation === 'restore from images');
  if (!create || !restore || restore.status !== 'SUCCEEDED') return null;
  return restore.virtualSeconds < create.virtualSeconds;
}
