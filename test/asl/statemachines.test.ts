import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { MACHINES, machinePath, renderMachine } from '../../src/asl/write.js';
import type { MachineName } from '../../src/core/catalogue.js';
import { FUNCTION_TIMEOUT_SECONDS, FUNCTIONS, type FunctionName } from '../../src/core/catalogue.js';
import { ERROR_NAMES } from '../../src/core/errors.js';
import { walkStates } from '../../src/local/engine.js';

const names = Object.keys(MACHINES) as MachineName[];
const definition = (name: MachineName) => JSON.parse(readFileSync(machinePath(name), 'utf8'));

describe.each(names)('%s.asl.json', (name) => {
  it('is what the builder generates (run `npm run asl` after changing src/asl)', () => {
    expect(readFileSync(machinePath(name), 'utf8')).toBe(renderMachine(name));
  });

  it('is valid ASL once its substitutions are filled', () => {
    // Prepare: what CDK's definitionSubstitutions do at deploy time
    const filled = readFileSync(machinePath(name), 'utf8')
      .replace(/\$\{(\w+)FunctionArn\}/g, 'arn:aws:lambda:us-east-1:123456789012:function:capideploy-$1')
      .replace(
        /\$\{(\w+)StateMachineArn\}/g,
        'arn:aws:states:us-east-1:123456789012:stateMachine:capideploy-$1',
      );
    // Act
    const { isValid, errors } = aslValidator(JSON.parse(filled), { checkArn: true, checkPaths: true });
    // Assess
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('retries and catches only error names that exist', () => {
    const known = new Set<string>(ERROR_NAMES);
    const states = walkStates(definition(name).States);
    const used = states.flatMap(({ state }) =>
      [
        ...((state.Retry as { ErrorEquals: string[] }[]) ?? []),
        ...((state.Catch as { ErrorEquals: string[] }[]) ?? []),
      ].flatMap((policy) => policy.ErrorEquals),
    );
    expect(used.length).toBeGreaterThan(0);
    for (const error of used) {
      // Sandbox.Timedout: what Lambda reports when a function overruns its timeout (not a States.* error).
      const lambda = error.startsWith('Lambda.') || error === 'Sandbox.Timedout';
      expect(known.has(error) || error.startsWith('States.') || lambda, error).toBe(true);
    }
  });

  it('calls only known functions, each Task with a Retry policy', () => {
    const tasks = walkStates(definition(name).States).filter(({ state }) => state.Type === 'Task');
    for (const { name: stateName, state } of tasks) {
      const resource = String(state.Resource);
      const fn = /^\$\{(\w+)FunctionArn\}$/.exec(resource)?.[1];
      expect(
        fn === undefined ? resource.startsWith('arn:aws:states:::') : FUNCTIONS.includes(fn as never),
        stateName,
      ).toBe(true);
      if (fn) expect(state.Retry, stateName).toBeDefined();
    }
  });

  it('retries Lambda service errors on every Lambda Task, as the Step Functions docs recommend', () => {
    const tasks = walkStates(definition(name).States).filter(
      ({ state }) => state.Type === 'Task' && /FunctionArn\}$/.test(String(state.Resource)),
    );
    expect(tasks.length).toBeGreaterThan(0);
    for (const { name: stateName, state } of tasks) {
      expect(state.Retry, stateName).toContainEqual({
        ErrorEquals: [
          'Lambda.ClientExecutionTimeoutException',
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
          'Lambda.TooManyRequestsException',
        ],
        IntervalSeconds: 2,
        BackoffRate: 2,
        MaxAttempts: 6,
        JitterStrategy: 'FULL',
      });
    }
  });

  it('handles a Lambda timeout deliberately: retried once unless the step sends commands, and a state timeout above the function timeout', () => {
    const tasks = walkStates(definition(name).States).filter(
      ({ state }) => state.Type === 'Task' && /FunctionArn\}$/.test(String(state.Resource)),
    );
    for (const { name: stateName, state } of tasks) {
      const fn = /^\$\{(\w+)FunctionArn\}$/.exec(String(state.Resource))![1] as FunctionName;
      const timeoutRetry = (state.Retry as { ErrorEquals: string[]; MaxAttempts: number }[]).filter(
        (retrier) => retrier.ErrorEquals.includes('Sandbox.Timedout'),
      );
      const sends = fn === 'Provisioning' && (state.Parameters as { action?: string }).action === 'send';
      expect(
        timeoutRetry.map((retrier) => retrier.MaxAttempts),
        stateName,
      ).toEqual(sends ? [] : [1]);
      expect(state.TimeoutSeconds, stateName).toBe(FUNCTION_TIMEOUT_SECONDS[fn] + 30);
    }
  });

  it('names states as sentences an operator understands', () => {
    for (const { name: stateName } of walkStates(definition(name).States)) {
      expect(stateName).toMatch(/^[A-Z][a-zA-Z0-9 ,?'-]+$/);
      expect(stateName.split(' ').length).toBeGreaterThanOrEqual(2);
    }
  });
});
