/**
 * The on-disk KeyedStateBackend (`state.backend.type: rocksdb` or `lmdb`): every state of a
 * subtask in one EmbeddedStore in the subtask's working directory, keyed
 * `group | key | state id | user key` (state-keys.ts), behind a bounded write-back cache
 * (write-back-cache.ts); the handles are in embedded-state-handles.ts.
 *
 * State ids are given in registration order, kept in memory only: the store is a working copy
 * rebuilt from a checkpoint by each attempt, and snapshots name states, not ids.
 *
 * `snapshot()` freezes the cache's unwritten changes (O(1)) and takes a store snapshot: that is all
 * it holds the processing thread for. The snapshot is read key group by key group afterwards
 * (embedded-keyed-snapshot.ts), the frozen changes laid over the store snapshot. `restoreKeyGroup` writes one batch per call.
 *
 * Change tracking (`trackChanges`, change-tracking.ts): the handles record the prefix
 * `group | key | state id` of every entry they write or delete, a schema migration every prefix
 * it rewrites; a restore records nothing (what it loads is the base). The snapshot takes the
 * changed prefixes' values from what the cache wrote in the interval before it
 * (WriteBackCache.freezeWritten), else reads them from its own store snapshot and frozen cache
 * changes, so they are as of the barrier. Timer queues in the store (`timerService: ROCKSDB`, store-timer-queue.ts) need
 * no tracking: they are an index outside every key group, never snapshotted, rebuilt from the
 * `_timers` keyed state, whose writes go through a handle and are recorded like any other.
 */
import { FormatError, InternalError, UserError } from '../../../errors.ts';
import { CanonicalKeyEncoder, compareBytes, decodeCanonicalKey } from '../../../format/canonical-key.ts';
import { checkParallelism, keyGroupForBytes } from '../../../format/key-groups.ts';
import { createValuePackr, createValueUnpackr } from '../../../format/value-codec.ts';
import { ChangeBases, ChangeRecorder, KeyChanges } from '../change-tracking.ts';
import { CurrentKey, type KeyGroupRange } from '../current-key.ts';
import { type AnyStateHandle, EMPTY_BASE, type KeyPage, type KeyPosition, type KeyedSnapshotOptions, type KeyedStateBackend, type KeyedStateBackendOptions, type StateAccess } from '../keyed-state-backend.ts';
import type { AggregatingState, ListState, MapState, RawKeyedState, ReducingState, ValueState } from '../keyed-state-handles.ts';
import {
  type AggregatingStateDescriptor,
  type ListStateDescriptor,
  type MapStateDescriptor,
  type RawStateDescriptor,
  type ReducingStateDescriptor,
  type RegisteredStateInfo,
  type StateDescriptor,
  type ValueStateDescriptor,
  stateInfoOf,
} from '../state-descriptors.ts';
import { type MigrateValue, restoredElementMigration } from '../schema-migration.ts';
import { fromSnapshotValue } from '../state-value-layout.ts';
import { EmbeddedKeyedSnapshot } from './embedded-keyed-snapshot.ts';
import {
  EmbeddedAggregatingState,
  EmbeddedListState,
  EmbeddedMapState,
  EmbeddedRawKeyedState,
  EmbeddedReducingState,
  EmbeddedValueState,
} from './embedded-state-handles.ts';
import { StateContext, type ValueCodec, valueCodecOf } from './state-context.ts';
import type { BatchWriter, EmbeddedStore } from './embedded-store.ts';
import { bytesToLatin1 } from './memory-store.ts';
import { MAX_STATE_ID, canonicalKeyEnd, keyGroupsRange, prefixEnd, stateKey } from './state-keys.ts';
import { StoreTimerQueue } from './store-timer-queue.ts';
import { DEFAULT_CACHE_BYTES, WriteBackCache } from './write-back-cache.ts';
import type { TimerQueue } from '../../runtime/timer-heap.ts';

/** Store entries keysFrom looks at per key asked for, at most: it stays bounded when the state is sparse. */
export const SWEEP_ENTRIES_PER_KEY = 32;

/** Store entries rewritten per batch by a schema migration: bounded, so a large state does not build one huge batch. */
const MIGRATION_BATCH = 4096;

export interface EmbeddedKeyedStateBackendOptions extends KeyedStateBackendOptions {
  readonly store: EmbeddedStore;
  /** Write-back cache capacity in bytes. */
  readonly cacheBytes?: number;
  /** Runs after the store is destroyed by dispose (e.g. to remove the working directory). */
  readonly afterDispose?: () => Promise<void>;
  /**
   * Whether snapshots have key groups taken whole (every key group of a full checkpoint or a
   * savepoint, those an incremental one rewrites) read by the store's snapshot thread where it has
   * one (lmdb: lmdb-snapshot-thread.ts); default true. Tests of the processing thread's own path
   * turn it off.
   */
  readonly snapshotThread?: boolean;
}

export class EmbeddedKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  readonly owner: string;
  readonly store: EmbeddedStore;
  readonly cache: WriteBackCache;
  readonly #current: CurrentKey;
  readonly #codec: ValueCodec;
  /** In registration order: the index is the state id. */
  readonly #states: StateContext[] = [];
  readonly #byName = new Map<string, StateContext>();
  readonly #handles = new Map<string, AnyStateHandle>();
  readonly #snapshots = new Set<EmbeddedKeyedSnapshot>();
  readonly #restoreEncoder = new CanonicalKeyEncoder();
  readonly #afterDispose: (() => Promise<void>) | undefined;
  readonly #timerService: 'HEAP' | 'ROCKSDB';
  /** Restored states no descriptor has declared yet: the first declaration checks their schema. */
  readonly #undeclared = new Set<string>();
  readonly #operatorUid: string;
  readonly #snapshotThread: boolean;
  #disposed: Promise<void> | undefined;
  #whenUnpinned: (() => void) | undefined;
  /** Change tracking: undefined while off. */
  #recorder: ChangeRecorder | undefined;
  #bases: ChangeBases | undefined;
  /** Processing-thread time of the last snapshot() (flush and store snapshot), in ms. */
  lastSnapshotPauseMs = 0;
  /** Key groups of released snapshots that the store's snapshot thread read and encoded. */
  keyGroupsEncodedInThread = 0;

  constructor(options: EmbeddedKeyedStateBackendOptions) {
    const { keyGroupRange: range, maxParallelism } = options;
    checkParallelism(1, maxParallelism);
    if (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start || range.end >= maxParallelism) {
      throw new InternalError(`invalid key group range [${range.start}, ${range.end}] for max parallelism ${maxParallelism}`);
    }
    this.keyGroupRange = { start: range.start, end: range.end };
    this.maxParallelism = maxParallelism;
    this.owner = options.owner ?? 'keyed state backend';
    this.#operatorUid = options.operatorUid ?? this.owner;
    this.store = options.store;
    this.cache = new WriteBackCache(options.store, options.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.#current = new CurrentKey(this.keyGroupRange, maxParallelism, this.owner);
    this.#codec = valueCodecOf(createValuePackr(), createValueUnpackr());
    this.#afterDispose = options.afterDispose;
    this.#timerService = options.timerService ?? 'ROCKSDB';
    this.#snapshotThread = options.snapshotThread ?? true;
  }

  setCurrentKey(key: unknown, knownKeyGroup = -1): void {
    this.#current.set(key, knownKeyGroup);
  }

  clearCurrentKey(reason: string): void {
    this.#current.clear(reason);
  }

  getCurrentKey(): unknown {
    return this.#current.key;
  }

  getCurrentKeyGroup(): number {
    return this.#current.keyGroup;
  }

  getState<T>(descriptor: ValueStateDescriptor<T>, access?: StateAccess): ValueState<T>;
  getState<T>(descriptor: ListStateDescriptor<T>, access?: StateAccess): ListState<T>;
  getState<K, V>(descriptor: MapStateDescriptor<K, V>, access?: StateAccess): MapState<K, V>;
  getState<T>(descriptor: ReducingStateDescriptor<T>, access?: StateAccess): ReducingState<T>;
  getState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>, access?: StateAccess): AggregatingState<IN, OUT>;
  getState(descriptor: RawStateDescriptor, access?: StateAccess): RawKeyedState;
  getState(descriptor: StateDescriptor, access?: StateAccess): AnyStateHandle;
  /** Values are encoded in and decoded out, so user and engine handles are the same handle. */
  getState(descriptor: StateDescriptor, _access: StateAccess = 'user'): AnyStateHandle {
    const existing = this.#handles.get(descriptor.name);
    if (existing !== undefined) {
      this.#checkKind(this.#byName.get(descriptor.name)!.info, descriptor.kind);
      return existing;
    }
    this.#migrateIfRestored(descriptor);
    const s = this.#register(stateInfoOf(descriptor));
    const handle = createHandle(descriptor, s);
    this.#handles.set(descriptor.name, handle);
    return handle;
  }

  getRawState(descriptor: RawStateDescriptor): RawKeyedState {
    return this.getState(descriptor);
  }

  /** With the ROCKSDB timer service (the default) a queue in the store; with HEAP none. */
  createTimerQueue(descriptor: RawStateDescriptor, domain: number): TimerQueue<unknown> | undefined {
    if (this.#timerService === 'HEAP') return undefined;
    return new StoreTimerQueue(() => this.store, () => this.#register(stateInfoOf(descriptor)).id, domain);
  }

  states(): RegisteredStateInfo[] {
    return this.#states.map((s) => s.info);
  }

  /**
   * Reads the whole store (after a flush): O(state), for rebuilding timers on open and for
   * tests. The keys are collected before the first is yielded, so state may change meanwhile.
   */
  *keys(name: string): IterableIterator<unknown> {
    const s = this.#byName.get(name);
    if (s === undefined) return;
    yield* this.#keysOf(s.id).map((k) => decodeCanonicalKey(k));
  }

  /** Reads the whole store (after a flush): O(state). */
  size(name: string): number {
    const s = this.#byName.get(name);
    return s === undefined ? 0 : this.#keysOf(s.id).length;
  }

  /**
   * The sweep cursor (KeyedStateBackend.keysFrom): reads the store, not the write-back cache,
   * through a short-lived snapshot from `position`, checking up to `limit` distinct keys of the
   * state and looking at no more than SWEEP_ENTRIES_PER_KEY entries per key asked for (other
   * states' entries and a map's or list's further entries count), and wraps once to the start of
   * the key-group range, stopping before `position`. With `select`, each stored element (a
   * value, a list element, a map user value) is decoded and only keys with an element it selects
   * are returned. The next position is the first entry not looked at, so entries put or deleted
   * meanwhile are simply met or not met.
   */
  keysFrom(name: string, position: KeyPosition | undefined, limit: number, select?: (element: unknown) => boolean): KeyPage {
    const s = this.#byName.get(name);
    if (s === undefined || limit <= 0) return { keys: [], next: position };
    const id = s.id;
    const isList = s.info.kind === 'list';
    const all = keyGroupsRange(this.keyGroupRange.start, this.keyGroupRange.end);
    const from = position !== undefined && compareBytes(position, all.start) > 0 && compareBytes(position, all.end) < 0 ? position : all.start;
    const keys: unknown[] = [];
    const seen = new Set<string>();
    let checked = 0;
    let current = ''; // the key whose entries are being looked at
    let taken = false; // whether it is in `keys`
    let budget = limit * SWEEP_ENTRIES_PER_KEY;
    let next: KeyPosition | undefined;
    const snapshot = this.store.snapshot();
    try {
      const scan = (start: Uint8Array, end: Uint8Array): 'stopped' | 'end' => {
        for (const [storeKey, value] of snapshot.range(start, end)) {
          if (budget-- <= 0) {
            next = storeKey;
            return 'stopped';
          }
          const keyEnd = canonicalKeyEnd(storeKey, 2);
          if (((storeKey[keyEnd]! << 8) | storeKey[keyEnd + 1]!) !== id) continue;
          const text = bytesToLatin1(storeKey.subarray(0, keyEnd));
          if (text !== current) {
            if (seen.has(text)) continue; // seen before the wrap
            if (checked >= limit) {
              next = storeKey;
              return 'stopped';
            }
            checked++;
            seen.add(text);
            current = text;
            taken = false;
          }
          if (taken) continue; // the next entry of a map or list
          if (select !== undefined && ((isList && storeKey.length === keyEnd + 2) || !select(s.codec.decode(value)))) continue;
          taken = true;
          keys.push(decodeCanonicalKey(storeKey.subarray(2, keyEnd)));
        }
        return 'end';
      };
      if (scan(from, all.end) === 'end') {
        next = undefined;
        if (compareBytes(from, all.start) > 0 && scan(all.start, from) === 'end') next = from;
      }
    } finally {
      snapshot.release();
    }
    return { keys, next };
  }

  #keysOf(id: number): Uint8Array[] {
    this.cache.flush();
    const snapshot = this.store.snapshot();
    const out: Uint8Array[] = [];
    let last = '';
    try {
      const { start, end } = keyGroupsRange(this.keyGroupRange.start, this.keyGroupRange.end);
      for (const [storeKey] of snapshot.range(start, end)) {
        const keyEnd = canonicalKeyEnd(storeKey, 2);
        if (((storeKey[keyEnd]! << 8) | storeKey[keyEnd + 1]!) !== id) continue;
        const key = storeKey.subarray(2, keyEnd);
        const text = bytesToLatin1(storeKey.subarray(0, keyEnd));
        if (text === last) continue; // the next entry of a map or list
        last = text;
        out.push(key);
      }
    } finally {
      snapshot.release();
    }
    return out;
  }

  /**
   * Freezes the cache's changes not yet in the store (O(1)) and takes a store snapshot: all the
   * processing thread waits for. The frozen changes are written to the store afterwards, a chunk
   * per turn of the event loop, and the snapshot lays them over its store snapshot.
   */
  snapshot(options: KeyedSnapshotOptions = {}): EmbeddedKeyedSnapshot {
    const started = performance.now();
    const changes = this.cache.freeze();
    let tracked: ConstructorParameters<typeof EmbeddedKeyedSnapshot>[7];
    if (this.#recorder !== undefined && this.#bases !== undefined) {
      const seq = this.#recorder.seq++;
      this.#bases.taken(options.checkpointId, seq);
      tracked = { seq, bases: this.#bases, changes: this.#recorder.changes, written: this.cache.freezeWritten() };
    }
    const storeSnapshot = this.store.snapshot();
    // Right after the store snapshot, before any write: the thread's read must see what it sees.
    const inThread = this.#snapshotThread ? this.store.snapshotInThread?.() : undefined;
    const snapshot = new EmbeddedKeyedSnapshot(this.keyGroupRange, this.maxParallelism, this.states(), storeSnapshot, changes, this.#codec, (s) => this.#unpin(s), tracked, inThread);
    this.#snapshots.add(snapshot);
    this.cache.drainInBackground();
    this.lastSnapshotPauseMs = performance.now() - started;
    return snapshot;
  }

  /** Records changed prefixes from now on; the restored content is the base. */
  trackChanges(baseCheckpointId: number | undefined): void {
    if (this.#recorder !== undefined) return;
    const recorder = new ChangeRecorder(new KeyChanges(this.keyGroupRange.end - this.keyGroupRange.start + 1), this.keyGroupRange.start);
    this.#recorder = recorder;
    this.cache.recordWrites();
    this.#bases = new ChangeBases((seq) => recorder.changes.drop(seq));
    // Changes from now on carry the current sequence: the restored base ends just before it.
    if (baseCheckpointId !== undefined) this.#bases.add(baseCheckpointId, this.#recorder.seq - 1);
    // Nothing restored: every entry will be a change, and the first checkpoint may take them as such (EMPTY_BASE).
    else if (this.#holdsNothing()) this.#bases.add(EMPTY_BASE, this.#recorder.seq - 1);
    for (const s of this.#states) s.recorder = this.#recorder;
  }

  /** No entry of its key groups in the store or the cache (timers live outside them). */
  #holdsNothing(): boolean {
    if (this.cache.dirtyEntries > 0) return false;
    const { start, end } = keyGroupsRange(this.keyGroupRange.start, this.keyGroupRange.end);
    const snapshot = this.store.snapshot();
    try {
      return snapshot.range(start, end).next().done === true;
    } finally {
      snapshot.release();
    }
  }

  confirmChanges(checkpointId: number): void {
    this.#bases?.confirm(checkpointId);
  }

  get pendingSnapshots(): number {
    return this.#snapshots.size;
  }

  registerRestoredState(info: RegisteredStateInfo): void {
    if (!this.#byName.has(info.name)) this.#undeclared.add(info.name);
    this.#register(info);
  }

  /** A restored state's first declaration: its values migrated once to the declared schema, or refused. */
  #migrateIfRestored(descriptor: StateDescriptor): void {
    const s = this.#undeclared.has(descriptor.name) ? this.#byName.get(descriptor.name) : undefined;
    if (s === undefined) return;
    this.#checkKind(s.info, descriptor.kind);
    const migrate = restoredElementMigration(this.#operatorUid, s.info, descriptor);
    this.#undeclared.delete(descriptor.name);
    if (migrate !== undefined) this.#migrateEntries(s, migrate);
  }

  /**
   * Rewrites every stored element of state `s` (a value, a list element, a map user value: one
   * store entry each) through `migrate`, reading a store snapshot after a flush and writing in
   * batches; the cache is emptied after, so it holds no value of the old schema.
   */
  #migrateEntries(s: StateContext, migrate: MigrateValue): void {
    this.cache.flush();
    const codec = this.#codec;
    const isList = s.info.kind === 'list';
    const { start, end } = keyGroupsRange(this.keyGroupRange.start, this.keyGroupRange.end);
    const snapshot = this.store.snapshot();
    let pending: [Uint8Array, Uint8Array][] = [];
    const write = (): void => {
      const batch = pending;
      pending = [];
      this.store.batch((w) => {
        for (const [k, v] of batch) w.put(k, v);
      });
    };
    try {
      for (const [storeKey, value] of snapshot.range(start, end)) {
        const keyEnd = canonicalKeyEnd(storeKey, 2);
        if (((storeKey[keyEnd]! << 8) | storeKey[keyEnd + 1]!) !== s.id) continue;
        // Every prefix is one key's whole value: all are changes against a restored base.
        this.#recorder?.mark((storeKey[0]! << 8) | storeKey[1]!, bytesToLatin1(storeKey.subarray(0, keyEnd + 2)));
        if (isList && storeKey.length === keyEnd + 2) continue; // a list's length, not an element
        pending.push([storeKey, codec.encode(migrate(codec.decode(value)))]);
        if (pending.length >= MIGRATION_BATCH) write();
      }
      if (pending.length > 0) write();
    } finally {
      snapshot.release();
    }
    this.cache.clear();
  }

  /** One store batch per call; the cache is flushed and emptied first, so it cannot hide what is loaded. */
  restoreKeyGroup(info: RegisteredStateInfo, keyGroup: number, keys: readonly unknown[], values: readonly unknown[], where: string): void {
    const { start, end } = this.keyGroupRange;
    if (keyGroup < start || keyGroup > end) {
      throw new InternalError(`${this.owner}: asked to restore key group ${keyGroup}, outside its key groups [${start}, ${end}]`);
    }
    const s = this.#register(info);
    this.cache.clear();
    const codec = this.#codec;
    this.store.batch((w) => {
      for (let i = 0; i < keys.length; i++) {
        const bytes = Uint8Array.prototype.slice.call(this.#restoreEncoder.encode(keys[i]));
        const actual = keyGroupForBytes(bytes, this.maxParallelism);
        if (actual !== keyGroup) {
          throw new FormatError(where, undefined, `state '${info.name}': a key of key group ${actual} is stored in the block of key group ${keyGroup}`);
        }
        const converted = fromSnapshotValue(info.kind, values[i]);
        if ('problem' in converted) throw new FormatError(where, undefined, `state '${info.name}': ${converted.problem}`);
        writeRestored(w, info, stateKey(keyGroup, bytes, s.id), converted.value, codec);
      }
    });
  }

  /**
   * Closes the store and removes its working directory; with snapshots still being written, once
   * the last is released (they read the store). Idempotent.
   */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.cache.close();
      if (this.#snapshots.size > 0) await new Promise<void>((resolve) => (this.#whenUnpinned = resolve));
      await this.store.destroy();
      await this.#afterDispose?.();
    })();
    return this.#snapshots.size > 0 ? Promise.resolve() : this.#disposed;
  }

  #unpin(snapshot: EmbeddedKeyedSnapshot): void {
    this.keyGroupsEncodedInThread += snapshot.keyGroupsEncodedInThread;
    this.#snapshots.delete(snapshot);
    if (this.#snapshots.size === 0) this.#whenUnpinned?.();
  }

  #register(info: RegisteredStateInfo): StateContext {
    const existing = this.#byName.get(info.name);
    if (existing !== undefined) {
      this.#checkKind(existing.info, info.kind);
      existing.info = info;
      return existing;
    }
    const id = this.#states.length;
    if (id > MAX_STATE_ID) throw new UserError(`${this.owner}: more than ${MAX_STATE_ID + 1} keyed states in one operator`);
    const s = new StateContext(info, id, this.#current, this.cache, () => this.store, this.#codec);
    s.recorder = this.#recorder;
    this.#states.push(s);
    this.#byName.set(info.name, s);
    return s;
  }

  #checkKind(registered: RegisteredStateInfo, kind: string): void {
    if (registered.kind !== kind) {
      throw new UserError(
        `${this.owner}: keyed state '${registered.name}' is ${article(registered.kind)} ${registered.kind} state and cannot also be used as ` +
          `${article(kind)} ${kind} state; give the ${kind} state another name`,
      );
    }
  }
}

/** Writes one restored value (in the in-memory layout) as the store entries of its state's kind. */
function writeRestored(w: BatchWriter, info: RegisteredStateInfo, prefix: Uint8Array, value: unknown, codec: ValueCodec): void {
  switch (info.kind) {
    case 'map':
      for (const [userKeyString, [, userValue]] of value as Map<string, [unknown, unknown]>) {
        w.put(concat(prefix, Buffer.from(userKeyString, 'latin1')), codec.encode(userValue));
      }
      return;
    case 'list': {
      const list = value as unknown[];
      if (list.length === 0) return;
      w.put(prefix, codec.encode(list.length));
      list.forEach((element, i) => {
        const seq = new Uint8Array(4);
        new DataView(seq.buffer).setUint32(0, i);
        w.put(concat(prefix, seq), codec.encode(element));
      });
      return;
    }
    default:
      w.put(prefix, codec.encode(value));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function createHandle(descriptor: StateDescriptor, s: StateContext): AnyStateHandle {
  switch (descriptor.kind) {
    case 'value':
      return new EmbeddedValueState(s);
    case 'list':
      return new EmbeddedListState(s);
    case 'map':
      return new EmbeddedMapState(s);
    case 'reducing':
      return new EmbeddedReducingState(s, (a, b) => descriptor.reduce(a, b));
    case 'aggregating':
      return new EmbeddedAggregatingState(s, descriptor.aggregate);
    case 'timers':
      return new EmbeddedRawKeyedState(s);
  }
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
