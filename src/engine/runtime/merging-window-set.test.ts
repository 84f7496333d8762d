import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TimeWindow } from '../api/window.ts';
import { type MergingWindows, addWindow } from './merging-window-set.ts';

/** Sessions directly: windows sorted by start, merged while they overlap or touch. */
function sessions(windows: readonly TimeWindow[]): string[] {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  const out: TimeWindow[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && w.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, w.end) };
    else out.push(w);
  }
  return out.map((w) => `${w.start}-${w.end}`);
}

const windowArb = fc.record({ start: fc.integer({ min: 0, max: 1000 }), gap: fc.integer({ min: 1, max: 60 }) }).map(({ start, gap }): TimeWindow => ({ start, end: start + gap }));

describe('merging window set', () => {
  it('ends with the sessions of all windows added, in any order, and moves every window’s contents into its session', () => {
    fc.assert(
      fc.property(fc.array(windowArb, { maxLength: 40 }), (added) => {
        const set: MergingWindows = [];
        // Contents per window as the operator keeps them: merged into the cover, removed from the merged.
        const contents = new Map<string, number[]>();
        const id = (w: TimeWindow): string => `${w.start}-${w.end}`;
        added.forEach((window, i) => {
          const actual = addWindow(set, window, (cover, merged) => {
            expect(merged.length).toBeGreaterThan(0);
            const moved = merged.flatMap((m) => {
              const c = contents.get(id(m)) ?? [];
              contents.delete(id(m));
              return c;
            });
            contents.set(id(cover), [...(contents.get(id(cover)) ?? []), ...moved]);
          });
          expect(actual.start <= window.start && window.end <= actual.end).toBe(true);
          contents.set(id(actual), [...(contents.get(id(actual)) ?? []), i]);
        });
        expect(set.map(id).sort()).toEqual(sessions(added).sort());
        // Every element sits in the one session that covers its window, none lost or doubled.
        expect([...contents.keys()].sort()).toEqual(added.length === 0 ? [] : sessions(added).sort());
        for (const [session, elements] of contents) {
          const [start, end] = session.split('-').map(Number) as [number, number];
          for (const i of elements) expect(added[i]!.start >= start && added[i]!.end <= end).toBe(true);
        }
        expect([...contents.values()].flat().sort((a, b) => a - b)).toEqual(added.map((_, i) => i));
      }),
    );
  });
});
