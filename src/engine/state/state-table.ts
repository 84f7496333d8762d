/**
 * One keyed state of one subtask, stored per key group (Flink's StateTable of per-key-group
 * state maps), so a snapshot is written key group by key group with no grouping pass.
 *
 * Copy-on-write per entry, in the spirit of Flink's CopyOnWriteStateMap (entry and state
 * versions), shaped for JS Maps:
 * - `snapshot()` only pins every key group at the current version: O(key groups), no copying.
 * - Entry objects are never mutated while a snapshot pins them. Replacing or deleting a pinned
 *   entry first files the old entry in the snapshot's per-key-group `preserved` Map; `read`,
 *   which returns a value to mutate in place (a list appended to, a map state's Map, an engine
 *   handle's value), first replaces the entry with a deep copy (Flink's heap backend copies
 *   through the serializer for the same reason), so in-place mutation cannot reach a snapshot.
 *   User handles read through `get` and copy what they hand out (keyed-state-handles.ts).
 * - The writer captures a key group synchronously when it gets to it: the live entries no newer
 *   than the snapshot, plus the preserved ones. It unpins the group once written, after which
 *   the group costs nothing extra. The live Maps are never copied: copying 1M entries takes
 *   about 200 ms here, one key group at a time it still cost 2 µs per record during a write.
 *
 * Change tracking (heap-change-log.ts): with `track`, read (which hands out a value to mutate),
 * write and remove log the key under the current version, the snapshot sequence, once per
 * sequence (the entry remembers where it was logged last); off, they pay one field check.
 * `captureChanges` reads the changed keys as of a pinned snapshot exactly as `capture` reads
 * them all.
 */
import type { HeapChangeLog } from './heap-change-log.ts';
import { deepCopy } from './copy-value.ts';
import type { CapturedEntries } from './keyed-state-backend.ts';
import type { RegisteredStateInfo } from './state-descriptors.ts';

export interface StateEntry {
  /** The key as the user gave it (or as decoded on restore), written to the snapshot. */
  readonly key: unknown;
  /** The key group Map's key for this entry: the change log lists it rather than keep another copy of the key alive. */
  readonly keyString: string;
  value: unknown;
  /** The SnapshotPins version current when the entry object was created. */
  readonly version: number;
  /**
   * With change tracking: the version under which the key was last logged as changed (0: not
   * since tracking began), or REPLACED.
   */
  logged: number;
}

/**
 * `StateEntry.logged` of an entry no longer live (replaced copy-on-write, or removed): the change
 * log, which lists entry objects, looks the key up again for these only. (A marker in `logged`
 * rather than a field of its own: every entry of every heap state carries the fields.)
 */
export const REPLACED = -1;

export type KeyGroupMap = Map<string, StateEntry>;

/** One unreleased snapshot's hold on the key groups of a backend. */
export interface PinHolder {
  readonly version: number;
  /** Per key group index: 1 while the snapshot still needs that key group. */
  readonly held: Uint8Array;
}

/**
 * The versions shared by all states of one backend (one snapshot covers all of them). An entry
 * with `version <= pinned[i]` may belong to an unreleased snapshot of key group index i.
 */
export class SnapshotPins {
  #version = 1;
  /** Highest version of an unreleased snapshot that holds key group index i; 0 for none. */
  readonly pinned: Float64Array;
  readonly holders = new Set<PinHolder>();

  constructor(readonly groups: number) {
    this.pinned = new Float64Array(groups);
  }

  get version(): number {
    return this.#version;
  }

  /** Pins every key group at the current version and starts a new one. */
  pinAll(): PinHolder {
    const holder: PinHolder = { version: this.#version++, held: new Uint8Array(this.groups).fill(1) };
    this.holders.add(holder);
    this.pinned.fill(holder.version); // the newest snapshot always has the highest version
    return holder;
  }

  release(holder: PinHolder, index: number): void {
    if (holder.held[index] !== 1) return;
    holder.held[index] = 0;
    let highest = 0;
    for (const h of this.holders) if (h.held[index] === 1 && h.version > highest) highest = h.version;
    this.pinned[index] = highest;
  }

  releaseAll(holder: PinHolder): void {
    if (!this.holders.has(holder)) return;
    for (let i = 0; i < this.groups; i++) this.release(holder, i);
    this.holders.delete(holder);
  }
}

export class StateTable {
  info: RegisteredStateInfo;
  readonly #pins: SnapshotPins;
  readonly #maps: KeyGroupMap[];
  /** Per holder, per key group index: entries replaced or deleted since that snapshot. */
  readonly #preserved = new Map<PinHolder, (KeyGroupMap | undefined)[]>();
  /**
   * The live entry (undefined: none) of the key looked up or changed last. Every change to the
   * Maps goes through read/write/remove, which keep it current.
   */
  #lastIndex = -1;
  #lastKeyString = '';
  #lastEntry: StateEntry | undefined;
  /** Undefined while changes are not tracked. */
  #changes: HeapChangeLog | undefined;

  constructor(info: RegisteredStateInfo, pins: SnapshotPins) {
    this.info = info;
    this.#pins = pins;
    this.#maps = Array.from({ length: pins.groups }, () => new Map());
  }

  /** The entry without any copy: for reads that hand nothing mutable to user code. */
  peek(index: number, keyString: string): StateEntry | undefined {
    return this.#maps[index]!.get(keyString);
  }

  /**
   * The value without any copy, for a caller that neither mutates it nor hands it on uncopied
   * (handles copy what they return). Remembered, so the write that usually follows finds the
   * entry without a second lookup.
   */
  get(index: number, keyString: string): unknown {
    const entry = this.#maps[index]!.get(keyString);
    this.#remember(index, keyString, entry);
    return entry?.value;
  }

  /** The value, safe for the caller to mutate in place (copied first if a snapshot holds it). */
  read(index: number, keyString: string): unknown {
    const map = this.#maps[index]!;
    const entry = map.get(keyString);
    this.#remember(index, keyString, entry);
    if (entry === undefined) return undefined;
    if (this.#changes !== undefined) this.#logChange(index, entry);
    const value = entry.value;
    if (typeof value !== 'object' || value === null || entry.version > this.#pins.pinned[index]!) return value;
    this.#preserve(index, keyString, entry);
    const copy: StateEntry = { key: entry.key, keyString: entry.keyString, value: deepCopy(value), version: this.#pins.version, logged: entry.logged };
    entry.logged = REPLACED;
    map.set(keyString, copy);
    this.#remember(index, keyString, copy);
    return copy.value;
  }

  write(index: number, keyString: string, key: unknown, value: unknown): void {
    const map = this.#maps[index]!;
    // Read-modify-write is the common pattern: the read just looked this key up.
    const entry = index === this.#lastIndex && keyString === this.#lastKeyString ? this.#lastEntry : map.get(keyString);
    if (entry !== undefined) {
      if (this.#changes !== undefined) this.#logChange(index, entry);
      if (entry.version > this.#pins.pinned[index]!) {
        entry.value = value;
        return;
      }
      this.#preserve(index, keyString, entry);
    }
    const version = this.#pins.version;
    const created: StateEntry = { key: entry === undefined ? key : entry.key, keyString: entry === undefined ? keyString : entry.keyString, value, version, logged: entry === undefined ? 0 : entry.logged };
    if (entry !== undefined) entry.logged = REPLACED;
    if (entry === undefined && this.#changes !== undefined) this.#logChange(index, created);
    map.set(keyString, created);
    this.#remember(index, keyString, created);
  }

  remove(index: number, keyString: string): void {
    const map = this.#maps[index]!;
    const entry = map.get(keyString);
    if (entry === undefined) return;
    if (this.#changes !== undefined) {
      this.#logChange(index, entry);
      this.#changes.removed(index, this.#pins.version);
    }
    if (entry.version <= this.#pins.pinned[index]!) this.#preserve(index, keyString, entry);
    entry.logged = REPLACED;
    map.delete(keyString);
    this.#remember(index, keyString, undefined);
  }

  /**
   * The entries of key group index `index` as they were when `holder` was taken, as key strings
   * (the canonical key bytes, written as they are) and values. Synchronous, so no change can
   * interleave; the returned values stay unmutated while the group is pinned.
   */
  capture(holder: PinHolder, index: number): CapturedEntries {
    const keys: string[] = [];
    const values: unknown[] = [];
    this.#maps[index]!.forEach((entry, keyString) => {
      if (entry.version <= holder.version) {
        keys.push(keyString);
        values.push(entry.value);
      }
    });
    this.#preserved.get(holder)?.[index]?.forEach((entry, keyString) => {
      keys.push(keyString);
      values.push(entry.value);
    });
    return { keys, values };
  }

  /** From now on every change is logged in `changes`. */
  track(changes: HeapChangeLog): void {
    this.#changes = changes;
  }

  /** Runs `load` without recording its writes (a restore: what it loads is the base). */
  untracked(load: () => void): void {
    const changes = this.#changes;
    this.#changes = undefined;
    try {
      load();
    } finally {
      this.#changes = changes;
    }
  }

  /**
   * The keys of key group index `index` changed after sequence `seq`, as they were when `holder`
   * was taken (as `capture`): the live entry if no newer than the snapshot, else the one preserved
   * for it, else the key had no value then and is a deletion. Undefined when changes are not
   * tracked. Changes after the snapshot are left out (a key changed before and after it is
   * listed for the change before, with its snapshot value).
   */
  captureChanges(holder: PinHolder, index: number, seq: number): { upserts: CapturedEntries; deletions: string[] } | undefined {
    if (this.#changes === undefined) return undefined;
    const keys: string[] = [];
    const values: unknown[] = [];
    const deletions: string[] = [];
    const map = this.#maps[index]!;
    const preserved = this.#preserved.get(holder)?.[index];
    const upTo = holder.version;
    for (const logged of this.#changes.since(index, seq, upTo)) {
      const keyString = logged.keyString;
      let entry: StateEntry | undefined;
      // Still the live entry and no newer than the snapshot: its value is the snapshot's (a pinned entry is not mutated).
      if (logged.logged !== REPLACED && logged.version <= upTo) entry = logged;
      else {
        const live = map.get(keyString);
        entry = live !== undefined && live.version <= upTo ? live : preserved?.get(keyString);
      }
      if (entry === undefined) deletions.push(keyString);
      else {
        keys.push(keyString);
        values.push(entry.value);
      }
    }
    return { upserts: { keys, values }, deletions };
  }

  /** Forgets what was preserved for `holder` in one key group index, or in all (index undefined). */
  dropPreserved(holder: PinHolder, index?: number): void {
    if (index === undefined) this.#preserved.delete(holder);
    else {
      const perGroup = this.#preserved.get(holder);
      if (perGroup !== undefined) perGroup[index] = undefined;
    }
  }

  get size(): number {
    let n = 0;
    for (const map of this.#maps) n += map.size;
    return n;
  }

  /** Replaces every value with `change(value)` (schema migration), copy-on-write as any write. */
  migrateValues(change: (value: unknown) => unknown): void {
    this.#maps.forEach((map, index) => {
      for (const [keyString, entry] of [...map]) this.write(index, keyString, entry.key, change(entry.value));
    });
  }

  /** Every entry, key group by key group; do not mutate state while iterating. */
  *entries(): IterableIterator<StateEntry> {
    for (const map of this.#maps) yield* map.values();
  }

  /** Logs `entry`'s key as changed under the current version, unless it already is. */
  #logChange(index: number, entry: StateEntry): void {
    const version = this.#pins.version;
    if (entry.logged === version) return;
    entry.logged = version;
    this.#changes!.add(index, entry, version);
  }

  #remember(index: number, keyString: string, entry: StateEntry | undefined): void {
    this.#lastIndex = index;
    this.#lastKeyString = keyString;
    this.#lastEntry = entry;
  }

  /** Files `entry` with every snapshot that still needs it, before it is replaced or deleted. */
  #preserve(index: number, keyString: string, entry: StateEntry): void {
    for (const holder of this.#pins.holders) {
      if (holder.held[index] !== 1 || entry.version > holder.version) continue;
      let perGroup = this.#preserved.get(holder);
      if (perGroup === undefined) {
        perGroup = new Array<KeyGroupMap | undefined>(this.#pins.groups);
        this.#preserved.set(holder, perGroup);
      }
      let preserved = perGroup[index];
      if (preserved === undefined) perGroup[index] = preserved = new Map();
      // Only the first change after the snapshot preserves: later ones replace a newer entry.
      if (!preserved.has(keyString)) preserved.set(keyString, entry);
    }
  }
}
