import { existsSync } from 'node:fs';
import { canonicalJson } from '../core/lifecycle.js';
import { holdsDeployment, inPlaceRefusals, type LiveNode, liveNodesOf } from '../core/resize.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { loadDeploymentSpec, localInventory, openLocalSession } from './local-mode.js';

/** A local deployment as it is: its spec when it exists, and its instances. */
export interface LocalExisting {
  previous: DeploymentSpec | null;
  live: LiveNode[];
}

/**
 * The local deployment of `spec`'s name: its stored spec while the simulated account still holds it. Nothing when
 * the state dir or the deployment is new, or when a delete removed it (its spec file stays, its resources do not).
 * A read: no faults, no writes; IAM evaluated unless `iam` is false, as status does.
 */
export async function localExisting(
  stateDir: string,
  spec: DeploymentSpec,
  iam = true,
): Promise<LocalExisting> {
  if (!existsSync(stateDir)) return { previous: null, live: [] };
  const stored = loadDeploymentSpec(stateDir, spec.name);
  if (!stored) return { previous: null, live: [] };
  const items = await localInventory(openLocalSession(stateDir, { iam }), stored);
  return holdsDeployment(items)
    ? { previous: stored, live: liveNodesOf(items, stored.name) }
    : { previous: null, live: [] };
}

/**
 * What refuses a local create of `spec` before it runs (the CLI's and the local console's): none for a new
 * deployment or the same spec (a resume); the account is read only when the spec changed.
 */
export async function localCreateRefusals(
  stateDir: string,
  spec: DeploymentSpec,
  iam = true,
): Promise<string[]> {
  if (!existsSync(stateDir)) return [];
  const stored = loadDeploymentSpec(stateDir, spec.name);
  if (!stored || canonicalJson(stored) === canonicalJson(spec)) return [];
  const { previous } = await localExisting(stateDir, spec, iam);
  return previous ? inPlaceRefusals(previous, spec) : [];
}
