import type { Command } from 'commander';
import type { ImageRow, ImagesList as Listed } from '../../functions/images/images.js';
import { stopDataLoss } from '../core/day2.js';
import { retryThrottled } from '../core/retry.js';
import { planDeployment } from '../core/spec/plan.js';
import type { DeploymentSpec } from '../core/spec/schema.js';
import { SNAPSHOT_GB_MONTH_USD } from '../cost/prices.js';
import type { LocalSession } from '../local/local-mode.js';
import { type AwsDeps, type AwsOptions, awsCommands, machinesOf } from './aws-commands.js';
import type { GlobalOptions } from './options.js';
import { BadInput, checkDeploymentName } from './spec-file.js';

/**
 * `capi-deploy images create|list|delete <name>` (issue 17): create runs the images-create state machine (services
 * stopped, instances stopped, one CreateImage per instance), delete the images-delete machine (deregister, then
 * delete the snapshots); list reads the deployment's images and snapshots with their monthly storage cost. Both
 * modes, as stop and start: in AWS mode the executions are named and started by src/core/day2-lifecycle.ts and the
 * images are read in the deployment's own account and region (DescribeImages by its tags, owner self).
 * Exit codes: 0 done, 1 the execution failed, 2 bad input.
 */

type RunOptions = GlobalOptions & AwsOptions & { force?: boolean };

interface ImagesDeps {
  /** The options of stop and start: both modes, AWS mode's poll and --no-wait. */
  day2Command(command: Command): Command;
  withAwsOptions(command: Command): Command;
  withRunOptions(command: Command): Command;
  checkMode(options: RunOptions): void;
  /** AWS mode's clients. */
  aws(options: { region?: string }): AwsDeps;
}

const say = (line: string) => console.log(line);

/** `images list`: each image and the whole with its monthly snapshot storage cost. */
export interface ImagesList extends Listed {
  images: (ImageRow & { monthlyUsd: number })[];
  monthlyUsd: number;
  /** The price used: USD per GB-month of standard-tier snapshot storage (src/cost/prices.ts, with its source). */
  snapshotGbMonthUsd: number;
}

const monthly = (gib: number) => Math.round(gib * SNAPSHOT_GB_MONTH_USD * 100) / 100;

function priced(list: Listed): ImagesList {
  return {
    ...list,
    images: list.images.map((image) => ({ ...image, monthlyUsd: monthly(image.sizeGiB) })),
    monthlyUsd: monthly(list.sizeGiB),
    snapshotGbMonthUsd: SNAPSHOT_GB_MONTH_USD,
  };
}

/** The deployment's images in the simulated account, read at the account's virtual time. */
export async function localImages(session: LocalSession, spec: DeploymentSpec): Promise<ImagesList> {
  // Loaded on use, as the other local commands: the CLI starts without the SDK clients and the simulator.
  const { useSimulatedAccount } = await import('../local/engine.js');
  const { runInVirtualTime } = await import('../sim/clock.js');
  const { listImages } = await import('../../functions/images/images.js');
  const { deploymentContext } = await import('../../functions/shared/context.js');
  useSimulatedAccount(session.account);
  const ctx = await deploymentContext(spec);
  const { result } = await runInVirtualTime(Math.max(Date.now(), session.account.lastClock), () =>
    retryThrottled(() => listImages(ctx)),
  );
  return priced(result);
}

/**
 * The deployment's images in its AWS account and region (its spec's `region`; in SaaS mode its customer's role), as
 * src/cli/aws-clients.ts reads the inventory; throttling retried as the state machines retry it.
 */
export async function awsImages(spec: DeploymentSpec, stackRegion?: string): Promise<ImagesList> {
  const [{ deploymentContext }, { listImages }, { configureCustomerRegistry }] = await Promise.all([
    import('../../functions/shared/context.js'),
    import('../../functions/images/images.js'),
    import('../../functions/shared/customers.js'),
  ]);
  const region = stackRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region) configureCustomerRegistry({ region });
  const ctx = await retryThrottled(() => deploymentContext(spec));
  return priced(await retryThrottled(() => listImages(ctx)));
}

/** What `images list` prints, both modes: one JSON object (`--json`) or the lines of each deployment. */
function printImages(mode: 'local' | 'aws', lists: ImagesList[], json?: boolean): void {
  if (json) {
    const monthlyUsd = Math.round(lists.reduce((sum, list) => sum + list.monthlyUsd, 0) * 100) / 100;
    say(JSON.stringify({ mode, deployments: lists, monthlyUsd }, null, 2));
  } else if (lists.length === 0) {
    say('no deployments');
  } else {
    for (const list of lists) for (const line of imagesLines(list)) say(line);
  }
}

/** `images list` in AWS mode: the deployment's spec is its latest create's input. */
async function awsImagesList(deps: ImagesDeps, name: string | undefined, options: RunOptions) {
  const aws = deps.aws(options);
  const machines = await machinesOf(aws, options);
  const { deploymentSpec } = await import('../core/day2-lifecycle.js');
  const { DeploymentNotFound, listDeployments } = await import('../core/lifecycle.js');
  if (name !== undefined) checkDeploymentName(name);
  const names =
    name === undefined ? (await listDeployments(aws.sfn, machines)).map((row) => row.deployment) : [name];
  const lists: ImagesList[] = [];
  for (const each of names) {
    const spec = await deploymentSpec(aws.sfn, machines, each).catch((error: Error) => {
      throw error instanceof DeploymentNotFound ? new BadInput([error.message]) : error;
    });
    lists.push(await awsImages(spec, options.region));
  }
  printImages('aws', lists, options.json);
}

/** The text of `images list`: one line per image, its snapshots, and the total monthly cost. */
export function imagesLines(list: ImagesList): string[] {
  if (list.images.length === 0 && list.orphanSnapshots.length === 0) return [`${list.deployment}: no images`];
  const lines = list.images.map(
    (image) =>
      `  ${image.node.padEnd(28)} ${image.imageId.padEnd(22)} ${image.state.padEnd(10)} ${String(image.sizeGiB).padStart(5)} GiB  $${image.monthlyUsd.toFixed(2)}/month  (${image.snapshots.map((s) => `${s.snapshotId} ${s.state}`).join(', ')})`,
  );
  for (const snapshot of list.orphanSnapshots) {
    lines.push(
      `  ${'(no image)'.padEnd(28)} ${snapshot.snapshotId.padEnd(22)} ${snapshot.state.padEnd(10)} ${String(snapshot.sizeGiB).padStart(5)} GiB`,
    );
  }
  return [
    `${list.deployment}: ${list.images.length} images, ${list.sizeGiB} GiB of snapshots, $${list.monthlyUsd.toFixed(2)}/month (snapshot storage at $${list.snapshotGbMonthUsd}/GB-month, full size: an upper bound)`,
    ...lines,
  ];
}

export function imagesCommand(program: Command, deps: ImagesDeps): void {
  const local = async () => import('./local-commands.js');
  const images = program
    .command('images')
    .description("a deployment's images: one AMI per node, its EBS snapshots tagged with the deployment");
  deps
    .day2Command(
      images
        .command('create <name>')
        .description(
          "stop the services and the instances, then CreateImage for every instance (Name = the instance's Name); the fleet stays stopped. Cassandra's instance-store data is not in any image: refused without --force",
        ),
    )
    .option('--force', 'image even though the Cassandra data on instance-store disks will be lost')
    .action(async (name: string, options: RunOptions) => {
      deps.checkMode(options);
      if (!options.local) {
        const aws = deps.aws(options);
        await awsCommands(aws).day2('images-create', name, options);
        // As in local mode: the images made, once the run ended well.
        if (!options.json && options.wait !== false && process.exitCode === 0) {
          const { deploymentSpec } = await import('../core/day2-lifecycle.js');
          const spec = await deploymentSpec(aws.sfn, await machinesOf(aws, options), name);
          for (const line of imagesLines(await awsImages(spec, options.region))) say(line);
        }
        return;
      }
      const { runAndReport, specOf } = await local();
      const spec = specOf(options, name);
      const loss = stopDataLoss(planDeployment(spec));
      if (loss && !options.force) throw new BadInput([`images create refused: ${loss}`]);
      if (loss && !options.json) console.error(`warning: ${loss.replace(/, then stop with --force$/, '')}`);
      await runAndReport(options, 'images-create', spec);
      if (!options.json && process.exitCode === 0) {
        for (const line of imagesLines(await localImages((await local()).session(options), spec))) say(line);
      }
    });
  deps
    .withAwsOptions(
      deps.withRunOptions(
        images
          .command('list [name]')
          .description(
            'list the images of a deployment (or of every deployment): state, size, monthly snapshot cost',
          ),
      ),
    )
    .action(async (name: string | undefined, options: RunOptions) => {
      deps.checkMode(options);
      if (!options.local) return awsImagesList(deps, name, options);
      const { knownDeployments } = await import('../local/local-mode.js');
      const { session, specOf } = await local();
      const names = name === undefined ? knownDeployments(options.stateDir) : [name];
      const specs = names.map((each) => specOf(options, each));
      const lists: ImagesList[] = [];
      for (const spec of specs) lists.push(await localImages(session(options, false, spec), spec));
      printImages('local', lists, options.json);
    });
  deps
    .day2Command(
      images
        .command('delete <name>')
        .description("deregister a deployment's images, then delete their snapshots"),
    )
    .action(async (name: string, options: RunOptions) => {
      deps.checkMode(options);
      if (!options.local) {
        await awsCommands(deps.aws(options)).day2('images-delete', name, options);
        return;
      }
      const { runAndReport, specOf } = await local();
      await runAndReport(options, 'images-delete', specOf(options, name));
    });
}
