import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BlockRef, DistributionMode, OperatorStateMeta } from '../../format/model.ts';
import { type PartitionSlice, repartitionOperatorStates } from './operator-state-repartition.ts';

/** Partitions with `counts[i]` elements (null for 0); the offset identifies the old subtask. */
function stateOf(counts: readonly number[], mode: DistributionMode, name = 's'): OperatorStateMeta {
  const partitions = counts.map((entries, i): BlockRef | null => (entries === 0 ? null : { file: 0, offset: 16 + i, length: 1, entries, crc: 0 }));
  const entries = counts.reduce((a, b) => a + b, 0);
  return { name, kind: mode === 'broadcast' ? 'broadcast' : 'list', mode, schemaVersion: 1, partitions, entries, bytes: 0 };
}

/** Elements as "oldSubtask:index" labels. */
const labels = (slices: readonly PartitionSlice[]): string[] =>
  slices.flatMap((s) => Array.from({ length: s.to - s.from }, (_, i) => `${s.oldSubtask}:${s.from + i}`));

const allLabels = (counts: readonly number[]): string[] => counts.flatMap((n, sub) => Array.from({ length: n }, (_, i) => `${sub}:${i}`));

const countsArb = fc.array(fc.nat({ max: 12 }), { minLength: 1, maxLength: 8 });

describe('SPLIT redistribution', () => {
  it('deals every element to exactly one subtask, evenly, in contiguous runs', () => {
    fc.assert(
      fc.property(countsArb, fc.integer({ min: 1, max: 10 }), (counts, newP) => {
        const [perSubtask] = repartitionOperatorStates([stateOf(counts, 'split')], counts.length, newP);
        expect(perSubtask).toHaveLength(newP);
        const dealt = perSubtask!.flatMap(labels);
        expect([...dealt].sort()).toEqual(allLabels(counts).sort()); // none lost, none duplicated
        if (newP !== counts.length) {
          const sizes = perSubtask!.map((s) => labels(s).length);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          // Each subtask's run is a contiguous piece of the concatenation in old subtask order.
          const order = allLabels(counts);
          for (const slices of perSubtask!) {
            const run = labels(slices);
            if (run.length === 0) continue;
            const at = order.indexOf(run[0]!);
            expect(order.slice(at, at + run.length)).toEqual(run);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every partition in place when the parallelism is unchanged (as Flink)', () => {
    const [perSubtask] = repartitionOperatorStates([stateOf([3, 0, 1], 'split')], 3, 3);
    expect(perSubtask!.map(labels)).toEqual([['0:0', '0:1', '0:2'], [], ['2:0']]);
  });

  it('cuts like Flink: the longer runs first, and rotates the start between states', () => {
    const states = [stateOf([3, 2], 'split', 'a'), stateOf([1, 1], 'split', 'b'), stateOf([2, 2], 'split', 'c')];
    const [a, b, c] = repartitionOperatorStates(states, 2, 3);
    expect(a!.map(labels)).toEqual([['0:0', '0:1'], ['0:2', '1:0'], ['1:1']]);
    // 'a' gave its extra elements to subtasks 0 and 1, so 'b' starts at subtask 2 (and wraps).
    expect(b!.map(labels)).toEqual([['1:0'], [], ['0:0']]);
    // Subtask 1 was the first of 'b' without an extra element, so 'c' starts there.
    expect(c!.map(labels)).toEqual([['1:1'], ['0:0', '0:1'], ['1:0']]);
  });
});

describe('UNION and BROADCAST redistribution', () => {
  it('gives every subtask every element of a union state', () => {
    fc.assert(
      fc.property(countsArb, fc.integer({ min: 1, max: 10 }), (counts, newP) => {
        const [perSubtask] = repartitionOperatorStates([stateOf(counts, 'union')], counts.length, newP);
        for (const slices of perSubtask!) expect(labels(slices)).toEqual(allLabels(counts));
      }),
    );
  });

  it('gives new subtask i the partition of old subtask i mod oldP', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 10 }),
        (counts, newP) => {
          const [perSubtask] = repartitionOperatorStates([stateOf(counts, 'broadcast')], counts.length, newP);
          perSubtask!.forEach((slices, i) => {
            expect(slices.map((s) => s.oldSubtask)).toEqual([i % counts.length]);
            expect(labels(slices)).toHaveLength(counts[i % counts.length]!);
          });
        },
      ),
    );
  });
});
