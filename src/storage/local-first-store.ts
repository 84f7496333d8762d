/**
 * Local recovery, read side: an ObjectStore for a restore that reads a data file from its local
 * copy (see local-copy-tee.ts) when the copy is the one of this very object, and from the
 * checkpoint storage otherwise. Before the first read of a copy it checks what costs no pass over
 * the bytes: a record beside it naming the same remote location, and the size `_metadata` gives
 * the file equal to the record's and to the copy's. The bytes themselves are checked by whoever
 * reads them, as the storage's are: a data file's header has its CRC and every byte after it lies
 * in a frame with its own (FORMAT.md 4), checked before anything of it is used (block-reader.ts).
 * A reader whose check fails on bytes of a copy calls `distrustCopy`, and reads the rest of that
 * block from the storage, from the failed frame on; the copy is not read again. A CRC-32 over the
 * whole copy before its first use (as here before) read and checksummed every byte a second time,
 * also those of blocks the subtask does not restore, and caught no damage the frames' CRCs miss
 * (CRC-32 misses an error pattern over any span that holds it, or over none) but one that also
 * rewrote a frame's stored CRC to match, which the block's CRC then catches (block-reader.ts).
 *
 * A fallback is not an error: one log line (from one reader of the restore: claimReport), the copy
 * removed, then the remote read as without local recovery. `get` (the whole object) checks the
 * record's CRC-32 as it reads, its one pass over the bytes.
 */
import { open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../format/crc32.ts';
import { METADATA_FILE } from '../format/snapshot-paths.ts';
import { type LocalCopyRecord, type LogLine, RECORD_SUFFIX, message, stderrLog } from './local-copy-tee.ts';
import type { ObjectInfo, ObjectStore, ObjectWriter } from './object-store.ts';

/** A copy this store reads, and the CRC-32 its record gives the whole of it. */
interface UsableCopy {
  readonly path: string;
  readonly crc32: number;
}

export class LocalFirstStore implements ObjectStore {
  readonly #checked = new Map<string, Promise<UsableCopy | undefined>>();
  /** Keys some bytes of which were read from their copy: a reader's failed check on them may be the copy's. */
  readonly #served = new Set<string>();
  readonly #dropped = new Set<string>();
  /** How many reads each side served, for tests and the log line at the end of a restore. */
  readonly reads = { local: 0, remote: 0 };
  /** Bytes read from local copies, for tests: a restore reads each byte it uses once. */
  copyBytesRead = 0;

  constructor(
    readonly remote: ObjectStore,
    /** The restored checkpoint's local directory, `<root>/<jobId>/chk-<n>` (the local root, for the checkpoint root's store). */
    readonly dir: string,
    /** Data file path to its size, as `_metadata` records them. */
    readonly expected: ReadonlyMap<string, number>,
    readonly log: LogLine = stderrLog,
    /** `_metadata` as already read from `remote`, served from memory so it is fetched once. */
    readonly metadata?: Uint8Array,
    /**
     * Incremental checkpoints: the shared files (paths relative to the checkpoint root, to their
     * sizes) whose local copies lie under `dir` (the local root, `<dir>/<jobId>/shared/<name>`),
     * read local-first through `storeAbove(2)` as the data files are here.
     */
    readonly shared?: { readonly dir: string; readonly expected: ReadonlyMap<string, number> },
    /**
     * Whether a damaged copy is reported (one log line) and dropped. False for the check of a
     * restore point, which the restore follows: the restore reports it, once.
     */
    readonly reportDamage: boolean = true,
  ) {}

  #above: LocalFirstStore | undefined;

  get location(): string {
    return this.remote.location;
  }
  describe(key: string): string {
    return this.remote.describe(key);
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    if (key === METADATA_FILE && this.metadata !== undefined) return { key, size: this.metadata.length };
    // A good copy has the size _metadata records, so a check of the checkpoint needs no request for it.
    if ((await this.#localCopy(key)) !== undefined) return { key, size: this.expected.get(key)! };
    return this.remote.stat(key);
  }
  createWriter(key: string): Promise<ObjectWriter> {
    return this.remote.createWriter(key);
  }
  publish(key: string, bytes: Uint8Array): Promise<void> {
    return this.remote.publish(key, bytes);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.remote.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.remote.delete(key);
  }
  /** The checkpoint root (two up) reads the shared files it was told of from their local copies first; anything else remotely. */
  storeAbove(levels: number): ObjectStore | undefined {
    const remote = this.remote.storeAbove?.(levels);
    if (remote === undefined || levels !== 2 || this.shared === undefined || this.shared.expected.size === 0) return remote;
    // One store for the reader's life, so each shared copy is checked once however many blocks it holds.
    this.#above ??= new LocalFirstStore(remote, this.shared.dir, this.shared.expected, this.log, undefined, undefined, this.reportDamage);
    return this.#above;
  }


  async get(key: string): Promise<Uint8Array> {
    if (key === METADATA_FILE && this.metadata !== undefined) return this.metadata;
    const copy = await this.#localCopy(key);
    if (copy !== undefined) {
      // A reader of the whole object may check nothing itself: the record's CRC-32, over the bytes as read.
      let problem: string;
      try {
        const bytes = await readFile(copy.path);
        this.copyBytesRead += bytes.length;
        const crc = crc32(bytes);
        const size = this.expected.get(key)!;
        if (bytes.length === size && crc === copy.crc32) {
          this.reads.local += 1;
          return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
        }
        problem = bytes.length !== size ? `it has ${bytes.length} bytes, _metadata says ${size}` : `CRC-32 ${crc.toString(16)} differs from the recorded ${copy.crc32.toString(16)}`;
      } catch (err) {
        problem = message(err);
      }
      await this.#drop(key, problem);
    }
    this.reads.remote += 1;
    return this.remote.get(key);
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (key === METADATA_FILE && this.metadata !== undefined) return this.metadata.subarray(offset, offset + length);
    const copy = await this.#localCopy(key);
    if (copy !== undefined) {
      this.#served.add(key);
      try {
        const bytes = await readRange(copy.path, offset, Math.max(0, Math.min(length, this.expected.get(key)! - offset)));
        this.copyBytesRead += bytes.length;
        this.reads.local += 1;
        return bytes;
      } catch (err) {
        // Gone (another slot thread's reader found it damaged and removed it), or unreadable: the storage has the bytes.
        await this.#drop(key, message(err));
      }
    }
    this.reads.remote += 1;
    return this.remote.getRange(key, offset, length);
  }

  /**
   * A reader's check failed on bytes of `key` (`problem`, for the log line): when some came from
   * the copy, the copy is not read again (and is reported and removed, by one reader: #drop) and
   * this store, which now reads them from the checkpoint storage, is returned; undefined when all
   * came from the storage, whose damage the reader reports.
   */
  async distrustCopy(key: string, problem: string): Promise<ObjectStore | undefined> {
    if (!this.#served.has(key)) return undefined;
    await this.#drop(key, problem);
    return this;
  }

  /** The usable local copy of `key`, or undefined (then read remotely); checked once per key. */
  #localCopy(key: string): Promise<UsableCopy | undefined> {
    let checked = this.#checked.get(key);
    if (checked === undefined) {
      checked = this.#check(key);
      this.#checked.set(key, checked);
    }
    return checked;
  }

  async #check(key: string): Promise<UsableCopy | undefined> {
    const size = this.expected.get(key);
    if (size === undefined) return undefined; // not a data file of this checkpoint (_metadata, say)
    const path = join(this.dir, key);
    const found = await usableCopy(path, this.remote.describe(key), size).catch((err: unknown) => message(err));
    if (typeof found !== 'string') return found;
    if (found !== 'none') await this.#report(path, key, found);
    return undefined;
  }

  /** The copy of `key` is not read again by this store, and is said (#report) by the first of its readers to give it up. */
  async #drop(key: string, problem: string): Promise<void> {
    if (this.#dropped.has(key)) return;
    this.#dropped.add(key);
    this.#checked.set(key, Promise.resolve(undefined));
    await this.#report(join(this.dir, key), key, problem);
  }

  async #report(path: string, key: string, problem: string): Promise<void> {
    if (this.reportDamage && (await claimReport(path))) {
      this.log(`local recovery: not using the local copy ${path} (${problem}); reading ${this.remote.describe(key)}`);
    }
  }
}

async function readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(length);
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await handle.read(bytes, read, bytes.length - read, offset + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/**
 * Removes a copy that must not be used, its record first, and says whether this reader removed
 * the record and so is the one to report it: the slot threads of a TaskManager each restore
 * through their own store, and all of them read a file that holds union or broadcast state, so
 * without this each would log the same copy. A reader that comes later finds no copy and reads
 * remotely without a word. When the record cannot be removed (not for want of it), every reader
 * reports, rather than none.
 */
async function claimReport(path: string): Promise<boolean> {
  try {
    await unlink(`${path}${RECORD_SUFFIX}`);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  await rm(path, { force: true }).catch(() => undefined); // without its record a copy is never read
  return true;
}

/**
 * The copy at `path` when its record names `location` and it and the record have `size` bytes;
 * else why it must not be used, 'none' when there is no copy at all. Reads no byte of the copy.
 */
async function usableCopy(path: string, location: string, size: number): Promise<UsableCopy | string> {
  let record: LocalCopyRecord;
  try {
    record = JSON.parse(await readFile(`${path}${RECORD_SUFFIX}`, 'utf8')) as LocalCopyRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    return `its record is unreadable: ${message(err)}`;
  }
  if (record.location !== location) return `it copies ${String(record.location)}`;
  if (record.size !== size) return `it recorded ${String(record.size)} bytes, _metadata says ${size}`;
  let actual: number;
  try {
    actual = (await stat(path)).size;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the copy is missing' : message(err);
  }
  if (actual !== size) return `it has ${actual} bytes, _metadata says ${size}`;
  return { path, crc32: Number(record.crc32) };
}
