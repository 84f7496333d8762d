/**
 * Map state through a real snapshot and a restore: user keys are written canonically (window
 * contents are keyed by timestamps of 2^32 and more, which msgpackr alone writes as float64), and
 * values keep every key, '__proto__' included.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { verifySnapshot } from '../../format/verify-snapshot.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import { planRestore } from './restore-plan.ts';
import { restoreKeyedState } from './restore-state.ts';
import { writeOperatorSnapshots } from './snapshot-test-support.ts';
import { mapState } from './state-descriptors.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});

const MAX_P = 8;
const WINDOW_END = Date.UTC(2026, 11, 2, 18); // > 2^32
const VALUE = JSON.parse('{"__proto__": {"x": 1}, "constructor": 2, "toString": "s"}') as Record<string, unknown>;

describe('map state in a snapshot', () => {
  it('writes timestamp user keys canonically and restores them and values with __proto__ keys', async () => {
    const backend = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
    const windows = backend.getState(mapState<number, unknown>('windows'));
    for (const key of ['user-1', 'user-2']) {
      backend.setCurrentKey(key);
      windows.put(WINDOW_END, VALUE);
      windows.put(WINDOW_END + 60_000, { n: 1 });
    }
    const dir = join(root.path, 'windows');
    const store = new LocalObjectStore(dir);
    await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: MAX_P, subtasks: [{ keyed: backend.snapshot() }] }]);

    const data = Buffer.concat(await Promise.all((await readdir(dir)).filter((n) => n !== '_metadata').map((n) => readFile(join(dir, n)))));
    const uint64 = Buffer.alloc(9);
    uint64[0] = 0xcf;
    uint64.writeBigUInt64BE(BigInt(WINDOW_END), 1);
    const float64 = Buffer.alloc(9);
    float64[0] = 0xcb;
    float64.writeDoubleBE(WINDOW_END, 1);
    expect(data.indexOf(uint64)).toBeGreaterThan(0);
    expect(data.indexOf(float64)).toBe(-1);
    expect((await verifySnapshot(store)).problems).toEqual([]);

    const reader = await SnapshotReader.open(store);
    const plan = planRestore({ location: store.location, metadata: reader.metadata, operators: [{ uid: 'op', parallelism: 1, maxParallelism: MAX_P }], allowNonRestoredState: false });
    const restored = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
    await restoreKeyedState(reader, plan.operators[0]!.subtasks[0]!, restored);
    const again = restored.getState(mapState<number, unknown>('windows'));
    for (const key of ['user-1', 'user-2']) {
      restored.setCurrentKey(key);
      expect([...again.keys()]).toEqual([WINDOW_END, WINDOW_END + 60_000]);
      const value = again.get(WINDOW_END) as Record<string, unknown>;
      expect(JSON.stringify(value)).toBe('{"__proto__":{"x":1},"constructor":2,"toString":"s"}');
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value, '__proto__')).toBe(true);
    }
  });
});
