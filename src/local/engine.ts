import './no-xray-context.js';
import './polyfills.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import { configureClients } from '../../functions/shared/clients.js';
import { configureCustomerRegistry } from '../../functions/shared/customers.js';
import { configureLambdaEnvironment } from '../../functions/shared/environment.js';
import type { Context as LambdaContext } from '../../functions/shared/handler.js';
import { configureHttp } from '../../functions/shared/http.js';
import { configureLogSink } from '../../functions/shared/observability.js';
import {
  arnKey,
  FUNCTION_TIMEOUT_SECONDS,
  FUNCTIONS,
  type FunctionName,
  handlerEntry,
  kebab,
  type MachineName,
} from '../core/catalogue.js';
import type { ExecutionRecord, StepRecord } from '../core/execution-record.js';
import type { SimulatedAccount } from '../sim/account.js';
import { OPERATOR_ACCESS_KEY } from '../sim/account.js';
import { localCommandOutputBucket, preloadAuthorizationFacts } from '../sim/iam/authorizer.js';
import { callingFunction, runAsFunction } from '../sim/iam/caller.js';
import { LAMBDA_INVOKE_SECONDS } from '../sim/latency.js';
import { attachSimulator } from '../sim/middleware.js';
import type { EventLog, HistoryRecorder } from './recorder.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Step Functions' per-state payload limit: a handler returning more fails the step, as on AWS. */
const PAYLOAD_LIMIT_BYTES = 256 * 1024;

type Definition = { States: Record<string, Record<string, any>> };
type LocalHandler = (input: any, context?: LambdaContext) => Promise<any>;

export const functionArn = (account: SimulatedAccount, fn: FunctionName) =>
  `arn:aws:lambda:${account.region}:${account.accountId}:function:capideploy-${kebab(fn)}`;
export const stateMachineArn = (account: SimulatedAccount, machine: MachineName) =>
  `arn:aws:states:${account.region}:${account.accountId}:stateMachine:capideploy-${machine}`;

/** Reads an ASL file and fills its `${...}` substitutions the way CDK's definitionSubstitutions do. */
export function loadDefinition(machine: MachineName, account: SimulatedAccount): Definition {
  const substitutions: Record<string, string> = {
    DeleteDeploymentStateMachineArn: stateMachineArn(account, 'delete-deployment'),
  };
  for (const fn of FUNCTIONS) substitutions[arnKey(fn)] = functionArn(account, fn);
  const text = readFileSync(join(ROOT, 'statemachines', `${machine}.asl.json`), 'utf8');
  return JSON.parse(
    text.replace(/\$\{(\w+)\}/g, (_, key: string) => {
      if (!(key in substitutions)) throw new Error(`${machine}.asl.json: unknown substitution \${${key}}`);
      return substitutions[key];
    }),
  );
}

/**
 * Definitions that passed aws-local-stepfunctions' validation, by their text before it, mapped to their text after
 * it (the validator fills in each state's default QueryLanguage). Validating compiles a JSON-schema validator anew
 * each time, about 0.3 s of CPU per execution; the same text passes the same way again, so it is validated once per
 * process and the later runs get the object the validator would have left, without validating it again.
 */
const validatedDefinitions = new Map<string, string>();

function validatedStateMachine(definition: Definition): StateMachine {
  const text = JSON.stringify(definition);
  const known = validatedDefinitions.get(text);
  if (known !== undefined) {
    return new StateMachine(JSON.parse(known), { validationOptions: { checkArn: false, noValidate: true } });
  }
  const stateMachine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  validatedDefinitions.set(text, JSON.stringify(definition));
  return stateMachine;
}

/** Every state of a definition, with the Parallel or Map state that encloses it. */
export function walkStates(
  states: Definition['States'],
  parent?: string,
): { name: string; state: Record<string, any>; parent?: string }[] {
  return Object.entries(states).flatMap(([name, state]) => [
    { name, state, parent },
    ...(state.Branches ?? []).flatMap((branch: Definition) => walkStates(branch.States, name)),
    ...(state.Iterator ? walkStates(state.Iterator.States, name) : []),
    ...(state.ItemProcessor ? walkStates(state.ItemProcessor.States, name) : []),
  ]);
}

const handlerCache = new Map<string, Promise<LocalHandler>>();
function loadHandler(fn: FunctionName): Promise<LocalHandler> {
  const modulePath = join(ROOT, handlerEntry(fn));
  if (!handlerCache.has(modulePath)) {
    handlerCache.set(
      modulePath,
      import(pathToFileURL(modulePath).href).then((module: { handler: LocalHandler }) => module.handler),
    );
  }
  return handlerCache.get(modulePath)!;
}

/**
 * Imports every handler before the virtual clock starts: a first import reads and transpiles files, real I/O that
 * would otherwise let virtual time run past the Task's 60 s timeout.
 */
export async function preloadHandlers(): Promise<void> {
  await Promise.all([...FUNCTIONS.map((fn) => loadHandler(fn)), preloadAuthorizationFacts()]);
}

/** One invocation of a function: whether it ran past its timeout, and whether its sandbox has been reset since. */
interface Invocation {
  fn: FunctionName;
  timedOut: boolean;
  /** A later invocation of the same function started: this one's remaining AWS calls fail (see {@link frozenCalls}). */
  reset: boolean;
  /** Lambda's request id, as the runtime gives it in the context object and the timeout message. */
  requestId: string;
  /** The JSON lines the handler logged (functions/shared/observability.ts), with virtual timestamps. */
  logs: string[];
}

/** The longest run of each function (virtual seconds, Lambda's own overhead excluded): what its timeout bounds. */
export interface LambdaRun {
  fn: FunctionName;
  seconds: number;
  /** `seconds` over the function's configured timeout (`FUNCTION_TIMEOUT_SECONDS`). */
  fractionOfTimeout: number;
}

/** Longest run per function since {@link resetLambdaRuns}: the benchmark's and the tests' Lambda headroom. */
export const longestLambdaRuns = new Map<FunctionName, LambdaRun>();

export function resetLambdaRuns(): void {
  longestLambdaRuns.clear();
}

/** The longest run of any function relative to its timeout since {@link resetLambdaRuns}. */
export function worstLambdaRun(): LambdaRun | undefined {
  return [...longestLambdaRuns.values()].sort((a, b) => b.fractionOfTimeout - a.fractionOfTimeout)[0];
}

function noteLambdaRun(fn: FunctionName, seconds: number): void {
  const previous = longestLambdaRuns.get(fn);
  if (previous && previous.seconds >= seconds) return;
  longestLambdaRuns.set(fn, { fn, seconds, fractionOfTimeout: seconds / FUNCTION_TIMEOUT_SECONDS[fn] });
}

/** The invocation a handler's code runs in (its SDK calls see it through their async context). */
const currentInvocation = new AsyncLocalStorage<Invocation>();
/** Invocations that timed out and may still be running in the background, by function. */
const overrun = new Map<FunctionName, Invocation[]>();
let invocationCount = 0;

/** A new invocation of `fn`; the timed-out ones of `fn` before it stop, as Lambda resets a sandbox after a timeout. */
function startInvocation(fn: FunctionName): Invocation {
  for (const previous of overrun.get(fn) ?? []) previous.reset = true;
  overrun.delete(fn);
  invocationCount += 1;
  const requestId = `00000000-0000-4000-8000-${String(invocationCount).padStart(12, '0')}`;
  return { fn, timedOut: false, reset: false, requestId, logs: [] };
}

/**
 * Lambda's timeout, in virtual time: the handler races a timer of the function's configured timeout
 * (`FUNCTION_TIMEOUT_SECONDS`, what CDK deploys). On overrun the step fails as on Lambda, with error
 * `Sandbox.Timedout` and the cause Step Functions records (reference/aws-behaviour-2.md §2):
 * `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after 60.00 seconds"}`.
 * The handler is not killed: its calls already sent complete (AWS finishes what it received), and it goes on in the
 * background until the next invocation of the function, whose start makes its further calls fail; its result and
 * its errors go nowhere.
 */
async function withinTimeout<T>(invocation: Invocation, running: Promise<T>): Promise<T> {
  const seconds = FUNCTION_TIMEOUT_SECONDS[invocation.fn];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      invocation.timedOut = true;
      overrun.set(invocation.fn, [...(overrun.get(invocation.fn) ?? []), invocation]);
      const requestId = invocation.requestId;
      // What the Lambda runtime writes to the function's log when it stops it.
      invocation.logs.push(
        JSON.stringify({
          level: 'ERROR',
          message: `Task timed out after ${seconds.toFixed(2)} seconds`,
          timestamp: new Date().toISOString(),
          service: 'lambda',
          function_request_id: requestId,
        }),
      );
      const error = new Error(
        JSON.stringify({
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds.toFixed(2)} seconds`,
        }),
      );
      error.name = 'Sandbox.Timedout';
      reject(error);
    }, seconds * 1000);
  });
  running.catch(() => undefined);
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Fails the AWS calls of a handler whose invocation timed out and whose sandbox was reset since: on Lambda its
 * process is gone. (Calls it sent before stay made, as on AWS: a timed-out step may have changed the account.)
 */
function frozenCalls(client: { middlewareStack: { add: (middleware: any, options: any) => void } }): void {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const invocation = currentInvocation.getStore();
      if (invocation?.reset) {
        const error = new Error(`${invocation.fn}: invocation timed out and its sandbox was reset`);
        error.name = 'Sandbox.Reset';
        throw error;
      }
      return next(args);
    },
    { step: 'initialize', name: 'lambdaSandboxReset', override: true },
  );
}

/**
 * Invokes a handler as Lambda would: JSON in, JSON out, payload limit and timeout enforced, after Lambda's own
 * time (a cold start the first time `fn` runs in this execution, see `LAMBDA_INVOKE_SECONDS`).
 */
function lambdaInvoker(
  fn: FunctionName,
  warm: Set<FunctionName>,
  state: string,
  logs: (state: string, lines: string[]) => void,
  account: SimulatedAccount,
): LocalHandler {
  return async (input) => {
    const handler = await loadHandler(fn);
    const overhead = warm.has(fn) ? LAMBDA_INVOKE_SECONDS.warm : LAMBDA_INVOKE_SECONDS.coldStart;
    warm.add(fn);
    await new Promise((resolve) => setTimeout(resolve, overhead * 1000));
    const invocation = startInvocation(fn);
    const event = JSON.parse(JSON.stringify(input));
    // aws-local-stepfunctions has no $$.State: the state's name is the one this override is registered under.
    if (event?.context && typeof event.context === 'object') event.context.state = state;
    // Its calls are authorized as the function's own role (src/sim/iam/caller.ts).
    const running = currentInvocation.run(invocation, () =>
      runAsFunction(fn, () => handler(event, lambdaContext(account, fn, invocation))),
    );
    const startedAt = Date.now();
    const output = await withinTimeout(invocation, running)
      .catch((error: Error) => {
        throw asLambdaError(error);
      })
      .finally(() => {
        noteLambdaRun(fn, (Date.now() - startedAt) / 1000);
        logs(state, invocation.logs);
      });
    const text = JSON.stringify(output ?? null);
    if (Buffer.byteLength(text) > PAYLOAD_LIMIT_BYTES) {
      const error = new Error(`${fn} returned ${Buffer.byteLength(text)} bytes, over the 256 KB state limit`);
      error.name = 'States.DataLimitExceeded';
      throw error;
    }
    return JSON.parse(text);
  };
}

/** The context object the Lambda runtime passes: names, request id and the time left, in virtual time. */
function lambdaContext(account: SimulatedAccount, fn: FunctionName, invocation: Invocation): LambdaContext {
  const deadline = Date.now() + FUNCTION_TIMEOUT_SECONDS[fn] * 1000;
  const name = `capideploy-${kebab(fn)}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn(account, fn),
    memoryLimitInMB: '256',
    awsRequestId: invocation.requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/[$LATEST]${invocation.requestId.replace(/-/g, '').slice(-12)}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * What Step Functions gets from a failed Lambda: only `errorType` (the error's name) and `errorMessage`. Any
 * `cause` chain stays inside the function, as on AWS, so the step's Cause is the JSON failure cause.
 */
function asLambdaError(error: Error): Error {
  const surfaced = new Error(error?.message ?? String(error));
  surfaced.name = error?.name ?? 'Error';
  return surfaced;
}

export interface MachineRun {
  account: SimulatedAccount;
  recorder: HistoryRecorder;
  onStep?: (step: StepRecord, phase: 'start' | 'end') => void;
  /** Stops the execution (and any nested one) at its next state: the calls already made stay made. */
  signal?: AbortSignal;
  /** The execution's name, as `$$.Execution.Name` gives it to the states. */
  name?: string;
}

/** Runs one state machine in-process against the simulated account, inside whatever clock is installed. */
export async function executeMachine(
  machine: MachineName,
  input: unknown,
  run: MachineRun,
): Promise<unknown> {
  const definition = loadDefinition(machine, run.account);
  const overrides: Record<string, LocalHandler> = {};
  const parents: Record<string, string | undefined> = {};
  /** Executions started without `.sync`: they outlive their parent's result, and the run ends when they end. */
  const started: Promise<unknown>[] = [];
  /** Functions that have run in this execution: their next invocations are warm. */
  const warm = new Set<FunctionName>();
  for (const { name, state, parent } of walkStates(definition.States)) {
    parents[name] = parent;
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    if (resource.startsWith('arn:aws:states:::states:startExecution')) {
      // Nested executions (onFailure: delete) run the child machine in the same process and clock. `.sync` waits for
      // it; plain StartExecution answers at once with the execution's ARN, as Step Functions does, while the child
      // runs on (its steps land in the same history) and this run ends only after it.
      const sync = resource.includes('.sync');
      overrides[name] = async (params: { StateMachineArn: string; Input: unknown; Name?: string }) => {
        const child = params.StateMachineArn.split(':capideploy-').pop() as MachineName;
        const childRun = { ...run, ...(params.Name ? { name: params.Name } : {}) };
        if (sync) {
          const output = await executeMachine(child, params.Input, childRun);
          return { Output: output, Status: 'SUCCEEDED' };
        }
        // The child's own failure is its execution's, not this one's: this run's error stays the parent's.
        const recorder = {
          record: (...args: Parameters<HistoryRecorder['record']>) => {
            if (args[0].type !== 'ExecutionFailed') run.recorder.record(...args);
          },
          addLogs: (...args: Parameters<HistoryRecorder['addLogs']>) => run.recorder.addLogs(...args),
        } as HistoryRecorder;
        started.push(executeMachine(child, params.Input, { ...childRun, recorder }).catch(() => undefined));
        const executionName = params.Name ?? `${child}-local`;
        return {
          ExecutionArn: `arn:aws:states:${run.account.region}:${run.account.accountId}:execution:capideploy-${child}:${executionName}`,
          StartDate: new Date().toISOString(),
        };
      };
    } else {
      const fn = FUNCTIONS.find((candidate) => resource === functionArn(run.account, candidate));
      if (!fn) throw new Error(`${machine}: state "${name}" calls unknown resource ${resource}`);
      overrides[name] = lambdaInvoker(
        fn,
        warm,
        name,
        (state, lines) => run.recorder.addLogs(state, lines),
        run.account,
      );
    }
  }
  const stateMachine = validatedStateMachine(definition);
  const execution = stateMachine.run(input as never, {
    overrides: { taskResourceLocalHandlers: overrides },
    // The Context Object AWS gives every execution: create-deployment names its teardown after $$.Execution.Name.
    context: {
      Execution: {
        Name: run.name ?? `${machine}-local`,
        Input: input as never,
        StartTime: new Date().toISOString(),
      },
      // The interpreter has no $$.State; each Task's handler override puts its own state's name in (lambdaInvoker).
      State: { Name: '(the state)' },
    } as never,
  });
  const abort = () => execution.abort();
  if (run.signal?.aborted) abort();
  run.signal?.addEventListener('abort', abort, { once: true });
  const consume = (async () => {
    for await (const event of execution.eventLogs as AsyncGenerator<EventLog>) {
      run.recorder.record(event, parents, run.onStep);
    }
  })();
  try {
    return await execution.result;
  } finally {
    await Promise.all(started);
    run.signal?.removeEventListener('abort', abort);
    await consume.catch(() => undefined);
  }
}

/** Wires every AWS SDK client the handlers create to the simulated account. */
export function useSimulatedAccount(account: SimulatedAccount): void {
  configureClients({
    customize: (client) => {
      attachSimulator(client as never, account);
      frozenCalls(client as never);
    },
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated-secret' },
    maxAttempts: 5,
    scope: () => callingFunction() ?? '',
  });
  configureHttp(simulatedInternet);
  // Each Lambda run's log lines go to its step of the execution record (HistoryRecorder.addLogs).
  configureLogSink((line) => currentInvocation.getStore()?.logs.push(line));
  // The stack gives Provisioning and InstanceRole its command-output bucket as COMMAND_OUTPUT_BUCKET.
  configureLambdaEnvironment({
    COMMAND_OUTPUT_BUCKET: localCommandOutputBucket(account.accountId, account.region),
  });
  // The customers registry of SaaS mode is in the simulated operator account, in the stack's region.
  configureCustomerRegistry({ region: account.region });
}

export type { ExecutionRecord };

/**
 * Local mode never leaves the machine: every https URL answers 200, except hosts under `.invalid` (RFC 2606),
 * which do not resolve, so a spec can provoke the release-URL preflight failure offline.
 */
async function simulatedInternet(url: string): Promise<{ status: number }> {
  const { protocol, hostname } = new URL(url);
  if (protocol !== 'https:' || hostname.endsWith('.invalid')) {
    throw new TypeError(`fetch failed: getaddrinfo ENOTFOUND ${hostname}`);
  }
  return { status: 200 };
}
