import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS, type FunctionName, MACHINE_NAMES, machineBaseName } from '../core/catalogue.js';

/**
 * What the history views need to know about a state machine's definition, beyond what a history records:
 * which branch of a Parallel each state belongs to (branches run interleaved, so the order of the steps does not
 * tell), which states form a poll loop (Check → Choice → Wait → Check…), and how many Task states a normal run
 * goes through (the "total" of `watch`).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The parts of an ASL state the views read. */
interface AslState {
  Type: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  Choices?: { Next?: string }[];
  Catch?: { Next?: string }[];
  Branches?: AslMachine[];
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
  Resource?: string;
  Parameters?: Record<string, unknown>;
}

/** An ASL definition, or one branch of a Parallel, or the iterator of a Map. */
interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
}

/** The shape of a state machine as the history views use it. */
interface MachineShape {
  /** Task states on the normal path (reachable without going through a Catch): the total of `watch`. */
  tasks: string[];
  /** State name → its lane: `''` at top level, `<Parallel>#<branch>` in a branch, `<Map>` in an iterator. */
  laneOf: Record<string, string>;
  /** State name → id of the poll loop it is part of (a cycle of the Next/Choice graph); absent when none. */
  loopOf: Record<string, string>;
  /** State name → ASL type. */
  typeOf: Record<string, string>;
}

/** Next-state edges of a state, without its Catch edges. */
function nextStates(state: AslState): string[] {
  return [state.Next, state.Default, ...(state.Choices ?? []).map((choice) => choice.Next)].filter(
    (next): next is string => typeof next === 'string',
  );
}

/** Strongly connected components (Tarjan) of the Next/Choice graph of one scope: each cycle is a poll loop. */
function cyclesOf(states: Record<string, AslState>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (name: string) => {
    index.set(name, counter);
    low.set(name, counter);
    counter += 1;
    stack.push(name);
    onStack.add(name);
    for (const next of nextStates(states[name]).filter((candidate) => candidate in states)) {
      if (!index.has(next)) {
        visit(next);
        low.set(name, Math.min(low.get(name)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(name, Math.min(low.get(name)!, index.get(next)!));
      }
    }
    if (low.get(name) !== index.get(name)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== name);
    const selfLoop = nextStates(states[name]).includes(name);
    if (component.length > 1 || selfLoop) cycles.push(component);
  };
  for (const name of Object.keys(states)) if (!index.has(name)) visit(name);
  // Loop ids follow definition order, so they are stable across runs.
  const order = Object.keys(states);
  return cycles.map((cycle) => cycle.sort((a, b) => order.indexOf(a) - order.indexOf(b)));
}

/** States reachable from StartAt by Next/Choice edges only: the normal path, failure handling excluded. */
function reachable(scope: AslMachine): Set<string> {
  const seen = new Set<string>();
  const pending = [scope.StartAt];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name) || !(name in scope.States)) continue;
    seen.add(name);
    pending.push(...nextStates(scope.States[name]));
  }
  return seen;
}

function childScopes(state: AslState): AslMachine[] {
  return [...(state.Branches ?? []), ...[state.Iterator, state.ItemProcessor].filter((scope) => !!scope)];
}

/**
 * The shape of an ASL definition: lanes, poll loops and normal-path Task states, through every Parallel branch
 * and Map iterator.
 */
function shapeOf(definition: AslMachine): MachineShape {
  const shape: MachineShape = { tasks: [], laneOf: {}, loopOf: {}, typeOf: {} };
  const walk = (scope: AslMachine, lane: string, onNormalPath: boolean) => {
    const normal = reachable(scope);
    for (const cycle of cyclesOf(scope.States)) {
      for (const name of cycle) shape.loopOf[name] = `${lane}/${cycle[0]}`;
    }
    for (const [name, state] of Object.entries(scope.States)) {
      shape.laneOf[name] = lane;
      shape.typeOf[name] = state.Type;
      const normalHere = onNormalPath && normal.has(name);
      if (state.Type === 'Task' && normalHere) shape.tasks.push(name);
      (state.Branches ?? []).forEach((branch, i) => {
        walk(branch, `${name}#${i}`, normalHere);
      });
      for (const scopeOfMap of [state.Iterator, state.ItemProcessor]) {
        if (scopeOfMap) walk(scopeOfMap, name, normalHere);
      }
    }
  };
  walk(definition, '', true);
  return shape;
}

/** Machines started by a Task of this definition (`startExecution` with `${XStateMachineArn}`). */
function childMachines(definition: AslMachine): string[] {
  const children: string[] = [];
  const walk = (scope: AslMachine) => {
    for (const state of Object.values(scope.States)) {
      const target = state.Parameters?.StateMachineArn;
      const placeholder = typeof target === 'string' ? /^\$\{(\w+)StateMachineArn\}$/.exec(target) : null;
      if (state.Resource?.includes(':states:startExecution') && placeholder) {
        children.push(placeholder[1].replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase());
      }
      for (const child of childScopes(state)) walk(child);
    }
  };
  walk(definition);
  return children;
}

function readDefinition(machine: string, root: string): AslMachine | null {
  const file = join(root, 'statemachines', `${machineBaseName(machine)}.asl.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AslMachine) : null;
}

/**
 * The shape of one of our state machines, read from `statemachines/<machine>.asl.json`, or null when there is no
 * such file. A machine that starts another one (create's "delete everything after failure") also gets the other's
 * lanes and loops: in local mode the child's steps land in the same record. `tasks` stays the machine's own.
 */
function loadMachineShape(machine: string, root: string = ROOT): MachineShape | null {
  const definition = readDefinition(machine, root);
  if (!definition) return null;
  const shape = shapeOf(definition);
  for (const child of childMachines(definition)) {
    const childDefinition = child === machineBaseName(machine) ? null : readDefinition(child, root);
    if (!childDefinition) continue;
    const extra = shapeOf(childDefinition);
    for (const key of ['laneOf', 'loopOf', 'typeOf'] as const) {
      shape[key] = { ...extra[key], ...shape[key] };
    }
  }
  return shape;
}

/**
 * The function a Task state calls (`${InstancesFunctionArn}` → `Instances`), searched in every state machine, or
 * undefined when no Lambda Task has that name.
 */
function taskFunction(stateName: string, root: string = ROOT): FunctionName | undefined {
  const find = (scope: AslMachine): string | undefined => {
    for (const [name, state] of Object.entries(scope.States)) {
      const fn = /^\$\{(\w+)FunctionArn\}$/.exec(String(state.Resource ?? ''))?.[1];
      if (name === stateName && state.Type === 'Task' && fn) return fn;
      for (const child of childScopes(state)) {
        const found = find(child);
        if (found) return found;
      }
    }
    return undefined;
  };
  for (const machine of MACHINE_NAMES) {
    const definition = readDefinition(machine, root);
    const fn = definition && find(definition);
    if (fn && (FUNCTIONS as readonly string[]).includes(fn)) return fn as FunctionName;
  }
  return undefined;
}

export type { AslMachine, AslState, MachineShape };
export { loadMachineShape, shapeOf, taskFunction };
