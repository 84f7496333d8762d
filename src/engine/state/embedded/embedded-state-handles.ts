/**
 * The state handles of the on-disk backend (embedded-keyed-state-backend.ts), over the write-back
 * cache (write-back-cache.ts). Every value is MessagePack-encoded when written and decoded when
 * read, so what a caller gets or gives is never the stored value: the handle contract
 * (keyed-state-backend.ts) holds for user and engine handles alike, without copies.
 *
 * Layout per state kind, under the prefix `group | key | state id` (state-keys.ts):
 * - value, reducing, aggregating, timers: one entry at the prefix itself.
 * - map: one entry per user key at `prefix | canonical user key`, whose value is the user value;
 *   get/put/remove/contains touch that entry alone, iteration reads the key's prefix range.
 *   A key has map state exactly when it has at least one such entry.
 * - list: a count at the prefix itself and the elements at `prefix | sequence (4 bytes, BE)`,
 *   0 to count - 1. `add` writes one element and the count, never the elements before it (Flink's
 *   RocksDB list state appends with a merge operator, which LMDB lacks; a count is the portable
 *   way to know the next sequence without reading the list). `update` and `clear` delete the
 *   elements by sequence, with no range read. 2^32 elements per key at most.
 */
import { Unpackr } from 'msgpackr';
import { UserError } from '../../../errors.ts';
import { decodeCanonicalKey } from '../../../format/canonical-key.ts';
import type { ValueDecoder } from '../../../format/value-codec.ts';
import { deepCopy } from '../copy-value.ts';
import type { CurrentKey } from '../current-key.ts';
import type { AggregatingState, ListState, MapState, RawKeyedState, ReducingState, ValueState } from '../keyed-state-handles.ts';
import { keyStringOf } from '../key-string.ts';
import type { AggregateFunction, RegisteredStateInfo } from '../state-descriptors.ts';
import type { EmbeddedStore } from './embedded-store.ts';
import { latin1ToBytes, bytesToLatin1 } from './memory-store.ts';
import { prefixEnd } from './state-keys.ts';
import type { WriteBackCache } from './write-back-cache.ts';

export interface ValueCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/**
 * Values as MessagePack (value-codec.ts). A value that is no map or array (a number, a string:
 * most state values) skips the decoder's key checks. Bytes that may hold a binary value are copied
 * first: msgpackr hands out binary values as views of its input, which is the cache's own copy.
 */
export function valueCodecOf(packr: { pack(value: unknown): Uint8Array }, unpackr: ValueDecoder): ValueCodec {
  const scalars = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', copyBuffers: true });
  return {
    encode: (value) => packr.pack(value),
    decode: (bytes) => {
      const b = bytes[0]!;
      const container = (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
      if (!container) return scalars.unpack(bytes);
      const mayHoldBinary = bytes.includes(0xc4) || bytes.includes(0xc5) || bytes.includes(0xc6);
      // Uint8Array's slice copies (the bytes may be a Buffer, whose slice is a view).
      return unpackr.unpackMultiple(mayHoldBinary ? Uint8Array.prototype.slice.call(bytes) : bytes)[0];
    },
  };
}

/** Two chars, big-endian: how key groups, state ids and list sequences appear in key strings. */
export function u16Chars(n: number): string {
  return String.fromCharCode(n >>> 8, n & 0xff);
}

function u32Chars(n: number): string {
  return String.fromCharCode((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

const MAX_LIST_LENGTH = 0xffffffff;

/** Store entries read per store snapshot when a map or list is iterated. */
const RANGE_CHUNK = 512;

/** What every handle of one state shares: the state, its id, the current key, the cache, the store. */
export class StateContext {
  #forKeyString = '';
  #forGroup = -1;
  #prefix = '';

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

export class EmbeddedValueState<T> implements ValueState<T> {
  constructor(private readonly s: StateContext) {}

  value(): T | undefined {
    return this.s.read(this.s.prefix()) as T | undefined;
  }

  update(value: T | undefined): void {
    if (value === undefined) this.clear();
    else this.s.cache.put(this.s.prefix(), this.s.codec.encode(value));
  }

  clear(): void {
    this.s.cache.delete(this.s.prefix());
  }
}

export class EmbeddedRawKeyedState implements RawKeyedState {
  readonly #value: EmbeddedValueState<unknown>;

  constructor(s: StateContext) {
    this.#value = new EmbeddedValueState(s);
  }

  get(): unknown {
    return this.#value.value();
  }

  put(value: unknown): void {
    this.#value.update(value);
  }

  remove(): void {
    this.#value.clear();
  }
}

export class EmbeddedReducingState<T> implements ReducingState<T> {
  constructor(
    private readonly s: StateContext,
    private readonly reduce: (accumulated: T, value: T) => T,
  ) {}

  get(): T | undefined {
    return this.s.read(this.s.prefix()) as T | undefined;
  }

  add(value: T): void {
    this.s.checkElement(value, 'reducing state');
    const prefix = this.s.prefix();
    const current = this.s.read(prefix) as T | undefined;
    // The added value is copied: the reduce function may keep or change it.
    this.s.cache.put(prefix, this.s.codec.encode(current === undefined ? value : this.reduce(current, deepCopy(value))));
  }

  clear(): void {
    this.s.cache.delete(this.s.prefix());
  }
}

export class EmbeddedAggregatingState<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    private readonly s: StateContext,
    private readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {}

  get(): OUT | undefined {
    const acc = this.s.read(this.s.prefix()) as ACC | undefined;
    return acc === undefined ? undefined : this.aggregate.getResult(acc);
  }

  add(value: IN): void {
    const prefix = this.s.prefix();
    const acc = (this.s.read(prefix) as ACC | undefined) ?? this.aggregate.createAccumulator();
    this.s.cache.put(prefix, this.s.codec.encode(this.aggregate.add(deepCopy(value), acc)));
  }

  clear(): void {
    this.s.cache.delete(this.s.prefix());
  }
}

export class EmbeddedListState<T> implements ListState<T> {
  constructor(private readonly s: StateContext) {}

  #count(prefix: string): number {
    return (this.s.read(prefix, prefix.length) as number | undefined) ?? 0;
  }

  get(): Iterable<T> {
    const prefix = this.s.prefix();
    const count = this.#count(prefix);
    if (count === 0) return [];
    // Hot lists are all in the cache: no store range needed.
    const out: T[] = [];
    for (let i = 0; i < count; i++) {
      const bytes = this.s.cache.peek(prefix + u32Chars(i));
      if (bytes === undefined || bytes === null) break;
      out.push(this.s.codec.decode(bytes) as T);
    }
    if (out.length === count) return out;
    const entries = [...this.s.range(prefix)].filter(([suffix]) => suffix.length > 0);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return entries.map(([, bytes]) => this.s.codec.decode(bytes) as T);
  }

  add(value: T): void {
    this.addAll([value]);
  }

  addAll(values: Iterable<T>): void {
    const added = [...values];
    if (added.length === 0) return;
    for (const v of added) this.s.checkElement(v, 'list state');
    const prefix = this.s.prefix();
    const count = this.#count(prefix);
    if (count + added.length > MAX_LIST_LENGTH) throw new UserError(`state '${this.s.info.name}': a list state holds at most ${MAX_LIST_LENGTH} elements per key`);
    for (let i = 0; i < added.length; i++) this.s.cache.put(prefix + u32Chars(count + i), this.s.codec.encode(added[i]), prefix.length);
    this.s.cache.put(prefix, this.s.codec.encode(count + added.length), prefix.length);
  }

  update(values: Iterable<T>): void {
    const list = [...values];
    for (const v of list) this.s.checkElement(v, 'list state');
    this.clear();
    this.addAll(list);
  }

  clear(): void {
    const prefix = this.s.prefix();
    const count = this.#count(prefix);
    if (count === 0) return;
    for (let i = 0; i < count; i++) this.s.cache.delete(prefix + u32Chars(i), prefix.length);
    this.s.cache.delete(prefix, prefix.length);
  }
}

export class EmbeddedMapState<K, V> implements MapState<K, V> {
  constructor(private readonly s: StateContext) {}

  get(key: K): V | undefined {
    const prefix = this.s.prefix();
    return this.s.read(prefix + keyStringOf(key), prefix.length) as V | undefined;
  }

  put(key: K, value: V): void {
    const prefix = this.s.prefix();
    this.s.cache.put(prefix + keyStringOf(key), this.s.codec.encode(value), prefix.length);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: K): void {
    const prefix = this.s.prefix();
    this.s.cache.delete(prefix + keyStringOf(key), prefix.length);
  }

  contains(key: K): boolean {
    const prefix = this.s.prefix();
    return this.s.cache.get(prefix + keyStringOf(key), prefix.length) !== undefined;
  }

  /** Over a store snapshot taken when iteration starts, with the cache's changes of that moment. */
  *entries(): IterableIterator<readonly [K, V]> {
    for (const [suffix, bytes] of this.s.range(this.s.prefix())) yield [decodeCanonicalKey(latin1ToBytes(suffix)) as K, this.s.codec.decode(bytes) as V];
  }

  *keys(): IterableIterator<K> {
    for (const [suffix] of this.s.range(this.s.prefix())) yield decodeCanonicalKey(latin1ToBytes(suffix)) as K;
  }

  *values(): IterableIterator<V> {
    for (const [, bytes] of this.s.range(this.s.prefix())) yield this.s.codec.decode(bytes) as V;
  }

  isEmpty(): boolean {
    const prefix = this.s.prefix();
    for (const bytes of this.s.cache.under(prefix).values()) if (bytes !== null) return false;
    const it = this.s.range(prefix);
    try {
      return it.next().done === true;
    } finally {
      it.return(undefined);
    }
  }

  clear(): void {
    const prefix = this.s.prefix();
    const suffixes = [...this.s.range(prefix)].map(([suffix]) => suffix);
    for (const suffix of suffixes) this.s.cache.delete(prefix + suffix, prefix.length);
  }
}
