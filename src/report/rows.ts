import { type FailureCause, parseCause } from '../core/errors.js';
import {
  blameStep as blameStepOf,
  type ExecutionRecord,
  lastOf,
  type StepRecord,
} from '../core/execution-record.js';
import type { MachineShape } from './machine.js';

/**
 * The rows both history views show, text and HTML: one per state visit worth reading, with poll loops collapsed
 * into one row, branch steps nested under their Parallel and Map iterations under their Map. The Gantt draws one
 * bar per row, the text table prints one line per row.
 */

/** How a row is colored and marked. `retried` is a success that needed retries. */
type RowOutcome = 'succeeded' | 'failed' | 'caught' | 'retried' | 'running';

/** One result of a batch step on one node (or item): from a failure's details or the execution output. */
interface NodeResult {
  node: string;
  ok: boolean;
  text: string;
}

interface Row {
  /** step: one visit; loop: consecutive visits of a poll loop; iteration: one Map iteration. */
  kind: 'step' | 'loop' | 'iteration';
  /** What the row says: the state name, "Check NAT gateway state ×24", "Install [3]". */
  label: string;
  /** The state the row stands for (a loop: its most visited Task). */
  name: string;
  type: string;
  start: number;
  end: number | null;
  outcome: RowOutcome;
  /** Retries of every visit in the row. */
  retries: number;
  /** Visits of `name` in the row (1 for a step). */
  visits: number;
  /** Every state visit the row stands for, in order. */
  steps: StepRecord[];
  /** The error of the failed or caught visit in the row, if any. */
  error?: string;
  cause?: string;
  /** Whether this row holds the step an operator must look at (see {@link blameStep}). */
  blamed: boolean;
  /** Per-node results found in the row's failure cause. */
  nodes: NodeResult[];
  children: Row[];
}

/** State types that only route or reshape data: shown when they fail, hidden when they succeed. */
const ROUTING = new Set(['Choice', 'Pass', 'Succeed']);

/** The step to blame for a failed execution (one rule for every view: see {@link blameStepOf}). */
function blameStep(record: ExecutionRecord): StepRecord | undefined {
  return record.failure ? blameStepOf(record.steps, record.failure) : undefined;
}

const text = (value: unknown): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);

const asObjects = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value)
    ? value.map(
        (item) => (item && typeof item === 'object' ? item : { node: item }) as Record<string, unknown>,
      )
    : [];

/** `{ node|name|nickname|instanceId, ok|healthy|status, ... }` → a node result. */
function nodeOf(item: Record<string, unknown>): NodeResult {
  const node = text(item.node ?? item.name ?? item.nickname ?? item.instanceId ?? item.id ?? '?');
  const status = text(item.status ?? item.state ?? '');
  const ok =
    typeof item.ok === 'boolean'
      ? item.ok
      : typeof item.healthy === 'boolean'
        ? item.healthy
        : /^(success|succeeded|ok|healthy|running|available)$/i.test(status);
  const rest = Object.entries(item)
    .filter(([key]) => !['node', 'name', 'nickname', 'ok', 'healthy'].includes(key))
    .map(([key, value]) => `${key} ${text(value)}`);
  return { node, ok, text: rest.join(', ') };
}

/**
 * Per-node results in a failure's details: `nodes` (array of node objects or a node → status map), `failedNodes`
 * of a command, `failed` health checks with their `unhealthy` nodes, `leftovers` of a teardown and `problems` of
 * a spec.
 */
function nodeResultsOf(cause: FailureCause | null): NodeResult[] {
  const details = cause?.details;
  if (!details) return [];
  const results: NodeResult[] = [];
  const { nodes } = details;
  if (Array.isArray(nodes)) results.push(...asObjects(nodes).map(nodeOf));
  else if (nodes && typeof nodes === 'object') {
    for (const [node, value] of Object.entries(nodes)) {
      results.push(
        value && typeof value === 'object'
          ? { ...nodeOf(value as Record<string, unknown>), node }
          : nodeOf({ node, status: value }),
      );
    }
  }
  if (Array.isArray(details.failedNodes)) {
    const status = [
      text(details.status),
      details.exitCode === undefined ? '' : `exit code ${details.exitCode}`,
    ]
      .filter(Boolean)
      .join(', ');
    for (const node of details.failedNodes) {
      results.push({
        node: text(node),
        ok: false,
        text: [text(details.document), status].filter(Boolean).join(' '),
      });
    }
  }
  for (const check of asObjects(details.failed)) {
    const unhealthy = Array.isArray(check.unhealthy) ? check.unhealthy.map(text) : [];
    const what = `${text(check.check)}: ${text(check.summary)}`;
    if (unhealthy.length === 0)
      results.push({ node: text(check.check), ok: false, text: text(check.summary) });
    for (const node of unhealthy) results.push({ node, ok: false, text: what });
  }
  for (const item of asObjects(details.leftovers)) {
    results.push({
      node: `${text(item.type)} ${text(item.id)}`.trim(),
      ok: false,
      text: [text(item.name), text(item.state), text(item.why)].filter(Boolean).join(', '),
    });
  }
  for (const problem of asObjects(details.problems)) {
    results.push({ node: text(problem.field), ok: false, text: text(problem.message) });
  }
  return results;
}

/** Results per check of the health step, from a create's output (`health: [{ check, healthy, summary, unhealthy }]`). */
function healthResults(output: unknown): NodeResult[] {
  const health = (output as { health?: unknown } | null)?.health;
  return asObjects(health)
    .filter((item) => typeof item.check === 'string')
    .map((item) => ({
      node: text(item.check),
      ok: item.healthy === true,
      text: [
        text(item.summary),
        Array.isArray(item.unhealthy) && item.unhealthy.length
          ? `(${item.unhealthy.map(text).join(', ')})`
          : '',
      ]
        .filter(Boolean)
        .join(' '),
    }));
}

function outcomeOf(steps: StepRecord[]): RowOutcome {
  if (steps.some((step) => step.outcome === 'failed')) return 'failed';
  if (steps.some((step) => step.outcome === 'running')) return 'running';
  if (steps.at(-1)?.outcome === 'caught' || steps.some((step) => step.outcome === 'caught')) return 'caught';
  return steps.some((step) => step.retries > 0) ? 'retried' : 'succeeded';
}

const endOf = (steps: StepRecord[]): number | null =>
  steps.some((step) => step.end === null) ? null : Math.max(...steps.map((step) => step.end as number));

/** The steps of a whole record that ran inside one visit of a Parallel or Map (by parent name and time). */
function childrenOf(record: ExecutionRecord, container: StepRecord, used: Set<StepRecord>): StepRecord[] {
  const end = container.end ?? Number.POSITIVE_INFINITY;
  return record.steps.filter(
    (step) =>
      !used.has(step) && step.parent === container.name && step.start >= container.start && step.start <= end,
  );
}

/**
 * Loop ids from the record itself, for a machine with no ASL file at hand: the cycles of the observed
 * state-to-state transitions within each lane (exact unless branches of a Parallel interleave).
 */
function observedLoops(steps: StepRecord[]): Record<string, string> {
  const edges = new Map<string, Set<string>>();
  const previous = new Map<string, string>();
  for (const step of steps) {
    const lane = `${step.parent ?? ''}|${step.index ?? ''}`;
    const before = previous.get(lane);
    if (before !== undefined) edges.set(before, (edges.get(before) ?? new Set()).add(step.name));
    previous.set(lane, step.name);
  }
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const pending = [from];
    while (pending.length) {
      const name = pending.pop()!;
      for (const next of edges.get(name) ?? []) {
        if (next === to) return true;
        if (!seen.has(next)) {
          seen.add(next);
          pending.push(next);
        }
      }
    }
    return false;
  };
  const loopOf: Record<string, string> = {};
  const names = [...new Set(steps.map((step) => step.name))];
  for (const name of names) {
    if (loopOf[name] || !reaches(name, name)) continue;
    for (const other of names)
      if (other === name || (reaches(name, other) && reaches(other, name))) loopOf[other] = name;
  }
  return loopOf;
}

interface Context {
  record: ExecutionRecord;
  shape: MachineShape | null;
  loopOf: Record<string, string>;
  blamed: StepRecord | undefined;
  used: Set<StepRecord>;
}

function stepRow(ctx: Context, step: StepRecord, depth: number): Row {
  ctx.used.add(step);
  const row: Row = {
    kind: 'step',
    label: step.name,
    name: step.name,
    type: step.type,
    start: step.start,
    end: step.end,
    outcome: outcomeOf([step]),
    retries: step.retries,
    visits: 1,
    steps: [step],
    ...(step.error !== undefined ? { error: step.error } : {}),
    ...(step.cause !== undefined ? { cause: step.cause } : {}),
    blamed: step === ctx.blamed,
    // A step that succeeded after retries keeps the error it retried: its nodes are not a result.
    nodes:
      step.outcome === 'failed' || step.outcome === 'caught' ? nodeResultsOf(parseCause(step.cause)) : [],
    children: [],
  };
  if (step.type === 'Parallel') row.children = rowsOf(ctx, childrenOf(ctx.record, step, ctx.used), depth + 1);
  if (step.type === 'Map') row.children = iterationRows(ctx, step, depth + 1);
  return row;
}

function loopRow(ctx: Context, steps: StepRecord[]): Row {
  for (const step of steps) ctx.used.add(step);
  const visits = new Map<string, number>();
  for (const step of steps) visits.set(step.name, (visits.get(step.name) ?? 0) + 1);
  const tasks = steps.filter((step) => step.type === 'Task');
  const candidates = tasks.length > 0 ? tasks : steps;
  const name = candidates.reduce(
    (best, step) => ((visits.get(step.name) ?? 0) > (visits.get(best) ?? 0) ? step.name : best),
    candidates[0].name,
  );
  const broken = lastOf(steps, (step) => step.outcome === 'failed' || step.outcome === 'caught');
  const count = visits.get(name) ?? 1;
  return {
    kind: 'loop',
    label: `${name} ×${count}`,
    name,
    type: candidates[0].type,
    start: steps[0].start,
    end: endOf(steps),
    outcome: outcomeOf(steps),
    retries: steps.reduce((sum, step) => sum + step.retries, 0),
    visits: count,
    steps,
    ...(broken?.error !== undefined ? { error: broken.error } : {}),
    ...(broken?.cause !== undefined ? { cause: broken.cause } : {}),
    blamed: ctx.blamed !== undefined && steps.includes(ctx.blamed),
    nodes: nodeResultsOf(parseCause(broken?.cause)),
    children: [],
  };
}

/** One row per iteration of a Map visit; an iteration that did not succeed also shows its own steps. */
function iterationRows(ctx: Context, map: StepRecord, depth: number): Row[] {
  const children = childrenOf(ctx.record, map, ctx.used);
  const indexes = [...new Set(children.map((step) => step.index ?? -1))].sort((a, b) => a - b);
  return indexes.map((index) => {
    const steps = children.filter((step) => (step.index ?? -1) === index);
    const outcome = outcomeOf(steps);
    const broken = lastOf(steps, (step) => step.outcome === 'failed' || step.outcome === 'caught');
    const inner = rowsOf(ctx, steps, depth + 1);
    return {
      kind: 'iteration' as const,
      label: `${map.name} [${index}]`,
      name: map.name,
      type: 'MapIteration',
      start: Math.min(...steps.map((step) => step.start)),
      end: endOf(steps),
      outcome,
      retries: steps.reduce((sum, step) => sum + step.retries, 0),
      visits: 1,
      steps,
      ...(broken?.error !== undefined ? { error: broken.error } : {}),
      ...(broken?.cause !== undefined ? { cause: broken.cause } : {}),
      blamed: ctx.blamed !== undefined && steps.includes(ctx.blamed),
      nodes: [],
      children: outcome === 'succeeded' || outcome === 'retried' ? [] : inner,
    };
  });
}

/**
 * Rows of one scope's steps (in entry order). A run of consecutive visits of one poll loop within one lane becomes
 * one row when some state of the loop was visited more than once; other steps become one row each.
 */
function rowsOf(ctx: Context, steps: StepRecord[], depth: number): Row[] {
  type Entry = { loop: string; steps: StepRecord[] } | { step: StepRecord };
  const entries: Entry[] = [];
  const open = new Map<string, { loop: string; steps: StepRecord[] }>();
  for (const step of steps) {
    if (ctx.used.has(step)) continue;
    const lane = `${ctx.shape?.laneOf[step.name] ?? step.parent ?? ''}|${step.index ?? ''}`;
    const loop = ctx.loopOf[step.name];
    const current = open.get(lane);
    if (loop !== undefined && current?.loop === loop) {
      current.steps.push(step);
      continue;
    }
    open.delete(lane);
    if (loop === undefined) {
      entries.push({ step });
      continue;
    }
    const group = { loop, steps: [step] };
    open.set(lane, group);
    entries.push(group);
  }
  const rows: Row[] = [];
  for (const entry of entries) {
    if ('step' in entry) {
      rows.push(stepRow(ctx, entry.step, depth));
      continue;
    }
    const names = entry.steps.map((step) => step.name);
    if (new Set(names).size < names.length) rows.push(loopRow(ctx, entry.steps));
    else rows.push(...entry.steps.map((step) => stepRow(ctx, step, depth)));
  }
  return rows.filter((row) => !(row.kind === 'step' && ROUTING.has(row.type) && row.outcome === 'succeeded'));
}

/**
 * The rows of an execution, top level first, branch steps as children of their Parallel row.
 * @param shape the machine's shape (lanes and loops from its ASL); without it, loops are found from the steps.
 */
function buildRows(record: ExecutionRecord, shape: MachineShape | null = null): Row[] {
  const ctx: Context = {
    record,
    shape,
    loopOf: shape ? { ...observedLoops(record.steps), ...shape.loopOf } : observedLoops(record.steps),
    blamed: blameStep(record),
    used: new Set(),
  };
  if (shape) {
    // Observed loops only for states the ASL does not know; the ASL says exactly which states loop.
    for (const name of Object.keys(ctx.loopOf)) {
      if (name in shape.typeOf && !(name in shape.loopOf)) delete ctx.loopOf[name];
    }
  }
  const top = record.steps.filter((step) => step.parent === undefined);
  const rows = rowsOf(ctx, top, 0);
  // Steps whose parent never showed up (a truncated history) still get a row.
  const orphans = record.steps.filter((step) => !ctx.used.has(step));
  return orphans.length > 0 ? [...rows, ...rowsOf(ctx, orphans, 0)] : rows;
}

/** Rows and their children, depth first, with their nesting depth. */
function flattenRows(rows: Row[], depth = 0): { row: Row; depth: number }[] {
  return rows.flatMap((row) => [{ row, depth }, ...flattenRows(row.children, depth + 1)]);
}

/** The execution's reference end: its stop date, else the latest step boundary seen. */
function endOfRecord(record: ExecutionRecord): number {
  if (record.stopDate !== null) return record.stopDate;
  const times = record.steps.flatMap((step) => [step.start, step.end ?? step.start]);
  return Math.max(record.startDate, ...times);
}

export type { NodeResult, Row, RowOutcome };
export { blameStep, buildRows, endOfRecord, flattenRows, healthResults, nodeResultsOf };
