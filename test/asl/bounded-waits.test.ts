import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MACHINES, machinePath } from '../../src/asl/write.js';
import type { MachineName } from '../../src/core/catalogue.js';
import { PROVISIONING_DOCUMENTS } from '../../src/core/documents.js';
import {
  COMMAND_DELIVERY_SECONDS,
  DOCUMENT_TIMEOUT_SECONDS,
  PHASE_NAMES,
  PHASES,
  phaseBoundSeconds,
} from '../../src/core/phases.js';
import { walkStates } from '../../src/local/engine.js';

/**
 * Issue 14: every wait is bounded, in one style and one place per wait. Each Wait state sits in a loop counted in the
 * execution (`roundCounter` / `poll` in src/asl/dsl.ts): Wait -> "Count ..." Pass (States.MathAdd on `<path>.value`)
 * -> the check Task, which receives that count as `attempt` and a fixed `maxAttempts`, and fails with a named error in
 * its last round; the count starts at 0 in a Pass state on every way into the loop.
 */
const names = Object.keys(MACHINES) as MachineName[];

type AslState = Record<string, any>;

/** The first Task reachable from `from` (Next, Choices, Default; a few hops) whose `attempt.$` is `attempt`. */
function boundedCheck(byName: Map<string, AslState>, from: string, attempt: string): AslState | undefined {
  const seen = new Set<string>();
  let frontier = [from];
  for (let hop = 0; hop < 12 && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const stateName of frontier) {
      if (seen.has(stateName)) continue;
      seen.add(stateName);
      const state = byName.get(stateName);
      if (!state) continue;
      if (state.Type === 'Task' && state.Parameters?.['attempt.$'] === attempt) return state;
      next.push(
        ...[
          state.Next,
          state.Default,
          ...(state.Choices ?? []).map((choice: AslState) => choice.Next),
        ].filter((candidate): candidate is string => typeof candidate === 'string'),
      );
    }
    frontier = next;
  }
  return undefined;
}
const definition = (name: MachineName) => JSON.parse(readFileSync(machinePath(name), 'utf8'));

describe.each(names)('%s.asl.json waits', (name) => {
  const states = walkStates(definition(name).States);
  const byName = new Map(states.map(({ name: stateName, state }) => [stateName, state]));
  const waits = states.filter(({ state }) => state.Type === 'Wait');

  it('has waits (the test looks at something)', () => {
    // images-delete waits for nothing: DeregisterImage and DeleteSnapshot take effect at once.
    if (name === 'images-delete') expect(waits).toEqual([]);
    else expect(waits.length).toBeGreaterThan(0);
  });

  it.each(waits.map(({ name: waitName }) => waitName))('"%s" sits in a counted loop', (waitName) => {
    // The Wait goes to a counting Pass state
    const count = byName.get(byName.get(waitName)!.Next)!;
    expect(count.Type, waitName).toBe('Pass');
    const path = /^States\.MathAdd\((\$\.\w+)\.value, 1\)$/.exec(count.Parameters?.['value.$'] ?? '')?.[1];
    expect(path, `${waitName} -> ${byName.get(waitName)!.Next}`).toBeDefined();
    expect(count.ResultPath).toBe(path);
    // ... which leads (directly, or through the steps that make what it checks) to the check bounded by the count
    const check = boundedCheck(byName, count.Next, `${path}.value`);
    expect(check, `${waitName}: a Task with attempt.$ = ${path}.value after ${count.Next}`).toBeDefined();
    expect(check!.Type).toBe('Task');
    expect(check!.Parameters.maxAttempts).toBeGreaterThan(0);
    expect(Number.isInteger(check!.Parameters.maxAttempts)).toBe(true);
    // ... and the count starts at 0 somewhere before it
    const starts = states.filter(
      ({ state }) => state.Type === 'Pass' && state.ResultPath === path && state.Result?.value === 0,
    );
    expect(starts.length, `${path} has a start`).toBeGreaterThan(0);
  });

  it('every counted check has a Catch or sits in a branch whose failure is caught', () => {
    for (const { name: stateName, state, parent } of states) {
      if (state.Type !== 'Task' || state.Parameters?.['attempt.$'] === undefined) continue;
      const caught = Boolean(state.Catch) || Boolean(parent && byName.get(parent)?.Catch);
      expect(caught, stateName).toBe(true);
    }
  });
});

describe('provisioning waits', () => {
  const docsDir = fileURLToPath(new URL('../../provisioning-docs/', import.meta.url));

  it.each([...PROVISIONING_DOCUMENTS])('%s: the bound uses its own execution timeout', (document) => {
    const doc = parse(readFileSync(`${docsDir}${document}.yaml`, 'utf8'));
    const total = (doc.mainSteps as { inputs: { timeoutSeconds: number } }[]).reduce(
      (sum, step) => sum + step.inputs.timeoutSeconds,
      0,
    );
    expect(DOCUMENT_TIMEOUT_SECONDS[document]).toBe(total);
  });

  it('each phase waits at least the delivery timeout plus its longest execution timeout', () => {
    // create-deployment's phases, and the day-2 machines' (stop-deployment, start-deployment).
    const machines = (['create-deployment', 'stop-deployment', 'start-deployment'] as const).map(definition);
    const sent = new Set(
      machines.flatMap((machine) =>
        walkStates(machine.States)
          .filter(({ state }) => state.Type === 'Task' && state.Parameters?.action === 'send')
          .map(({ state }) => state.Parameters.phase),
      ),
    );
    expect([...sent].sort()).toEqual([...PHASE_NAMES].sort());
    for (const phase of PHASE_NAMES) {
      const longest = Math.max(...PHASES[phase].map((step) => DOCUMENT_TIMEOUT_SECONDS[step.document]));
      expect(phaseBoundSeconds(phase)).toBeGreaterThan(COMMAND_DELIVERY_SECONDS + longest);
    }
    for (const machine of machines) {
      const checks = walkStates(machine.States).filter(
        ({ state }) =>
          state.Type === 'Task' && state.Parameters?.action === 'status' && state.Parameters?.['commands.$'],
      );
      expect(checks.length).toBeGreaterThan(0);
      for (const { name, state } of checks) {
        const byName = new Map(walkStates(machine.States).map((entry) => [entry.name, entry.state]));
        const wait = [...byName.values()].find(
          (candidate) => candidate.Type === 'Wait' && byName.get(candidate.Next)?.Next === name,
        );
        expect(wait, name).toBeDefined();
        expect(state.Parameters.maxAttempts * wait!.Seconds).toBeGreaterThan(COMMAND_DELIVERY_SECONDS + 300);
      }
    }
  });
});

describe('the onFailure teardown', () => {
  it('is started without .sync, so it gets its own whole TimeoutSeconds however late the create failed', () => {
    const create = definition('create-deployment');
    const teardown = create.States['Delete everything after failure'];
    expect(teardown.Resource).toBe('arn:aws:states:::states:startExecution');
    expect(teardown.TimeoutSeconds).toBeUndefined();
    expect(teardown.Next).toBe('Deployment failed');
    expect(teardown.Parameters['Name.$']).toBe("States.Format('{}-delete-1', $$.Execution.Name)");
    // The create's failure stays the original one.
    expect(create.States['Deployment failed']).toMatchObject({
      ErrorPath: '$.failure.Error',
      CausePath: '$.failure.Cause',
    });
    expect(definition('delete-deployment').TimeoutSeconds).toBeGreaterThan(0);
  });
});
