/**
 * State schema evolution on every keyed backend (KEYED_STATE_BACKENDS) and on operator state: a
 * snapshot written at schema version 1, restored into a backend whose descriptors declare version
 * 2 with a migrate hook, has every stored value migrated exactly once (property-tested), and the
 * refusals read as Flink's StateMigrationException.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { ManualClock } from '../runtime/clock.ts';
import { KEYED_STATE_BACKENDS } from './create-keyed-state-backend.ts';
import type { KeyedStateBackend } from './keyed-state-backend.ts';
import type { ListState, ValueState } from './keyed-state-handles.ts';
import { OperatorStateStore } from './operator-state-store.ts';
import { writeOperatorSnapshots } from './snapshot-test-support.ts';
import { aggregatingState, listState, mapState, reducingState, valueState } from './state-descriptors.ts';
import { StateTtlConfig } from './ttl/state-ttl-config.ts';
import { TtlStates } from './ttl/ttl-states.ts';

const MAX_P = 8;
const ALL = { start: 0, end: MAX_P - 1 };

type V1 = { n: number };
type V2 = { n: number; twice: number; migrations: number };
const toV2 = (calls: { count: number }) => (old: unknown, oldVersion: number): V2 => {
  calls.count++;
  const o = old as V1 & { migrations?: number };
  if (oldVersion !== 1) throw new Error(`migrated from version ${oldVersion}`);
  return { n: o.n, twice: o.n * 2, migrations: (o.migrations ?? 0) + 1 };
};
const sumV1 = { createAccumulator: (): V1 => ({ n: 0 }), add: (x: number, acc: V1): V1 => ({ n: acc.n + x }), getResult: (acc: V1) => acc.n };

let dir: Awaited<ReturnType<typeof tempDir>>;
let serial = 0;
beforeAll(async () => {
  dir = await tempDir('tsflink-schema-');
});
afterAll(async () => {
  await dir.remove();
});

for (const [type, factory] of Object.entries(KEYED_STATE_BACKENDS)) {
  describe(`schema migration on ${type}`, () => {
    const made: KeyedStateBackend[] = [];
    const backend = (): KeyedStateBackend => {
      const b = factory({ keyGroupRange: ALL, maxParallelism: MAX_P, owner: `${type} subtask 0`, operatorUid: 'op' });
      made.push(b);
      return b;
    };
    afterEach(async () => {
      for (const b of made.splice(0)) await b.dispose();
    });

    /** Snapshots `b` and restores it into a new backend of this type, as restore-state.ts does. */
    const roundTrip = async (b: KeyedStateBackend, ttlNow?: number): Promise<KeyedStateBackend> => {
      const store = new LocalObjectStore(`${dir.path}/${type}-${serial++}`);
      await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: MAX_P, subtasks: [{ keyed: b.snapshot(), ...(ttlNow === undefined ? {} : { ttl: { now: ttlNow, expireIn: new Map() } }) }] }]);
      const reader = await SnapshotReader.open(store);
      const r = backend();
      for (const state of reader.operator('op').keyedStates) {
        const info = { name: state.name, kind: state.kind, schemaVersion: state.schemaVersion, ttl: state.ttl };
        r.registerRestoredState(info);
        for await (const batch of reader.readKeyed('op', state.name)) r.restoreKeyGroup(info, batch.keyGroup, batch.keys, batch.values, 'test');
      }
      return r;
    };

    it('migrates each value, list element, map user value and accumulator once, as declared, and records version 2', async () => {
      const b = backend();
      const v = b.getState(valueState<V1>('v'));
      const l = b.getState(listState<V1>('l'));
      const m = b.getState(mapState<string, V1>('m'));
      const r = b.getState(reducingState<V1>('r', (x, y) => ({ n: x.n + y.n })));
      const a = b.getState(aggregatingState('a', sumV1));
      for (let i = 0; i < 10; i++) {
        b.setCurrentKey(`k${i}`);
        v.update({ n: i });
        l.update([{ n: i }, { n: i + 100 }]);
        m.put('x', { n: i });
        m.put('y', { n: -i });
        r.add({ n: i });
        a.add(i);
      }
      const restored = await roundTrip(b);
      const calls = { count: 0 };
      const migrate = toV2(calls);
      const v2 = restored.getState(valueState<V2>('v', { schemaVersion: 2, migrate }));
      const l2 = restored.getState(listState<V2>('l', { schemaVersion: 2, migrate }));
      const m2 = restored.getState(mapState<string, V2>('m', { schemaVersion: 2, migrate }));
      const r2 = restored.getState(reducingState<V2>('r', (x, y) => ({ n: x.n + y.n, twice: x.twice + y.twice, migrations: 0 }), { schemaVersion: 2, migrate }));
      const a2 = restored.getState(
        aggregatingState<number, V2, V2>('a', { createAccumulator: () => ({ n: 0, twice: 0, migrations: 0 }), add: (x, acc) => ({ ...acc, n: acc.n + x, twice: acc.twice + 2 * x }), getResult: (acc) => acc }, { schemaVersion: 2, migrate }),
      );
      expect(calls.count).toBe(10 * (1 + 2 + 2 + 1 + 1));
      restored.setCurrentKey('k3');
      expect(v2.value()).toEqual({ n: 3, twice: 6, migrations: 1 });
      expect([...l2.get()]).toEqual([{ n: 3, twice: 6, migrations: 1 }, { n: 103, twice: 206, migrations: 1 }]);
      expect(new Map(m2.entries())).toEqual(new Map([['x', { n: 3, twice: 6, migrations: 1 }], ['y', { n: -3, twice: -6, migrations: 1 }]]));
      expect(r2.get()).toEqual({ n: 3, twice: 6, migrations: 1 });
      a2.add(4);
      expect(a2.get()).toEqual({ n: 7, twice: 14, migrations: 1 });
      // Declaring again (another handle, the same version) migrates nothing more.
      restored.getState(valueState<V2>('v', { schemaVersion: 2, migrate }), 'engine');
      expect(calls.count).toBe(70);
      expect(restored.states().map((s) => [s.name, s.schemaVersion])).toEqual([['v', 2], ['l', 2], ['m', 2], ['r', 2], ['a', 2]]);
      // The next snapshot is version 2: restoring it into the same declarations migrates nothing.
      const again = await roundTrip(restored);
      again.setCurrentKey('k3');
      expect(again.getState(valueState<V2>('v', { schemaVersion: 2, migrate })).value()).toEqual({ n: 3, twice: 6, migrations: 1 });
      expect(calls.count).toBe(70);
    });

    it('migrates the value inside a TTL pair and keeps its last access; and composes with TTL turned on', async () => {
      const T0 = 1_795_262_400_000;
      const clock = new ManualClock(T0);
      const config = StateTtlConfig.newBuilder(1000).disableCleanupInBackground().build();
      const b = backend();
      const ttl = new TtlStates(b, clock.now);
      const withTtl = ttl.getState(valueState<V1>('t', { ttl: config })) as ValueState<V1>;
      const plain = ttl.getState(listState<V1>('p')) as ListState<V1>;
      b.setCurrentKey('k');
      withTtl.update({ n: 5 });
      plain.add({ n: 6 });
      const restored = await roundTrip(b, T0);
      clock.advance(999); // still alive: the last access was kept through the migration
      const calls = { count: 0 };
      const ttl2 = new TtlStates(restored, clock.now);
      const t2 = ttl2.getState(valueState<V2>('t', { ttl: config, schemaVersion: 2, migrate: toV2(calls) })) as ValueState<V2>;
      const p2 = ttl2.getState(listState<V2>('p', { ttl: config, schemaVersion: 2, migrate: toV2(calls) })) as ListState<V2>;
      restored.setCurrentKey('k');
      expect(t2.value()).toEqual({ n: 5, twice: 10, migrations: 1 });
      expect([...p2.get()]).toEqual([{ n: 6, twice: 12, migrations: 1 }]);
      expect(calls.count).toBe(2);
      clock.advance(1);
      expect(t2.value()).toBeUndefined(); // one TTL after the write at T0 (reads do not renew OnCreateAndWrite)
    });

    it('refuses a newer version, and a changed version without a hook, naming state, operator and versions', async () => {
      const b = backend();
      const v = b.getState(valueState<V1>('v', { schemaVersion: 3, migrate: (o) => o as V1 }));
      b.setCurrentKey('k');
      v.update({ n: 1 });
      const restored = await roundTrip(b);
      expect(() => restored.getState(valueState<V1>('v', { schemaVersion: 2, migrate: (o) => o as V1 }))).toThrow(
        "StateMigrationException: cannot restore keyed state 'v' of operator 'op': the snapshot has schema version 3, newer than version 2 that this job declares; restore it with a job that knows version 3",
      );
      const other = await roundTrip(b);
      expect(() => other.getState(valueState<V1>('v', { schemaVersion: 4 }))).toThrow(
        "StateMigrationException: cannot restore keyed state 'v' of operator 'op': the snapshot has schema version 3 and this job declares version 4 without a migrate(oldValue, oldVersion) hook; add one to the state's descriptor",
      );
    });

    it('property: every stored value, list element, map user value and accumulator is migrated exactly once, whatever the keys and elements', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.record({ value: fc.integer(), list: fc.array(fc.integer(), { maxLength: 5 }), map: fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 4 }) }), { maxKeys: 25 }),
          async (data) => {
            const b = backend();
            const v = b.getState(valueState<V1>('v'));
            const l = b.getState(listState<V1>('l'));
            const m = b.getState(mapState<string, V1>('m'));
            const r = b.getState(reducingState<V1>('r', (x, y) => ({ n: x.n + y.n })));
            const a = b.getState(aggregatingState('a', sumV1));
            let elements = 0;
            for (const [key, d] of Object.entries(data)) {
              b.setCurrentKey(key);
              v.update({ n: d.value });
              l.update(d.list.map((n) => ({ n })));
              for (const [uk, n] of Object.entries(d.map)) m.put(uk, { n });
              for (const n of d.list) r.add({ n });
              for (const n of d.list) a.add(n);
              elements += 1 + d.list.length + Object.keys(d.map).length + (d.list.length > 0 ? 2 : 0);
            }
            const restored = await roundTrip(b);
            const calls = { count: 0 };
            const migrate = toV2(calls);
            const v2 = restored.getState(valueState<V2>('v', { schemaVersion: 2, migrate }));
            const l2 = restored.getState(listState<V2>('l', { schemaVersion: 2, migrate }));
            const m2 = restored.getState(mapState<string, V2>('m', { schemaVersion: 2, migrate }));
            const r2 = restored.getState(reducingState<V2>('r', (x) => x, { schemaVersion: 2, migrate }));
            const a2 = restored.getState(aggregatingState<number, V2, V2>('a', { createAccumulator: () => ({ n: 0, twice: 0, migrations: 0 }), add: (_x, acc) => acc, getResult: (acc) => acc }, { schemaVersion: 2, migrate }));
            expect(calls.count).toBe(elements);
            for (const [key, d] of Object.entries(data)) {
              restored.setCurrentKey(key);
              expect(v2.value()).toEqual({ n: d.value, twice: d.value * 2, migrations: 1 });
              expect([...l2.get()]).toEqual(d.list.map((n) => ({ n, twice: n * 2, migrations: 1 })));
              expect(Object.fromEntries(m2.entries())).toEqual(Object.fromEntries(Object.entries(d.map).map(([uk, n]) => [uk, { n, twice: n * 2, migrations: 1 }])));
              const sum = d.list.reduce((x, y) => x + y, 0);
              const accumulated = d.list.length === 0 ? undefined : { n: sum, twice: sum * 2, migrations: 1 };
              expect([r2.get(), a2.get()]).toEqual([accumulated, accumulated]);
            }
            for (const x of made.splice(0)) await x.dispose();
          },
        ),
        { numRuns: 15 },
      );
    });
  });
}

describe('schema migration of operator state', () => {
  it('migrates list elements and broadcast values once at the first declaration, and refuses as keyed state does', () => {
    const restored = new OperatorStateStore('op subtask 0', 'op');
    restored.restoreList({ name: 'offsets', kind: 'list', mode: 'split', schemaVersion: 1 }, [{ n: 1 }, { n: 2 }]);
    restored.restoreBroadcast({ name: 'rules', kind: 'broadcast', mode: 'broadcast', schemaVersion: 1 }, ['a'], [{ n: 3 }]);
    const calls = { count: 0 };
    const list = restored.getListState<V2>('offsets', { schemaVersion: 2, migrate: toV2(calls) });
    const rules = restored.getBroadcastState<string, V2>('rules', { schemaVersion: 2, migrate: toV2(calls) });
    expect([...list.get()]).toEqual([{ n: 1, twice: 2, migrations: 1 }, { n: 2, twice: 4, migrations: 1 }]);
    expect(rules.get('a')).toEqual({ n: 3, twice: 6, migrations: 1 });
    restored.getListState<V2>('offsets', { schemaVersion: 2, migrate: toV2(calls) });
    expect(calls.count).toBe(3);
    expect(restored.states().map((s) => s.schemaVersion)).toEqual([2, 2]);

    const newer = new OperatorStateStore('op subtask 0', 'op');
    newer.restoreList({ name: 'offsets', kind: 'list', mode: 'split', schemaVersion: 2 }, [{ n: 1 }]);
    expect(() => newer.getListState('offsets')).toThrow(
      "StateMigrationException: cannot restore operator state 'offsets' of operator 'op': the snapshot has schema version 2, newer than version 1 that this job declares; restore it with a job that knows version 2",
    );
  });

  it('refuses a migrate hook on version 1, where it could never run', () => {
    expect(() => valueState('v', { migrate: (o) => o })).toThrow("state 'v': a migrate hook needs a schemaVersion above 1 (the version its values are migrated to); set schemaVersion");
    expect(() => valueState('v', { schemaVersion: 0 })).toThrow("state 'v': schemaVersion must be a whole number >= 1, not 0");
  });
});
