/** State TTL over the heap backend, with a clock the test moves (issue 11). */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../errors.ts';
import { keyGroupFor } from '../../../format/key-groups.ts';
import { ManualClock } from '../../runtime/clock.ts';
import { HeapKeyedStateBackend } from '../heap-keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../keyed-state-handles.ts';
import { aggregatingState, listState, mapState, reducingState, valueState } from '../state-descriptors.ts';
import { toSnapshotValues } from '../state-value-layout.ts';
import { DEFAULT_INCREMENTAL_CLEANUP, StateTtlConfig, resolveTtl } from './state-ttl-config.ts';
import { TtlStates, ttlValueForSnapshot } from './ttl-states.ts';

function setup(): { backend: HeapKeyedStateBackend; clock: ManualClock; ttl: TtlStates } {
  const backend = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128, owner: 'op subtask 0' });
  const clock = new ManualClock(1_000_000);
  return { backend, clock, ttl: new TtlStates(backend, clock.now) };
}

const TTL = StateTtlConfig.newBuilder(1000).build();

function thrown(f: () => unknown): UserError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected a UserError');
}

describe('StateTtlConfig', () => {
  it("has Flink's defaults", () => {
    expect(resolveTtl('s', TTL)).toEqual({ ttlMs: 1000, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired', fullSnapshot: false, incremental: DEFAULT_INCREMENTAL_CLEANUP, incrementalAsked: false });
    expect(DEFAULT_INCREMENTAL_CLEANUP).toEqual({ cleanupSize: 5, runCleanupForEveryRecord: false });
    const off = StateTtlConfig.newBuilder(5).updateTtlOnReadAndWrite().returnExpiredIfNotCleanedUp().cleanupFullSnapshot().disableCleanupInBackground().build();
    expect(resolveTtl('s', off)).toEqual({ ttlMs: 5, update: 'OnReadAndWrite', visibility: 'ReturnExpiredIfNotCleanedUp', fullSnapshot: true, incremental: null, incrementalAsked: false });
    expect(resolveTtl('s', StateTtlConfig.newBuilder(5).disableCleanupInBackground().cleanupIncrementally(10, true).build())).toMatchObject({ incremental: { cleanupSize: 10, runCleanupForEveryRecord: true }, incrementalAsked: true });
    // A literal of the three recorded fields gets the defaults.
    expect(resolveTtl('s', { ttlMs: 7, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' }).incremental).toEqual(DEFAULT_INCREMENTAL_CLEANUP);
  });

  it('refuses in one line what is not built or not valid, naming the option', () => {
    expect(thrown(() => StateTtlConfig.newBuilder(10).cleanupInRocksdbCompactFilter(1000)).message).toMatch(/^StateTtlConfig: cleanupInRocksdbCompactFilter is not supported: tsflink's on-disk backends sweep expired state incrementally/);
    expect(thrown(() => StateTtlConfig.newBuilder(10).setTtlTimeCharacteristic('EventTime' as 'ProcessingTime')).message).toMatch(/time characteristic 'EventTime' is not supported/);
    expect(thrown(() => StateTtlConfig.newBuilder(0).build()).message).toMatch(/positive/);
    expect(thrown(() => valueState('seen', { ttl: { ...TTL, update: 'Disabled' as 'OnCreateAndWrite' } })).message).toBe("keyed state 'seen': ttl update type 'Disabled': declare the state without ttl instead");
    expect(thrown(() => listState('seen', { ttl: { ...TTL, cleanupInRocksdbCompactFilter: 1000 } })).message).toMatch(/^keyed state 'seen': ttl cleanupInRocksdbCompactFilter is not supported: tsflink's on-disk backends sweep expired state incrementally/);
    expect(thrown(() => mapState('seen', { ttl: { ...TTL, timeCharacteristic: 'EventTime' as 'ProcessingTime' } })).message).toMatch(/^keyed state 'seen': ttl time characteristic 'EventTime'/);
    expect(thrown(() => valueState('seen', { ttl: StateTtlConfig.newBuilder(5).cleanupIncrementally(0, false).build() })).message).toMatch(/cleanupIncrementally\(0\)/);
  });
});

describe('TTL handles', () => {
  it('value state: expires after ttl since the last write; a read does not renew with OnCreateAndWrite', () => {
    const { backend, clock, ttl } = setup();
    const s = ttl.getState(valueState<number>('v', { ttl: TTL })) as unknown as ValueState<number>;
    backend.setCurrentKey('a');
    s.update(1);
    clock.advance(999);
    expect(s.value()).toBe(1);
    clock.advance(1);
    expect(s.value()).toBeUndefined();
    expect(backend.size('v')).toBe(0); // cleared on access
  });

  it('value state: OnReadAndWrite renews on read; ReturnExpiredIfNotCleanedUp returns an expired value once', () => {
    const { backend, clock, ttl } = setup();
    // Without background cleanup, which (as in Flink) runs before the read and would clean it up first.
    const config = StateTtlConfig.newBuilder(100).updateTtlOnReadAndWrite().returnExpiredIfNotCleanedUp().disableCleanupInBackground().build();
    const s = ttl.getState(valueState<string>('v', { ttl: config })) as unknown as ValueState<string>;
    backend.setCurrentKey('a');
    s.update('x');
    for (let i = 0; i < 5; i++) {
      clock.advance(99);
      expect(s.value()).toBe('x');
    }
    clock.advance(100);
    expect(s.value()).toBe('x'); // expired, not cleaned up yet: returned, and cleared
    expect(s.value()).toBeUndefined();
  });

  it('list state expires per element', () => {
    const { backend, clock, ttl } = setup();
    const s = ttl.getState(listState<number>('l', { ttl: TTL })) as unknown as ListState<number>;
    backend.setCurrentKey('a');
    s.add(1);
    clock.advance(600);
    s.add(2);
    clock.advance(400);
    expect([...s.get()]).toEqual([2]);
    clock.advance(600);
    expect([...s.get()]).toEqual([]);
    expect(backend.size('l')).toBe(0);
    expect(() => s.add(null as unknown as number)).toThrow("state 'l': cannot add null to a list state");
  });

  it('map state expires per user value', () => {
    const { backend, clock, ttl } = setup();
    const s = ttl.getState(mapState<string, number>('m', { ttl: TTL })) as unknown as MapState<string, number>;
    backend.setCurrentKey('a');
    s.put('x', 1);
    clock.advance(500);
    s.put('y', 2);
    clock.advance(500);
    expect(s.get('x')).toBeUndefined();
    expect(s.contains('y')).toBe(true);
    expect([...s.entries()]).toEqual([['y', 2]]);
    clock.advance(500);
    expect(s.isEmpty()).toBe(true);
    expect(backend.size('m')).toBe(0);
  });

  it('reducing and aggregating state start over once expired', () => {
    const { backend, clock, ttl } = setup();
    const sum = ttl.getState(reducingState<number>('sum', (a, b) => a + b, { ttl: TTL })) as unknown as ReducingState<number>;
    const avg = ttl.getState(
      aggregatingState<number, { n: number; total: number }, number>('avg', { createAccumulator: () => ({ n: 0, total: 0 }), add: (v, acc) => ({ n: acc.n + 1, total: acc.total + v }), getResult: (acc) => acc.total / acc.n }, { ttl: StateTtlConfig.newBuilder(1000).updateTtlOnReadAndWrite().build() }),
    ) as unknown as AggregatingState<number, number>;
    backend.setCurrentKey('a');
    sum.add(1);
    sum.add(2);
    avg.add(2);
    avg.add(4);
    clock.advance(900);
    expect(sum.get()).toBe(3);
    expect(avg.get()).toBe(3); // renews
    clock.advance(900);
    expect(sum.get()).toBeUndefined();
    expect(avg.get()).toBe(3);
    sum.add(5);
    expect(sum.get()).toBe(5);
    clock.advance(1000);
    avg.add(10);
    expect(avg.get()).toBe(10);
  });

  it('cleans up incrementally: the cursor checks cleanupSize keys per state access', () => {
    const { backend, clock, ttl } = setup();
    const s = ttl.getState(valueState<number>('v', { ttl: StateTtlConfig.newBuilder(100).cleanupIncrementally(3, false).build() })) as unknown as ValueState<number>;
    for (let i = 0; i < 9; i++) {
      backend.setCurrentKey(`k${i}`);
      s.update(i);
    }
    clock.advance(100);
    backend.setCurrentKey('other');
    expect(s.value()).toBeUndefined(); // one access: 3 keys checked
    expect(backend.size('v')).toBe(6);
    expect(backend.getCurrentKey()).toBe('other');
    s.value();
    s.value();
    expect(backend.size('v')).toBe(0);
  });

  it('cleans up per record with runCleanupForEveryRecord, without any access, also before any current key', () => {
    const { clock } = setup();
    const restored = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128, owner: 'op subtask 0' });
    const config = StateTtlConfig.newBuilder(100).cleanupIncrementally(2, true).build();
    restored.restoreKeyGroup({ name: 'v', kind: 'value', schemaVersion: 1, ttl: config }, keyGroupFor('k', 128), ['k'], [[1, clock.now()]], 'f.tsfs');
    const fresh = new TtlStates(restored, clock.now);
    fresh.getState(valueState<number>('v', { ttl: config }));
    clock.advance(100);
    fresh.onRecord(); // the subtask calls it before setting the first record's key
    expect(restored.size('v')).toBe(0); // and no InternalError for the missing current key
  });

  it('cleans up per record with runCleanupForEveryRecord, without any access', () => {
    const { backend, clock, ttl } = setup();
    const s = ttl.getState(valueState<number>('v', { ttl: StateTtlConfig.newBuilder(100).cleanupIncrementally(2, true).build() })) as unknown as ValueState<number>;
    for (let i = 0; i < 4; i++) {
      backend.setCurrentKey(i);
      s.update(i);
    }
    clock.advance(100);
    ttl.onRecord();
    ttl.onRecord();
    expect(backend.size('v')).toBe(0);
  });

  it('migrates a state that had no TTL to TTL and back, as Flink 2.2 does: stamped now, or unwrapped', () => {
    const { backend, clock, ttl } = setup();
    const info = (name: string, kind: 'value' | 'list' | 'map' | 'reducing' | 'aggregating') => ({ name, kind, schemaVersion: 1, ttl: null });
    const g = keyGroupFor('k', 128);
    backend.restoreKeyGroup(info('v', 'value'), g, ['k'], [{ n: 1 }], 'f.tsfs');
    backend.restoreKeyGroup(info('l', 'list'), g, ['k'], [[1, 2]], 'f.tsfs');
    backend.restoreKeyGroup(info('m', 'map'), g, ['k'], [[['a', 1]]], 'f.tsfs');
    backend.restoreKeyGroup(info('r', 'reducing'), g, ['k'], [5], 'f.tsfs');
    backend.restoreKeyGroup(info('a', 'aggregating'), g, ['k'], [[7]], 'f.tsfs');
    clock.advance(500); // restored later: the values live one TTL from now
    const v = ttl.getState(valueState<{ n: number }>('v', { ttl: TTL })) as unknown as ValueState<{ n: number }>;
    const l = ttl.getState(listState<number>('l', { ttl: TTL })) as unknown as ListState<number>;
    const m = ttl.getState(mapState<string, number>('m', { ttl: TTL })) as unknown as MapState<string, number>;
    const r = ttl.getState(reducingState<number>('r', (x, y) => x + y, { ttl: TTL })) as unknown as ReducingState<number>;
    const a = ttl.getState(aggregatingState<number, number[], number>('a', { createAccumulator: () => [], add: (x, acc) => [...acc, x], getResult: (acc) => acc.length }, { ttl: TTL })) as unknown as AggregatingState<number, number>;
    expect(backend.states().map((s) => s.ttl?.ttlMs ?? null)).toEqual([1000, 1000, 1000, 1000, 1000]);
    backend.setCurrentKey('k');
    clock.advance(999);
    expect([v.value(), [...l.get()], [...m.entries()], r.get(), a.get()]).toEqual([{ n: 1 }, [1, 2], [['a', 1]], 5, 1]);
    clock.advance(1);
    expect([v.value(), [...l.get()], [...m.entries()], r.get(), a.get()]).toEqual([undefined, [], [], undefined, undefined]);

    // And back: a TTL state declared without TTL keeps its values, for good.
    const { backend: b2, clock: c2, ttl: t2 } = setup();
    b2.restoreKeyGroup({ name: 'v', kind: 'value', schemaVersion: 1, ttl: { ttlMs: 5, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } }, g, ['k'], [[{ n: 2 }, c2.now()]], 'f.tsfs');
    b2.restoreKeyGroup({ name: 'l', kind: 'list', schemaVersion: 1, ttl: { ttlMs: 5, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } }, g, ['k'], [[[1, 0], [2, 0]]], 'f.tsfs');
    const plain = t2.getState(valueState<{ n: number }>('v')) as unknown as ValueState<{ n: number }>;
    const plainList = t2.getState(listState<number>('l')) as unknown as ListState<number>;
    c2.advance(10_000);
    b2.setCurrentKey('k');
    expect(plain.value()).toEqual({ n: 2 });
    expect([...plainList.get()]).toEqual([1, 2]);
    expect(b2.states().map((s) => s.ttl)).toEqual([null, null]);
  });

  it('refuses one state declared both with and without a TTL in one run, in one line', () => {
    const { ttl } = setup();
    ttl.getState(valueState('x'));
    expect(thrown(() => ttl.getState(valueState('x', { ttl: TTL }))).message).toBe("op subtask 0: keyed state 'x' is declared both with and without a TTL; declare it one way everywhere in the job");
    ttl.getState(listState('y', { ttl: TTL }));
    expect(thrown(() => ttl.getState(listState('y'))).message).toMatch(/keyed state 'y' is declared both with and without a TTL/);
  });

  it('lays out snapshots as FORMAT.md 5.4, without expired entries under cleanupFullSnapshot', () => {
    const { backend, clock, ttl } = setup();
    const m = ttl.getState(mapState<string, number>('m', { ttl: StateTtlConfig.newBuilder(1000).cleanupFullSnapshot().build() })) as unknown as MapState<string, number>;
    backend.setCurrentKey('a');
    m.put('old', 1);
    clock.advance(600);
    m.put('new', 2);
    clock.advance(400);
    const layout = ttl.snapshotLayout();
    expect(layout.expireIn.get('m')).toBe(1000);
    const snapshot = backend.snapshot();
    const [captured] = snapshot.takeKeyGroup(keyGroupFor('a', 128)).filter((c) => c.keys.length > 0);
    const [value] = toSnapshotValues('map', captured!.values);
    expect(ttlValueForSnapshot('map', value, layout.now, 1000)).toEqual([['new', [2, 1_000_600]]]);
    expect(ttlValueForSnapshot('map', value, layout.now, undefined)).toEqual([['old', [1, 1_000_000]], ['new', [2, 1_000_600]]]);
    expect(ttlValueForSnapshot('value', [1, 2 ** 40], 0, undefined)).toEqual([1, 2n ** 40n]);
    expect(ttlValueForSnapshot('value', [1, 5], 1005, 1000)).toBeUndefined();
    snapshot.release();
  });
});
