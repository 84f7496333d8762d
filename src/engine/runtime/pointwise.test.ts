import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pointwiseSources, pointwiseTargets } from './pointwise.ts';

describe('pointwise edges (forward, rescale)', () => {
  it('pairs as Flink does: 2 -> 4 fans out, 4 -> 2 fans in, 3 -> 3 one to one', () => {
    expect([0, 1].map((i) => pointwiseTargets(2, 4, i))).toEqual([[0, 1], [2, 3]]);
    expect([0, 1, 2, 3].map((i) => pointwiseTargets(4, 2, i))).toEqual([[0], [0], [1], [1]]);
    expect([0, 1, 2].map((i) => pointwiseTargets(3, 3, i))).toEqual([[0], [1], [2]]);
    expect([0, 1].map((i) => pointwiseTargets(2, 3, i))).toEqual([[0, 1], [2]]);
    expect([0, 1, 2].map((i) => pointwiseTargets(3, 2, i))).toEqual([[0], [1], [1]]);
    expect([0, 1].map((d) => pointwiseSources(4, 2, d))).toEqual([[0, 1], [2, 3]]);
  });

  it('connects every upstream and every downstream subtask, each pair at most once, in contiguous runs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (up, down) => {
        const pairs = Array.from({ length: up }, (_, u) => pointwiseTargets(up, down, u).map((d) => [u, d] as const)).flat();
        expect(new Set(pairs.map(([u]) => u)).size).toBe(up);
        expect(new Set(pairs.map(([, d]) => d)).size).toBe(down);
        // Either side has one partner (no many-to-many), and sources invert targets.
        for (const [u, d] of pairs) expect(pointwiseTargets(up, down, u).length === 1 || pointwiseSources(up, down, d).length === 1).toBe(true);
        for (let d = 0; d < down; d++) expect(pointwiseSources(up, down, d)).toEqual(pairs.filter(([, x]) => x === d).map(([u]) => u));
      }),
    );
  });
});
