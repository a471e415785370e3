import type { Command } from 'commander';
import { inPlaceRefusals, type LiveNode, liveNodesOf, type ResizePlan, resizePlan } from '../core/resize.js';
import { planDeployment } from '../core/spec/plan.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { type AwsDeps, type AwsOptions, machinesOf } from './aws-commands.js';
import { EXIT, type GlobalOptions } from './options.js';
import { readSpecFile } from './spec-file.js';

/**
 * `capi-deploy plan <spec>` (issue 17): what creating this spec would do to the deployment of the same name, both
 * modes, without changing anything: the previous spec (local: the state dir's; AWS: the latest create's input) and
 * the live instances (the inventory `status` reads) give {@link resizePlan} (launch, join, cleanup, drain,
 * decommission, terminate, reconfigure) and {@link inPlaceRefusals}. Refusals make the exit code 2, as `create` of the
 * same spec would refuse it. A deployment that does not exist (never created, or deleted) is created whole.
 */

type PlanOptions = GlobalOptions & AwsOptions;

interface PlanDeps {
  withAwsOptions(command: Command): Command;
  withLocalOptions(command: Command): Command;
  checkMode(options: PlanOptions): void;
  aws(options: { region?: string }): AwsDeps;
}

/** The deployment as it is: its spec when it exists, and its instances. */
interface Existing {
  previous: DeploymentSpec | null;
  live: LiveNode[];
}

const say = (line: string) => console.log(line);

/** The AWS deployment of `spec`'s name: the latest create's input unless it was deleted, and its instances. */
async function awsExisting(deps: AwsDeps, options: PlanOptions, spec: DeploymentSpec): Promise<Existing> {
  const { latestCreate, latestDelete, specOfCreate } = await import('../core/lifecycle.js');
  const machines = await machinesOf(deps, options);
  const latest = await latestCreate(deps.sfn, machines, spec.name);
  if (!latest) return { previous: null, live: [] };
  const deletion = await latestDelete(deps.sfn, machines, latest.item.name!);
  if (deletion?.item.status === 'SUCCEEDED') return { previous: null, live: [] };
  const { spec: previous } = await specOfCreate(deps.sfn, latest.item);
  const items = deps.inventory ? await deps.inventory(previous) : [];
  return { previous, live: liveNodesOf(items, previous.name) };
}

const named = (names: string[]) => (names.length > 0 ? names.join(', ') : '-');

/** The text of a plan. */
function planText(plan: ResizePlan, exists: boolean, mode: string): string[] {
  if (!exists) {
    return [
      `${plan.deployment} (${mode} mode): does not exist yet; create makes everything: ${plan.launch.length} instances`,
      `  launch: ${named(plan.launch)}`,
    ];
  }
  return [
    `${plan.deployment} (${mode} mode): what create of this spec does to the existing deployment`,
    `  launch:                   ${named(plan.launch)}`,
    `  join the ring, in order:  ${named(plan.join)}`,
    `  nodetool cleanup:         ${named(plan.cleanup)}`,
    `  drain (daemons):          ${named(plan.drain)}`,
    `  decommission, in order:   ${named(plan.decommission)}`,
    `  terminate:                ${named(plan.terminate)}`,
    `  services reconfigured:    ${plan.reconfigure ? 'yes' : 'no'}`,
    `  ring after: ${plan.ring.length} Cassandra nodes`,
  ];
}

export function planCommand(program: Command, deps: PlanDeps): void {
  deps
    .withAwsOptions(
      deps.withLocalOptions(
        program
          .command('plan <spec>')
          .description(
            'what create of this spec would do to the deployment of its name: launch, join, cleanup, drain, decommission, terminate, reconfigure; refusals exit 2; no change',
          ),
      ),
    )
    .action((file: string, options: PlanOptions) => runPlan(deps, file, options));
}

/** `plan <spec>` (and `validate <spec> --against-live`, the same): prints the plan, exit code 2 with refusals. */
export async function runPlan(deps: PlanDeps, file: string, options: PlanOptions): Promise<void> {
  const spec = readSpecFile(file);
  deps.checkMode(options);
  const mode = options.local ? 'local' : 'aws';
  const { previous, live } = options.local
    ? await (await import('../local/resize.js')).localExisting(options.stateDir, spec, options.iam !== false)
    : await awsExisting(deps.aws(options), options, spec);
  const refusals = previous ? inPlaceRefusals(previous, spec) : [];
  const plan = resizePlan(planDeployment(spec), live);
  if (options.json) {
    say(JSON.stringify({ ...plan, mode, exists: previous !== null, refusals }, null, 2));
  } else {
    for (const line of planText(plan, previous !== null, mode)) say(line);
    for (const refusal of refusals) console.error(refusal);
  }
  process.exitCode = refusals.length > 0 ? EXIT.badInput : EXIT.ok;
}
