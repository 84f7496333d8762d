/**
 * The keyed state of one subtask, held on the JS heap (Flink's HeapKeyedStateBackend): the
 * subtask owns the key groups `keyGroupRange` of `maxParallelism`, the runtime sets the current
 * key before each record, and user functions reach state through handles created once per name.
 *
 * The KeyedStateBackend (keyed-state-backend.ts) of `state.backend.type: hashmap`. Each state
 * lives in a StateTable with one Map per key group. `snapshot()` is O(key groups) and returns a
 * HeapKeyedSnapshot that can be written later while processing goes on (copy-on-write, see
 * state-table.ts); `restoreKeyGroup` loads a key group read from a snapshot.
 */
import { FormatError, InternalError, UserError } from '../../errors.ts';
import { CanonicalKeyEncoder } from '../../format/canonical-key.ts';
import { checkParallelism, keyGroupForBytes } from '../../format/key-groups.ts';
import { CurrentKey, type KeyGroupRange } from './current-key.ts';
import { ChangeBases } from './change-tracking.ts';
import { HeapChangeLog } from './heap-change-log.ts';
import { HeapKeyedSnapshot } from './heap-keyed-snapshot.ts';
import { bytesToKeyString } from './key-string.ts';
import type { AnyStateHandle, KeyedSnapshotOptions, KeyedStateBackend, KeyedStateBackendOptions, StateAccess } from './keyed-state-backend.ts';
import {
  type AggregatingState,
  HeapAggregatingState,
  HeapListState,
  HeapMapState,
  HeapRawKeyedState,
  HeapReducingState,
  HeapValueState,
  type ListState,
  type MapState,
  type RawKeyedState,
  type ReducingState,
  type ValueState,
} from './keyed-state-handles.ts';
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
} from './state-descriptors.ts';
import { restoredElementMigration, storedValueMigration } from './schema-migration.ts';
import { SnapshotPins, StateTable } from './state-table.ts';
import { fromSnapshotValue } from './state-value-layout.ts';

export type HeapKeyedStateBackendOptions = KeyedStateBackendOptions;

type AnyHandle = AnyStateHandle;

export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  readonly owner: string;
  readonly #current: CurrentKey;
  readonly #pins: SnapshotPins;
  /** In registration (or restore) order, which is the order states appear in `_metadata`. */
  readonly #tables = new Map<string, StateTable>();
  readonly #handles = { user: new Map<string, AnyHandle>(), engine: new Map<string, AnyHandle>() };
  readonly #restoreEncoder = new CanonicalKeyEncoder();
  /** Restored states no descriptor has declared yet: the first declaration checks their schema. */
  readonly #undeclared = new Set<string>();
  readonly #operatorUid: string;
  /** Change tracking (trackChanges): the bases, and each table's changed keys; undefined while off. */
  #bases: ChangeBases | undefined;
  readonly #changes = new Map<StateTable, HeapChangeLog>();

  constructor(options: KeyedStateBackendOptions) {
    const { keyGroupRange: range, maxParallelism } = options;
    checkParallelism(1, maxParallelism);
    if (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start || range.end >= maxParallelism) {
      throw new InternalError(`invalid key group range [${range.start}, ${range.end}] for max parallelism ${maxParallelism}`);
    }
    this.keyGroupRange = { start: range.start, end: range.end };
    this.maxParallelism = maxParallelism;
    this.owner = options.owner ?? 'keyed state backend';
    this.#operatorUid = options.operatorUid ?? this.owner;
    this.#current = new CurrentKey(this.keyGroupRange, maxParallelism, this.owner);
    this.#pins = new SnapshotPins(range.end - range.start + 1);
  }

  /**
   * Sets the key of the record being processed: one canonical encoding and one hash, or no hash
   * when the caller passes the key group it already computed from this key (the partitioner's).
   */
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
  getState(descriptor: StateDescriptor, access?: StateAccess): AnyHandle;
  getState(descriptor: StateDescriptor, access: StateAccess = 'user'): AnyHandle {
    const existing = this.#handles[access].get(descriptor.name);
    if (existing !== undefined) {
      this.#checkKind(this.#tables.get(descriptor.name)!.info, descriptor.kind);
      return existing;
    }
    this.#migrateIfRestored(descriptor);
    const table = this.#register(stateInfoOf(descriptor));
    const handle = this.#createHandle(descriptor, table, access);
    this.#handles[access].set(descriptor.name, handle);
    return handle;
  }

  /** Engine-internal per-key state (the timer service's `timers`), snapshotted like any other. */
  getRawState(descriptor: RawStateDescriptor): RawKeyedState {
    return this.getState(descriptor);
  }

  /** The states this backend holds (registered or restored), in `_metadata` order. */
  states(): RegisteredStateInfo[] {
    return [...this.#tables.values()].map((t) => t.info);
  }

  /** The keys that have a value in state `name`, key group by key group (e.g. to rebuild timers). */
  *keys(name: string): IterableIterator<unknown> {
    const table = this.#tables.get(name);
    if (table === undefined) return;
    for (const entry of table.entries()) yield entry.key;
  }

  /** Number of keys with a value in state `name`. */
  size(name: string): number {
    return this.#tables.get(name)?.size ?? 0;
  }

  /**
   * Captures every state for an asynchronous write: O(number of key groups), no entry is
   * copied here. Release the snapshot (writeKeyedSnapshot does) or changes keep being preserved.
   */
  snapshot(options: KeyedSnapshotOptions = {}): HeapKeyedSnapshot {
    const holder = this.#pins.pinAll();
    this.#bases?.taken(options.checkpointId, holder.version);
    return new HeapKeyedSnapshot(this.keyGroupRange, this.maxParallelism, [...this.#tables.values()], this.#pins, holder, this.#bases);
  }

  /**
   * Records changed keys from now on (state-table.ts). The restored content is the base: it was
   * loaded before, and a later restoreKeyGroup records nothing either.
   */
  trackChanges(baseCheckpointId: number | undefined): void {
    if (this.#bases !== undefined) return;
    this.#bases = new ChangeBases((seq) => {
      for (const changes of this.#changes.values()) changes.drop(seq);
    });
    // Changes from now on carry the current version: the restored base ends just before it.
    if (baseCheckpointId !== undefined) this.#bases.add(baseCheckpointId, this.#pins.version - 1);
    for (const table of this.#tables.values()) this.#track(table);
  }

  confirmChanges(checkpointId: number): void {
    this.#bases?.confirm(checkpointId);
  }

  #track(table: StateTable): void {
    const changes = new HeapChangeLog(this.#pins.groups);
    this.#changes.set(table, changes);
    table.track(changes);
  }

  /** Snapshots not yet released (written or discarded). */
  get pendingSnapshots(): number {
    return this.#pins.holders.size;
  }

  /** Declares a state the snapshot holds, so it is kept (and written again) even with no entries here. */
  registerRestoredState(info: RegisteredStateInfo): void {
    if (!this.#tables.has(info.name)) this.#undeclared.add(info.name);
    this.#register(info);
  }

  /** A restored state's first declaration: its values migrated once to the declared schema, or refused. */
  #migrateIfRestored(descriptor: StateDescriptor): void {
    const table = this.#undeclared.has(descriptor.name) ? this.#tables.get(descriptor.name) : undefined;
    if (table === undefined) return;
    this.#checkKind(table.info, descriptor.kind);
    const migrate = restoredElementMigration(this.#operatorUid, table.info, descriptor);
    this.#undeclared.delete(descriptor.name);
    if (migrate !== undefined) table.migrateValues(storedValueMigration(table.info.kind, migrate));
  }

  /**
   * Loads one key group of one state read from a snapshot. `where` names the data file for
   * messages. Registers the state under the snapshot's kind if user code has not yet.
   */
  restoreKeyGroup(info: RegisteredStateInfo, keyGroup: number, keys: readonly unknown[], values: readonly unknown[], where: string): void {
    const { start, end } = this.keyGroupRange;
    if (keyGroup < start || keyGroup > end) {
      throw new InternalError(`${this.owner}: asked to restore key group ${keyGroup}, outside its key groups [${start}, ${end}]`);
    }
    const table = this.#register(info);
    const index = keyGroup - start;
    table.untracked(() => this.#load(table, info, keyGroup, index, keys, values, where));
  }

  #load(table: StateTable, info: RegisteredStateInfo, keyGroup: number, index: number, keys: readonly unknown[], values: readonly unknown[], where: string): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const bytes = this.#restoreEncoder.encode(key);
      const actual = keyGroupForBytes(bytes, this.maxParallelism);
      if (actual !== keyGroup) {
        throw new FormatError(where, undefined, `state '${info.name}': a key of key group ${actual} is stored in the block of key group ${keyGroup}`);
      }
      const converted = fromSnapshotValue(info.kind, values[i]);
      if ('problem' in converted) throw new FormatError(where, undefined, `state '${info.name}': ${converted.problem}`);
      table.write(index, bytesToKeyString(bytes), key, converted.value);
    }
  }

  /**
   * Nothing to give back: the Maps are garbage once the subtask is dropped, and a snapshot still
   * being written holds the tables it needs.
   */
  dispose(): void {}

  #register(info: RegisteredStateInfo): StateTable {
    const existing = this.#tables.get(info.name);
    if (existing === undefined) {
      const table = new StateTable(info, this.#pins);
      this.#tables.set(info.name, table);
      if (this.#bases !== undefined) this.#track(table);
      return table;
    }
    this.#checkKind(existing.info, info.kind);
    // The newest declaration (schema version, TTL) is what the next snapshot records.
    existing.info = info;
    return existing;
  }

  #checkKind(registered: RegisteredStateInfo, kind: string): void {
    if (registered.kind !== kind) {
      throw new UserError(
        `${this.owner}: keyed state '${registered.name}' is ${article(registered.kind)} ${registered.kind} state and cannot also be used as ` +
          `${article(kind)} ${kind} state; give the ${kind} state another name`,
      );
    }
  }

  #createHandle(descriptor: StateDescriptor, table: StateTable, access: StateAccess): AnyHandle {
    const current = this.#current;
    switch (descriptor.kind) {
      case 'value':
        return new HeapValueState(table, current, access);
      case 'list':
        return new HeapListState(table, current, access);
      case 'map':
        return new HeapMapState(table, current, access);
      case 'reducing':
        return new HeapReducingState(table, current, access, (a, b) => descriptor.reduce(a, b));
      case 'aggregating':
        return new HeapAggregatingState(table, current, access, descriptor.aggregate);
      case 'timers':
        return new HeapRawKeyedState(table, current);
    }
  }
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
