/**
 * Change tracking (incremental checkpoints) as every KeyedStateBackend keeps it, written once
 * against the interfaces and run for each backend (keyed-state-backend.test.ts): each kind of
 * state and TTL-wrapped states, values as of the snapshot, unconfirmed checkpoints, confirms,
 * unknown bases, restore; and a property: for every snapshot, the last confirmed snapshot's
 * content with the changes since it replayed over it is the snapshot's full content.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { keyGroupFor } from '../../format/key-groups.ts';
import { ManualClock } from '../runtime/clock.ts';
import type { AggregatingState, ListState, MapState, RawKeyedState, ReducingState, ValueState } from './keyed-state-handles.ts';
import type { KeyedStateBackend, KeyedStateBackendOptions, KeyedStateSnapshot } from './keyed-state-backend.ts';
import { keyStringOf } from './key-string.ts';
import { aggregatingState, listState, mapState, reducingState, timersState, valueState } from './state-descriptors.ts';
import { toSnapshotValue } from './state-value-layout.ts';
import { StateTtlConfig } from './ttl/state-ttl-config.ts';
import { TtlStates } from './ttl/ttl-states.ts';

type Factory = (options: KeyedStateBackendOptions) => KeyedStateBackend;
/** state name -> key string -> value in the snapshot layout. */
export type Content = Map<string, Map<string, unknown>>;
interface Delta {
  readonly upserts: Content;
  readonly deletions: Map<string, Set<string>>;
}

const MAX_P = 8;

export async function full(snapshot: KeyedStateSnapshot): Promise<Content> {
  const out: Content = new Map();
  try {
    for (let g = snapshot.keyGroupRange.start; g <= snapshot.keyGroupRange.end; g++) {
      for (const { info, keys, values } of await snapshot.takeKeyGroup(g)) {
        const state = out.get(info.name) ?? new Map<string, unknown>();
        out.set(info.name, state);
        keys.forEach((k, i) => state.set(k, toSnapshotValue(info.kind, values[i])));
      }
      snapshot.releaseKeyGroup(g);
    }
  } finally {
    snapshot.release();
  }
  return out;
}

/** The changes since `base` over all key groups, or undefined when the backend cannot tell for some. */
export async function delta(snapshot: KeyedStateSnapshot, base: number): Promise<Delta | undefined> {
  const upserts: Content = new Map();
  const deletions = new Map<string, Set<string>>();
  try {
    for (let g = snapshot.keyGroupRange.start; g <= snapshot.keyGroupRange.end; g++) {
      const changes = await snapshot.takeKeyGroupChanges!(g, base);
      if (changes === undefined) return undefined;
      for (const { info, upserts: u, deletions: d } of changes) {
        expect(d.filter((k) => u.keys.includes(k))).toEqual([]); // disjoint
        const state = upserts.get(info.name) ?? new Map<string, unknown>();
        upserts.set(info.name, state);
        u.keys.forEach((k, i) => state.set(k, toSnapshotValue(info.kind, u.values[i])));
        const gone = deletions.get(info.name) ?? new Set<string>();
        deletions.set(info.name, gone);
        for (const k of d) gone.add(k);
      }
      snapshot.releaseKeyGroup(g);
    }
  } finally {
    snapshot.release();
  }
  return { upserts, deletions };
}

export function replay(base: Content, d: Delta): Content {
  const out: Content = new Map([...base].map(([name, m]) => [name, new Map(m)]));
  for (const [name, m] of d.upserts) {
    const state = out.get(name) ?? new Map<string, unknown>();
    out.set(name, state);
    for (const [k, v] of m) state.set(k, v);
  }
  for (const [name, gone] of d.deletions) for (const k of gone) out.get(name)?.delete(k);
  return out;
}

/** States with no entries dropped, so contents compare by what they hold. */
export function nonEmpty(c: Content): Content {
  return new Map([...c].filter(([, m]) => m.size > 0));
}

function changedKeys(d: Delta): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, m] of d.upserts) for (const k of m.keys()) (out[name] ??= []).push(k);
  for (const [name, s] of d.deletions) for (const k of s) (out[name] ??= []).push(k);
  for (const name of Object.keys(out)) out[name]!.sort();
  return out;
}

const ks = (...keys: string[]): string[] => keys.map((k) => keyStringOf(k)).sort();

export function describeChangeTracking(name: string, factory: Factory): void {
  describe(`change tracking on ${name}`, () => {
    const made: KeyedStateBackend[] = [];
    /** `cacheBytes`: a small write-back cache (on-disk backends) writes to the store often, so reads go to it. */
    const backend = (cacheBytes?: number): KeyedStateBackend => {
      const b = factory({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, owner: `${name} changes`, ...(cacheBytes === undefined ? {} : { cacheBytes }) });
      made.push(b);
      return b;
    };
    afterEach(async () => {
      for (const b of made.splice(0)) await b.dispose();
    });

    const declare = (b: KeyedStateBackend) => ({
      v: b.getState(valueState<{ x: number }>('v')),
      l: b.getState(listState<number>('l')),
      m: b.getState(mapState<string, number>('m')),
      r: b.getState(reducingState<number>('r', (x, y) => x + y)),
      a: b.getState(aggregatingState<number, number[], number>('a', { createAccumulator: () => [], add: (x, acc) => [...acc, x], getResult: (acc) => acc.length })),
      t: b.getRawState(timersState('_timers')),
    });
    type States = ReturnType<typeof declare>;
    const fill = (b: KeyedStateBackend, s: States, keys: string[]): void => {
      for (const [i, k] of keys.entries()) {
        b.setCurrentKey(k);
        s.v.update({ x: i });
        s.l.add(i);
        s.m.put('p', i);
        s.r.add(i);
        s.a.add(i);
        s.t.put([i]);
      }
    };
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);

    it('hands out every kind of state changed since the base, as of the snapshot', async () => {
      const b = backend();
      b.trackChanges!(undefined);
      const s = declare(b);
      fill(b, s, keys);
      const base = await full(b.snapshot({ checkpointId: 1 }));
      b.confirmChanges!(1);
      b.setCurrentKey('key-1');
      s.v.update({ x: 100 });
      s.l.add(100);
      s.m.remove('p');
      s.r.add(100);
      s.a.add(100);
      s.t.remove();
      b.setCurrentKey('key-2');
      s.v.clear();
      s.l.clear();
      s.m.put('q', 5);
      b.setCurrentKey('new');
      s.v.update({ x: -1 });
      const snapshot = b.snapshot({ checkpointId: 2 });
      const twin = b.snapshot();
      const d = (await delta(snapshot, 1))!;
      expect(d).toBeDefined();
      expect(changedKeys(d)).toEqual({ v: ks('key-1', 'key-2', 'new'), l: ks('key-1', 'key-2'), m: ks('key-1', 'key-2'), r: ks('key-1'), a: ks('key-1'), _timers: ks('key-1') });
      expect(d.upserts.get('v')?.get(keyStringOf('key-1'))).toEqual({ x: 100 });
      expect(d.upserts.get('r')?.get(keyStringOf('key-1'))).toBe(101);
      expect(d.upserts.get('v')?.get(keyStringOf('new'))).toEqual({ x: -1 });
      expect([...d.deletions.get('v')!]).toEqual([keyStringOf('key-2')]);
      expect([...d.deletions.get('m')!]).toEqual([keyStringOf('key-1')]);
      expect([...d.deletions.get('_timers')!]).toEqual([keyStringOf('key-1')]);
      expect(replay(base, d)).toEqual(await full(twin));
    });

    it('hands out values as of the snapshot when keys change after it', async () => {
      const b = backend();
      b.trackChanges!(undefined);
      const s = declare(b);
      fill(b, s, keys);
      const base = await full(b.snapshot({ checkpointId: 1 }));
      b.confirmChanges!(1);
      b.setCurrentKey('key-1');
      s.v.update({ x: 100 });
      s.m.put('q', 1);
      b.setCurrentKey('new');
      s.v.update({ x: -1 });
      const snapshot = b.snapshot({ checkpointId: 2 });
      const twin = b.snapshot();
      b.setCurrentKey('key-1');
      s.v.update({ x: 999 });
      s.r.add(999);
      s.m.clear();
      b.setCurrentKey('key-3');
      s.v.update({ x: 999 });
      s.l.add(999);
      b.setCurrentKey('new');
      s.v.clear();
      b.setCurrentKey('newer');
      s.v.update({ x: 7 });
      // The on-disk backend's cache drains the frozen changes meanwhile: the snapshot still reads them.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const d = (await delta(snapshot, 1))!;
      const changed = changedKeys(d);
      // A superset is allowed (keys changed after the barrier), with their values as of the snapshot.
      expect(changed.v).toEqual(expect.arrayContaining(ks('key-1', 'new')));
      expect(d.upserts.get('v')?.get(keyStringOf('key-1'))).toEqual({ x: 100 });
      expect(d.upserts.get('v')?.get(keyStringOf('new'))).toEqual({ x: -1 });
      expect(d.upserts.get('m')?.get(keyStringOf('key-1'))).toEqual([['p', 1], ['q', 1]]);
      for (const [state, m] of d.upserts) for (const k of m.keys()) if (!changed[state]!.includes(k)) throw new Error('unreachable');
      expect(d.upserts.get('v')?.has(keyStringOf('newer')) ?? false).toBe(false);
      expect(replay(base, d)).toEqual(await full(twin));
    });

    it('records a value read and mutated in place through an engine handle', async () => {
      const b = backend();
      b.trackChanges!(undefined);
      const l = b.getState(listState<number[]>('l'), 'engine');
      b.setCurrentKey('k');
      l.add([1]);
      await full(b.snapshot({ checkpointId: 1 }));
      b.confirmChanges!(1);
      l.add([2]);
      const d = (await delta(b.snapshot({ checkpointId: 2 }), 1))!;
      expect(d.upserts.get('l')?.get(keyStringOf('k'))).toEqual([[1], [2]]);
    });

    it('tracks TTL-wrapped states, whose values are [value, lastAccess] pairs', async () => {
      const b = backend();
      b.trackChanges!(undefined);
      const clock = new ManualClock(1_000_000);
      const config = StateTtlConfig.newBuilder(100).disableCleanupInBackground().build();
      const ttl = new TtlStates(b, clock.now);
      const v = ttl.getState(valueState<number>('v', { ttl: config })) as ValueState<number>;
      const l = ttl.getState(listState<number>('l', { ttl: config })) as ListState<number>;
      const m = ttl.getState(mapState<string, number>('m', { ttl: config })) as MapState<string, number>;
      const r = ttl.getState(reducingState<number>('r', (x, y) => x + y, { ttl: config })) as ReducingState<number>;
      const a = ttl.getState(aggregatingState<number, number, number>('a', { createAccumulator: () => 0, add: (x, acc) => acc + x, getResult: (acc) => acc }, { ttl: config })) as AggregatingState<number, number>;
      for (const k of keys) {
        b.setCurrentKey(k);
        v.update(1);
        l.add(1);
        m.put('p', 1);
        r.add(1);
        a.add(1);
      }
      const base = await full(b.snapshot({ checkpointId: 1 }));
      b.confirmChanges!(1);
      clock.advance(150); // everything written at the start has expired
      b.setCurrentKey('key-0');
      expect(v.value()).toBeUndefined(); // an expired read clears
      b.setCurrentKey('key-1');
      v.update(2);
      l.add(2);
      m.put('q', 2);
      r.add(2);
      a.add(2);
      const snapshot = b.snapshot({ checkpointId: 2 });
      const twin = b.snapshot();
      const d = (await delta(snapshot, 1))!;
      expect(changedKeys(d).v).toEqual(ks('key-0', 'key-1'));
      expect(d.upserts.get('v')?.get(keyStringOf('key-1'))).toEqual([2, 1_000_150]);
      expect(replay(base, d)).toEqual(await full(twin));
    });

    it('keeps an unconfirmed checkpoint’s changes for the next; a confirm drops them once no snapshot is pending', async () => {
      const b = backend();
      b.trackChanges!(undefined);
      const s = declare(b);
      fill(b, s, keys);
      const base = await full(b.snapshot({ checkpointId: 1 }));
      b.confirmChanges!(1);
      b.setCurrentKey('key-4');
      s.v.update({ x: 40 });
      await full(b.snapshot({ checkpointId: 2 })); // written, never confirmed (aborted)
      b.setCurrentKey('key-5');
      s.v.update({ x: 50 });
      const snapshot3 = b.snapshot({ checkpointId: 3 });
      const twin3 = b.snapshot();
      const d3 = (await delta(snapshot3, 1))!;
      expect(changedKeys(d3)).toEqual({ v: ks('key-4', 'key-5') });
      const content3 = replay(base, d3);
      expect(content3).toEqual(await full(twin3));
      b.confirmChanges!(3);
      b.setCurrentKey('key-6');
      s.l.add(60);
      // Base 1 is confirmed past: the backend cannot tell, a caller takes the whole key group.
      const s4 = b.snapshot({ checkpointId: 4 });
      expect(await s4.takeKeyGroupChanges!(keyGroupFor('key-6', MAX_P), 1)).toBeUndefined();
      s4.release();
      // Confirmed while a snapshot that took base 3 is being written: it can still ask since 3.
      const s5 = b.snapshot({ checkpointId: 5 });
      b.confirmChanges!(4);
      expect(await s5.takeKeyGroupChanges!(keyGroupFor('key-6', MAX_P), 3)).toBeDefined();
      s5.release();
      const s6 = b.snapshot({ checkpointId: 6 });
      expect(await s6.takeKeyGroupChanges!(keyGroupFor('key-6', MAX_P), 3)).toBeUndefined(); // now it is gone
      s6.release();
      b.setCurrentKey('key-7');
      s.l.add(70);
      const snapshot7 = b.snapshot({ checkpointId: 7 });
      const d7 = (await delta(snapshot7, 4))!;
      expect(changedKeys(d7)).toEqual({ l: ks('key-7') });
    });

    it('cannot tell without tracking, nor since an unknown base', async () => {
      const b = backend();
      const s = declare(b);
      fill(b, s, keys);
      const untracked = b.snapshot({ checkpointId: 1 });
      expect(await untracked.takeKeyGroupChanges?.(0, 1)).toBeUndefined();
      expect(await untracked.takeKeyGroup(0)).toHaveLength(6); // the key group was not taken by the refusal
      untracked.release();
      b.trackChanges!(undefined);
      const first = b.snapshot({ checkpointId: 2 });
      expect(await first.takeKeyGroupChanges!(0, 1)).toBeUndefined(); // 1 was taken before tracking
      expect(await first.takeKeyGroupChanges!(0, 2)).toBeUndefined(); // a snapshot is not its own base
      first.release();
      const second = b.snapshot({ checkpointId: 3 });
      expect(await second.takeKeyGroupChanges!(0, 7)).toBeUndefined();
      second.release();
    });

    it('after a restore, trackChanges(restored id) takes the restored entries as the base', async () => {
      const b = backend();
      const s = declare(b);
      fill(b, s, keys);
      const content = await full(b.snapshot());
      const r = backend();
      for (const info of b.states()) {
        r.registerRestoredState(info);
        for (const k of keys) {
          const value = content.get(info.name)?.get(keyStringOf(k));
          if (value !== undefined) r.restoreKeyGroup(info, keyGroupFor(k, MAX_P), [k], [value], 'test');
        }
      }
      r.trackChanges!(7);
      const rs = declare(r);
      const none = (await delta(r.snapshot({ checkpointId: 8 }), 7))!;
      expect(changedKeys(none)).toEqual({});
      r.setCurrentKey('key-9');
      rs.m.put('z', 9);
      const snapshot = r.snapshot({ checkpointId: 9 });
      const twin = r.snapshot();
      const d = (await delta(snapshot, 7))!;
      expect(changedKeys(d)).toEqual({ m: ks('key-9') });
      expect(replay(content, d)).toEqual(await full(twin));
    });

    it('records what a schema migration rewrites, and nothing a later restore loads', async () => {
      const b = backend();
      const v1 = b.getState(valueState<number>('v'));
      const l1 = b.getState(listState<number>('l'));
      for (const [i, k] of keys.entries()) {
        b.setCurrentKey(k);
        v1.update(i);
        if (i % 2 === 0) l1.add(i);
      }
      const content = await full(b.snapshot());
      const r = backend();
      const restore = (only?: string): void => {
        for (const info of b.states()) {
          r.registerRestoredState(info);
          for (const k of only === undefined ? keys : [only]) {
            const value = content.get(info.name)?.get(keyStringOf(k));
            if (value !== undefined) r.restoreKeyGroup(info, keyGroupFor(k, MAX_P), [k], [value], 'test');
          }
        }
      };
      restore();
      r.trackChanges!(3);
      // Version 2 of 'v' doubles every value: each restored key is a change against base 3.
      r.getState(valueState<number>('v', { schemaVersion: 2, migrate: (old) => (old as number) * 2 }));
      r.getState(listState<number>('l'));
      restore('key-2'); // loading again (as a restore does) is no change
      const d = (await delta(r.snapshot({ checkpointId: 4 }), 3))!;
      expect(changedKeys(d)).toEqual({ v: ks(...keys) });
      expect(d.upserts.get('v')?.get(keyStringOf('key-5'))).toBe(10);
    });

    it('property: the confirmed base with the changes since it replayed is each snapshot’s full content', async () => {
      const op = fc.record({
        key: fc.integer({ min: 0, max: 9 }),
        kind: fc.constantFrom('v+', 'v-', 'l+', 'l-', 'm+', 'm-', 'mc', 'r+', 'r-', 't+', 't-'),
        n: fc.integer({ min: 0, max: 3 }),
      });
      const step = fc.record({
        before: fc.array(op, { maxLength: 25 }),
        after: fc.array(op, { maxLength: 10 }),
        // Let the on-disk backend write the frozen cache changes to its store before the snapshot is read.
        drain: fc.boolean(),
        outcome: fc.constantFrom('confirm', 'abort', 'overlap'),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
          const b = backend(2048);
          try {
            b.trackChanges!(undefined);
            const st: { v: ValueState<number>; l: ListState<number>; m: MapState<number, number>; r: ReducingState<number>; t: RawKeyedState } = {
              v: b.getState(valueState<number>('v')),
              l: b.getState(listState<number>('l')),
              m: b.getState(mapState<number, number>('m')),
              r: b.getState(reducingState<number>('r', (x, y) => x + y)),
              t: b.getRawState(timersState('_timers')),
            };
            const apply = (ops: readonly { key: number; kind: string; n: number }[]): void => {
              for (const { key, kind, n } of ops) {
                b.setCurrentKey(`k${key}`);
                if (kind === 'v+') st.v.update(n);
                else if (kind === 'v-') st.v.clear();
                else if (kind === 'l+') st.l.add(n);
                else if (kind === 'l-') st.l.clear();
                else if (kind === 'm+') st.m.put(n, key);
                else if (kind === 'm-') st.m.remove(n);
                else if (kind === 'mc') st.m.clear();
                else if (kind === 'r+') st.r.add(n);
                else if (kind === 'r-') st.r.clear();
                else if (kind === 't+') st.t.put(n);
                else st.t.remove();
              }
            };
            let base: { id: number; content: Content } | undefined;
            type Taken = { id: number; snapshot: KeyedStateSnapshot; twin: KeyedStateSnapshot; asked: typeof base; outcome: string };
            // Reads a checkpoint's snapshot (a delta since the base it took, or full) and its twin
            // (full), then confirms or aborts it as drawn.
            const finish = async ({ id, snapshot, twin, asked, outcome }: Taken): Promise<void> => {
              const expected = await full(twin);
              if (asked === undefined) expect(nonEmpty(await full(snapshot))).toEqual(nonEmpty(expected));
              else {
                const d = await delta(snapshot, asked.id);
                expect(d).toBeDefined();
                expect(nonEmpty(replay(asked.content, d!))).toEqual(nonEmpty(expected));
              }
              if (outcome !== 'abort') {
                b.confirmChanges!(id);
                base = { id, content: expected };
              }
            };
            let unread: Taken | undefined;
            for (const [i, { before, after, drain, outcome }] of steps.entries()) {
              const id = i + 1;
              apply(before);
              const taken: Taken = { id, snapshot: b.snapshot({ checkpointId: id }), twin: b.snapshot(), asked: base, outcome };
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
            made.splice(made.indexOf(b), 1);
            await b.dispose();
          }
        }),
        { numRuns: 40 },
      );
    });
  });
}
