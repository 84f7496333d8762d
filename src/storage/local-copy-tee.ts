/**
 * Local recovery, write side: an ObjectStore that passes everything to the checkpoint storage
 * unchanged and, for each object written through `createWriter`, also keeps a copy on local disk
 * under `dir/<key>`, with a record beside it (`<key>.local.json`) of where the original is, its
 * size and its CRC-32. FORMAT.md records a size for each data file but no checksum over the whole
 * file (only per header and frame, which a reader of blocks checks, copy or not), so a reader of
 * the whole object (LocalFirstStore.get) checks the CRC-32 recorded here.
 *
 * The copy is best effort: a local failure is logged and the copy dropped; the remote write never
 * waits for a local error nor fails because of one. The record is written last, after the remote
 * object closed, so a copy without one (a crash, an aborted write) is never trusted.
 */
import { type FileHandle, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from '../format/crc32.ts';
import type { ObjectInfo, ObjectStore, ObjectWriter } from './object-store.ts';

/** What `<key>.local.json` holds. */
export interface LocalCopyRecord {
  /** `describe(key)` of the remote store: a copy is only ever used for the object it copies. */
  readonly location: string;
  readonly size: number;
  readonly crc32: number;
}

export const RECORD_SUFFIX = '.local.json';

export type LogLine = (line: string) => void;

export const stderrLog: LogLine = (line) => void process.stderr.write(`${line}\n`);

export class LocalCopyTeeStore implements ObjectStore {
  constructor(
    readonly remote: ObjectStore,
    /** This checkpoint's local directory, `<root>/<jobId>/chk-<n>`. */
    readonly dir: string,
    readonly log: LogLine = stderrLog,
  ) {}

  get location(): string {
    return this.remote.location;
  }
  describe(key: string): string {
    return this.remote.describe(key);
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.remote.stat(key);
  }
  get(key: string): Promise<Uint8Array> {
    return this.remote.get(key);
  }
  getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return this.remote.getRange(key, offset, length);
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

  async createWriter(key: string): Promise<ObjectWriter> {
    const remote = await this.remote.createWriter(key);
    const path = join(this.dir, key);
    const local = await openLocal(path).catch((err: unknown) => {
      this.log(`local recovery: cannot keep a local copy of ${this.remote.describe(key)} at ${path} (${message(err)}); the checkpoint is written remotely only`);
      return undefined;
    });
    return new TeeWriter(remote, local, { path, location: this.remote.describe(key), log: this.log });
  }
}

async function openLocal(path: string): Promise<FileHandle> {
  await mkdir(dirname(path), { recursive: true });
  return open(`${path}.tmp`, 'w');
}

class TeeWriter implements ObjectWriter {
  #local: FileHandle | undefined;
  #size = 0;
  #crc = 0;

  constructor(
    readonly remote: ObjectWriter,
    local: FileHandle | undefined,
    readonly copy: { readonly path: string; readonly location: string; readonly log: LogLine },
  ) {
    this.#local = local;
  }

  async write(chunk: Uint8Array): Promise<void> {
    // Both writes finish before this resolves: the caller may reuse `chunk` afterwards.
    const local = this.#local === undefined ? undefined : this.#writeLocal(this.#local, chunk);
    await this.remote.write(chunk);
    await local;
  }

  async #writeLocal(handle: FileHandle, chunk: Uint8Array): Promise<void> {
    try {
      await handle.write(chunk);
      this.#size += chunk.byteLength;
      this.#crc = crc32(chunk, this.#crc);
    } catch (err) {
      await this.#drop(err);
    }
  }

  async close(): Promise<void> {
    try {
      await this.remote.close();
    } catch (err) {
      await this.#discardLocal();
      throw err;
    }
    const handle = this.#local;
    if (handle === undefined) return;
    this.#local = undefined;
    try {
      await handle.close();
      await rename(`${this.copy.path}.tmp`, this.copy.path);
      const record: LocalCopyRecord = { location: this.copy.location, size: this.#size, crc32: this.#crc };
      await writeFile(`${this.copy.path}${RECORD_SUFFIX}.tmp`, JSON.stringify(record));
      await rename(`${this.copy.path}${RECORD_SUFFIX}.tmp`, `${this.copy.path}${RECORD_SUFFIX}`);
    } catch (err) {
      this.copy.log(`local recovery: the local copy of ${this.copy.location} failed (${message(err)}); a restore reads it remotely`);
      await rm(this.copy.path, { force: true }).catch(() => undefined);
    }
  }

  async abort(): Promise<void> {
    await this.#discardLocal();
    await this.remote.abort();
  }

  async #drop(err: unknown): Promise<void> {
    this.copy.log(`local recovery: writing the local copy of ${this.copy.location} failed (${message(err)}); a restore reads it remotely`);
    await this.#discardLocal();
  }

  async #discardLocal(): Promise<void> {
    const handle = this.#local;
    this.#local = undefined;
    await handle?.close().catch(() => undefined);
    await rm(`${this.copy.path}.tmp`, { force: true }).catch(() => undefined);
  }
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
