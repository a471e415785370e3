import type { SFNClient } from '@aws-sdk/client-sfn';
import { stopDataLoss } from './day2.js';
import {
  type Day2Execution,
  type Day2Operation,
  DeploymentConflict,
  DeploymentNotFound,
  day2Executions,
  day2MachineArn,
  day2Name,
  latestCreate,
  latestDelete,
  type Machines,
  type Submitted,
  specOfCreate,
  startExecution,
  submitDelete,
  summaryOf,
} from './lifecycle.js';
import { planDeployment } from './spec/plan.js';
import type { DeploymentSpec } from './spec/schema.js';

/**
 * The day-2 operations on Step Functions (issue 17), shared by the API Lambda and the CLI in AWS mode: stop, start,
 * images create and images delete of a deployment, each an execution of its own state machine with the input of the
 * deployment's latest create (its spec), named `<create name>-<operation>-<n>` so that a double submit starts one run.
 *
 * Exactly once. The same operation running: that run is answered (`running`). The same operation the last one to
 * run, and it succeeded: nothing to do (`done`; a second stop of a stopped deployment). Otherwise the next number
 * starts. Conflicts: the deployment is being created or deleted, another day-2 operation of it runs, or it was
 * deleted (only images delete runs after a delete: the images outlive the deployment).
 */

/** Options of a day-2 submit. */
interface Day2Options {
  /** stop and images create: go on even though Cassandra's instance-store data is lost (see stopDataLoss). */
  force?: boolean;
}

/** A day-2 operation refused before any start (400 in the API, exit code 2 in the CLI). */
class OperationRefused extends Error {
  override readonly name = 'OperationRefused';
}

/** What a submitted day-2 operation did; `warning` when it goes on despite a loss (`force`). */
interface Day2Submitted extends Submitted {
  operation: Day2Operation;
  warning?: string;
}

const DOING: Record<Day2Operation, string> = {
  stop: 'stopping',
  start: 'starting',
  'images-create': 'creating the images of',
  'images-delete': 'deleting the images of',
};

/** The operations that stop the fleet, and so erase the instance-store disks. */
const STOPS_FLEET = new Set<Day2Operation>(['stop', 'images-create']);

/** The spec of a deployment: the input of its latest create execution. */
async function deploymentSpec(
  sfn: SFNClient,
  machines: Machines,
  deployment: string,
): Promise<DeploymentSpec> {
  const latest = await latestCreate(sfn, machines, deployment);
  if (!latest) throw new DeploymentNotFound(`no deployment named ${deployment}: it has no create execution`);
  return (await specOfCreate(sfn, latest.item)).spec;
}

/** Starts a day-2 operation of a deployment, unless it runs or just ran; see the file's comment. */
async function submitDay2(
  sfn: SFNClient,
  machines: Machines,
  deployment: string,
  operation: Day2Operation,
  options: Day2Options = {},
): Promise<Day2Submitted> {
  const latest = await latestCreate(sfn, machines, deployment);
  if (!latest) throw new DeploymentNotFound(`no deployment named ${deployment}: it has no create execution`);
  const create = latest.item.name!;
  if (latest.item.status === 'RUNNING') {
    throw new DeploymentConflict(
      `${deployment} is being created by execution ${create}; wait until it ends, then run ${operation}`,
    );
  }
  const deletion = (await latestDelete(sfn, machines, create))?.item;
  if (deletion?.status === 'RUNNING') {
    throw new DeploymentConflict(
      `${deployment} is being deleted by execution ${deletion.name}; ${operation} refused`,
    );
  }
  if (deletion?.status === 'SUCCEEDED' && operation !== 'images-delete') {
    throw new DeploymentConflict(
      `${deployment} was deleted by execution ${deletion.name}; create it again before ${operation}`,
    );
  }
  const executions = await day2Executions(sfn, machines, create);
  const running = executions.find((each) => each.item.status === 'RUNNING');
  if (running && running.operation !== operation) {
    throw new DeploymentConflict(
      `${deployment} is running ${running.operation} (execution ${running.item.name}); wait until it ends, then run ${operation}`,
    );
  }
  const answer = (outcome: 'running' | 'done', each: Day2Execution, message: string): Day2Submitted => ({
    outcome,
    operation,
    execution: summaryOf(each.item),
    message,
  });
  if (running) return answer('running', running, `${DOING[operation]} ${deployment} already runs`);
  const last = executions[0];
  if (last?.operation === operation && last.item.status === 'SUCCEEDED') {
    return answer('done', last, `${operation} of ${deployment} was done by execution ${last.item.name}`);
  }
  const { spec, input } = await specOfCreate(sfn, latest.item);
  let warning: string | undefined;
  if (STOPS_FLEET.has(operation)) {
    const loss = stopDataLoss(planDeployment(spec));
    if (loss && !options.force) throw new OperationRefused(`${operation.replace('-', ' ')} refused: ${loss}`);
    if (loss) warning = loss.replace(/, then stop with --force$/, '');
  }
  const number =
    Math.max(0, ...executions.filter((each) => each.operation === operation).map((each) => each.number)) + 1;
  return {
    outcome: 'started',
    operation,
    execution: await startExecution(
      sfn,
      day2MachineArn(machines, operation),
      day2Name(create, operation, number),
      input,
    ),
    message: `${DOING[operation]} ${deployment}`,
    ...(warning ? { warning } : {}),
  };
}

/**
 * `delete --with-images` as one request that is called until it is done: while the images are not deleted yet, it
 * submits images delete (started or running, `operation: 'images-delete'`); once the last day-2 operation is a
 * successful images delete, it submits the delete of the deployment (`operation: 'delete'`).
 */
async function submitDeleteWithImages(
  sfn: SFNClient,
  machines: Machines,
  deployment: string,
): Promise<Submitted & { operation: 'images-delete' | 'delete' }> {
  const images = await submitDay2(sfn, machines, deployment, 'images-delete');
  if (images.outcome !== 'done') {
    return {
      ...images,
      operation: 'images-delete',
      message: `${images.message} first; the deployment's delete follows once it succeeds`,
    };
  }
  return { ...(await submitDelete(sfn, machines, deployment)), operation: 'delete' };
}

export type { Day2Options, Day2Submitted };
export { deploymentSpec, OperationRefused, submitDay2, submitDeleteWithImages };
