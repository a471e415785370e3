import { roundCounter, type States, task } from './dsl.js';

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

/**
 * Waits until every Cassandra node is UN, asking nodetool again every 10 s (through `phase`, the machine's way of
 * sending the `cassandra-status` documents), for up to 30 rounds. Create and start share it.
 */
export function cassandraRingComplete(next: string, catchTo: CatchTo, phase: Phase): States {
  return {
    ...roundCounter(
      '$.cassandraAttempt',
      { start: 'Start counting Cassandra checks', count: 'Count Cassandra check' },
      'Ask nodetool for Cassandra status',
    ),
    ...phase(
      'Ask nodetool for Cassandra status',
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
      catchTo,
    }),
    'Is the Cassandra ring complete?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.cassandraStatus.healthy', BooleanEquals: true, Next: next }],
      Default: 'Wait for Cassandra nodes to join',
    },
    'Wait for Cassandra nodes to join': { Type: 'Wait', Seconds: 10, Next: 'Count Cassandra check' },
  };
}
