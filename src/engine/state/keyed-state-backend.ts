/**
 * The keyed state of one subtask, whatever holds it (Flink's KeyedStateBackend): the heap
 * (`hashmap`) today, on-disk stores later. The runtime, the timer service, the runtime context,
 * restore and the snapshot writer see only these interfaces, so a backend is chosen per job
 * (`state.backend.type`, `env.setStateBackend`) without any of them knowing which.
 *
 * Handle contract, the same for every backend (Flink's, as its serializing backends give it):
 * a value read from state and then mutated is not stored until `update`/`add`/`put` is called,
 * and an object passed to `update`/`add`/`put` and mutated afterwards does not change the state.
 * Handles from `getState(d, 'engine')` are for engine components that keep that contract
 * themselves (they write back what they change and keep nothing they read past the call), so a
 * backend may skip its copies for them (the heap does); user functions never get those.
 */
import type { RawFrame } from '../../format/data-file-writer.ts';
import type { TimerQueue } from '../runtime/timer-heap.ts';
import type { KeyGroupRange } from './current-key.ts';
import type { AggregatingState, ListState, MapState, RawKeyedState, ReducingState, ValueState } from './keyed-state-handles.ts';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  RawStateDescriptor,
  ReducingStateDescriptor,
  RegisteredStateInfo,
  StateDescriptor,
  ValueStateDescriptor,
} from './state-descriptors.ts';

export interface KeyedStateBackendOptions {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  /** Who owns the backend, for messages, e.g. "orders-window subtask 2". */
  readonly owner?: string;
  /** The operator's uid, for messages that name the operator alone (schema migration refusals). */
  readonly operatorUid?: string;
  /** On-disk backends: the directory their working directories go under (OS temp dir if unset). */
  readonly localDir?: string;
  /** On-disk backends: job, operator, subtask and attempt, to name the working directory. */
  readonly scope?: string;
  /** On-disk backends: the write-back cache's capacity in bytes. */
  readonly cacheBytes?: number;
  /** On-disk backends: where timer queues live (`state.backend.rocksdb.timer-service.factory`); ROCKSDB by default, as in Flink. */
  readonly timerService?: 'HEAP' | 'ROCKSDB';
}

/** `user` (the default): handles that keep the contract by copying; `engine`: see above. */
export type StateAccess = 'user' | 'engine';

export type AnyStateHandle =
  | ValueState<unknown>
  | ListState<unknown>
  | MapState<unknown, unknown>
  | ReducingState<unknown>
  | AggregatingState<unknown, unknown>
  | RawKeyedState;

export interface KeyedStateBackend {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  readonly owner: string;

  /**
   * Sets the key of the record being processed. `knownKeyGroup` is the key's group when the
   * caller computed it from this key already (the partitioner), -1 when it must be computed.
   */
  setCurrentKey(key: unknown, knownKeyGroup?: number): void;
  /**
   * No current key until the next `setCurrentKey` (a keyed broadcast operator's broadcast side,
   * whose records belong to no key): keyed state access meanwhile throws a UserError that says
   * `reason`.
   */
  clearCurrentKey(reason: string): void;
  getCurrentKey(): unknown;
  getCurrentKeyGroup(): number;

  /**
   * One handle per state name and access, reused for every key; a name keeps the kind it was first
   * given. A new handle records its descriptor's declaration (schema version, `ttl`) as the state's,
   * which the next snapshot writes: the TTL layer (ttl/ttl-states.ts) relies on it when TTL is
   * turned on or off for a restored state. Values under TTL are `[value, lastAccess]` pairs that
   * the backend stores like any other value. The first handle of a restored state checks the
   * descriptor's schema version against the snapshot's and migrates every stored value once, or
   * refuses (schema-migration.ts).
   */
  getState<T>(descriptor: ValueStateDescriptor<T>, access?: StateAccess): ValueState<T>;
  getState<T>(descriptor: ListStateDescriptor<T>, access?: StateAccess): ListState<T>;
  getState<K, V>(descriptor: MapStateDescriptor<K, V>, access?: StateAccess): MapState<K, V>;
  getState<T>(descriptor: ReducingStateDescriptor<T>, access?: StateAccess): ReducingState<T>;
  getState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>, access?: StateAccess): AggregatingState<IN, OUT>;
  getState(descriptor: RawStateDescriptor, access?: StateAccess): RawKeyedState;
  getState(descriptor: StateDescriptor, access?: StateAccess): AnyStateHandle;

  /** Engine-internal per-key state (the timer service's `_timers`), snapshotted like any other. */
  getRawState(descriptor: RawStateDescriptor): RawKeyedState;

  /**
   * A queue for the timers of raw state `descriptor` in one domain, when the backend keeps timer
   * queues itself (an on-disk store); undefined: the timer service keeps them in memory.
   */
  createTimerQueue?(descriptor: RawStateDescriptor, domain: number): TimerQueue<unknown> | undefined;

  /** The states this backend holds (registered or restored), in `_metadata` order. */
  states(): RegisteredStateInfo[];
  /**
   * The keys that have a value in state `name` (e.g. to rebuild timers). Do not change state
   * or the current key while iterating: collect the keys first.
   */
  keys(name: string): IterableIterator<unknown>;
  /** Number of keys with a value in state `name`. */
  size(name: string): number;

  /**
   * A resumable, bounded cursor over the keys of state `name` (the TTL layer's incremental
   * cleanup on the on-disk backends; the heap has none and the TTL layer iterates `keys`): checks
   * up to `limit` distinct keys from `position` on (undefined: the start of the subtask's key
   * groups), wrapping at the end of its key-group range, and returns them, or with `select` those
   * with a stored element (a value, a list element, a map user value, as stored) it selects, and
   * the position to pass next. It reads a bounded stretch of what the backend holds, never all of
   * it, so it may check fewer keys (none) while state remains. State may change between calls: a
   * position is a place in key order, not an iterator, and a returned key may no longer have a
   * value. Keys still only in a write cache need not be seen.
   */
  keysFrom?(name: string, position: KeyPosition | undefined, limit: number, select?: (element: unknown) => boolean): KeyPage;

  /**
   * Captures every state at the barrier for a write that runs while processing goes on; it must
   * hold the processing thread no longer than a pin (the heap's costs O(key groups)). Release
   * the snapshot (writeKeyedSnapshot does) or the backend keeps what it preserves for it.
   */
  snapshot(options?: KeyedSnapshotOptions): KeyedStateSnapshot;

  /**
   * Incremental checkpoints (`execution.checkpointing.incremental`): from now on the backend
   * records which keys of which state and key group change (every write, delete, clear, and every
   * read that hands out a value to mutate in place), so a snapshot can hand out only those
   * (`KeyedStateSnapshot.takeKeyGroupChanges`). `baseCheckpointId`: the checkpoint the state was
   * just restored from, when its chains may be built on (the same job's failover, or `claim`);
   * undefined: nothing to build on. Called once, after any restore and before the first record.
   */
  trackChanges?(baseCheckpointId: number | undefined): void;
  /**
   * Checkpoint `checkpointId` completed (the subtask was notified): changes recorded up to its
   * snapshot are no longer needed by any later checkpoint, whose chains now start from it.
   */
  confirmChanges?(checkpointId: number): void;

  /** Snapshots taken and not yet released. */
  readonly pendingSnapshots: number;

  /** Declares a state the snapshot holds, so it is kept (and written again) even with no entries here. */
  registerRestoredState(info: RegisteredStateInfo): void;
  /**
   * Loads one key group of one state read from a snapshot (`values` in the snapshot layout,
   * state-value-layout.ts). `where` names the data file for messages. Registers the state under
   * the snapshot's kind if user code has not yet.
   */
  restoreKeyGroup(info: RegisteredStateInfo, keyGroup: number, keys: readonly unknown[], values: readonly unknown[], where: string): void;

  /**
   * The subtask has ended (its operators closed): give back what the backend holds (files,
   * store handles). Snapshots still being written stay readable until they are released.
   * Idempotent.
   */
  dispose(): void | Promise<void>;
}

/** Where a `keysFrom` cursor resumes: opaque to its callers (an on-disk backend's store key). */
export type KeyPosition = Uint8Array;

export interface KeyPage {
  readonly keys: readonly unknown[];
  /** Where the next call resumes (undefined: at the start of the key-group range). */
  readonly next: KeyPosition | undefined;
}

/** Parallel arrays: `keys[i]` is the key string (canonical key bytes, key-string.ts) of `values[i]`. */
export interface CapturedEntries {
  readonly keys: readonly string[];
  /** In the backend's in-memory layout (state-value-layout.ts), as handles keep them; empty when `packed` is set. */
  readonly values: readonly unknown[];
  /**
   * Only when the caller asked for it (`TakeOptions.packed`) and the backend stores this state's
   * values as `createValuePackr()` bytes, for a value-like state (value, reducing, aggregating)
   * without TTL: `packed[i]` is the value of `keys[i]` as stored, not decoded (the on-disk
   * backends), for `DataFileWriter.writeCanonicalPackedKeyGroup`, which writes it without
   * decoding and packing it again. Unchanged until the key group is released.
   */
  readonly packed?: readonly Uint8Array[];
}

/**
 * `takeKeyGroupChanges(keyGroup, EMPTY_BASE)`: every change since the backend began tracking,
 * where it held nothing then (the on-disk backends: a job's first run, not a restore): the whole
 * group, taken as changes before the first checkpoint confirms (checkpoint ids start at 1).
 */
export const EMPTY_BASE = 0;

export interface TakeOptions {
  /** The caller writes `CapturedEntries.packed` when a backend hands it out (snapshot writers do; other readers want `values`). */
  readonly packed?: boolean;
  /**
   * `takeKeyGroupChanges` answers undefined where it would read the backend's store for the
   * changes rather than take them from what it recorded (an on-disk backend whose records of
   * writes do not reach back to the base, or a map or list state): a caller that would otherwise
   * take the group whole asks this, when changes read one key at a time would cost it more.
   */
  readonly recordedOnly?: boolean;
}

export interface KeyedSnapshotOptions {
  /**
   * With change tracking: the checkpoint this snapshot is for. The snapshot marks where that
   * checkpoint's changes end, so a later checkpoint can ask for the changes since it. A savepoint
   * passes nothing: it is never a chain's base.
   */
  readonly checkpointId?: number;
}

/**
 * One state's changes in one key group since a base checkpoint, as of the snapshot: `upserts`
 * are the entries to set (their values as of the snapshot), `deletions` the key strings to
 * remove. Disjoint. A key that changed and is back to its base value may be in `upserts`; a key
 * that did not exist at the base and does not exist now may be in `deletions` (supersets are
 * correct, only missing a change is not).
 */
export interface CapturedChanges {
  readonly info: RegisteredStateInfo;
  readonly upserts: CapturedEntries;
  readonly deletions: readonly string[];
}

/** One state's entries of one key group, as of the snapshot. */
export interface CapturedKeyGroup extends CapturedEntries {
  readonly info: RegisteredStateInfo;
}

/**
 * A keyed snapshot taken at a barrier and written afterwards, key group by key group, while the
 * subtask keeps processing (the heap's pins key groups copy-on-write; an on-disk backend's reads
 * a store snapshot).
 */
/** A key group encoded off the processing thread (`KeyedStateSnapshot.takeKeyGroupFrames`). */
export interface EncodedKeyGroup {
  /** Per state, in `states` order: the frames of its block (none: no entries). */
  readonly states: readonly (readonly RawFrame[])[];
  /** Keyed entries (key and state pairs) in it. */
  readonly entries: number;
  /** The encoding writer's frame limit after the last block (DataFileWriter.continueFrameLimit). */
  readonly frameLimit: number;
}

export interface KeyedStateSnapshot {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  /** The states as registered when the snapshot was taken, in `_metadata` order. */
  readonly states: readonly RegisteredStateInfo[];
  /** Keyed entries over all states when the snapshot was taken (for reports). */
  readonly entries: number;
  readonly released: boolean;
  /**
   * Every state's entries of `keyGroup` as of the snapshot (one item per state, in `states`
   * order), once per key group. What it returns stays unchanged until `releaseKeyGroup`.
   */
  takeKeyGroup(keyGroup: number, options?: TakeOptions): readonly CapturedKeyGroup[] | Promise<readonly CapturedKeyGroup[]>;
  /**
   * With change tracking (`trackChanges`): every state's changes in `keyGroup` since checkpoint
   * `baseCheckpointId` (as `takeKeyGroup`, one item per state in `states` order, once per key
   * group, instead of `takeKeyGroup` for that group), or undefined when the backend cannot tell
   * them (tracking started after that checkpoint, or its changes were already confirmed past):
   * the caller then takes the whole key group with `takeKeyGroup`. The on-disk backends also let
   * `takeKeyGroup` follow changes taken (a rewrite from the chain's files that could not be made
   * reads the group whole after all: the chain rewrite thread).
   */
  takeKeyGroupChanges?(keyGroup: number, baseCheckpointId: number, options?: TakeOptions): readonly CapturedChanges[] | undefined | Promise<readonly CapturedChanges[] | undefined>;
  /**
   * Instead of `takeKeyGroup`, where the backend can: every state's block of `keyGroup` as the
   * frames a DataFileWriter whose frame limit was `frameLimit` writes for it (`labels[i]` naming
   * state i in errors), encoded off the processing thread; undefined: take it with `takeKeyGroup`.
   */
  takeKeyGroupFrames?(keyGroup: number, labels: readonly string[], frameLimit: number): Promise<EncodedKeyGroup | undefined>;
  /**
   * Every change since checkpoint `baseCheckpointId` in every key group, as maps from store key
   * (a latin1 string: key group, canonical key, state id; state-keys.ts) to stored value or null
   * (deleted), to apply oldest first; undefined unless the backend recorded them all as written
   * (the on-disk backends' records of writes) and every state is value-like without TTL (one
   * store entry per key, its value as a block holds it). For the chain rewrite thread, which
   * takes them whole instead of the writer taking each key group's changes here. The maps are
   * the backend's own and are never changed.
   */
  recordedChanges?(baseCheckpointId: number): readonly ReadonlyMap<string, Uint8Array | null>[] | undefined;
  /** Key group written: the backend need not keep its state of the snapshot any more. */
  releaseKeyGroup(keyGroup: number): void;
  /** Done (written, or the checkpoint was abandoned); idempotent. */
  release(): void;
}
