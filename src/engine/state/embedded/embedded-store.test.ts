/**
 * The EmbeddedStore contract (embedded-store.ts), run against every implementation, and a
 * property test that drives each store and a sorted in-memory model with the same random
 * operations and compares what they read.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../errors.ts';
import { compareBytes } from '../../../format/canonical-key.ts';
import { type EmbeddedStore, MAX_OPEN_SNAPSHOTS, MAX_STORE_KEY_BYTES, type OpenEmbeddedStore, type StoreSnapshot, StoreClosedError } from './embedded-store.ts';
import { openLmdbStore } from './lmdb-store.ts';
import { openRocksDbStore } from './rocksdb-store.ts';

const STORES: [string, OpenEmbeddedStore][] = [
  ['lmdb', openLmdbStore],
  ['rocksdb', openRocksDbStore],
];

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const s = (text: string): Uint8Array => new TextEncoder().encode(text);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
/** Entries as [hex key, hex value], for readable failures. */
const readable = (entries: Iterable<readonly [Uint8Array, Uint8Array]>): [string, string][] => [...entries].map(([k, v]) => [hex(k), hex(v)]);

describe.each(STORES)('EmbeddedStore contract: %s', (_name, openStore) => {
  let root: string;
  let count = 0;
  const open: EmbeddedStore[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsflink-store-test-'));
  });
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function fresh(): Promise<EmbeddedStore> {
    const store = await openStore(join(root, `store-${++count}`));
    open.push(store);
    return store;
  }

  it('gets what was put, overwrites, deletes, and keeps empty values', async () => {
    const store = await fresh();
    expect(store.get(s('a'))).toBeUndefined();
    store.put(s('a'), s('1'));
    expect(store.get(s('a'))).toEqual(Buffer.from('1'));
    store.put(s('a'), s('22'));
    expect(hex(store.get(s('a'))!)).toBe(hex(s('22')));
    store.put(s('e'), new Uint8Array(0));
    expect(store.get(s('e'))?.length).toBe(0);
    store.delete(s('a'));
    expect(store.get(s('a'))).toBeUndefined();
    store.delete(s('never-there'));
    expect(store.get(s('e'))).toBeDefined();
  });

  it('takes Uint8Array views, and hands out copies that later writes do not change', async () => {
    const store = await fresh();
    const backing = b(9, 1, 2, 3, 9);
    store.put(backing.subarray(1, 2), backing.subarray(2, 4));
    backing.fill(0);
    const value = store.get(b(1))!;
    expect(hex(value)).toBe('0203');
    value.fill(7);
    store.put(b(1), b(5));
    expect(hex(store.get(b(1))!)).toBe('05');
  });

  it('refuses empty keys and keys over the size limit', async () => {
    const store = await fresh();
    expect(() => store.put(new Uint8Array(0), b(1))).toThrow(UserError);
    expect(() => store.get(new Uint8Array(MAX_STORE_KEY_BYTES + 1))).toThrow(/over the limit of 1978/);
    const longest = new Uint8Array(MAX_STORE_KEY_BYTES).fill(3);
    store.put(longest, b(1));
    expect(store.get(longest)).toEqual(Buffer.from([1]));
  });

  it('applies a batch atomically, in order, and nothing of a batch whose fill throws', async () => {
    const store = await fresh();
    store.put(s('keep'), s('old'));
    store.put(s('gone'), s('x'));
    store.batch((w) => {
      w.put(s('a'), s('1'));
      w.put(s('b'), s('2'));
      w.delete(s('gone'));
      w.put(s('c'), s('3'));
      w.delete(s('c')); // later operations win
      w.delete(s('d'));
      w.put(s('d'), s('4'));
    });
    const snap = store.snapshot();
    expect(readable(snap.range(s('a'), s('z')))).toEqual(readable([[s('a'), s('1')], [s('b'), s('2')], [s('d'), s('4')], [s('keep'), s('old')]]));
    snap.release();
    expect(() =>
      store.batch((w) => {
        w.put(s('keep'), s('new'));
        w.put(s('x'), s('1'));
        throw new Error('fill failed');
      }),
    ).toThrow('fill failed');
    expect(hex(store.get(s('keep'))!)).toBe(hex(s('old')));
    expect(store.get(s('x'))).toBeUndefined();
    // The store is usable again after a failed batch.
    store.put(s('x'), s('2'));
    expect(hex(store.get(s('x'))!)).toBe(hex(s('2')));
  });

  it('forbids the store inside a batch, and the writer after it', async () => {
    const store = await fresh();
    let kept: Parameters<Parameters<EmbeddedStore['batch']>[0]>[0] | undefined;
    expect(() =>
      store.batch((w) => {
        kept = w;
        w.put(s('a'), s('1'));
        store.get(s('a'));
      }),
    ).toThrow(/inside a batch/);
    expect(store.get(s('a'))).toBeUndefined();
    expect(() => kept!.put(s('b'), s('1'))).toThrow(StoreClosedError);
  });

  it('iterates [start, end) in byte order, prefixes first', async () => {
    const store = await fresh();
    const keys = [b(0), b(0, 0), b(1), b(1, 0), b(1, 0xff), b(1, 0xff, 0xff), b(2), b(0x7f), b(0x80), b(0xff), b(0xff, 0xff)];
    store.batch((w) => {
      for (const key of [...keys].reverse()) w.put(key, key);
    });
    const snap = store.snapshot();
    const sorted = [...keys].sort(compareBytes).map(hex);
    expect([...snap.range(b(0), b(0xff, 0xff, 0xff))].map(([k]) => hex(k))).toEqual(sorted);
    expect([...snap.range(new Uint8Array(0), b(0xff, 0xff, 0xff))].map(([k]) => hex(k))).toEqual(sorted);
    expect([...snap.range(b(1), b(2))].map(([k]) => hex(k))).toEqual(['01', '0100', '01ff', '01ffff']);
    expect([...snap.range(b(1, 0), b(1, 0xff))].map(([k]) => hex(k))).toEqual(['0100']);
    expect([...snap.range(b(1, 1), b(1, 0xff, 0xff))].map(([k]) => hex(k))).toEqual(['01ff']);
    expect([...snap.range(b(2), b(2))]).toEqual([]);
    expect([...snap.range(b(3), b(2))]).toEqual([]);
    expect([...snap.range(b(0xff, 0xff, 0), b(0xff, 0xff, 1))]).toEqual([]);
    for (const [k, v] of snap.range(b(0), b(0xff, 0xff, 0xff))) expect(hex(v)).toBe(hex(k));
    snap.release();
  });

  it('reads ranges longer than one native batch, with gets and other ranges in between', async () => {
    const store = await fresh();
    const n = 3000;
    const key = (i: number): Uint8Array => b(i >> 8, i & 0xff);
    store.batch((w) => {
      for (let i = 0; i < n; i++) w.put(key(i), b(i & 0xff));
    });
    const snap = store.snapshot();
    const outer = snap.range(key(0), key(n));
    let seen = 0;
    for (const [k] of outer) {
      expect(hex(k)).toBe(hex(key(seen)));
      seen++;
      if (seen % 97 === 0) {
        expect(hex(snap.get(key(n - 1 - seen))!)).toBe(hex(b((n - 1 - seen) & 0xff)));
        expect([...snap.range(key(5), key(8))].map(([x]) => hex(x))).toEqual([5, 6, 7].map((i) => hex(key(i))));
      }
    }
    expect(seen).toBe(n);
    // Entries kept past the next step of the iterator still hold their own bytes.
    const kept = [...snap.range(key(0), key(n))];
    snap.release();
    expect(kept.map(([k, v]) => hex(k) + hex(v))).toEqual(Array.from({ length: n }, (_, i) => hex(key(i)) + hex(b(i & 0xff))));
  });

  it('isolates a snapshot from later puts, overwrites and deletes, until released', async () => {
    const store = await fresh();
    store.batch((w) => {
      w.put(s('a'), s('1'));
      w.put(s('b'), s('2'));
      w.put(s('c'), s('3'));
    });
    const before = store.snapshot();
    store.delete(s('a'));
    store.put(s('b'), s('changed'));
    store.put(s('bb'), s('new'));
    store.batch((w) => w.delete(s('c')));
    const after = store.snapshot();
    store.put(s('d'), s('4'));

    expect(hex(before.get(s('a'))!)).toBe(hex(s('1')));
    expect(hex(before.get(s('b'))!)).toBe(hex(s('2')));
    expect(before.get(s('bb'))).toBeUndefined();
    expect(readable(before.range(s('a'), s('z')))).toEqual(readable([[s('a'), s('1')], [s('b'), s('2')], [s('c'), s('3')]]));
    expect(readable(after.range(s('a'), s('z')))).toEqual(readable([[s('b'), s('changed')], [s('bb'), s('new')]]));
    expect(after.get(s('d'))).toBeUndefined();
    expect(store.get(s('a'))).toBeUndefined();

    before.release();
    before.release();
    expect(() => before.get(s('a'))).toThrow(StoreClosedError);
    expect(() => [...before.range(s('a'), s('z'))]).toThrow(StoreClosedError);
    expect(hex(after.get(s('b'))!)).toBe(hex(s('changed')));
    after.release();
  });

  it(`holds ${MAX_OPEN_SNAPSHOTS} snapshots of different moments at once, and refuses one more`, async () => {
    const store = await fresh();
    const snaps: StoreSnapshot[] = [];
    for (let i = 0; i < MAX_OPEN_SNAPSHOTS; i++) {
      store.put(b(1, i >> 8, i & 0xff), b(i & 0xff));
      snaps.push(store.snapshot());
    }
    expect(() => store.snapshot()).toThrow(/256 snapshots open/);
    expect([...snaps[0]!.range(b(1), b(2))]).toHaveLength(1);
    expect([...snaps[MAX_OPEN_SNAPSHOTS - 1]!.range(b(1), b(2))]).toHaveLength(MAX_OPEN_SNAPSHOTS);
    snaps.pop()!.release();
    snaps.push(store.snapshot());
    for (const snap of snaps) snap.release();
  });

  it('stops a range that is read on after its snapshot was released', async () => {
    const store = await fresh();
    store.batch((w) => {
      for (let i = 1; i < 100; i++) w.put(b(i), b(i));
    });
    const snap = store.snapshot();
    const it = snap.range(b(1), b(100));
    expect(it.next().done).toBe(false);
    snap.release();
    expect(() => {
      for (const _ of it) void _;
    }).toThrow(StoreClosedError);
  });

  it('sees after reopening what was written before close', async () => {
    const dir = join(root, `reopen-${++count}`);
    const first = await openStore(dir);
    first.put(s('a'), s('1'));
    first.batch((w) => {
      for (let i = 0; i < 500; i++) w.put(b(0x10, i >> 8, i & 0xff), b(i & 0xff));
    });
    first.delete(s('a'));
    first.put(s('z'), s('26'));
    await first.close();
    const second = await openStore(dir);
    open.push(second);
    expect(second.get(s('a'))).toBeUndefined();
    expect(hex(second.get(s('z'))!)).toBe(hex(s('26')));
    const snap = second.snapshot();
    expect([...snap.range(b(0x10), b(0x11))]).toHaveLength(500);
    snap.release();
  });

  it('fails clearly on every use after close, releasing open snapshots; close twice is fine', async () => {
    const store = await openStore(join(root, `closed-${++count}`));
    store.put(s('a'), s('1'));
    const snap = store.snapshot();
    const it = snap.range(s('a'), s('z'));
    await store.close();
    await store.close();
    expect(() => store.get(s('a'))).toThrow(StoreClosedError);
    expect(() => store.get(s('a'))).toThrow(/store in .* is closed/);
    expect(() => store.put(s('a'), s('2'))).toThrow(StoreClosedError);
    expect(() => store.delete(s('a'))).toThrow(StoreClosedError);
    expect(() => store.batch(() => undefined)).toThrow(StoreClosedError);
    expect(() => store.snapshot()).toThrow(StoreClosedError);
    expect(() => snap.get(s('a'))).toThrow(StoreClosedError);
    expect(() => it.next()).toThrow(StoreClosedError);
    snap.release();
  });

  it('removes its directory on destroy, open or already closed', async () => {
    const openDir = join(root, `destroy-${++count}`);
    const a = await openStore(openDir);
    a.put(s('a'), s('1'));
    expect(existsSync(openDir)).toBe(true);
    await a.destroy();
    expect(existsSync(openDir)).toBe(false);
    expect(() => a.get(s('a'))).toThrow(StoreClosedError);

    const closedDir = join(root, `destroy-${++count}`);
    const c = await openStore(closedDir);
    c.put(s('a'), s('1'));
    await c.close();
    await c.destroy();
    expect(existsSync(closedDir)).toBe(false);
  });

  // ---------------------------------------------------------------------------------------------
  // The store against a sorted in-memory model

  type Op =
    | { readonly kind: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
    | { readonly kind: 'delete'; readonly key: Uint8Array }
    | { readonly kind: 'batch'; readonly ops: readonly ({ readonly kind: 'put'; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly kind: 'delete'; readonly key: Uint8Array })[]; readonly fail: boolean }
    | { readonly kind: 'get'; readonly key: Uint8Array }
    | { readonly kind: 'snapshot' }
    | { readonly kind: 'read-snapshot'; readonly which: number; readonly start: Uint8Array; readonly end: Uint8Array; readonly release: boolean };

  // Few distinct bytes, so keys collide and prefix one another often.
  const keyArb = fc.array(fc.constantFrom(0, 1, 2, 0x7f, 0xff), { minLength: 1, maxLength: 4 }).map((a) => Uint8Array.from(a));
  const valueArb = fc.uint8Array({ maxLength: 6 });
  const writeArb = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key: keyArb, value: valueArb }),
    fc.record({ kind: fc.constant('delete' as const), key: keyArb }),
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: writeArb, weight: 6 },
    { arbitrary: fc.record({ kind: fc.constant('batch' as const), ops: fc.array(writeArb, { maxLength: 8 }), fail: fc.boolean() }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }), weight: 2 },
    { arbitrary: fc.constant({ kind: 'snapshot' as const }), weight: 1 },
    {
      arbitrary: fc.record({ kind: fc.constant('read-snapshot' as const), which: fc.nat(), start: fc.uint8Array({ maxLength: 3 }), end: fc.uint8Array({ minLength: 1, maxLength: 3 }), release: fc.boolean() }),
      weight: 2,
    },
  );

  type Model = Map<string, Uint8Array>;
  const modelRange = (model: Model, start: Uint8Array, end: Uint8Array): [string, string][] =>
    [...model.entries()]
      .map(([k, v]) => [Buffer.from(k, 'hex'), v] as const)
      .filter(([k]) => compareBytes(k, start) >= 0 && compareBytes(k, end) < 0)
      .sort(([x], [y]) => compareBytes(x, y))
      .map(([k, v]) => [hex(k), hex(v)]);

  it('reads as a sorted in-memory model does under random operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        const store = await fresh();
        const model: Model = new Map();
        const snapshots: { store: StoreSnapshot; model: Model }[] = [];
        for (const op of ops) {
          switch (op.kind) {
            case 'put':
              store.put(op.key, op.value);
              model.set(hex(op.key), op.value);
              break;
            case 'delete':
              store.delete(op.key);
              model.delete(hex(op.key));
              break;
            case 'batch': {
              const apply = (): void =>
                store.batch((w) => {
                  for (const o of op.ops) {
                    if (o.kind === 'put') w.put(o.key, o.value);
                    else w.delete(o.key);
                  }
                  if (op.fail) throw new Error('fill failed');
                });
              if (op.fail) {
                expect(apply).toThrow('fill failed');
              } else {
                apply();
                for (const o of op.ops) {
                  if (o.kind === 'put') model.set(hex(o.key), o.value);
                  else model.delete(hex(o.key));
                }
              }
              break;
            }
            case 'get': {
              const got = store.get(op.key);
              const want = model.get(hex(op.key));
              expect(got === undefined ? undefined : hex(got)).toBe(want === undefined ? undefined : hex(want));
              break;
            }
            case 'snapshot':
              snapshots.push({ store: store.snapshot(), model: new Map(model) });
              break;
            case 'read-snapshot': {
              if (snapshots.length === 0) break;
              const i = op.which % snapshots.length;
              const snap = snapshots[i]!;
              expect(readable(snap.store.range(op.start, op.end))).toEqual(modelRange(snap.model, op.start, op.end));
              for (const [k, v] of snap.model) expect(hex(snap.store.get(Buffer.from(k, 'hex'))!)).toBe(hex(v));
              if (op.release) {
                snap.store.release();
                snapshots.splice(i, 1);
              }
              break;
            }
          }
        }
        const final = store.snapshot();
        expect(readable(final.range(new Uint8Array(0), b(0xff, 0xff, 0xff, 0xff, 0xff)))).toEqual(modelRange(model, new Uint8Array(0), b(0xff, 0xff, 0xff, 0xff, 0xff)));
        final.release();
        for (const snap of snapshots) snap.store.release();
        await store.destroy();
      }),
      { numRuns: 40, seed: 11 },
    );
  });
});
