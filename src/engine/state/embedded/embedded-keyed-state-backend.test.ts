/**
 * The on-disk backend beyond the shared handle suite: random operations on every handle kind,
 * driven against the heap backend and against lmdb and rocksdb with a write-back cache so small
 * that entries are evicted and read back from the store all the time, must read the same and
 * snapshot the same. And the working directory: under `localDir`, gone after dispose.
 */
import { existsSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyGroupFor } from '../../../format/key-groups.ts';
import { keyStringOf } from '../key-string.ts';
import { tempDir } from '../../../../test/support/temp-dir.ts';
import { HeapKeyedStateBackend } from '../heap-keyed-state-backend.ts';
import type { KeyedStateBackend, KeyedStateSnapshot } from '../keyed-state-backend.ts';
import { listState, mapState, reducingState, valueState } from '../state-descriptors.ts';
import { toSnapshotValues } from '../state-value-layout.ts';
import { createEmbeddedKeyedStateBackend } from './create-embedded-backend.ts';
import type { EmbeddedKeyedStateBackend } from './embedded-keyed-state-backend.ts';
import { InternalTimerService } from '../../runtime/internal-timer-service.ts';
import { ManualProcessingTime } from '../../runtime/manual-processing-time.ts';
import { timersState } from '../state-descriptors.ts';
import { StoreTimerQueue } from './store-timer-queue.ts';
import { ManualClock } from '../../runtime/clock.ts';
import type { ListState, MapState, ValueState } from '../keyed-state-handles.ts';
import { StateTtlConfig } from '../ttl/state-ttl-config.ts';
import { TtlStates } from '../ttl/ttl-states.ts';

const MAX_P = 8;
const KINDS = ['lmdb', 'rocksdb'] as const;

type Op =
  | { op: 'v.update'; key: number; value: number }
  | { op: 'v.clear'; key: number }
  | { op: 'l.add'; key: number; value: number }
  | { op: 'l.update'; key: number; values: number[] }
  | { op: 'l.clear'; key: number }
  | { op: 'm.put'; key: number; user: string; value: number }
  | { op: 'm.remove'; key: number; user: string }
  | { op: 'm.clear'; key: number }
  | { op: 'r.add'; key: number; value: number }
  | { op: 'snapshot' }
  /** A turn of the event loop: the frozen changes of earlier snapshots are written meanwhile. */
  | { op: 'tick' };

const key = fc.integer({ min: 0, max: 12 });
const user = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'ff'.repeat(10));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('v.update' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('v.clear' as const), key }),
  fc.record({ op: fc.constant('l.add' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('l.update' as const), key, values: fc.array(fc.integer(), { maxLength: 4 }) }),
  fc.record({ op: fc.constant('l.clear' as const), key }),
  fc.record({ op: fc.constant('m.put' as const), key, user, value: fc.integer() }),
  fc.record({ op: fc.constant('m.remove' as const), key, user }),
  fc.record({ op: fc.constant('m.clear' as const), key }),
  fc.record({ op: fc.constant('r.add' as const), key, value: fc.integer({ min: -100, max: 100 }) }),
  fc.constant({ op: 'snapshot' as const }),
  fc.constant({ op: 'tick' as const }),
);

/** What a backend reads for `k` in every state, after op. */
function readAll(b: KeyedStateBackend, k: number): unknown {
  b.setCurrentKey(k);
  const m = b.getState(mapState<string, number>('m'));
  return {
    v: b.getState(valueState<number>('v')).value(),
    l: [...b.getState(listState<number>('l')).get()],
    m: [...m.entries()].sort(),
    mEmpty: m.isEmpty(),
    mHasA: m.contains('a'),
    r: b.getState(reducingState<number>('r', (x, y) => x + y)).get(),
  };
}

function apply(b: KeyedStateBackend, op: Exclude<Op, { op: 'snapshot' | 'tick' }>): void {
  b.setCurrentKey(op.key);
  const v = b.getState(valueState<number>('v'));
  const l = b.getState(listState<number>('l'));
  const m = b.getState(mapState<string, number>('m'));
  const r = b.getState(reducingState<number>('r', (x, y) => x + y));
  switch (op.op) {
    case 'v.update':
      return v.update(op.value);
    case 'v.clear':
      return v.clear();
    case 'l.add':
      return l.add(op.value);
    case 'l.update':
      return l.update(op.values);
    case 'l.clear':
      return l.clear();
    case 'm.put':
      return m.put(op.user, op.value);
    case 'm.remove':
      return m.remove(op.user);
    case 'm.clear':
      return m.clear();
    case 'r.add':
      return r.add(op.value);
  }
}

/** state -> key string -> value in the snapshot layout. */
async function captured(snapshot: KeyedStateSnapshot): Promise<Record<string, [string, unknown][]>> {
  const out: Record<string, [string, unknown][]> = {};
  try {
    for (let g = snapshot.keyGroupRange.start; g <= snapshot.keyGroupRange.end; g++) {
      for (const { info, keys, values } of await snapshot.takeKeyGroup(g)) {
        const converted = toSnapshotValues(info.kind, values).map((v) => (info.kind === 'map' ? [...(v as unknown[])].sort() : v));
        (out[info.name] ??= []).push(...keys.map((k, i): [string, unknown] => [k, converted[i]]));
      }
      snapshot.releaseKeyGroup(g);
    }
  } finally {
    snapshot.release();
  }
  for (const entries of Object.values(out)) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

describe.each(KINDS)('EmbeddedKeyedStateBackend on %s', (kind) => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir(`tsflink-${kind}-backend-test-`);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('reads and snapshots as the heap does, with a cache small enough to evict all the time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80 }), async (ops) => {
        const options = { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P };
        const heap = new HeapKeyedStateBackend(options);
        // Small enough to evict often, large enough that some snapshots freeze changes still unwritten.
        const disk = createEmbeddedKeyedStateBackend(kind, { ...options, localDir: dir.path, cacheBytes: 4096 });
        const pendingSnapshots: [KeyedStateSnapshot, KeyedStateSnapshot][] = [];
        try {
          for (const op of ops) {
            if (op.op === 'snapshot') {
              const [a, b] = [heap.snapshot(), disk.snapshot()];
              // Written after more changes, as a checkpoint is: it must still show the barrier's state.
              pendingSnapshots.push([a, b]);
              continue;
            }
            if (op.op === 'tick') {
              await new Promise((r) => setImmediate(r));
              continue;
            }
            apply(heap, op);
            apply(disk, op);
            expect(readAll(disk, op.key)).toEqual(readAll(heap, op.key));
          }
          for (const [a, b] of pendingSnapshots) expect(await captured(b)).toEqual(await captured(a));
          expect(await captured(disk.snapshot())).toEqual(await captured(heap.snapshot()));
          for (const name of ['v', 'l', 'm', 'r']) {
            expect(disk.size(name)).toBe(heap.size(name));
            expect([...disk.keys(name)].sort()).toEqual([...heap.keys(name)].sort());
          }
        } finally {
          for (const [a, b] of pendingSnapshots) {
            a.release();
            b.release();
          }
          await disk.dispose();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('a snapshot writes nothing at the barrier: a few hundred changes stay pending, in the snapshot and not the store', async () => {
    const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path });
    try {
      const v = b.getState(valueState<number>('v'));
      for (let i = 0; i < 500; i++) {
        b.setCurrentKey(i);
        v.update(i);
      }
      const flushes = b.cache.stats.flushes;
      const written = b.cache.stats.flushedEntries;
      const snapshot = b.snapshot();
      b.setCurrentKey(0);
      v.update(-1); // after the barrier: not in the snapshot
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
      expect(b.cache.stats.flushes).toBe(flushes);
      expect(b.cache.stats.flushedEntries).toBe(written);
      // The 500 held out of the store, and the write after the barrier.
      expect(b.cache.dirtyEntries).toBe(501);
      const all = await captured(snapshot);
      expect(all['v']).toHaveLength(500);
      expect(all['v']!.map(([, x]) => x).sort((x, y) => (x as number) - (y as number))).toEqual(Array.from({ length: 500 }, (_, i) => i));
      b.setCurrentKey(0);
      expect(v.value()).toBe(-1);
    } finally {
      await b.dispose();
    }
  });

  it('a delta takes value-like states written since the previous snapshot from the cache, not the store; it reads when a restore wrote around the cache', async () => {
    const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path });
    let reads = 0;
    const openSnapshot = b.store.snapshot.bind(b.store);
    vi.spyOn(b.store, 'snapshot').mockImplementation(() => {
      const s = openSnapshot();
      return {
        get: (k) => (reads++, s.get(k)),
        range: (start, end) => (reads++, s.range(start, end)),
        release: () => s.release(),
      };
    });
    /** The delta since `base` over every key group, as key -> value (null: deleted). */
    const delta = async (snapshot: KeyedStateSnapshot, base: number): Promise<Map<string, unknown>> => {
      const out = new Map<string, unknown>();
      try {
        for (let g = 0; g < MAX_P; g++) {
          const changes = await snapshot.takeKeyGroupChanges!(g, base);
          if (changes === undefined) throw new Error(`key group ${g}: no delta since ${base}`);
          for (const { upserts, deletions } of changes) {
            upserts.keys.forEach((k, i) => out.set(k, upserts.values[i]));
            for (const k of deletions) out.set(k, null);
          }
        }
      } finally {
        snapshot.release();
      }
      return out;
    };
    try {
      b.trackChanges!(undefined);
      const v = b.getState(valueState<number>('v'));
      for (let i = 0; i < 100; i++) {
        b.setCurrentKey(i);
        v.update(i);
      }
      await captured(b.snapshot({ checkpointId: 1 }));
      b.confirmChanges!(1);
      for (let i = 0; i < 10; i++) {
        b.setCurrentKey(i);
        v.update(1000 + i);
        b.cache.flush(); // in the store before the barrier, and in the cache's record of writes
      }
      b.setCurrentKey(10);
      v.clear();
      reads = 0;
      const second = await delta(b.snapshot({ checkpointId: 2 }), 1);
      expect(reads).toBe(0);
      expect(second.size).toBe(11);
      expect(second.get(keyStringOf(3))).toBe(1003);
      expect(second.get(keyStringOf(10))).toBeNull();
      b.confirmChanges!(2);

      // Key 0 written through the cache, then loaded around it: the snapshot must hold what was loaded.
      b.setCurrentKey(0);
      v.update(7);
      b.restoreKeyGroup(b.states()[0]!, keyGroupFor(0, MAX_P), [0], [42], 'test');
      b.setCurrentKey(0);
      expect(v.value()).toBe(42);
      reads = 0;
      const third = await delta(b.snapshot({ checkpointId: 3 }), 2);
      expect(reads).toBeGreaterThan(0);
      expect(third.get(keyStringOf(0))).toBe(42);
    } finally {
      await b.dispose();
    }
  });

  it('iterates a large map state in chunks, and an iteration left half-way holds no store snapshot', async () => {
    const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes: 64 * 1024 });
    try {
      const m = b.getState(mapState<number, string>('m'));
      b.setCurrentKey('big');
      for (let i = 0; i < 1500; i++) m.put(i, `v${i}`);
      m.remove(700);
      const keys = [...m.keys()].sort((x, y) => x - y);
      expect(keys).toHaveLength(1499);
      expect(keys.includes(700)).toBe(false);
      expect(m.get(1499)).toBe('v1499');
      // More abandoned iterations than a store may have snapshots open.
      for (let i = 0; i < 300; i++) expect(m.entries().next().done).toBe(false);
      b.snapshot().release();
    } finally {
      await b.dispose();
    }
  });

  it('keeps timer queues in the store (ROCKSDB, the default) and fires them in time order; HEAP keeps them in memory', async () => {
    const options = { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path };
    const heap = createEmbeddedKeyedStateBackend(kind, { ...options, timerService: 'HEAP' });
    expect(heap.createTimerQueue(timersState('_timers'), 0)).toBeUndefined();
    await heap.dispose();
    const b = createEmbeddedKeyedStateBackend(kind, options);
    try {
      expect(b.createTimerQueue(timersState('_timers'), 0)).toBeInstanceOf(StoreTimerQueue);
      const fired: [unknown, number][] = [];
      const service = new InternalTimerService(b, new ManualProcessingTime(), (t) => void fired.push([b.getCurrentKey(), t]));
      service.open();
      // More than one batch (2048), so most timers are read back from the store.
      for (let k = 0; k < 3000; k++) {
        b.setCurrentKey(k);
        service.registerEventTimeTimer(10_000 - k);
        service.registerEventTimeTimer(20_000 + k);
        if (k % 3 === 0) service.deleteEventTimeTimer(20_000 + k);
      }
      expect(service.queued.eventTime).toBe(6000 - 1000);
      await service.advanceWatermark(10_000);
      expect(fired).toHaveLength(3000);
      expect(fired.map(([, t]) => t)).toEqual(Array.from({ length: 3000 }, (_, i) => 7001 + i));
      expect(fired[0]).toEqual([2999, 7001]);
      await service.advanceWatermark(Number.POSITIVE_INFINITY);
      expect(fired).toHaveLength(5000);
      expect(service.queued.eventTime).toBe(0);
      expect(b.size('_timers')).toBe(0);
    } finally {
      await b.dispose();
    }
  });

  it('carries state TTL (the TTL layer over its ordinary handles): values, list elements and map values expire', async () => {
    const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes: 64 * 1024 });
    try {
      const clock = new ManualClock(1_000_000);
      const ttl = new TtlStates(b, clock.now);
      const config = StateTtlConfig.newBuilder(1000).build();
      const v = ttl.getState(valueState<number>('v', { ttl: config })) as unknown as ValueState<number>;
      const l = ttl.getState(listState<number>('l', { ttl: config })) as unknown as ListState<number>;
      const m = ttl.getState(mapState<string, number>('m', { ttl: config })) as unknown as MapState<string, number>;
      b.setCurrentKey('a');
      v.update(1);
      l.add(1);
      m.put('x', 1);
      clock.advance(600);
      l.add(2);
      m.put('y', 2);
      clock.advance(400);
      expect(v.value()).toBeUndefined();
      expect([...l.get()]).toEqual([2]);
      expect([...m.entries()]).toEqual([['y', 2]]);
      clock.advance(600);
      expect([...l.get()]).toEqual([]);
      expect(m.isEmpty()).toBe(true);
      for (const name of ['v', 'l', 'm']) expect(b.size(name)).toBe(0);
    } finally {
      await b.dispose();
    }
  });

  it('hands out binary values as copies, alone or inside an object', async () => {
    const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path });
    try {
      const bytes = b.getState(valueState<Uint8Array>('bytes'));
      const wrapped = b.getState(valueState<{ data: Uint8Array }>('wrapped'));
      b.setCurrentKey('k');
      bytes.update(Uint8Array.of(1, 2, 3));
      wrapped.update({ data: Uint8Array.of(4, 5) });
      bytes.value()![0] = 99;
      wrapped.value()!.data[0] = 99;
      expect([...bytes.value()!]).toEqual([1, 2, 3]);
      expect([...wrapped.value()!.data]).toEqual([4, 5]);
    } finally {
      await b.dispose();
    }
  });

  it('keeps its store in a fresh directory under localDir, removed by dispose', async () => {
    const b: EmbeddedKeyedStateBackend = createEmbeddedKeyedStateBackend(kind, {
      keyGroupRange: { start: 0, end: MAX_P - 1 },
      maxParallelism: MAX_P,
      localDir: dir.path,
      scope: 'job-1/op/0/attempt-0',
    });
    const other = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, scope: 'job-1/op/0/attempt-0' });
    const made = readdirSync(dir.path).filter((n) => n.startsWith(`tsflink-${kind}-job-1_op_0_attempt-0-`));
    expect(made).toHaveLength(2);
    b.setCurrentKey('k');
    b.getState(valueState<number>('v')).update(1);
    b.snapshot().release();
    await b.dispose();
    await other.dispose();
    for (const name of made) expect(existsSync(`${dir.path}/${name}`)).toBe(false);
  });

  it('dispose waits for a snapshot being written before it removes the store', async () => {
    const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path });
    b.setCurrentKey('k');
    b.getState(valueState<number>('v')).update(7);
    const snapshot = b.snapshot();
    await b.dispose();
    const all = await captured(snapshot);
    expect(Object.values(all).flat().map(([, v]) => v)).toEqual([7]);
    // Released: the removal runs now, and dispose (idempotent) resolves when it is done.
    await b.dispose();
    expect(readdirSync(dir.path).filter((n) => n.startsWith(`tsflink-${kind}-`))).toEqual([]);
  });
});
