import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dagre from '@dagrejs/dagre';
import { machineBaseName } from '../core/catalogue.js';
import type { AslMachine, AslState } from '../report/machine.js';

/**
 * The state machine drawn as the Step Functions console draws it: states top to bottom along their Next /
 * Choice / Catch edges, a Parallel as a box holding its branches side by side, a Map as a box holding its
 * iterator. Each scope is laid out with dagre (layered, acyclic-first: poll loops become back edges), innermost
 * first, so a container's size is known before its own scope is laid out. Coordinates are absolute (top-left of
 * each box), ready for the page to draw as SVG; the layout is made once per machine, on the server.
 */

/** One drawn state; a Parallel or Map is a container. */
interface GraphNode {
  name: string;
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Nesting depth: 0 at top level. */
  depth: number;
  container: boolean;
}

/** A branch of a Parallel, or the iterator of a Map: a labelled lane inside its container. */
interface GraphLane {
  parent: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

interface GraphEdge {
  from: string;
  to: string;
  /** next: Next/Default; choice: a Choice rule; catch: a Catch clause (failure path, drawn dashed). */
  kind: 'next' | 'choice' | 'catch';
  points: { x: number; y: number }[];
}

interface MachineGraph {
  machine: string;
  width: number;
  height: number;
  nodes: GraphNode[];
  lanes: GraphLane[];
  edges: GraphEdge[];
}

const NODE_HEIGHT = 34;
const CHAR_WIDTH = 7;
const MIN_WIDTH = 120;
/** Space of a container's title bar, and around and between its lanes. */
const HEADER = 26;
const PAD = 12;
const LANE_GAP = 16;
const LANE_HEADER = 20;

interface ScopeLayout {
  width: number;
  height: number;
  nodes: GraphNode[];
  lanes: GraphLane[];
  edges: GraphEdge[];
}

function edgesOf(state: AslState): { to: string; kind: GraphEdge['kind'] }[] {
  const edges: { to: string; kind: GraphEdge['kind'] }[] = [];
  if (state.Next) edges.push({ to: state.Next, kind: 'next' });
  for (const choice of state.Choices ?? []) if (choice.Next) edges.push({ to: choice.Next, kind: 'choice' });
  if (state.Default) edges.push({ to: state.Default, kind: 'choice' });
  for (const clause of state.Catch ?? []) if (clause.Next) edges.push({ to: clause.Next, kind: 'catch' });
  return edges;
}

const scopesOf = (state: AslState): AslMachine[] => [
  ...(state.Branches ?? []),
  ...[state.Iterator, state.ItemProcessor].filter((scope): scope is AslMachine => !!scope),
];

const shift = <T extends { x: number; y: number }>(item: T, dx: number, dy: number): T => ({
  ...item,
  x: item.x + dx,
  y: item.y + dy,
});

/** Lays out the lanes of a container side by side, under its title bar; returns its size and contents. */
function containerLayout(name: string, state: AslState, depth: number): ScopeLayout {
  const inner = scopesOf(state).map((scope) => layoutScope(scope, depth + 1));
  const isMap = state.Type === 'Map';
  const layout: ScopeLayout = { width: 0, height: 0, nodes: [], lanes: [], edges: [] };
  let x = PAD;
  const laneHeight = Math.max(...inner.map((scope) => scope.height)) + LANE_HEADER;
  inner.forEach((scope, i) => {
    const top = HEADER + LANE_HEADER;
    layout.lanes.push({
      parent: name,
      label: isMap ? 'each item' : `branch ${i + 1}`,
      x,
      y: HEADER,
      width: scope.width,
      height: laneHeight,
    });
    layout.nodes.push(...scope.nodes.map((node) => shift(node, x, top)));
    layout.lanes.push(...scope.lanes.map((lane) => shift(lane, x, top)));
    layout.edges.push(
      ...scope.edges.map((edge) => ({ ...edge, points: edge.points.map((point) => shift(point, x, top)) })),
    );
    x += scope.width + LANE_GAP;
  });
  layout.width = Math.max(x - LANE_GAP + PAD, name.length * CHAR_WIDTH + 2 * PAD);
  layout.height = HEADER + laneHeight + PAD;
  return layout;
}

/** One scope (the machine, a branch or an iterator) laid out by dagre, its containers expanded. */
function layoutScope(scope: AslMachine, depth: number): ScopeLayout {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 34, edgesep: 12, marginx: 8, marginy: 8 });
  const containers = new Map<string, ScopeLayout>();
  for (const [name, state] of Object.entries(scope.States)) {
    const inside = scopesOf(state).length > 0 ? containerLayout(name, state, depth) : null;
    if (inside) containers.set(name, inside);
    graph.setNode(name, {
      width: inside?.width ?? Math.max(MIN_WIDTH, name.length * CHAR_WIDTH + 28),
      height: inside?.height ?? NODE_HEIGHT,
    });
  }
  const kinds = new Map<string, GraphEdge['kind']>();
  for (const [name, state] of Object.entries(scope.States)) {
    edgesOf(state).forEach(({ to, kind }, i) => {
      if (!(to in scope.States)) return;
      const id = `${i}`;
      // Catch edges weigh less: the normal path stays straight, as in the Step Functions console.
      graph.setEdge(name, to, { weight: kind === 'catch' ? 1 : 4, minlen: 1 }, id);
      kinds.set(`${name}\u0000${to}\u0000${id}`, kind);
    });
  }
  dagre.layout(graph);
  const layout: ScopeLayout = { width: 0, height: 0, nodes: [], lanes: [], edges: [] };
  for (const name of graph.nodes()) {
    const box = graph.node(name);
    const x = box.x - box.width / 2;
    const y = box.y - box.height / 2;
    const inside = containers.get(name);
    layout.nodes.push({
      name,
      type: scope.States[name].Type,
      x,
      y,
      width: box.width,
      height: box.height,
      depth,
      container: !!inside,
    });
    if (inside) {
      layout.nodes.push(...inside.nodes.map((node) => shift(node, x, y)));
      layout.lanes.push(...inside.lanes.map((lane) => shift(lane, x, y)));
      layout.edges.push(
        ...inside.edges.map((edge) => ({ ...edge, points: edge.points.map((point) => shift(point, x, y)) })),
      );
    }
  }
  for (const edge of graph.edges()) {
    const label = graph.edge(edge);
    layout.edges.push({
      from: edge.v,
      to: edge.w,
      kind: kinds.get(`${edge.v}\u0000${edge.w}\u0000${edge.name}`) ?? 'next',
      points: ((label.points ?? []) as { x: number; y: number }[]).map(({ x, y }) => ({ x, y })),
    });
  }
  const size = graph.graph();
  layout.width = size.width ?? 0;
  layout.height = size.height ?? 0;
  return layout;
}

/** The graph of an ASL definition. */
function layoutMachine(machine: string, definition: AslMachine): MachineGraph {
  const { width, height, nodes, lanes, edges } = layoutScope(definition, 0);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    machine,
    width: Math.ceil(width),
    height: Math.ceil(height),
    nodes: nodes.map((node) => ({
      ...node,
      x: round(node.x),
      y: round(node.y),
      width: round(node.width),
      height: round(node.height),
    })),
    lanes,
    edges: edges.map((edge) => ({
      ...edge,
      points: edge.points.map(({ x, y }) => ({ x: round(x), y: round(y) })),
    })),
  };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cache = new Map<string, MachineGraph | null>();

/**
 * The graph of one of our state machines (`create-deployment`, `delete-deployment`, or a stack's
 * `<stack>-create-deployment`), from `statemachines/<machine>.asl.json`; null when there is no such file.
 * Laid out once per process.
 */
function machineGraph(machine: string, root: string = ROOT): MachineGraph | null {
  const base = machineBaseName(machine);
  const key = `${root}\u0000${base}`;
  if (!cache.has(key)) {
    const file = join(root, 'statemachines', `${base}.asl.json`);
    cache.set(
      key,
      existsSync(file) ? layoutMachine(base, JSON.parse(readFileSync(file, 'utf8')) as AslMachine) : null,
    );
  }
  return cache.get(key) ?? null;
}

export type { GraphEdge, GraphLane, GraphNode, MachineGraph };
export { layoutMachine, machineGraph };
