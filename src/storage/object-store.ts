/**
 * Where snapshot bytes live. The format code reads and writes only through this interface, so
 * a snapshot on local disk and one in S3 are the same thing to it.
 *
 * Keys are relative, '/'-separated paths below the store's root (see `snapshot-paths.ts`, the
 * one place that makes them); a store never sees an absolute path or a `..` segment.
 *
 * Consistency contract (every implementation keeps all of it):
 * 1. An object written through `createWriter` is visible under its key only after `close()`
 *    resolves, and from then on it is durable (local: fsync'd; S3: the upload completed).
 *    A writer that is aborted, or whose process dies before `close()` resolves, leaves either
 *    nothing or an object that no `_metadata` refers to (garbage, never state).
 * 2. `publish` is all-or-nothing: a reader that gets the key sees either no object or the whole
 *    new bytes, never a prefix. It resolves only once the object is durable. Metadata, which
 *    makes a snapshot exist, is written with `publish`, after every data object has closed.
 * 3. After a write or publish resolves, `stat`, `get`, `getRange` and `list` from this process
 *    see it (read-after-write; S3 gives this since 2020, local disk trivially).
 * 4. `delete` is idempotent: deleting a missing key succeeds.
 * 5. A missing object makes `get`, `getRange` throw `ObjectNotFoundError`; any other failure
 *    (permissions, network, a missing bucket) is a `UserError` that names the location.
 */
import { UserError } from '../errors.ts';

export interface ObjectInfo {
  /** Relative key below the store root. */
  readonly key: string;
  readonly size: number;
}

export interface ObjectWriter {
  /** Appends bytes; the caller may reuse `chunk` once the promise resolves. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the object durable and visible under its key (contract 1). */
  close(): Promise<void>;
  /** Gives up: nothing becomes visible under the key. Safe to call after a failed write. */
  abort(): Promise<void>;
}

export interface ObjectStore {
  /** Where this store is, for messages: a local directory or an `s3://bucket/prefix` URL. */
  readonly location: string;
  /** The full location of one key, for messages: a local path or an s3:// URL. */
  describe(key: string): string;
  /** Size of an object, or undefined when there is none. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /**
   * What `stat` of each key says, for many keys at once, where one request per key would be slow
   * (S3: a HEAD each); a key missing from the map is undefined too. Absent: the caller stats each.
   * A failure (a listing refused, say) lets the caller stat each key instead.
   */
  statMany?(keys: readonly string[]): Promise<Map<string, ObjectInfo>>;
  /** The whole object. */
  get(key: string): Promise<Uint8Array>;
  /**
   * `length` bytes from `offset`. Returns fewer bytes only when the object is shorter (the
   * caller decides whether that is truncation).
   */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** A streaming writer for a new object (contract 1). Overwrites any object under the key. */
  createWriter(key: string): Promise<ObjectWriter>;
  /** Writes a small object atomically and durably (contract 2). */
  publish(key: string, bytes: Uint8Array): Promise<void>;
  /** Every object whose key starts with `prefix` ('' for all), in any order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes one object (contract 4). */
  delete(key: string): Promise<void>;
  /**
   * Local recovery (local-first-store.ts) serves some objects from local copies whose bytes it
   * does not check: the reader's checksums do. A reader whose check failed on bytes of `key` (for
   * `problem`, a line's worth) calls this: when some of them came from such a copy, the copy is
   * not read again and a store that reads the original is returned, to read those bytes from
   * instead; undefined (or absent) when they came from the original, whose damage it is.
   */
  distrustCopy?(key: string, problem: string): Promise<ObjectStore | undefined>;
  /**
   * A store over the directory `levels` above this one, with the same access (a version 3
   * snapshot's shared files lie under its checkpoint root, two above it: FORMAT.md 3.4);
   * undefined when there is none. This store itself never reads outside its own directory.
   */
  storeAbove?(levels: number): ObjectStore | undefined;
  /**
   * The directory on local disk where object `key` is the file `<directory>/<key>`, for a reader
   * on another thread (the chain rewrite thread); undefined, or absent, when objects are not local files.
   */
  localDirectory?(): string | undefined;
  /**
   * Puts a copy of `source`'s object `sourceKey` under `key` without the bytes passing through
   * this process, where the storage can (a hard link on one local file system, a server-side
   * CopyObject within one S3 endpoint); durable and visible as a closed writer's object
   * (contract 1). Undefined: it cannot here, the caller streams the bytes (copy-object.ts).
   * Only for immutable objects (snapshot data files): a hard link shares later changes.
   */
  copyFrom?(source: ObjectStore, sourceKey: string, key: string): Promise<CopyHow | undefined>;
}

/** How `copyObject` brought an object over: for reports and benchmarks. */
export type CopyHow = 'linked' | 'copied' | 'server-side' | 'streamed';

/** Thrown by `get`/`getRange` for a key with no object (contract 5). */
export class ObjectNotFoundError extends UserError {
  constructor(readonly where: string) {
    super(`${where}: no such file or object`);
  }
}
