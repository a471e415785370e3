import { describe, expect, it } from 'vitest';
import { type GraphNode, layoutMachine, machineGraph } from '../../src/console/graph.js';
import { loadMachineShape } from '../../src/report/machine.js';

/** The graph of the ASL: every state drawn once, branches inside their Parallel, siblings apart. */

const inside = (inner: GraphNode, outer: GraphNode) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

const overlap = (a: GraphNode, b: GraphNode) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('machineGraph', () => {
  it.each(['create-deployment', 'delete-deployment'])('draws every state of %s once', (machine) => {
    // Act
    const graph = machineGraph(machine)!;

    // Assess
    const shape = loadMachineShape(machine)!;
    const own = Object.keys(shape.typeOf).filter((name) => graph.nodes.some((node) => node.name === name));
    expect(graph.nodes.map((node) => node.name).sort()).toEqual([...new Set(own)].sort());
    expect(graph.nodes.length).toBeGreaterThan(20);
  });

  it('puts each branch state inside its Parallel and keeps siblings apart', () => {
    // Act
    const graph = machineGraph('create-deployment')!;

    // Assess
    const shape = loadMachineShape('create-deployment')!;
    const byName = new Map(graph.nodes.map((node) => [node.name, node]));
    for (const node of graph.nodes) {
      const lane = shape.laneOf[node.name];
      if (!lane) continue;
      const parent = byName.get(lane.split('#')[0])!;
      expect([node.name, inside(node, parent)]).toEqual([node.name, true]);
      expect(node.depth).toBe(parent.depth + 1);
    }
    const leaves = graph.nodes.filter((node) => !node.container);
    const clashes = leaves.flatMap((a, i) =>
      leaves
        .slice(i + 1)
        .filter((b) => overlap(a, b))
        .map((b) => `${a.name} / ${b.name}`),
    );
    expect(clashes).toEqual([]);
  });

  it('draws Catch edges apart from the normal path', () => {
    // Act
    const graph = layoutMachine('test', {
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Next: 'Done', Catch: [{ Next: 'Failed' }] },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail' },
      },
    });

    // Assess
    expect(graph.edges.map(({ from, to, kind }) => `${from}->${to}:${kind}`).sort()).toEqual([
      'Work->Done:next',
      'Work->Failed:catch',
    ]);
    expect(graph.edges.every((edge) => edge.points.length >= 2)).toBe(true);
  });
});
