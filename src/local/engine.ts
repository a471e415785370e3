import './polyfills.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import { configureClients } from '../../functions/shared/clients.js';
import { configureHttp } from '../../functions/shared/http.js';
import {
  arnKey,
  FUNCTIONS,
  type FunctionName,
  handlerEntry,
  kebab,
  type MachineName,
} from '../core/catalogue.js';
import type { ExecutionRecord, StepRecord } from '../core/execution-record.js';
import type { SimulatedAccount } from '../sim/account.js';
import { OPERATOR_ACCESS_KEY } from '../sim/account.js';
import { attachSimulator } from '../sim/middleware.js';
import type { EventLog, HistoryRecorder } from './recorder.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Step Functions' per-state payload limit: a handler returning more fails the step, as on AWS. */
const PAYLOAD_LIMIT_BYTES = 256 * 1024;

type Definition = { States: Record<string, Record<string, any>> };
type LocalHandler = (input: any) => Promise<any>;

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
  await Promise.all(FUNCTIONS.map((fn) => loadHandler(fn)));
}

/** Invokes a handler as Lambda would: JSON in, JSON out, payload limit enforced. */
function lambdaInvoker(fn: FunctionName): LocalHandler {
  return async (input) => {
    const handler = await loadHandler(fn);
    const output = await handler(JSON.parse(JSON.stringify(input))).catch((error: Error) => {
      throw asLambdaError(error);
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
  for (const { name, state, parent } of walkStates(definition.States)) {
    parents[name] = parent;
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    if (resource.startsWith('arn:aws:states:::states:startExecution')) {
      // Nested executions (onFailure: delete) run the child machine in the same process and clock.
      overrides[name] = async (params: { StateMachineArn: string; Input: unknown }) => {
        const child = params.StateMachineArn.split(':capideploy-').pop() as MachineName;
        const output = await executeMachine(child, params.Input, run);
        return { Output: output, Status: 'SUCCEEDED' };
      };
    } else {
      const fn = FUNCTIONS.find((candidate) => resource === functionArn(run.account, candidate));
      if (!fn) throw new Error(`${machine}: state "${name}" calls unknown resource ${resource}`);
      overrides[name] = lambdaInvoker(fn);
    }
  }
  const stateMachine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const execution = stateMachine.run(input as never, {
    overrides: { taskResourceLocalHandlers: overrides },
    // The Context Object AWS gives every execution: create-deployment names its teardown after $$.Execution.Name.
    context: {
      Execution: {
        Name: run.name ?? `${machine}-local`,
        Input: input as never,
        StartTime: new Date().toISOString(),
      },
    },
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
    run.signal?.removeEventListener('abort', abort);
    await consume.catch(() => undefined);
  }
}

/** Wires every AWS SDK client the handlers create to the simulated account. */
export function useSimulatedAccount(account: SimulatedAccount): void {
  configureClients({
    customize: (client) => attachSimulator(client as never, account),
    credentials: { accessKeyId: OPERATOR_ACCESS_KEY, secretAccessKey: 'simulated-secret' },
    maxAttempts: 5,
  });
  configureHttp(simulatedInternet);
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
