import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedCheckpoints } from './aborted-checkpoints.ts';

describe('AbortedCheckpoints', () => {
  it('a checkpoint aborted before it started here is skipped once; one already started is not kept', () => {
    const a = new AbortedCheckpoints();
    a.notify(2);
    a.notify(3);
    expect(a.start(1)).toBe(false);
    expect(a.start(2)).toBe(true);
    expect(a.start(2)).toBe(false);
    a.notify(2); // its snapshot is under way (or skipped): nothing to remember
    expect(a.size).toBe(1);
    expect(a.start(3)).toBe(true);
    expect(a.size).toBe(0);
  });

  it('forgets older ones when a newer one starts (their trigger or barrier will not come)', () => {
    const a = new AbortedCheckpoints();
    for (const id of [4, 5, 7]) a.notify(id);
    expect(a.start(6)).toBe(false);
    expect(a.size).toBe(1);
    expect(a.start(5)).toBe(false);
    expect(a.start(7)).toBe(true);
  });

  it('keeps no more than its limit, dropping the oldest notification', () => {
    const a = new AbortedCheckpoints(3);
    for (const id of [1, 2, 3, 4]) a.notify(id);
    expect(a.size).toBe(3);
    expect([1, 2, 3, 4].map((id) => a.start(id))).toEqual([false, true, true, true]);
  });

  it('never holds more than its limit, and says true only for a notified id, once per notification', () => {
    const op = fc.oneof(fc.record({ notify: fc.integer({ min: 0, max: 40 }) }), fc.record({ start: fc.integer({ min: 0, max: 40 }) }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (limit, ops) => {
        const a = new AbortedCheckpoints(limit);
        const unused = new Map<number, number>(); // id -> notifications not yet answered with true
        for (const o of ops) {
          if ('notify' in o) {
            a.notify(o.notify);
            unused.set(o.notify, 1);
          } else if (a.start(o.start)) {
            expect(unused.get(o.start)).toBe(1);
            unused.delete(o.start);
          }
          expect(a.size).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with ids in order, as the coordinator triggers them, every aborted one within the limit is skipped', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }), fc.integer({ min: 1, max: 128 }), (ids, limit) => {
        const aborted = new Set(ids);
        const a = new AbortedCheckpoints(limit);
        // Every abort arrives while checkpoint 0's snapshot still runs; then the triggers run in order.
        a.start(0);
        for (const id of [...aborted].sort((x, y) => x - y)) a.notify(id);
        const kept = new Set([...aborted].sort((x, y) => x - y).slice(-limit));
        for (let id = 1; id <= 200; id++) expect(a.start(id)).toBe(kept.has(id));
        expect(a.size).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
