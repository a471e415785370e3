import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseCause } from '../../src/core/errors.js';
import {
  fetchExecutionHistory,
  HistoryParser,
  recordFromSfnHistory,
  sfnExecutionSource,
} from '../../src/core/history.js';
import { renderHistory } from '../../src/report/history.js';

const sfn = mockClient(SFNClient);
const START = new Date('2026-11-24T10:00:00Z');
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:CapiDeploy-create-deployment';
const EXECUTION =
  'arn:aws:states:us-east-1:123456789012:execution:CapiDeploy-create-deployment:sample-0123456789-1';
const FN = 'arn:aws:lambda:us-east-1:123456789012:function:capideploy';
const SPEC = JSON.stringify({ name: 'sample', region: 'us-east-1' });

/**
 * Writes a history the way Step Functions does: ids in order, each event pointing at the event it follows
 * (`previousEventId`), timestamps in seconds from START.
 */
class History {
  readonly events: HistoryEvent[] = [];
  add(type: string, previous: number, seconds: number, details: Partial<HistoryEvent> = {}): number {
    const id = this.events.length + 1;
    this.events.push({
      id,
      ...(previous > 0 ? { previousEventId: previous } : {}),
      type: type as HistoryEvent['type'],
      timestamp: new Date(START.getTime() + seconds * 1000),
      ...details,
    });
    return id;
  }
  entered(kind: string, name: string, previous: number, seconds: number): number {
    return this.add(`${kind}StateEntered`, previous, seconds, {
      stateEnteredEventDetails: { name, input: '{}' },
    });
  }
  exited(kind: string, name: string, previous: number, seconds: number): number {
    return this.add(`${kind}StateExited`, previous, seconds, {
      stateExitedEventDetails: { name, output: '{}' },
    });
  }
  /** A Task state calling one Lambda that succeeds: Entered, Scheduled, Started, Succeeded, Exited. */
  task(name: string, previous: number, from: number, to: number): number {
    const entered = this.entered('Task', name, previous, from);
    const scheduled = this.add('LambdaFunctionScheduled', entered, from, {
      lambdaFunctionScheduledEventDetails: { resource: `${FN}-x`, input: '{}' },
    });
    const started = this.add('LambdaFunctionStarted', scheduled, from);
    const succeeded = this.add('LambdaFunctionSucceeded', started, to, {
      lambdaFunctionSucceededEventDetails: { output: '{}' },
    });
    return this.exited('Task', name, succeeded, to);
  }
  /** Check → Choice (→ Wait → Check …) `polls` times, every 10 s. */
  pollLoop(
    check: string,
    choice: string,
    wait: string,
    previous: number,
    from: number,
    polls: number,
  ): number {
    let last = previous;
    for (let i = 0; i < polls; i += 1) {
      const t = from + i * 10;
      last = this.task(check, last, t, t + 1);
      last = this.exited('Choice', choice, this.entered('Choice', choice, last, t + 1), t + 1);
      if (i < polls - 1) last = this.exited('Wait', wait, this.entered('Wait', wait, last, t + 1), t + 10);
    }
    return last;
  }
}

/** Lambda's error envelope around our JSON cause, as Step Functions records it. */
const lambdaCause = (errorType: string, cause: object) =>
  JSON.stringify({ errorType, errorMessage: JSON.stringify(cause), trace: [] });

const execution = (
  status: string,
  stopSeconds: number | null,
  extra: Partial<DescribeExecutionOutput> = {},
) =>
  ({
    executionArn: EXECUTION,
    stateMachineArn: MACHINE,
    name: 'sample-0123456789-1',
    status,
    startDate: START,
    ...(stopSeconds === null ? {} : { stopDate: new Date(START.getTime() + stopSeconds * 1000) }),
    input: SPEC,
    ...extra,
  }) as DescribeExecutionOutput;

const P = 'Launch fleet while NAT gateway comes up';

/** A create that succeeds: a Parallel with a NAT poll loop and a retried launch, then a two-node Map. */
function succeededHistory(): History {
  const h = new History();
  const start = h.add('ExecutionStarted', 0, 0, { executionStartedEventDetails: { input: SPEC } });
  const validated = h.task('Validate the deployment spec', start, 0, 1);
  const parallel = h.entered('Parallel', P, validated, 1);
  const branches = h.add('ParallelStateStarted', parallel, 1);
  // Branch 0: NAT gateway, then its poll loop. Branch 1: a launch retried once. Their events interleave.
  const natEntered = h.entered('Task', 'Create NAT gateway', branches, 1);
  const launchEntered = h.entered('Task', 'Launch instances', branches, 1);
  const natScheduled = h.add('LambdaFunctionScheduled', natEntered, 1);
  const launchScheduled = h.add('LambdaFunctionScheduled', launchEntered, 1);
  const natStarted = h.add('LambdaFunctionStarted', natScheduled, 1);
  const launchStarted = h.add('LambdaFunctionStarted', launchScheduled, 1);
  const natDone = h.add('LambdaFunctionSucceeded', natStarted, 2);
  const launchFailed = h.add('LambdaFunctionFailed', launchStarted, 3, {
    lambdaFunctionFailedEventDetails: {
      error: 'InstanceProfileNotReady',
      cause: lambdaCause('InstanceProfileNotReady', {
        resource: 'instance profile',
        message: 'not yet',
        hint: 'wait',
      }),
    },
  });
  const natExited = h.exited('Task', 'Create NAT gateway', natDone, 2);
  const waitEntered = h.entered('Wait', 'Wait for NAT gateway', natExited, 2);
  const retried = h.add('LambdaFunctionScheduled', launchFailed, 5);
  const retryStarted = h.add('LambdaFunctionStarted', retried, 5);
  const launchDone = h.add('LambdaFunctionSucceeded', retryStarted, 8);
  const launchExited = h.exited('Task', 'Launch instances', launchDone, 8);
  h.exited('Pass', 'Fleet launched', h.entered('Pass', 'Fleet launched', launchExited, 8), 8);
  const waitExited = h.exited('Wait', 'Wait for NAT gateway', waitEntered, 12);
  const loopEnd = h.pollLoop(
    'Check NAT gateway state',
    'Is the NAT gateway available?',
    'Wait for NAT gateway',
    waitExited,
    12,
    3,
  );
  const parallelDone = h.add('ParallelStateSucceeded', loopEnd, 33);
  const parallelExited = h.exited('Parallel', P, parallelDone, 33);
  // A Map over two nodes.
  const map = h.entered('Map', 'Install on every node', parallelExited, 33);
  const mapStarted = h.add('MapStateStarted', map, 33, { mapStateStartedEventDetails: { length: 2 } });
  let last = mapStarted;
  for (const index of [0, 1]) {
    const iteration = h.add('MapIterationStarted', mapStarted, 33, {
      mapIterationStartedEventDetails: { name: 'Install on every node', index },
    });
    const done = h.task('Install on node', iteration, 33, 40 + index);
    last = h.add('MapIterationSucceeded', done, 40 + index, {
      mapIterationSucceededEventDetails: { name: 'Install on every node', index },
    });
  }
  const mapDone = h.add('MapStateSucceeded', last, 41);
  const mapExited = h.exited('Map', 'Install on every node', mapDone, 41);
  const ready = h.exited(
    'Pass',
    'Deployment ready',
    h.entered('Pass', 'Deployment ready', mapExited, 41),
    41,
  );
  h.add('ExecutionSucceeded', ready, 41, { executionSucceededEventDetails: { output: '{"vpcId":"vpc-1"}' } });
  return h;
}

const commandFailed = {
  resource: 'node cass002 (capi-cassandra-install)',
  id: 'i-0cass002',
  awsError: null,
  message: 'capi-cassandra-install Failed on cass002 with exit code 2',
  hint: 'Read the stderr tail, fix the cause, then re-run create.',
  details: { failedNodes: ['cass002'], status: 'Failed', exitCode: 2 },
};

/** A create whose "Check installs" fails with CommandFailed, caught into the Fail state. */
function caughtFailureHistory(): History {
  const h = new History();
  const start = h.add('ExecutionStarted', 0, 0, { executionStartedEventDetails: { input: SPEC } });
  const validated = h.task('Validate the deployment spec', start, 0, 1);
  const entered = h.entered('Task', 'Check installs', validated, 1);
  const scheduled = h.add('LambdaFunctionScheduled', entered, 1);
  const started = h.add('LambdaFunctionStarted', scheduled, 1);
  const cause = lambdaCause('CommandFailed', commandFailed);
  const failed = h.add('LambdaFunctionFailed', started, 2, {
    lambdaFunctionFailedEventDetails: { error: 'CommandFailed', cause },
  });
  const exited = h.exited('Task', 'Check installs', failed, 2);
  const choice = h.exited('Choice', 'Create failed', h.entered('Choice', 'Create failed', exited, 2), 2);
  const fail = h.add('FailStateEntered', choice, 2, {
    stateEnteredEventDetails: { name: 'Deployment failed' },
  });
  h.add('ExecutionFailed', fail, 2, { executionFailedEventDetails: { error: 'CommandFailed', cause } });
  return h;
}

describe('recordFromSfnHistory', () => {
  it('converts a succeeded execution to the record the local engine writes', () => {
    // Prepare
    const h = succeededHistory();

    // Act
    const record = recordFromSfnHistory(
      execution('SUCCEEDED', 41, { output: '{"vpcId":"vpc-1"}' }),
      h.events,
    );

    // Assess
    expect(record).toMatchObject({
      execution: 'sample-0123456789-1',
      machine: 'create-deployment',
      deployment: 'sample',
      mode: 'aws',
      status: 'SUCCEEDED',
      startDate: START.getTime(),
      stopDate: START.getTime() + 41_000,
      output: { vpcId: 'vpc-1' },
      failure: null,
    });
    expect(record.metrics).toEqual({
      historyEvents: h.events.length,
      stateTransitions: record.steps.length + 1,
      virtualSeconds: 41,
      apiCalls: 0,
      apiCallsByOperation: {},
    });
    expect(record.steps.every((step) => step.outcome === 'succeeded' && step.end !== null)).toBe(true);
  });

  it('follows previousEventId to put interleaved branch steps under their Parallel', () => {
    // Act
    const record = recordFromSfnHistory(execution('SUCCEEDED', 41), succeededHistory().events);

    // Assess
    const parentOf = (name: string) => record.steps.find((step) => step.name === name)?.parent;
    expect(parentOf('Validate the deployment spec')).toBeUndefined();
    expect(parentOf(P)).toBeUndefined();
    expect(parentOf('Create NAT gateway')).toBe(P);
    expect(parentOf('Launch instances')).toBe(P);
    expect(parentOf('Fleet launched')).toBe(P);
    expect(parentOf('Check NAT gateway state')).toBe(P);
    expect(parentOf('Deployment ready')).toBeUndefined();
  });

  it('counts a second Lambda schedule within one state as a retry', () => {
    // Act
    const record = recordFromSfnHistory(execution('SUCCEEDED', 41), succeededHistory().events);

    // Assess
    const launch = record.steps.find((step) => step.name === 'Launch instances')!;
    expect(launch).toMatchObject({
      retries: 1,
      outcome: 'succeeded',
      start: START.getTime() + 1000,
      end: START.getTime() + 8000,
      // What it retried, as the local recorder keeps it.
      error: 'InstanceProfileNotReady',
    });
    expect(record.steps.filter((step) => step.retries > 0)).toHaveLength(1);
  });

  it('records Map iterations with their index', () => {
    // Act
    const record = recordFromSfnHistory(execution('SUCCEEDED', 41), succeededHistory().events);

    // Assess
    expect(record.steps.filter((step) => step.name === 'Install on node')).toEqual([
      expect.objectContaining({ parent: 'Install on every node', index: 0, outcome: 'succeeded' }),
      expect.objectContaining({ parent: 'Install on every node', index: 1, outcome: 'succeeded' }),
    ]);
  });

  it('renders like a local run: poll loop collapsed, retry shown, one line per iteration', () => {
    // Act
    const lines = renderHistory(recordFromSfnHistory(execution('SUCCEEDED', 41), succeededHistory().events));

    // Assess
    expect(lines[0]).toBe('create-deployment sample: SUCCEEDED (execution sample-0123456789-1, aws mode)');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/✔ │ Check NAT gateway state ×3$/),
        expect.stringMatching(/✔ │ Launch instances {2}\(1 retry: InstanceProfileNotReady\)$/),
        expect.stringMatching(/✔ │ Install on every node \[1\]$/),
      ]),
    );
  });

  it('blames the Task whose caught Lambda error ended the execution, and unwraps its cause', () => {
    // Prepare
    const h = caughtFailureHistory();
    const cause = lambdaCause('CommandFailed', commandFailed);

    // Act
    const record = recordFromSfnHistory(execution('FAILED', 2, { error: 'CommandFailed', cause }), h.events);

    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure).toEqual({ state: 'Check installs', error: 'CommandFailed', cause });
    expect(record.steps.find((step) => step.name === 'Check installs')).toMatchObject({
      outcome: 'caught',
      error: 'CommandFailed',
      cause,
    });
    expect(record.steps.find((step) => step.name === 'Deployment failed')?.outcome).toBe('failed');
    expect(parseCause(record.failure?.cause)).toEqual(commandFailed);
    const lines = renderHistory(record);
    expect(lines.slice(0, 6)).toEqual([
      '✖ FAILED at step: Check installs',
      '  error:    CommandFailed',
      `  resource: ${commandFailed.resource}`,
      '  id:       i-0cass002',
      `  message:  ${commandFailed.message}`,
      `  hint:     ${commandFailed.hint}`,
    ]);
  });

  it('fails the branch Task, the aborted branch and the Parallel when a branch fails uncaught', () => {
    // Prepare
    const h = new History();
    const start = h.add('ExecutionStarted', 0, 0);
    const parallel = h.entered('Parallel', P, start, 0);
    const branches = h.add('ParallelStateStarted', parallel, 0);
    const nat = h.entered('Task', 'Create NAT gateway', branches, 0);
    const wait = h.entered('Wait', 'Wait for instances', branches, 0);
    const scheduled = h.add('LambdaFunctionScheduled', nat, 0);
    const timedOut = h.add('LambdaFunctionTimedOut', scheduled, 60, {
      lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout', cause: 'Lambda timed out' },
    });
    const failed = h.add('ParallelStateFailed', timedOut, 60);
    h.add('WaitStateAborted', wait, 60);
    h.add('ExecutionFailed', failed, 60, {
      executionFailedEventDetails: { error: 'States.Timeout', cause: 'Lambda timed out' },
    });

    // Act
    const record = recordFromSfnHistory(execution('FAILED', 60), h.events);

    // Assess
    expect(record.failure).toEqual({
      state: 'Create NAT gateway',
      error: 'States.Timeout',
      cause: 'Lambda timed out',
    });
    const byName = Object.fromEntries(record.steps.map((step) => [step.name, step]));
    expect(byName['Create NAT gateway']).toMatchObject({
      outcome: 'failed',
      error: 'States.Timeout',
      parent: P,
    });
    expect(byName['Wait for instances']).toMatchObject({ outcome: 'failed', parent: P });
    expect(byName[P]).toMatchObject({ outcome: 'failed', error: 'States.Timeout' });
    expect(record.steps.every((step) => step.end === START.getTime() + 60_000)).toBe(true);
  });

  it('keeps a running execution open: no stop date, running steps, no failure', () => {
    // Prepare: the first 20 events of the succeeded run
    const events = succeededHistory().events.slice(0, 20);

    // Act
    const record = recordFromSfnHistory(execution('RUNNING', null), events);

    // Assess
    expect(record).toMatchObject({ status: 'RUNNING', stopDate: null, failure: null });
    expect(record.steps.filter((step) => step.outcome === 'running').map((step) => step.name)).toEqual([
      P,
      'Launch instances',
      'Wait for NAT gateway',
    ]);
  });

  it('reports a timed-out execution as failed with the timeout error', () => {
    // Prepare
    const h = new History();
    const start = h.add('ExecutionStarted', 0, 0);
    const wait = h.entered('Wait', 'Wait for SSM agents', start, 0);
    h.add('ExecutionTimedOut', wait, 3600, {
      executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'execution timed out' },
    });

    // Act
    const record = recordFromSfnHistory(execution('TIMED_OUT', 3600), h.events);

    // Assess
    expect(record.status).toBe('FAILED');
    expect(record.failure).toEqual({
      state: 'Wait for SSM agents',
      error: 'States.Timeout',
      cause: 'execution timed out',
    });
  });
});

describe('HistoryParser', () => {
  const fixtures = {
    succeeded: () => ({ events: succeededHistory().events, described: execution('SUCCEEDED', 41) }),
    caught: () => ({
      events: caughtFailureHistory().events,
      described: execution('FAILED', 2, {
        error: 'CommandFailed',
        cause: lambdaCause('CommandFailed', commandFailed),
      }),
    }),
  };

  it.each(Object.keys(fixtures) as (keyof typeof fixtures)[])(
    'describes the %s run the same whether it reads page by page or all at once',
    (fixture) => {
      // Prepare: pages of 3 events, each page read twice (as the follow loop re-reads the last page)
      const { events, described } = fixtures[fixture]();
      const ended: string[] = [];
      const parser = new HistoryParser((step, phase) => {
        if (phase === 'end') ended.push(`${step.name}: ${step.outcome}`);
      });

      // Act
      for (let from = 0; from < events.length; from += 3) {
        parser.read(events.slice(Math.max(0, from - 3), from + 3));
      }

      // Assess
      const whole = recordFromSfnHistory(described, events);
      expect(parser.record(described)).toEqual(whole);
      expect(parser.failureFor(described)).toEqual(whole.failure);
      expect(parser.historyEvents).toBe(events.length);
      // Every step that ended was announced once, with its final outcome.
      expect(ended.sort()).toEqual(
        whole.steps
          .filter((step) => step.end !== null)
          .map((step) => `${step.name}: ${step.outcome}`)
          .sort(),
      );
    },
  );

  it('tells a listener each step as it starts and ends', () => {
    // Prepare
    const seen: string[] = [];
    const parser = new HistoryParser((step, phase) => seen.push(`${phase} ${step.name}`));

    // Act
    parser.read(caughtFailureHistory().events);

    // Assess
    expect(seen).toEqual([
      'start Validate the deployment spec',
      'end Validate the deployment spec',
      'start Check installs',
      'end Check installs',
      'start Create failed',
      'end Create failed',
      'start Deployment failed',
      'end Deployment failed',
    ]);
    expect(parser.currentStep).toBe('Deployment failed');
  });

  it('blames the step that ran last when an execution failed without a failure event yet', () => {
    // Prepare: the history stops before ExecutionFailed arrives, DescribeExecution already says FAILED
    const parser = new HistoryParser();
    parser.read(succeededHistory().events.slice(0, 6));

    // Act
    const failure = parser.failureFor({ status: 'ABORTED', cause: 'stopped by the operator' });

    // Assess
    expect(failure).toEqual({
      state: parser.currentStep,
      error: 'ABORTED',
      cause: 'stopped by the operator',
    });
    expect(parser.currentStep).not.toBeNull();
    expect(parser.failureFor({ status: 'RUNNING' })).toBeNull();
  });
});

describe('fetchExecutionHistory', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('reads every page with nextToken', async () => {
    // Prepare
    const events = succeededHistory().events;
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: events.slice(0, 10), nextToken: 'page-2' })
      .resolvesOnce({ events: events.slice(10) });

    // Act
    const fetched = await fetchExecutionHistory(new SFNClient({ region: 'us-east-1' }), EXECUTION);

    // Assess
    expect(fetched).toEqual(events);
    expect(sfn).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2);
    expect(sfn).toHaveReceivedNthCommandWith(GetExecutionHistoryCommand, 2, {
      executionArn: EXECUTION,
      nextToken: 'page-2',
    });
  });
});

describe('sfnExecutionSource', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('re-reads only the last page at each poll and skips the events it has seen', async () => {
    // Prepare
    const events = succeededHistory().events;
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce(execution('RUNNING', null))
      .resolves(execution('SUCCEEDED', 41));
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: events.slice(0, 10), nextToken: 'page-2' })
      .resolvesOnce({ events: events.slice(10, 20) })
      .resolvesOnce({ events: events.slice(10) });
    const source = sfnExecutionSource(new SFNClient({ region: 'us-east-1' }), EXECUTION);

    // Act
    const first = await source.poll();
    const second = await source.poll();

    // Assess
    expect(first.status).toBe('RUNNING');
    expect(second.status).toBe('SUCCEEDED');
    expect(second.metrics.historyEvents).toBe(events.length);
    expect(sfn).toHaveReceivedNthCommandWith(GetExecutionHistoryCommand, 3, { nextToken: 'page-2' });
  });
});
