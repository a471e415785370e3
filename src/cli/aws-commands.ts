import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  RedriveExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import {
  type Day2Options,
  OperationRefused,
  submitDay2,
  submitDeleteWithImages,
} from '../core/day2-lifecycle.js';
import { parseCause } from '../core/errors.js';
import { HistoryParser } from '../core/history.js';
import { readHistory } from '../core/history-pages.js';
import type { InventoryItem } from '../core/inventory.js';
import {
  type Day2Operation,
  DeploymentConflict,
  DeploymentNotFound,
  describeDeployment,
  ENDED_BADLY,
  type Failure,
  latestCreate,
  listDeployments,
  type Machines,
  SpecChangeRefused,
  type Submitted,
  specHash,
  submitCreate,
  submitDelete,
} from '../core/lifecycle.js';
import { type DeploymentSpec, DeploymentSpecSchema } from '../core/spec/schema.js';
import { type CostEstimate, estimateCost } from '../cost/estimate.js';
import { describeFailure } from '../report/format.js';
import { EXIT, type GlobalOptions } from './options.js';
import { costJson, costTable, listLine, progressPrinter } from './output.js';
import { BadInput, checkDeploymentName } from './spec-file.js';

/**
 * The commands of AWS mode (`capi-deploy create|delete|stop|start|images create|images delete|status|list` without
 * `--local`): the same operations as the deployments API, on the stack's state machines, through Step Functions.
 * Each starts one execution (named after the deployment, so running the command twice does not start two) and
 * follows it to its end, one line per finished step; `--json` prints the same object as local mode, with
 * `mode: "aws"`. The day-2 machines are the create machine's siblings (`<stack>-stop-deployment`, ...).
 */

/** Options of AWS mode, beside the shared ones. */
interface AwsOptions extends GlobalOptions {
  /** `--stack <name>`: the CloudFormation stack whose outputs name the state machines. Default `CapiDeploy`. */
  stack?: string;
  /** `--state-machine-arn <arn>`: either state machine of the stack; the other is found by its name. */
  stateMachineArn?: string;
  /** `--redrive` (create): redrive the latest failed create of the same spec instead of starting a new one. */
  redrive?: boolean;
  /** `--poll-seconds <n>`: how often a running execution is checked. Default 5. */
  pollSeconds?: string;
  /** `--no-wait` sets false: create/delete start (or find) the execution and return without following it. */
  wait?: boolean;
  /** `--region <region>`: the region of the stack (used where the clients are made, src/cli/aws-clients.ts). */
  region?: string;
}

/** What AWS mode talks to; tests pass clients under aws-sdk-client-mock and an instant sleep. */
interface AwsDeps {
  sfn: SFNClient;
  cloudformation: CloudFormationClient;
  /** @default setTimeout-based */
  sleep?: (ms: number) => Promise<void>;
  /**
   * What a deployment owns in its account now (Resource Groups Tagging API plus describes), for `status` and
   * `list`; without it they show executions only.
   */
  inventory?: (spec: DeploymentSpec) => Promise<InventoryItem[]>;
}

/** One resource of the `--json` output (the fields of local mode's resources). */
interface ResourceRow {
  type: string;
  id: string;
  name: string;
  state: string;
}

const DEFAULT_STACK = 'CapiDeploy';
const MACHINE_ARN =
  /^(arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:)(.+)-(create-deployment|delete-deployment|stop-deployment|start-deployment|images-create|images-delete)$/;

/** What `run` follows: create, delete, or a day-2 operation. */
type Operation = 'create' | 'delete' | Day2Operation;

/** The state machine of an operation as the text output names it. */
const machineLabel = (operation: Operation) =>
  operation.startsWith('images-') ? operation : `${operation}-deployment`;
const say = (line: string) => console.log(line);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The state machines, from `--state-machine-arn` or from the stack's outputs. */
async function machinesOf(deps: AwsDeps, options: AwsOptions): Promise<Machines> {
  if (options.stateMachineArn) {
    const match = MACHINE_ARN.exec(options.stateMachineArn);
    if (!match) {
      throw new BadInput([
        `--state-machine-arn ${options.stateMachineArn}: expected the ARN of a state machine of the stack (<stack>-create-deployment, <stack>-delete-deployment, ...)`,
      ]);
    }
    return {
      createArn: `${match[1]}${match[2]}-create-deployment`,
      deleteArn: `${match[1]}${match[2]}-delete-deployment`,
    };
  }
  const stack = options.stack ?? DEFAULT_STACK;
  let outputs: Record<string, string>;
  try {
    const described = await deps.cloudformation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = Object.fromEntries(
      (described.Stacks?.[0]?.Outputs ?? []).map((output) => [
        output.OutputKey ?? '',
        output.OutputValue ?? '',
      ]),
    );
  } catch (error) {
    if ((error as Error).name === 'ValidationError') {
      throw new BadInput([
        `stack ${stack} not found in this account and region: deploy it (infra/README.md), or pass --stack <name> or --state-machine-arn <arn>`,
      ]);
    }
    throw error;
  }
  const createArn = outputs.CreateDeploymentStateMachineArn;
  const deleteArn = outputs.DeleteDeploymentStateMachineArn;
  if (!createArn || !deleteArn) {
    throw new BadInput([
      `stack ${stack} has no CreateDeploymentStateMachineArn/DeleteDeploymentStateMachineArn outputs: is it a capillaries-deploy stack?`,
    ]);
  }
  return { createArn, deleteArn };
}

/**
 * Runs a shared operation; its "not found", "conflict" and "refused" errors are the user's to fix (exit code 2), a
 * spec change that cannot be applied in place one line per refusal.
 */
async function asInput<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof SpecChangeRefused) throw new BadInput(error.problems);
    if (
      error instanceof DeploymentNotFound ||
      error instanceof DeploymentConflict ||
      error instanceof OperationRefused
    ) {
      throw new BadInput([error.message]);
    }
    throw error;
  }
}

/** Resources named by an execution's output or failure: what a create made, what a delete left. */
function resourcesOf(output: unknown, failure: Failure | null): ResourceRow[] {
  const rows: ResourceRow[] = [];
  const row = (item: Record<string, unknown>, type: string): ResourceRow => ({
    type: String(item.type ?? type),
    id: String(item.id ?? item.instanceId ?? item.volumeId ?? ''),
    name: String(item.name ?? item.nickname ?? ''),
    state: String(item.state ?? ''),
  });
  const value = (output && typeof output === 'object' ? output : {}) as Record<string, unknown>;
  if (typeof value.vpcId === 'string') rows.push({ type: 'vpc', id: value.vpcId, name: '', state: '' });
  if (typeof value.bastionPublicIp === 'string') {
    rows.push({ type: 'elastic-ip', id: value.bastionPublicIp, name: 'bastion', state: 'associated' });
  }
  const instances = value.instances;
  if (Array.isArray(instances)) {
    rows.push(
      ...instances.filter((item) => item && typeof item === 'object').map((item) => row(item, 'instance')),
    );
  } else if (instances && typeof instances === 'object') {
    for (const [name, id] of Object.entries(instances)) {
      if (typeof id === 'string') rows.push({ type: 'instance', id, name, state: '' });
    }
  }
  const inventory = (value.inventory as { resources?: unknown[] } | undefined)?.resources ?? [];
  rows.push(
    ...inventory.filter((item) => item && typeof item === 'object').map((item) => row(item as never, '')),
  );
  const leftovers = parseCause(failure?.cause)?.details?.leftovers;
  if (Array.isArray(leftovers)) rows.push(...leftovers.map((item) => row(item, '')));
  return rows;
}

const parseOutput = (text: string | undefined): unknown => {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
};

/**
 * Follows an execution until it ends: DescribeExecution for the status, GetExecutionHistory (paged) for the
 * steps, which the reader turns into step lines as they finish.
 */
async function follow(
  deps: AwsDeps,
  executionArn: string,
  reader: HistoryParser,
  pollMs: number,
): Promise<DescribeExecutionCommandOutput> {
  const sleep = deps.sleep ?? defaultSleep;
  let token: string | undefined;
  for (;;) {
    const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    token = await readHistory(deps.sfn, executionArn, reader, token);
    if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') return described;
    await sleep(pollMs);
  }
}

function pollMsOf(options: AwsOptions): number {
  const seconds = options.pollSeconds === undefined ? 5 : Number(options.pollSeconds);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300) {
    throw new BadInput([`--poll-seconds ${options.pollSeconds}: expected a number of seconds from 1 to 300`]);
  }
  return seconds * 1000;
}

/** Redrives the latest create of this deployment when it failed with this very spec. */
async function redriveCreate(deps: AwsDeps, machines: Machines, spec: DeploymentSpec) {
  const latest = await latestCreate(deps.sfn, machines, spec.name);
  if (!latest) {
    throw new BadInput([
      `--redrive: ${spec.name} has no create execution to redrive; run create without --redrive`,
    ]);
  }
  const name = latest.item.name!;
  if (!ENDED_BADLY.has(latest.item.status ?? '')) {
    throw new BadInput([
      `--redrive: the latest create of ${spec.name} (${name}) is ${latest.item.status}; only a FAILED, TIMED_OUT or ABORTED create can be redriven`,
    ]);
  }
  if (latest.hash !== specHash(spec)) {
    throw new BadInput([
      `--redrive: the spec changed since ${name}, and a redrive re-runs that execution's input; run create without --redrive to apply the new spec`,
    ]);
  }
  return latest.item;
}

/** What create, delete and the day-2 operations print at the end, and their exit code. */
function report(
  options: AwsOptions,
  operation: Operation,
  deployment: string,
  described: DescribeExecutionCommandOutput,
  reader: HistoryParser,
): void {
  const failure = reader.failureFor(described);
  const seconds =
    described.startDate && described.stopDate
      ? Math.round((described.stopDate.getTime() - described.startDate.getTime()) / 1000)
      : null;
  const resources = resourcesOf(parseOutput(described.output), failure);
  if (options.json) {
    say(
      JSON.stringify(
        {
          deployment,
          operation,
          status: described.status,
          mode: 'aws',
          execution: described.name,
          executionArn: described.executionArn,
          historyEvents: reader.historyEvents,
          stateTransitions: reader.stateTransitions,
          virtualSeconds: seconds,
          apiCalls: null,
          resources,
          failure,
        },
        null,
        2,
      ),
    );
  } else {
    const ok = described.status === 'SUCCEEDED';
    say(
      `${ok ? '✔' : '✖'} ${machineLabel(operation)} ${deployment}: ${described.status} (execution ${described.name})`,
    );
    say(
      `  ${seconds ?? '?'} s, ${reader.stateTransitions} state transitions, ${reader.historyEvents} history events`,
    );
    if (failure) for (const line of describeFailure(failure)) say(line);
    if (resources.length > 0) {
      say(operation === 'create' ? 'resources:' : 'still tagged:');
      for (const item of resources) {
        say(`  ${[item.type.padEnd(12), item.id.padEnd(21), item.name, item.state].join('  ').trimEnd()}`);
      }
    }
  }
  process.exitCode = described.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
}

/**
 * Starts (or finds) an execution, then follows it to its end and reports it; true when it succeeded (or runs on,
 * with `--no-wait`). The operation is the submit's own when it says (delete --with-images starts images-delete first).
 */
async function run(
  deps: AwsDeps,
  options: AwsOptions,
  operation: Operation,
  deployment: string,
  submit: (
    machines: Machines,
  ) => Promise<(Submitted & { operation?: Operation; warning?: string }) | { redrive: string }>,
  { quietSuccess = false } = {},
): Promise<boolean> {
  const pollMs = pollMsOf(options);
  const machines = await machinesOf(deps, options);
  let startMs = 0;
  const printer = progressPrinter(say, () => startMs);
  let printing = false;
  const reader = new HistoryParser((step, phase) => {
    startMs ||= step.start;
    if (printing && !options.json) printer(step, phase);
  });
  const submitted = await asInput(() => submit(machines));
  let executionArn: string;
  if ('redrive' in submitted) {
    executionArn = submitted.redrive;
    // The history so far is the failed run: read it silently, redrive, then print only what happens next.
    await readHistory(deps.sfn, executionArn, reader);
    try {
      await deps.sfn.send(new RedriveExecutionCommand({ executionArn }));
    } catch (error) {
      if ((error as Error).name === 'ExecutionNotRedrivable') {
        throw new BadInput([
          `--redrive: Step Functions cannot redrive ${executionArn}: ${(error as Error).message}; run create without --redrive`,
        ]);
      }
      throw error;
    }
    if (!options.json) say(`${operation} ${deployment} (AWS mode): redriving ${executionArn}`);
  } else {
    executionArn = submitted.execution.arn;
    operation = submitted.operation ?? operation;
    if (submitted.warning && !options.json) console.error(`warning: ${submitted.warning}`);
    if (!options.json)
      say(`${operation} ${deployment} (AWS mode): ${submitted.message} (${submitted.execution.name})`);
    // A finished execution is reported, not replayed step by step.
    if (submitted.outcome === 'done') await readHistory(deps.sfn, executionArn, reader);
  }
  printing = true;
  if (options.wait === false) {
    const now = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (now.status === 'RUNNING' || now.status === 'PENDING_REDRIVE') {
      if (options.json) {
        say(
          JSON.stringify(
            {
              deployment,
              operation,
              status: now.status,
              mode: 'aws',
              execution: now.name,
              executionArn,
            },
            null,
            2,
          ),
        );
      } else {
        // A day-2 execution is named exactly by its ARN (by the deployment's name, watch follows its latest operation).
        const target = operation === 'create' || operation === 'delete' ? deployment : executionArn;
        say(`${now.status}: not waiting; follow it with: capi-deploy watch ${target}`);
      }
      process.exitCode = EXIT.ok;
      return true;
    }
  }
  const described = await follow(deps, executionArn, reader, pollMs);
  const succeeded = described.status === 'SUCCEEDED';
  if (!(quietSuccess && succeeded && options.json)) report(options, operation, deployment, described, reader);
  return succeeded;
}

/**
 * What the deployment of an execution owns now and its cost: the spec is the execution's input (a delete runs
 * with its create's input). Listing problems (permissions, an unreadable input) are shown, not fatal.
 */
async function ownedBy(
  deps: AwsDeps,
  executionArn: string,
): Promise<{ estimate?: CostEstimate; error?: string }> {
  if (!deps.inventory) return {};
  try {
    const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const parsed = DeploymentSpecSchema.safeParse(parseOutput(described.input));
    if (!parsed.success)
      return { error: `the input of ${described.name ?? executionArn} is not a deployment spec` };
    return { estimate: estimateCost(await deps.inventory(parsed.data), parsed.data.region) };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/** The commands of AWS mode, with the same output conventions and exit codes as the local ones. */
function awsCommands(deps: AwsDeps) {
  return {
    async create(spec: DeploymentSpec, options: AwsOptions) {
      await run(deps, options, 'create', spec.name, async (machines) =>
        options.redrive
          ? { redrive: (await redriveCreate(deps, machines, spec)).executionArn! }
          : submitCreate(deps.sfn, machines, spec),
      );
    },
    /**
     * With `withImages`, images delete first, followed to its end; the deployment's delete only once it succeeded
     * (exit code 1 otherwise, the deployment left as it was). With `--no-wait`, one step per call, as the API does.
     */
    async delete(name: string, options: AwsOptions & { withImages?: boolean }) {
      checkDeploymentName(name);
      if (options.withImages && options.wait === false) {
        await run(deps, options, 'delete', name, (machines) =>
          submitDeleteWithImages(deps.sfn, machines, name),
        );
        return;
      }
      if (options.withImages) {
        // In --json mode the images' report is printed only when they could not all be deleted: one object.
        const images = await run(
          deps,
          options,
          'images-delete',
          name,
          (machines) => submitDay2(deps.sfn, machines, name, 'images-delete'),
          { quietSuccess: true },
        );
        if (!images) return;
      }
      await run(deps, options, 'delete', name, (machines) => submitDelete(deps.sfn, machines, name));
    },
    /** A day-2 operation; stop and images create refuse without `force` when Cassandra data would be lost. */
    async day2(operation: Day2Operation, name: string, options: AwsOptions & Day2Options) {
      checkDeploymentName(name);
      await run(deps, options, operation, name, (machines) =>
        submitDay2(deps.sfn, machines, name, operation, { force: options.force }),
      );
    },
    async status(name: string, options: AwsOptions) {
      checkDeploymentName(name);
      const machines = await machinesOf(deps, options);
      const status = await asInput(() => describeDeployment(deps.sfn, machines, name));
      const owned = await ownedBy(deps, status.execution.arn);
      if (options.json) {
        say(
          JSON.stringify(
            {
              deployment: name,
              mode: 'aws',
              state: status.state,
              operation: status.operation,
              status: status.execution.status,
              execution: status.execution.name,
              executionArn: status.execution.arn,
              currentStep: status.currentStep,
              failure: status.failure,
              day2: status.day2,
              ...(owned.estimate ? costJson(owned.estimate) : {}),
              ...(owned.error ? { resources: null, hourlyUsd: null } : {}),
              ...(owned.error ? { resourcesError: owned.error } : {}),
            },
            null,
            2,
          ),
        );
        return;
      }
      const { execution } = status;
      say(`${name}: ${status.state} (${status.operation} execution ${execution.name}, ${execution.status})`);
      say(
        `  started ${execution.startDate ?? '?'}${execution.stopDate ? `, ended ${execution.stopDate}` : ''}`,
      );
      if (status.currentStep)
        say(`  ${execution.stopDate ? 'last step' : 'current step'}: ${status.currentStep}`);
      if (status.failure) for (const line of describeFailure(status.failure)) say(line);
      if (status.day2) {
        const { operation, execution: day2 } = status.day2;
        say(
          `  ${day2.status === 'RUNNING' ? 'running' : 'last'} day-2 operation: ${operation} (${day2.name}, ${day2.status})`,
        );
      }
      if (owned.estimate) {
        const billed = owned.estimate.items.filter((item) => item.billed).length;
        say(`resources: ${owned.estimate.items.length}, ${billed} billed`);
        for (const line of costTable(owned.estimate)) say(line);
      } else if (owned.error) {
        say(`resources: not listed (${owned.error})`);
      }
    },
    async list(options: AwsOptions) {
      const machines = await machinesOf(deps, options);
      const rows = [];
      for (const row of await listDeployments(deps.sfn, machines)) {
        const owned = await ownedBy(deps, row.execution.arn);
        rows.push({
          deployment: row.deployment,
          state: row.state,
          execution: row.execution.name,
          status: row.execution.status,
          startDate: row.execution.startDate,
          stopDate: row.execution.stopDate,
          region: owned.estimate?.region ?? null,
          resources: owned.estimate?.items.length ?? null,
          billed: owned.estimate?.items.filter((item) => item.billed).length ?? null,
          hourlyUsd: owned.estimate?.hourlyUsd ?? null,
          complete: owned.estimate?.complete ?? null,
          ...(owned.error ? { resourcesError: owned.error } : {}),
        });
      }
      if (options.json) return say(JSON.stringify({ mode: 'aws', deployments: rows }, null, 2));
      if (rows.length === 0) return say('no deployments');
      for (const row of rows) {
        const head = `${row.deployment.padEnd(24)} ${row.state.padEnd(13)} ${row.execution} (${row.status})`;
        if (row.resources === null || row.billed === null || row.hourlyUsd === null) {
          say(row.resourcesError ? `${head}  resources not listed: ${row.resourcesError}` : head);
        } else {
          const costed = listLine({
            deployment: '',
            resources: row.resources,
            billed: row.billed,
            hourlyUsd: row.hourlyUsd,
            complete: row.complete !== false,
          }).trim();
          say(`${head}  ${costed}`);
        }
      }
    },
  };
}

export type { AwsDeps, AwsOptions };
export { awsCommands, machinesOf };
