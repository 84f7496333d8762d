import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeapChangeLog } from './heap-change-log.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import { keyGroupOfKeyString, keyStringOf } from './key-string.ts';
import type { KeyedStateSnapshot } from './keyed-state-backend.ts';
import { valueState } from './state-descriptors.ts';
import type { StateEntry } from './state-table.ts';

const MAX_P = 4;

describe('HeapChangeLog', () => {
  const entries = new Map<string, StateEntry>();
  const e = (keyString: string): StateEntry => {
    let entry = entries.get(keyString);
    if (entry === undefined) entries.set(keyString, (entry = { key: keyString, keyString, value: 0, version: 1, logged: 0 }));
    return entry;
  };
  const keys = (list: readonly StateEntry[]): string[] => list.map((x) => x.keyString);

  it('lists the entries logged after one sequence and up to another, one per key, and forgets confirmed sequences', () => {
    const log = new HeapChangeLog(2);
    log.add(0, e('a'), 1);
    log.add(0, e('b'), 2);
    log.add(0, e('a'), 2);
    log.add(0, e('c'), 3);
    log.add(1, e('z'), 2);
    expect(keys(log.since(0, 1, 2))).toEqual(['b', 'a']);
    expect(keys(log.since(0, 0, 3)).sort()).toEqual(['a', 'b', 'c']);
    expect(log.since(0, 3, 9)).toEqual([]);
    expect(log.since(1, 0, 1)).toEqual([]);
    log.removed(0, 3);
    log.add(0, e('c'), 3); // written again after its removal
    expect(keys(log.since(0, 2, 3))).toEqual(['c']);
    log.drop(2);
    expect(log.size).toBe(2);
    expect(keys(log.since(0, 0, 9))).toEqual(['c']);
    expect(log.since(1, 0, 9)).toEqual([]);
  });
});

describe('the heap backend with its change log', () => {
  it('property: a delta lists each changed key once, exactly the keys whose snapshot value differs from the base', async () => {
    const op = fc.record({ key: fc.nat(7), write: fc.boolean(), n: fc.nat(3) });
    const step = fc.record({ before: fc.array(op, { maxLength: 20 }), after: fc.array(op, { maxLength: 8 }), confirm: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        const b = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
        b.trackChanges(undefined);
        const v = b.getState(valueState<number>('v'));
        const content = (): Map<string, number> => new Map([...b.keys('v')].map((k) => (b.setCurrentKey(k), [keyStringOf(k), v.value()!] as const)));
        let base: { id: number; content: Map<string, number> } | undefined;
        for (const [i, { before, after, confirm }] of steps.entries()) {
          for (const { key, write, n } of before) {
            b.setCurrentKey(`k${key}`);
            if (write) v.update(n);
            else v.clear();
          }
          const now = content();
          const snapshot: KeyedStateSnapshot = b.snapshot({ checkpointId: i + 1 });
          for (const { key, write, n } of after) {
            b.setCurrentKey(`k${key}`);
            if (write) v.update(n + 10);
            else v.clear();
          }
          if (base !== undefined) {
            for (let g = 0; g < MAX_P; g++) {
              const [changes] = (await snapshot.takeKeyGroupChanges!(g, base.id))!;
              const { upserts, deletions } = changes!;
              expect(new Set(upserts.keys).size).toBe(upserts.keys.length);
              expect(new Set(deletions).size).toBe(deletions.length);
              const inGroup = (k: string): boolean => keyGroupOfKeyString(k, MAX_P) === g;
              // A changed key is listed; an unchanged one may be (it was written back to its value), never with a value other than the snapshot's.
              for (const [k, value] of now) if (inGroup(k) && base.content.get(k) !== value) expect(upserts.keys).toContain(k);
              for (const k of base.content.keys()) if (inGroup(k) && !now.has(k)) expect(deletions).toContain(k);
              upserts.keys.forEach((k, j) => expect(upserts.values[j]).toBe(now.get(k)));
              for (const k of deletions) expect(now.has(k)).toBe(false);
              snapshot.releaseKeyGroup(g);
            }
          }
          snapshot.release();
          if (confirm || base === undefined) {
            b.confirmChanges(i + 1);
            base = { id: i + 1, content: now };
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
