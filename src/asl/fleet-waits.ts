import { poll, pollStart, roundCounter, type States, task } from './dsl.js';
import { provisioningPhase } from './provisioning-phase.js';

/** Where a step's failure goes: the machine's failure state, with the error at `resultPath`. */
type CatchTo = { next: string; resultPath: string };

/** A provisioning phase named `name`: send its documents, then poll the commands; `next` once all are done. */
type Phase = (
  name: string,
  labels: { check: string; question: string; wait: string },
  waitSeconds: number,
  next: string,
) => States;

/**
 * Waits until every node's SSM agent is online, asking every 5 s for up to 180 rounds (15 min) of this execution.
 * The count lives in the execution, not in the instances' launch times, so a run resumed long after the fleet
 * launched (a node replaced, the NAT route fixed) gets its whole wait again. Create and start share it.
 */
export function ssmAgentsOnline(next: string, catchTo: CatchTo): States {
  return {
    ...roundCounter(
      '$.ssmAttempt',
      { start: 'Start counting SSM agent checks', count: 'Count SSM agent check' },
      'Check SSM agents',
    ),
    'Check SSM agents': task('SsmReadiness', {
      parameters: { action: 'status', 'attempt.$': '$.ssmAttempt.value', maxAttempts: 180 },
      resultPath: '$.ssm',
      next: 'Are all SSM agents online?',
      catchTo,
    }),
    'Are all SSM agents online?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.ssm.allOnline', BooleanEquals: true, Next: next }],
      Default: 'Wait for SSM agents',
    },
    'Wait for SSM agents': { Type: 'Wait', Seconds: 5, Next: 'Count SSM agent check' },
  };
}

/** The state names of a Cassandra ring wait: create's and start's first wait for a new ring, or a resize's. */
export interface RingWaitNames {
  counter: string;
  start: string;
  count: string;
  ask: string;
  check: string;
  answered: string;
  waitAnswer: string;
  judge: string;
  question: string;
  wait: string;
  /** Judge nodetool's output without the plan's node count (a resize between two ring changes). */
  ringOnly?: boolean;
}

const NEW_RING: RingWaitNames = {
  counter: '$.cassandraAttempt',
  start: 'Start counting Cassandra checks',
  count: 'Count Cassandra check',
  ask: 'Ask nodetool for Cassandra status',
  check: 'Check nodetool command',
  answered: 'Has nodetool answered?',
  waitAnswer: 'Wait for nodetool',
  judge: 'Are all Cassandra nodes UN?',
  question: 'Is the Cassandra ring complete?',
  wait: 'Wait for Cassandra nodes to join',
};

/**
 * Waits until every Cassandra node is UN, asking nodetool again every 10 s (through `phase`, the machine's way of
 * sending the `cassandra-status` documents, or those named by `names.ask`), for up to 30 rounds. Create and start
 * share it for a new ring; a resize checks the ring the same way after each node joins or leaves.
 */
export function cassandraRingComplete(
  next: string,
  catchTo: CatchTo,
  phase: Phase,
  names: RingWaitNames = NEW_RING,
): States {
  return {
    ...roundCounter(names.counter, { start: names.start, count: names.count }, names.ask),
    ...phase(
      names.ask,
      { check: names.check, question: names.answered, wait: names.waitAnswer },
      2,
      names.judge,
    ),
    [names.judge]: task('HealthCheck', {
      parameters: {
        action: 'evaluate',
        'commands.$': '$.commands.commands',
        failWhenUnhealthy: false,
        'attempt.$': `${names.counter}.value`,
        maxAttempts: 30,
        ...(names.ringOnly ? { ringOnly: true } : {}),
      },
      resultPath: '$.cassandraStatus',
      next: names.question,
      catchTo,
    }),
    [names.question]: {
      Type: 'Choice',
      Choices: [{ Variable: '$.cassandraStatus.healthy', BooleanEquals: true, Next: next }],
      Default: names.wait,
    },
    [names.wait]: { Type: 'Wait', Seconds: 10, Next: names.count },
  };
}

/** Where the NAT gateway's inputs are in the execution state. */
export interface NatGatewayInputs {
  publicSubnetId: string;
  allocationId: string;
  vpcId: string;
  privateSubnetId: string;
}

/**
 * The NAT gateway made (or found) and waited for until available, for up to 10 minutes (capideploy waits 180 s; AWS
 * documents "a few minutes"), then the private subnet routed through it: the branch create and start share. Its last
 * state ends the branch.
 */
export function natGatewayUp(paths: NatGatewayInputs): States {
  return {
    'Create NAT gateway': task('NatGateway', {
      parameters: {
        action: 'ensure',
        'publicSubnetId.$': paths.publicSubnetId,
        'allocationId.$': paths.allocationId,
      },
      resultPath: '$.nat',
      next: pollStart('Check NAT gateway state'),
    }),
    ...poll({
      check: {
        name: 'Check NAT gateway state',
        fn: 'NatGateway',
        parameters: { action: 'status', 'natGatewayId.$': '$.nat.natGatewayId' },
        resultPath: '$.nat',
      },
      question: 'Is the NAT gateway available?',
      doneWhen: { variable: '$.nat.state', equals: 'available' },
      wait: { name: 'Wait for NAT gateway', seconds: 5 },
      maxAttempts: 120,
      counter: '$.natRounds',
      enterAt: 'wait',
      next: 'Route private subnet to NAT gateway',
    }),
    'Route private subnet to NAT gateway': task('RouteTables', {
      parameters: {
        action: 'ensure',
        kind: 'private',
        'vpcId.$': paths.vpcId,
        'subnetId.$': paths.privateSubnetId,
        'targetId.$': '$.nat.natGatewayId',
      },
      resultPath: null,
    }),
  };
}

/** The wait until the NAT gateway is deleted, for up to 15 minutes (AWS deletes one in about a minute): stop and delete. */
export function natGatewayGone(next: string, catchTo: CatchTo): States {
  return poll({
    check: {
      name: 'Check NAT gateway deleted',
      fn: 'NatGateway',
      parameters: { action: 'gone' },
      resultPath: '$.nat',
    },
    question: 'Is the NAT gateway deleted?',
    doneWhen: { variable: '$.nat.gone', equals: true },
    wait: { name: 'Wait for NAT gateway deletion', seconds: 5 },
    maxAttempts: 180,
    counter: '$.natRounds',
    enterAt: 'wait',
    next,
    catchTo,
  });
}

/**
 * The cluster's health checks, create's and start's last step: each check on its node (capi-health-check), then the
 * verdict, which fails the run with HealthCheckFailed when any check is unhealthy.
 */
export function clusterHealthChecks(next: string, catchTo: CatchTo, send?: Record<string, unknown>): States {
  return {
    ...provisioningPhase({
      name: 'Run health checks',
      phase: 'health-checks',
      labels: {
        check: 'Check health-check commands',
        question: 'Have all health checks answered?',
        wait: 'Wait for health checks',
      },
      waitSeconds: 2,
      next: 'Judge cluster health',
      catchTo,
      send,
    }),
    'Judge cluster health': task('HealthCheck', {
      parameters: { action: 'evaluate', 'commands.$': '$.commands.commands', failWhenUnhealthy: true },
      resultPath: '$.health',
      next,
      catchTo,
    }),
  };
}
