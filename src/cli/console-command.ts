import { type Command, Option } from 'commander';
import type { ConsoleBackend } from '../console/backend.js';
import type { AwsDeps } from './aws-commands.js';
import { machinesOf } from './aws-commands.js';
import { DEFAULT_STATE_DIR, EXIT, faultsOf } from './options.js';
import { BadInput, checkSpecText } from './spec-file.js';

/**
 * `capi-deploy console [--local] [--state-dir DIR] [--port N]`: serves the web console on 127.0.0.1 until Ctrl-C.
 * The first line printed is its address with the access token (`console: http://127.0.0.1:PORT/?token=...`).
 * Local mode runs creates and deletes in this process, holding the state dir's lock as `create` does; AWS mode
 * reads Step Functions with the caller's credentials and starts executions only with `--allow-changes`.
 */
interface ConsoleOptions {
  local?: boolean;
  stateDir: string;
  port?: string;
  faults?: string;
  seed?: string;
  iam?: boolean;
  allowChanges?: boolean;
  stack: string;
  stateMachineArn?: string;
  region?: string;
}

function portOf(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new BadInput([`--port ${value}: expected a port number from 0 (any free port) to 65535`]);
  }
  return port;
}

async function backendOf(
  options: ConsoleOptions,
  aws: (o: { region?: string }) => AwsDeps,
): Promise<ConsoleBackend> {
  if (options.local) {
    if (options.allowChanges)
      throw new BadInput(['--allow-changes is for AWS mode: a local console can always change']);
    if (options.seed !== undefined && !/^-?\d+$/.test(options.seed)) {
      throw new BadInput([`--seed must be an integer, not ${JSON.stringify(options.seed)}`]);
    }
    const global = { stateDir: options.stateDir, faults: options.faults };
    // Bad fault rules are bad input before the console starts; each run checks them against its spec too.
    faultsOf(global);
    const { localBackend } = await import('../console/local-backend.js');
    return localBackend({
      stateDir: options.stateDir,
      checkSpec: checkSpecText,
      faultsFor: (spec) => faultsOf(global, spec),
      seed: options.seed === undefined ? undefined : Number(options.seed),
      iam: options.iam !== false,
    });
  }
  if (options.faults || options.seed !== undefined)
    throw new BadInput(['--faults and --seed are for local mode: add --local']);
  const deps = aws({ region: options.region });
  const machines = await machinesOf(deps, {
    stateDir: options.stateDir,
    stack: options.stack,
    stateMachineArn: options.stateMachineArn,
  });
  const { awsBackend } = await import('../console/aws-backend.js');
  return awsBackend({
    sfn: deps.sfn,
    machines,
    where: options.stateMachineArn ? `state machines of ${machines.createArn}` : `stack ${options.stack}`,
    allowChanges: options.allowChanges === true,
    checkSpec: checkSpecText,
    inventory: deps.inventory,
  });
}

/** Adds `console` to the program; `aws` makes AWS mode's clients. */
function consoleCommand(program: Command, aws: (options: { region?: string }) => AwsDeps): void {
  program
    .command('console')
    .description(
      'serve the web console on 127.0.0.1: deployments, state machine graph, live executions, actions',
    )
    .option('--local', 'local mode: the simulated account in --state-dir')
    .addOption(
      new Option('--state-dir <dir>', 'local mode: where the simulated account is kept')
        .env('CAPI_DEPLOY_STATE_DIR')
        .default(DEFAULT_STATE_DIR),
    )
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)')
    .option('--faults <file>', 'local mode: JSON fault rules for the runs started from the console')
    .option('--seed <n>', 'local mode: seed of the simulator random draws, an integer')
    .option('--no-iam', 'local mode: do not authorize calls against IAM')
    .option('--allow-changes', 'AWS mode: allow starting creates and deletes (read-only otherwise)')
    .option(
      '--stack <name>',
      'AWS mode: the CloudFormation stack whose outputs name the state machines',
      'CapiDeploy',
    )
    .option('--state-machine-arn <arn>', 'AWS mode: either state machine of the stack (instead of --stack)')
    .option('--region <region>', 'AWS mode: region of the stack')
    .action(async (options: ConsoleOptions) => {
      const port = portOf(options.port);
      const backend = await backendOf(options, aws);
      const { startConsoleServer } = await import('../console/server.js');
      const server = await startConsoleServer({ backend, port });
      console.log(`console: ${server.url}`);
      console.log(
        `  ${backend.mode} mode, ${backend.where}${backend.canChange ? '' : ', read-only'}; Ctrl-C stops it`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop).off('SIGTERM', stop);
          console.log('console: stopping (a run in progress is stopped at its next state)');
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop).on('SIGTERM', stop);
      });
      process.exitCode = EXIT.ok;
    });
}

export { consoleCommand };
