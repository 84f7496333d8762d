/**
 * The lmdb snapshot thread: one worker thread per processing thread (started by the first store
 * snapshot that asks for it), which opens the environments of that thread's lmdb stores and reads
 * key groups of their snapshots there. LMDB lets another thread read the same environment, each
 * read transaction a snapshot of its own; a checkpoint's key groups rewritten whole are read,
 * assembled and encoded there, and only their frames come back (as Flink's asynchronous snapshot
 * part runs on other threads). What it saved: see ARCHITECTURE.md, "the lmdb snapshot thread".
 *
 * Nothing ever waits for the thread. A store snapshot asks it to begin a read as of the moment it
 * was taken (`begin`); the thread can only do so while the store has not been written since, which
 * it checks against the store's write counter. If it could not, or is not started yet, or failed,
 * the snapshot is read on the processing thread as before.
 */
import { Worker } from 'node:worker_threads';
import { InternalError, UserError } from '../../../errors.ts';
import type { EncodedKeyGroup } from '../keyed-state-backend.ts';
import type { FromSnapshotThread, PackedStateRef, ToSnapshotThread } from './lmdb-snapshot-protocol.ts';
import { overlayTransferList, packOverlay } from './overlay-transfer.ts';

const ENTRY = new URL('../../../../bin/tsflink-lmdb-snapshot.js', import.meta.url);

/** A store snapshot's read in the thread. */
export interface ThreadRead {
  /** True once the thread's read began as of the snapshot; false: read on the processing thread. */
  readonly begun: Promise<boolean>;
  readKeyGroup(request: { keyGroup: number; maxParallelism: number; overlay: readonly (readonly [string, Uint8Array | null])[]; states: readonly PackedStateRef[]; frameLimit: number }): Promise<EncodedKeyGroup>;
  release(): void;
}

class LmdbSnapshotThread {
  readonly #worker: Worker;
  #ready = false;
  #failed: Error | undefined;
  #onReady: ((ready: boolean) => void) | undefined;
  /** True once the thread has started, false if it failed first: for tests, which must not race its start. */
  readonly whenReady = new Promise<boolean>((resolve) => (this.#onReady = resolve));
  #nextId = 1;
  readonly #begun = new Map<number, (ok: boolean) => void>();
  readonly #requests = new Map<number, { resolve: (m: FromSnapshotThread) => void; reject: (e: Error) => void }>();

  constructor() {
    this.#worker = new Worker(ENTRY);
    this.#worker.unref();
    this.#worker.on('message', (m: FromSnapshotThread) => this.#receive(m));
    this.#worker.on('error', (err) => this.#fail(err));
    this.#worker.on('exit', (code) => this.#fail(new InternalError(`the lmdb snapshot thread exited with code ${code}`)));
  }

  /** Registers a store: the thread opens its environment. Returns its id for `begin`. */
  open(directory: string, generation: Int32Array): number {
    const store = this.#nextId++;
    this.#post({ type: 'open', store, directory, generation });
    return store;
  }

  async close(store: number): Promise<void> {
    if (this.#failed !== undefined) return;
    // A thread that failed has no environment open any more.
    await this.#request({ type: 'close', store, request: this.#nextId++ }).catch(() => undefined);
  }

  /** A read of `store` as of now (its write counter reads `generation`), or undefined when the thread is not ready. */
  begin(store: number, generation: number): ThreadRead | undefined {
    if (!this.#ready || this.#failed !== undefined) return undefined;
    const read = this.#nextId++;
    const begun = new Promise<boolean>((resolve) => this.#begun.set(read, resolve));
    this.#post({ type: 'begin', store, read, generation });
    let released = false;
    return {
      begun,
      readKeyGroup: async (request) => {
        const overlay = packOverlay(request.overlay);
        const reply = await this.#request({ type: 'keyGroup', request: this.#nextId++, read, ...request, overlay }, overlayTransferList(overlay));
        if (reply.type !== 'frames') throw new InternalError(`the lmdb snapshot thread answered ${reply.type} to a key group`);
        const bytes = reply.bytes;
        return {
          states: reply.states.map((frames) => frames.map(([count, start, length]) => ({ count, payload: bytes.subarray(start, start + length) }))),
          entries: reply.entries,
          frameLimit: reply.frameLimit,
        };
      },
      release: () => {
        if (released) return;
        released = true;
        if (this.#failed === undefined) this.#post({ type: 'release', read });
      },
    };
  }

  #post(message: ToSnapshotThread, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #request(message: ToSnapshotThread & { request: number }, transfer: ArrayBuffer[] = []): Promise<FromSnapshotThread> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    // Held open while a reply is awaited: the thread is otherwise no reason for the process to live.
    if (this.#requests.size === 0) this.#worker.ref();
    const reply = new Promise<FromSnapshotThread>((resolve, reject) => this.#requests.set(message.request, { resolve, reject }));
    this.#post(message, transfer);
    return reply;
  }

  #receive(message: FromSnapshotThread): void {
    switch (message.type) {
      case 'ready':
        // Again: an unref() before the thread is up does not hold (a process that made no request since did not exit).
        if (this.#requests.size === 0) this.#worker.unref();
        this.#ready = true;
        this.#onReady?.(true);
        return;
      case 'begun':
        this.#begun.get(message.read)?.(message.ok);
        this.#begun.delete(message.read);
        return;
      default: {
        const waiting = this.#requests.get(message.request);
        this.#requests.delete(message.request);
        if (this.#requests.size === 0) this.#worker.unref();
        if (waiting === undefined) return;
        if (message.type === 'failed') waiting.reject(message.user ? new UserError(message.message) : new InternalError(`the lmdb snapshot thread: ${message.message}`));
        else waiting.resolve(message);
      }
    }
  }

  #fail(err: Error): void {
    if (this.#failed !== undefined) return;
    // Not started again: a thread that cannot start would otherwise be started at every snapshot.
    this.#failed = err;
    this.#onReady?.(false);
    for (const resolve of this.#begun.values()) resolve(false);
    this.#begun.clear();
    for (const { reject } of this.#requests.values()) reject(err);
    this.#requests.clear();
  }
}

let shared: LmdbSnapshotThread | undefined;

/** This processing thread's snapshot thread, started on first use. */
export function lmdbSnapshotThread(): LmdbSnapshotThread {
  shared ??= new LmdbSnapshotThread();
  return shared;
}

export type { LmdbSnapshotThread };
