/**
 * Writes one data file of a snapshot (docs/FORMAT.md section 4): a header, then blocks of
 * checksummed frames, streamed to the store so a multi-gigabyte state never sits in memory.
 * One writer per subtask; the block references it returns go into `_metadata` later.
 */
import { InternalError, UserError } from '../errors.ts';
import type { ObjectStore, ObjectWriter } from '../storage/object-store.ts';
import { ByteSink, arrayHeader } from './byte-sink.ts';
import { CanonicalKeyEncoder, InvalidKeyError } from './canonical-key.ts';
import { crc32 } from './crc32.ts';
import { keyGroupForBytes } from './key-groups.ts';
import { murmur3_32Latin1 } from './murmur3.ts';
import { DATA_HEADER_SIZE, DATA_MAGIC, FORMAT_VERSION, FRAME_HEADER_SIZE, TARGET_FRAME_BYTES } from './layout.ts';
import type { KeyedStateKind } from './model.ts';
import { relativePathProblem } from './snapshot-paths.ts';
import { createValuePackr, standardValueProblem } from './value-codec.ts';

/** A block as written: the file is named by path until the snapshot's file table numbers it. */
export interface WrittenBlock {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  readonly entries: number;
  readonly crc: number;
}

export interface WrittenFile {
  readonly path: string;
  readonly size: number;
}

export type Entries<T> = Iterable<T> | AsyncIterable<T>;

/** Bytes buffered before they are handed to the store. */
const FLUSH_BYTES = 1024 * 1024;
const MAX_FRAME_ITEMS = 65_536;

export class DataFileWriter {
  readonly #store: ObjectStore;
  readonly #out: ObjectWriter;
  readonly path: string;
  readonly #pending = new ByteSink(FLUSH_BYTES + 64 * 1024);
  readonly #keys = new ByteSink();
  readonly #keyEncoder = new CanonicalKeyEncoder();
  readonly #packr = createValuePackr();
  #values: unknown[] = [];
  /**
   * Values of pairs, already encoded: the user keys of a map state are canonical and timer
   * timestamps are integers (FORMAT.md 5.2), which msgpackr does not write (it writes integers of
   * 2^32 or more, such as window and timer timestamps, as float64), so each pair is assembled here.
   */
  readonly #pairValues = new ByteSink();
  readonly #pairEncoder = new CanonicalKeyEncoder();
  #layout: PairLayout = 'none';
  #offset = 0;
  #blockStart = 0;
  #blockCrc = 0;
  #blockEntries = 0;
  #frameLimit = 256;
  #closed = false;

  private constructor(store: ObjectStore, out: ObjectWriter, path: string) {
    this.#store = store;
    this.#out = out;
    this.path = path;
  }

  static async create(store: ObjectStore, path: string): Promise<DataFileWriter> {
    const problem = relativePathProblem(path);
    if (problem !== undefined) throw new InternalError(`bad data file path: ${problem}`);
    const writer = new DataFileWriter(store, await store.createWriter(path), path);
    const header = Buffer.alloc(DATA_HEADER_SIZE);
    header.set(DATA_MAGIC, 0);
    header.writeUInt16BE(FORMAT_VERSION, 8);
    header.writeUInt16BE(0, 10);
    header.writeUInt32BE(crc32(header.subarray(0, 12)), 12);
    writer.#pending.append(header);
    writer.#offset = DATA_HEADER_SIZE;
    return writer;
  }

  /**
   * One key group of one keyed state: `[key, value]` pairs. Checks that each key belongs to
   * `keyGroup`, since a key in the wrong group would be restored to the wrong subtask.
   * Returns null (and writes nothing) when there are no entries.
   */
  async writeKeyGroup(
    label: string,
    kind: KeyedStateKind,
    keyGroup: number,
    maxParallelism: number,
    entries: Entries<readonly [unknown, unknown]>,
  ): Promise<WrittenBlock | null> {
    this.#beginBlock(pairLayoutOf(kind));
    const add = (key: unknown, value: unknown): void => {
      const bytes = this.#keyEncoder.encode(key);
      const actual = keyGroupForBytes(bytes, maxParallelism);
      if (actual !== keyGroup) {
        throw new InternalError(`${label}: a key of key group ${actual} was filed under key group ${keyGroup}`);
      }
      this.#keys.append(bytes);
      this.#addValue(label, value);
    };
    if (isAsync(entries)) {
      for await (const [key, value] of entries) {
        add(key, value);
        if (this.#frameFull()) await this.#flushFrame(true);
      }
    } else {
      for (const [key, value] of entries) {
        add(key, value);
        if (this.#frameFull()) await this.#flushFrame(true);
      }
    }
    return this.#endBlock(true);
  }

  /**
   * As writeKeyGroup, for keys already in canonical form: `keys[i]` holds the canonical bytes of
   * the key of `values[i]` with one char per byte (latin1), as an engine that indexes its state
   * by those bytes keeps them. The bytes are copied, not encoded again; the file is the same as
   * writeKeyGroup writes for the decoded keys.
   */
  async writeCanonicalKeyGroup(
    label: string,
    kind: KeyedStateKind,
    keyGroup: number,
    maxParallelism: number,
    keys: readonly string[],
    values: readonly unknown[],
  ): Promise<WrittenBlock | null> {
    if (keys.length !== values.length) throw new InternalError(`${label}: ${keys.length} keys for ${values.length} values`);
    this.#beginBlock(pairLayoutOf(kind));
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const actual = murmur3_32Latin1(key, 0) % maxParallelism;
      if (actual !== keyGroup) {
        throw new InternalError(`${label}: a key of key group ${actual} was filed under key group ${keyGroup}`);
      }
      this.#appendLatin1Key(key);
      this.#addValue(label, values[i]);
      if (this.#frameFull()) await this.#flushFrame(true);
    }
    return this.#endBlock(true);
  }

  /** One subtask's partition of a list operator state. */
  async writeListPartition(label: string, elements: Entries<unknown>): Promise<WrittenBlock | null> {
    this.#beginBlock('none');
    for await (const element of elements) {
      this.#addValue(label, element);
      if (this.#frameFull()) await this.#flushFrame(false);
    }
    return this.#endBlock(false);
  }

  /** One subtask's copy of a broadcast state: `[key, value]` pairs with canonical keys. */
  async writeBroadcastPartition(label: string, entries: Entries<readonly [unknown, unknown]>): Promise<WrittenBlock | null> {
    this.#beginBlock('none');
    for await (const [key, value] of entries) {
      this.#keys.append(this.#keyEncoder.encode(key));
      this.#addValue(label, value);
      if (this.#frameFull()) await this.#flushFrame(true);
    }
    return this.#endBlock(true);
  }

  /** Flushes, makes the file durable and returns its final size. */
  async close(): Promise<WrittenFile> {
    this.#checkOpen();
    this.#closed = true;
    await this.#flushPending();
    await this.#out.close();
    return { path: this.path, size: this.#offset };
  }

  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#out.abort();
  }

  /** Where the file is, for messages. */
  describe(): string {
    return this.#store.describe(this.path);
  }

  #appendLatin1Key(key: string): void {
    const n = key.length;
    const buffer = this.#keys.reserve(n);
    const at = this.#keys.length;
    // A loop beats a call into C++ for the short keys most states have.
    if (n <= 64) for (let i = 0; i < n; i++) buffer[at + i] = key.charCodeAt(i);
    else buffer.write(key, at, n, 'latin1');
    this.#keys.advance(n);
  }

  #addValue(label: string, value: unknown): void {
    if (this.#layout !== 'none') return this.#addPairs(label, value);
    const problem = standardValueProblem(value);
    if (problem !== undefined) throw new UserError(`${label}: cannot store a state value that is ${problem}`);
    this.#values.push(value);
  }

  /**
   * A map state's value, [userKey, userValue] pairs with each key written canonically, or a
   * timers value, [domain, timestamp] pairs of numbers written as canonical keys are (integers
   * as ints, whatever their size).
   */
  #addPairs(label: string, value: unknown): void {
    if (!Array.isArray(value) || !value.every((p) => Array.isArray(p) && p.length === 2)) {
      throw new InternalError(`${label}: a ${this.#layout} state value must be an array of pairs`);
    }
    const pairs = value as (readonly [unknown, unknown])[];
    const sink = this.#pairValues;
    sink.append(arrayHeader(pairs.length));
    for (const [first, second] of pairs) {
      sink.append(PAIR_HEADER);
      try {
        sink.append(this.#pairEncoder.encode(first));
        if (this.#layout === 'timers') {
          if (typeof second !== 'number') throw new InternalError(`${label}: a timer timestamp must be a number`);
          sink.append(this.#pairEncoder.encode(second));
          continue;
        }
      } catch (err) {
        if (err instanceof InvalidKeyError) throw new UserError(`${label}: cannot store a map state user key: ${err.message}`);
        throw err;
      }
      const problem = standardValueProblem(second);
      if (problem !== undefined) throw new UserError(`${label}: cannot store a state value that is ${problem}`);
      sink.append(this.#packr.pack(second));
    }
    this.#values.push(undefined); // counts the item; its bytes are in #pairValues
  }

  #frameFull(): boolean {
    return this.#values.length >= this.#frameLimit || this.#keys.length + this.#pairValues.length >= TARGET_FRAME_BYTES;
  }

  #beginBlock(layout: PairLayout): void {
    this.#checkOpen();
    this.#layout = layout;
    this.#blockStart = this.#offset;
    this.#blockCrc = 0;
    this.#blockEntries = 0;
  }

  async #endBlock(keyed: boolean): Promise<WrittenBlock | null> {
    if (this.#values.length > 0) await this.#flushFrame(keyed);
    if (this.#blockEntries === 0) return null;
    return {
      path: this.path,
      offset: this.#blockStart,
      length: this.#offset - this.#blockStart,
      entries: this.#blockEntries,
      crc: this.#blockCrc,
    };
  }

  async #flushFrame(keyed: boolean): Promise<void> {
    const count = this.#values.length;
    const header = arrayHeader(count);
    const values = this.#layout !== 'none' ? Buffer.concat([header, this.#pairValues.view()]) : this.#packr.pack(this.#values);
    const keys = this.#keys.view();
    const payloadLength = (keyed ? header.length + keys.length : 0) + values.length;
    const frameHeader = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
    frameHeader.writeUInt32BE(payloadLength, 0);
    frameHeader.writeUInt32BE(count, 4);
    let crc = crc32(frameHeader.subarray(0, 8));
    if (keyed) crc = crc32(keys, crc32(header, crc));
    crc = crc32(values, crc);
    frameHeader.writeUInt32BE(crc, 8);

    const parts = keyed ? [frameHeader, header, keys, values] : [frameHeader, values];
    for (const part of parts) {
      this.#blockCrc = crc32(part, this.#blockCrc);
      this.#pending.append(part);
    }
    this.#offset += FRAME_HEADER_SIZE + payloadLength;
    this.#blockEntries += count;
    // Aim the next frame at the target size, judging by the bytes per item of this one.
    const perItem = Math.max(1, payloadLength / count);
    this.#frameLimit = Math.max(1, Math.min(MAX_FRAME_ITEMS, Math.floor(TARGET_FRAME_BYTES / perItem)));
    this.#values = [];
    this.#pairValues.clear();
    this.#keys.clear();
    if (this.#pending.length >= FLUSH_BYTES) await this.#flushPending();
  }

  async #flushPending(): Promise<void> {
    if (this.#pending.length === 0) return;
    await this.#out.write(this.#pending.view());
    this.#pending.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new InternalError(`data file ${this.path} is already closed`);
  }
}

const PAIR_HEADER = arrayHeader(2);

/** Values this writer assembles pair by pair (see #addPairs), or 'none' for msgpackr's encoding. */
type PairLayout = 'map' | 'timers' | 'none';

function pairLayoutOf(kind: KeyedStateKind): PairLayout {
  return kind === 'map' || kind === 'timers' ? kind : 'none';
}

function isAsync<T>(entries: Entries<T>): entries is AsyncIterable<T> {
  return typeof (entries as AsyncIterable<T>)[Symbol.asyncIterator] === 'function';
}
