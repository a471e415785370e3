/**
 * A small vocabulary for writing our state machines in TypeScript and emitting plain ASL JSON
 * (`statemachines/*.asl.json`, JSONPath only, as aws-local-stepfunctions 3 and Step Functions both run it).
 * It exists so every Task gets the same explicit Retry policy and so state names read as sentences;
 * the emitted files are what CDK deploys and what the local engine runs.
 */

import { arnKey, FUNCTION_TIMEOUT_SECONDS, type FunctionName } from '../core/catalogue.js';

export type State = Record<string, unknown>;
export type States = Record<string, State>;

/** Lambda service errors: the function never ran, or Lambda could not say; every Lambda Task retries them. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Transient failures of AWS or of Lambda itself: always retried with jittered backoff. */
const TRANSIENT_RETRIES = [
  {
    ErrorEquals: ['Throttled', 'ServiceUnavailable'],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 6,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
  // Lambda's own 500-class errors, as the Step Functions docs recommend (bp-lambda-serviceexception; with
  // ClientExecutionTimeoutException, which CDK's retryOnServiceExceptions also lists), plus throttling of Invoke.
  {
    ErrorEquals: LAMBDA_SERVICE_ERRORS,
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 6,
    JitterStrategy: 'FULL',
  },
];

/**
 * The function ran past its own timeout (`FUNCTION_TIMEOUT_SECONDS`): Lambda reports `Sandbox.Timedout`, which
 * Step Functions does not treat as a timeout of the state. Retried once, after a pause, for steps that may run
 * again: every handler describes before it creates, so the second attempt finds what the first one made and has
 * less to do (a fleet launch goes on where it stopped). A step that sends commands (`idempotent: false`) is not
 * retried: a command the timed-out attempt sent may still be running, and sending it again runs the script twice.
 * Not retried a second time either: a step that times out twice does too much per invocation, and the failure
 * (the cause names the timeout, the history the step and so the function) says so.
 */
const LAMBDA_TIMEOUT_RETRY = {
  ErrorEquals: ['Sandbox.Timedout'],
  IntervalSeconds: 5,
  BackoffRate: 1,
  MaxAttempts: 1,
};

/**
 * A state's own timeout, over the function's: `States.Timeout` then means Lambda itself did not answer (the
 * function is bounded by its own timeout), which no Retry covers: the invocation may still be running, and a second
 * one beside it could do the work twice. It also stops the local interpreter's 60 s default from cutting a function
 * whose timeout is longer.
 */
const STATE_TIMEOUT_MARGIN_SECONDS = 30;

/**
 * What every Task tells its handler about the step, from the Context Object: the handlers' log lines carry them as
 * correlation keys (functions/shared/handler.ts). Names only: `$$` whole would repeat the spec (Execution.Input).
 */
export const STEP_CONTEXT = { 'execution.$': '$$.Execution.Name', 'state.$': '$$.State.Name' };

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxAttempts: number;
  MaxDelaySeconds?: number;
}

export interface TaskOptions {
  /** Handler action and its inputs; `spec.$` and `context` ({@link STEP_CONTEXT}) are added. */
  parameters: Record<string, unknown>;
  resultPath?: string | null;
  resultSelector?: Record<string, string>;
  next?: string;
  /** Extra retriers for this step's own retryable errors, before the transient ones. */
  retry?: Retrier[];
  /** Where a failure of this step goes, and where its error lands. */
  catchTo?: { next: string; resultPath: string };
  comment?: string;
  /** False for a step that must not run twice at once (it sends commands): a timeout of it is not retried. */
  idempotent?: boolean;
}

/** A Lambda Task state with the standard Retry policy. */
export function task(fn: FunctionName, options: TaskOptions): State {
  const state: State = {
    Type: 'Task',
    ...(options.comment ? { Comment: options.comment } : {}),
    Resource: `\${${arnKey(fn)}}`,
    Parameters: { 'spec.$': '$.spec', ...options.parameters, context: STEP_CONTEXT },
    TimeoutSeconds: FUNCTION_TIMEOUT_SECONDS[fn] + STATE_TIMEOUT_MARGIN_SECONDS,
  };
  if (options.resultSelector) state.ResultSelector = options.resultSelector;
  if (options.resultPath !== undefined) state.ResultPath = options.resultPath;
  state.Retry = [
    ...(options.retry ?? []),
    ...TRANSIENT_RETRIES,
    ...(options.idempotent === false ? [] : [LAMBDA_TIMEOUT_RETRY]),
  ];
  if (options.catchTo) {
    state.Catch = [
      { ErrorEquals: ['States.ALL'], ResultPath: options.catchTo.resultPath, Next: options.catchTo.next },
    ];
  }
  if (options.next) state.Next = options.next;
  else state.End = true;
  return state;
}

export interface PollOptions {
  /** The step that asks AWS for the current state; it gets `attempt` (from 0) and `maxAttempts`. */
  check: { name: string; fn: FunctionName; parameters: Record<string, unknown>; resultPath: string };
  /** The Choice state's name, a question: "Is the VPC available?". */
  question: string;
  /** JSONPath of the field that says done, and the value meaning done. */
  doneWhen: { variable: string; equals: string | boolean };
  wait: { name: string; seconds: number };
  /**
   * The bound of this wait, in rounds: the check fails with a named error (WaitTimedOut, CommandTimedOut) when it
   * is not done in round `maxAttempts - 1`. Every wait is counted this one way (issue 14): a count in the execution,
   * so a resumed run gets its whole wait again.
   */
  maxAttempts: number;
  /** Where the counter lives in the execution state, e.g. `$.rounds.nat`. */
  counter: string;
  /**
   * What the loop starts with after its counter is set: the check (default), the question (a result at hand), or a
   * wait (what was just created may not be visible at once: EC2 eventual consistency).
   */
  enterAt?: 'check' | 'question' | 'wait';
  next?: string;
  catchTo?: TaskOptions['catchTo'];
  retry?: Retrier[];
}

/** The name of a counted wait loop's first state, which callers enter it by. */
export const pollStart = (checkName: string) => `Start counting rounds of ${checkName}`;
const roundName = (checkName: string) => `Count a round of ${checkName}`;

/**
 * A counted wait loop: Start counting -> Check -> Choice (done? next : Wait) -> Wait -> Count a round -> Check. The
 * check handler fails with a named error when the resource fails, or when it is still not done in its last round.
 */
export function poll(options: PollOptions): States {
  const { check, question, doneWhen, wait } = options;
  const comparison =
    typeof doneWhen.equals === 'boolean'
      ? { BooleanEquals: doneWhen.equals }
      : { StringEquals: doneWhen.equals };
  const done: State = options.next ? { Next: options.next } : {};
  const counted = roundCounter(
    options.counter,
    { start: pollStart(check.name), count: roundName(check.name) },
    check.name,
  );
  if (options.enterAt === 'question') counted[pollStart(check.name)].Next = question;
  if (options.enterAt === 'wait') counted[pollStart(check.name)].Next = wait.name;
  return {
    ...counted,
    [check.name]: task(check.fn, {
      parameters: {
        ...check.parameters,
        'attempt.$': `${options.counter}.value`,
        maxAttempts: options.maxAttempts,
      },
      resultPath: check.resultPath,
      next: question,
      catchTo: options.catchTo,
      retry: options.retry,
    }),
    [question]: {
      Type: 'Choice',
      Choices: [
        {
          Variable: doneWhen.variable,
          ...comparison,
          ...(options.next ? done : { Next: `${question} Done` }),
        },
      ],
      Default: wait.name,
    },
    [wait.name]: { Type: 'Wait', Seconds: wait.seconds, Next: roundName(check.name) },
    ...(options.next ? {} : { [`${question} Done`]: { Type: 'Succeed' } }),
  };
}

/**
 * The two Pass states of a wait loop that counts its rounds in the execution (`<path>.value`), so a handler can give
 * up after its maxAttempts whatever the wall clock says: one that starts the count, one that adds a round.
 */
export function roundCounter(path: string, names: { start: string; count: string }, check: string): States {
  return {
    [names.start]: { Type: 'Pass', Result: { value: 0 }, ResultPath: path, Next: check },
    [names.count]: {
      Type: 'Pass',
      Parameters: { 'value.$': `States.MathAdd(${path}.value, 1)` },
      ResultPath: path,
      Next: check,
    },
  };
}

/** A Parallel state whose branches are small state machines. */
export function parallel(
  branches: { startAt: string; states: States }[],
  options: {
    next?: string;
    resultPath?: string | null;
    resultSelector?: Record<string, string>;
    catchTo?: TaskOptions['catchTo'];
    comment?: string;
  },
): State {
  const state: State = {
    Type: 'Parallel',
    ...(options.comment ? { Comment: options.comment } : {}),
    Branches: branches.map((branch) => ({ StartAt: branch.startAt, States: branch.states })),
  };
  if (options.resultSelector) state.ResultSelector = options.resultSelector;
  if (options.resultPath !== undefined) state.ResultPath = options.resultPath;
  if (options.catchTo) {
    state.Catch = [
      { ErrorEquals: ['States.ALL'], ResultPath: options.catchTo.resultPath, Next: options.catchTo.next },
    ];
  }
  if (options.next) state.Next = options.next;
  else state.End = true;
  return state;
}
