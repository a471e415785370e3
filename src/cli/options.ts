import { loadFaultRules } from '../sim/faults.js';
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
  seed?: string;
}

/** Loads the --faults file of a local run (its problems are bad input). */
export function faultsOf(options: GlobalOptions) {
  if (!options.faults) return [];
  try {
    return loadFaultRules(options.faults);
  } catch (error) {
    throw new BadInput([(error as Error).message]);
  }
}
