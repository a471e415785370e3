import { Command, Option } from 'commander';
import { planDeployment } from '../spec/plan.js';
import { localCommands } from './local-commands.js';
import { EXIT, type GlobalOptions } from './options.js';
import { planLines } from './output.js';
import { BadInput, readSpecFile } from './spec-file.js';

export function buildProgram(): Command {
  const program = new Command('capi-deploy')
    .description(
      'Deploy and tear down Capillaries clusters with AWS Step Functions (or the local simulator).',
    )
    .showHelpAfterError()
    .exitOverride();
  const withRunOptions = (command: Command) =>
    command
      .option('--local', 'run in local mode against the simulated AWS account')
      .addOption(
        new Option('--state-dir <dir>', 'local mode: where the simulated account is kept')
          .env('CAPI_DEPLOY_STATE_DIR')
          .default('.capi-local'),
      )
      .option('--json', 'print one JSON object instead of text')
      .option('--faults <file>', 'local mode: JSON fault rules for the simulator')
      .option('--seed <n>', 'local mode: seed of the simulator random draws (probabilistic faults)');

  program
    .command('validate <spec>')
    .description('validate a deployment spec and print the derived plan; no AWS call')
    .option('--json', 'print the plan as JSON')
    .action((file: string, options: { json?: boolean }) => {
      const plan = planDeployment(readSpecFile(file));
      console.log(options.json ? JSON.stringify(plan, null, 2) : planLines(plan).join('\n'));
    });

  const local = localCommands();
  withRunOptions(
    program.command('create <spec>').description('create (or resume) the deployment of a spec'),
  ).action((file: string, options: GlobalOptions) => local.create(readSpecFile(file), options));
  withRunOptions(program.command('delete <name>').description('delete everything a deployment owns')).action(
    (name: string, options: GlobalOptions) => local.delete(name, options),
  );
  withRunOptions(program.command('list').description('list deployments and their resource counts')).action(
    (options: GlobalOptions) => local.list(options),
  );
  withRunOptions(
    program.command('status <name>').description("list a deployment's resources, states and cost"),
  ).action((name: string, options: GlobalOptions) => local.status(name, options));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (error) {
    if (error instanceof BadInput) {
      for (const problem of error.problems) console.error(problem);
      return EXIT.badInput;
    }
    const code = (error as { code?: string }).code ?? '';
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return EXIT.ok;
    if (code.startsWith('commander.')) return EXIT.badInput;
    throw error;
  }
}
