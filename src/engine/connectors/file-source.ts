/**
 * Lines of text files as a replayable source (Flink's FileSource.forRecordStreamFormat with
 * TextLineInputFormat). Every file is one split whose state is `{ path, offset }`: the byte offset
 * of the next line not yet emitted. A restore continues at exactly that line, and a rescale moves
 * whole files between subtasks (splits are never cut inside a file, as Flink's non-splittable
 * text format). Lines are UTF-8, ended by `\n` or `\r\n`; a last line without an ending is a line.
 *
 * Directories are read file by file, sorted by name, not recursively; files whose names start
 * with `.` or `_` are skipped (Flink's default file filter), so a writer that stages a file under
 * a hidden name and renames it when complete (as FileSink does) is never read half-written.
 *
 * Continuous monitoring (`monitorIntervalMs`): Flink's enumerator discovers new files and hands
 * them to readers as they ask. Here splits are fixed at job start (`createSplits`), so discovery
 * is itself a split: each monitored directory gets `monitorSplits` (default 16) monitor splits,
 * and monitor split `b` owns the new files whose name hashes to `b`
 * (`murmur3_32(utf8(name)) mod monitorSplits`). Its state lists the names it has already turned
 * into file splits (Flink keeps the same set of processed paths in its enumerator checkpoint). A
 * monitor split moves between subtasks like any split, so ownership never depends on the
 * parallelism and survives restores and rescales; a file is read by exactly one subtask, once.
 */
import { type Dirent, type Stats, readdirSync, statSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../errors.ts';
import { murmur3_32 } from '../../format/murmur3.ts';
import type { PollResult, Source, SourceReader, SourceRecord } from '../api/source.ts';

export interface FileSourceOptions {
  /** Watch the directories for new files every so many ms; the source is then unbounded. */
  readonly monitorIntervalMs?: number;
  /** Monitor splits per watched directory (fixed for the life of the job's state); default 16. */
  readonly monitorSplits?: number;
}

export interface FileSplit {
  readonly kind: 'file';
  readonly path: string;
  /** Byte offset of the next unread line. */
  offset: number;
}

export interface MonitorSplit {
  readonly kind: 'monitor';
  readonly dir: string;
  readonly bucket: number;
  readonly buckets: number;
  /** Names in `dir` of this bucket that are already splits (or were there at job start). */
  readonly seen: string[];
}

export type FileSourceSplit = FileSplit | MonitorSplit;

/** Bytes read per positional read: a bounded window of the file, never all of it. */
const CHUNK = 128 * 1024;
/** Longest an idle monitoring reader waits in one poll, so barriers are not held back. */
const IDLE_WAIT_MS = 10;

export class FileSource implements Source<string> {
  readonly bounded: boolean;
  readonly #paths: readonly string[];
  readonly #options: FileSourceOptions;

  private constructor(paths: readonly string[], options: FileSourceOptions) {
    const { monitorIntervalMs, monitorSplits } = options;
    if (paths.length === 0) throw new UserError('file source: no paths given');
    if (monitorIntervalMs !== undefined && !(monitorIntervalMs > 0)) throw new UserError(`file source: monitorIntervalMs ${monitorIntervalMs} must be > 0`);
    if (monitorSplits !== undefined && (!Number.isSafeInteger(monitorSplits) || monitorSplits < 1)) throw new UserError(`file source: monitorSplits ${monitorSplits} is not a whole number >= 1`);
    this.#paths = paths.map((p) => resolve(p));
    this.#options = options;
    this.bounded = monitorIntervalMs === undefined;
  }

  /** Reads the lines of a file, of several files, or of every file of a directory. */
  static forLines(paths: string | readonly string[], options: FileSourceOptions = {}): FileSource {
    return new FileSource(typeof paths === 'string' ? [paths] : paths, options);
  }

  /** Files in the given order (a directory's sorted by name), then the monitor splits. */
  createSplits(): FileSourceSplit[] {
    const files: FileSplit[] = [];
    const dirs: string[] = [];
    const added = new Set<string>();
    const addFile = (path: string): void => {
      if (!added.has(path)) files.push({ kind: 'file', path, offset: 0 });
      added.add(path);
    };
    for (const path of this.#paths) {
      if (statOrMissing(path).isDirectory()) {
        dirs.push(path);
        for (const name of listFiles(readdirSync(path, { withFileTypes: true }))) addFile(join(path, name));
      } else {
        addFile(path);
      }
    }
    if (this.bounded) return files;
    if (dirs.length === 0) throw new UserError(`file source: monitorIntervalMs watches directories, and none of ${this.#paths.map((p) => `'${p}'`).join(', ')} is one`);
    const buckets = this.#options.monitorSplits ?? 16;
    const monitors = dirs.flatMap((dir) => {
      const names = listFiles(readdirSync(dir, { withFileTypes: true }));
      return Array.from({ length: buckets }, (_, bucket): MonitorSplit => ({ kind: 'monitor', dir, bucket, buckets, seen: names.filter((n) => bucketOf(n, buckets) === bucket) }));
    });
    return [...files, ...monitors];
  }

  createReader(): SourceReader<string> {
    return new FileLineReader(this.#options.monitorIntervalMs);
  }
}

/** The deterministic owner of a new file: a pure function of its name, stable across runs. */
export function bucketOf(name: string, buckets: number): number {
  return (murmur3_32(Buffer.from(name, 'utf8')) >>> 0) % buckets;
}

function statOrMissing(path: string): Stats {
  const stats = statSync(path, { throwIfNoEntry: false });
  // "no such file" is also what makes the executor report this as a setup error, not restart.
  if (stats === undefined) throw new UserError(`file source: no such file or directory: '${path}'`);
  return stats;
}

/** Regular, visible files, sorted by name (code-unit order: the same on every platform). */
function listFiles(entries: readonly Dirent[]): string[] {
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.startsWith('_'))
    .map((e) => e.name)
    .sort();
}

class FileLineReader implements SourceReader<string> {
  /** Unfinished files, read one after the other; finished ones leave the state. */
  readonly #files: FileSplit[] = [];
  readonly #monitors: (MonitorSplit & { readonly seenSet: Set<string> })[] = [];
  /** Bytes of the head file from its offset that do not yet end in a newline. */
  #carry: Buffer = Buffer.alloc(0);
  /** File position of the end of `#carry`. */
  #readPos = 0;
  #nextScan = 0;

  constructor(private readonly monitorIntervalMs: number | undefined) {}

  addSplits(splits: readonly unknown[]): void {
    for (const split of splits) {
      if (isFileSplit(split)) this.#files.push({ kind: 'file', path: split.path, offset: split.offset });
      else if (isMonitorSplit(split)) this.#monitors.push({ ...split, seen: [...split.seen], seenSet: new Set(split.seen) });
      else throw new UserError(`file source: restored split state ${JSON.stringify(split)} is not a file source split`);
    }
    this.#resetHead();
  }

  async poll(max: number): Promise<PollResult<string>> {
    if (this.#monitors.length > 0 && Date.now() >= this.#nextScan) await this.#scan();
    const records: SourceRecord<string>[] = [];
    while (records.length < max && this.#files.length > 0) {
      const line = await this.#nextLine();
      if (line !== undefined) records.push({ value: line, timestamp: null });
    }
    if (this.monitorIntervalMs === undefined) return { records, done: this.#files.length === 0 };
    // Unbounded: never done (a finished source would also stop the job's checkpoints).
    if (records.length === 0 && this.#monitors.length > 0) await sleep(Math.min(IDLE_WAIT_MS, Math.max(1, this.#nextScan - Date.now())));
    else if (records.length === 0) await sleep(IDLE_WAIT_MS);
    return { records, done: false };
  }

  snapshotSplits(): FileSourceSplit[] {
    const files = this.#files.map((f): FileSplit => ({ kind: 'file', path: f.path, offset: f.offset }));
    const monitors = this.#monitors.map((m): MonitorSplit => ({ kind: 'monitor', dir: m.dir, bucket: m.bucket, buckets: m.buckets, seen: [...m.seen] }));
    return [...files, ...monitors];
  }

  /**
   * The next line of the head file, advancing its offset past it; undefined when the head file
   * ended (it is then dropped) or when more bytes had to be read first.
   */
  async #nextLine(): Promise<string | undefined> {
    const head = this.#files[0]!;
    const newline = this.#carry.indexOf(0x0a);
    if (newline >= 0) {
      const line = decodeLine(this.#carry.subarray(0, newline));
      this.#carry = this.#carry.subarray(newline + 1);
      head.offset += newline + 1;
      return line;
    }
    const chunk = await readAt(head.path, this.#readPos);
    if (chunk.length > 0) {
      this.#carry = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
      this.#readPos += chunk.length;
      return undefined;
    }
    // End of file: what is left is a last line without a line ending.
    const last = this.#carry.length > 0 ? decodeLine(this.#carry) : undefined;
    this.#files.shift();
    this.#resetHead();
    return last;
  }

  #resetHead(): void {
    this.#carry = Buffer.alloc(0);
    this.#readPos = this.#files[0]?.offset ?? 0;
  }

  /** Lists each watched directory once and gives every owned monitor split its new files. */
  async #scan(): Promise<void> {
    this.#nextScan = Date.now() + (this.monitorIntervalMs ?? 0);
    for (const dir of new Set(this.#monitors.map((m) => m.dir))) {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        throw new UserError(`file source: cannot list the monitored directory '${dir}': ${(err as Error).message}`, undefined, { cause: err });
      }
      const names = listFiles(entries);
      const wasIdle = this.#files.length === 0;
      for (const m of this.#monitors) {
        if (m.dir !== dir) continue;
        for (const name of names) {
          if (m.seenSet.has(name) || bucketOf(name, m.buckets) !== m.bucket) continue;
          m.seenSet.add(name);
          m.seen.push(name);
          this.#files.push({ kind: 'file', path: join(dir, name), offset: 0 });
        }
      }
      if (wasIdle) this.#resetHead();
    }
  }
}

/** One positional read of up to CHUNK bytes; the file is opened per read so no descriptor outlives a cancelled task. */
async function readAt(path: string, position: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new UserError(`file source: cannot read '${path}': ${(err as Error).message}`, undefined, { cause: err });
  }
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** `\n` never occurs inside a multi-byte UTF-8 sequence, so cutting bytes at it is safe. */
function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}

function isFileSplit(s: unknown): s is FileSplit {
  const v = s as Partial<FileSplit> | null;
  return typeof v === 'object' && v !== null && v.kind === 'file' && typeof v.path === 'string' && Number.isSafeInteger(v.offset);
}

function isMonitorSplit(s: unknown): s is MonitorSplit {
  const v = s as Partial<MonitorSplit> | null;
  return (
    typeof v === 'object' && v !== null && v.kind === 'monitor' && typeof v.dir === 'string' &&
    Number.isSafeInteger(v.bucket) && Number.isSafeInteger(v.buckets) && Array.isArray(v.seen) && v.seen.every((n) => typeof n === 'string')
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
