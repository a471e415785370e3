import { PROVISIONING_DOCUMENTS } from '../core/documents.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { checkFaultRules, type FaultRule, faultTargets, loadFaultRules } from '../sim/faults.js';
import { createSimulators } from '../sim/services/index.js';
import { BadInput } from './spec-file.js';

/** Exit codes are part of the interface: scripts rely on them. */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

/** Where local mode keeps the simulated account unless --state-dir or CAPI_DEPLOY_STATE_DIR says otherwise. */
export const DEFAULT_STATE_DIR = '.capi-local';

/** Options shared by the commands that run or inspect deployments. */
export interface GlobalOptions {
  local?: boolean;
  stateDir: string;
  json?: boolean;
  faults?: string;
  /** An integer: main.ts refuses anything else. */
  seed?: number;
  /** Local mode: authorize every call against IAM (commander's `--no-iam` sets false). */
  iam?: boolean;
}

/** The simulated services' operation names, by service: what a fault rule's `operation` may name. */
export function simulatedOperations(): Record<string, string[]> {
  return Object.fromEntries(
    createSimulators({ documents: {} }).map((simulator) => [
      simulator.name,
      Object.keys(simulator.operations),
    ]),
  );
}

/**
 * Loads the --faults file of a local run and refuses a rule that can never match or has a field with no effect:
 * an operation the service does not have, a target no node or resource of `spec` can have (checked only when the
 * command has a spec), an unknown document. Each problem is one line of bad input.
 */
export function faultsOf(options: GlobalOptions, spec?: DeploymentSpec): FaultRule[] {
  if (!options.faults) return [];
  let rules: FaultRule[];
  try {
    rules = loadFaultRules(options.faults);
  } catch (error) {
    throw new BadInput([(error as Error).message]);
  }
  const problems = checkFaultRules(rules, {
    operations: simulatedOperations(),
    targets: spec ? faultTargets(spec) : undefined,
    documents: PROVISIONING_DOCUMENTS,
  });
  if (problems.length > 0) {
    throw new BadInput(
      problems.map(
        ({ rule, field, message }) => `faults file ${options.faults}: rule ${rule}, ${field}: ${message}`,
      ),
    );
  }
  return rules;
}
