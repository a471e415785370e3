import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Powertools for AWS Lambda, set up once for every handler: a JSON Logger, a Tracer and EMF Metrics (namespace
 * `CapiDeploy`). On Lambda an invocation runs alone in its sandbox; local mode runs many handlers at once in one
 * process, so each invocation gets its own Logger and Metrics ({@link withInvocation}), and `logger` / `metrics`
 * below always mean the current invocation's.
 *
 * Where the lines go: on Lambda, stdout (the function's log group); elsewhere nowhere, unless a sink is configured
 * ({@link configureLogSink}): local mode captures each invocation's lines into its step of the execution record.
 * Never log the event, a secret or an external id: log what the step does, with ids and names.
 */

const SERVICE = 'capideploy';
/** The CloudWatch metrics namespace of the workflow's EMF metrics. */
export const METRICS_NAMESPACE = 'CapiDeploy';

/** Metric names (EMF, unit Count): what a dashboard of the workflow counts. */
export const METRIC = {
  instancesLaunched: 'InstancesLaunched',
  commandsSent: 'CommandsSent',
  awsRetries: 'AwsCallRetries',
  throttles: 'AwsThrottles',
} as const;

/** Running in a Lambda sandbox (set by the Lambda runtime), as opposed to local mode, the CLI or a test. */
const inLambda = () => Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME);

type LogSink = (line: string) => void;
let sink: LogSink | undefined;

/** Local mode and tests: where every log line of every handler goes from now on (undefined: the default). */
export function configureLogSink(next: LogSink | undefined): void {
  sink = next;
}

/** The console a Logger or Metrics prints with: stdout on Lambda, the sink elsewhere (dropped when there is none). */
function sinkConsole(original: Console): Console {
  const write = (line: unknown) => {
    if (sink) sink(String(line));
    else if (inLambda()) original.log(line);
  };
  return {
    log: write,
    debug: write,
    info: write,
    warn: write,
    error: write,
    trace: write,
  } as unknown as Console;
}

/** Powertools keeps its console in a field the types do not expose; ours routes lines to the sink. */
function routed<T extends Logger | Metrics>(instance: T): T {
  const holder = instance as unknown as { console: Console };
  holder.console = sinkConsole(holder.console);
  return instance;
}

/** The log level comes from `POWERTOOLS_LOG_LEVEL` (the stack sets it, `LOG_LEVEL` in infra/handler-function.ts). */
function newLogger(fn: string): Logger {
  return routed(new Logger({ serviceName: SERVICE, persistentKeys: { function: fn } }));
}

function newMetrics(fn: string): Metrics {
  return routed(
    new Metrics({
      namespace: METRICS_NAMESPACE,
      serviceName: SERVICE,
      defaultDimensions: { function: fn },
      // Metrics' own warnings (none expected) go where the logs go.
      logger: newLogger(fn),
    }),
  );
}

/**
 * X-Ray tracing: only on Lambda with tracing on (the stack sets active tracing); off in local mode and tests, so
 * nothing loads or sends segments there.
 */
export const tracer = new Tracer({
  serviceName: SERVICE,
  enabled: inLambda() && process.env.POWERTOOLS_TRACE_ENABLED !== 'false',
});

/** Wraps an AWS SDK v3 client so X-Ray records its calls, when tracing is on; the client itself otherwise. */
export function traced<T>(client: T): T {
  return tracer.isTracingEnabled() ? (tracer.captureAWSv3Client(client) ?? client) : client;
}

/** The AWS calls an invocation has sent and not yet had answered: what a timeout was waiting for. */
export interface CallInFlight {
  call: string;
  since: number;
}

interface Invocation {
  logger: Logger;
  metrics: Metrics;
  inFlight: Set<CallInFlight>;
}

const invocations = new AsyncLocalStorage<Invocation>();
const outside: Invocation = { logger: newLogger('none'), metrics: newMetrics('none'), inFlight: new Set() };
/** Functions that have run in this process: a later invocation of one is warm (one per sandbox on Lambda). */
const warmed = new Set<string>();

const current = () => invocations.getStore() ?? outside;

/** Runs one invocation of function `fn` with its own Logger and Metrics (see the module comment). */
export function withInvocation<T>(fn: string, run: () => Promise<T>): Promise<T> {
  const logger = newLogger(fn);
  // Powertools marks the first invocation of an instance as the cold start: only the first of this sandbox is.
  if (warmed.has(fn)) (logger as unknown as { getColdStart(): boolean }).getColdStart();
  warmed.add(fn);
  return invocations.run({ logger, metrics: newMetrics(fn), inFlight: new Set() }, run);
}

/** Forwards every use to the current invocation's instance (so middy middlewares bound at load time work). */
function forwarding<T extends object>(pick: (invocation: Invocation) => T): T {
  return new Proxy({} as T, {
    get(_, property) {
      const target = pick(current()) as Record<PropertyKey, unknown>;
      const value = target[property];
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set(_, property, value) {
      (pick(current()) as Record<PropertyKey, unknown>)[property] = value;
      return true;
    },
  });
}

/** The current invocation's Logger. */
export const logger: Logger = forwarding((invocation) => invocation.logger);
/** The current invocation's Metrics. */
export const metrics: Metrics = forwarding((invocation) => invocation.metrics);

/** Adds 1 (or `count`) to a Count metric of the current invocation. */
export function countMetric(name: (typeof METRIC)[keyof typeof METRIC], count = 1): void {
  if (count > 0) metrics.addMetric(name, MetricUnit.Count, count);
}

/** Publishes the invocation's metrics (one EMF line), when it recorded any. */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/** Calls of the current invocation still waiting for their answer, oldest first. */
export function callsInFlight(): CallInFlight[] {
  return [...current().inFlight].sort((a, b) => a.since - b.since);
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

interface MiddlewareClient {
  middlewareStack: { addRelativeTo: (middleware: any, options: any) => void };
}

/**
 * Counts every attempt of a client's calls below the SDK's retry middleware: each attempt after the first is a
 * retry (metric `AwsCallRetries`), each throttling answer a throttle (`AwsThrottles`); and keeps the calls in flight,
 * so a timeout can say what it waited for.
 */
export function observeCalls(client: MiddlewareClient): void {
  client.middlewareStack.addRelativeTo(
    (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => {
      let attempts = 0;
      return async (args: unknown) => {
        attempts += 1;
        if (attempts > 1) countMetric(METRIC.awsRetries);
        const call = {
          call: `${(context.clientName ?? '').replace(/Client$/, '')}:${(context.commandName ?? '').replace(/Command$/, '')}`,
          since: Date.now(),
        };
        const inFlight = current().inFlight;
        inFlight.add(call);
        try {
          return await next(args);
        } catch (error) {
          const name = (error as { name?: string })?.name ?? '';
          if (THROTTLING_CODES.has(name)) {
            countMetric(METRIC.throttles);
            logger.warn('AWS throttled a call', { call: call.call, awsError: name, attempt: attempts });
          }
          throw error;
        } finally {
          inFlight.delete(call);
        }
      };
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'capideployCallMetrics', override: true },
  );
}
