/**
 * The store-ordered timer queue against a sorted model, under random adds, removes and polls,
 * with batches small enough that timers move between memory and the store all the time; and
 * timestamps of every sign and size keep their order in the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyStringOf } from '../key-string.ts';
import type { EmbeddedStore } from './embedded-store.ts';
import { openLmdbStoreSync } from './lmdb-store.ts';
import { StoreTimerQueue } from './store-timer-queue.ts';

type Op = { op: 'add' | 'remove'; t: number; k: number } | { op: 'poll' };

describe('StoreTimerQueue', () => {
  let dir: string;
  let store: EmbeddedStore;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsflink-timer-queue-'));
    store = openLmdbStoreSync(join(dir, 'db'));
  });
  afterAll(async () => {
    await store.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('polls what a sorted model holds, earliest first', () => {
    const time = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(-1e15, 1e15, 0.5, -0.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER));
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), t: time, k: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ op: fc.constant('remove' as const), t: time, k: fc.integer({ min: 0, max: 6 }) }),
      fc.constant({ op: 'poll' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        // Each run its own state id: a fresh part of the store.
        const id = n++;
        const queue = new StoreTimerQueue(() => store, () => id, 0, 3);
        const model = new Map<string, { t: number; k: number }>();
        for (const o of ops) {
          if (o.op === 'poll') {
            const polled = queue.poll();
            const min = [...model.values()].reduce<number | undefined>((m, x) => (m === undefined || x.t < m ? x.t : m), undefined);
            expect(polled?.timestamp).toBe(min);
            if (polled !== undefined) {
              expect(model.delete(`${polled.timestamp}/${String(polled.key)}`)).toBe(true);
              expect(polled.keyId).toBe(keyStringOf(polled.key));
            }
          } else {
            const id2 = `${o.t}/${o.k}`;
            // As the timer service calls it: add only new timers, remove only queued ones.
            if (o.op === 'add' && !model.has(id2)) {
              expect(queue.add(o.t, o.k, keyStringOf(o.k))).toBe(true);
              model.set(id2, { t: o.t, k: o.k });
            } else if (o.op === 'remove' && model.has(id2)) {
              expect(queue.remove(o.t, keyStringOf(o.k))).toBe(true);
              model.delete(id2);
            }
          }
          expect(queue.size).toBe(model.size);
        }
        const rest: number[] = [];
        for (let t = queue.poll(); t !== undefined; t = queue.poll()) rest.push(t.timestamp);
        expect(rest).toEqual([...model.values()].map((x) => x.t).sort((a, b) => a - b));
      }),
      { numRuns: 150 },
    );
  });
});
