import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  type ExecutionStatus,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type Failure, HistoryParser } from './history.js';
import { readHistory } from './history-pages.js';
import { allExecutions } from './list-executions.js';
import { inPlaceRefusals } from './resize.js';
import { type DeploymentSpec, DeploymentSpecSchema } from './spec/schema.js';

/**
 * Deployments on Step Functions, shared by the API Lambda (`infra/api/handler.ts`) and the CLI in AWS mode
 * (`src/cli/aws-commands.ts`): how executions are named, how a create or delete is started exactly once, and how
 * an execution's history reads as steps.
 *
 * Naming. A create is `<deployment>-<spec hash>-<generation>`; a delete is `<create name>-delete-<n>`. Step Functions
 * treats a second StartExecution with the same name and input as the same execution while it runs, so a double
 * submit starts one run. A new generation starts only when the previous create failed, was deleted, or ran another
 * spec; a new delete only when the previous delete of that create failed. The spec a delete needs is the input of
 * the create it undoes (DescribeExecution), so nothing else stores specs. A create of a changed spec (the re-apply
 * that resizes a deployment) is refused before any start when it cannot be done in place (src/core/resize.ts).
 * The day-2 operations (stop, start, images create/delete: src/core/day2-lifecycle.ts) are named after the create
 * too, `<create name>-<operation>-<n>`; while one runs, a create or delete of the deployment is a conflict.
 */

/** The day-2 operations, each with its own state machine. */
type Day2Operation = 'stop' | 'start' | 'images-create' | 'images-delete';

/** The state machine name suffix of each day-2 operation (the stack names machines `<stack>-<machine>`). */
const DAY2_MACHINES: Record<Day2Operation, string> = {
  stop: 'stop-deployment',
  start: 'start-deployment',
  'images-create': 'images-create',
  'images-delete': 'images-delete',
};

/**
 * The ARNs of the state machines of a stack. The day-2 machines default to the create machine's ARN with their
 * own name (`<stack>-create-deployment` -> `<stack>-stop-deployment`), as the stack names them.
 */
interface Machines {
  createArn: string;
  deleteArn: string;
  day2?: Partial<Record<Day2Operation, string>>;
}

/** One execution as the API and the CLI show it. */
interface ExecutionSummary {
  name: string;
  arn: string;
  status: ExecutionStatus | string;
  startDate: string | null;
  stopDate: string | null;
}

/** What a deployment is doing, from its latest create and delete executions. */
type DeploymentState = 'creating' | 'created' | 'create-failed' | 'deleting' | 'deleted' | 'delete-failed';

/** What a submitted create or delete did. */
interface Submitted {
  /** started: a new execution; running: the same request is already running; done: nothing to do. */
  outcome: 'started' | 'running' | 'done';
  execution: ExecutionSummary;
  message: string;
}

/** The deployment has no create execution (404 in the API, bad input in the CLI). */
class DeploymentNotFound extends Error {
  override readonly name = 'DeploymentNotFound';
}

/** The request conflicts with an execution in progress or already finished (409 in the API). */
class DeploymentConflict extends Error {
  override readonly name = 'DeploymentConflict';
}

/**
 * A create of a changed spec that cannot be applied in place to the existing deployment (400 in the API, exit code 2
 * in the CLI): `problems` has one line per refusal, each naming the field (src/core/resize.ts).
 */
class SpecChangeRefused extends Error {
  override readonly name = 'SpecChangeRefused';
  constructor(
    readonly problems: string[],
    options?: ErrorOptions,
  ) {
    super(`the changed spec cannot be applied in place: ${problems.join('; ')}`, options);
  }
}

const HASH_LENGTH = 10;
const CREATE_NAME = new RegExp(`^([a-z0-9-]+)-([0-9a-f]{${HASH_LENGTH}})-(\\d+)$`);
const DELETE_NAME = /^(.+)-delete-(\d+)$/;
const DAY2_NAME = /^(.+)-(stop|start|images-create|images-delete)-(\d+)$/;
const ENDED_BADLY = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

/** JSON with sorted keys: the same spec always gives the same text, hash and execution input. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The short hash of a (validated, defaulted) spec that goes into create execution names. */
const specHash = (spec: DeploymentSpec) =>
  createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, HASH_LENGTH);

const createName = (spec: DeploymentSpec, generation: number) =>
  `${spec.name}-${specHash(spec)}-${generation}`;

function parseCreateName(name: string) {
  const match = CREATE_NAME.exec(name);
  return match ? { deployment: match[1], hash: match[2], generation: Number(match[3]) } : null;
}

/**
 * The name of the `number`th delete of a create execution. The automatic teardown of `onFailure: delete` (the
 * "Delete everything after failure" state of create-deployment) is the first, so the API and the CLI find it too.
 */
const deleteName = (ofCreate: string, number: number) => `${ofCreate}-delete-${number}`;

function parseDeleteName(name: string) {
  const match = DELETE_NAME.exec(name);
  return match ? { createName: match[1], number: Number(match[2]) } : null;
}

/** The name of the `number`th day-2 `operation` of a create execution: `<create name>-stop-2`. */
const day2Name = (ofCreate: string, operation: Day2Operation, number: number) =>
  `${ofCreate}-${operation}-${number}`;

/** The ARN of a day-2 operation's state machine. */
function day2MachineArn(machines: Machines, operation: Day2Operation): string {
  const given = machines.day2?.[operation];
  if (given) return given;
  if (!machines.createArn.endsWith('-create-deployment')) {
    throw new Error(
      `${machines.createArn}: not a <stack>-create-deployment ARN; pass the day-2 machines' ARNs`,
    );
  }
  return machines.createArn.replace(/create-deployment$/, DAY2_MACHINES[operation]);
}

/** `arn:…:stateMachine:<machine>` + name -> `arn:…:execution:<machine>:<name>`. */
function executionArn(machineArn: string, name: string): string {
  return `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

const iso = (date: Date | undefined) => (date ? date.toISOString() : null);

function summaryOf(item: ExecutionListItem | DescribeExecutionCommandOutput): ExecutionSummary {
  return {
    name: item.name!,
    arn: item.executionArn!,
    status: item.status!,
    startDate: iso(item.startDate),
    stopDate: iso(item.stopDate),
  };
}

/** The latest create of a deployment: the highest generation among its create executions. */
async function latestCreate(sfn: SFNClient, machines: Machines, deployment: string) {
  let latest: { item: ExecutionListItem; hash: string; generation: number } | undefined;
  for (const item of await allExecutions(sfn, machines.createArn)) {
    const parsed = parseCreateName(item.name ?? '');
    if (parsed?.deployment !== deployment) continue;
    if (!latest || parsed.generation > latest.generation) latest = { item, ...parsed };
  }
  return latest;
}

/** The latest delete of one create execution, if any. */
async function latestDelete(sfn: SFNClient, machines: Machines, ofCreate: string) {
  let latest: { item: ExecutionListItem; number: number } | undefined;
  for (const item of await allExecutions(sfn, machines.deleteArn)) {
    const parsed = parseDeleteName(item.name ?? '');
    if (parsed?.createName !== ofCreate) continue;
    if (!latest || parsed.number > latest.number) latest = { item, number: parsed.number };
  }
  return latest;
}

/** One day-2 execution of a create. */
interface Day2Execution {
  operation: Day2Operation;
  number: number;
  item: ExecutionListItem;
}

/** Executions of a state machine; none when the stack has no such machine (a stack from before issue 17). */
async function executionsOrNone(sfn: SFNClient, stateMachineArn: string): Promise<ExecutionListItem[]> {
  try {
    return await allExecutions(sfn, stateMachineArn);
  } catch (error) {
    if ((error as Error).name === 'StateMachineDoesNotExist') return [];
    throw error;
  }
}

/** The day-2 executions of one create execution, newest first. */
async function day2Executions(
  sfn: SFNClient,
  machines: Machines,
  ofCreate: string,
): Promise<Day2Execution[]> {
  const found: Day2Execution[] = [];
  for (const operation of Object.keys(DAY2_MACHINES) as Day2Operation[]) {
    for (const item of await executionsOrNone(sfn, day2MachineArn(machines, operation))) {
      const match = DAY2_NAME.exec(item.name ?? '');
      if (match?.[1] !== ofCreate || match[2] !== operation) continue;
      found.push({ operation, number: Number(match[3]), item });
    }
  }
  const time = (each: Day2Execution) => each.item.startDate?.getTime() ?? 0;
  return found.sort((a, b) => time(b) - time(a) || b.number - a.number);
}

/** Refuses a create or delete while a day-2 operation of the same create runs. */
async function refuseWhileDay2Runs(sfn: SFNClient, machines: Machines, deployment: string, ofCreate: string) {
  const running = (await day2Executions(sfn, machines, ofCreate)).find(
    (each) => each.item.status === 'RUNNING',
  );
  if (running) {
    throw new DeploymentConflict(
      `${deployment} is running ${running.operation} (execution ${running.item.name}); wait until it ends, then try again`,
    );
  }
}

/** The spec a create execution ran with (its input). */
async function specOfCreate(
  sfn: SFNClient,
  create: ExecutionListItem,
): Promise<{ spec: DeploymentSpec; input: string }> {
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: create.executionArn }));
  const input = described.input ?? '{}';
  return { spec: DeploymentSpecSchema.parse(JSON.parse(input)), input };
}

async function start(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  input: string,
): Promise<ExecutionSummary> {
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
    return {
      name,
      arn: started.executionArn!,
      status: 'RUNNING',
      startDate: iso(started.startDate),
      stopDate: null,
    };
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') {
      throw new DeploymentConflict(
        `execution ${name} already exists with another input or has ended; list the deployment's executions and try again`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Starts the create of a spec, unless that same create is already running or done. Conflicts: a delete of the
 * deployment is running, or a create of another spec is running.
 */
async function submitCreate(sfn: SFNClient, machines: Machines, spec: DeploymentSpec): Promise<Submitted> {
  const hash = specHash(spec);
  const input = canonicalJson(spec);
  const latest = await latestCreate(sfn, machines, spec.name);
  const started = async (generation: number, why: string): Promise<Submitted> => ({
    outcome: 'started',
    execution: await start(sfn, machines.createArn, createName(spec, generation), input),
    message: why,
  });
  if (!latest) return started(1, `creating ${spec.name}`);
  const deletion = await latestDelete(sfn, machines, latest.item.name!);
  if (deletion?.item.status === 'RUNNING') {
    throw new DeploymentConflict(
      `${spec.name} is being deleted by execution ${deletion.item.name}; wait until it ends, then create again`,
    );
  }
  await refuseWhileDay2Runs(sfn, machines, spec.name, latest.item.name!);
  const next = latest.generation + 1;
  if (deletion) {
    const after =
      deletion.item.status === 'SUCCEEDED' ? 'its deletion' : `the ${deletion.item.status} delete`;
    return started(next, `re-creating ${spec.name} after ${after} ${deletion.item.name}`);
  }
  const sameSpec = latest.hash === hash;
  if (latest.item.status === 'RUNNING') {
    if (!sameSpec) {
      throw new DeploymentConflict(
        `${spec.name} is being created from another spec by execution ${latest.item.name}; wait until it ends`,
      );
    }
    return {
      outcome: 'running',
      execution: summaryOf(latest.item),
      message: `${spec.name} is already being created from this spec`,
    };
  }
  if (latest.item.status === 'SUCCEEDED' && sameSpec) {
    return {
      outcome: 'done',
      execution: summaryOf(latest.item),
      message: `${spec.name} was created from this spec by execution ${latest.item.name}`,
    };
  }
  if (!sameSpec) {
    // A re-apply: only what can change in place (src/core/resize.ts), checked before any start.
    const refusals = inPlaceRefusals((await specOfCreate(sfn, latest.item)).spec, spec);
    if (refusals.length > 0) throw new SpecChangeRefused(refusals);
  }
  return started(
    next,
    sameSpec
      ? `resuming ${spec.name} after ${latest.item.status} execution ${latest.item.name}`
      : `updating ${spec.name} to a changed spec`,
  );
}

/** Starts the delete of a deployment, with the spec of its latest create, unless that delete runs or ran. */
async function submitDelete(sfn: SFNClient, machines: Machines, deployment: string): Promise<Submitted> {
  const latest = await latestCreate(sfn, machines, deployment);
  if (!latest) throw new DeploymentNotFound(`no deployment named ${deployment}: it has no create execution`);
  if (latest.item.status === 'RUNNING') {
    throw new DeploymentConflict(
      `${deployment} is being created by execution ${latest.item.name}; wait until it ends (or stop it), then delete`,
    );
  }
  const deletion = await latestDelete(sfn, machines, latest.item.name!);
  if (!deletion || ENDED_BADLY.has(deletion.item.status ?? '')) {
    await refuseWhileDay2Runs(sfn, machines, deployment, latest.item.name!);
  }
  if (deletion?.item.status === 'RUNNING') {
    return {
      outcome: 'running',
      execution: summaryOf(deletion.item),
      message: `${deployment} is already being deleted`,
    };
  }
  if (deletion?.item.status === 'SUCCEEDED') {
    return {
      outcome: 'done',
      execution: summaryOf(deletion.item),
      message: `${deployment} was deleted by execution ${deletion.item.name}`,
    };
  }
  const created = await sfn.send(new DescribeExecutionCommand({ executionArn: latest.item.executionArn }));
  const name = deleteName(latest.item.name!, (deletion?.number ?? 0) + 1);
  return {
    outcome: 'started',
    execution: await start(sfn, machines.deleteArn, name, created.input ?? '{}'),
    message: deletion ? `deleting what is left of ${deployment}` : `deleting ${deployment}`,
  };
}

function stateOf(create: ExecutionListItem, deletion?: ExecutionListItem): DeploymentState {
  if (deletion) {
    if (deletion.status === 'RUNNING') return 'deleting';
    return deletion.status === 'SUCCEEDED' ? 'deleted' : 'delete-failed';
  }
  if (create.status === 'RUNNING') return 'creating';
  return create.status === 'SUCCEEDED' ? 'created' : 'create-failed';
}

/** Every deployment with an execution of these machines, its state and latest execution. */
async function listDeployments(sfn: SFNClient, machines: Machines) {
  const creates = new Map<string, { item: ExecutionListItem; generation: number }>();
  for (const item of await allExecutions(sfn, machines.createArn)) {
    const parsed = parseCreateName(item.name ?? '');
    if (!parsed) continue;
    const known = creates.get(parsed.deployment);
    if (!known || parsed.generation > known.generation) {
      creates.set(parsed.deployment, { item, generation: parsed.generation });
    }
  }
  const deletes = new Map<string, { item: ExecutionListItem; number: number }>();
  for (const item of await allExecutions(sfn, machines.deleteArn)) {
    const parsed = parseDeleteName(item.name ?? '');
    if (!parsed) continue;
    const known = deletes.get(parsed.createName);
    if (!known || parsed.number > known.number)
      deletes.set(parsed.createName, { item, number: parsed.number });
  }
  return [...creates.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([deployment, { item }]) => {
      const deletion = deletes.get(item.name!)?.item;
      return {
        deployment,
        state: stateOf(item, deletion),
        execution: summaryOf(deletion ?? item),
      };
    });
}

/**
 * A deployment's state, its latest execution with the current step, and the failure if it failed. The failure of
 * a create that then ran a failed delete is the delete's: that is what the operator has to act on now.
 */
async function describeDeployment(sfn: SFNClient, machines: Machines, deployment: string) {
  const latest = await latestCreate(sfn, machines, deployment);
  if (!latest) throw new DeploymentNotFound(`no deployment named ${deployment}: it has no create execution`);
  const deletion = (await latestDelete(sfn, machines, latest.item.name!))?.item;
  const item = deletion ?? latest.item;
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
  const parser = new HistoryParser();
  await readHistory(sfn, item.executionArn!, parser);
  const [day2] = await day2Executions(sfn, machines, latest.item.name!);
  return {
    deployment,
    state: stateOf(latest.item, deletion),
    operation: deletion ? ('delete' as const) : ('create' as const),
    execution: summaryOf(described),
    currentStep: parser.currentStep,
    failure: parser.failureFor(described),
    /** The day-2 operation running now, or the last one, of the current create; null when none ran. */
    day2: day2 ? { operation: day2.operation, execution: summaryOf(day2.item) } : null,
  };
}

export type { Day2Execution, Day2Operation, DeploymentState, ExecutionSummary, Failure, Machines, Submitted };
export {
  canonicalJson,
  createName,
  DAY2_MACHINES,
  DeploymentConflict,
  DeploymentNotFound,
  day2Executions,
  day2MachineArn,
  day2Name,
  deleteName,
  describeDeployment,
  ENDED_BADLY,
  executionArn,
  executionsOrNone,
  latestCreate,
  latestDelete,
  listDeployments,
  parseCreateName,
  SpecChangeRefused,
  specHash,
  specOfCreate,
  start as startExecution,
  submitCreate,
  submitDelete,
  summaryOf,
};
