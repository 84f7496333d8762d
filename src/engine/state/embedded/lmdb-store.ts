/**
 * The EmbeddedStore over LMDB (npm `lmdb`, lmdb-js). LMDB maps its file into memory and reads in
 * place, so synchronous gets are the fastest of the stores measured (DESIGN.md section 6); a read
 * transaction is a snapshot, which is all a snapshot needs. Its costs: one writer at a time, no
 * compression, and pages freed after a snapshot was taken are not reused until it is released.
 */
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { compareBytes } from '../../../format/canonical-key.ts';
import type { Database, Key, Transaction, open } from 'lmdb';
import {
  type BatchWriter,
  type EmbeddedStore,
  type StoreEntry,
  type StoreSnapshot,
  StoreClosedError,
  MAX_OPEN_SNAPSHOTS,
  StoreGuard,
  checkSnapshotCount,
  checkStoreKey,
} from './embedded-store.ts';
import { type LmdbSnapshotThread, type ThreadRead, lmdbSnapshotThread } from './lmdb-snapshot-thread.ts';

const FIRST_KEY = Uint8Array.of(0);

// lmdb is required when a store opens, not imported with this file: the state backends are in
// every job's module graph (flink run, flink info, each deployed job), and importing lmdb's ES
// modules cost ~30-45 ms there (about 20 files, a native addon) for jobs that never use it. Its
// `require` export is the same code, bundled (dist/index.cjs), and opens synchronously as before.
const require = createRequire(import.meta.url);

/** lmdb-js accepts read options on getBinary at run time; its typings omit the parameter. */
type GetBinaryWithOptions = (key: Key, options: { transaction: Transaction }) => Buffer | undefined;

/** Byte keys and values as they are: lmdb-js encodes nothing. */
type BinaryDatabase = Database<Uint8Array, Key>;

export async function openLmdbStore(directory: string): Promise<EmbeddedStore> {
  return openLmdbStoreSync(directory);
}

/** lmdb-js opens synchronously: a backend made synchronously can use the store at once. */
export function openLmdbStoreSync(directory: string): EmbeddedStore {
  const lmdb = require('lmdb') as { open: typeof open };
  const db: BinaryDatabase = lmdb.open<Uint8Array, Key>(lmdbOptions(directory));
  return new LmdbStore(directory, db);
}

/** How a store opens its environment, on the processing thread and on the snapshot thread alike. */
export function lmdbOptions(directory: string): Parameters<typeof open<Uint8Array, Key>>[0] {
  return {
    path: directory,
    keyEncoding: 'binary',
    encoding: 'binary',
    // A working copy rebuilt from checkpoints after a crash: flushing each commit buys nothing.
    noSync: true,
    // lmdb-js's object cache holds decoded values; ours are bytes the backend decodes itself.
    cache: false,
    compression: false,
    // A reader slot for each snapshot the contract allows, as many again for the snapshot
    // thread's reads of them (lmdb-snapshot-thread.ts), and a few for lmdb-js's own read
    // transactions (one per thread that reads).
    maxReaders: 2 * MAX_OPEN_SNAPSHOTS + 8,
  };
}

class LmdbStore implements EmbeddedStore {
  readonly kind = 'lmdb' as const;
  readonly #guard: StoreGuard;
  readonly #snapshots = new Set<LmdbSnapshot>();
  /**
   * Counts writes, each counted before it is made: the snapshot thread, which reads this store's
   * environment, checks against it that its read began before any write after the snapshot.
   */
  readonly #generation = new Int32Array(new SharedArrayBuffer(4));
  /** The snapshot thread this store is open in, and its id there. */
  #thread: { readonly thread: LmdbSnapshotThread; readonly id: number } | undefined;

  constructor(
    readonly directory: string,
    private readonly db: BinaryDatabase,
  ) {
    this.#guard = new StoreGuard(`the lmdb store in ${directory}`);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#guard.check();
    checkStoreKey(key);
    return this.db.getBinary(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#guard.check();
    checkStoreKey(key);
    Atomics.add(this.#generation, 0, 1);
    this.db.putSync(key, value);
  }

  delete(key: Uint8Array): void {
    this.#guard.check();
    checkStoreKey(key);
    Atomics.add(this.#generation, 0, 1);
    this.db.removeSync(key);
  }

  batch(fill: (writer: BatchWriter) => void): void {
    const db = this.db;
    let open = true;
    const writer: BatchWriter = {
      put(key, value) {
        if (!open) throw new StoreClosedError('a batch writer was used after its batch');
        checkStoreKey(key);
        db.putSync(key, value);
      },
      delete(key) {
        if (!open) throw new StoreClosedError('a batch writer was used after its batch');
        checkStoreKey(key);
        db.removeSync(key);
      },
    };
    // Inside transactionSync, putSync and removeSync join its one write transaction, which
    // commits when fill returns and aborts if it throws.
    try {
      Atomics.add(this.#generation, 0, 1);
      this.#guard.inBatch(() => db.transactionSync(() => fill(writer)));
    } finally {
      open = false;
    }
  }

  snapshot(): StoreSnapshot {
    this.#guard.check();
    checkSnapshotCount(this.#snapshots.size, `the lmdb store in ${this.directory}`);
    const snapshot = new LmdbSnapshot(this.db, this.db.useReadTransaction(), this.directory, this.#guard, (s) => this.#snapshots.delete(s));
    this.#snapshots.add(snapshot);
    return snapshot;
  }

  snapshotInThread(): ThreadRead | undefined {
    this.#guard.check();
    if (this.#thread === undefined) {
      const thread = lmdbSnapshotThread();
      this.#thread = { thread, id: thread.open(this.directory, this.#generation) };
    }
    return this.#thread.thread.begin(this.#thread.id, Atomics.load(this.#generation, 0));
  }

  async close(): Promise<void> {
    if (!this.#guard.close()) return;
    for (const snapshot of [...this.#snapshots]) snapshot.release();
    // The thread's reads end with its environment handle, before this one closes.
    await this.#thread?.thread.close(this.#thread.id);
    await this.db.close();
  }

  async destroy(): Promise<void> {
    await this.close();
    await rm(this.directory, { recursive: true, force: true });
  }
}

class LmdbSnapshot implements StoreSnapshot {
  #released = false;

  constructor(
    private readonly db: BinaryDatabase,
    private readonly txn: Transaction,
    private readonly directory: string,
    private readonly storeGuard: StoreGuard,
    private readonly onRelease: (s: LmdbSnapshot) => void,
  ) {}

  #check(): void {
    if (this.#released) throw new StoreClosedError(`a snapshot of the lmdb store in ${this.directory} was used after release`);
    // A released snapshot is the likelier bug; the store being closed releases them all anyway.
    if (this.storeGuard.closed) this.storeGuard.check();
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#check();
    checkStoreKey(key);
    return (this.db.getBinary as unknown as GetBinaryWithOptions).call(this.db, key, { transaction: this.txn });
  }

  *range(start: Uint8Array, end: Uint8Array): IterableIterator<StoreEntry> {
    this.#check();
    // As the rocksdb store does: every allowed key sorts at or after [0], the smallest non-empty key.
    if (start.length === 0) start = FIRST_KEY;
    if (compareBytes(start, end) >= 0) return;
    for (const { key, value } of this.db.getRange({ start, end, transaction: this.txn })) {
      // Checked per entry: a consumer may read on after a release, and lmdb-js would then read a
      // transaction that is gone.
      this.#check();
      yield [key as Uint8Array, value];
    }
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.txn.done();
    this.onRelease(this);
  }
}
