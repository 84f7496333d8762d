/**
 * The handle contract every KeyedStateBackend keeps, written once against the interfaces and run
 * for each backend factory (keyed-state-backend.test.ts runs it for every entry of
 * KEYED_STATE_BACKENDS). Semantics of each handle kind, key switching, clear, map iteration,
 * Flink's mutation contract (a read value mutated is not stored until written back; an object
 * written and then mutated does not change the state), a snapshot that keeps what it took
 * while state changes afterwards, and restore of its key groups into backends of another range.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { keyGroupFor } from '../../format/key-groups.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { KeyedStateBackend, KeyedStateBackendOptions, KeyedStateSnapshot } from './keyed-state-backend.ts';
import { keyStringOf } from './key-string.ts';
import { writeOperatorSnapshots } from './snapshot-test-support.ts';
import { aggregatingState, listState, mapState, reducingState, valueState } from './state-descriptors.ts';
import { toSnapshotValues } from './state-value-layout.ts';
import { ManualClock } from '../runtime/clock.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from './keyed-state-handles.ts';
import { StateTtlConfig } from './ttl/state-ttl-config.ts';
import { TtlStates } from './ttl/ttl-states.ts';

export type BackendFactory = (options: KeyedStateBackendOptions) => KeyedStateBackend;

const MAX_P = 16;

type Point = { x: number; tags: string[] };
const point = (x: number): Point => ({ x, tags: [`t${x}`] });

/** Every state's entries as of the snapshot, in the snapshot layout: state -> key string -> value. */
async function captureAll(snapshot: KeyedStateSnapshot): Promise<Map<string, Map<string, unknown>>> {
  const out = new Map<string, Map<string, unknown>>();
  try {
    for (let g = snapshot.keyGroupRange.start; g <= snapshot.keyGroupRange.end; g++) {
      for (const { info, keys, values } of await snapshot.takeKeyGroup(g)) {
        let state = out.get(info.name);
        if (state === undefined) out.set(info.name, (state = new Map()));
        const converted = toSnapshotValues(info.kind, values);
        keys.forEach((k, i) => state.set(k, converted[i]));
      }
      snapshot.releaseKeyGroup(g);
    }
  } finally {
    snapshot.release();
  }
  return out;
}

export function describeKeyedStateBackend(name: string, factory: BackendFactory): void {
  describe(`keyed state handles on ${name}`, () => {
    const made: KeyedStateBackend[] = [];
    const backend = (): KeyedStateBackend => {
      const b = factory({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, owner: `${name} suite` });
      made.push(b);
      return b;
    };
    afterEach(async () => {
      for (const b of made.splice(0)) await b.dispose();
    });
    let dir: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      dir = await tempDir(`tsflink-${name}-suite-`);
    });
    afterAll(async () => {
      await dir.remove();
    });

    describe('semantics', () => {
      it('ValueState: one value per key, update(undefined) and clear remove it', () => {
        const b = backend();
        const v = b.getState(valueState<number>('v'));
        b.setCurrentKey('a');
        expect(v.value()).toBeUndefined();
        v.update(1);
        b.setCurrentKey('b');
        v.update(2);
        b.setCurrentKey('a');
        expect(v.value()).toBe(1);
        expect(b.getCurrentKey()).toBe('a');
        v.update(undefined);
        expect(v.value()).toBeUndefined();
        b.setCurrentKey('b');
        expect(v.value()).toBe(2);
        v.clear();
        expect(v.value()).toBeUndefined();
        expect(b.size('v')).toBe(0);
      });

      it('ListState: add, addAll, update, get in order; empty update clears', () => {
        const b = backend();
        const l = b.getState(listState<number>('l'));
        b.setCurrentKey(7);
        expect([...l.get()]).toEqual([]);
        l.add(1);
        l.addAll([2, 3]);
        expect([...l.get()]).toEqual([1, 2, 3]);
        b.setCurrentKey(8);
        expect([...l.get()]).toEqual([]);
        l.update([9]);
        b.setCurrentKey(7);
        l.update([4, 5]);
        expect([...l.get()]).toEqual([4, 5]);
        l.update([]);
        expect([...l.get()]).toEqual([]);
        b.setCurrentKey(8);
        expect([...l.get()]).toEqual([9]);
        l.clear();
        expect(b.size('l')).toBe(0);
      });

      it('MapState: put, get, contains, remove, iteration; a key whose map empties has no state', () => {
        const b = backend();
        const m = b.getState(mapState<string, number>('m'));
        b.setCurrentKey('k');
        expect(m.isEmpty()).toBe(true);
        m.put('a', 1);
        m.putAll([['b', 2], ['c', 3]]);
        expect(m.get('a')).toBe(1);
        expect(m.contains('b')).toBe(true);
        expect(m.contains('z')).toBe(false);
        expect(m.get('z')).toBeUndefined();
        expect([...m.entries()].sort()).toEqual([['a', 1], ['b', 2], ['c', 3]]);
        expect([...m.keys()].sort()).toEqual(['a', 'b', 'c']);
        expect([...m.values()].sort()).toEqual([1, 2, 3]);
        b.setCurrentKey('other');
        expect(m.isEmpty()).toBe(true);
        expect([...m.entries()]).toEqual([]);
        b.setCurrentKey('k');
        m.remove('a');
        m.remove('b');
        expect([...m.keys()]).toEqual(['c']);
        m.remove('c');
        expect(m.isEmpty()).toBe(true);
        expect(b.size('m')).toBe(0);
        m.put('d', 4);
        m.clear();
        expect(m.isEmpty()).toBe(true);
      });

      it('MapState: user keys of any key type, told apart by value', () => {
        const b = backend();
        const m = b.getState(mapState<unknown, string>('m'));
        b.setCurrentKey('k');
        m.put(1, 'number');
        m.put('1', 'string');
        m.put([1, 'x'], 'tuple');
        expect(m.get(1)).toBe('number');
        expect(m.get('1')).toBe('string');
        expect(m.get([1, 'x'])).toBe('tuple');
      });

      it('ReducingState and AggregatingState fold what is added, per key', () => {
        const b = backend();
        const sum = b.getState(reducingState<number>('sum', (a, v) => a + v));
        const avg = b.getState(
          aggregatingState<number, { n: number; total: number }, number>('avg', {
            createAccumulator: () => ({ n: 0, total: 0 }),
            add: (v, acc) => ({ n: acc.n + 1, total: acc.total + v }),
            getResult: (acc) => acc.total / acc.n,
          }),
        );
        b.setCurrentKey('a');
        expect(sum.get()).toBeUndefined();
        expect(avg.get()).toBeUndefined();
        for (const v of [1, 2, 6]) {
          sum.add(v);
          avg.add(v);
        }
        b.setCurrentKey('b');
        sum.add(10);
        avg.add(10);
        b.setCurrentKey('a');
        expect(sum.get()).toBe(9);
        expect(avg.get()).toBe(3);
        sum.clear();
        avg.clear();
        expect(sum.get()).toBeUndefined();
        expect(avg.get()).toBeUndefined();
        b.setCurrentKey('b');
        expect(sum.get()).toBe(10);
        expect(avg.get()).toBe(10);
      });

      it('one handle per name, reused across keys; keys() lists the keys with a value', () => {
        const b = backend();
        const v = b.getState(valueState<number>('v'));
        expect(b.getState(valueState<number>('v'))).toBe(v);
        for (const k of ['x', 'y', 'z']) {
          b.setCurrentKey(k);
          v.update(k.charCodeAt(0));
        }
        b.setCurrentKey('y');
        v.clear();
        expect([...b.keys('v')].sort()).toEqual(['x', 'z']);
        expect(b.states().map((s) => s.name)).toEqual(['v']);
        expect(b.getCurrentKeyGroup()).toBeGreaterThanOrEqual(0);
      });

      it('keys() of a state visited key by key may clear it (applyToKeyedState), and lists each key once whatever its kind', () => {
        const b = backend();
        const m = b.getState(mapState<string, number>('m'));
        const l = b.getState(listState<number>('l'));
        const keys = [1, 'one', [2, 'two'], { id: 3 }];
        keys.forEach((k, i) => {
          b.setCurrentKey(k);
          m.put('a', i);
          m.put('b', i);
          l.addAll([i, i]);
        });
        const sortKeys = (ks: unknown[]): string[] => ks.map((k) => JSON.stringify(k)).sort();
        expect(sortKeys([...b.keys('m')])).toEqual(sortKeys(keys));
        expect(sortKeys([...b.keys('l')])).toEqual(sortKeys(keys));
        let visited = 0;
        for (const k of [...b.keys('m')]) {
          b.setCurrentKey(k);
          expect(m.get('a')).toBe(keys.findIndex((x) => JSON.stringify(x) === JSON.stringify(k)));
          if (visited++ % 2 === 0) m.clear();
        }
        expect([...b.keys('m')]).toHaveLength(2);
        expect(b.size('l')).toBe(4);
        expect([...b.keys('absent')]).toEqual([]);
      });

      it('clearCurrentKey: keyed state read before the next key is set is refused with the reason given', () => {
        const b = backend();
        const v = b.getState(valueState<number>('v'));
        b.setCurrentKey('k');
        v.update(1);
        b.clearCurrentKey('no key on the broadcast side');
        expect(() => v.value()).toThrow(/no key on the broadcast side/);
        expect(() => v.update(2)).toThrow(/no key on the broadcast side/);
        expect(() => b.getCurrentKey()).toThrow(/no key on the broadcast side/);
        b.setCurrentKey('k');
        expect(v.value()).toBe(1);
      });
    });

    describe("Flink's mutation contract: state changes only through update/add/put", () => {
      it('ValueState: a value read and mutated is not stored', () => {
        const b = backend();
        const v = b.getState(valueState<Point>('v'));
        b.setCurrentKey('a');
        v.update(point(1));
        const read = v.value()!;
        read.x = 99;
        read.tags.push('mutated');
        expect(v.value()).toEqual(point(1));
      });

      it('ValueState: an object mutated after update does not change the state', () => {
        const b = backend();
        const v = b.getState(valueState<Point>('v'));
        b.setCurrentKey('a');
        const given = point(1);
        v.update(given);
        given.x = 99;
        given.tags.push('mutated');
        expect(v.value()).toEqual(point(1));
      });

      it('ListState: neither the list read, its elements, nor an element added or listed in update/addAll changes the state', () => {
        const b = backend();
        const l = b.getState(listState<Point>('l'));
        b.setCurrentKey('a');
        const added = point(1);
        l.add(added);
        added.x = 99;
        const many = [point(2), point(3)];
        l.addAll(many);
        many[0]!.x = 99;
        many.push(point(98));
        const read = l.get() as Point[];
        read[0]!.tags.push('mutated');
        read.push(point(97));
        expect([...l.get()]).toEqual([point(1), point(2), point(3)]);
        const replacing = [point(4)];
        l.update(replacing);
        replacing[0]!.x = 99;
        replacing.push(point(96));
        expect([...l.get()]).toEqual([point(4)]);
      });

      it('MapState: a value read or iterated and mutated, or put and mutated afterwards, does not change the state', () => {
        const b = backend();
        const m = b.getState(mapState<string, Point>('m'));
        b.setCurrentKey('a');
        const given = point(1);
        m.put('p', given);
        given.x = 99;
        expect(m.get('p')).toEqual(point(1));
        m.get('p')!.tags.push('mutated');
        for (const [, value] of m.entries()) value.x = 98;
        for (const value of m.values()) value.tags.length = 0;
        expect(m.get('p')).toEqual(point(1));
        const pairs: [string, Point][] = [['q', point(2)]];
        m.putAll(pairs);
        pairs[0]![1].x = 99;
        expect(m.get('q')).toEqual(point(2));
      });

      it('MapState: a user key object mutated after put does not move or change the entry', () => {
        const b = backend();
        const m = b.getState(mapState<number[], string>('m'));
        b.setCurrentKey('a');
        const key = [1, 2];
        m.put(key, 'v');
        key.push(3);
        expect(m.get([1, 2])).toBe('v');
        expect([...m.keys()]).toEqual([[1, 2]]);
      });

      it('ReducingState: the value read, and a value added then mutated, do not change the state', () => {
        const b = backend();
        const r = b.getState(reducingState<Point>('r', (a, v) => ({ x: a.x + v.x, tags: [...a.tags, ...v.tags] })));
        b.setCurrentKey('a');
        const first = point(1);
        r.add(first); // the first value is stored as the reduction so far
        first.x = 99;
        first.tags.push('mutated');
        expect(r.get()).toEqual(point(1));
        r.get()!.x = 50;
        expect(r.get()).toEqual(point(1));
        r.add(point(2));
        expect(r.get()).toEqual({ x: 3, tags: ['t1', 't2'] });
      });

      it('AggregatingState: neither an added value nor a result mutated later changes the accumulator', () => {
        const b = backend();
        const a = b.getState(
          aggregatingState<Point, { items: Point[] }, Point[]>('a', {
            createAccumulator: () => ({ items: [] }),
            add: (v, acc) => {
              acc.items.push(v); // keeps the added object, as accumulators often do
              return acc;
            },
            getResult: (acc) => acc.items,
          }),
        );
        b.setCurrentKey('a');
        const added = point(1);
        a.add(added);
        added.x = 99;
        a.get()!.push(point(98));
        expect(a.get()).toEqual([point(1)]);
      });
    });

    describe('snapshots', () => {
      it('keep what they took while every kind of state changes afterwards', async () => {
        const b = backend();
        const v = b.getState(valueState<Point>('v'));
        const l = b.getState(listState<number>('l'));
        const m = b.getState(mapState<string, Point>('m'));
        const r = b.getState(reducingState<number>('r', (x, y) => x + y));
        const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
        for (const [i, k] of keys.entries()) {
          b.setCurrentKey(k);
          v.update(point(i));
          l.addAll([i, i + 1]);
          m.put('p', point(i));
          r.add(i);
        }
        const snapshot = b.snapshot();
        expect(snapshot.states.map((s) => s.name)).toEqual(['v', 'l', 'm', 'r']);
        // After the barrier: change, mutate what is read, remove, add keys.
        for (const [i, k] of keys.entries()) {
          b.setCurrentKey(k);
          const read = v.value()!;
          read.x = -1;
          if (i % 3 === 0) v.clear();
          else v.update(read);
          l.add(-1);
          m.put('p', point(-1));
          m.put('new', point(-2));
          r.add(1000);
        }
        b.setCurrentKey('late');
        v.update(point(-3));
        const captured = await captureAll(snapshot);
        expect(b.pendingSnapshots).toBe(0);
        for (const [i, k] of keys.entries()) {
          const ks = keyStringOf(k);
          expect(captured.get('v')?.get(ks)).toEqual(point(i));
          expect(captured.get('l')?.get(ks)).toEqual([i, i + 1]);
          expect(captured.get('r')?.get(ks)).toBe(i);
          expect(captured.get('m')?.get(ks)).toEqual([['p', point(i)]]);
        }
        expect(captured.get('v')?.has(keyStringOf('late'))).toBe(false);
        expect(snapshot.entries).toBe(4 * keys.length);
        // And the live state has the changes.
        b.setCurrentKey('key-1');
        expect(v.value()).toEqual({ x: -1, tags: ['t1'] });
        expect([...l.get()]).toEqual([1, 2, -1]);
        expect(r.get()).toBe(1001);
      });

      it('restore key group by key group into backends owning other ranges (rescaling)', async () => {
        const b = backend();
        const v = b.getState(valueState<Point>('v'));
        const l = b.getState(listState<number>('l'));
        const m = b.getState(mapState<number, string>('m'));
        b.getState(valueState<number>('empty'));
        const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
        for (const [i, k] of keys.entries()) {
          b.setCurrentKey(k);
          v.update(point(i));
          l.update([i, i + 100]);
          m.put(i, `v${i}`);
        }
        const store = new LocalObjectStore(`${dir.path}/restore`);
        await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: MAX_P, subtasks: [{ keyed: b.snapshot() }] }]);
        const reader = await SnapshotReader.open(store);
        const ranges = [{ start: 0, end: 5 }, { start: 6, end: MAX_P - 1 }];
        const restored = ranges.map((keyGroupRange) => {
          const r = factory({ keyGroupRange, maxParallelism: MAX_P, owner: `${name} restored` });
          made.push(r);
          return r;
        });
        for (const [i, r] of restored.entries()) {
          for (const state of reader.operator('op').keyedStates) {
            const info = { name: state.name, kind: state.kind, schemaVersion: state.schemaVersion, ttl: state.ttl };
            r.registerRestoredState(info);
            for await (const batch of reader.readKeyed('op', state.name, ranges[i])) r.restoreKeyGroup(info, batch.keyGroup, batch.keys, batch.values, 'test');
          }
          expect(r.states().map((s) => s.name)).toEqual(['v', 'l', 'm', 'empty']);
        }
        for (const [i, k] of keys.entries()) {
          const r = restored[keyGroupFor(k, MAX_P) <= ranges[0]!.end ? 0 : 1]!;
          r.setCurrentKey(k);
          expect(r.getState(valueState<Point>('v')).value()).toEqual(point(i));
          expect([...r.getState(listState<number>('l')).get()]).toEqual([i, i + 100]);
          expect([...r.getState(mapState<number, string>('m')).entries()]).toEqual([[i, `v${i}`]]);
        }
        expect(restored[0]!.size('v') + restored[1]!.size('v')).toBe(keys.length);
        expect(restored[0]!.size('v')).toBeGreaterThan(0);
      });
    });

    describe('state TTL (the TTL layer over this backend, which stores [value, lastAccess] pairs)', () => {
      const T0 = 1_795_262_400_000;
      const config = StateTtlConfig.newBuilder(100).disableCleanupInBackground().build();
      const declare = (ttl: TtlStates) => ({
        v: ttl.getState(valueState<Point>('v', { ttl: config })) as ValueState<Point>,
        l: ttl.getState(listState<number>('l', { ttl: config })) as ListState<number>,
        m: ttl.getState(mapState<string, number>('m', { ttl: config })) as MapState<string, number>,
        r: ttl.getState(reducingState<number>('r', (a, b) => a + b, { ttl: config })) as ReducingState<number>,
        a: ttl.getState(aggregatingState<number, number[], number>('a', { createAccumulator: () => [], add: (x, acc) => [...acc, x], getResult: (acc) => acc.length }, { ttl: config })) as AggregatingState<number, number>,
      });

      it('expires every kind, and keeps last-access times through a snapshot and a restore', async () => {
        const b = backend();
        const clock = new ManualClock(T0);
        const states = declare(new TtlStates(b, clock.now));
        const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
        for (const [i, k] of keys.entries()) {
          b.setCurrentKey(k);
          states.v.update(point(i));
          states.l.add(i);
          states.m.put('p', i);
          states.r.add(i);
          states.a.add(i);
        }
        clock.advance(60);
        b.setCurrentKey('key-0'); // renewed by writes at T0 + 60
        states.v.update(point(100));
        states.l.add(100);
        states.m.put('q', 100);
        states.r.add(100);
        states.a.add(100);
        const store = new LocalObjectStore(`${dir.path}/ttl`);
        const meta = await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: MAX_P, subtasks: [{ keyed: b.snapshot(), ttl: { now: clock.now(), expireIn: new Map() } }] }]);
        expect(meta.formatVersion).toBe(2);
        const reader = await SnapshotReader.open(store);
        const r = factory({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, owner: `${name} restored` });
        made.push(r);
        for (const state of reader.operator('op').keyedStates) {
          expect(state.ttlLayout).toBe(true);
          const info = { name: state.name, kind: state.kind, schemaVersion: state.schemaVersion, ttl: state.ttl };
          r.registerRestoredState(info);
          for await (const batch of reader.readKeyed('op', state.name)) r.restoreKeyGroup(info, batch.keyGroup, batch.keys, batch.values, 'test');
        }
        const later = new ManualClock(T0 + 120); // the first writes have expired, key-0's renewed ones not
        const restored = declare(new TtlStates(r, later.now));
        r.setCurrentKey('key-0');
        expect(restored.v.value()).toEqual(point(100));
        expect([...restored.l.get()]).toEqual([100]); // element 0 was written at T0
        expect([...restored.m.entries()]).toEqual([['q', 100]]);
        expect(restored.r.get()).toBe(100); // the reduction was renewed as a whole
        expect(restored.a.get()).toBe(2);
        for (const k of keys.slice(1)) {
          r.setCurrentKey(k);
          expect([restored.v.value(), [...restored.l.get()], restored.m.isEmpty(), restored.r.get(), restored.a.get()]).toEqual([undefined, [], true, undefined, undefined]);
        }
        expect(['v', 'l', 'm', 'r', 'a'].map((s) => r.size(s))).toEqual([1, 1, 1, 1, 1]); // read and cleared
      });
    });
  });
}
