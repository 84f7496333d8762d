/**
 * The state handles user functions hold (Flink's ValueState, ListState, MapState, ReducingState,
 * AggregatingState), as the heap backend implements them. A handle is created once per state
 * name and reads the backend's CurrentKey on every call, so it is reused for every record.
 *
 * Flink's handle contract, kept as a serializing backend would keep it (keyed-state-backend.ts):
 * what a handle returns is the caller's own copy, and what `update`/`add`/`put` receive is
 * copied before it is stored, so neither mutating a value read nor one written changes the state
 * without a further write. Primitives are immutable and never copied, so a counter pays nothing;
 * objects cost one deepCopy (copy-value.ts) on the way out and one on the way in, about what a
 * serializing backend pays to decode and encode them. Handles copy nothing the state keeps
 * internally: `add` appends to the stored list and `put` sets into the stored Map, which
 * StateTable.read has copied first if an in-flight snapshot holds it (state-table.ts).
 *
 * Engine handles (`getState(d, 'engine')`) skip both copies and hand out stored objects (copied
 * first if a snapshot holds them): for engine components that write back what they change and
 * keep nothing past the call, such as the window operator appending to a window's elements.
 */
import { UserError } from '../../errors.ts';
import { deepCopy } from './copy-value.ts';
import type { CurrentKey } from './current-key.ts';
import type { StateAccess } from './keyed-state-backend.ts';
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
  protected readonly engine: boolean;

  constructor(
    protected readonly table: StateTable,
    protected readonly current: CurrentKey,
    access: StateAccess,
  ) {
    this.engine = access === 'engine';
  }

  /**
   * The stored value to read from, not to hand out or mutate: for user handles the entry itself
   * (it is copied on the way out), for engine handles one safe to mutate (StateTable.read).
   */
  protected stored(): unknown {
    return this.engine ? this.table.read(this.current.index, this.current.keyString) : this.table.get(this.current.index, this.current.keyString);
  }

  /** The stored value to change in place; copied first if a snapshot holds it. Never handed out. */
  protected storedForUpdate(): unknown {
    return this.table.read(this.current.index, this.current.keyString);
  }

  /** What the caller gets of a stored value (or a part of it). */
  protected handOut<V>(value: V): V {
    return this.engine ? value : deepCopy(value);
  }

  /** What the state keeps of a value the caller gave. */
  protected keep<V>(value: V): V {
    return this.engine ? value : deepCopy(value);
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
    return this.handOut(this.stored() as T | undefined);
  }

  update(value: T | undefined): void {
    if (value === undefined) this.clear();
    else this.write(this.keep(value));
  }
}

export class HeapListState<T> extends HandleBase implements ListState<T> {
  get(): Iterable<T> {
    const list = this.stored() as T[] | undefined;
    return list === undefined ? [] : this.handOut(list);
  }

  add(value: T): void {
    this.checkElement(value, 'list state');
    const element = this.keep(value);
    const list = this.storedForUpdate() as T[] | undefined;
    if (list === undefined) this.write([element]);
    else list.push(element);
  }

  addAll(values: Iterable<T>): void {
    const added = [...values];
    if (added.length === 0) return;
    for (const v of added) this.checkElement(v, 'list state');
    const elements = this.engine ? added : added.map((v) => deepCopy(v));
    const list = this.storedForUpdate() as T[] | undefined;
    if (list === undefined) this.write(elements);
    else for (const v of elements) list.push(v);
  }

  update(values: Iterable<T>): void {
    const list = [...values];
    for (const v of list) this.checkElement(v, 'list state');
    if (list.length === 0) this.clear();
    else this.write(this.engine ? list : list.map((v) => deepCopy(v)));
  }
}

export class HeapMapState<K, V> extends HandleBase implements MapState<K, V> {
  get(key: K): V | undefined {
    return this.handOut((this.stored() as UserMap | undefined)?.get(keyStringOf(key))?.[1] as V | undefined);
  }

  put(key: K, value: V): void {
    const slot = keyStringOf(key);
    const pair: UserMapPair = [this.keep(key), this.keep(value)];
    const map = this.storedForUpdate() as UserMap | undefined;
    if (map === undefined) this.write(new Map([[slot, pair]]));
    else map.set(slot, pair);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: K): void {
    const map = this.storedForUpdate() as UserMap | undefined;
    if (map === undefined) return;
    map.delete(keyStringOf(key));
    // As Flink's heap map state: a key whose map became empty has no state at all.
    if (map.size === 0) this.clear();
  }

  contains(key: K): boolean {
    const entry = this.table.peek(this.current.index, this.current.keyString);
    return entry !== undefined && (entry.value as UserMap).has(keyStringOf(key));
  }

  /**
   * Over the key's Map as it is when iteration starts: a change made while iterating goes to the
   * state (StateTable.read may swap in a copy) and may or may not be seen, as in Flink.
   */
  *entries(): IterableIterator<readonly [K, V]> {
    const map = this.stored() as UserMap | undefined;
    if (map === undefined) return;
    if (this.engine) yield* map.values() as IterableIterator<readonly [K, V]>;
    else for (const [k, v] of map.values()) yield [deepCopy(k), deepCopy(v)] as [K, V];
  }

  *keys(): IterableIterator<K> {
    const map = this.stored() as UserMap | undefined;
    if (map !== undefined) for (const [k] of map.values()) yield this.handOut(k as K);
  }

  *values(): IterableIterator<V> {
    const map = this.stored() as UserMap | undefined;
    if (map !== undefined) for (const [, v] of map.values()) yield this.handOut(v as V);
  }

  isEmpty(): boolean {
    return this.table.peek(this.current.index, this.current.keyString) === undefined;
  }
}

/**
 * The stored reduction goes to the reduce function as its first argument, safe to mutate and
 * return (Flink's ReduceFunction may); the added value is copied first, since it may become the
 * reduction itself.
 */
export class HeapReducingState<T> extends HandleBase implements ReducingState<T> {
  constructor(
    table: StateTable,
    current: CurrentKey,
    access: StateAccess,
    private readonly reduce: (accumulated: T, value: T) => T,
  ) {
    super(table, current, access);
  }

  get(): T | undefined {
    return this.handOut(this.stored() as T | undefined);
  }

  add(value: T): void {
    this.checkElement(value, 'reducing state');
    const added = this.keep(value);
    const current = this.storedForUpdate() as T | undefined;
    this.write(current === undefined ? added : this.reduce(current, added));
  }
}

/**
 * The stored accumulator goes to `add`, safe to update in place (Flink's AggregateFunction may);
 * the added value is copied first, since an accumulator may keep it. `createAccumulator` must
 * return a new object each time, as Flink's contract says.
 */
export class HeapAggregatingState<IN, ACC, OUT> extends HandleBase implements AggregatingState<IN, OUT> {
  constructor(
    table: StateTable,
    current: CurrentKey,
    access: StateAccess,
    private readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(table, current, access);
  }

  get(): OUT | undefined {
    const acc = this.stored() as ACC | undefined;
    // The result may be (part of) the accumulator itself.
    return acc === undefined ? undefined : this.handOut(this.aggregate.getResult(acc));
  }

  add(value: IN): void {
    const added = this.keep(value);
    const acc = (this.storedForUpdate() as ACC | undefined) ?? this.aggregate.createAccumulator();
    this.write(this.aggregate.add(added, acc));
  }
}

/** Always an engine handle: the timer service replaces its pairs and never mutates them. */
export class HeapRawKeyedState extends HandleBase implements RawKeyedState {
  constructor(table: StateTable, current: CurrentKey) {
    super(table, current, 'engine');
  }

  get(): unknown {
    return this.storedForUpdate();
  }

  put(value: unknown): void {
    if (value === undefined) this.clear();
    else this.write(value);
  }

  remove(): void {
    this.clear();
  }
}
