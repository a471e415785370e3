import { parallel, poll, type Retrier, type States, task } from './dsl.js';

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
      'Terminate instances': step('Instances', 'instances', 'Wait for instances to terminate', 'terminate'),
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
        next: 'Delete bastion log volume',
        catchTo: { next: 'Delete bastion log volume', resultPath: '$.errors.instances' },
      }),
      'Delete bastion log volume': task('Volumes', {
        comment: 'Detaches the volume if needed, then deletes it once available; loops while it detaches.',
        parameters: { action: 'delete' },
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
      'Wait for log volume to detach': { Type: 'Wait', Seconds: 3, Next: 'Delete bastion log volume' },
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
      'Delete NAT gateway': step('NatGateway', 'natGateway', 'Wait for NAT gateway deletion'),
      ...poll({
        check: {
          name: 'Check NAT gateway deleted',
          fn: 'NatGateway',
          parameters: { action: 'gone' },
          resultPath: '$.nat',
        },
        question: 'Is the NAT gateway deleted?',
        doneWhen: { variable: '$.nat.gone', equals: true },
        wait: { name: 'Wait for NAT gateway deletion', seconds: 5 },
        next: 'NAT gateway removed',
        catchTo: { next: 'NAT gateway removed', resultPath: '$.errors.natGateway' },
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
      'Delete deployment secrets': step('Secrets', 'secrets', 'List what is left'),
      'List what is left': task('Inventory', {
        comment:
          'Fails with ResourcesLeft, naming each leftover, its id and why, unless nothing is tagged any more.',
        parameters: { action: 'leftovers', 'errors.$': '$.errors', 'branchErrors.$': '$.branchErrors' },
        resultPath: '$.inventory',
        catchTo: { next: 'Resources left', resultPath: '$.failure' },
        next: 'Deployment deleted',
      }),
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
