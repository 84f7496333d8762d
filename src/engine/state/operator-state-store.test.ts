import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { UserError } from '../../errors.ts';
import { keyGroupFor, rangeForSubtask, subtaskFor } from '../../format/key-groups.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import { OperatorStateStore } from './operator-state-store.ts';
import { planRestore } from './restore-plan.ts';
import { restoreKeyedState, restoreOperatorState } from './restore-state.ts';
import { writeOperatorSnapshots } from './snapshot-test-support.ts';
import { valueState } from './state-descriptors.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
let counter = 0;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});
const freshStore = (): LocalObjectStore => new LocalObjectStore(`${root.path}/o${counter++}`);

describe('OperatorStateStore handles', () => {
  it('keeps split and union list states', () => {
    const store = new OperatorStateStore('src (1/2)');
    const offsets = store.getListState<{ partition: number; offset: number }>('offsets');
    offsets.add({ partition: 0, offset: 5 });
    offsets.addAll([{ partition: 1, offset: 7 }]);
    expect([...offsets.get()]).toHaveLength(2);
    offsets.update([{ partition: 2, offset: 0 }]);
    expect([...offsets.get()]).toEqual([{ partition: 2, offset: 0 }]);
    offsets.clear();
    expect([...offsets.get()]).toEqual([]);
    const union = store.getUnionListState<string>('union');
    union.add('x');
    expect(store.getUnionListState<string>('union').get()).toEqual(['x']);
    expect(() => union.add(undefined as unknown as string)).toThrow(/cannot add undefined to operator list state 'union'/);
    expect(store.states().map((s) => [s.name, s.kind, s.mode])).toEqual([
      ['offsets', 'list', 'split'],
      ['union', 'list', 'union'],
    ]);
  });

  it('keeps broadcast state as a map with canonical keys', () => {
    const rules = new OperatorStateStore().getBroadcastState<unknown, string>('rules');
    expect(rules.isEmpty()).toBe(true);
    rules.put({ b: 1, a: 2 }, 'obj');
    rules.putAll([
      ['r1', 'one'],
      [1, 'number'],
    ]);
    expect(rules.get({ a: 2, b: 1 })).toBe('obj');
    expect(rules.contains('1')).toBe(false);
    expect([...rules.keys()]).toEqual([{ b: 1, a: 2 }, 'r1', 1]);
    expect([...rules.values()]).toEqual(['obj', 'one', 'number']);
    rules.remove('r1');
    expect([...rules.entries()]).toEqual([
      [{ b: 1, a: 2 }, 'obj'],
      [1, 'number'],
    ]);
    rules.clear();
    expect(rules.isEmpty()).toBe(true);
  });

  it('refuses a name registered with another kind or mode', () => {
    const store = new OperatorStateStore('sink (0/1)');
    store.getListState('pending');
    expect(() => store.getUnionListState('pending')).toThrow(UserError);
    expect(() => store.getBroadcastState('pending')).toThrow(
      "sink (0/1): operator state 'pending' is registered as list state with split redistribution and cannot also be used as broadcast state; give one of them another name",
    );
  });

  it('snapshots deep copies', () => {
    const store = new OperatorStateStore();
    const list = store.getListState<{ n: number }>('l');
    const map = store.getBroadcastState<string, { n: number }>('b');
    const element = { n: 1 };
    list.add(element);
    map.put('k', { n: 1 });
    const snapshot = store.snapshot();
    element.n = 2;
    list.add({ n: 3 });
    map.get('k')!.n = 2;
    expect(snapshot.states).toEqual([
      { info: { name: 'l', kind: 'list', mode: 'split', schemaVersion: 1 }, kind: 'list', elements: [{ n: 1 }] },
      { info: { name: 'b', kind: 'broadcast', mode: 'broadcast', schemaVersion: 1 }, kind: 'broadcast', entries: [['k', { n: 1 }]] },
    ]);
  });
});

async function writeOld(store: ObjectStore, p: number, keys: readonly string[]): Promise<void> {
  const maxP = 16;
  const subtasks = Array.from({ length: p }, (_, i) => {
    const operator = new OperatorStateStore();
    const split = operator.getListState<string>('split');
    for (let e = 0; e < 3 + i; e++) split.add(`${i}.${e}`);
    operator.getUnionListState<string>('union').add(`u${i}`);
    operator.getBroadcastState<string, number>('rules').put('from', i);
    const keyed = new HeapKeyedStateBackend({ keyGroupRange: rangeForSubtask(i, p, maxP), maxParallelism: maxP });
    const v = keyed.getState(valueState<string>('v'));
    for (const k of keys.filter((k) => subtaskFor(keyGroupFor(k, maxP), p, maxP) === i)) {
      keyed.setCurrentKey(k);
      v.update(k.toUpperCase());
    }
    return { keyed: keyed.snapshot(), operator: operator.snapshot() };
  });
  await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: maxP, subtasks }]);
}

async function restoreAll(store: ObjectStore, p: number) {
  const reader = await SnapshotReader.open(store);
  const plan = planRestore({ location: store.location, metadata: reader.metadata, operators: [{ uid: 'op', parallelism: p, maxParallelism: 16 }], allowNonRestoredState: false });
  const out = [];
  for (const sub of plan.operators[0]!.subtasks) {
    const operator = new OperatorStateStore();
    const keyed = new HeapKeyedStateBackend({ keyGroupRange: sub.keyGroupRange, maxParallelism: 16 });
    await restoreOperatorState(reader, sub, operator);
    await restoreKeyedState(reader, sub, keyed);
    out.push({
      split: [...operator.getListState<string>('split').get()],
      union: [...operator.getUnionListState<string>('union').get()],
      rules: [...operator.getBroadcastState<string, number>('rules').entries()],
      keyed,
    });
  }
  return out;
}

describe('restoring operator state from a snapshot', () => {
  it('redistributes split, union and broadcast state when scaling 3 -> 2 and 2 -> 5', async () => {
    const down = freshStore();
    await writeOld(down, 3, []);
    const two = await restoreAll(down, 2);
    // 3 + 4 + 5 = 12 elements, concatenated in old subtask order, 6 each.
    expect(two.map((s) => s.split)).toEqual([
      ['0.0', '0.1', '0.2', '1.0', '1.1', '1.2'],
      ['1.3', '2.0', '2.1', '2.2', '2.3', '2.4'],
    ]);
    expect(two.map((s) => s.union)).toEqual([
      ['u0', 'u1', 'u2'],
      ['u0', 'u1', 'u2'],
    ]);
    expect(two.map((s) => s.rules)).toEqual([[['from', 0]], [['from', 1]]]);

    const up = freshStore();
    await writeOld(up, 2, []);
    const five = await restoreAll(up, 5);
    expect(five.map((s) => s.split)).toEqual([['0.0', '0.1'], ['0.2', '1.0'], ['1.1'], ['1.2'], ['1.3']]);
    expect(five.map((s) => s.rules.map(([, from]) => from))).toEqual([[0], [1], [0], [1], [0]]);
  });

  it('reads only the planned blocks', async () => {
    const inner = freshStore();
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await writeOld(inner, 2, keys);
    const ranges: string[] = [];
    const counting: ObjectStore = {
      location: inner.location,
      describe: (k) => inner.describe(k),
      stat: (k) => inner.stat(k),
      get: (k) => inner.get(k),
      getRange: (k, o, l) => (ranges.push(`${k}@${o}+${l}`), inner.getRange(k, o, l)),
      createWriter: (k) => inner.createWriter(k),
      publish: (k, b) => inner.publish(k, b),
      list: (p) => inner.list(p),
      delete: (k) => inner.delete(k),
    };
    const reader = await SnapshotReader.open(counting);
    // Block by block, so each read names one block: which blocks a restore reads is the point
    // here (coalesced reads, which also fetch the bytes between nearby blocks, have their own tests).
    reader.coalesceReads = false;
    const plan = planRestore({ location: 'x', metadata: reader.metadata, operators: [{ uid: 'op', parallelism: 4, maxParallelism: 16 }], allowNonRestoredState: false });
    const sub = plan.operators[0]!.subtasks[2]!; // key groups 8..11
    const keyed = new HeapKeyedStateBackend({ keyGroupRange: sub.keyGroupRange, maxParallelism: 16 });
    await restoreKeyedState(reader, sub, keyed);
    await restoreOperatorState(reader, sub, new OperatorStateStore());
    const path = (file: number): string => reader.metadata.files[file]!.path;
    const expected = [
      ...sub.keyedStates[0]!.blocks.map((b) => `${path(b.file)}@${b.offset}+${b.length}`),
      ...sub.operatorStates.flatMap((s) => s.slices.map((sl) => `${path(sl.block.file)}@${sl.block.offset}+${sl.block.length}`)),
    ];
    expect(ranges.filter((r) => !r.endsWith('@0+16')).sort()).toEqual(expected.sort());
    expect(sub.keyedStates[0]!.blocks.length).toBe(4);
    expect(keyed.size('v')).toBe(keys.filter((k) => keyGroupFor(k, 16) >= 8 && keyGroupFor(k, 16) <= 11).length);
    keyed.setCurrentKey(keys.find((k) => keyGroupFor(k, 16) === 9)!);
    expect(keyed.getState(valueState<string>('v')).value()).toMatch(/^K\d+$/);
  });
});
