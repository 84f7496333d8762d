/**
 * The store of one snapshot that is being taken. Subtasks write their data files into it
 * asynchronously, while records flow; when the coordinator aborts the snapshot (subsumed,
 * expired, declined, or the attempt ended) it closes the store, waits until every write still in
 * flight has settled, and only then deletes the directory. Without that wait a write that was
 * still running would land after the delete (a local store re-creates the directory), leaving
 * garbage, or even write after the job's result was reported.
 */
import { UserError } from '../../errors.ts';
import type { CopyHow, ObjectInfo, ObjectStore, ObjectWriter } from '../../storage/object-store.ts';

export class PendingSnapshotStore implements ObjectStore {
  readonly #inner: ObjectStore;
  /** Writers not yet closed or aborted, and publishes not yet done. */
  readonly #inflight = new Set<Promise<unknown>>();
  #closedBecause: string | undefined;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  get location(): string {
    return this.#inner.location;
  }

  describe(key: string): string {
    return this.#inner.describe(key);
  }

  localDirectory(): string | undefined {
    return this.#inner.localDirectory?.();
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.#inner.stat(key);
  }

  get(key: string): Promise<Uint8Array> {
    return this.#inner.get(key);
  }

  getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return this.#inner.getRange(key, offset, length);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.#inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }

  async createWriter(key: string): Promise<ObjectWriter> {
    this.#refuseIfClosed(key);
    let done!: () => void;
    const open = new Promise<void>((resolve) => (done = resolve));
    this.#inflight.add(open);
    void open.finally(() => this.#inflight.delete(open));
    let inner: ObjectWriter;
    try {
      inner = await this.#inner.createWriter(key);
    } catch (err) {
      done();
      throw err;
    }
    return new TrackedWriter(inner, done, () => this.#refuseIfClosed(key));
  }

  async copyFrom(source: ObjectStore, sourceKey: string, key: string): Promise<CopyHow | undefined> {
    this.#refuseIfClosed(key);
    if (this.#inner.copyFrom === undefined) return undefined;
    const work = this.#inner.copyFrom(source, sourceKey, key);
    this.#inflight.add(work);
    void work.then(
      () => this.#inflight.delete(work),
      () => this.#inflight.delete(work),
    );
    return work;
  }

  async publish(key: string, bytes: Uint8Array): Promise<void> {
    this.#refuseIfClosed(key);
    const work = this.#inner.publish(key, bytes);
    this.#inflight.add(work);
    void work.then(
      () => this.#inflight.delete(work),
      () => this.#inflight.delete(work),
    );
    return work;
  }

  /**
   * No new writes from now on (a write under way fails at its next chunk); resolves once every
   * writer has been closed or aborted and every publish has settled.
   */
  async close(reason: string): Promise<void> {
    this.#closedBecause ??= reason;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #refuseIfClosed(key: string): void {
    if (this.#closedBecause !== undefined) {
      throw new UserError(`${this.describe(key)}: not written, the snapshot was aborted (${this.#closedBecause})`);
    }
  }
}

/** A writer that counts as in flight until it is closed or aborted, and stops at its next chunk once the store is closed. */
class TrackedWriter implements ObjectWriter {
  #settled = false;

  constructor(
    private readonly inner: ObjectWriter,
    private readonly done: () => void,
    private readonly refuseIfClosed: () => void,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    await this.#abortIfClosed();
    return this.inner.write(chunk);
  }

  async close(): Promise<void> {
    await this.#abortIfClosed();
    try {
      await this.inner.close();
    } catch (err) {
      await this.abort().catch(() => undefined);
      throw err;
    }
    this.#settle();
  }

  async abort(): Promise<void> {
    if (this.#settled) return;
    try {
      await this.inner.abort();
    } finally {
      this.#settle();
    }
  }

  /**
   * The owner aborts after a failed write; doing it here too means that waiting for the store
   * never depends on that.
   */
  async #abortIfClosed(): Promise<void> {
    try {
      this.refuseIfClosed();
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  #settle(): void {
    this.#settled = true;
    this.done();
  }
}
