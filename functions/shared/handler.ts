import { AsyncResource } from 'node:async_hooks';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import { z } from 'zod';
import { InvalidSpec } from '../../src/core/errors.js';
import { callsInFlight, logger, publishMetrics, tracer, withInvocation } from './observability.js';

/**
 * Every handler runs on middy with Powertools: the Lambda context and the step's correlation keys in every log
 * line (deployment, execution, state), X-Ray on Lambda, EMF metrics published at the end, and its input parsed with
 * its zod schema. Errors pass through unchanged (middy rethrows them), so Step Functions sees their names.
 */

/**
 * What the state machine tells a handler about the step (each Task's `context` Parameters, from the Context Object:
 * `$$.Execution.Name`, `$$.State.Name`), for the log lines' correlation keys. Absent when a test calls a handler.
 */
export const StepContext = z
  .object({ execution: z.string().min(1).max(200), state: z.string().min(1).max(200) })
  .partial();

/** The Lambda context object (the fields we read or fill; `@types/aws-lambda` is not a dependency). */
export interface Context {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
}

/** The request middy passes along: the raw event until `parseInput` replaces it with the parsed one. */
interface Request {
  event: unknown;
  context: Context;
  error?: unknown;
  response?: unknown;
  /** Per-invocation state of our middlewares (local mode runs invocations of one handler at once). */
  internal: Record<string, unknown>;
}

const textOf = (value: unknown) => (typeof value === 'string' && value.length <= 200 ? value : undefined);

/**
 * Adds the correlation keys from the raw event (read defensively: it is not parsed yet, and a bad input must still
 * log as its step), and logs the step's start and end. Logs names and ids only, never the event: it carries the
 * spec, and a step's output may carry generated values.
 */
function correlation(handlerName: string): MiddlewareObj {
  const elapsed = (request: Request) => Date.now() - Number(request.internal.capiStarted ?? Date.now());
  return {
    before: function correlationBefore(request: Request) {
      const event = (request.event ?? {}) as {
        spec?: { name?: unknown };
        action?: unknown;
        context?: { execution?: unknown; state?: unknown };
      };
      const keys = {
        deployment: textOf(event.spec?.name),
        execution: textOf(event.context?.execution),
        state: textOf(event.context?.state),
      };
      logger.appendKeys(Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined)));
      request.internal.capiStarted = Date.now();
      logger.info('step started', { handler: handlerName, action: textOf(event.action) });
    },
    after: function correlationAfter(request: Request) {
      logger.info('step succeeded', { durationMs: elapsed(request) });
    },
    onError: function correlationOnError(request: Request) {
      const error = request.error as { name?: string; message?: string } | undefined;
      // The message of our named errors is the JSON cause Step Functions shows; SDK messages are scrubbed upstream.
      logger.error('step failed', {
        durationMs: elapsed(request),
        errorName: error?.name ?? 'Error',
        errorMessage: String(error?.message ?? error),
      });
    },
  };
}

/** Parses the event with the handler's zod schema: a terminal `InvalidSpec` naming every bad field when it does not fit. */
function parseInput(handlerName: string, schema: z.ZodType): MiddlewareObj {
  const withContext = z.object({ context: StepContext.optional() });
  return {
    before: function parseInputBefore(request: Request) {
      const parsed = schema.safeParse(request.event);
      const context = withContext.safeParse(request.event ?? {});
      if (!parsed.success || !context.success) {
        const issues = [...(parsed.error?.issues ?? []), ...(context.error?.issues ?? [])];
        const fields = issues.map((issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`);
        throw new InvalidSpec({
          resource: `input of ${handlerName}`,
          message: fields.join('; '),
          hint: 'The state machine passed an input this handler does not accept; check the ASL Parameters of the step.',
        });
      }
      request.event = parsed.data;
    },
  };
}

/** Publishes the invocation's EMF metrics, after success and failure alike. */
const metricsFlush: MiddlewareObj = {
  after: function metricsFlushAfter() {
    publishMetrics();
  },
  onError: function metricsFlushOnError() {
    publishMetrics();
  },
};

/** How long before its timeout a function logs what it is still waiting for. */
const TIMEOUT_WARNING_MS = 1_000;

/**
 * A Lambda that runs out of time writes nothing of its own: this logs, shortly before the timeout, the AWS calls
 * the invocation still waits for, so the step's logs say what it was doing (`capi-deploy history --logs`).
 */
function timeoutWarning(): MiddlewareObj {
  const clear = (request: Request) => {
    clearTimeout(request.internal.capiTimeoutWarning as ReturnType<typeof setTimeout> | undefined);
  };
  return {
    before: function timeoutWarningBefore(request: Request) {
      const remaining = request.context?.getRemainingTimeInMillis?.();
      if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return;
      // Bound to this invocation's async context: a fake clock (local mode) calls timers outside it.
      const timer = setTimeout(
        AsyncResource.bind(() => {
          const now = Date.now();
          logger.error('function is about to time out', {
            remainingMs: TIMEOUT_WARNING_MS,
            waitingFor: callsInFlight().map((call) => ({ call: call.call, forMs: now - call.since })),
          });
        }),
        Math.max(0, remaining - TIMEOUT_WARNING_MS),
      );
      timer.unref?.();
      request.internal.capiTimeoutWarning = timer;
    },
    after: clear,
    onError: clear,
  };
}

/** The Lambda context of a call made outside Lambda (a test calling the handler): names only, no deadline. */
function contextOutsideLambda(handlerName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `capideploy-${handlerName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:capideploy-${handlerName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'local',
    logGroupName: `/aws/lambda/capideploy-${handlerName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Number.POSITIVE_INFINITY,
  };
}

/**
 * A handler: `logic` gets the input parsed with `schema` and returns the step's plain-JSON result.
 * `handlerName` names the function in errors and log lines.
 */
export function lambdaHandler<Schema extends z.ZodType, Result>(
  handlerName: string,
  schema: Schema,
  logic: (input: z.output<Schema>) => Promise<Result>,
): (event: unknown, context?: Context) => Promise<Result> {
  // timeoutEarlyInMillis 0: a timeout stays Lambda's own (Sandbox.Timedout), which the ASL retries by that name.
  const handler = middy<unknown, Result, Error, any>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(metricsFlush)
    .use(correlation(handlerName))
    .use(timeoutWarning())
    .use(parseInput(handlerName, schema))
    .handler((input) => logic(input as z.output<Schema>));
  return (event, context) =>
    withInvocation(handlerName, () => handler(event, context ?? contextOutsideLambda(handlerName)));
}
