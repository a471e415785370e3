import type { DescribeExecutionOutput } from '@aws-sdk/client-sfn';
import { Command, Option } from 'commander';
import { LOG_SOURCE_NAMES } from '../core/cluster-logs.js';
import { parseCause } from '../core/errors.js';
import type { InventoryItem } from '../core/inventory.js';
import { planDeployment } from '../core/spec/plan.js';
import { DeploymentSpecSchema } from '../core/spec/schema.js';
import { estimateCost, toHourlyCost } from '../cost/estimate.js';
import { awsClients } from './aws-clients.js';
import { type AwsDeps, type AwsOptions, awsCommands, machinesOf } from './aws-commands.js';
import { consoleCommand } from './console-command.js';
import { type CustomerDeps, customerCommands } from './customer-commands.js';
import { imagesCommand } from './images-command.js';
import { awsLogsSource, type LogsOptions, localLogsSource, showLogs } from './logs-command.js';
import { DEFAULT_STATE_DIR, EXIT, type GlobalOptions } from './options.js';
import { planLines } from './output.js';
import { planCommand, runPlan } from './plan-command.js';
import { awsReportCommands, reportCommands } from './report-commands.js';
import { BadInput, checkDeploymentName, readSpecFile } from './spec-file.js';

/**
 * The `capi-deploy` program. Every command that runs or inspects a deployment works in two modes: `--local` (the
 * same state machines and handlers against the simulated account kept in `--state-dir`) and AWS mode (the
 * deployed stack's state machines, found by `--stack` outputs or `--state-machine-arn`). Command and flag names
 * are a promise to operators and scripts: extend, never rename. Exit codes: 0 ok, 1 the execution failed or
 * resources are left, 2 bad input (bad spec, unknown deployment or execution, bad or missing option).
 */

/** What the program talks to; tests replace the AWS clients (or mock them with aws-sdk-client-mock). */
export interface MainDeps {
  /** AWS mode's clients for the options. @default SDK clients from the default credential chain (aws-clients.ts) */
  aws?: (options: { region?: string }) => AwsDeps;
  /** `customers add|list|remove`: standard input and the SSM client. @default process.stdin, a new SSMClient */
  customers?: CustomerDeps;
}

/** Options of the commands that take both modes. */
type RunOptions = GlobalOptions & AwsOptions;

/** Options of history, watch and report. */
interface ShowOptions extends RunOptions {
  color?: boolean;
  html?: string;
  logs?: boolean;
}

function withLocalOptions(command: Command): Command {
  return command
    .option('--local', 'run in local mode against the simulated AWS account')
    .addOption(
      new Option('--state-dir <dir>', 'local mode: where the simulated account is kept')
        .env('CAPI_DEPLOY_STATE_DIR')
        .default(DEFAULT_STATE_DIR),
    )
    .option('--json', 'print one JSON object instead of text');
}

function withRunOptions(command: Command): Command {
  return withLocalOptions(command)
    .option('--faults <file>', 'local mode: JSON fault rules for the simulator')
    .option(
      '--no-iam',
      'local mode: do not authorize calls against IAM (by default every call is checked against the policies the stacks deploy)',
    )
    .option(
      '--seed <n>',
      'local mode: seed of the simulator random draws (probabilistic faults), an integer',
      (value: string) => {
        if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
          throw new BadInput([`--seed must be an integer, not ${JSON.stringify(value)}`]);
        }
        return Number(value);
      },
    );
}

function withAwsOptions(command: Command): Command {
  return command
    .option(
      '--stack <name>',
      'AWS mode: the CloudFormation stack whose outputs name the state machines',
      'CapiDeploy',
    )
    .option('--state-machine-arn <arn>', 'AWS mode: either state machine of the stack (instead of --stack)')
    .option('--region <region>', 'AWS mode: region of the stack (default: the AWS SDK default region chain)');
}

const withPollOption = (command: Command) =>
  command.option(
    '--poll-seconds <n>',
    'how often a running execution is checked, 1 to 300 (default 5 on AWS)',
  );

/** Flags that make sense in one mode only: a wrong one is bad input, not silently ignored. */
function checkMode(options: RunOptions): void {
  const problems: string[] = [];
  if (options.local) {
    if (options.redrive) {
      problems.push(
        '--redrive is for AWS mode; in local mode, run create again: it resumes where it stopped',
      );
    }
    if (options.wait === false)
      problems.push('--no-wait is for AWS mode; a local run ends before the command does');
    if (options.stateMachineArn) problems.push('--state-machine-arn is for AWS mode, not with --local');
  } else {
    if (options.faults) problems.push('--faults is for local mode: add --local');
    if (options.seed !== undefined) problems.push('--seed is for local mode: add --local');
  }
  if (problems.length > 0) throw new BadInput(problems);
}

export function buildProgram(deps: MainDeps = {}): Command {
  const program = new Command('capi-deploy')
    .description(
      'Deploy and tear down Capillaries clusters with AWS Step Functions (or the local simulator).',
    )
    .showHelpAfterError()
    .exitOverride();
  let made: AwsDeps | undefined;
  const aws = (options: { region?: string }) => {
    made ??= (deps.aws ?? awsClients)({ region: options.region });
    return made;
  };

  const planDeps = { withAwsOptions, withLocalOptions, checkMode, aws };
  withAwsOptions(
    withLocalOptions(
      program
        .command('validate <spec>')
        .description(
          'validate a deployment spec and print the derived plan; no AWS call (with --against-live: as plan)',
        ),
    ),
  )
    .option(
      '--against-live',
      'compare with the deployment of the same name, as plan does (--local: local mode)',
    )
    .action(async (file: string, options: RunOptions & { againstLive?: boolean }) => {
      if (options.againstLive) return runPlan(planDeps, file, options);
      const plan = planDeployment(readSpecFile(file));
      console.log(options.json ? JSON.stringify(plan, null, 2) : planLines(plan).join('\n'));
    });

  // Local mode loads the simulator and the handlers: only when --local asks for it.
  const local = async () => (await import('./local-commands.js')).localCommands();
  withPollOption(
    withAwsOptions(
      withRunOptions(
        program.command('create <spec>').description('create (or resume) the deployment of a spec'),
      ),
    ),
  )
    .option('--redrive', 'AWS mode: redrive the latest failed create of this spec (RedriveExecution)')
    .option('--no-wait', 'AWS mode: start the execution and return without following it')
    .option(
      '--from-images <name>',
      "restore: launch every node from deployment <name>'s image of it (images create), skip install (sets the spec's fromImages)",
    )
    .action(async (file: string, options: RunOptions & { fromImages?: string }) => {
      const spec = readSpecFile(file);
      if (options.fromImages !== undefined) {
        checkDeploymentName(options.fromImages);
        spec.fromImages = options.fromImages;
      }
      checkMode(options);
      return options.local
        ? (await local()).create(spec, options)
        : awsCommands(aws(options)).create(spec, options);
    });
  withPollOption(
    withAwsOptions(
      withRunOptions(program.command('delete <name>').description('delete everything a deployment owns')),
    ),
  )
    .option('--no-wait', 'AWS mode: start the execution and return without following it')
    .option(
      '--with-images',
      "also deregister the deployment's images and delete their snapshots (kept otherwise)",
    )
    .action(async (name: string, options: RunOptions & { withImages?: boolean }) => {
      checkMode(options);
      return options.local
        ? (await local()).delete(name, options)
        : awsCommands(aws(options)).delete(name, options);
    });
  const day2Command = (command: Command) =>
    withPollOption(withAwsOptions(withRunOptions(command))).option(
      '--no-wait',
      'AWS mode: start the execution and return without following it',
    );
  day2Command(
    program
      .command('stop <name>')
      .description(
        "stop a deployment: services in order (Cassandra drained last), then the instances; the NAT gateway is deleted. Cassandra's instance-store data does not survive: refused without --force",
      ),
  )
    .option('--force', 'stop even though the Cassandra data on instance-store disks will be lost')
    .action(async (name: string, options: RunOptions & { force?: boolean }) => {
      checkMode(options);
      return options.local
        ? (await local()).stop(name, options)
        : awsCommands(aws(options)).day2('stop', name, options);
    });
  day2Command(
    program
      .command('start <name>')
      .description(
        'start a stopped deployment: instances and a new NAT gateway, Cassandra set up again, services, health checks',
      ),
  ).action(async (name: string, options: RunOptions) => {
    checkMode(options);
    return options.local
      ? (await local()).start(name, options)
      : awsCommands(aws(options)).day2('start', name, options);
  });
  imagesCommand(program, { day2Command, withAwsOptions, withRunOptions, checkMode, aws });
  planCommand(program, planDeps);
  withAwsOptions(
    withRunOptions(
      program.command('list').description('list deployments with their resource counts and hourly cost'),
    ),
  ).action(async (options: RunOptions) => {
    checkMode(options);
    return options.local ? (await local()).list(options) : awsCommands(aws(options)).list(options);
  });
  withAwsOptions(
    withRunOptions(
      program
        .command('status <name>')
        .description("list a deployment's resources, their states, billing and hourly cost"),
    ),
  ).action(async (name: string, options: RunOptions) => {
    checkMode(options);
    return options.local
      ? (await local()).status(name, options)
      : awsCommands(aws(options)).status(name, options);
  });
  withLocalOptions(
    program
      .command('logs <name>')
      .description(
        "the cluster's logs from CloudWatch Logs (group /capideploy/<name>, one stream per node and source), merged by time",
      ),
  )
    .option('--node <node>', 'only this node: cass001, daemon002, bastion, rabbitmq, prometheus')
    .option('--source <source>', `only this source: ${LOG_SOURCE_NAMES.join(', ')}`)
    .option('--since <when>', 'only lines from this long ago (90s, 15m, 2h, 7d) or since an ISO date')
    .option('--grep <text>', 'only lines containing this text')
    .option('--follow', 'go on printing new lines until Ctrl-C (AWS: StartLiveTail; local: polls)')
    .option(
      '--region <region>',
      "AWS mode: the deployment's region (default: the AWS SDK default region chain)",
    )
    .action(async (name: string, options: GlobalOptions & LogsOptions & { region?: string }) => {
      checkDeploymentName(name);
      const stop = new AbortController();
      const interrupt = () => stop.abort();
      process.once('SIGINT', interrupt);
      try {
        const source = options.local
          ? await localLogsSource(options.stateDir, name, 2_000, stop.signal)
          : await awsLogsSource(options.region, stop.signal);
        await showLogs(name, options, source);
      } finally {
        process.off('SIGINT', interrupt);
      }
    });
  withLocalOptions(
    program
      .command('terminate <deployment> <node...>')
      .description(
        'local mode: terminate a stuck node (cass002 or sample-cass002), or delete the NAT gateway (natgw) or the instance profile (instance-profile), so create makes a new one; AWS mode prints the aws commands',
      ),
  )
    .option('--region <region>', 'AWS mode: the region for the printed aws commands')
    .action(async (deployment: string, nodes: string[], options: GlobalOptions & { region?: string }) =>
      (await import('./terminate.js')).terminate(deployment, nodes, options),
    );

  const shows = async (options: ShowOptions) =>
    options.local ? localShows() : awsShows(aws(options), options);
  const showCommand = (command: Command) =>
    withAwsOptions(withLocalOptions(command))
      .option('--color', 'color the output (default: when stdout is a terminal and NO_COLOR is not set)')
      .option('--no-color', 'do not color the output');
  showCommand(
    program
      .command('history <name|execution>')
      .description(
        'print the steps of an execution (or of the latest one of a deployment): start, duration, retries, outcome; the failure first',
      ),
  )
    .option('--logs', 'under each step, the log lines of its Lambda runs (local mode records them)')
    .action(async (name: string, options: ShowOptions) => (await shows(options)).history(name, options));
  withPollOption(
    showCommand(
      program
        .command('watch <name>')
        .description(
          "follow a deployment's running execution live: steps done / total, current steps, elapsed time",
        ),
    ),
  ).action(async (name: string, options: ShowOptions) => (await shows(options)).watch(name, options));
  showCommand(
    program
      .command('report <name|execution>')
      .description('write a self-contained HTML report: timeline, failure, resources and cost estimate'),
  )
    .requiredOption('--html <file>', 'the HTML file to write')
    .action(async (name: string, options: ShowOptions & { html: string }) =>
      (await shows(options)).report(name, options),
    );
  customerCommands(program, deps.customers);
  consoleCommand(program, aws);
  return program;
}

/** The local history/watch/report, with the resources' cost in the deployment's region. */
async function localShows() {
  const { loadDeploymentSpec, localInventory, openLocalSession } = await import('../local/local-mode.js');
  let region = 'us-east-1';
  return reportCommands({
    async inventory(stateDir: string, deployment: string) {
      const spec = loadDeploymentSpec(stateDir, deployment);
      if (!spec) return null;
      region = spec.region;
      return localInventory(openLocalSession(stateDir), spec);
    },
    estimateCost: (resources: InventoryItem[]) => toHourlyCost(estimateCost(resources, region)),
  });
}

/** The AWS history/watch/report: machines from the stack (or --state-machine-arn), resources by the execution's spec. */
function awsShows(deps: AwsDeps, options: ShowOptions) {
  let region = options.region ?? 'us-east-1';
  return awsReportCommands({
    sfn: deps.sfn,
    machines: (given) => machinesOf(deps, { ...options, ...given }),
    async inventory(execution: DescribeExecutionOutput) {
      const spec = DeploymentSpecSchema.parse(JSON.parse(execution.input ?? '{}'));
      region = spec.region;
      if (!deps.inventory) throw new Error('no inventory in this mode');
      return deps.inventory(spec);
    },
    estimateCost: (resources: InventoryItem[]) => toHourlyCost(estimateCost(resources, region)),
  });
}

/** Problems of the AWS SDK's setup (no region, no credentials): the operator's to fix, like bad input. */
function setupProblem(error: unknown): string | null {
  const { name, message } = error as Error;
  if (name === 'CredentialsProviderError') {
    return `AWS credentials not found (${message}): configure them (aws configure / aws sso login / AWS_PROFILE), or use --local`;
  }
  if (/Region is missing/i.test(message ?? '')) {
    return 'AWS region not set: pass --region <region> or set AWS_REGION, or use --local';
  }
  return null;
}

export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
  const program = buildProgram(deps);
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (error) {
    if (error instanceof BadInput) {
      for (const problem of error.problems) console.error(problem);
      return EXIT.badInput;
    }
    // The local state dir or one of its files cannot be used (src/sim/durable.ts, src/local/store.ts).
    if ((error as Error).name === 'StateFileProblem') {
      console.error((error as Error).message);
      return EXIT.badInput;
    }
    // SaaS mode: a deployment's customer is not (or no longer) in the registry.
    if ((error as Error).name === 'UnknownCustomer') {
      const failure = parseCause((error as Error).message);
      console.error(failure ? `${failure.message}; ${failure.hint}` : (error as Error).message);
      return EXIT.badInput;
    }
    const code = (error as { code?: string }).code ?? '';
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return EXIT.ok;
    if (code.startsWith('commander.')) return EXIT.badInput;
    const setup = setupProblem(error);
    if (setup) {
      console.error(setup);
      return EXIT.badInput;
    }
    throw error;
  }
}
