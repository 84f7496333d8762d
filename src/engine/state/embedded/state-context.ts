/**
 * What the on-disk backend's handles share (embedded-state-handles.ts): the value codec, key
 * strings (store keys as latin1 strings, one char per byte, so they compare as the bytes do), and
 * per state a StateContext: the state's id, the current key's prefix, reads through the cache and
 * ranges over one key's entries.
 */
import { Unpackr } from 'msgpackr';
import { UserError } from '../../../errors.ts';
import { decodeScalar, encodeScalar, NOT_SCALAR } from '../../../format/scalar-value.ts';
import type { ValueDecoder } from '../../../format/value-codec.ts';
import type { ChangeRecorder } from '../change-tracking.ts';
import type { CurrentKey } from '../current-key.ts';
import type { RegisteredStateInfo } from '../state-descriptors.ts';
import type { EmbeddedStore } from './embedded-store.ts';
import { bytesToLatin1, latin1ToBytes } from './memory-store.ts';
import { prefixEnd } from './state-keys.ts';
import type { WriteBackCache } from './write-back-cache.ts';

export interface ValueCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/**
 * Values as MessagePack (value-codec.ts; `packr` is `createValuePackr()`'s). A number, boolean or
 * null is encoded and decoded by scalar-value.ts, byte for byte as that packer and msgpackr's
 * decoder would (which allocate a DataView per value read, and more per value written); another
 * value that is no map or array (a string, a 64-bit integer) skips the decoder's key checks.
 * Bytes that may hold a binary value are copied first: msgpackr hands out binary values as views
 * of its input, which is the cache's own copy.
 */
export function valueCodecOf(packr: { pack(value: unknown): Uint8Array }, unpackr: ValueDecoder): ValueCodec {
  const scalars = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', copyBuffers: true });
  return {
    encode: (value) => encodeScalar(value) ?? packr.pack(value),
    decode: (bytes) => {
      const scalar = decodeScalar(bytes);
      if (scalar !== NOT_SCALAR) return scalar;
      const b = bytes[0]!;
      const container = (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
      if (!container) return scalars.unpack(bytes);
      const mayHoldBinary = bytes.includes(0xc4) || bytes.includes(0xc5) || bytes.includes(0xc6);
      // Uint8Array's slice copies (the bytes may be a Buffer, whose slice is a view).
      return unpackr.unpackMultiple(mayHoldBinary ? Uint8Array.prototype.slice.call(bytes) : bytes)[0];
    },
  };
}

// Sized once, so that filling it in any order keeps V8's fast (holey) elements.
const U16_CHARS = new Array<string | undefined>(0x10000);

/**
 * Two chars, big-endian: how key groups, state ids and list sequences appear in key strings.
 * Made once per number: every record builds its key's prefix from two of them, and making them
 * anew was 48 bytes a record, 7% of the record path's allocations (the keyed count, lmdb).
 */
export function u16Chars(n: number): string {
  return n < 0x10000 ? (U16_CHARS[n] ??= String.fromCharCode(n >>> 8, n & 0xff)) : String.fromCharCode(n >>> 8, n & 0xff);
}

export function u32Chars(n: number): string {
  return String.fromCharCode((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Store entries read per store snapshot when a map or list is iterated. */
const RANGE_CHUNK = 512;

/** What every handle of one state shares: the state, its id, the current key, the cache, the store. */
export class StateContext {
  #forKeyString = '';
  #forGroup = -1;
  #prefix = '';
  /** Set while changes are tracked (the backend's trackChanges). */
  recorder: ChangeRecorder | undefined;

  constructor(
    public info: RegisteredStateInfo,
    readonly id: number,
    readonly current: CurrentKey,
    readonly cache: WriteBackCache,
    readonly store: () => EmbeddedStore,
    readonly codec: ValueCodec,
  ) {}

  /** `group | key | state id` of the current key, as a key string; memoized per key. */
  prefix(): string {
    const keyString = this.current.keyString;
    const group = this.current.keyGroup;
    if (keyString !== this.#forKeyString || group !== this.#forGroup) {
      this.#prefix = u16Chars(group) + keyString + u16Chars(this.id);
      this.#forKeyString = keyString;
      this.#forGroup = group;
    }
    return this.#prefix;
  }

  /** The current key's entries of this state (`prefix`, from `prefix()`) were written or deleted around `write`. */
  changed(prefix: string): void {
    if (this.recorder !== undefined) this.recorder.mark(this.current.keyGroup, prefix);
  }

  /**
   * Writes (`bytes`) or deletes (null) store key `key` of the current key (`prefix`, from
   * `prefix()`; `prefixLength` for the entries of maps and lists) through the cache, and records
   * the prefix changed, unless the cache says the key was written since its last freeze or flush:
   * that write recorded it in the current interval already (the recorder's sequence advances
   * with each freeze), and recording it again would set the same sequence. Every write through the
   * cache that is recorded comes through here, the mark right after it (also when the write
   * throws), so the rule holds; a key the cache holds as pending that nothing recorded would
   * be a change lost, hence a writer that does not record (list elements, map clear) records the
   * prefix itself. With hot keys most writes hit a key written already: issue 13's hot workload
   * (profile-engine, lmdb, 5M records on 1M keys) marks 1.3M times instead of 5.2M, and `mark`
   * fell from 6.0% to 4.0% of the processing thread's samples (the rest: first changes of cold keys).
   */
  write(prefix: string, key: string, bytes: Uint8Array | null, prefixLength = 0): void {
    let again = false;
    try {
      again = bytes === null ? this.cache.delete(key, prefixLength) : this.cache.put(key, bytes, prefixLength);
    } finally {
      if (!again && this.recorder !== undefined) this.recorder.mark(this.current.keyGroup, prefix);
    }
  }

  read(key: string, prefixLength = 0): unknown {
    const bytes = this.cache.get(key, prefixLength);
    return bytes === undefined ? undefined : this.codec.decode(bytes);
  }

  /**
   * Every entry under `prefix` as [suffix, bytes]: the store's with the cache's changes (as of the
   * start) over them. The store is read RANGE_CHUNK entries at a time, each chunk from a store
   * snapshot released before the chunk is handed out, so an iteration abandoned half-way holds
   * nothing (an LMDB snapshot holds a reader slot). Changes made while iterating may or may not
   * be seen, as in Flink.
   */
  *range(prefix: string): Generator<[string, Uint8Array]> {
    const cached = this.cache.under(prefix);
    const start = latin1ToBytes(prefix);
    const end = prefixEnd(start);
    let from = start;
    for (;;) {
      const chunk: (readonly [Uint8Array, Uint8Array])[] = [];
      const snapshot = this.store().snapshot();
      try {
        for (const entry of snapshot.range(from, end)) {
          chunk.push(entry);
          if (chunk.length === RANGE_CHUNK) break;
        }
      } finally {
        snapshot.release();
      }
      for (const [key, value] of chunk) {
        const suffix = bytesToLatin1(key.subarray(start.length));
        const over = cached.get(suffix);
        if (over === undefined) yield [suffix, value];
        else {
          cached.delete(suffix);
          if (over !== null) yield [suffix, over];
        }
      }
      if (chunk.length < RANGE_CHUNK) break;
      // Just after the last key read: the key followed by a zero byte.
      const last = chunk[chunk.length - 1]![0];
      from = new Uint8Array(last.length + 1);
      from.set(last);
    }
    for (const [suffix, bytes] of cached) if (bytes !== null) yield [suffix, bytes];
  }

  checkElement(value: unknown, what: string): void {
    if (value === undefined || value === null) throw new UserError(`state '${this.info.name}': cannot add ${String(value)} to a ${what}`);
  }
}
