import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { layoutGraph } from './graph-layout.ts';
import type { GraphNode } from './graph-layout.ts';

/** Random DAGs: each node's inputs are earlier nodes, as a job plan lists them. */
const dags = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.tuple(...Array.from({ length: n }, (_, i) => fc.tuple(fc.integer({ min: 1, max: 5 }), fc.subarray(Array.from({ length: i }, (_, j) => j), { maxLength: Math.min(3, i) })))).map((spec) =>
    spec.map(([lines, inputs], i): GraphNode => ({ id: `v${i}`, lines, inputs: inputs.map((j) => ({ id: `v${j}`, label: 'HASH' })) })),
  ),
);

describe('job graph layout', () => {
  it('lays a chain out left to right on one line', () => {
    const layout = layoutGraph([
      { id: 'a', lines: 3, inputs: [] },
      { id: 'b', lines: 3, inputs: [{ id: 'a', label: 'HASH' }] },
      { id: 'c', lines: 3, inputs: [{ id: 'b', label: 'FORWARD' }] },
    ]);
    expect(layout.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    const [a, b, c] = layout.nodes;
    expect(a!.x).toBeLessThan(b!.x);
    expect(b!.x).toBeLessThan(c!.x);
    expect(new Set(layout.nodes.map((n) => n.y)).size).toBe(1);
    expect(layout.edges.map((e) => `${e.from}->${e.to} ${e.label}`)).toEqual(['a->b HASH', 'b->c FORWARD']);
  });

  it('places every vertex right of its inputs, inside the picture, never overlapping another', () => {
    fc.assert(
      fc.property(dags, (nodes) => {
        const layout = layoutGraph(nodes);
        const at = new Map(layout.nodes.map((n) => [n.id, n]));
        expect(layout.nodes).toHaveLength(nodes.length);
        for (const node of nodes) {
          for (const input of node.inputs) expect(at.get(input.id)!.x + at.get(input.id)!.width).toBeLessThan(at.get(node.id)!.x);
        }
        for (const p of layout.nodes) {
          expect(p.x).toBeGreaterThanOrEqual(0);
          expect(p.y).toBeGreaterThanOrEqual(0);
          expect(p.x + p.width).toBeLessThanOrEqual(layout.width);
          expect(p.y + p.height).toBeLessThanOrEqual(layout.height);
          for (const q of layout.nodes) {
            if (p === q) continue;
            const apart = p.x + p.width <= q.x || q.x + q.width <= p.x || p.y + p.height <= q.y || q.y + q.height <= p.y;
            expect(apart, `${p.id} overlaps ${q.id}`).toBe(true);
          }
        }
        expect(layout.edges).toHaveLength(nodes.reduce((sum, n) => sum + n.inputs.length, 0));
      }),
    );
  });

  it('draws an input missing from the plan as no edge', () => {
    const layout = layoutGraph([{ id: 'a', lines: 1, inputs: [{ id: 'gone', label: 'HASH' }] }]);
    expect(layout.nodes).toHaveLength(1);
    expect(layout.edges).toEqual([]);
  });
});
