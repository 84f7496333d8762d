/**
 * The state handles of the on-disk backend (embedded-keyed-state-backend.ts), over the write-back
 * cache (write-back-cache.ts), through a StateContext per state (state-context.ts). Every value
 * is MessagePack-encoded when written and decoded when read, so what a caller gets or gives is
 * never the stored value: the handle contract
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
 *
 * Every write and delete records the key's prefix (incremental checkpoints; a no-op while changes
 * are not tracked) through `StateContext.write`, which skips it when the same store key was
 * written since the cache's last freeze or flush (recorded then already): list elements are
 * written directly and recorded by the count written after them, a map's clear records its
 * prefix itself. Reads need not record, as they hand out copies.
 */
import { UserError } from '../../../errors.ts';
import { decodeCanonicalKey } from '../../../format/canonical-key.ts';
import { deepCopy } from '../copy-value.ts';
import type { AggregatingState, ListState, MapState, RawKeyedState, ReducingState, ValueState } from '../keyed-state-handles.ts';
import { keyStringOf } from '../key-string.ts';
import type { AggregateFunction } from '../state-descriptors.ts';
import { latin1ToBytes } from './memory-store.ts';
import { type StateContext, u32Chars } from './state-context.ts';

const MAX_LIST_LENGTH = 0xffffffff;


export class EmbeddedValueState<T> implements ValueState<T> {
  constructor(private readonly s: StateContext) {}

  value(): T | undefined {
    return this.s.read(this.s.prefix()) as T | undefined;
  }

  update(value: T | undefined): void {
    if (value === undefined) this.clear();
    else {
      const prefix = this.s.prefix();
      this.s.write(prefix, prefix, this.s.codec.encode(value));
    }
  }

  clear(): void {
    const prefix = this.s.prefix();
    this.s.write(prefix, prefix, null);
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
    this.s.write(prefix, prefix, this.s.codec.encode(current === undefined ? value : this.reduce(current, deepCopy(value))));
  }

  clear(): void {
    const prefix = this.s.prefix();
    this.s.write(prefix, prefix, null);
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
    this.s.write(prefix, prefix, this.s.codec.encode(this.aggregate.add(deepCopy(value), acc)));
  }

  clear(): void {
    const prefix = this.s.prefix();
    this.s.write(prefix, prefix, null);
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
    // The elements are not recorded one by one: the count's write records the prefix (a list is changed exactly when its count is written).
    this.s.write(prefix, prefix, this.s.codec.encode(count + added.length), prefix.length);
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
    this.s.write(prefix, prefix, null, prefix.length);
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
    this.s.write(prefix, prefix + keyStringOf(key), this.s.codec.encode(value), prefix.length);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: K): void {
    const prefix = this.s.prefix();
    this.s.write(prefix, prefix + keyStringOf(key), null, prefix.length);
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
    // Recorded once for all its entries, also if a delete throws: a later write of one of them is told it is written already (StateContext.write).
    try {
      for (const suffix of suffixes) this.s.cache.delete(prefix + suffix, prefix.length);
    } finally {
      this.s.changed(prefix);
    }
  }
}
