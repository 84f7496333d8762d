/**
 * The on-disk backend records a key's change once per interval (StateContext.write skips a store
 * key written since the cache's last freeze or flush) and hands a delta the values the cache
 * recorded (WriteBackCache.freezeWritten, with what mid-interval flushes folded in). Property:
 * under random writes of every state kind on a few hot keys and many cold ones, cold reads that
 * fill the cache and flush it mid-interval, caches small enough that the record of writes is
 * dropped, snapshots confirmed, failed (never confirmed) or overtaking the previous one's
 * confirmation, each delta replayed over the last confirmed base is the snapshot's full content.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../../../test/support/temp-dir.ts';
import { type Content, delta, full, nonEmpty, replay } from '../change-tracking-suite.ts';
import type { KeyedStateSnapshot } from '../keyed-state-backend.ts';
import { listState, mapState, reducingState, timersState, valueState } from '../state-descriptors.ts';
import { keyStringOf } from '../key-string.ts';
import { createEmbeddedKeyedStateBackend } from './create-embedded-backend.ts';

const MAX_P = 8;
const HOT = 3;
const COLD = 60;

type Op = { kind: string; key: number; n: number };
const keyArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: HOT - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: HOT, max: HOT + COLD - 1 }) });
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('v+', 'v-', 'l+', 'l-', 'lu', 'm+', 'm-', 'mc', 'r+', 'r-', 't+', 't-', 'read', 'read'),
  key: keyArb,
  n: fc.integer({ min: 0, max: 3 }),
});
const stepArb = fc.record({
  before: fc.array(opArb, { maxLength: 60 }),
  after: fc.array(opArb, { maxLength: 15 }),
  drain: fc.boolean(),
  outcome: fc.constantFrom('confirm', 'abort', 'overlap'),
});

describe.each(['lmdb', 'rocksdb'] as const)('recording changes once per interval on %s', (kind) => {
  const dirs = tempDirForFile('tsflink-tracked-writes-');

  it('hands changes to a caller that takes recorded ones only where the records of writes hold them, never for a map state', async () => {
    for (const [cacheBytes, withMap, recorded] of [
      [1 << 20, false, true],
      // 2 KiB: the 100 keys written after checkpoint 1 are past the records' budget, which drops them.
      [2048, false, false],
      [1 << 20, true, false],
    ] as const) {
      const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dirs.next(), cacheBytes });
      try {
        b.trackChanges(undefined);
        const v = b.getState(valueState<number>('v'));
        const m = withMap ? b.getState(mapState<number, number>('m')) : undefined;
        const write = (n: number): void => {
          for (let k = 0; k < 100; k++) {
            b.setCurrentKey(`k${k}`);
            v.update(k * n);
            m?.put(k, n);
          }
        };
        write(1);
        await full(b.snapshot({ checkpointId: 1 }));
        b.confirmChanges(1);
        write(2);
        const snapshot = b.snapshot({ checkpointId: 2 });
        try {
          for (let g = 0; g < MAX_P; g++) {
            const changes = await snapshot.takeKeyGroupChanges!(g, 1, { recordedOnly: true });
            expect(changes !== undefined).toBe(recorded);
            // Asked without the option, the backend reads what it did not record.
            if (changes === undefined) expect(await snapshot.takeKeyGroupChanges!(g, 1)).toBeDefined();
          }
        } finally {
          snapshot.release();
        }
      } finally {
        await b.dispose();
      }
    }
  });

  it('property: every delta replayed over its base is the state, whatever the cache flushes or drops', async () => {
    await fc.assert(
      fc.asyncProperty(
        // 2 KiB: the record of writes is dropped most intervals; 16 KiB: cold reads evict (flushes mid-interval) while it is kept; 1 MiB: no flush.
        fc.constantFrom(2048, 16384, 1 << 20),
        fc.array(stepArb, { minLength: 1, maxLength: 6 }),
        async (cacheBytes, steps) => {
          const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dirs.next(), cacheBytes });
          try {
            b.trackChanges(undefined);
            const st = {
              v: b.getState(valueState<number>('v')),
              l: b.getState(listState<number>('l')),
              m: b.getState(mapState<number, number>('m')),
              r: b.getState(reducingState<number>('r', (x, y) => x + y)),
              t: b.getRawState(timersState('_timers')),
              cold: b.getState(valueState<string>('cold')),
            };
            // Cold keys hold a value of their own, so reading them fills the cache.
            for (let k = HOT; k < HOT + COLD; k++) {
              b.setCurrentKey(`k${k}`);
              st.cold.update('x'.repeat(100));
            }
            // What the state holds, kept beside it: the expected content of every snapshot.
            const model = { v: new Map<number, number>(), l: new Map<number, number[]>(), m: new Map<number, Map<number, number>>(), r: new Map<number, number>(), t: new Map<number, number>() };
            const apply = (ops: readonly Op[]): void => {
              for (const { kind: op, key, n } of ops) {
                b.setCurrentKey(`k${key}`);
                if (op === 'v+') st.v.update(n), model.v.set(key, n);
                else if (op === 'v-') st.v.clear(), model.v.delete(key);
                else if (op === 'l+') st.l.add(n), model.l.set(key, [...(model.l.get(key) ?? []), n]);
                else if (op === 'l-') st.l.clear(), model.l.delete(key);
                else if (op === 'lu') {
                  const list = Array.from({ length: n }, (_, i) => i + key);
                  st.l.update(list);
                  if (n === 0) model.l.delete(key);
                  else model.l.set(key, list);
                } else if (op === 'm+') {
                  st.m.put(n, key);
                  model.m.set(key, new Map(model.m.get(key)).set(n, key));
                } else if (op === 'm-') {
                  st.m.remove(n);
                  const m = new Map(model.m.get(key));
                  m.delete(n);
                  if (m.size === 0) model.m.delete(key);
                  else model.m.set(key, m);
                } else if (op === 'mc') st.m.clear(), model.m.delete(key);
                else if (op === 'r+') st.r.add(n), model.r.set(key, (model.r.get(key) ?? 0) + n);
                else if (op === 'r-') st.r.clear(), model.r.delete(key);
                else if (op === 't+') st.t.put(n), model.t.set(key, n);
                else if (op === 't-') st.t.remove(), model.t.delete(key);
                else st.cold.value();
              }
            };
            const content = (): Content => {
              const of = <T>(m: Map<number, T>, layout: (value: T) => unknown): Map<string, unknown> => new Map([...m].map(([k, v]) => [keyStringOf(`k${k}`), layout(v)]));
              return new Map<string, Map<string, unknown>>([
                ['v', of(model.v, (x) => x)],
                ['l', of(model.l, (x) => x)],
                ['m', of(model.m, (x) => [...x].sort((a, b) => a[0] - b[0]))],
                ['r', of(model.r, (x) => x)],
                ['_timers', of(model.t, (x) => x)],
                ['cold', new Map(Array.from({ length: COLD }, (_, i) => [keyStringOf(`k${i + HOT}`), 'x'.repeat(100)]))],
              ]);
            };
            /** Map pairs in user key order, whatever order the backend hands them out in. */
            const sorted = (c: Content): Content => {
              const m = c.get('m');
              if (m !== undefined) for (const [k, pairs] of m) m.set(k, [...(pairs as [number, number][])].sort((a, b) => a[0] - b[0]));
              return nonEmpty(c);
            };
            let base: { id: number; content: Content } | undefined;
            type Taken = { id: number; snapshot: KeyedStateSnapshot; expected: Content; asked: typeof base; outcome: string };
            const finish = async ({ id, snapshot, expected, asked, outcome }: Taken): Promise<void> => {
              if (asked === undefined) expect(sorted(await full(snapshot))).toEqual(nonEmpty(expected));
              else {
                const d = await delta(snapshot, asked.id);
                expect(d).toBeDefined();
                expect(sorted(replay(asked.content, d!))).toEqual(nonEmpty(expected));
              }
              if (outcome !== 'abort') {
                b.confirmChanges(id);
                base = { id, content: expected };
              }
            };
            let unread: Taken | undefined;
            for (const [i, { before, after, drain, outcome }] of steps.entries()) {
              const id = i + 1;
              apply(before);
              const taken: Taken = { id, snapshot: b.snapshot({ checkpointId: id }), expected: content(), asked: base, outcome };
              apply(after);
              if (drain) await new Promise((resolve) => setTimeout(resolve, 1));
              // The previous checkpoint, still being written while this one was taken and state
              // changed further (its barrier overtook the previous one's notification).
              if (unread !== undefined) await finish(unread);
              unread = undefined;
              if (outcome === 'overlap') unread = taken;
              else await finish(taken);
            }
            if (unread !== undefined) await finish(unread);
          } finally {
            await b.dispose();
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 120_000);
});
