/**
 * The background sweep of expired TTL state (issue 11): incremental cleanup removes expired
 * entries from the store on lmdb and rocksdb (through the backend's `keysFrom` cursor) as on the
 * heap, without the expired keys ever being read. On disk it runs when cleanupIncrementally is
 * asked for by name; Flink's default background cleanup sweeps only the heap.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../../../test/support/temp-dir.ts';
import { ManualClock } from '../../runtime/clock.ts';
import { HeapKeyedStateBackend } from '../heap-keyed-state-backend.ts';
import type { KeyedStateBackend, KeyedStateSnapshot } from '../keyed-state-backend.ts';
import type { ListState, MapState, ValueState } from '../keyed-state-handles.ts';
import { listState, mapState, valueState } from '../state-descriptors.ts';
import { StateTtlConfig } from './state-ttl-config.ts';
import { SWEEP_PAGE_KEYS, TtlStates } from './ttl-states.ts';
import { createEmbeddedKeyedStateBackend } from '../embedded/create-embedded-backend.ts';
import type { EmbeddedKeyedStateBackend } from '../embedded/embedded-keyed-state-backend.ts';

const MAX_P = 16;
const KINDS = ['lmdb', 'rocksdb'] as const;

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-ttl-sweep-test-');
});
afterAll(async () => {
  await dir.remove();
});

function embedded(kind: (typeof KINDS)[number]): EmbeddedKeyedStateBackend {
  return createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes: 64 * 1024 });
}

/** Keyed entries of every state in the snapshot, by state name. */
async function entriesIn(snapshot: KeyedStateSnapshot): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    for (let g = snapshot.keyGroupRange.start; g <= snapshot.keyGroupRange.end; g++) {
      for (const { info, keys } of await snapshot.takeKeyGroup(g)) out[info.name] = (out[info.name] ?? 0) + keys.length;
      snapshot.releaseKeyGroup(g);
    }
  } finally {
    snapshot.release();
  }
  return out;
}

type Backend = 'heap' | (typeof KINDS)[number];

function backendOf(kind: Backend): KeyedStateBackend {
  return kind === 'heap' ? new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, owner: 'op subtask 0' }) : embedded(kind);
}

describe.each(['heap', ...KINDS] as const)('the incremental TTL sweep on %s', (kind) => {
  const N = 60;

  it('removes expired entries from the store as other keys are accessed (cleanupIncrementally(5, false))', async () => {
    const b = backendOf(kind);
    try {
      const clock = new ManualClock(1_000_000);
      const ttl = new TtlStates(b, clock.now);
      const v = ttl.getState(valueState<number>('v', { ttl: StateTtlConfig.newBuilder(1000).cleanupIncrementally(5, false).build() })) as unknown as ValueState<number>;
      for (let k = 0; k < N; k++) {
        b.setCurrentKey(k);
        v.update(k);
      }
      expect(b.size('v')).toBe(N); // on disk: flushes the write-back cache into the store
      clock.advance(1000);
      b.setCurrentKey('someone else');
      // On disk a page of keys is read at most once per SWEEP_PAGE_KEYS / 5 steps, then 5 a step.
      for (let i = 0; i < Math.ceil(SWEEP_PAGE_KEYS / 5) + N / 5; i++) expect(v.value()).toBeUndefined();
      expect(b.size('v')).toBe(0);
    } finally {
      await b.dispose();
    }
  });

  it('with runCleanupForEveryRecord, sweeps list and map state per record: a snapshot holds nothing expired without cleanupFullSnapshot', async () => {
    const b = backendOf(kind);
    try {
      const clock = new ManualClock(1_000_000);
      const ttl = new TtlStates(b, clock.now);
      const config = StateTtlConfig.newBuilder(1000).cleanupIncrementally(4, true).build();
      const l = ttl.getState(listState<number>('l', { ttl: config })) as unknown as ListState<number>;
      const m = ttl.getState(mapState<string, number>('m', { ttl: config })) as unknown as MapState<string, number>;
      for (let k = 0; k < N; k++) {
        b.setCurrentKey(k);
        l.add(k);
        l.add(k + 1);
        m.put('x', k);
        m.put('y', k);
      }
      b.setCurrentKey(N - 1);
      clock.advance(500);
      l.add(-1); // the last key keeps a live element and a live user value
      m.put('z', -1);
      expect(b.size('l')).toBe(N);
      expect(b.size('m')).toBe(N);
      clock.advance(500);
      for (let i = 0; i < Math.ceil(SWEEP_PAGE_KEYS / 4) + N / 4; i++) ttl.onRecord();
      expect(await entriesIn(b.snapshot())).toEqual({ l: 1, m: 1 });
      expect(b.size('l')).toBe(1);
      b.setCurrentKey(N - 1);
      expect([...l.get()]).toEqual([-1]);
      expect([...m.entries()]).toEqual([['z', -1]]);
    } finally {
      await b.dispose();
    }
  });
});

describe.each(KINDS)('background cleanup by default on %s', (kind) => {
  it('does not sweep the store unless cleanupIncrementally is asked for by name (a store sweep reads the store), and still expires on access', async () => {
    const b = embedded(kind);
    try {
      const clock = new ManualClock(1_000_000);
      const ttl = new TtlStates(b, clock.now);
      const v = ttl.getState(valueState<number>('v', { ttl: StateTtlConfig.newBuilder(1000).build() })) as unknown as ValueState<number>;
      for (let k = 0; k < 3; k++) {
        b.setCurrentKey(k);
        v.update(k);
      }
      b.cache.flush();
      const reads = vi.spyOn(b, 'keysFrom');
      clock.advance(1000);
      b.setCurrentKey('someone else');
      for (let i = 0; i < 10 * SWEEP_PAGE_KEYS; i++) expect(v.value()).toBeUndefined();
      expect(reads).not.toHaveBeenCalled();
      expect(b.size('v')).toBe(3);
      b.setCurrentKey(1);
      expect(v.value()).toBeUndefined(); // expired on access
      expect(b.size('v')).toBe(2);
    } finally {
      await b.dispose();
    }
  });
});

describe.each(KINDS)('the pace of the sweep on %s', (kind) => {
  it('reads a page of keys at most once per SWEEP_PAGE_KEYS / cleanupSize steps, however small the state', async () => {
    const b = embedded(kind);
    try {
      const clock = new ManualClock(1_000_000);
      const ttl = new TtlStates(b, clock.now);
      const v = ttl.getState(valueState<number>('v', { ttl: StateTtlConfig.newBuilder(1000).cleanupIncrementally(5, false).build() })) as unknown as ValueState<number>;
      for (let k = 0; k < 3; k++) {
        b.setCurrentKey(k);
        v.update(k);
      }
      b.cache.flush();
      const reads = vi.spyOn(b, 'keysFrom');
      const steps = 10 * Math.ceil(SWEEP_PAGE_KEYS / 5);
      for (let i = 0; i < steps; i++) expect(v.value()).toBe(2);
      expect(reads).toHaveBeenCalledTimes(10);
      // Nothing has expired: no key comes back to be read through the handles.
      for (const call of reads.mock.results) expect((call.value as { keys: unknown[] }).keys).toEqual([]);
      clock.advance(1000);
      reads.mockClear();
      for (let i = 0; i < Math.ceil(SWEEP_PAGE_KEYS / 5); i++) expect(v.value()).toBeUndefined();
      expect(reads).toHaveBeenCalledTimes(1);
      expect(b.size('v')).toBe(0);
    } finally {
      await b.dispose();
    }
  });
});
