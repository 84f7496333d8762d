import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import type { HeapKeyedSnapshot } from './heap-keyed-snapshot.ts';
import { writeOperatorSnapshots } from './snapshot-test-support.ts';
import { aggregatingState, listState, mapState, reducingState, timersState, valueState } from './state-descriptors.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
let counter = 0;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});

const MAX_P = 16;
const backend = (): HeapKeyedStateBackend => new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });

async function writeAndRead(snapshot: HeapKeyedSnapshot): Promise<Record<string, Record<string, unknown>>> {
  const store = new LocalObjectStore(`${root.path}/s${counter++}`);
  await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: MAX_P, subtasks: [{ keyed: snapshot }] }]);
  const reader = await SnapshotReader.open(store);
  const out: Record<string, Record<string, unknown>> = {};
  for (const state of reader.operator('op').keyedStates) {
    const values: Record<string, unknown> = {};
    for await (const batch of reader.readKeyed('op', state.name)) batch.keys.forEach((k, i) => (values[String(k)] = batch.values[i]));
    out[state.name] = values;
  }
  return out;
}

/** The store's methods bound to it, to override some. */
function bind(store: ObjectStore): ObjectStore {
  return {
    location: store.location,
    describe: (k) => store.describe(k),
    stat: (k) => store.stat(k),
    get: (k) => store.get(k),
    getRange: (k, o, l) => store.getRange(k, o, l),
    createWriter: (k) => store.createWriter(k),
    publish: (k, bytes) => store.publish(k, bytes),
    list: (p) => store.list(p),
    delete: (k) => store.delete(k),
  };
}

type Acc = { count: number; sum: number; last: string };

function populate(b: HeapKeyedStateBackend) {
  const value = b.getState(valueState<Acc>('value'));
  const list = b.getState(listState<{ n: number }>('list'));
  const map = b.getState(mapState<string, number[]>('map'));
  const reducing = b.getState(reducingState<number>('reducing', (a, v) => a + v));
  const aggregating = b.getState(
    aggregatingState('aggregating', {
      createAccumulator: () => ({ n: 0 }),
      add: (v: number, acc: { n: number }) => ((acc.n += v), acc),
      getResult: (acc) => acc.n,
    }),
  );
  b.getState(valueState<number>('never-written'));
  for (const key of ['a', 'b', 'c']) {
    b.setCurrentKey(key);
    value.update({ count: 1, sum: 10, last: key });
    list.add({ n: 1 });
    map.put('x', [1]);
    reducing.add(5);
    aggregating.add(7);
  }
  return { value, list, map, reducing, aggregating };
}

describe('keyed snapshot isolation', () => {
  it('writes the state as of snapshot(), whatever happens to it afterwards', async () => {
    const b = backend();
    const s = populate(b);
    const snapshot = b.snapshot();

    b.setCurrentKey('a');
    const acc = s.value.value()!; // mutated, then written back
    acc.count += 100;
    acc.last = 'mutated';
    s.value.update(acc);
    const elements = [...s.list.get()];
    for (const e of elements) e.n = 99;
    s.list.update(elements);
    s.list.add({ n: 2 });
    s.map.put('x', [...s.map.get('x')!, 2]);
    s.map.put('y', [3]);
    s.reducing.add(1);
    s.aggregating.add(1);
    b.setCurrentKey('b');
    s.value.update({ count: 2, sum: 20, last: 'b2' });
    s.list.clear();
    s.map.remove('x');
    s.reducing.clear();
    b.setCurrentKey('c');
    s.value.clear();
    b.setCurrentKey('d'); // a new key
    s.value.update({ count: 1, sum: 1, last: 'd' });

    expect(b.pendingSnapshots).toBe(1);
    const written = await writeAndRead(snapshot);
    expect(b.pendingSnapshots).toBe(0);
    const before = { count: 1, sum: 10 };
    expect(written.value).toEqual({ a: { ...before, last: 'a' }, b: { ...before, last: 'b' }, c: { ...before, last: 'c' } });
    expect(written.list).toEqual({ a: [{ n: 1 }], b: [{ n: 1 }], c: [{ n: 1 }] });
    expect(written.map).toEqual({ a: [['x', [1]]], b: [['x', [1]]], c: [['x', [1]]] });
    expect(written.reducing).toEqual({ a: 5, b: 5, c: 5 });
    expect(written.aggregating).toEqual({ a: { n: 7 }, b: { n: 7 }, c: { n: 7 } });
    expect(written['never-written']).toEqual({});

    // And the live state has every change.
    b.setCurrentKey('a');
    expect(s.value.value()).toEqual({ count: 101, sum: 10, last: 'mutated' });
    expect([...s.list.get()]).toEqual([{ n: 99 }, { n: 2 }]);
    expect([...s.map.entries()]).toEqual([
      ['x', [1, 2]],
      ['y', [3]],
    ]);
    expect(s.reducing.get()).toBe(6);
    expect(s.aggregating.get()).toBe(8);
    b.setCurrentKey('b');
    expect(s.value.value()).toEqual({ count: 2, sum: 20, last: 'b2' });
    expect([...s.list.get()]).toEqual([]);
    expect(s.map.isEmpty()).toBe(true);
    b.setCurrentKey('c');
    expect(s.value.value()).toBeUndefined();
  });

  it('isolates overlapping snapshots from each other', async () => {
    const b = backend();
    const v = b.getState(valueState<{ n: number }>('v'));
    // Engine handles hand out the stored object (copied first while a snapshot holds it): the
    // in-place mutation that copy-on-write must keep from the snapshots.
    const raw = b.getState(valueState<{ n: number }>('v'), 'engine');
    b.setCurrentKey('k');
    v.update({ n: 1 });
    const first = b.snapshot();
    raw.value()!.n = 2;
    const second = b.snapshot();
    raw.value()!.n = 3;
    b.setCurrentKey('new');
    v.update({ n: 0 });
    expect(b.pendingSnapshots).toBe(2);
    expect((await writeAndRead(second)).v).toEqual({ k: { n: 2 } });
    v.update({ n: 10 });
    expect((await writeAndRead(first)).v).toEqual({ k: { n: 1 } });
    expect(b.pendingSnapshots).toBe(0);
    b.setCurrentKey('k');
    expect(v.value()).toEqual({ n: 3 });
  });

  it('stops copying a key group once it is written, and after release', () => {
    const b = backend();
    // An engine handle, which hands out the stored object: so the test sees when it is copied.
    const v = b.getState(valueState<{ n: number }>('v'), 'engine');
    b.setCurrentKey('k');
    v.update({ n: 1 });
    const group = b.getCurrentKeyGroup();
    const snapshot = b.snapshot();
    expect(snapshot.entries).toBe(1);
    const copied = v.value();
    expect(copied).toEqual({ n: 1 });
    expect(v.value()).toBe(copied); // copied once, then owned by the live state
    v.update({ n: 2 });
    expect(snapshot.takeKeyGroup(group).map((c) => c.values)).toEqual([[{ n: 1 }]]);
    expect(() => snapshot.takeKeyGroup(group)).toThrow(/taken twice/);
    snapshot.releaseKeyGroup(group);
    const live = v.value();
    expect(v.value()).toBe(live);
    snapshot.release();
    snapshot.release();
    expect(() => snapshot.takeKeyGroup(group + 1)).toThrow(/released/);
    expect(b.pendingSnapshots).toBe(0);
  });

  it('writes the snapshot-time state of keys deleted, re-added or added while it is written', async () => {
    const b = backend();
    const v = b.getState(valueState<number>('v'));
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    for (const k of keys) {
      b.setCurrentKey(k);
      v.update(1);
    }
    const snapshot = b.snapshot();
    for (const [i, k] of keys.entries()) {
      b.setCurrentKey(k);
      if (i % 3 === 0) v.clear();
      if (i % 6 === 0) v.update(2); // deleted, then added again
      if (i % 3 === 1) v.update(3);
      b.setCurrentKey(`new${i}`);
      v.update(4);
    }
    const written = (await writeAndRead(snapshot)).v!;
    expect(written).toEqual(Object.fromEntries(keys.map((k) => [k, 1])));
    expect(b.size('v')).toBe(200 - 33 + 200);
  });

  it('is isolated from changes made between the writer\'s I/O, while it is being written', async () => {
    const b = backend();
    const v = b.getState(valueState<{ n: number; blob: string }>('v'));
    const raw = b.getState(valueState<{ n: number; blob: string }>('v'), 'engine'); // hands out stored objects
    const blob = 'x'.repeat(8000); // 300 keys: about 2.4 MB, several 1 MiB flushes
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (const [i, k] of keys.entries()) {
      b.setCurrentKey(k);
      v.update({ n: i, blob });
    }
    let round = 0;
    const mutate = (): void => {
      round++;
      for (const [i, k] of keys.entries()) {
        b.setCurrentKey(k);
        if (i % 4 === 0) raw.value()!.n = -round; // in place
        else if (i % 4 === 1) v.update({ n: -round, blob: '' });
        else if (i % 4 === 2) v.clear();
        else if (round % 2 === 0) v.update({ n: -round, blob: 'again' }); // re-added after a clear below
        else v.clear();
        b.setCurrentKey(`new-${round}-${i}`);
        v.update({ n: -1, blob: '' });
      }
    };
    const inner = new LocalObjectStore(`${root.path}/s${counter++}`);
    const hooked: ObjectStore = {
      ...bind(inner),
      createWriter: async (key) => {
        const out = await inner.createWriter(key);
        return { write: async (chunk) => (mutate(), out.write(chunk)), close: () => out.close(), abort: () => out.abort() };
      },
    };
    await writeOperatorSnapshots(hooked, [{ uid: 'op', maxParallelism: MAX_P, subtasks: [{ keyed: b.snapshot() }] }]);
    expect(round).toBeGreaterThanOrEqual(3);
    const reader = await SnapshotReader.open(inner);
    const written = new Map<unknown, unknown>();
    for await (const batch of reader.readKeyed('op', 'v')) batch.keys.forEach((k, i) => written.set(k, batch.values[i]));
    expect(written).toEqual(new Map(keys.map((k, i) => [k, { n: i, blob }])));
  });

  it('writes map state as [userKey, userValue] pairs, list state as arrays, timers as given', async () => {
    const b = backend();
    const m = b.getState(mapState<unknown, string>('m'));
    const timers = b.getRawState(timersState('timers'));
    b.setCurrentKey(7);
    m.put({ b: 1, a: 2 }, 'obj');
    m.put(3, 'three');
    timers.put([
      [0, 1000],
      [1, 2000],
    ]);
    const written = await writeAndRead(b.snapshot());
    expect(written.m).toEqual({ '7': [[{ a: 2, b: 1 }, 'obj'], [3, 'three']] });
    expect(written.timers).toEqual({ '7': [[0, 1000], [1, 2000]] });
  });

  it('releases the snapshot when writing fails', async () => {
    const b = backend();
    const v = b.getState(valueState<unknown>('v'));
    b.setCurrentKey('k');
    v.update(new Set([1]));
    await expect(writeAndRead(b.snapshot())).rejects.toThrow(/op\/v: cannot store a state value that is a Set/);
    expect(b.pendingSnapshots).toBe(0);
  });
});
