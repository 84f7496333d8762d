/**
 * The on-disk backend's key cursor (`keysFrom`, issue 11), which the TTL sweep runs on: bounded,
 * resumable, wrapping at the end of the key-group range, tolerant of changes between calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/temp-dir.ts';
import type { KeyPosition } from '../keyed-state-backend.ts';
import { listState, mapState, valueState } from '../state-descriptors.ts';
import { createEmbeddedKeyedStateBackend } from './create-embedded-backend.ts';
import { type EmbeddedKeyedStateBackend, SWEEP_ENTRIES_PER_KEY } from './embedded-keyed-state-backend.ts';

const MAX_P = 16;
const KINDS = ['lmdb', 'rocksdb'] as const;

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-keys-from-test-');
});
afterAll(async () => {
  await dir.remove();
});

function embedded(kind: (typeof KINDS)[number]): EmbeddedKeyedStateBackend {
  return createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes: 64 * 1024 });
}

describe.each(KINDS)('keysFrom on %s', (kind) => {
  /** A value state `v` of keys 0..19, a map state `m` with several user keys per key, and `o` in between. */
  function filled(b: EmbeddedKeyedStateBackend): void {
    const v = b.getState(valueState<number>('v'));
    const o = b.getState(valueState<number>('o'));
    const m = b.getState(mapState<string, number>('m'));
    for (let k = 0; k < 20; k++) {
      b.setCurrentKey(k);
      v.update(k);
      o.update(k);
      if (k % 2 === 0) for (const u of ['a', 'b', 'c', 'd']) m.put(u, k);
    }
    b.cache.flush(); // the cursor reads the store, not the write-back cache
  }

  /** Every key of `name`, in store order, through one call. */
  function order(b: EmbeddedKeyedStateBackend, name: string): unknown[] {
    return [...b.keysFrom(name, undefined, 1000).keys];
  }

  it('returns up to limit distinct keys and resumes after them, covering every key of the state once', async () => {
    const b = embedded(kind);
    try {
      filled(b);
      const all = order(b, 'v');
      expect([...all].sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const seen: unknown[] = [];
      let position: KeyPosition | undefined;
      for (let i = 0; i < 4; i++) {
        const page = b.keysFrom('v', position, 5);
        expect(page.keys).toHaveLength(5);
        seen.push(...page.keys);
        position = page.next;
      }
      expect(seen).toEqual(all);
      // A map's further entries under the same key are not returned again.
      const mapKeys = order(b, 'm');
      expect(mapKeys).toHaveLength(10);
      expect(new Set(mapKeys).size).toBe(10);
      expect(b.keysFrom('m', undefined, 3).keys).toEqual(mapKeys.slice(0, 3));
      expect(b.keysFrom('missing', undefined, 3)).toEqual({ keys: [], next: undefined });
    } finally {
      await b.dispose();
    }
  });

  it('with select, checks as many keys and returns those with a stored element it selects (list counts are not elements)', async () => {
    const b = embedded(kind);
    try {
      filled(b);
      const l = b.getState(listState<number>('l'));
      for (let k = 0; k < 20; k++) {
        b.setCurrentKey(k);
        l.addAll([100 + k, k % 3 === 0 ? -1 : 200]);
      }
      b.cache.flush();
      const all = order(b, 'v');
      const even = b.keysFrom('v', undefined, 5, (e) => (e as number) % 2 === 0);
      expect(even.keys).toEqual(all.slice(0, 5).filter((k) => (k as number) % 2 === 0));
      expect(b.keysFrom('v', even.next, 15).keys).toEqual(all.slice(5));
      expect(b.keysFrom('m', undefined, 1000, (e) => e === 4).keys).toEqual([4]);
      const negative = b.keysFrom('l', undefined, 1000, (e) => typeof e !== 'number' || e < 0).keys;
      expect([...negative].sort((x, y) => Number(x) - Number(y))).toEqual([0, 3, 6, 9, 12, 15, 18]);
      expect(b.keysFrom('l', undefined, 1000, (e) => e === 2).keys).toEqual([]); // each list's count is 2
    } finally {
      await b.dispose();
    }
  });

  it('wraps at the end of the key-group range, without repeating a key within a call', async () => {
    const b = embedded(kind);
    try {
      filled(b);
      const all = order(b, 'v');
      let position: KeyPosition | undefined;
      for (let i = 0; i < 3; i++) position = b.keysFrom('v', position, 6).next;
      const page = b.keysFrom('v', position, 6);
      expect(page.keys).toEqual([...all.slice(18), ...all.slice(0, 4)]);
      expect(b.keysFrom('v', page.next, 2).keys).toEqual(all.slice(4, 6));
      // More asked for than there are: each key once.
      expect(b.keysFrom('v', position, 50).keys).toEqual([...all.slice(18), ...all.slice(0, 18)]);
    } finally {
      await b.dispose();
    }
  });

  it('tolerates entries deleted and added between calls: the position is a store key', async () => {
    const b = embedded(kind);
    try {
      filled(b);
      const all = order(b, 'v');
      const first = b.keysFrom('v', undefined, 5);
      const v = b.getState(valueState<number>('v'));
      for (const k of all.slice(4, 10)) {
        b.setCurrentKey(k);
        v.clear(); // the last key returned and the five after it
      }
      b.cache.flush();
      expect(b.keysFrom('v', first.next, 5).keys).toEqual(all.slice(10, 15));
      b.setCurrentKey(all[5]);
      v.update(5);
      b.cache.flush();
      expect(b.keysFrom('v', first.next, 2).keys).toEqual([all[5], all[10]]);
    } finally {
      await b.dispose();
    }
  });

  it('looks at a bounded number of store entries per call, however sparse the state', async () => {
    const b = embedded(kind);
    try {
      filled(b);
      const sparse = b.getState(valueState<number>('sparse'));
      const all = order(b, 'v');
      b.setCurrentKey(all[19]); // the last key in store order
      sparse.update(1);
      b.cache.flush();
      // 20 keys of v and o and 40 map entries before it: more than one call may look at.
      expect(20 * 2 + 40).toBeGreaterThan(SWEEP_ENTRIES_PER_KEY);
      const page = b.keysFrom('sparse', undefined, 1);
      expect(page.keys).toEqual([]);
      expect(page.next).toBeDefined();
      let position = page.next;
      let found: unknown[] = [];
      for (let i = 0; i < 10 && found.length === 0; i++) {
        const next = b.keysFrom('sparse', position, 1);
        found = [...next.keys];
        position = next.next;
      }
      expect(found).toEqual([all[19]]);
    } finally {
      await b.dispose();
    }
  });
});

