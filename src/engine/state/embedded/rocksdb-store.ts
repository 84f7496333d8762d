/**
 * The EmbeddedStore over RocksDB, through @nxtedition/rocksdb (RocksDB 9.7). It is an
 * abstract-level store whose public API is asynchronous; its synchronous paths are underscore
 * methods that this file alone uses, read from the package's source (12.2.12):
 * - reads: `_getManySync(keys)` (RocksDB MultiGet on the calling thread); no snapshot option.
 * - writes: a chained batch's `_put`/`_del`, `_writeSync()` (DB::Write, atomic), `_clear()`.
 * - iteration: an iterator (`db.iterator()`) makes its RocksDB iterator when created, so it reads
 *   an implicit snapshot of that moment; `_seekSync(target)` and `_nextvSync(n)` move and read it
 *   on the calling thread. The package exposes no explicit snapshot (no GetSnapshot).
 * So a snapshot here is one such iterator: its `get` seeks and reads one entry, its ranges seek
 * and read in growing batches, and when a get or another range moved the shared iterator, a range
 * seeks back to just after the last key it gave out before reading on.
 * Use after close must be stopped here: the binding dereferences a closed database and crashes
 * the process (seen: `_getManySync` after `close()` ended node with a segmentation fault).
 */
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { InternalError } from '../../../errors.ts';
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

// The package ships no typings: these are the parts of it used here, as its JavaScript has them.
interface RocksChainedBatch {
  _put(key: Uint8Array, value: Uint8Array, options: object): void;
  _del(key: Uint8Array, options: object): void;
  _writeSync(options: object): void;
  _clear(): void;
}
interface RocksIterator {
  _seekSync(target: Uint8Array): void;
  /** `rows` alternates key and value. */
  _nextvSync(size: number, options: object): { rows: Buffer[]; finished: boolean };
  _closeSync(): void;
}
interface RocksLevel {
  open(options: { createIfMissing: boolean }): Promise<void>;
  close(): Promise<void>;
  /** A value, or undefined when the key is absent (null only on a timeout, which is never set here). */
  _getManySync(keys: Uint8Array[], options: object): (Buffer | undefined | null)[];
  batch(): RocksChainedBatch;
  iterator(options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): RocksIterator;
}
interface RocksModule {
  RocksLevel: new (location: string, options: object) => RocksLevel;
}

const require = createRequire(import.meta.url);
const EMPTY = Object.freeze({});
/** The smallest key the contract allows: where an empty range start begins (seek refuses ''). */
const FIRST_KEY = Uint8Array.of(0);
const FIRST_BATCH = 16;
const MAX_BATCH = 1024;

export async function openRocksDbStore(directory: string): Promise<EmbeddedStore> {
  // Loaded on first use: the native library is needed only by jobs that choose this store.
  const { RocksLevel } = require('@nxtedition/rocksdb') as RocksModule;
  const db = new RocksLevel(directory, {});
  await db.open({ createIfMissing: true });
  return new RocksDbStore(directory, db);
}

class RocksDbStore implements EmbeddedStore {
  readonly kind = 'rocksdb' as const;
  readonly #guard: StoreGuard;
  readonly #snapshots = new Set<RocksDbSnapshot>();
  /** One native batch, cleared after each write: single puts and deletes are one-entry batches. */
  readonly #batch: RocksChainedBatch;
  readonly #oneKey: Uint8Array[] = [FIRST_KEY];

  constructor(
    readonly directory: string,
    private readonly db: RocksLevel,
  ) {
    this.#guard = new StoreGuard(`the rocksdb store in ${directory}`);
    this.#batch = db.batch();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#guard.check();
    checkStoreKey(key);
    this.#oneKey[0] = key;
    const value = this.db._getManySync(this.#oneKey, EMPTY)[0];
    if (value === null) throw new InternalError(`rocksdb in ${this.directory}: a read timed out or was aborted`);
    return value;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#guard.check();
    checkStoreKey(key);
    this.#writeOne((b) => b._put(key, value, EMPTY));
  }

  delete(key: Uint8Array): void {
    this.#guard.check();
    checkStoreKey(key);
    this.#writeOne((b) => b._del(key, EMPTY));
  }

  #writeOne(add: (b: RocksChainedBatch) => void): void {
    const batch = this.#batch;
    try {
      add(batch);
      batch._writeSync(EMPTY);
    } finally {
      batch._clear();
    }
  }

  batch(fill: (writer: BatchWriter) => void): void {
    // Before the try: after close the native batch is gone, and clearing it would fail obscurely.
    this.#guard.check();
    const batch = this.#batch;
    let open = true;
    const writer: BatchWriter = {
      put(key, value) {
        if (!open) throw new StoreClosedError('a batch writer was used after its batch');
        checkStoreKey(key);
        batch._put(key, value, EMPTY);
      },
      delete(key) {
        if (!open) throw new StoreClosedError('a batch writer was used after its batch');
        checkStoreKey(key);
        batch._del(key, EMPTY);
      },
    };
    try {
      this.#guard.inBatch(() => fill(writer));
      batch._writeSync(EMPTY);
    } finally {
      open = false;
      // On success the batch is written; on a throw from fill it is dropped unwritten.
      batch._clear();
    }
  }

  snapshot(): StoreSnapshot {
    this.#guard.check();
    checkSnapshotCount(this.#snapshots.size, `the rocksdb store in ${this.directory}`);
    const iterator = this.db.iterator({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const snapshot = new RocksDbSnapshot(iterator, this.directory, this.#guard, (s) => this.#snapshots.delete(s));
    this.#snapshots.add(snapshot);
    return snapshot;
  }

  async close(): Promise<void> {
    if (!this.#guard.close()) return;
    for (const snapshot of [...this.#snapshots]) snapshot.release();
    await this.db.close();
  }

  async destroy(): Promise<void> {
    await this.close();
    await rm(this.directory, { recursive: true, force: true });
  }
}

class RocksDbSnapshot implements StoreSnapshot {
  #released = false;
  /** Which range last positioned the iterator (null: a get, or nobody yet). */
  #cursorOwner: object | null = null;

  constructor(
    private readonly iterator: RocksIterator,
    private readonly directory: string,
    private readonly storeGuard: StoreGuard,
    private readonly onRelease: (s: RocksDbSnapshot) => void,
  ) {}

  #check(): void {
    if (this.#released) throw new StoreClosedError(`a snapshot of the rocksdb store in ${this.directory} was used after release`);
    if (this.storeGuard.closed) this.storeGuard.check();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#check();
    checkStoreKey(key);
    this.#cursorOwner = null;
    this.iterator._seekSync(key);
    const { rows } = this.iterator._nextvSync(1, EMPTY);
    const found = rows[0];
    return found !== undefined && compareBytes(found, key) === 0 ? rows[1] : undefined;
  }

  *range(start: Uint8Array, end: Uint8Array): IterableIterator<StoreEntry> {
    this.#check();
    if (start.length === 0) start = FIRST_KEY;
    if (compareBytes(start, end) >= 0) return;
    const owner = {};
    /** The last key given out: after another user moved the iterator, reading resumes past it. */
    let last: Uint8Array | undefined;
    // Small first: a range is often one key's few map entries, and each batch may overshoot `end`.
    let size = FIRST_BATCH;
    for (;;) {
      // Checked before every native call: the iterator is gone after a release or close.
      this.#check();
      if (this.#cursorOwner !== owner) {
        this.iterator._seekSync(last === undefined ? start : successor(last));
        this.#cursorOwner = owner;
      }
      const { rows, finished } = this.iterator._nextvSync(size, EMPTY);
      size = Math.min(size * 2, MAX_BATCH);
      for (let i = 0; i < rows.length; i += 2) {
        const key = rows[i]!;
        if (compareBytes(key, end) >= 0) return;
        last = key;
        yield [key, rows[i + 1]!];
      }
      if (finished) return;
    }
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.iterator._closeSync();
    this.onRelease(this);
  }
}

/** The smallest key after `key` in byte order: `key` followed by a zero byte. */
function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}
