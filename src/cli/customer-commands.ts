import { SSMClient } from '@aws-sdk/client-ssm';
import { type Command, Option } from 'commander';
import {
  addCustomer,
  CustomerRegistryProblem,
  customerProblems,
  listCustomers,
  removeCustomer,
} from '../core/customer-registry.js';
import type { CustomerEntry, CustomerPair } from '../core/customers.js';
import { DEFAULT_STATE_DIR } from './options.js';
import { BadInput } from './spec-file.js';

/**
 * `capi-deploy customers add|list|remove`: the customers registry of cross-account (SaaS) mode
 * (src/core/customers.ts). Against AWS, the operator's own credentials and an SSM client in the stack's region
 * (`--region`, else the SDK's default region chain); with `--local`, the simulated operator account of the state dir,
 * where `add` also creates the customer's role. The external id is read from standard input only, and never printed.
 */

interface CustomerOptions {
  local?: boolean;
  stateDir: string;
  region?: string;
  json?: boolean;
}

export interface CustomerDeps {
  /** Everything on standard input, as text. @default process.stdin */
  readStdin?: () => Promise<string>;
  /** The operator's SSM client in the stack region (AWS mode). @default a new SSMClient */
  ssm?: (options: { region?: string }) => SSMClient;
}

async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) console.error('external id (end with Ctrl-D):');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The external id from standard input: one trailing newline (LF or CRLF) dropped, nothing else changed. */
export function externalIdOf(text: string): string {
  return text.replace(/\r?\n$/, '');
}

const say = (line: string) => console.log(line);

/** Registry refusals are bad input (exit 2), one line naming the field; the rest is the caller's. */
async function asBadInput<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CustomerRegistryProblem) {
      throw new BadInput(error.kind === 'bad-input' ? error.message.split('; ') : [error.message]);
    }
    throw error;
  }
}

function localOnlyOptions(command: Command): Command {
  return command
    .option('--local', 'the simulated operator account of local mode')
    .addOption(
      new Option('--state-dir <dir>', 'local mode: where the simulated account is kept')
        .env('CAPI_DEPLOY_STATE_DIR')
        .default(DEFAULT_STATE_DIR),
    )
    .option(
      '--region <region>',
      'AWS mode: the region of the CapiDeploy stack (default: the AWS SDK default region chain)',
    );
}

function checkMode(options: CustomerOptions): void {
  if (options.local && options.region) throw new BadInput(['--region is for AWS mode, not with --local']);
}

export function customerCommands(program: Command, deps: CustomerDeps = {}): void {
  const readStdin = deps.readStdin ?? readProcessStdin;
  const ssmOf = (options: CustomerOptions) =>
    (deps.ssm ?? ((given) => new SSMClient(given.region ? { region: given.region } : {})))({
      region: options.region,
    });
  const local = () => import('../local/customers.js');

  const customers = program
    .command('customers')
    .description(
      'cross-account (SaaS) mode: the customers registry in the operator account (role ARN and external id per customer)',
    );

  localOnlyOptions(
    customers
      .command('add <name>')
      .description(
        'register a customer: its role ARN, and its external id read from standard input (never from the command line)',
      ),
  )
    .requiredOption(
      '--role-arn <arn>',
      "the customer's capideploy-operator role (CapiDeployCustomerRole stack output)",
    )
    .option('--replace', 'overwrite an existing registration of the same name')
    .action(async (name: string, options: CustomerOptions & { roleArn: string; replace?: boolean }) => {
      checkMode(options);
      // Name and ARN first: a mistake there is reported before anything is read from standard input.
      const early = customerProblems(name, { roleArn: options.roleArn, externalId: 'xx' });
      if (early.length > 0) throw new BadInput(early);
      const pair: CustomerPair = { roleArn: options.roleArn, externalId: externalIdOf(await readStdin()) };
      const problems = customerProblems(name, pair).map((problem) =>
        problem.startsWith('externalId:')
          ? `external id (standard input)${problem.slice('externalId'.length)}`
          : problem,
      );
      if (problems.length > 0) throw new BadInput(problems);
      const { replaced } = await asBadInput(() =>
        options.local
          ? local().then((m) =>
              m.addLocalCustomer(options.stateDir, name, pair, { replace: options.replace }),
            )
          : addCustomer(ssmOf(options), name, pair, { replace: options.replace }),
      );
      const where = options.local ? `local mode, state in ${options.stateDir}` : 'operator account';
      say(`customer ${name} ${replaced ? 'replaced' : 'registered'}: role ${pair.roleArn} (${where})`);
      if (options.local && !replaced) {
        say(`created role ${pair.roleArn} in the simulated customer account, trusting this operator account`);
      }
    });

  localOnlyOptions(customers.command('list').description('list registered customers: names and role ARNs'))
    .option('--json', 'print one JSON object')
    .action(async (options: CustomerOptions) => {
      checkMode(options);
      const entries: CustomerEntry[] = options.local
        ? await (await local()).listLocalCustomers(options.stateDir)
        : await listCustomers(ssmOf(options));
      if (options.json) return say(JSON.stringify({ customers: entries }, null, 2));
      if (entries.length === 0) return say('no customers registered');
      const width = Math.max(...entries.map((entry) => entry.name.length));
      for (const entry of entries)
        say(`${entry.name.padEnd(width)}  ${entry.roleArn || '(unreadable entry)'}`);
    });

  localOnlyOptions(
    customers
      .command('remove <name>')
      .description('remove a customer; its deployments then fail at preflight until it is registered again'),
  ).action(async (name: string, options: CustomerOptions) => {
    checkMode(options);
    await asBadInput(() =>
      options.local
        ? local().then((m) => m.removeLocalCustomer(options.stateDir, name))
        : removeCustomer(ssmOf(options), name),
    );
    say(`customer ${name} removed${options.local ? ' (and its simulated role)' : ''}`);
  });
}
