/**
 * An `ObjectStore` on a local (or mounted) file system.
 *
 * Durability follows the usual POSIX recipe: bytes go to a temporary sibling
 * `<name>.inprogress-<hex>`, which is fsync'd and renamed over the real name, and then the
 * directory is fsync'd so the rename itself survives a crash. A reader therefore never sees a
 * half-written file under a real key, and a crash leaves at most an `.inprogress-` file, which
 * `list` hides (contract 1 and 2 in object-store.ts).
 *
 * Directories exist only while they hold objects, as prefixes do in S3: `delete` removes parent
 * directories it leaves empty, so discarding a checkpoint leaves no empty `chk-N` behind. A
 * writer that races with that pruning re-creates its directory (see `openTemp`).
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { copyFile, link, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { InternalError, UserError } from '../errors.ts';
import { makeDirectories } from './make-directories.ts';
import { ObjectNotFoundError } from './object-store.ts';
import type { CopyHow, ObjectInfo, ObjectStore, ObjectWriter } from './object-store.ts';

const TEMP_MARKER = '.inprogress-';

/**
 * Rejects any key that could name something outside the store root or be read two ways.
 * `snapshot-paths.ts` validates first; this is defence in depth, so a failure is a bug.
 */
export function checkKey(key: string): string[] {
  const segments = key.split('/');
  const bad =
    key === '' ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.includes(TEMP_MARKER) ||
    isAbsolute(key) ||
    /^[A-Za-z]:/.test(key) ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new InternalError(`invalid object key ${JSON.stringify(key)}`);
  return segments;
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

export class LocalObjectStore implements ObjectStore {
  readonly location: string;

  constructor(root: string) {
    if (!isAbsolute(root)) throw new InternalError(`local store root must be absolute: ${root}`);
    this.location = root;
  }

  describe(key: string): string {
    return join(this.location, ...checkKey(key));
  }

  localDirectory(): string {
    return this.location;
  }

  storeAbove(levels: number): ObjectStore | undefined {
    let dir = this.location;
    for (let i = 0; i < levels; i++) {
      const up = dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
    return new LocalObjectStore(dir);
  }

  /**
   * A hard link when both stores are on one file system (no bytes copied: the data files of
   * snapshots are never changed once closed), else a file-system copy; either goes to a
   * temporary name first and is renamed, as a writer's object, so a crash leaves no half copy.
   */
  async copyFrom(source: ObjectStore, sourceKey: string, key: string): Promise<CopyHow | undefined> {
    if (!(source instanceof LocalObjectStore)) return undefined;
    const from = source.describe(sourceKey);
    const path = this.describe(key);
    const { handle, temp, newDirs } = await this.openTemp(path);
    await handle.close();
    let how: CopyHow = 'linked';
    try {
      await rm(temp, { force: true });
      try {
        await link(from, temp);
      } catch (err) {
        const code = errnoCode(err);
        // Another device, or a file system without hard links: copy the bytes instead.
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK' && code !== 'EOPNOTSUPP') throw err;
        how = 'copied';
        await copyFile(from, temp);
        const copied = await open(temp, 'r+');
        try {
          await copied.sync();
        } finally {
          await copied.close();
        }
      }
      await rename(temp, path);
      for (const dir of new Set([dirname(path), ...newDirs])) await fsyncDirectory(dir);
      return how;
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw await this.failure(err, errnoCode(err) === 'ENOENT' ? from : path, 'copying');
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.describe(key);
    try {
      const info = await stat(path);
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      const failure = await this.failure(err, path, 'reading');
      // ENOTDIR below a file that is not the root: simply no object under this key.
      if (failure instanceof ObjectNotFoundError) return undefined;
      throw failure;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.describe(key);
    try {
      return plain(await readFile(path));
    } catch (err) {
      throw await this.failure(err, path, 'reading');
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new InternalError(`invalid range ${offset}+${length}`);
    }
    const path = this.describe(key);
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'r');
      // Sized by the file, so a caller asking for "up to N bytes" of a small file allocates little.
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      length = buffer.length;
      let filled = 0;
      // A read may return fewer bytes than asked for without being at the end of the file.
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return plain(buffer.subarray(0, filled));
    } catch (err) {
      throw await this.failure(err, path, 'reading');
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  async createWriter(key: string): Promise<ObjectWriter> {
    const path = this.describe(key);
    const { handle, temp, newDirs } = await this.openTemp(path);
    return new LocalWriter(this, handle, temp, path, newDirs);
  }

  async publish(key: string, bytes: Uint8Array): Promise<void> {
    const writer = await this.createWriter(key);
    try {
      await writer.write(bytes);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Walk only below the deepest directory the prefix names in full.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const start = dirKey === '' ? this.location : this.describe(dirKey);
    if (prefix.slice(cut + 1).includes('\\')) throw new InternalError(`invalid prefix ${prefix}`);
    const pending = [start];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || (dir !== this.location && errnoCode(err) === 'ENOTDIR')) continue;
        throw await this.failure(err, dir, 'listing');
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name.includes(TEMP_MARKER)) continue;
        const path = join(dir, entry.name);
        const key = relative(this.location, path).split(sep).join('/');
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        const info = await stat(path).catch(async (err: unknown) => {
          if (errnoCode(err) === 'ENOENT') return undefined; // deleted while we walk
          throw await this.failure(err, path, 'listing');
        });
        if (info?.isDirectory()) pending.push(path);
        else if (info?.isFile() && key.startsWith(prefix)) yield { key, size: info.size };
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.describe(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw await this.failure(err, path, 'deleting');
    }
    // Prune now-empty parents; rmdir refuses a non-empty directory, so this never loses data.
    for (let dir = dirname(path); dir.length > this.location.length; dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  /** Creates the parent directories and an exclusive temporary file next to `path`. */
  private async openTemp(path: string): Promise<{ handle: FileHandle; temp: string; newDirs: string[] }> {
    const dir = dirname(path);
    const newDirs: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const temp = `${path}${TEMP_MARKER}${randomBytes(8).toString('hex')}`;
      try {
        const first = await makeDirectories(dir);
        // A new directory's own entry lives in its parent, which then needs an fsync too.
        if (first !== undefined) {
          for (let d = dir; d.length >= first.length; d = dirname(d)) newDirs.push(dirname(d));
        }
        return { handle: await open(temp, 'wx'), temp, newDirs };
      } catch (err) {
        // ENOENT: a concurrent delete pruned the directory between mkdir and open.
        if (errnoCode(err) !== 'ENOENT' || attempt === 3) throw await this.failure(err, path, 'writing');
      }
    }
  }

  /** Turns a file-system error into the error a user sees (contract 5). For this file only. */
  async failure(err: unknown, path: string, doing: string): Promise<Error> {
    const code = errnoCode(err);
    let message: string;
    const rootSuspect = code === 'ENOTDIR' || code === 'EEXIST';
    const root = rootSuspect ? await stat(this.location).catch(() => undefined) : undefined;
    if (root !== undefined && !root.isDirectory()) {
      message = `${this.location}: is a file, not a directory (give a directory, or a path that does not exist yet, as the location)`;
    } else if (code === 'ENOENT' || code === 'ENOTDIR') {
      return new ObjectNotFoundError(path);
    } else if (code === 'EACCES' || code === 'EPERM') {
      message = `${path}: permission denied while ${doing} (check the directory's permissions, or choose another location)`;
    } else if (code === 'EISDIR') {
      message = `${path}: is a directory, not a file`;
    } else if (code === 'EROFS') {
      message = `${path}: the file system is read-only (choose another location)`;
    } else if (code === 'ENOSPC' || code === 'EDQUOT') {
      message = `${path}: no space left on the device (free some space, or choose another location)`;
    } else if (code === 'EMFILE' || code === 'ENFILE') {
      message = `${path}: too many open files (raise the limit with ulimit -n)`;
    } else {
      message = `${path}: ${doing} failed (${code ?? (err instanceof Error ? err.message : String(err))})`;
    }
    return new UserError(message, undefined, { cause: err });
  }
}

class LocalWriter implements ObjectWriter {
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  private handleOpen = true;

  constructor(
    private readonly store: LocalObjectStore,
    private readonly handle: FileHandle,
    private readonly temp: string,
    private readonly path: string,
    private readonly newDirs: readonly string[],
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new InternalError(`write after ${this.state}: ${this.path}`);
    try {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    } catch (err) {
      throw await this.store.failure(err, this.path, 'writing');
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') throw new InternalError(`close after ${this.state}: ${this.path}`);
    this.state = 'closing';
    try {
      await this.handle.sync();
      this.handleOpen = false;
      await this.handle.close();
      await rename(this.temp, this.path);
      for (const dir of new Set([dirname(this.path), ...this.newDirs])) await fsyncDirectory(dir);
      this.state = 'closed';
    } catch (err) {
      throw await this.store.failure(err, this.path, 'writing');
    }
  }

  async abort(): Promise<void> {
    // After a successful close the object is the caller's; abort must not remove it.
    if (this.state === 'closed' || this.state === 'aborted') return;
    this.state = 'aborted';
    if (this.handleOpen) {
      this.handleOpen = false;
      await this.handle.close().catch(() => undefined);
    }
    await rm(this.temp, { force: true }).catch(() => undefined);
  }
}

/** A plain Uint8Array view, as S3 returns: code that leans on Buffer methods then fails here too. */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export async function fsyncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync, and NTFS makes the rename durable itself.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
