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
import { DATA_FILE_VERSION, DATA_HEADER_SIZE, DATA_MAGIC, FRAME_HEADER_SIZE, TARGET_FRAME_BYTES } from './layout.ts';
import type { KeyedStateKind } from './model.ts';
import { repacksAsStored } from './repacks-as-stored.ts';
import { relativePathProblem } from './snapshot-paths.ts';
import { valueEnd } from './string-keyed.ts';
import { createValuePackr, createValueUnpackr, standardValueProblem } from './value-codec.ts';

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

/**
 * One keyed entry as bytes already in a snapshot: the key in canonical encoding (FORMAT.md 5.1)
 * and the value as its state kind lays it out (5.2, 5.4). Views; copied when appended.
 */
export interface RawEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** A frame of a block as read: its item count and payload (FORMAT.md 4.2). */
export interface RawFrame {
  readonly count: number;
  readonly payload: Uint8Array;
}

/** Bytes buffered before they are handed to the store. */
const FLUSH_BYTES = 1024 * 1024;
const MAX_FRAME_ITEMS = 65_536;

export class DataFileWriter {
  readonly #store: ObjectStore;
  readonly #out: ObjectWriter;
  readonly path: string;
  readonly #pending: ByteSink;
  readonly #keys = new ByteSink();
  /** Values of a raw frame (writeRawKeyGroup) or a packed one (writeCanonicalPackedKeyGroup), which bypass msgpackr. */
  readonly #rawValues = new ByteSink();
  #rawCount = 0;
  readonly #keyEncoder = new CanonicalKeyEncoder();
  readonly #packr = createValuePackr();
  /** For the packed values repacksAsStored does not vouch for: decoded as the on-disk backends decode them. */
  readonly #unpackr = createValueUnpackr();
  #values: unknown[] = [];
  /**
   * Values made of pairs (map and timers state) are assembled at the end of a frame when msgpackr
   * would not write them as FORMAT.md 5.2 says: map user keys canonical and timer timestamps ints,
   * where msgpackr writes integers of 2^32 or more (window and timer timestamps) as float64.
   * `#assemble` is set once a value of the frame needs it; otherwise msgpackr packs the frame.
   */
  #assemble = false;
  readonly #pairEncoder = new CanonicalKeyEncoder();
  readonly #assembled = new ByteSink();
  #layout: PairLayout = 'none';
  #offset = 0;
  #blockStart = 0;
  #blockCrc = 0;
  #blockEntries = 0;
  #frameLimit = 256;
  #closed = false;

  private constructor(store: ObjectStore, out: ObjectWriter, path: string, bufferBytes: number) {
    this.#pending = new ByteSink(bufferBytes);
    this.#store = store;
    this.#out = out;
    this.path = path;
  }

  /**
   * `bufferBytes`: what the buffer of bytes not yet handed to the store starts at (it grows). A
   * file's writer takes what it hands over at once; the threads that encode a key group into
   * memory make a writer per group, and most groups are small deltas (key-group-frames.ts).
   */
  static async create(store: ObjectStore, path: string, bufferBytes = FLUSH_BYTES + 64 * 1024): Promise<DataFileWriter> {
    const problem = relativePathProblem(path);
    if (problem !== undefined) throw new InternalError(`bad data file path: ${problem}`);
    const writer = new DataFileWriter(store, await store.createWriter(path), path, bufferBytes);
    const header = Buffer.alloc(DATA_HEADER_SIZE);
    header.set(DATA_MAGIC, 0);
    header.writeUInt16BE(DATA_FILE_VERSION, 8);
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
      this.#appendCanonicalKey(label, keys[i]!, keyGroup, maxParallelism);
      this.#addValue(label, values[i]);
      if (this.#frameFull()) await this.#flushFrame(true);
    }
    return this.#endBlock(true);
  }

  /**
   * As writeCanonicalKeyGroup for a state whose values are not pairs (not map or timers state),
   * with each value given as the MessagePack bytes `createValuePackr()` wrote for it, as an
   * on-disk backend stores it: the file is byte for byte the one writeCanonicalKeyGroup writes
   * for the decoded values (same frames, same payloads, same refusals), without decoding and
   * packing again the values repacksAsStored vouches for (nearly all). A frame's values are its
   * array header and then each value as msgpackr packs it alone, which is how msgpackr packs an
   * array. Any other value is decoded and checked as writeCanonicalKeyGroup checks it.
   */
  async writeCanonicalPackedKeyGroup(
    label: string,
    kind: KeyedStateKind,
    keyGroup: number,
    maxParallelism: number,
    keys: readonly string[],
    packed: readonly Uint8Array[],
  ): Promise<WrittenBlock | null> {
    if (keys.length !== packed.length) throw new InternalError(`${label}: ${keys.length} keys for ${packed.length} packed values`);
    if (pairLayoutOf(kind) !== 'none') throw new InternalError(`${label}: a ${kind} state's values cannot be written as packed`);
    this.#beginBlock('none');
    for (let i = 0; i < keys.length; i++) {
      this.#appendCanonicalKey(label, keys[i]!, keyGroup, maxParallelism);
      const bytes = packed[i]!;
      if (repacksAsStored(bytes)) this.#appendPacked(bytes);
      else {
        // A copy: msgpackr hands out binary values as views of its input.
        const value = this.#unpackr.unpackMultiple(Uint8Array.prototype.slice.call(bytes))[0];
        this.#checkValue(label, value);
        this.#rawValues.append(this.#packr.pack(value));
      }
      this.#rawCount += 1;
      // writeCanonicalKeyGroup's #frameFull, with the values counted here.
      if (this.#rawCount >= this.#frameLimit || this.#keys.length >= TARGET_FRAME_BYTES) await this.#flushPackedFrame();
    }
    if (this.#rawCount > 0) await this.#flushPackedFrame();
    return this.#endBlock(true);
  }

  /**
   * As writeKeyGroup, for entries whose key and value bytes come from another snapshot
   * (`flink rekey`): the bytes are copied, never decoded and encoded again, so every value keeps
   * exactly the layout it was written in. Checks that each key belongs to `keyGroup`.
   */
  async writeRawKeyGroup(label: string, keyGroup: number, maxParallelism: number, entries: Entries<RawEntry>): Promise<WrittenBlock | null> {
    this.#beginBlock('none');
    const add = async (entry: RawEntry): Promise<void> => {
      const actual = keyGroupForBytes(entry.key, maxParallelism);
      if (actual !== keyGroup) throw new InternalError(`${label}: a key of key group ${actual} was filed under key group ${keyGroup}`);
      this.#keys.append(entry.key);
      this.#rawValues.append(entry.value);
      this.#rawCount += 1;
      if (this.#rawCount >= MAX_FRAME_ITEMS || this.#keys.length + this.#rawValues.length >= TARGET_FRAME_BYTES) await this.#flushRawFrame();
    };
    if (isAsync(entries)) for await (const entry of entries) await add(entry);
    else for (const entry of entries) await add(entry);
    if (this.#rawCount > 0) await this.#flushRawFrame();
    return this.#endBlock(true);
  }

  /**
   * A block made of frames read from another snapshot, each written again byte for byte (its
   * header rebuilt from count and payload, so the frame and block CRCs come out the same).
   */
  async writeFrames(frames: AsyncIterable<RawFrame> | Iterable<RawFrame>): Promise<WrittenBlock | null> {
    this.#beginBlock('none');
    if (isAsync(frames)) for await (const frame of frames) await this.#emitFrame(frame.count, [frame.payload]);
    else for (const frame of frames) await this.#emitFrame(frame.count, [frame.payload]);
    return this.#endBlock(false);
  }

  /**
   * How many items the next frame aims at: each frame's size sets the next one's limit, across
   * blocks. A writer that encodes blocks elsewhere (an lmdb snapshot thread) starts from this
   * writer's limit and hands its own back with `continueFrameLimit`, so the file is byte for byte
   * the one this writer would have written.
   */
  get frameLimit(): number {
    return this.#frameLimit;
  }

  continueFrameLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FRAME_ITEMS) throw new InternalError(`bad frame limit ${limit}`);
    this.#frameLimit = limit;
  }

  /**
   * A deletions block of an incremental checkpoint (FORMAT.md, version 3): the keys of
   * `keyGroup` whose entries were removed since the chain's previous step, one MessagePack array
   * of canonical keys per frame. `keys` as in writeCanonicalKeyGroup (latin1 canonical bytes).
   * Returns null (and writes nothing) when there are no keys.
   */
  async writeCanonicalDeletions(label: string, keyGroup: number, maxParallelism: number, keys: readonly string[]): Promise<WrittenBlock | null> {
    this.#beginBlock('none');
    let count = 0;
    for (const key of keys) {
      const actual = murmur3_32Latin1(key, 0) % maxParallelism;
      if (actual !== keyGroup) throw new InternalError(`${label}: a deleted key of key group ${actual} was filed under key group ${keyGroup}`);
      this.#appendLatin1Key(key);
      count += 1;
      if (count >= MAX_FRAME_ITEMS || this.#keys.length >= TARGET_FRAME_BYTES) {
        await this.#emitFrame(count, [arrayHeader(count), this.#keys.view()]);
        this.#keys.clear();
        count = 0;
      }
    }
    if (count > 0) {
      await this.#emitFrame(count, [arrayHeader(count), this.#keys.view()]);
      this.#keys.clear();
    }
    return this.#endBlock(false);
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

  /** A canonical key (latin1, as writeCanonicalKeyGroup takes them) after checking it belongs to `keyGroup`. */
  #appendCanonicalKey(label: string, key: string, keyGroup: number, maxParallelism: number): void {
    const actual = murmur3_32Latin1(key, 0) % maxParallelism;
    if (actual !== keyGroup) throw new InternalError(`${label}: a key of key group ${actual} was filed under key group ${keyGroup}`);
    this.#appendLatin1Key(key);
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

  #appendPacked(bytes: Uint8Array): void {
    const n = bytes.length;
    // As #appendLatin1Key: most state values are a few bytes, which a loop copies faster than a call into C++.
    if (n > 16) return this.#rawValues.append(bytes);
    const buffer = this.#rawValues.reserve(n);
    const at = this.#rawValues.length;
    for (let i = 0; i < n; i++) buffer[at + i] = bytes[i]!;
    this.#rawValues.advance(n);
  }

  #addValue(label: string, value: unknown): void {
    if (this.#layout !== 'none') this.#checkPairs(label, value);
    this.#checkValue(label, value);
    this.#values.push(value);
  }

  #checkValue(label: string, value: unknown): void {
    const problem = standardValueProblem(value);
    if (problem !== undefined) throw new UserError(`${label}: cannot store a state value that is ${problem}`);
  }

  /** A map or timers value: an array of pairs, with valid user keys; notes if it needs #assemble. */
  #checkPairs(label: string, value: unknown): void {
    if (!Array.isArray(value) || !value.every((p) => Array.isArray(p) && p.length === 2)) {
      throw new InternalError(`${label}: a ${this.#layout} state value must be an array of pairs`);
    }
    for (const [first, second] of value as (readonly [unknown, unknown])[]) {
      if (this.#layout === 'timers') {
        if (typeof first !== 'number' || typeof second !== 'number') throw new InternalError(`${label}: a timer must be two numbers`);
        if (!packsCanonically(second)) this.#assemble = true;
      } else if (!packsCanonically(first)) {
        try {
          this.#pairEncoder.encode(first);
        } catch (err) {
          if (err instanceof InvalidKeyError) throw new UserError(`${label}: cannot store a map state user key: ${err.message}`);
          throw err;
        }
        this.#assemble = true;
      }
    }
  }

  /**
   * The frame's values laid out by hand: each pair's first element (and a timer's timestamp) in
   * canonical encoding, map user values packed by one msgpackr call for the frame (a call per
   * value would cost more than everything else here) and put in their places.
   */
  #assemblePairs(header: Uint8Array): Buffer {
    const out = this.#assembled;
    out.clear();
    out.append(header);
    const slots: number[] = [];
    const userValues: unknown[] = [];
    for (const value of this.#values as (readonly [unknown, unknown])[][]) {
      out.append(arrayHeader(value.length));
      for (const [first, second] of value) {
        out.reserve(1)[out.length] = 0x92; // a pair: fixarray of 2
        out.advance(1);
        out.append(this.#pairEncoder.encode(first));
        if (this.#layout === 'timers') {
          out.append(this.#pairEncoder.encode(second));
        } else {
          slots.push(out.length);
          userValues.push(second);
        }
      }
    }
    if (slots.length === 0) return out.view();
    const pairs = Buffer.from(out.view()); // a copy: out is rebuilt below
    const packed = this.#packr.pack(userValues);
    const first = packed[0]!;
    let position = first <= 0x9f ? 1 : first === 0xdc ? 3 : 5; // after the array header
    out.clear();
    let from = 0;
    for (const slot of slots) {
      out.append(pairs.subarray(from, slot));
      const end = valueEnd(packed, position);
      if (end < 0) throw new InternalError('msgpackr wrote a value this writer cannot walk');
      out.append(packed.subarray(position, end));
      position = end;
      from = slot;
    }
    out.append(pairs.subarray(from));
    return out.view();
  }

  #frameFull(): boolean {
    return this.#values.length >= this.#frameLimit || this.#keys.length >= TARGET_FRAME_BYTES;
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
    const values = this.#assemble ? this.#assemblePairs(header) : this.#packr.pack(this.#values);
    this.#adaptFrameLimit(await this.#emitFrame(count, keyed ? [header, this.#keys.view(), values] : [values]), count);
    this.#values = [];
    this.#assemble = false;
    this.#keys.clear();
  }

  /** Aims the next frame at the target size, judging by the bytes per item of the one just written. */
  #adaptFrameLimit(payloadLength: number, count: number): void {
    const perItem = Math.max(1, payloadLength / count);
    this.#frameLimit = Math.max(1, Math.min(MAX_FRAME_ITEMS, Math.floor(TARGET_FRAME_BYTES / perItem)));
  }

  /** A frame of writeCanonicalPackedKeyGroup: #flushFrame's payload and next frame limit, from bytes packed already. */
  async #flushPackedFrame(): Promise<void> {
    const count = this.#rawCount;
    const header = arrayHeader(count);
    this.#adaptFrameLimit(await this.#emitFrame(count, [header, this.#keys.view(), header, this.#rawValues.view()]), count);
    this.#rawCount = 0;
    this.#keys.clear();
    this.#rawValues.clear();
  }

  async #flushRawFrame(): Promise<void> {
    const header = arrayHeader(this.#rawCount);
    await this.#emitFrame(this.#rawCount, [header, this.#keys.view(), header, this.#rawValues.view()]);
    this.#rawCount = 0;
    this.#keys.clear();
    this.#rawValues.clear();
  }

  /** Appends one frame of `count` items whose payload is `parts` back to back; returns the payload length. */
  async #emitFrame(count: number, parts: readonly Uint8Array[]): Promise<number> {
    const payloadLength = parts.reduce((n, part) => n + part.length, 0);
    const frameHeader = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
    frameHeader.writeUInt32BE(payloadLength, 0);
    frameHeader.writeUInt32BE(count, 4);
    let crc = crc32(frameHeader.subarray(0, 8));
    for (const part of parts) crc = crc32(part, crc);
    frameHeader.writeUInt32BE(crc, 8);
    for (const part of [frameHeader, ...parts]) {
      this.#blockCrc = crc32(part, this.#blockCrc);
      this.#pending.append(part);
    }
    this.#offset += FRAME_HEADER_SIZE + payloadLength;
    this.#blockEntries += count;
    if (this.#pending.length >= FLUSH_BYTES) await this.#flushPending();
    return payloadLength;
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

/**
 * Whether msgpackr writes `x` exactly as its canonical key encoding (FORMAT.md 5.1): booleans,
 * well-formed strings (the shortest header, checked against the canonical encoder by
 * data-file-writer.test.ts), and numbers except NaN (one canonical bit pattern) and integers
 * outside [-2^31, 2^32) (msgpackr writes those as float64).
 */
function packsCanonically(x: unknown): boolean {
  switch (typeof x) {
    case 'boolean':
      return true;
    case 'string':
      return (x as unknown as { isWellFormed(): boolean }).isWellFormed();
    case 'number':
      return Number.isInteger(x) ? x >= -0x8000_0000 && x < 0x1_0000_0000 : !Number.isNaN(x);
    default:
      return false;
  }
}

/** Values of pairs (map and timers state), or 'none' for any other kind. */
type PairLayout = 'map' | 'timers' | 'none';

function pairLayoutOf(kind: KeyedStateKind): PairLayout {
  return kind === 'map' || kind === 'timers' ? kind : 'none';
}

function isAsync<T>(entries: Entries<T>): entries is AsyncIterable<T> {
  return typeof (entries as AsyncIterable<T>)[Symbol.asyncIterator] === 'function';
}
