/**
 * The state handles user functions hold (Flink's ValueState, ListState, MapState, ReducingState,
 * AggregatingState). A handle is created once per state name and reads the backend's CurrentKey
 * on every call, so it is reused for every record.
 *
 * Aliasing contract (as Flink's heap backend): what a handle returns may be the stored object
 * itself, and what `update`/`add`/`put` receive is stored as is. Mutating a returned object
 * changes the state for this key without update(); that is allowed, and snapshot isolation holds
 * because a value still held by an in-flight snapshot is copied before it is handed out
 * (state-table.ts). Not allowed: keeping a returned or stored object past the current record
 * and mutating it later; copy it if it must outlive the call.
 */
import { UserError } from '../../errors.ts';
import type { CurrentKey } from './current-key.ts';
import { keyStringOf } from './key-string.ts';
import type { AggregateFunction } from './state-descriptors.ts';
import type { StateTable } from './state-table.ts';
import type { UserMap, UserMapPair } from './state-value-layout.ts';

export interface ValueState<T> {
  /** The value for the current key, or undefined if it has none. */
  value(): T | undefined;
  /** Stores `value`; undefined clears the state, as Flink's update(null). */
  update(value: T | undefined): void;
  clear(): void;
}

export interface ListState<T> {
  /** The elements for the current key; empty when there are none. */
  get(): Iterable<T>;
  add(value: T): void;
  addAll(values: Iterable<T>): void;
  /** Replaces all elements; an empty list clears the state. */
  update(values: Iterable<T>): void;
  clear(): void;
}

export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  remove(key: K): void;
  contains(key: K): boolean;
  entries(): IterableIterator<readonly [K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
  clear(): void;
}

export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}

/** Per-key storage for engine-internal state (timers): the value is stored and written as is. */
export interface RawKeyedState {
  get(): unknown;
  put(value: unknown): void;
  remove(): void;
}

abstract class HandleBase {
  constructor(
    protected readonly table: StateTable,
    protected readonly current: CurrentKey,
  ) {}

  protected read(): unknown {
    return this.table.read(this.current.index, this.current.keyString);
  }

  protected write(value: unknown): void {
    this.table.write(this.current.index, this.current.keyString, this.current.key, value);
  }

  clear(): void {
    this.table.remove(this.current.index, this.current.keyString);
  }

  protected checkElement(value: unknown, what: string): void {
    if (value === undefined || value === null) {
      throw new UserError(`state '${this.table.info.name}': cannot add ${String(value)} to a ${what}`);
    }
  }
}

export class HeapValueState<T> extends HandleBase implements ValueState<T> {
  value(): T | undefined {
    return this.read() as T | undefined;
  }

  update(value: T | undefined): void {
    if (value === undefined) this.clear();
    else this.write(value);
  }
}

export class HeapListState<T> extends HandleBase implements ListState<T> {
  get(): Iterable<T> {
    return (this.read() as T[] | undefined) ?? [];
  }

  add(value: T): void {
    this.checkElement(value, 'list state');
    const list = this.read() as T[] | undefined;
    if (list === undefined) this.write([value]);
    else list.push(value);
  }

  addAll(values: Iterable<T>): void {
    const added = [...values];
    if (added.length === 0) return;
    for (const v of added) this.checkElement(v, 'list state');
    const list = this.read() as T[] | undefined;
    if (list === undefined) this.write(added);
    else for (const v of added) list.push(v);
  }

  update(values: Iterable<T>): void {
    const list = [...values];
    for (const v of list) this.checkElement(v, 'list state');
    if (list.length === 0) this.clear();
    else this.write(list);
  }
}

export class HeapMapState<K, V> extends HandleBase implements MapState<K, V> {
  #map(): UserMap | undefined {
    return this.read() as UserMap | undefined;
  }

  get(key: K): V | undefined {
    return this.#map()?.get(keyStringOf(key))?.[1] as V | undefined;
  }

  put(key: K, value: V): void {
    const slot = keyStringOf(key);
    const map = this.#map();
    const pair: UserMapPair = [key, value];
    if (map === undefined) this.write(new Map([[slot, pair]]));
    else map.set(slot, pair);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: K): void {
    const map = this.#map();
    if (map === undefined) return;
    map.delete(keyStringOf(key));
    // As Flink's heap map state: a key whose map became empty has no state at all.
    if (map.size === 0) this.clear();
  }

  contains(key: K): boolean {
    const entry = this.table.peek(this.current.index, this.current.keyString);
    return entry !== undefined && (entry.value as UserMap).has(keyStringOf(key));
  }

  *entries(): IterableIterator<readonly [K, V]> {
    const map = this.#map();
    if (map !== undefined) yield* map.values() as IterableIterator<readonly [K, V]>;
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  isEmpty(): boolean {
    return this.table.peek(this.current.index, this.current.keyString) === undefined;
  }
}

export class HeapReducingState<T> extends HandleBase implements ReducingState<T> {
  constructor(
    table: StateTable,
    current: CurrentKey,
    private readonly reduce: (accumulated: T, value: T) => T,
  ) {
    super(table, current);
  }

  get(): T | undefined {
    return this.read() as T | undefined;
  }

  add(value: T): void {
    this.checkElement(value, 'reducing state');
    const current = this.read() as T | undefined;
    this.write(current === undefined ? value : this.reduce(current, value));
  }
}

export class HeapAggregatingState<IN, ACC, OUT> extends HandleBase implements AggregatingState<IN, OUT> {
  constructor(
    table: StateTable,
    current: CurrentKey,
    private readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(table, current);
  }

  get(): OUT | undefined {
    const acc = this.read() as ACC | undefined;
    return acc === undefined ? undefined : this.aggregate.getResult(acc);
  }

  add(value: IN): void {
    const acc = (this.read() as ACC | undefined) ?? this.aggregate.createAccumulator();
    this.write(this.aggregate.add(value, acc));
  }
}

export class HeapRawKeyedState extends HandleBase implements RawKeyedState {
  get(): unknown {
    return this.read();
  }

  put(value: unknown): void {
    if (value === undefined) this.clear();
    else this.write(value);
  }

  remove(): void {
    this.clear();
  }
}
