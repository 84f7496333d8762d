import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyChanges } from './change-tracking.ts';

describe('KeyChanges', () => {
  it('property: lists, sorted and once each, the keys whose last change is after a sequence, as a map of last changes would', () => {
    // Sequences only grow; a drop forgets up to an earlier sequence, as confirmations do.
    const step = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant('mark' as const), group: fc.nat(2), key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f') }), weight: 6 },
      fc.record({ op: fc.constant('next' as const) }),
      fc.record({ op: fc.constant('drop' as const), back: fc.nat(2) }),
      fc.record({ op: fc.constant('since' as const), group: fc.nat(2), back: fc.nat(3) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 80, size: 'max' }), (steps) => {
        const changes = new KeyChanges(3);
        const model = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
        let seq = 1;
        for (const s of steps) {
          switch (s.op) {
            case 'mark':
              changes.mark(s.group, s.key, seq);
              model[s.group]!.set(s.key, seq);
              break;
            case 'next':
              seq++;
              break;
            case 'drop':
              changes.drop(seq - s.back);
              for (const m of model) for (const [k, last] of m) if (last <= seq - s.back) m.delete(k);
              break;
            case 'since': {
              const expected = [...model[s.group]!].filter(([, last]) => last > seq - s.back).map(([k]) => k).sort();
              expect(changes.since(s.group, seq - s.back)).toEqual(expected);
              expect(changes.countSince(s.group, seq - s.back)).toBeGreaterThanOrEqual(expected.length);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not list a key again when it is recorded twice in a row, and forgets whole sequences', () => {
    const changes = new KeyChanges(1);
    changes.mark(0, 'a', 1);
    changes.mark(0, 'a', 1);
    changes.mark(0, 'b', 1);
    changes.mark(0, 'a', 1);
    changes.mark(0, 'c', 2);
    expect(changes.size).toBe(4);
    expect(changes.countSince(0, 0)).toBe(4);
    expect(changes.since(0, 0)).toEqual(['a', 'b', 'c']);
    changes.drop(1);
    expect(changes.size).toBe(1);
    expect(changes.since(0, 0)).toEqual(['c']);
  });
});
