import type { PhaseName } from '../core/phases.js';
import { parallel, poll, pollStart, type Retrier, roundCounter, type States, task } from './dsl.js';
import {
  cassandraRingComplete,
  clusterHealthChecks,
  natGatewayUp,
  type RingWaitNames,
  ssmAgentsOnline,
} from './fleet-waits.js';
import { provisioningPhase } from './provisioning-phase.js';

/**
 * The bound of the launch loop, in runs of "Launch instances": each run launches for at most 10 s at EC2's
 * RunInstances rate (2 a second; LAUNCH_BUDGET_SECONDS in functions/instances), so the spec's largest fleet, 2,003
 * nodes, takes about 100 runs; 300 leaves room for heavy throttling.
 */
const LAUNCH_MAX_RUNS = 300;

/** Where any failure of the create lands, before the onFailure choice. */
const FAILED = { next: 'Create failed', resultPath: '$.failure' };

const PROFILE_PROPAGATION: Retrier = {
  ErrorEquals: ['InstanceProfileNotReady'],
  IntervalSeconds: 3,
  BackoffRate: 1.5,
  MaxAttempts: 8,
  MaxDelaySeconds: 30,
};
const CAPACITY: Retrier = {
  ErrorEquals: ['InsufficientCapacity'],
  IntervalSeconds: 60,
  BackoffRate: 2,
  MaxAttempts: 3,
};

/** Network and identity: everything that needs nothing but the spec. */
function networkAndIdentity(next: string) {
  return parallel(
    [
      {
        startAt: 'Allocate elastic IPs',
        states: {
          'Allocate elastic IPs': task('ElasticIps', {
            parameters: { action: 'ensure' },
            resultPath: '$.elasticIps',
          }),
        },
      },
      {
        startAt: 'Create VPC',
        states: {
          'Create VPC': task('Vpc', {
            parameters: { action: 'ensure' },
            resultPath: '$.vpc',
            next: pollStart('Check VPC state'),
          }),
          ...poll({
            check: {
              name: 'Check VPC state',
              fn: 'Vpc',
              parameters: { action: 'status', 'vpcId.$': '$.vpc.vpcId' },
              resultPath: '$.vpc',
            },
            question: 'Is the VPC available?',
            doneWhen: { variable: '$.vpc.state', equals: 'available' },
            wait: { name: 'Wait for VPC', seconds: 2 },
            // 2 minutes: a VPC is available within seconds.
            maxAttempts: 60,
            counter: '$.vpcRounds',
            enterAt: 'question',
            next: 'Create subnets',
          }),
          'Create subnets': task('Subnets', {
            parameters: { action: 'ensure', 'vpcId.$': '$.vpc.vpcId' },
            resultPath: '$.subnets',
            next: 'Create security groups',
          }),
          'Create security groups': task('SecurityGroups', {
            parameters: { action: 'ensure', 'vpcId.$': '$.vpc.vpcId' },
            resultPath: '$.securityGroups',
            next: 'Create and attach internet gateway',
          }),
          'Create and attach internet gateway': task('InternetGateway', {
            parameters: { action: 'ensure', 'vpcId.$': '$.vpc.vpcId' },
            resultPath: '$.internetGateway',
            next: 'Route public subnet to internet gateway',
          }),
          'Route public subnet to internet gateway': task('RouteTables', {
            parameters: {
              action: 'ensure',
              kind: 'public',
              'vpcId.$': '$.vpc.vpcId',
              'subnetId.$': '$.subnets.publicSubnetId',
              'targetId.$': '$.internetGateway.internetGatewayId',
            },
            resultPath: null,
          }),
        },
      },
      {
        startAt: 'Create instance role and profile',
        states: {
          'Create instance role and profile': task('InstanceRole', {
            parameters: { action: 'ensure' },
            resultPath: '$.instanceRole',
          }),
        },
      },
      {
        startAt: 'Generate deployment secrets',
        states: {
          'Generate deployment secrets': task('Secrets', {
            comment:
              'SecureString parameters under the deployment path; only their names enter the execution.',
            parameters: { action: 'ensure' },
            resultPath: null,
          }),
        },
      },
    ],
    {
      comment:
        'Elastic IPs, the VPC with its subnets, security groups and internet gateway, the instance role and the generated secrets, side by side.',
      resultSelector: {
        'elasticIps.$': '$[0].elasticIps',
        'instanceProfileArn.$': '$[2].instanceRole.instanceProfileArn',
        'vpcId.$': '$[1].vpc.vpcId',
        'privateSubnetId.$': '$[1].subnets.privateSubnetId',
        'publicSubnetId.$': '$[1].subnets.publicSubnetId',
        'bastionSecurityGroupId.$': '$[1].securityGroups.bastionSecurityGroupId',
        'internalSecurityGroupId.$': '$[1].securityGroups.internalSecurityGroupId',
      },
      resultPath: '$.network',
      catchTo: FAILED,
      next,
    },
  );
}

/** The NAT gateway comes up (minutes) while the whole fleet launches: instances do not need it to boot. */
function natGatewayAndFleet(next: string) {
  return parallel(
    [
      {
        startAt: 'Create NAT gateway',
        states: {
          ...natGatewayUp({
            publicSubnetId: '$.network.publicSubnetId',
            allocationId: '$.network.elasticIps.nat.allocationId',
            vpcId: '$.network.vpcId',
            privateSubnetId: '$.network.privateSubnetId',
          }),
        },
      },
      {
        startAt: 'Start counting launch runs',
        states: {
          ...roundCounter(
            '$.launchRuns',
            { start: 'Start counting launch runs', count: 'Count a launch run' },
            'Launch instances',
          ),
          'Launch instances': task('Instances', {
            comment:
              "RunInstances per node with a ClientToken, so a redrive never launches twice; at EC2's RunInstances rate (2 a second), for at most 10 s a run, then it answers how many nodes are left and runs again.",
            parameters: {
              action: 'launch',
              'privateSubnetId.$': '$.network.privateSubnetId',
              'publicSubnetId.$': '$.network.publicSubnetId',
              'bastionSecurityGroupId.$': '$.network.bastionSecurityGroupId',
              'internalSecurityGroupId.$': '$.network.internalSecurityGroupId',
              'instanceProfileArn.$': '$.network.instanceProfileArn',
              'amiId.$': '$.preflight.amiId',
              'attempt.$': '$.launchRuns.value',
              // A bounded loop: 2,003 nodes (the spec's maximum) take about 70 runs.
              maxAttempts: LAUNCH_MAX_RUNS,
            },
            retry: [PROFILE_PROPAGATION, CAPACITY],
            resultPath: '$.launch',
            next: 'Is every node launched?',
          }),
          'Is every node launched?': {
            Type: 'Choice',
            Choices: [
              { Variable: '$.launch.done', BooleanEquals: true, Next: pollStart('Check instances state') },
            ],
            Default: 'Count a launch run',
          },
          ...poll({
            check: {
              name: 'Check instances state',
              fn: 'Instances',
              parameters: { action: 'status' },
              resultPath: '$.instances',
            },
            question: 'Are all instances running?',
            doneWhen: { variable: '$.instances.allRunning', equals: true },
            wait: { name: 'Wait for instances', seconds: 5 },
            // 10 minutes: capideploy waits 120 s for running.
            maxAttempts: 120,
            counter: '$.instanceRounds',
            enterAt: 'wait',
            next: 'Give the bastion its public address',
          }),
          'Give the bastion its public address': task('BastionAddress', {
            parameters: {
              action: 'associate',
              'allocationId.$': '$.network.elasticIps.bastion.allocationId',
            },
            resultPath: '$.bastionAddress',
            next: 'Start counting log volume checks',
          }),
          ...roundCounter(
            '$.volumeRounds',
            { start: 'Start counting log volume checks', count: 'Count log volume check' },
            'Attach bastion log volume',
          ),
          'Attach bastion log volume': task('Volumes', {
            // 5 minutes (2 s rounds): capideploy waits 30 s for attached.
            parameters: { action: 'ensure', 'attempt.$': '$.volumeRounds.value', maxAttempts: 150 },
            resultPath: '$.logVolume',
            next: 'Is the log volume attached?',
          }),
          'Is the log volume attached?': {
            Type: 'Choice',
            Choices: [{ Variable: '$.logVolume.attached', BooleanEquals: true, Next: 'Fleet launched' }],
            Default: 'Wait for log volume',
          },
          'Wait for log volume': { Type: 'Wait', Seconds: 2, Next: 'Count log volume check' },
          'Fleet launched': { Type: 'Pass', End: true },
        },
      },
    ],
    {
      comment: 'The NAT gateway takes minutes; the fleet launches and boots meanwhile.',
      resultSelector: {
        'natGatewayId.$': '$[0].nat.natGatewayId',
        'bastionPublicIp.$': '$[1].bastionAddress.publicIp',
        'logVolumeId.$': '$[1].logVolume.volumeId',
        'instances.$': '$[1].instances.total',
      },
      resultPath: '$.fleet',
      catchTo: FAILED,
      next,
    },
  );
}

/** Every send of create carries the bastion's log volume, which its install and configure mount. */
const LOG_VOLUME = { 'logVolumeId.$': '$.fleet.logVolumeId' };

/** One provisioning phase of create, named by its send step (PHASE_OF). */
function phase(
  name: string,
  labels: { check: string; question: string; wait: string },
  waitSeconds: number,
  next: string,
  send: Record<string, unknown> = {},
): States {
  return provisioningPhase({
    name,
    phase: PHASE_OF[name],
    labels,
    waitSeconds,
    next,
    catchTo: FAILED,
    send: { ...LOG_VOLUME, ...send },
  });
}

const PHASE_OF: Record<string, PhaseName> = {
  'Install software on every node': 'install',
  'Configure and start Cassandra': 'configure-cassandra',
  'Ask nodetool for Cassandra status': 'cassandra-status',
  'Join the next Cassandra node': 'join-cassandra',
  'Decommission the next Cassandra node': 'decommission-cassandra',
  'Ask nodetool whether the ring is healthy': 'ring-status',
  'Clean up Cassandra nodes': 'cleanup-cassandra',
  'Drain removed daemons': 'drain-daemons',
  'Configure RabbitMQ, Prometheus, daemons and bastion': 'configure-services',
};

const READ_RING = 'Read the Cassandra ring';

/**
 * How often a join or a decommission is polled. Each streams a node's range at 24 MiB/s (about 35 min for 50 GiB),
 * and every poll round is about 6 history events: at 30 s a ring of 100 GiB nodes grown 4 to 8 stays near 5,000
 * events, far from Step Functions' 25,000 per execution (at 10 s it took 11,590).
 */
const RANGE_MOVEMENT_POLL_SECONDS = 30;

/**
 * After each join or decommission the ring must be healthy again before the next change: every node nodetool lists
 * is UN and every range has a live owner (the `ring-status` check expects no node count: the ring is between sizes).
 */
const RING_AFTER_CHANGE: RingWaitNames = {
  counter: '$.ringAttempt',
  start: 'Start counting ring checks',
  count: 'Count ring check',
  ask: 'Ask nodetool whether the ring is healthy',
  check: 'Check the ring command',
  answered: 'Has nodetool answered about the ring?',
  waitAnswer: 'Wait for the ring command',
  judge: 'Are all nodes of the ring UN?',
  question: 'Is the ring healthy again?',
  wait: 'Wait for the ring to settle',
  ringOnly: true,
};
const CONFIGURE_SERVICES = 'Configure RabbitMQ, Prometheus, daemons and bastion';

/**
 * The Cassandra ring, new or resized (src/core/resize.ts). A new ring starts every node at once (each with its fixed
 * token, auto_bootstrap off: nothing to stream). A running ring changes one node at a time, as Cassandra requires
 * (consistent range movement: reference/ops-facts.md §1.1, §1.2): each new node bootstraps (its configure waits until
 * it is UN), then each removed node is decommissioned, highest first; the loop reads the ring again after every
 * change, from the nodes' provisioning tags, so a re-run resumes where it stopped. Then every node drops the data it
 * no longer owns (nodetool cleanup, once per ring size).
 */
function cassandraRing(next: string): States {
  return {
    [READ_RING]: task('Provisioning', {
      comment:
        'Which Cassandra node joins or leaves next, from the instances’ provisioning tags; refuses a node count the ring’s tokens cannot take.',
      parameters: { action: 'ring' },
      resultPath: '$.ring',
      next: 'What changes in the Cassandra ring?',
      catchTo: FAILED,
    }),
    'What changes in the Cassandra ring?': {
      Type: 'Choice',
      Choices: [
        { Variable: '$.ring.next', StringEquals: 'configure', Next: 'Configure and start Cassandra' },
        { Variable: '$.ring.next', StringEquals: 'join', Next: 'Join the next Cassandra node' },
        {
          Variable: '$.ring.next',
          StringEquals: 'decommission',
          Next: 'Decommission the next Cassandra node',
        },
      ],
      Default: 'Has the ring changed size?',
    },
    'Has the ring changed size?': {
      Type: 'Choice',
      Comment: 'A node configured for another ring size holds data of ranges it no longer owns.',
      Choices: [{ Variable: '$.ring.cleanup', BooleanEquals: true, Next: 'Clean up Cassandra nodes' }],
      Default: next,
    },
    ...phase(
      'Configure and start Cassandra',
      {
        check: 'Check Cassandra configuration',
        question: 'Is Cassandra configured everywhere?',
        wait: 'Wait for Cassandra configuration',
      },
      5,
      'Start counting Cassandra checks',
    ),
    ...cassandraRingComplete(READ_RING, FAILED, phase),
    ...phase(
      'Join the next Cassandra node',
      { check: 'Check the join', question: 'Has the node joined?', wait: 'Wait for the join' },
      RANGE_MOVEMENT_POLL_SECONDS,
      RING_AFTER_CHANGE.start,
      { 'nodes.$': 'States.Array($.ring.node)' },
    ),
    ...phase(
      'Decommission the next Cassandra node',
      {
        check: 'Check the decommission',
        question: 'Has the node left the ring?',
        wait: 'Wait for the decommission',
      },
      RANGE_MOVEMENT_POLL_SECONDS,
      RING_AFTER_CHANGE.start,
      { 'nodes.$': 'States.Array($.ring.node)' },
    ),
    ...cassandraRingComplete(READ_RING, FAILED, phase, RING_AFTER_CHANGE),
    ...phase(
      'Clean up Cassandra nodes',
      { check: 'Check cleanups', question: 'Are all cleanups done?', wait: 'Wait for cleanups' },
      5,
      next,
    ),
  };
}

/** Removed nodes: daemons drained before the services are reconfigured without them, then every removed instance terminated. */
function removedNodes(next: string): { drain: States; terminate: States } {
  return {
    drain: {
      'Are there removed daemons to drain?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.ring.drain', NumericGreaterThan: 0, Next: 'Drain removed daemons' }],
        Default: CONFIGURE_SERVICES,
      },
      ...phase(
        'Drain removed daemons',
        { check: 'Check drains', question: 'Are removed daemons drained?', wait: 'Wait for drains' },
        5,
        CONFIGURE_SERVICES,
      ),
    },
    terminate: {
      'Are there removed nodes to terminate?': {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.ring.terminate',
            NumericGreaterThan: 0,
            Next: pollStart('Terminate removed nodes'),
          },
        ],
        Default: next,
      },
      ...poll({
        check: {
          name: 'Terminate removed nodes',
          fn: 'Instances',
          parameters: { action: 'terminate-removed' },
          resultPath: '$.removed',
        },
        question: 'Are removed nodes terminated?',
        doneWhen: { variable: '$.removed.allTerminated', equals: true },
        wait: { name: 'Wait for removed nodes', seconds: 5 },
        // 10 minutes: a termination takes about a minute.
        maxAttempts: 120,
        counter: '$.removedRounds',
        next,
        catchTo: FAILED,
      }),
    },
  };
}

/** Provisioning over SSM Run Command, in capideploy's order, ending with health checks of the whole cluster. */
function provisioning(next: string): States {
  const removed = removedNodes('Run health checks');
  return {
    'Is this a restore from images?': {
      Type: 'Choice',
      Comment:
        'A restore (spec.fromImages) launched every node from its image, software installed: provisioning is configure, start and health checks.',
      Choices: [{ Variable: '$.spec.fromImages', IsPresent: true, Next: READ_RING }],
      Default: 'Install software on every node',
    },
    ...phase(
      'Install software on every node',
      { check: 'Check installs', question: 'Are all installs done?', wait: 'Wait for installs' },
      10,
      READ_RING,
    ),
    ...cassandraRing('Are there removed daemons to drain?'),
    ...removed.drain,
    ...phase(
      CONFIGURE_SERVICES,
      {
        check: 'Check service configuration',
        question: 'Are all services configured?',
        wait: 'Wait for service configuration',
      },
      5,
      'Are there removed nodes to terminate?',
    ),
    ...removed.terminate,
    ...clusterHealthChecks(next, FAILED, LOG_VOLUME),
  };
}

/** The create-deployment state machine. */
export function createDeployment(): {
  Comment: string;
  StartAt: string;
  States: States;
  TimeoutSeconds: number;
} {
  return {
    Comment:
      'Creates a Capillaries deployment: network, instance role, fleet, SSM readiness. Every step is idempotent: run it again to resume after a failure.',
    StartAt: 'Validate the deployment spec',
    TimeoutSeconds: 4 * 3600,
    States: {
      'Validate the deployment spec': task('DeploymentPlan', {
        parameters: { action: 'validate', 'spec.$': '$' },
        next: 'Check AMI, instance types and quota',
        catchTo: { next: 'Spec or preflight failed', resultPath: '$.failure' },
      }),
      'Check AMI, instance types and quota': task('Preflight', {
        parameters: { action: 'check' },
        resultPath: '$.preflight',
        next: 'Create network and instance role',
        catchTo: { next: 'Spec or preflight failed', resultPath: '$.failure' },
      }),
      'Create network and instance role': networkAndIdentity('Launch fleet while NAT gateway comes up'),
      'Launch fleet while NAT gateway comes up': natGatewayAndFleet('Start counting SSM agent checks'),
      ...ssmAgentsOnline('Is this a restore from images?', FAILED),
      ...provisioning('Deployment ready'),
      'Deployment ready': {
        Type: 'Pass',
        Parameters: {
          'deployment.$': '$.spec.name',
          'health.$': '$.health.results',
          'bastionPublicIp.$': '$.fleet.bastionPublicIp',
          'instances.$': '$.fleet.instances',
          'vpcId.$': '$.network.vpcId',
        },
        End: true,
      },
      'Create failed': {
        Type: 'Choice',
        Comment:
          'spec.onFailure: keep (default) leaves resources to fix and resume; delete tears the deployment down.',
        Choices: [
          { Variable: '$.spec.onFailure', StringEquals: 'delete', Next: 'Delete everything after failure' },
        ],
        Default: 'Deployment failed',
      },
      'Delete everything after failure': {
        Type: 'Task',
        Comment:
          "Starts delete-deployment and does not wait for it (no .sync): the teardown runs with its own whole TimeoutSeconds, however late the create failed, and this create fails now with its original error and cause; this step's output ($.teardown.ExecutionArn) names the teardown execution.",
        // Fire and forget: StartExecution answers { ExecutionArn, StartDate } at once. With .sync the teardown was a
        // child bounded by what was left of this create's 4 h (aws-facts.md: a state's time counts against its
        // execution's), so a create failing after 1 h 55 min had its teardown cut off.
        Resource: 'arn:aws:states:::states:startExecution',
        Parameters: {
          StateMachineArn: '${DeleteDeploymentStateMachineArn}',
          'Input.$': '$.spec',
          // The first delete of this create, as the API and the CLI name deletes (deleteName in
          // src/core/lifecycle.ts), so GET /deployments/{name} reports the teardown. A fixed `-delete-1` cannot
          // collide: the lifecycle starts a delete only after the create ended, and a rerun (new generation) has a new
          // create name. The state runs again in the same execution only when this create is redriven: Step Functions
          // then answers the same name and input with the teardown still running (idempotent: aws-facts.md,
          // StartExecution idempotency), or refuses a finished one (ExecutionAlreadyExists), which the Catch turns
          // into this create's failure, and DELETE /deployments/{name} starts `-delete-2`. A name counted from
          // $$.Execution.RedriveCount would instead collide with the deletes the lifecycle numbers itself.
          // Execution names are at most 80 characters: the API's and the CLI's creates are far shorter; a console run
          // named over 71 fails here with InvalidName (caught, the cause says so) and is deleted by hand.
          'Name.$': "States.Format('{}-delete-1', $$.Execution.Name)",
        },
        ResultPath: '$.teardown',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.teardownFailure', Next: 'Deployment failed' }],
        Next: 'Deployment failed',
      },
      'Deployment failed': { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
      'Spec or preflight failed': {
        Type: 'Fail',
        Comment: 'Nothing was created.',
        ErrorPath: '$.failure.Error',
        CausePath: '$.failure.Cause',
      },
    },
  };
}
