/**
 * `npm run bench -- stores`: the embedded stores (src/engine/state/embedded) on their own, each
 * operation beside a bare `Map` doing the same work in the same run, as a ratio store / Map.
 *
 * For each store, with K keys (BENCH_STORE_KEYS, default 100k) laid out as state keys
 * (key group | canonical key `k<i>` | state 0, state-keys.ts) and 4-byte counters as values,
 * preloaded before timing:
 * 1. get + put: for i < OPS { k = key(fmix32(i) mod K); put(k, get(k) + 1) }, one synchronous call
 *    each (the raw per-record loop an on-disk backend without a cache would run); the Map does
 *    map.set(k, map.get(k) + 1) over the same keys (strings) in the same order.
 * 2. batched writes: all K keys, shuffled, in atomic batches of 1000; the Map sets all K in the
 *    same order.
 * 3. full iteration: a snapshot taken, every entry read in key order, released; the Map iterates
 *    its entries.
 * Keys are made before timing, for the stores and the Map alike.
 *
 * BENCH_STORES_LARGE=1 adds a round at BENCH_STORE_KEYS_LARGE keys (default 1M), with
 * BENCH_STORE_OPS_LARGE get+put operations (default 200k: at ~20k/s for RocksDB a pass over 1M
 * keys would take a minute per run). Also BENCH_STORE_OPS (default K), BENCH_REPS (default 5),
 * BENCH_STORES (comma-separated: lmdb,rocksdb).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddedStore, OpenEmbeddedStore } from '../src/engine/state/embedded/embedded-store.ts';
import { openLmdbStore } from '../src/engine/state/embedded/lmdb-store.ts';
import { openRocksDbStore } from '../src/engine/state/embedded/rocksdb-store.ts';
import { keyGroupsRange, stateKey } from '../src/engine/state/embedded/state-keys.ts';
import { encodeCanonicalKey } from '../src/format/canonical-key.ts';
import { keyGroupForBytes } from '../src/format/key-groups.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { type Range, bold, count, duration, interleave, num, range, ratios, table } from './stats.ts';

export const STORES: Readonly<Record<string, OpenEmbeddedStore>> = { lmdb: openLmdbStore, rocksdb: openRocksDbStore };
const MAX_PARALLELISM = 128;
const BATCH = 1000;

function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a whole number >= 1, got '${raw}'`);
  return n;
}

/** The keys of one round, made once: strings for the Map, state keys for the stores. */
export interface Keys {
  readonly strings: string[];
  readonly bytes: Uint8Array[];
  /** Key indexes in the scattered access order of the get+put loop (keys may repeat). */
  readonly order: Uint32Array;
  /** Every key index once, shuffled: the order of the batched writes. */
  readonly shuffled: Uint32Array;
}

export function makeKeys(keyCount: number, ops: number): Keys {
  const strings: string[] = [];
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < keyCount; i++) {
    const name = `k${i}`;
    const canonical = encodeCanonicalKey(name);
    strings.push(name);
    bytes.push(stateKey(keyGroupForBytes(canonical, MAX_PARALLELISM), canonical, 0));
  }
  const order = new Uint32Array(ops);
  for (let i = 0; i < ops; i++) order[i] = fmix32(i) % keyCount;
  const shuffled = new Uint32Array(keyCount);
  for (let i = 0; i < keyCount; i++) shuffled[i] = i;
  for (let i = keyCount - 1; i > 0; i--) {
    const j = fmix32(i ^ 0x5bd1e995) % (i + 1);
    const t = shuffled[i]!;
    shuffled[i] = shuffled[j]!;
    shuffled[j] = t;
  }
  return { strings, bytes, order, shuffled };
}

function counter(n: number): Uint8Array {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, n);
  return value;
}

function readCounter(value: Uint8Array | undefined): number {
  return value === undefined ? 0 : new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
}

// ---------------------------------------------------------------------------------------------
// The store's side

export function storeGetPut(store: EmbeddedStore, keys: Keys): number {
  const { bytes, order } = keys;
  const start = performance.now();
  for (let i = 0; i < order.length; i++) {
    const key = bytes[order[i]!]!;
    store.put(key, counter(readCounter(store.get(key)) + 1));
  }
  return (performance.now() - start) / 1000;
}

export function storeBatches(store: EmbeddedStore, keys: Keys, value: number): number {
  const { bytes, shuffled } = keys;
  const n = bytes.length;
  const encoded = counter(value);
  const start = performance.now();
  for (let from = 0; from < n; from += BATCH) {
    store.batch((w) => {
      for (let i = from; i < Math.min(from + BATCH, n); i++) w.put(bytes[shuffled[i]!]!, encoded);
    });
  }
  return (performance.now() - start) / 1000;
}

function storeIterate(store: EmbeddedStore, expected: number): number {
  const all = keyGroupsRange(0, MAX_PARALLELISM - 1);
  const start = performance.now();
  const snapshot = store.snapshot();
  let entries = 0;
  let sum = 0;
  for (const [, value] of snapshot.range(all.start, all.end)) {
    entries++;
    sum += value.length;
  }
  snapshot.release();
  const seconds = (performance.now() - start) / 1000;
  if (entries !== expected || sum !== 4 * expected) throw new Error(`iteration read ${entries} entries, expected ${expected}`);
  return seconds;
}

// ---------------------------------------------------------------------------------------------
// The Map's side

function mapGetSet(map: Map<string, number>, keys: Keys): number {
  const { strings, order } = keys;
  const start = performance.now();
  for (let i = 0; i < order.length; i++) {
    const key = strings[order[i]!]!;
    map.set(key, (map.get(key) ?? 0) + 1);
  }
  return (performance.now() - start) / 1000;
}

function mapSets(map: Map<string, number>, keys: Keys, value: number): number {
  const { strings, shuffled } = keys;
  const n = strings.length;
  const start = performance.now();
  for (let i = 0; i < n; i++) map.set(strings[shuffled[i]!]!, value);
  return (performance.now() - start) / 1000;
}

function mapIterate(map: Map<string, number>, expected: number): number {
  const start = performance.now();
  let entries = 0;
  let sum = 0;
  for (const [, value] of map) {
    entries++;
    sum += value;
  }
  const seconds = (performance.now() - start) / 1000;
  if (entries !== expected || Number.isNaN(sum)) throw new Error(`map iteration read ${entries} entries, expected ${expected}`);
  return seconds;
}

// ---------------------------------------------------------------------------------------------

interface Row {
  readonly store: string;
  readonly keys: number;
  readonly operation: string;
  readonly ops: number;
  readonly store_: readonly number[];
  readonly map: readonly number[];
}

async function measure(name: string, open: OpenEmbeddedStore, root: string, keyCount: number, ops: number, reps: number): Promise<Row[]> {
  const keys = makeKeys(keyCount, ops);
  const store = await open(join(root, `${name}-${keyCount}`));
  try {
    const map = new Map<string, number>();
    // Preload both (not timed), so every get finds its key, as in a job's steady state.
    storeBatches(store, keys, 0);
    mapSets(map, keys, 0);
    let round = 0;
    const samples = await interleave(
      {
        storeGetPut: async () => storeGetPut(store, keys),
        mapGetSet: async () => mapGetSet(map, keys),
        storeBatches: async () => storeBatches(store, keys, ++round),
        mapSets: async () => mapSets(map, keys, round),
        storeIterate: async () => storeIterate(store, keyCount),
        mapIterate: async () => mapIterate(map, keyCount),
      },
      {
        reps,
        warmup: 1,
        progress: (r) => {
          if (process.stderr.isTTY) process.stderr.write(`\r${name} at ${count(keyCount)} keys: run ${r + 1}/${reps}   ${r === reps - 1 ? '\r\x1b[K' : ''}`);
        },
      },
    );
    return [
      { store: name, keys: keyCount, operation: 'get + put (sync, one each)', ops, store_: samples.storeGetPut, map: samples.mapGetSet },
      { store: name, keys: keyCount, operation: `batched writes (${BATCH} a batch)`, ops: keyCount, store_: samples.storeBatches, map: samples.mapSets },
      { store: name, keys: keyCount, operation: 'full iteration of a snapshot', ops: keyCount, store_: samples.storeIterate, map: samples.mapIterate },
    ];
  } finally {
    await store.destroy();
  }
}

function rate(ops: number, seconds: readonly number[]): string {
  const r: Range = range(seconds.map((s) => ops / s));
  return `${count(r.median)}/s (${count(r.min)}-${count(r.max)})`;
}

export async function run(): Promise<void> {
  const reps = positiveIntFromEnv('BENCH_REPS', 5);
  const keyCount = positiveIntFromEnv('BENCH_STORE_KEYS', 100_000);
  const ops = positiveIntFromEnv('BENCH_STORE_OPS', keyCount);
  const large = process.env.BENCH_STORES_LARGE === '1';
  const keysLarge = positiveIntFromEnv('BENCH_STORE_KEYS_LARGE', 1_000_000);
  const opsLarge = positiveIntFromEnv('BENCH_STORE_OPS_LARGE', 200_000);
  const names = (process.env.BENCH_STORES ?? Object.keys(STORES).join(',')).split(',').filter((n) => n !== '');
  for (const n of names) if (!Object.hasOwn(STORES, n)) throw new Error(`BENCH_STORES: unknown store '${n}' (known: ${Object.keys(STORES).join(', ')})`);

  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-stores-'));
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  try {
    const rows: Row[] = [];
    for (const name of names) rows.push(...(await measure(name, STORES[name]!, root, keyCount, ops, reps)));
    if (large) for (const name of names) rows.push(...(await measure(name, STORES[name]!, root, keysLarge, opsLarge, reps)));

    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      bold('stores benchmark: the embedded stores against a bare Map doing the same work in the same run'),
      `node ${process.version}, ${process.platform} ${process.arch}, ${cpus().length} x ${cpu}; temp dir ${root}`,
      `keys: state keys (key group | canonical 'k<i>' | state 0, ~10 bytes), values 4-byte counters; the Map uses the strings 'k<i>' and numbers; ` +
        `${reps} runs after a warm-up, cases interleaved, GC before each; median (min-max); ratio = store rate / Map rate, per round`,
      '',
      table([
        ['store', 'keys', 'operation', 'ops a run', 'store', 'Map', 'store / Map'],
        ...rows.map((r) => {
          const ratio = range(ratios(r.map, r.store_));
          return [r.store, count(r.keys), r.operation, count(r.ops), rate(r.ops, r.store_), rate(r.ops, r.map), `${num(ratio.median)} (${num(ratio.min)}-${num(ratio.max)})`];
        }),
      ]),
      '',
      large ? '' : `(BENCH_STORES_LARGE=1 adds ${count(keysLarge)} keys with ${count(opsLarge)} get+put operations a run)`,
      `load average (1 min) ${num(loadBefore)} at the start, ${num(loadavg()[0]!)} at the end, on ${cpus().length} cores`,
      `total benchmark time ${duration((performance.now() - started) / 1000)}`,
    ];
    process.stdout.write(lines.filter((l, i) => l !== '' || i < lines.length - 3).join('\n') + '\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
