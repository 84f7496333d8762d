/**
 * An exactly-once sink of text lines into a directory (Flink's FileSink.forRowFormat, one bucket,
 * rolling on every checkpoint). A part file goes through Flink's three states:
 *
 * - in progress: `.part-<subtask>-<n>.inprogress`, hidden (a leading dot), written by one subtask;
 * - pending: at the checkpoint barrier (preCommit) it is flushed and fsynced, and the transaction
 *   `{ jobId, subtask, counter, bytes }` is filed in the checkpoint;
 * - finished: when that checkpoint completes (commit) it is renamed to `part-<subtask>-<n>`.
 *
 * So anything that lists `part-*` sees only data of completed checkpoints. A commit is
 * idempotent: when the in-progress file is gone and the finished one is there, it was committed
 * already (a retried commit, or one replayed on restore). A commit also refuses an in-progress
 * file whose size is not the pre-committed size (Flink's "trailing junk" check).
 *
 * Counters never let an old in-progress file be committed as a new one: `n` counts transactions
 * per subtask index and continues from state, not from the attempt. A union state holds, per
 * subtask index, the counter of the first transaction after the checkpoint (Flink's
 * StreamingFileSink keeps its "max-part-counter" in union state the same way), so after a
 * restore, at any parallelism, every in-progress file of index s numbered >= that counter is a
 * leftover of a failed attempt: the subtask that owns index s (s mod parallelism) deletes them
 * before writing. New files are created exclusively ('wx') and numbered past every part file of
 * the index already in the directory, so no name is ever reused and finished files are never
 * overwritten.
 */
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../errors.ts';
import { makeDirectories } from '../../storage/make-directories.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { OperatorListState } from '../state/operator-state-store.ts';
import { TwoPhaseCommitSink } from './two-phase-commit-sink.ts';

export interface FileSinkOptions<T> {
  /** One record as one line (without the line ending); default JSON.stringify. */
  readonly encoder?: (value: T) => string;
}

/** Plain data: it is stored in checkpoints. */
export interface PartFileTransaction {
  readonly jobId: string;
  /** The subtask index in the file name (of the subtask that wrote it). */
  readonly subtask: number;
  /** The part counter: one transaction per checkpoint, numbered from state. */
  readonly counter: number;
  records: number;
  /** Bytes in the in-progress file; at preCommit, the size the commit expects. */
  bytes: number;
}

interface PartCounter {
  readonly subtask: number;
  /** The counter of the first transaction begun after the checkpoint. */
  readonly next: number;
}

/** Buffered bytes (UTF-16 units, close enough) before they are appended to the in-progress file. */
const FLUSH_AT = 256 * 1024;
const IN_PROGRESS = /^\.part-(\d+)-(\d+)\.inprogress$/;
const FINISHED = /^part-(\d+)-(\d+)$/;

export const partFileName = (subtask: number, counter: number): string => `part-${subtask}-${counter}`;
export const inProgressFileName = (subtask: number, counter: number): string => `.part-${subtask}-${counter}.inprogress`;

export class FileSink<T> extends TwoPhaseCommitSink<T, PartFileTransaction> {
  readonly #dir: string;
  readonly #encode: (value: T) => string;
  #buffer: string[] = [];
  #buffered = 0;
  #nextCounter = 0;
  #current: PartFileTransaction | undefined;
  #counters!: OperatorListState<PartCounter>;
  /** Counters of indices beyond the parallelism that this subtask carries on (after a scale-down). */
  #inherited: PartCounter[] = [];

  constructor(dir: string, options: FileSinkOptions<T> = {}) {
    super();
    this.#dir = dir;
    this.#encode = options.encoder ?? ((value) => JSON.stringify(value) ?? String(value));
  }

  /** A factory for `sinkTo`: each subtask gets its own sink. */
  static forRowFormat<T>(dir: string, options: FileSinkOptions<T> = {}): () => FileSink<T> {
    return () => new FileSink<T>(dir, options);
  }

  override async initializeState(context: { isRestored: boolean; runtime: RuntimeContext }): Promise<void> {
    const { runtime, isRestored } = context;
    await makeDirectories(this.#dir);
    this.#counters = runtime.operatorState.getUnionListState<PartCounter>('part-counters');
    const known = new Map<number, number>();
    for (const c of this.#counters.get()) known.set(c.subtask, Math.max(known.get(c.subtask) ?? 0, c.next));
    const { subtaskIndex: me, parallelism } = runtime;
    this.#inherited = [...known].filter(([s]) => s !== me && s % parallelism === me).map(([subtask, next]) => ({ subtask, next }));
    const owned = new Set([me, ...this.#inherited.map((c) => c.subtask)]);
    let names = await readdir(this.#dir);
    // A fresh first attempt leaves unknown files alone: they may be another job's pending data.
    if (isRestored || runtime.attemptNumber > 0) {
      const leftovers = names.filter((name) => {
        const part = parsePart(name, IN_PROGRESS);
        return part !== undefined && owned.has(part.subtask) && part.counter >= (known.get(part.subtask) ?? 0);
      });
      await Promise.all(leftovers.map((name) => rm(join(this.#dir, name), { force: true })));
      names = names.filter((name) => !leftovers.includes(name));
    }
    let free = known.get(me) ?? 0;
    for (const name of names) {
      const part = parsePart(name, IN_PROGRESS) ?? parsePart(name, FINISHED);
      if (part !== undefined && part.subtask === me) free = Math.max(free, part.counter + 1);
    }
    this.#nextCounter = free;
    // The base commits the restored pending transactions, then begins the first one.
    await super.initializeState(context);
  }

  override async snapshotState(context: { checkpointId: number }): Promise<void> {
    await super.snapshotState(context); // pre-commits the open transaction and begins the next
    const next = this.#current!.counter;
    this.#counters.update([{ subtask: this.runtime.subtaskIndex, next }, ...this.#inherited]);
  }

  protected beginTransaction(): PartFileTransaction {
    this.#buffer = [];
    this.#buffered = 0;
    this.#current = { jobId: this.runtime.jobId, subtask: this.runtime.subtaskIndex, counter: this.#nextCounter++, records: 0, bytes: 0 };
    return this.#current;
  }

  protected write(transaction: PartFileTransaction, value: T): Promise<void> | void {
    const line = this.#encode(value);
    if (line.includes('\n')) throw new UserError(`file sink: the encoder returned a line with a line break: ${JSON.stringify(line.slice(0, 80))}`);
    this.#buffer.push(line, '\n');
    this.#buffered += line.length + 1;
    transaction.records += 1;
    if (this.#buffered >= FLUSH_AT) return this.#flush(transaction, false);
  }

  protected async preCommit(transaction: PartFileTransaction): Promise<void> {
    await this.#flush(transaction, true);
    // The new file's directory entry must be durable too, or a crash could lose a pending file.
    if (transaction.bytes > 0) await syncDirectory(this.#dir);
  }

  protected async commit(transaction: PartFileTransaction): Promise<void> {
    if (transaction.bytes === 0) return; // nothing was written: no file was created
    const { subtask, counter, bytes, jobId } = transaction;
    const source = join(this.#dir, inProgressFileName(subtask, counter));
    const target = join(this.#dir, partFileName(subtask, counter));
    const staged = await sizeOf(source);
    if (staged === undefined) {
      if ((await sizeOf(target)) === bytes) return; // committed already
      throw new UserError(
        `file sink: cannot commit ${source} (job ${jobId}): neither it nor ${target} exists with ${bytes} bytes; ` +
          `were files of the output directory removed or changed outside the job?`,
      );
    }
    if (staged !== bytes) {
      throw new UserError(`file sink: cannot commit ${source} (job ${jobId}): it has ${staged} bytes, the checkpoint pre-committed ${bytes} (the file was changed outside the job)`);
    }
    // rename replaces atomically: readers see the whole file under its final name or nothing.
    await rename(source, target);
  }

  protected async abort(transaction: PartFileTransaction): Promise<void> {
    if (transaction === this.#current) {
      this.#buffer = [];
      this.#buffered = 0;
    }
    await rm(join(this.#dir, inProgressFileName(transaction.subtask, transaction.counter)), { force: true });
  }

  /** Appends the buffered lines to the in-progress file (creating it exclusively first). */
  async #flush(transaction: PartFileTransaction, durable: boolean): Promise<void> {
    if (this.#buffer.length === 0 && (!durable || transaction.bytes === 0)) return;
    const data = Buffer.from(this.#buffer.join(''), 'utf8');
    this.#buffer = [];
    this.#buffered = 0;
    const path = join(this.#dir, inProgressFileName(transaction.subtask, transaction.counter));
    // Opened per flush, so a cancelled attempt never leaves a descriptor (or buffered bytes) behind.
    const handle = await open(path, transaction.bytes === 0 ? 'wx' : 'a');
    try {
      if (data.length > 0) await handle.writeFile(data);
      if (durable) await handle.datasync();
    } finally {
      await handle.close();
    }
    transaction.bytes += data.length;
  }
}

function parsePart(name: string, pattern: RegExp): { subtask: number; counter: number } | undefined {
  const m = pattern.exec(name);
  return m === null ? undefined : { subtask: Number(m[1]), counter: Number(m[2]) };
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
