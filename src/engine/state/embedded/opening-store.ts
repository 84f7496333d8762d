/**
 * An EmbeddedStore usable at once whose real store is still opening: writes and reads go to a
 * MemoryStore (memory-store.ts) until the real one has opened, then its entries move over in one
 * batch and every later call goes to the real store. A working directory is fresh for each
 * attempt, so the real store is empty when it opens and the move loses nothing. Snapshots taken
 * before the move are copies and stay readable. If opening fails, every later call throws that
 * failure.
 */
import { rm } from 'node:fs/promises';
import type { BatchWriter, EmbeddedStore, StoreSnapshot } from './embedded-store.ts';
import { MemoryStore, latin1ToBytes } from './memory-store.ts';

export class OpeningStore implements EmbeddedStore {
  #current: EmbeddedStore;
  #failure: unknown;
  readonly #opened: Promise<EmbeddedStore | undefined>;

  constructor(
    readonly kind: 'lmdb' | 'rocksdb',
    readonly directory: string,
    opening: Promise<EmbeddedStore>,
  ) {
    const memory = new MemoryStore(kind, directory);
    this.#current = memory;
    this.#opened = opening.then(
      (real) => {
        try {
          real.batch((w) => {
            for (const [k, v] of memory.entries()) w.put(latin1ToBytes(k), v);
          });
          this.#current = real;
          return real;
        } catch (err) {
          this.#failure = err;
          return real;
        }
      },
      (err: unknown) => {
        this.#failure = err;
        return undefined;
      },
    );
  }

  /** Resolves once the real store is in use (or failed to open: then calls throw). */
  async ready(): Promise<void> {
    await this.#opened;
  }

  get #store(): EmbeddedStore {
    if (this.#failure !== undefined) throw this.#failure;
    return this.#current;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.#store.get(key);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.#store.put(key, value);
  }

  delete(key: Uint8Array): void {
    this.#store.delete(key);
  }

  batch(fill: (writer: BatchWriter) => void): void {
    this.#store.batch(fill);
  }

  snapshot(): StoreSnapshot {
    return this.#store.snapshot();
  }

  async close(): Promise<void> {
    const real = await this.#opened;
    await this.#current.close();
    await real?.close();
  }

  async destroy(): Promise<void> {
    const real = await this.#opened;
    await this.#current.destroy();
    await real?.destroy();
    await rm(this.directory, { recursive: true, force: true });
  }
}
