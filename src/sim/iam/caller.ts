import { AsyncLocalStorage } from 'node:async_hooks';
import type { FunctionName } from '../../core/catalogue.js';

/**
 * Which workflow Lambda is running, for every AWS call it makes: local mode runs all handlers in one process with one
 * set of SDK clients, so the caller's identity (the function's own role, as on AWS) travels with the invocation's
 * async context instead of its credentials. Calls outside any invocation (the CLI's own reads) are the operator's.
 */
const runningFunction = new AsyncLocalStorage<FunctionName>();

/** Runs one invocation of `fn`: every simulated call made inside it is authorized as `fn`'s role. */
export function runAsFunction<T>(fn: FunctionName, invoke: () => Promise<T>): Promise<T> {
  return runningFunction.run(fn, invoke);
}

/** The workflow function making the current call, if any. */
export function callingFunction(): FunctionName | undefined {
  return runningFunction.getStore();
}
