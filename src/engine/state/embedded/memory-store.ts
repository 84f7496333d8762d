/**
 * An EmbeddedStore held in a JS Map, for the moments before an on-disk store has opened:
 * @nxtedition/rocksdb opens only asynchronously (its `db_open` runs on the libuv pool and calls
 * back), while a KeyedStateBackend is made synchronously and used at once. A fresh working
 * directory is empty, so until the real store is open every write can go here and be moved over
 * in one batch when it is (opening-store.ts). Snapshots copy the Map and ranges sort the keys
 * they read: O(entries) each, which is fine for the few entries of those first milliseconds and
 * for tests, and why this is never a store of its own.
 */
import { compareBytes } from '../../../format/canonical-key.ts';
import {
  type BatchWriter,
  type EmbeddedStore,
  type StoreEntry,
  type StoreSnapshot,
  StoreClosedError,
  StoreGuard,
  checkSnapshotCount,
  checkStoreKey,
} from './embedded-store.ts';

/** Byte strings as latin1 strings (one char per byte): Map keys that compare as the bytes do. */
export function bytesToLatin1(bytes: Uint8Array): string {
  // fromCharCode.apply is the fastest for short keys but passes every byte as an argument.
  if (bytes.length <= 64) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Bytes `start` to `end` of `bytes` as a latin1 string, without making a view first: the stores
 * hand out Buffers, whose `subarray` costs more than reading the bytes (most of a snapshot's
 * time per entry, measured).
 */
export function latin1Between(bytes: Uint8Array, start: number, end: number): string {
  if (Buffer.isBuffer(bytes)) return bytes.toString('latin1', start, end);
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

/**
 * A plain Uint8Array, not a Buffer: Buffer's `slice` is a view, and code written for
 * Uint8Array (prefixEnd) relies on `slice` copying.
 */
export function latin1ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A copy that owns its bytes (a Buffer's `slice` would be a view). */
function copyOf<B extends Uint8Array | undefined>(bytes: B): B {
  return (bytes === undefined ? undefined : Uint8Array.prototype.slice.call(bytes)) as B;
}

export class MemoryStore implements EmbeddedStore {
  readonly #entries = new Map<string, Uint8Array>();
  readonly #guard: StoreGuard;
  readonly #snapshots = new Set<MemorySnapshot>();

  constructor(
    readonly kind: 'lmdb' | 'rocksdb',
    readonly directory: string,
  ) {
    this.#guard = new StoreGuard(`the in-memory stand-in for the ${kind} store in ${directory}`);
  }

  /** Every entry, in no particular order: what moves to the real store once it is open. */
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.#entries.entries();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#guard.check();
    checkStoreKey(key);
    return copyOf(this.#entries.get(bytesToLatin1(key)));
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#guard.check();
    checkStoreKey(key);
    this.#entries.set(bytesToLatin1(key), copyOf(value));
  }

  delete(key: Uint8Array): void {
    this.#guard.check();
    checkStoreKey(key);
    this.#entries.delete(bytesToLatin1(key));
  }

  batch(fill: (writer: BatchWriter) => void): void {
    const ops: [string, Uint8Array | undefined][] = [];
    let open = true;
    const writer: BatchWriter = {
      put(key, value) {
        if (!open) throw new StoreClosedError('a batch writer was used after its batch');
        checkStoreKey(key);
        ops.push([bytesToLatin1(key), copyOf(value)]);
      },
      delete(key) {
        if (!open) throw new StoreClosedError('a batch writer was used after its batch');
        checkStoreKey(key);
        ops.push([bytesToLatin1(key), undefined]);
      },
    };
    try {
      this.#guard.inBatch(() => fill(writer));
    } finally {
      open = false;
    }
    for (const [k, v] of ops) {
      if (v === undefined) this.#entries.delete(k);
      else this.#entries.set(k, v);
    }
  }

  snapshot(): StoreSnapshot {
    this.#guard.check();
    checkSnapshotCount(this.#snapshots.size, 'an in-memory store');
    const snapshot = new MemorySnapshot(new Map(this.#entries), (s) => this.#snapshots.delete(s));
    this.#snapshots.add(snapshot);
    return snapshot;
  }

  async close(): Promise<void> {
    if (!this.#guard.close()) return;
    for (const s of [...this.#snapshots]) s.release();
  }

  async destroy(): Promise<void> {
    await this.close();
    this.#entries.clear();
  }
}

class MemorySnapshot implements StoreSnapshot {
  #released = false;

  constructor(
    private readonly entries: Map<string, Uint8Array>,
    private readonly onRelease: (s: MemorySnapshot) => void,
  ) {}

  #check(): void {
    if (this.#released) throw new StoreClosedError('a snapshot of an in-memory store was used after release');
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#check();
    checkStoreKey(key);
    return copyOf(this.entries.get(bytesToLatin1(key)));
  }

  *range(start: Uint8Array, end: Uint8Array): IterableIterator<StoreEntry> {
    this.#check();
    if (compareBytes(start, end) >= 0) return;
    const from = bytesToLatin1(start);
    const to = bytesToLatin1(end);
    // Latin1 strings compare char by char, each char one byte: byte order.
    const keys = [...this.entries.keys()].filter((k) => k >= from && k < to).sort();
    for (const k of keys) {
      this.#check();
      yield [latin1ToBytes(k), copyOf(this.entries.get(k)!)];
    }
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease(this);
  }
}
