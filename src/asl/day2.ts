import { type PhaseName, phaseMaxRounds } from '../core/phases.js';
import { poll, pollStart, roundCounter, type States, task } from './dsl.js';

/**
 * Pieces of the day-2 state machines (stop-deployment, start-deployment): a provisioning phase (send its SSM
 * documents, then poll the commands), the wait for SSM agents and the Cassandra ring, with the same bounds and
 * conventions as create-deployment's.
 */

/** Where any failure of a day-2 machine lands: `Operation failed`, a Fail state with the step's error and cause. */
export const FAILED = { next: 'Operation failed', resultPath: '$.failure' };

export const failState = {
  'Operation failed': { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
};

/** One provisioning phase: send its documents to the fleet's running nodes, then poll the commands until done. */
export function phase(
  name: string,
  phaseName: PhaseName,
  labels: { check: string; question: string; wait: string },
  waitSeconds: number,
  next: string,
): States {
  return {
    [name]: task('Provisioning', {
      parameters: { action: 'send', phase: phaseName },
      idempotent: false,
      resultPath: '$.commands',
      next: pollStart(labels.check),
      catchTo: FAILED,
    }),
    ...poll({
      check: {
        name: labels.check,
        fn: 'Provisioning',
        parameters: { action: 'status', 'commands.$': '$.commands.commands' },
        resultPath: '$.progress',
      },
      question: labels.question,
      doneWhen: { variable: '$.progress.done', equals: true },
      wait: { name: labels.wait, seconds: waitSeconds },
      maxAttempts: phaseMaxRounds(phaseName, waitSeconds),
      counter: '$.commandRounds',
      enterAt: 'wait',
      next,
      catchTo: FAILED,
    }),
  };
}

/** Waits until every node's SSM agent is online again: 180 rounds of 5 s, as create-deployment. */
export function ssmAgents(next: string): States {
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
      catchTo: FAILED,
    }),
    'Are all SSM agents online?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.ssm.allOnline', BooleanEquals: true, Next: next }],
      Default: 'Wait for SSM agents',
    },
    'Wait for SSM agents': { Type: 'Wait', Seconds: 5, Next: 'Count SSM agent check' },
  };
}

/** Waits until every Cassandra node is UN: nodetool asked again every 10 s, for up to 30 rounds. */
export function cassandraRing(next: string): States {
  return {
    ...roundCounter(
      '$.cassandraAttempt',
      { start: 'Start counting Cassandra checks', count: 'Count Cassandra check' },
      'Ask nodetool for Cassandra status',
    ),
    ...phase(
      'Ask nodetool for Cassandra status',
      'cassandra-status',
      { check: 'Check nodetool command', question: 'Has nodetool answered?', wait: 'Wait for nodetool' },
      2,
      'Are all Cassandra nodes UN?',
    ),
    'Are all Cassandra nodes UN?': task('HealthCheck', {
      parameters: {
        action: 'evaluate',
        'commands.$': '$.commands.commands',
        failWhenUnhealthy: false,
        'attempt.$': '$.cassandraAttempt.value',
        maxAttempts: 30,
      },
      resultPath: '$.cassandraStatus',
      next: 'Is the Cassandra ring complete?',
      catchTo: FAILED,
    }),
    'Is the Cassandra ring complete?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.cassandraStatus.healthy', BooleanEquals: true, Next: next }],
      Default: 'Wait for Cassandra nodes to join',
    },
    'Wait for Cassandra nodes to join': { Type: 'Wait', Seconds: 10, Next: 'Count Cassandra check' },
  };
}

/**
 * The fleet's wait for a state (stopped, running): one DescribeInstances per round, 120 rounds of 5 s. Inside a Parallel
 * branch it has no `catchTo` (the Parallel's Catch takes its failure).
 */
export function fleetWait(
  action: 'stopped' | 'running',
  names: { check: string; question: string; wait: string },
  next: string,
  catchTo?: typeof FAILED,
): States {
  return poll({
    check: { name: names.check, fn: 'FleetPower', parameters: { action }, resultPath: '$.fleetState' },
    question: names.question,
    doneWhen: { variable: '$.fleetState.done', equals: true },
    wait: { name: names.wait, seconds: 5 },
    // 10 minutes: a stop or a start takes about a minute.
    maxAttempts: 120,
    counter: '$.fleetRounds',
    enterAt: 'wait',
    next,
    catchTo,
  });
}
