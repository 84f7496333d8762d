/**
 * Local recovery, read side: an ObjectStore for a restore that reads a data file from its local
 * copy (see local-copy-tee.ts) when the copy is the one of this very object and intact, and from
 * the checkpoint storage otherwise. "Intact" means: a record beside it naming the same remote
 * location, the size `_metadata` gives the file equal to the record's and to the copy's, and the
 * copy's CRC-32 equal to the record's. The whole copy is checked once, before its first byte is
 * used, so a damaged copy falls back to remote before anything of it reached the state. A
 * fallback is not an error: one log line (from one reader of the restore: claimReport), the copy
 * removed, then the remote read as without local recovery.
 */
import { type FileHandle, open, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../format/crc32.ts';
import { METADATA_FILE } from '../format/snapshot-paths.ts';
import { type LocalCopyRecord, type LogLine, RECORD_SUFFIX, message, stderrLog } from './local-copy-tee.ts';
import type { ObjectInfo, ObjectStore, ObjectWriter } from './object-store.ts';

const CHECK_CHUNK = 4 * 1024 * 1024;

export class LocalFirstStore implements ObjectStore {
  readonly #checked = new Map<string, Promise<string | undefined>>();
  /** How many reads each side served, for tests and the log line at the end of a restore. */
  readonly reads = { local: 0, remote: 0 };

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
    const local = await this.#localCopy(key);
    if (local === undefined) {
      this.reads.remote += 1;
      return this.remote.get(key);
    }
    this.reads.local += 1;
    return new Uint8Array(await readFile(local));
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (key === METADATA_FILE && this.metadata !== undefined) return this.metadata.subarray(offset, offset + length);
    const local = await this.#localCopy(key);
    if (local === undefined) {
      this.reads.remote += 1;
      return this.remote.getRange(key, offset, length);
    }
    this.reads.local += 1;
    const handle = await open(local, 'r');
    try {
      const size = this.expected.get(key)!;
      const bytes = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
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

  /** The path of a usable local copy of `key`, or undefined (then read remotely); checked once per key. */
  #localCopy(key: string): Promise<string | undefined> {
    let checked = this.#checked.get(key);
    if (checked === undefined) {
      checked = this.#check(key);
      this.#checked.set(key, checked);
    }
    return checked;
  }

  async #check(key: string): Promise<string | undefined> {
    const size = this.expected.get(key);
    if (size === undefined) return undefined; // not a data file of this checkpoint (_metadata, say)
    const path = join(this.dir, key);
    const problem = await copyProblem(path, this.remote.describe(key), size).catch((err: unknown) => message(err));
    if (problem === undefined) return path;
    if (problem !== 'none' && this.reportDamage && (await claimReport(path))) {
      this.log(`local recovery: not using the local copy ${path} (${problem}); reading ${this.remote.describe(key)}`);
    }
    return undefined;
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

/** Why the copy at `path` must not be used, 'none' when there is no copy at all, or undefined when it is good. */
async function copyProblem(path: string, location: string, size: number): Promise<string | undefined> {
  let record: LocalCopyRecord;
  try {
    record = JSON.parse(await readFile(`${path}${RECORD_SUFFIX}`, 'utf8')) as LocalCopyRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    return `its record is unreadable: ${message(err)}`;
  }
  if (record.location !== location) return `it copies ${String(record.location)}`;
  if (record.size !== size) return `it recorded ${String(record.size)} bytes, _metadata says ${size}`;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the copy is missing' : message(err);
  }
  try {
    const actual = (await handle.stat()).size;
    if (actual !== size) return `it has ${actual} bytes, _metadata says ${size}`;
    const buffer = new Uint8Array(Math.min(CHECK_CHUNK, Math.max(size, 1)));
    let crc = 0;
    for (let at = 0; at < size; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
      if (bytesRead === 0) return `it ends at byte ${at} of ${size}`;
      crc = crc32(buffer.subarray(0, bytesRead), crc);
      at += bytesRead;
    }
    if (crc !== record.crc32) return `CRC-32 ${crc.toString(16)} differs from the recorded ${Number(record.crc32).toString(16)}`;
    return undefined;
  } finally {
    await handle.close();
  }
}
