/**
 * State TTL over any keyed state backend, as Flink's TtlStateFactory does it: a state declared
 * with a `ttl` is registered with the backend as an ordinary state whose values are
 * `[userValue, lastAccess]` pairs (Flink's TtlValue; per element for list state, per user value
 * for map state), and the handle the user gets is a wrapper that stamps writes with the
 * processing-time clock, checks expiry on every read, clears what it finds expired, and hands
 * out only user values. The backend stores the pairs through its ordinary handles and never
 * knows about TTL, so every backend gets TTL without code of its own.
 *
 * Turning TTL on or off for existing state migrates its values (as Flink 2.2 does).
 *
 * Cleanup, as Flink's: on access (always); in full snapshots (`cleanupFullSnapshot`, applied by
 * the snapshot writer through `snapshotLayout`); incrementally (a cursor over the state's keys
 * that checks `cleanupSize` keys per state access, and per record with
 * `runCleanupForEveryRecord`). On the heap the cursor is a live iterator over the state's keys, as
 * in Flink; on the on-disk backends it is the backend's `keysFrom`, a position in the store that
 * each step reads a bounded stretch from: tsflink's background sweep of on-disk state, in place of
 * Flink's RocksDB compaction filter (which Flink's RocksDB backend uses instead of this cursor).
 */
import { UserError } from '../../../errors.ts';
import type { KeyedStateKind } from '../../../format/model.ts';
import type { ProcessingTimeClock } from '../../runtime/clock.ts';
import { HeapKeyedStateBackend } from '../heap-keyed-state-backend.ts';
import type { AnyStateHandle, KeyPosition, KeyedStateBackend } from '../keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../keyed-state-handles.ts';
import type { AggregateFunction, ReducingStateDescriptor, StateDescriptor } from '../state-descriptors.ts';
import { type ResolvedTtl, resolveTtl } from './state-ttl-config.ts';

/** Flink's TtlValue: the user value and the processing time of its last counted access. */
export type TtlValue<T = unknown> = [value: T, lastAccess: number];

/** Flink's TtlUtils.expired: the value lives `ttlMs` after its last access, not a millisecond more. */
export function isExpired(lastAccess: number, ttlMs: number, now: number): boolean {
  return lastAccess + ttlMs <= now;
}

type UserDescriptor = Exclude<StateDescriptor, { kind: 'timers' }>;

interface TtlHandle {
  /** Removes what is expired under the backend's current key (incremental cleanup). */
  cleanupCurrentKey(): void;
}

interface Registered {
  readonly name: string;
  readonly ttl: ResolvedTtl;
  readonly handle: AnyStateHandle & TtlHandle;
  /** The heap's cursor: a live iterator over the state's keys. */
  cursor: Iterator<unknown> | undefined;
  /** The on-disk cursor: where the backend's `keysFrom` resumes. */
  position: KeyPosition | undefined;
  /** Keys `keysFrom` returned that are not cleaned yet (a page per store snapshot, not one per step). */
  pending: readonly unknown[];
  pendingAt: number;
  /** Steps since `keysFrom` was last called. */
  sinceRead: number;
}

/**
 * Keys checked per `keysFrom` call. A store snapshot and iterator cost far more than checking a
 * key (some 10 µs on lmdb, 20 on rocksdb), so the sweep checks a page of keys at a time, at most
 * one page per SWEEP_PAGE_KEYS / cleanupSize steps (`cleanupSize` keys per step on average; a
 * state smaller than a page is swept once per that many steps, not re-read on every one). The
 * check reads the last-access times in the entries the scan reads anyway, and only the keys found
 * expired are cleaned through the handles, `cleanupSize` per step; a key cleaned meanwhile is a
 * no-op.
 */
export const SWEEP_PAGE_KEYS = 128;

/** The TTL layer of one operator's keyed backend: the one place user-facing handles come from. */
export class TtlStates {
  readonly #backend: KeyedStateBackend;
  readonly #clock: ProcessingTimeClock;
  readonly #states = new Map<string, Registered>();
  readonly #perRecord: Registered[] = [];
  /** States whose handles went out without TTL in this run. */
  readonly #plain = new Set<string>();
  /** The heap iterates its keys; a backend with `keysFrom` is swept through it; others have no incremental cleanup. */
  readonly #incrementalSupported: boolean;
  /** A store sweep (keysFrom) costs a store read per page: it runs only when the state asked for it by name. */
  readonly #onDisk: boolean;
  #cleaning = false;

  constructor(backend: KeyedStateBackend, clock: ProcessingTimeClock) {
    this.#backend = backend;
    this.#clock = clock;
    this.#onDisk = !(backend instanceof HeapKeyedStateBackend) && backend.keysFrom !== undefined;
    this.#incrementalSupported = backend instanceof HeapKeyedStateBackend || this.#onDisk;
  }

  #sweeps(ttl: ResolvedTtl): boolean {
    return ttl.incremental !== null && this.#incrementalSupported && (!this.#onDisk || ttl.incrementalAsked);
  }

  /** The handle for `descriptor`: the backend's own without a TTL, a TTL wrapper with one. */
  getState(descriptor: UserDescriptor): AnyStateHandle {
    const declared = descriptor.ttl !== undefined && descriptor.ttl !== null;
    if (declared ? this.#plain.has(descriptor.name) : this.#states.has(descriptor.name)) {
      throw new UserError(`${this.#backend.owner}: keyed state '${descriptor.name}' is declared both with and without a TTL; declare it one way everywhere in the job`, 1);
    }
    this.#migrateIfTtlChanged(descriptor);
    if (!declared) {
      this.#plain.add(descriptor.name);
      return this.#backend.getState(descriptor);
    }
    const existing = this.#states.get(descriptor.name);
    if (existing !== undefined) return existing.handle;
    const ttl = resolveTtl(descriptor.name, descriptor.ttl);
    const handle = this.#wrap(descriptor, ttl);
    const registered: Registered = { name: descriptor.name, ttl, handle, cursor: undefined, position: undefined, pending: [], pendingAt: 0, sinceRead: Number.POSITIVE_INFINITY };
    this.#states.set(descriptor.name, registered);
    if (ttl.incremental?.runCleanupForEveryRecord === true && this.#sweeps(ttl)) this.#perRecord.push(registered);
    return handle;
  }

  /** Per record (before its key is set): the incremental cleanup of states that asked for it. */
  onRecord(): void {
    for (const r of this.#perRecord) this.#cleanupSome(r);
  }

  /**
   * How the snapshot writer lays out a TTL state's values taken now: with `cleanupFullSnapshot`,
   * expired values, elements and user values are left out (a key with nothing left is not
   * written); timestamps go out as MessagePack ints (FORMAT.md 5.4).
   */
  snapshotLayout(): SnapshotTtlLayout {
    const now = this.#clock();
    const expireIn = new Map<string, number>();
    for (const [name, r] of this.#states) if (r.ttl.fullSnapshot) expireIn.set(name, r.ttl.ttlMs);
    return { now, expireIn };
  }

  /**
   * TTL turned on or off for a state that exists (restored, or declared before in this run):
   * migrated as Flink 2.2 does (its TtlAwareSerializer.migrateValueFromPriorSerializer), not
   * refused as Flink before 2.0 did with a StateMigrationException. Turned on, every value, list
   * element and map user value is wrapped with the current processing time as its last access
   * (so it lives one TTL from now); turned off, the timestamps are dropped and the values stay
   * for good. Done once, for every key the backend holds, through engine handles that read and
   * write the stored values as they are.
   */
  #migrateIfTtlChanged(descriptor: UserDescriptor): void {
    const declared = descriptor.ttl !== undefined && descriptor.ttl !== null;
    const known = this.#backend.states().find((s) => s.name === descriptor.name);
    if (known === undefined || known.kind !== descriptor.kind || (known.ttl !== null) === declared) return;
    const now = this.#clock();
    const change = declared ? (v: unknown): unknown => [v, now] : (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);
    const backend = this.#backend;
    const raw = rawHandle(backend, descriptor);
    const keys = [...backend.keys(descriptor.name)];
    const saved = currentKeyOf(backend);
    try {
      for (const key of keys) {
        backend.setCurrentKey(key);
        raw.migrate(change);
      }
    } finally {
      if (saved !== undefined) backend.setCurrentKey(saved.key, saved.keyGroup);
    }
  }

  #wrap(descriptor: UserDescriptor, ttl: ResolvedTtl): AnyStateHandle & TtlHandle {
    const context: TtlContext = { name: descriptor.name, ttl, now: this.#clock, accessed: () => this.#accessed(descriptor.name) };
    const backend = this.#backend;
    switch (descriptor.kind) {
      // The backend stores TtlValue pairs under the same name and declaration (its `ttl` goes to _metadata).
      case 'value':
        return new TtlValueState(context, backend.getState(descriptor) as ValueState<TtlValue>);
      case 'list':
        return new TtlListState(context, backend.getState(descriptor) as ListState<TtlValue>);
      case 'map':
        return new TtlMapState(context, backend.getState(descriptor) as MapState<unknown, TtlValue>);
      case 'reducing': {
        const reduce = (a: TtlValue, b: TtlValue): TtlValue =>
          isExpired(a[1], ttl.ttlMs, context.now()) ? [b[0], context.now()] : [descriptor.reduce(a[0], b[0]), context.now()];
        // `migrate` stays the user's: the backend applies it to the value inside each stored pair.
        return new TtlReducingState(context, backend.getState({ ...descriptor, reduce } as ReducingStateDescriptor<TtlValue>));
      }
      case 'aggregating':
        return new TtlAggregatingState(context, backend.getState({ ...descriptor, aggregate: ttlAggregate(descriptor.aggregate, context) }) as AggregatingState<unknown, TtlResult>);
    }
  }

  /** Incremental cleanup on state access (Flink's TtlIncrementalCleanup.stateAccessed). */
  #accessed(name: string): void {
    const r = this.#states.get(name);
    if (r === undefined || !this.#sweeps(r.ttl)) return;
    this.#cleanupSome(r);
  }

  /**
   * Checks the next `cleanupSize` keys of the state from a cursor that wraps around. The keys are
   * taken first and cleaned after (the heap's key iterator is a live Map iterator, which
   * tolerates changes between calls but not inside one; `keysFrom` reads a store snapshot),
   * under their own current key, and the caller's current key is set back.
   */
  #cleanupSome(r: Registered): void {
    if (this.#cleaning) return; // cleaning a key reads the state, which would clean again
    const size = r.ttl.incremental?.cleanupSize ?? 0;
    const name = r.name;
    const backend = this.#backend;
    const keys = backend.keysFrom === undefined ? this.#heapKeys(r, size) : this.#storeKeys(r, size, backend.keysFrom.bind(backend));
    if (keys.length === 0) return;
    const saved = currentKeyOf(backend);
    this.#cleaning = true;
    try {
      for (const key of new Set(keys)) {
        backend.setCurrentKey(key);
        r.handle.cleanupCurrentKey();
      }
    } finally {
      this.#cleaning = false;
      if (saved !== undefined) backend.setCurrentKey(saved.key, saved.keyGroup);
    }
  }

  /**
   * The next `size` keys from the page `keysFrom` read last, reading the next page when it is
   * used up (paced: see SWEEP_PAGE_KEYS); fewer, or none, if there are fewer.
   */
  #storeKeys(r: Registered, size: number, keysFrom: NonNullable<KeyedStateBackend['keysFrom']>): unknown[] {
    const keys: unknown[] = [];
    r.sinceRead++;
    while (keys.length < size) {
      if (r.pendingAt >= r.pending.length) {
        if (r.sinceRead < Math.ceil(SWEEP_PAGE_KEYS / size)) break;
        r.sinceRead = 0;
        const now = this.#clock();
        const ttlMs = r.ttl.ttlMs;
        // Only keys with an expired value, element or user value come back to be cleaned.
        const page = keysFrom(r.name, r.position, Math.max(size, SWEEP_PAGE_KEYS), (stored) => mayBeExpired(stored, ttlMs, now));
        r.position = page.next;
        r.pending = page.keys;
        r.pendingAt = 0;
        if (page.keys.length === 0) break; // nothing expired among the keys checked
      }
      keys.push(r.pending[r.pendingAt++]);
    }
    return keys;
  }

  /** The next `size` keys (fewer if the state has fewer) from the heap's live key iterator. */
  #heapKeys(r: Registered, size: number): unknown[] {
    const name = r.name;
    const keys: unknown[] = [];
    let wrapped = false;
    while (keys.length < size) {
      r.cursor ??= this.#backend.keys(name);
      const next = r.cursor.next();
      if (next.done !== true) {
        keys.push(next.value);
        continue;
      }
      r.cursor = undefined;
      if (wrapped) break;
      wrapped = true;
    }
    return keys;
  }
}

/**
 * Reads and rewrites the stored values of one state under the current key, whatever they are (an
 * engine handle: no copies, and reduce/aggregate functions that keep values as they are). Its
 * descriptor carries the new declaration, which the backend records for the next snapshot.
 */
function rawHandle(backend: KeyedStateBackend, descriptor: UserDescriptor): { migrate(change: (v: unknown) => unknown): void } {
  // The declared schema goes along: this may be the restored state's first declaration (schema-migration.ts).
  const base = {
    name: descriptor.name,
    ...(descriptor.schemaVersion === undefined ? {} : { schemaVersion: descriptor.schemaVersion }),
    ...(descriptor.migrate === undefined ? {} : { migrate: descriptor.migrate.bind(descriptor) }),
    ttl: descriptor.ttl ?? null,
  };
  switch (descriptor.kind) {
    case 'value': {
      const h = backend.getState({ ...base, kind: 'value' }, 'engine') as ValueState<unknown>;
      return { migrate: (change) => h.update(change(h.value())) };
    }
    case 'list': {
      const h = backend.getState({ ...base, kind: 'list' }, 'engine') as ListState<unknown>;
      return { migrate: (change) => h.update([...h.get()].map(change)) };
    }
    case 'map': {
      const h = backend.getState({ ...base, kind: 'map' }, 'engine') as MapState<unknown, unknown>;
      return {
        migrate: (change) => {
          for (const [k, v] of [...h.entries()]) h.put(k, change(v));
        },
      };
    }
    case 'reducing': {
      // An empty reducing state stores what is added as it is: clear, then add the new value.
      const h = backend.getState({ ...base, kind: 'reducing', reduce: (_a: unknown, b: unknown) => b }, 'engine') as ReducingState<unknown>;
      return {
        migrate: (change) => {
          const v = h.get();
          h.clear();
          if (v !== undefined) h.add(change(v));
        },
      };
    }
    case 'aggregating': {
      // getResult hands out the stored accumulator; add of a Replace stores its accumulator.
      const h = backend.getState(
        { ...base, kind: 'aggregating', aggregate: { createAccumulator: () => undefined, add: (r: unknown, acc: unknown) => (r instanceof Replace ? r.acc : acc), getResult: (acc: unknown) => acc } },
        'engine',
      ) as AggregatingState<unknown, unknown>;
      return {
        migrate: (change) => {
          const acc = h.get();
          h.clear();
          if (acc !== undefined) h.add(new Replace(change(acc)));
        },
      };
    }
  }
}

class Replace {
  constructor(readonly acc: unknown) {}
}

/**
 * Whether a stored TtlValue (a value, list element, map user value, reducing value or aggregating
 * accumulator, as the backend stores it) is expired; anything else is left to its handle to judge.
 */
function mayBeExpired(stored: unknown, ttlMs: number, now: number): boolean {
  if (!Array.isArray(stored) || stored.length !== 2) return true;
  const lastAccess: unknown = stored[1];
  if (typeof lastAccess === 'number') return isExpired(lastAccess, ttlMs, now);
  if (typeof lastAccess === 'bigint') return isExpired(Number(lastAccess), ttlMs, now);
  return true;
}

/** The backend's current key and its group, or undefined before the first one is set. */
function currentKeyOf(backend: KeyedStateBackend): { key: unknown; keyGroup: number } | undefined {
  try {
    return { key: backend.getCurrentKey(), keyGroup: backend.getCurrentKeyGroup() };
  } catch {
    return undefined; // no current key yet (a restored state cleaned before the first record)
  }
}

/** What the snapshot writer needs to lay out TTL states (see TtlStates.snapshotLayout). */
export interface SnapshotTtlLayout {
  /** Processing time when the snapshot was taken. */
  readonly now: number;
  /** States with `cleanupFullSnapshot`, and their TTL in ms. */
  readonly expireIn: ReadonlyMap<string, number>;
}

/**
 * A TTL state's value in the snapshot layout (FORMAT.md 5.2 with the pairs of 5.4) as it is
 * written: expired parts dropped when `ttlMs` is given (undefined: nothing left), timestamps of
 * 2^32 or more as bigints so that they are written as MessagePack ints (msgpackr writes such
 * numbers as float64). Never mutates `value`: it belongs to the snapshot.
 */
export function ttlValueForSnapshot(kind: KeyedStateKind, value: unknown, now: number, ttlMs: number | undefined): unknown {
  const live = (pair: TtlValue): boolean => ttlMs === undefined || !isExpired(pair[1], ttlMs, now);
  const out = (pair: TtlValue): TtlValue | [unknown, bigint] => (pair[1] >= 2 ** 32 && Number.isSafeInteger(pair[1]) ? [pair[0], BigInt(pair[1])] : pair);
  switch (kind) {
    case 'list': {
      const kept = (value as TtlValue[]).filter(live).map(out);
      return kept.length === 0 ? undefined : kept;
    }
    case 'map': {
      const kept = (value as [unknown, TtlValue][]).filter(([, v]) => live(v)).map(([k, v]) => [k, out(v)]);
      return kept.length === 0 ? undefined : kept;
    }
    case 'timers':
      return value;
    default:
      return live(value as TtlValue) ? out(value as TtlValue) : undefined;
  }
}

interface TtlContext {
  readonly name: string;
  readonly ttl: ResolvedTtl;
  readonly now: ProcessingTimeClock;
  readonly accessed: () => void;
}

abstract class TtlStateBase<H extends { clear(): void }> implements TtlHandle {
  constructor(
    protected readonly context: TtlContext,
    protected readonly inner: H,
  ) {}

  protected get now(): number {
    return this.context.now();
  }

  protected expired(pair: TtlValue): boolean {
    return isExpired(pair[1], this.context.ttl.ttlMs, this.now);
  }

  protected get returnExpired(): boolean {
    return this.context.ttl.visibility === 'ReturnExpiredIfNotCleanedUp';
  }

  protected get updateOnRead(): boolean {
    return this.context.ttl.update === 'OnReadAndWrite';
  }

  /** As the backend's handles refuse them (keyed-state-handles.ts). */
  protected checkElement(value: unknown, what: string): void {
    if (value === undefined || value === null) throw new UserError(`state '${this.context.name}': cannot add ${String(value)} to a ${what}`);
  }

  /** Before every access: incremental cleanup. */
  protected access(): void {
    this.context.accessed();
  }

  clear(): void {
    this.access();
    this.inner.clear();
  }

  abstract cleanupCurrentKey(): void;
}

class TtlValueState<T> extends TtlStateBase<ValueState<TtlValue<T>>> implements ValueState<T> {
  value(): T | undefined {
    this.access();
    return this.#read();
  }

  /** Flink's AbstractTtlDecorator.getWithTtlCheckAndUpdate. */
  #read(): T | undefined {
    const pair = this.inner.value();
    if (pair === undefined) return undefined;
    if (this.expired(pair)) {
      this.inner.clear();
      return this.returnExpired ? pair[0] : undefined;
    }
    if (this.updateOnRead) this.inner.update([pair[0], this.now]);
    return pair[0];
  }

  update(value: T | undefined): void {
    this.access();
    if (value === undefined) this.inner.clear();
    else this.inner.update([value, this.now]);
  }

  cleanupCurrentKey(): void {
    const pair = this.inner.value();
    if (pair !== undefined && this.expired(pair)) this.inner.clear();
  }
}

class TtlListState<T> extends TtlStateBase<ListState<TtlValue<T>>> implements ListState<T> {
  /**
   * The unexpired elements (all, with ReturnExpiredIfNotCleanedUp), in order. Expired elements
   * are removed from the state; with OnReadAndWrite the others' timestamps are renewed.
   */
  get(): Iterable<T> {
    this.access();
    const pairs = [...this.inner.get()];
    if (pairs.length === 0) return [];
    const live = pairs.filter((p) => !this.expired(p));
    if (live.length < pairs.length || this.updateOnRead) this.#store(this.updateOnRead ? live.map((p) => [p[0], this.now]) : live);
    return (this.returnExpired ? pairs : live).map((p) => p[0]);
  }

  #store(pairs: TtlValue<T>[]): void {
    if (pairs.length === 0) this.inner.clear();
    else this.inner.update(pairs);
  }

  add(value: T): void {
    this.access();
    this.checkElement(value, 'list state');
    this.inner.add([value, this.now]);
  }

  addAll(values: Iterable<T>): void {
    this.access();
    const now = this.now;
    this.inner.addAll(
      [...values].map((v): TtlValue<T> => {
        this.checkElement(v, 'list state');
        return [v, now];
      }),
    );
  }

  update(values: Iterable<T>): void {
    this.access();
    const now = this.now;
    this.inner.update(
      [...values].map((v): TtlValue<T> => {
        this.checkElement(v, 'list state');
        return [v, now];
      }),
    );
  }

  cleanupCurrentKey(): void {
    const pairs = [...this.inner.get()];
    const live = pairs.filter((p) => !this.expired(p));
    if (live.length < pairs.length) this.#store(live);
  }
}

class TtlMapState<K, V> extends TtlStateBase<MapState<K, TtlValue<V>>> implements MapState<K, V> {
  get(key: K): V | undefined {
    this.access();
    return this.#read(key, this.inner.get(key));
  }

  #read(key: K, pair: TtlValue<V> | undefined): V | undefined {
    return pair !== undefined && this.#visible(key, pair) ? pair[0] : undefined;
  }

  put(key: K, value: V): void {
    this.access();
    this.inner.put(key, [value, this.now]);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    this.access();
    const now = this.now;
    this.inner.putAll([...entries].map(([k, v]): [K, TtlValue<V>] => [k, [v, now]]));
  }

  remove(key: K): void {
    this.access();
    this.inner.remove(key);
  }

  /** As Flink's TtlMapState.contains: a read of the user key (so it may expire or renew it). */
  contains(key: K): boolean {
    this.access();
    const pair = this.inner.get(key);
    return pair !== undefined && this.#visible(key, pair);
  }

  /** Whether a stored pair is seen, clearing it if expired and renewing it on read as configured. */
  #visible(key: K, pair: TtlValue<V>): boolean {
    if (this.expired(pair)) {
      this.inner.remove(key);
      return this.returnExpired;
    }
    if (this.updateOnRead) this.inner.put(key, [pair[0], this.now]);
    return true;
  }

  /** Over the entries as they are when iteration starts, each checked as `get` checks it. */
  *entries(): IterableIterator<readonly [K, V]> {
    this.access();
    for (const [key, pair] of [...this.inner.entries()]) if (this.#visible(key, pair)) yield [key, pair[0]];
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  isEmpty(): boolean {
    for (const _ of this.entries()) return false;
    return true;
  }

  cleanupCurrentKey(): void {
    for (const [key, pair] of [...this.inner.entries()]) if (this.expired(pair)) this.inner.remove(key);
  }
}

class TtlReducingState<T> extends TtlStateBase<ReducingState<TtlValue<T>>> implements ReducingState<T> {
  get(): T | undefined {
    this.access();
    const pair = this.inner.get();
    if (pair === undefined) return undefined;
    if (this.expired(pair)) {
      this.inner.clear();
      return this.returnExpired ? pair[0] : undefined;
    }
    if (this.updateOnRead) this.#replace([pair[0], this.now]);
    return pair[0];
  }

  /** ReducingState has no update: an empty state stores what is added without reducing. */
  #replace(pair: TtlValue<T>): void {
    this.inner.clear();
    this.inner.add(pair);
  }

  /** The wrapped reduce function (TtlStates.#wrap) starts over from an expired reduction. */
  add(value: T): void {
    this.access();
    this.checkElement(value, 'reducing state');
    this.inner.add([value, this.now]);
  }

  cleanupCurrentKey(): void {
    const pair = this.inner.get();
    if (pair !== undefined && this.expired(pair)) this.inner.clear();
  }
}

/** What the wrapped aggregate function's getResult returns: the user's result and the timestamp. */
interface TtlResult {
  readonly result: unknown;
  readonly lastAccess: number;
}

/** Added to renew an accumulator's timestamp without adding anything (OnReadAndWrite). */
const RENEW = Symbol('renew the TTL timestamp');

/**
 * Flink's TtlAggregateFunction: the accumulator is a TtlValue; an expired one is replaced by a
 * new accumulator before `add`, and getResult reports the timestamp so the handle can check it.
 */
function ttlAggregate(aggregate: AggregateFunction<unknown, unknown, unknown>, context: TtlContext): AggregateFunction<unknown, TtlValue, TtlResult> {
  return {
    createAccumulator: () => [aggregate.createAccumulator(), context.now()],
    add(value, acc) {
      if (value === RENEW) return [acc[0], context.now()];
      const live = isExpired(acc[1], context.ttl.ttlMs, context.now()) ? aggregate.createAccumulator() : acc[0];
      return [aggregate.add(value, live), context.now()];
    },
    getResult: (acc) => ({ result: aggregate.getResult(acc[0]), lastAccess: acc[1] }),
  };
}

class TtlAggregatingState<IN, OUT> extends TtlStateBase<AggregatingState<unknown, TtlResult>> implements AggregatingState<IN, OUT> {
  get(): OUT | undefined {
    this.access();
    const got = this.inner.get();
    if (got === undefined) return undefined;
    if (isExpired(got.lastAccess, this.context.ttl.ttlMs, this.now)) {
      this.inner.clear();
      return this.returnExpired ? (got.result as OUT) : undefined;
    }
    if (this.updateOnRead) this.inner.add(RENEW);
    return got.result as OUT;
  }

  add(value: IN): void {
    this.access();
    this.inner.add(value);
  }

  cleanupCurrentKey(): void {
    const got = this.inner.get();
    if (got !== undefined && isExpired(got.lastAccess, this.context.ttl.ttlMs, this.now)) this.inner.clear();
  }
}
