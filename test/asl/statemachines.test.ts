import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { MACHINES, machinePath, renderMachine } from '../../src/asl/write.js';
import type { MachineName } from '../../src/core/catalogue.js';
import { FUNCTIONS } from '../../src/core/catalogue.js';
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
      expect(known.has(error) || error.startsWith('States.') || error.startsWith('Lambda.'), error).toBe(
        true,
      );
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

  it('names states as sentences an operator understands', () => {
    for (const { name: stateName } of walkStates(definition(name).States)) {
      expect(stateName).toMatch(/^[A-Z][a-zA-Z0-9 ,?'-]+$/);
      expect(stateName.split(' ').length).toBeGreaterThanOrEqual(2);
    }
  });
});
