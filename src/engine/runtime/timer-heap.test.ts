import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerHeap } from './timer-heap.ts';

describe('TimerHeap', () => {
  it('polls in timestamp order, ties in insertion order', () => {
    const heap = new TimerHeap<string>();
    heap.add(30, 'a', 'a');
    heap.add(10, 'b', 'b');
    heap.add(30, 'c', 'c');
    heap.add(20, 'a', 'a');
    const polled = [];
    for (let t = heap.poll(); t !== undefined; t = heap.poll()) polled.push(`${t.timestamp}:${t.key}`);
    expect(polled).toEqual(['10:b', '20:a', '30:a', '30:c']);
  });

  it('keeps one timer per (timestamp, key) and removes from the middle', () => {
    const heap = new TimerHeap<string>();
    expect(heap.add(5, 'k', 'k')).toBe(true);
    expect(heap.add(5, 'k', 'k')).toBe(false);
    expect(heap.add(5, 'other', 'other')).toBe(true);
    expect(heap.size).toBe(2);
    expect(heap.remove(5, 'k')).toBe(true);
    expect(heap.remove(5, 'k')).toBe(false);
    expect(heap.contains(5, 'other')).toBe(true);
    expect(heap.poll()?.key).toBe('other');
    expect(heap.poll()).toBeUndefined();
  });

  it('behaves as a sorted set under any mix of adds, removes and polls', () => {
    type Op = { kind: 'add' | 'remove'; timestamp: number; key: number } | { kind: 'poll' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), timestamp: fc.integer({ min: -5, max: 20 }), key: fc.integer({ min: 0, max: 4 }) }),
      fc.constant({ kind: 'poll' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new TimerHeap<number>();
        // The model: a list of [timestamp, key, seq], kept sorted by (timestamp, seq).
        let model: [number, number, number][] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const fresh = !model.some(([t, k]) => t === o.timestamp && k === o.key);
            expect(heap.add(o.timestamp, o.key, String(o.key))).toBe(fresh);
            if (fresh) model.push([o.timestamp, o.key, seq++]);
          } else if (o.kind === 'remove') {
            const present = model.some(([t, k]) => t === o.timestamp && k === o.key);
            expect(heap.remove(o.timestamp, String(o.key))).toBe(present);
            model = model.filter(([t, k]) => t !== o.timestamp || k !== o.key);
          } else {
            model.sort((a, b) => a[0] - b[0] || a[2] - b[2]);
            const expected = model.shift();
            const polled = heap.poll();
            expect(polled === undefined ? undefined : [polled.timestamp, polled.key]).toEqual(expected === undefined ? undefined : [expected[0], expected[1]]);
          }
          expect(heap.size).toBe(model.length);
        }
      }),
    );
  });
});
