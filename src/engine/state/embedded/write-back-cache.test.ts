import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedStore } from './embedded-store.ts';
import { openLmdbStoreSync } from './lmdb-store.ts';
import { latin1ToBytes } from './memory-store.ts';
import { WriteBackCache } from './write-back-cache.ts';

const bytes = (n: number): Uint8Array => Uint8Array.of(n & 0x7f);
const key = (i: number): string => `\u0000\u0001k${i}`;
const stored = (store: EmbeddedStore, i: number): number[] | undefined => {
  const b = store.get(latin1ToBytes(key(i)));
  return b === undefined ? undefined : [...b];
};

async function untilDrained(cache: WriteBackCache): Promise<void> {
  while (cache.dirtyEntries > 0) await new Promise((r) => setImmediate(r));
}

describe('WriteBackCache across a freeze', () => {
  let dir: string;
  let store: EmbeddedStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsflink-wbc-'));
    store = openLmdbStoreSync(dir);
  });
  afterEach(async () => {
    await store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps few changes pending over a freeze: the snapshot gets them, the store does not, until a flush', () => {
    const cache = new WriteBackCache(store);
    for (let i = 0; i < 500; i++) cache.put(key(i), bytes(i));
    const [frozen, ...more] = cache.freeze();
    expect(more).toEqual([]);
    expect(frozen!.size).toBe(500);
    cache.drainInBackground();
    expect(cache.dirtyEntries).toBe(500);
    expect(stored(store, 3)).toBeUndefined();
    cache.put(key(3), bytes(99)); // after the barrier
    expect(frozen!.get(key(3))).toEqual(bytes(3)); // the snapshot's changes never change
    expect(cache.freeze()[0]!.get(key(3))).toEqual(bytes(99));
    cache.flush();
    expect(cache.dirtyEntries).toBe(0);
    expect(stored(store, 3)).toEqual([99]);
    expect(stored(store, 499)).toEqual([499 & 0x7f]);
  });

  it('hands more changes than it may carry to the background writes, which reach the store', async () => {
    const cache = new WriteBackCache(store, undefined, 100);
    for (let i = 0; i < 500; i++) cache.put(key(i), bytes(i));
    const [frozen] = cache.freeze();
    expect(frozen!.size).toBe(500);
    cache.put(key(3), bytes(99));
    cache.drainInBackground();
    expect(cache.dirtyEntries).toBe(501);
    while (cache.dirtyEntries > 1) await new Promise((r) => setImmediate(r));
    expect(stored(store, 499)).toEqual([499 & 0x7f]);
    // The write after the barrier is still pending, and newer than what the background wrote.
    expect(stored(store, 3)).toEqual([3]);
    cache.flush();
    expect(stored(store, 3)).toEqual([99]);
    await untilDrained(cache);
  });

  // The change recorder skips a key `put` says was written already in the interval
  // (StateContext.write): a key held over a freeze must not say so, or its next change would be missed.
  for (const recording of [false, true]) {
    it(`a key held over a freeze is not "written already" in the next interval (${recording ? 'with' : 'without'} the record of writes)`, () => {
      const cache = new WriteBackCache(store);
      if (recording) cache.recordWrites();
      expect(cache.put(key(1), bytes(1))).toBe(false);
      expect(cache.put(key(1), bytes(2))).toBe(true);
      cache.freeze();
      if (recording) cache.freezeWritten();
      expect(cache.put(key(1), bytes(3))).toBe(false);
      expect(cache.put(key(1), bytes(4))).toBe(true);
      expect(cache.delete(key(2))).toBe(false);
      cache.flush();
      expect(cache.put(key(1), bytes(5))).toBe(false);
      expect(cache.put(key(1), bytes(6))).toBe(true);
    });
  }

  it("records each key written in an interval with its latest value, also across the interval's flushes, and drops the record past its budget", () => {
    for (const capacity of [64 << 20, 48 << 10]) {
      const cache = new WriteBackCache(store, capacity);
      cache.recordWrites();
      // Key 1 is written before each of two flushes and not after; key 2 before the first only; key 3 after the last.
      cache.put(key(1), bytes(10));
      cache.put(key(2), bytes(20));
      cache.flush();
      cache.put(key(1), bytes(11));
      for (let i = 100; i < 200; i++) cache.put(key(i), bytes(i));
      cache.flush();
      cache.put(key(3), bytes(30));
      cache.freeze();
      const [record, ...older] = cache.freezeWritten();
      expect(older).toEqual([]);
      if (capacity > 1 << 20) {
        expect([1, 2, 3, 4, 150].map((i) => record!.get(key(i)))).toEqual([bytes(11), bytes(20), bytes(30), undefined, bytes(150)]);
      } else {
        // Budget: 48 KiB, the cache's capacity. The 102 entries flushed in the first interval (about 100 bytes each) are under it; 600 more in the next are past it.
        expect(record!.get(key(1))).toEqual(bytes(11));
        for (let i = 200; i < 800; i++) cache.put(key(i), bytes(i));
        cache.flush();
        cache.freeze();
        // The interval's record is gone, and with it every older one (a snapshot then reads the store).
        expect(cache.freezeWritten()).toEqual([]);
      }
    }
  });

  it('grows the pending limit past a hot set that flushes keep writing again, though the flushes are not fast', () => {
    // Every flush seems to take 15 ms: not fast enough to grow the limit, not slow enough to shrink it.
    let t = 0;
    const cache = new WriteBackCache(store, undefined, undefined, () => (t += 15));
    const hot = 6000; // more than the first limit
    expect(cache.pendingLimit).toBeLessThan(hot);
    let x = 1;
    const next = (): number => (x = (x * 48271) % 0x7fffffff) % hot;
    for (let i = 0; i < 100_000; i++) cache.put(key(next()), bytes(i));
    expect(cache.pendingLimit).toBeGreaterThan(hot);
    const flushes = cache.stats.flushes;
    for (let i = 0; i < 100_000; i++) cache.put(key(next()), bytes(i));
    expect(cache.stats.flushes).toBe(flushes);
  });

  it('shrinks the pending limit when flushes of new keys are slow', () => {
    let t = 0;
    const cache = new WriteBackCache(store, undefined, undefined, () => (t += 30)); // 30 ms a flush
    const first = cache.pendingLimit;
    for (let i = 0; i < first; i++) cache.put(key(i), bytes(i));
    expect(cache.stats.flushes).toBe(1);
    expect(cache.pendingLimit).toBe(first / 2);
  });

  it('shrinks the pending limit when flushes take more than 200 ms, coalescing or not', () => {
    let t = 0;
    const cache = new WriteBackCache(store, undefined, undefined, () => (t += 250)); // 250 ms a flush
    const first = cache.pendingLimit;
    let x = 1;
    for (let i = 0; cache.stats.flushes === 0; i++) cache.put(key((x = (x * 48271) % 0x7fffffff) % (first + 100)), bytes(i));
    expect(cache.pendingLimit).toBe(first / 2);
  });
});
