import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sample from '../../examples/sample.json' with { type: 'json' };
import type { MachineName } from '../../src/core/catalogue.js';
import type { ExecutionRecord } from '../../src/core/execution-record.js';
import { type DeploymentSpec, DeploymentSpecSchema } from '../../src/core/spec/schema.js';
import { localInventory, openLocalSession, runLocalExecution } from '../../src/local/local-mode.js';
import type { SimulatedAccount } from '../../src/sim/account.js';
import type { FaultRule } from '../../src/sim/faults.js';

export const sampleSpec: DeploymentSpec = DeploymentSpecSchema.parse(sample);
export const specWith = (overrides: Partial<Record<keyof DeploymentSpec, unknown>>) =>
  DeploymentSpecSchema.parse({ ...sample, ...overrides });

/** A throwaway simulated account directory. */
export const newStateDir = () => mkdtempSync(join(tmpdir(), 'capi-e2e-'));

/** Faults as the CLI would parse them (times defaults to 1). */
export const faults = (rules: Partial<FaultRule>[]) =>
  rules.map((rule) => ({ times: 1, ...rule }) as FaultRule);

/** Runs one machine in local mode against the account persisted in `stateDir`, with this run's faults. */
export async function run(
  stateDir: string,
  machine: MachineName,
  spec: DeploymentSpec = sampleSpec,
  rules: Partial<FaultRule>[] = [],
  seed?: number,
  prepare?: (account: SimulatedAccount) => void,
): Promise<ExecutionRecord> {
  const session = openLocalSession(stateDir, { faults: faults(rules), seed, writable: true });
  prepare?.(session.account);
  return runLocalExecution(session, machine, spec);
}

/** A copy of a simulated account, to take two different paths from the same state. */
export function forkStateDir(stateDir: string): string {
  const copy = newStateDir();
  cpSync(stateDir, copy, { recursive: true });
  return copy;
}

export async function inventory(stateDir: string, spec: DeploymentSpec = sampleSpec) {
  return localInventory(openLocalSession(stateDir), spec);
}

/** Resource counts by type: what "same result" means when two runs are compared. */
export async function resourceCounts(stateDir: string, spec: DeploymentSpec = sampleSpec) {
  const counts: Record<string, number> = {};
  for (const item of await inventory(stateDir, spec)) counts[item.type] = (counts[item.type] ?? 0) + 1;
  return counts;
}

/** Operations that create something: a converged re-run must call none of them. */
export const creations = (record: ExecutionRecord) =>
  Object.entries(record.metrics.apiCallsByOperation)
    .filter(([operation]) => /:(Create|Allocate|RunInstances|Attach|Associate|Put|Add)/.test(operation))
    .filter(([operation]) => !operation.endsWith('CreateTags'));
