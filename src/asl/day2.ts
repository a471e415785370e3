import type { PhaseName } from '../core/phases.js';
import { poll, pollStart, type States, task } from './dsl.js';
import { provisioningPhase } from './provisioning-phase.js';

/**
 * Pieces of the day-2 state machines (stop-deployment, start-deployment, images-create): a provisioning phase (send
 * its SSM documents, then poll the commands), the fleet's wait for a state, and the stop of services and instances.
 * The waits for SSM agents and the Cassandra ring are create-deployment's (fleet-waits.ts).
 */

/** Where any failure of a day-2 machine lands: `Operation failed`, a Fail state with the step's error and cause. */
export const FAILED = { next: 'Operation failed', resultPath: '$.failure' };

export const failState = {
  'Operation failed': { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
};

/** One provisioning phase of a day-2 machine: send its documents to the fleet's running nodes, then poll them. */
export function phase(
  name: string,
  phaseName: PhaseName,
  labels: { check: string; question: string; wait: string },
  waitSeconds: number,
  next: string,
): States {
  return provisioningPhase({ name, phase: phaseName, labels, waitSeconds, next, catchTo: FAILED });
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

/**
 * The start of stop-deployment and images-create: the spec validated, the services stopped in order (daemons and
 * webapi, RabbitMQ and Prometheus, then Cassandra after `nodetool drain`), then the instances, waited for until all are
 * stopped; then `next`.
 */
export function stopServicesAndFleet(next: string): States {
  return {
    'Validate the deployment spec': task('DeploymentPlan', {
      parameters: { action: 'validate', 'spec.$': '$' },
      next: 'Stop daemons and webapi',
      catchTo: FAILED,
    }),
    ...phase(
      'Stop daemons and webapi',
      'stop-applications',
      {
        check: 'Check daemons and webapi stopped',
        question: 'Have daemons and webapi stopped?',
        wait: 'Wait for daemons and webapi to stop',
      },
      5,
      'Stop RabbitMQ and Prometheus',
    ),
    ...phase(
      'Stop RabbitMQ and Prometheus',
      'stop-broker',
      {
        check: 'Check RabbitMQ and Prometheus stopped',
        question: 'Have RabbitMQ and Prometheus stopped?',
        wait: 'Wait for RabbitMQ and Prometheus to stop',
      },
      5,
      'Drain and stop Cassandra',
    ),
    ...phase(
      'Drain and stop Cassandra',
      'stop-cassandra',
      {
        check: 'Check Cassandra drained and stopped',
        question: 'Is Cassandra drained and stopped everywhere?',
        wait: 'Wait for Cassandra to drain',
      },
      5,
      'Stop instances',
    ),
    'Stop instances': task('FleetPower', {
      comment: 'StopInstances for every pending or running instance of the deployment, 50 per call.',
      parameters: { action: 'stop' },
      resultPath: '$.stop',
      catchTo: FAILED,
      next: pollStart('Check instances stopped'),
    }),
    ...fleetWait(
      'stopped',
      {
        check: 'Check instances stopped',
        question: 'Are all instances stopped?',
        wait: 'Wait for instances to stop',
      },
      next,
      FAILED,
    ),
  };
}
