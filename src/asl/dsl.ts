/**
 * A small vocabulary for writing our state machines in TypeScript and emitting plain ASL JSON
 * (`statemachines/*.asl.json`, JSONPath only, as aws-local-stepfunctions 3 and Step Functions both run it).
 * It exists so every Task gets the same explicit Retry policy and so state names read as sentences;
 * the emitted files are what CDK deploys and what the local engine runs.
 */

import { arnKey, type FunctionName } from '../core/catalogue.js';

export type State = Record<string, unknown>;
export type States = Record<string, State>;

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
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    IntervalSeconds: 2,
    BackoffRate: 2,
    MaxAttempts: 6,
  },
];

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxAttempts: number;
  MaxDelaySeconds?: number;
}

export interface TaskOptions {
  /** Handler action and its inputs; `spec.$` is added. */
  parameters: Record<string, unknown>;
  resultPath?: string | null;
  resultSelector?: Record<string, string>;
  next?: string;
  /** Extra retriers for this step's own retryable errors, before the transient ones. */
  retry?: Retrier[];
  /** Where a failure of this step goes, and where its error lands. */
  catchTo?: { next: string; resultPath: string };
  comment?: string;
}

/** A Lambda Task state with the standard Retry policy. */
export function task(fn: FunctionName, options: TaskOptions): State {
  const state: State = {
    Type: 'Task',
    ...(options.comment ? { Comment: options.comment } : {}),
    Resource: `\${${arnKey(fn)}}`,
    Parameters: { 'spec.$': '$.spec', ...options.parameters },
  };
  if (options.resultSelector) state.ResultSelector = options.resultSelector;
  if (options.resultPath !== undefined) state.ResultPath = options.resultPath;
  state.Retry = [...(options.retry ?? []), ...TRANSIENT_RETRIES];
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
  /** The step that asks AWS for the current state. */
  check: { name: string; fn: FunctionName; parameters: Record<string, unknown>; resultPath: string };
  /** The Choice state's name, a question: "Is the VPC available?". */
  question: string;
  /** JSONPath of the field that says done, and the value meaning done. */
  doneWhen: { variable: string; equals: string | boolean };
  wait: { name: string; seconds: number };
  next?: string;
  catchTo?: TaskOptions['catchTo'];
  retry?: Retrier[];
}

/**
 * A wait loop: Check -> Choice (done? next : Wait) -> Wait -> Check. The check handler itself fails when the
 * resource fails or its wait times out, so the loop has no counter.
 */
export function poll(options: PollOptions): States {
  const { check, question, doneWhen, wait } = options;
  const comparison =
    typeof doneWhen.equals === 'boolean'
      ? { BooleanEquals: doneWhen.equals }
      : { StringEquals: doneWhen.equals };
  const done: State = options.next ? { Next: options.next } : {};
  return {
    [check.name]: task(check.fn, {
      parameters: check.parameters,
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
    [wait.name]: { Type: 'Wait', Seconds: wait.seconds, Next: check.name },
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
