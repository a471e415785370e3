import { parallel, poll, pollStart, type Retrier, roundCounter, type States, task } from './dsl.js';
import { natGatewayGone } from './fleet-waits.js';

/** Deletes that AWS refuses while dependents are still going away are retried, for up to ~8 minutes. */
const DEPENDENCY: Retrier = {
  ErrorEquals: ['DependencyViolation'],
  IntervalSeconds: 5,
  BackoffRate: 1.5,
  MaxAttempts: 10,
  MaxDelaySeconds: 60,
};

/** A teardown step that records its failure under `$.errors.<key>` and carries on with the next step. */
function step(fn: Parameters<typeof task>[0], key: string, next: string, action = 'delete') {
  return task(fn, {
    parameters: { action },
    resultPath: null,
    retry: [DEPENDENCY],
    catchTo: { next, resultPath: `$.errors.${key}` },
    next,
  });
}

function fleetBranch() {
  return {
    startAt: 'Terminate instances',
    states: {
      'Terminate instances': step(
        'Instances',
        'instances',
        pollStart('Check instances terminated'),
        'terminate',
      ),
      ...poll({
        check: {
          name: 'Check instances terminated',
          fn: 'Instances',
          parameters: { action: 'terminated' },
          resultPath: '$.terminated',
        },
        question: 'Are all instances terminated?',
        doneWhen: { variable: '$.terminated.allTerminated', equals: true },
        wait: { name: 'Wait for instances to terminate', seconds: 5 },
        // 15 minutes: termination takes about a minute.
        maxAttempts: 180,
        counter: '$.terminateRounds',
        enterAt: 'wait',
        next: 'Start counting log volume deletes',
        catchTo: { next: 'Start counting log volume deletes', resultPath: '$.errors.instances' },
      }),
      ...roundCounter(
        '$.volumeRounds',
        { start: 'Start counting log volume deletes', count: 'Count log volume delete' },
        'Delete bastion log volume',
      ),
      'Delete bastion log volume': task('Volumes', {
        comment: 'Detaches the volume if needed, then deletes it once available; loops while it detaches.',
        // 5 minutes (3 s rounds): a detach takes seconds.
        parameters: { action: 'delete', 'attempt.$': '$.volumeRounds.value', maxAttempts: 100 },
        resultPath: '$.logVolume',
        retry: [DEPENDENCY],
        catchTo: { next: 'Delete security groups', resultPath: '$.errors.volumes' },
        next: 'Is the log volume gone?',
      }),
      'Is the log volume gone?': {
        Type: 'Choice',
        Choices: [
          { Variable: '$.logVolume.waiting', BooleanEquals: true, Next: 'Wait for log volume to detach' },
        ],
        Default: 'Delete security groups',
      },
      'Wait for log volume to detach': { Type: 'Wait', Seconds: 3, Next: 'Count log volume delete' },
      'Delete security groups': step('SecurityGroups', 'securityGroups', 'Delete instance role and profile'),
      'Delete instance role and profile': step('InstanceRole', 'instanceRole', 'Fleet removed'),
      'Fleet removed': { Type: 'Pass', End: true },
    },
  };
}

function natGatewayBranch() {
  return {
    startAt: 'Delete NAT gateway',
    states: {
      'Delete NAT gateway': step('NatGateway', 'natGateway', pollStart('Check NAT gateway deleted')),
      ...natGatewayGone('NAT gateway removed', {
        next: 'NAT gateway removed',
        resultPath: '$.errors.natGateway',
      }),
      'NAT gateway removed': { Type: 'Pass', End: true },
    },
  };
}

/** The delete-deployment state machine: dependency order, going on past failures, ending with an inventory. */
export function deleteDeployment(): {
  Comment: string;
  StartAt: string;
  States: States;
  TimeoutSeconds: number;
} {
  return {
    Comment:
      'Deletes everything a Capillaries deployment owns, found by its tags, in dependency order; ends FAILED listing whatever is still tagged.',
    StartAt: 'Validate the deployment spec',
    TimeoutSeconds: 2 * 3600,
    States: {
      'Validate the deployment spec': task('DeploymentPlan', {
        parameters: { action: 'validate', 'spec.$': '$' },
        next: 'Start teardown',
        catchTo: { next: 'Spec is invalid', resultPath: '$.failure' },
      }),
      'Start teardown': {
        Type: 'Pass',
        Result: {},
        ResultPath: '$.errors',
        Next: 'Remove fleet and NAT gateway',
      },
      'Remove fleet and NAT gateway': parallel([fleetBranch(), natGatewayBranch()], {
        comment: 'Instances terminate while the NAT gateway is deleted; both take minutes.',
        resultSelector: { 'fleet.$': '$[0].errors', 'natGateway.$': '$[1].errors' },
        resultPath: '$.branchErrors',
        next: 'Detach and delete internet gateway',
      }),
      'Detach and delete internet gateway': step('InternetGateway', 'internetGateway', 'Delete subnets'),
      'Delete subnets': step('Subnets', 'subnets', 'Delete route tables'),
      'Delete route tables': step('RouteTables', 'routeTables', 'Delete VPC'),
      'Delete VPC': step('Vpc', 'vpc', 'Release elastic IPs'),
      'Release elastic IPs': step('ElasticIps', 'elasticIps', 'Delete deployment secrets'),
      'Delete deployment secrets': step('Secrets', 'secrets', 'Start counting inventory checks'),
      ...roundCounter(
        '$.inventoryRounds',
        { start: 'Start counting inventory checks', count: 'Count inventory check' },
        'List what is left',
      ),
      'List what is left': task('Inventory', {
        comment:
          'The union of the tagging API, tag-filtered describes and what is untagged in the VPC. Fails with ResourcesLeft naming each leftover, its id and why, or TeardownStepsFailed when a step failed although nothing is left.',
        parameters: {
          action: 'leftovers',
          'errors.$': '$.errors',
          'branchErrors.$': '$.branchErrors',
          'attempt.$': '$.inventoryRounds.value',
          // Rides out the tagging API's and EC2's eventual consistency: 6 looks, 20 s apart.
          maxAttempts: 6,
        },
        resultPath: '$.inventory',
        catchTo: { next: 'Resources left', resultPath: '$.failure' },
        next: 'Is everything gone?',
      }),
      'Is everything gone?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.inventory.settled', BooleanEquals: true, Next: 'Deployment deleted' }],
        Default: 'Wait for deletes to settle',
      },
      'Wait for deletes to settle': { Type: 'Wait', Seconds: 20, Next: 'Count inventory check' },
      'Deployment deleted': {
        Type: 'Pass',
        Parameters: { 'deployment.$': '$.spec.name', 'inventory.$': '$.inventory' },
        End: true,
      },
      'Resources left': { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
      'Spec is invalid': { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
    },
  };
}
