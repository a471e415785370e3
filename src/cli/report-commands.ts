import { writeFileSync } from 'node:fs';
import { DescribeExecutionCommand, type DescribeExecutionOutput, type SFNClient } from '@aws-sdk/client-sfn';
import { type ExecutionRecord, LOCAL_EXECUTION_NAME } from '../core/execution-record.js';
import { fetchExecutionHistory, recordFromSfnHistory, sfnExecutionSource } from '../core/history.js';
import type { InventoryItem } from '../core/inventory.js';
import {
  DAY2_MACHINES,
  type Day2Operation,
  day2Executions,
  day2MachineArn,
  executionsOrNone,
  latestCreate,
  listDeployments,
  type Machines,
} from '../core/lifecycle.js';
import type { HourlyCost } from '../cost/estimate.js';
import { abortedLine } from '../report/format.js';
import { failureLines, renderHistory } from '../report/history.js';
import { renderHtmlReport } from '../report/html.js';
import { loadMachineShape } from '../report/machine.js';
import { type WatchSource, watchExecution } from '../report/watch.js';
import { EXIT } from './options.js';
import { BadInput, checkDeploymentName } from './spec-file.js';

/**
 * The commands that show executions: `history`, `watch` and `report`, for local mode (records in
 * `<stateDir>/executions/`) and for AWS (DescribeExecution + GetExecutionHistory). They exit 0 whenever they could
 * show the execution, whatever its outcome (`watch` excepted: it exits like the run it followed, 1 when it
 * failed, so a script can wait on it), and 2 (BadInput) when the name or execution is unknown.
 */

/** Terminal access, replaceable in tests. */
interface Io {
  /** Prints one line. @default console.log */
  print(line: string): void;
  /** Writes raw text (the watch display). @default process.stdout.write */
  write(text: string): void;
  /** Whether stdout is a terminal: color and in-place redraw. @default process.stdout.isTTY */
  tty: boolean;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** Options of the local commands (the `--state-dir`, `--json` of the other commands). */
interface LocalReportOptions {
  stateDir: string;
  json?: boolean;
  /** `--color` / `--no-color`. @default when stdout is a TTY and NO_COLOR is not set */
  color?: boolean;
  /** watch: `--poll-seconds <n>`, 1 to 300. @default 1 in local mode, 5 on AWS */
  pollSeconds?: string;
  /** history: `--logs`, each step's Lambda log lines under it. */
  logs?: boolean;
}

/** What the local commands read; tests pass their own. */
interface LocalReportDeps {
  loadExecution(stateDir: string, nameOrDeployment: string): ExecutionRecord | null;
  knownDeployments(stateDir: string): string[];
  /** The deployment's resources now, or null when the state directory has no spec for it. */
  inventory(stateDir: string, deployment: string): Promise<InventoryItem[] | null>;
  /** The cost estimate of the resources, when a cost model is wired in. */
  estimateCost?(resources: InventoryItem[]): HourlyCost | null;
  io?: Partial<Io>;
}

/** Options of the AWS commands. */
interface AwsReportOptions extends Omit<LocalReportOptions, 'stateDir'> {
  /** `--state-machine-arn <arn>`: either machine of the stack; needed unless an execution ARN is given. */
  stateMachineArn?: string;
}

/** What the AWS commands talk to. */
interface AwsReportDeps {
  sfn: SFNClient;
  /** The stack's machines (e.g. from its outputs). @default derived from `--state-machine-arn` */
  machines?(options: AwsReportOptions): Promise<Machines>;
  /** The resources of the execution's deployment. @default listed with the spec of the execution's input */
  inventory?(execution: DescribeExecutionOutput): Promise<InventoryItem[]>;
  estimateCost?(resources: InventoryItem[]): HourlyCost | null;
  io?: Partial<Io>;
}

const MACHINE_ARN = /^(arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:)(.+)-(create|delete)-deployment$/;
const EXECUTION_ARN = /^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:/;

function ioOf(partial: Partial<Io> | undefined): Io {
  return {
    print: (line) => console.log(line),
    write: (text) => {
      process.stdout.write(text);
    },
    tty: process.stdout.isTTY === true,
    sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
    ...partial,
  };
}

const colorOf = (options: { color?: boolean }, io: Io) => options.color ?? (io.tty && !process.env.NO_COLOR);

function pollMs(options: { pollSeconds?: string }, fallbackSeconds: number): number {
  const seconds = options.pollSeconds === undefined ? fallbackSeconds : Number(options.pollSeconds);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300) {
    throw new BadInput([`--poll-seconds ${options.pollSeconds}: expected a number of seconds from 1 to 300`]);
  }
  return seconds * 1000;
}

function showHistory(
  record: ExecutionRecord,
  options: { json?: boolean; color?: boolean; logs?: boolean },
  io: Io,
): void {
  if (options.json) io.print(JSON.stringify(record, null, 2));
  else {
    for (const line of renderHistory(record, { color: colorOf(options, io), logs: options.logs })) {
      io.print(line);
    }
  }
  process.exitCode = EXIT.ok;
}

/** Follows a record until it ends; the first record is already read (it names the machine, hence the total). */
async function follow(
  first: ExecutionRecord,
  source: WatchSource,
  options: { json?: boolean; color?: boolean },
  intervalMs: number,
  io: Io,
): Promise<void> {
  let pending: ExecutionRecord | null = first;
  const replaying: WatchSource = {
    poll: async () => {
      const next = pending ?? (await source.poll());
      pending = null;
      return next;
    },
  };
  const total = loadMachineShape(first.machine)?.tasks.length;
  const final = await watchExecution(replaying, options.json ? () => undefined : io.write, {
    intervalMs,
    total,
    tty: io.tty && !options.json,
    sleep: io.sleep,
    now: io.now,
  });
  if (options.json) io.print(JSON.stringify(final, null, 2));
  else if (final.failure)
    for (const line of ['', ...failureLines(final, colorOf(options, io))]) io.print(line);
  else if (final.status === 'ABORTED') io.print(abortedLine(final));
  process.exitCode = final.status === 'FAILED' || final.status === 'ABORTED' ? EXIT.failed : EXIT.ok;
}

function writeReport(
  file: string,
  record: ExecutionRecord,
  extras: { resources: InventoryItem[]; resourcesNote?: string; hourlyCost: HourlyCost | null },
  options: { json?: boolean },
  io: Io,
): void {
  try {
    writeFileSync(file, renderHtmlReport(record, extras));
  } catch (error) {
    throw new BadInput([`--html ${file}: cannot write: ${(error as Error).message}`]);
  }
  if (options.json) {
    io.print(
      JSON.stringify(
        {
          file,
          execution: record.execution,
          deployment: record.deployment,
          status: record.status,
          mode: record.mode,
          resources: extras.resources.length,
        },
        null,
        2,
      ),
    );
  } else {
    io.print(
      `report of ${record.machine} ${record.deployment} (${record.status}, execution ${record.execution}) written to ${file}`,
    );
  }
  process.exitCode = EXIT.ok;
}

async function defaultLocalDeps(): Promise<LocalReportDeps> {
  const local = await import('../local/local-mode.js');
  return {
    loadExecution: local.loadExecution,
    knownDeployments: local.knownDeployments,
    async inventory(stateDir, deployment) {
      const spec = local.loadDeploymentSpec(stateDir, deployment);
      return spec ? local.localInventory(local.openLocalSession(stateDir), spec) : null;
    },
  };
}

/**
 * `history`, `watch` and `report` in local mode. `<name>` is an execution name (`create-sample-20261124T010203Z`)
 * or a deployment name (its latest execution).
 * @param deps @default the state directory's files and simulated account (src/local/local-mode.ts)
 */
function reportCommands(deps: Partial<LocalReportDeps> = {}) {
  const io = ioOf(deps.io);
  const resolved = async (): Promise<LocalReportDeps> =>
    deps.loadExecution && deps.knownDeployments && deps.inventory
      ? (deps as LocalReportDeps)
      : { ...(await defaultLocalDeps()), ...deps };
  const load = async (name: string, options: LocalReportOptions) => {
    if (!LOCAL_EXECUTION_NAME.test(name)) checkDeploymentName(name);
    const local = await resolved();
    const record = local.loadExecution(options.stateDir, name);
    if (record) return { record, local };
    const known = local.knownDeployments(options.stateDir);
    throw new BadInput([
      `no execution or deployment named ${name} in ${options.stateDir}${known.length ? ` (deployments: ${known.join(', ')})` : ''}`,
    ]);
  };
  return {
    async history(nameOrExecution: string, options: LocalReportOptions) {
      showHistory((await load(nameOrExecution, options)).record, options, io);
    },
    async watch(name: string, options: LocalReportOptions) {
      const intervalMs = pollMs(options, 1);
      const { record, local } = await load(name, options);
      // Local runs write their record when they end: a finished one is shown at once, a RUNNING one re-read.
      const source: WatchSource = {
        poll: async () => local.loadExecution(options.stateDir, record.execution) ?? record,
      };
      await follow(record, source, options, intervalMs, io);
    },
    async report(nameOrExecution: string, options: LocalReportOptions & { html: string }) {
      const { record, local } = await load(nameOrExecution, options);
      let resources: InventoryItem[] = [];
      let resourcesNote: string | undefined;
      try {
        const listed = await local.inventory(options.stateDir, record.deployment);
        if (listed) resources = listed;
        else resourcesNote = `No spec of ${record.deployment} in ${options.stateDir}: resources not listed.`;
      } catch (error) {
        resourcesNote = `Resources could not be listed: ${(error as Error).message}`;
      }
      const hourlyCost = local.estimateCost?.(resources) ?? null;
      writeReport(options.html, record, { resources, resourcesNote, hourlyCost }, options, io);
    },
  };
}

function machinesFromArn(options: AwsReportOptions): Machines {
  const match = MACHINE_ARN.exec(options.stateMachineArn ?? '');
  if (!match) {
    throw new BadInput([
      options.stateMachineArn
        ? `--state-machine-arn ${options.stateMachineArn}: expected the ARN of a <stack>-create-deployment or <stack>-delete-deployment state machine`
        : 'pass an execution ARN, or --state-machine-arn <arn> to find a deployment or execution by name',
    ]);
  }
  return {
    createArn: `${match[1]}${match[2]}-create-deployment`,
    deleteArn: `${match[1]}${match[2]}-delete-deployment`,
  };
}

/**
 * The execution ARN for `<name|execution>` on AWS: an execution ARN as is; else an execution of either machine with
 * that exact name; else the latest execution of the deployment with that name, as `status` finds it (the delete
 * of its latest create when there is one, else that create: names follow src/core/lifecycle.ts).
 */
/** The state machines whose executions a name may be: create, delete and the day-2 operations. */
const searchedMachines = (machines: Machines) => [
  machines.createArn,
  machines.deleteArn,
  ...(Object.keys(DAY2_MACHINES) as Day2Operation[]).map((operation) => day2MachineArn(machines, operation)),
];

/**
 * An execution ARN from an ARN, an execution name (of any of the stack's machines) or a deployment name: then its
 * latest operation, a create or delete or, when newer, a day-2 operation of that create (a stop, an images create).
 */
async function executionArnOf(deps: AwsReportDeps, arg: string, options: AwsReportOptions): Promise<string> {
  if (EXECUTION_ARN.test(arg)) return arg;
  const machines = deps.machines ? await deps.machines(options) : machinesFromArn(options);
  for (const machineArn of searchedMachines(machines)) {
    const match = (await executionsOrNone(deps.sfn, machineArn)).find((item) => item.name === arg);
    if (match?.executionArn) return match.executionArn;
  }
  const deployments = await listDeployments(deps.sfn, machines);
  const row = deployments.find((candidate) => candidate.deployment === arg);
  if (row) {
    const latest = await latestCreate(deps.sfn, machines, arg);
    const [day2] = latest ? await day2Executions(deps.sfn, machines, latest.item.name!) : [];
    const started = (date: string | Date | null | undefined) => (date ? new Date(date).getTime() : 0);
    if (day2?.item.executionArn && started(day2.item.startDate) > started(row.execution.startDate)) {
      return day2.item.executionArn;
    }
    return row.execution.arn;
  }
  const known = deployments.map((candidate) => candidate.deployment);
  throw new BadInput([
    `no execution or deployment named ${arg}${known.length ? ` (deployments: ${known.join(', ')})` : ''}`,
  ]);
}

async function describe(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') {
      throw new BadInput([`execution ${executionArn}: ${name}: ${(error as Error).message}`]);
    }
    throw error;
  }
}

/** The resources of a deployment on AWS, listed with the spec its execution ran with. */
async function defaultAwsInventory(execution: DescribeExecutionOutput): Promise<InventoryItem[]> {
  const [{ DeploymentSpecSchema }, { awsInventory }] = await Promise.all([
    import('../core/spec/schema.js'),
    import('./aws-clients.js'),
  ]);
  return awsInventory(DeploymentSpecSchema.parse(JSON.parse(execution.input ?? '{}')));
}

/** `history`, `watch` and `report` on AWS, with the same output as the local ones. */
function awsReportCommands(deps: AwsReportDeps) {
  const io = ioOf(deps.io);
  const load = async (arg: string, options: AwsReportOptions) => {
    const executionArn = await executionArnOf(deps, arg, options);
    const execution = await describe(deps.sfn, executionArn);
    const events = await fetchExecutionHistory(deps.sfn, executionArn);
    return { executionArn, execution, record: recordFromSfnHistory(execution, events) };
  };
  return {
    async history(nameOrExecution: string, options: AwsReportOptions) {
      showHistory((await load(nameOrExecution, options)).record, options, io);
    },
    async watch(nameOrExecution: string, options: AwsReportOptions) {
      const intervalMs = pollMs(options, 5);
      const executionArn = await executionArnOf(deps, nameOrExecution, options);
      await describe(deps.sfn, executionArn);
      const source = sfnExecutionSource(deps.sfn, executionArn);
      await follow(await source.poll(), source, options, intervalMs, io);
    },
    async report(nameOrExecution: string, options: AwsReportOptions & { html: string }) {
      const { execution, record } = await load(nameOrExecution, options);
      let resources: InventoryItem[] = [];
      let resourcesNote: string | undefined;
      try {
        resources = await (deps.inventory ?? defaultAwsInventory)(execution);
      } catch (error) {
        resourcesNote = `Resources could not be listed: ${(error as Error).message}`;
      }
      const hourlyCost = deps.estimateCost?.(resources) ?? null;
      writeReport(options.html, record, { resources, resourcesNote, hourlyCost }, options, io);
    },
  };
}

export type { AwsReportDeps, AwsReportOptions, Io, LocalReportDeps, LocalReportOptions };
export { awsReportCommands, reportCommands };
