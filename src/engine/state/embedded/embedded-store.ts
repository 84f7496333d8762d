/**
 * The seam between an on-disk keyed state backend and the embedded key-value store under it
 * (LMDB or RocksDB): byte keys to byte values, read and written synchronously on the processing
 * thread, with snapshots that a checkpoint reads while processing goes on.
 *
 * Consistency contract (every implementation passes embedded-store.test.ts, which checks it):
 * - Keys are non-empty byte strings of at most MAX_STORE_KEY_BYTES (LMDB's limit, the lower of
 *   the two stores); values are any byte strings, empty ones included. Order is unsigned
 *   lexicographic byte order, a proper prefix first (compareBytes in src/format/canonical-key.ts).
 * - One writer: the thread that opened the store. `put`, `delete` and `batch` are applied before
 *   they return, and every later `get` or snapshot on that thread sees them (read your writes).
 * - `batch` is atomic: all of its puts and deletes are applied or, if `fill` throws, none. Inside
 *   `fill` only the writer may be used: the store itself throws, as its reads would see the
 *   batch on one store and not on the other.
 * - A snapshot is the store as of the moment `snapshot()` returned: writes after it, puts and
 *   deletes alike, are not seen by its `get` or `range`, however long it lives. It costs the store
 *   (LMDB cannot reuse pages, RocksDB keeps old versions), so release it as soon as it is read.
 *   At most MAX_OPEN_SNAPSHOTS are open at once; one more throws (each LMDB snapshot takes one of
 *   a fixed number of reader slots, 126 by default, past which LMDB fails with MDB_READERS_FULL).
 * - `range(start, end)` yields every entry with start <= key < end in ascending byte order, from
 *   the snapshot, synchronously; a consumer that must not block the thread reads it in chunks and
 *   yields between them. Entries, and every value `get` returns, are fresh copies that the caller
 *   owns and that later writes do not change.
 * - Durability: what was written before `close()` resolved is seen by the next open of the same
 *   directory. A crash may lose recent writes: the store is a working copy rebuilt from
 *   checkpoints, so neither store syncs to disk on each write.
 * - After `close()`, and after `release()` for a snapshot, every method throws StoreClosedError
 *   (the bindings would otherwise fail obscurely: @nxtedition/rocksdb crashes the process on a
 *   read after close). `close()` releases the snapshots still open; calling it again is a no-op.
 *   `destroy()` closes the store if needed and removes its directory.
 */
import { InternalError, UserError } from '../../../errors.ts';
import type { ThreadRead } from './lmdb-snapshot-thread.ts';

/** LMDB's default maximum key size; RocksDB has none, but the seam keeps one limit for both. */
export const MAX_STORE_KEY_BYTES = 1978;

/** Snapshots open at once on one store; the lmdb store reserves reader slots for them. */
export const MAX_OPEN_SNAPSHOTS = 256;

export type StoreEntry = readonly [key: Uint8Array, value: Uint8Array];

/** Collects the operations of one atomic batch, applied in the order given. */
export interface BatchWriter {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

/** A consistent, read-only view of the store as of one moment. */
export interface StoreSnapshot {
  get(key: Uint8Array): Uint8Array | undefined;
  /** Entries with start <= key < end, ascending. */
  range(start: Uint8Array, end: Uint8Array): IterableIterator<StoreEntry>;
  /** Frees what the snapshot holds; using it afterwards throws. Idempotent. */
  release(): void;
}

export interface EmbeddedStore {
  /** Which implementation: for messages and benchmarks. */
  readonly kind: 'lmdb' | 'rocksdb';
  /** The directory that holds the store's files and nothing else. */
  readonly directory: string;
  get(key: Uint8Array): Uint8Array | undefined;
  put(key: Uint8Array, value: Uint8Array): void;
  /** Removes the key; a key that is not there is no error. */
  delete(key: Uint8Array): void;
  /** Applies everything `fill` gives the writer as one atomic write. */
  batch(fill: (writer: BatchWriter) => void): void;
  snapshot(): StoreSnapshot;
  /**
   * Right after `snapshot()`, with no write between: the same snapshot read by another thread,
   * where the store has one (lmdb-snapshot-thread.ts), or undefined.
   */
  snapshotInThread?(): ThreadRead | undefined;
  close(): Promise<void>;
  /** Closes the store if it is open, then removes its directory and everything in it. */
  destroy(): Promise<void>;
}

/** Opens (creating if needed) the store kept in `directory`. */
export type OpenEmbeddedStore = (directory: string) => Promise<EmbeddedStore>;

/** Use of a store or snapshot after close or release: a bug in its caller. */
export class StoreClosedError extends InternalError {
  override readonly name: string = 'StoreClosedError';
}

/** Throws unless `key` is a key the contract allows. Cheap: it runs on every access. */
export function checkStoreKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > MAX_STORE_KEY_BYTES) {
    throw new UserError(
      key.length === 0
        ? 'an embedded store key may not be empty'
        : `an embedded store key is ${key.length} bytes, over the limit of ${MAX_STORE_KEY_BYTES} ` +
          '(the state key and map key together are too long: use a shorter key)',
    );
  }
}

/** Throws if a store with `open` snapshots open may not take another. */
export function checkSnapshotCount(open: number, what: string): void {
  if (open >= MAX_OPEN_SNAPSHOTS) {
    throw new InternalError(`${what} has ${open} snapshots open, the most allowed: one is not being released`);
  }
}

/** The state of a store's guard: open, closed, or inside a batch's `fill`. */
export class StoreGuard {
  #state: 'open' | 'batch' | 'closed' = 'open';

  constructor(private readonly what: string) {}

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Before every store method: throws unless the store is open and not inside `fill`. */
  check(): void {
    if (this.#state === 'open') return;
    throw this.#state === 'closed'
      ? new StoreClosedError(`${this.what} is closed`)
      : new InternalError(`${this.what} was used inside a batch's fill: only its writer may be`);
  }

  /** Runs `fn` with the store marked as inside a batch. */
  inBatch<T>(fn: () => T): T {
    this.check();
    this.#state = 'batch';
    try {
      return fn();
    } finally {
      // close() cannot run inside fn: it is guarded too.
      this.#state = 'open';
    }
  }

  /** Marks the store closed; false if it already was. */
  close(): boolean {
    if (this.#state === 'closed') return false;
    if (this.#state === 'batch') this.check();
    this.#state = 'closed';
    return true;
  }
}
