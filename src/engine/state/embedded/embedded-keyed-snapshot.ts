/**
 * A keyed snapshot of the on-disk backend: a store snapshot taken at the barrier with the write-back
 * cache's changes not yet in the store laid over it (frozen at the barrier, write-back-cache.ts),
 * read key group by key group while processing goes on. Each key
 * group is one contiguous store range (state-keys.ts); its entries come sorted by key, then state
 * id, then user key, so each key's value of each state is assembled from consecutive entries, in
 * the in-memory layout state-value-layout.ts gives (a UserMap for map state, an array for list
 * state), and write-keyed-snapshot.ts writes today's format unchanged. A writer that asks for
 * packed values gets a value-like state's (value, reducing, aggregating; no TTL) stored bytes
 * instead, not decoded: they are what the data file writer would pack for the decoded value, and
 * decoding them only to pack them again was most of what writing a checkpoint cost here
 * (DataFileWriter.writeCanonicalPackedKeyGroup).
 *
 * With change tracking, `takeKeyGroupChanges` hands out only the changed keys' values as of the
 * barrier; a changed prefix with no entry then is a deletion. A value-like state (one entry at
 * the prefix) is taken from what the write-back cache recorded it wrote in the last intervals
 * before the barrier (`TrackedSnapshot.written`), with no store read; when those records cover
 * every interval since the base, a changed key in none of them changed only after the barrier
 * and is left out. Otherwise such a key is a point read of the merged view; a map or list
 * state's prefix a range read of it, in key order. Store reads were what a delta cost (profiled
 * at 1% of 1M keys changed per second: 40% of the processing thread on rocksdb, whose reads of an
 * iterator snapshot slow down as keys are overwritten after it, and a third of it on lmdb, at
 * about 35 us per range read). When the records do not reach back to the base and a group has
 * many changed keys (WHOLE_ON_THREAD_MIN_CHANGES), the group is left to be taken whole on the
 * store's snapshot thread, where there is one, rather than read key by key here.
 * `entries` counts only what `takeKeyGroup` read: a delta tells nothing of the rest.
 */
import { InternalError, UserError } from '../../../errors.ts';
import { decodeCanonicalKey } from '../../../format/canonical-key.ts';
import type { KeyGroupRange } from '../current-key.ts';
import type { ChangeBases, KeyChanges } from '../change-tracking.ts';
import type { CapturedChanges, CapturedKeyGroup, EncodedKeyGroup, KeyedStateSnapshot, TakeOptions } from '../keyed-state-backend.ts';
import { isPackedValueState, type RegisteredStateInfo } from '../state-descriptors.ts';
import type { UserMap } from '../state-value-layout.ts';
import type { StoreSnapshot } from './embedded-store.ts';
import type { PackedStateRef } from './lmdb-snapshot-protocol.ts';
import type { ThreadRead } from './lmdb-snapshot-thread.ts';
import type { ValueCodec } from './state-context.ts';
import { bytesToLatin1, latin1Between, latin1ToBytes } from './memory-store.ts';
import type { Changes, WrittenRecord } from './write-back-cache.ts';
import { mergeOverlay } from './merge-overlay.ts';
import { canonicalKeyEnd, keyGroupRange, prefixEnd } from './state-keys.ts';

/** What a snapshot taken while changes are tracked needs to hand them out. */
export interface TrackedSnapshot {
  /** The snapshot's sequence: changes up to it are in it. */
  readonly seq: number;
  readonly bases: ChangeBases;
  readonly changes: KeyChanges;
  /**
   * What the write-back cache wrote in the intervals before this snapshot, newest first
   * (WriteBackCache.freezeWritten): `written[i]` holds every key written between the snapshots
   * at sequences seq - i - 1 and seq - i, with its value at the later one.
   */
  readonly written: readonly WrittenRecord[];
}

export class EmbeddedKeyedSnapshot implements KeyedStateSnapshot {
  #entries = 0;
  /** Key groups the store's snapshot thread read and encoded (takeKeyGroupFrames): for reports and tests. */
  keyGroupsEncodedInThread = 0;
  #released = false;
  readonly #taken: Uint8Array;
  /** The frozen changes by key group, each sorted by key: built on the first take, off the barrier. */
  #overlay: Map<number, [string, Uint8Array | null][]> | undefined;
  /** The frozen changes by store key, the latest of each: built with #overlay. */
  #latest: Map<string, Uint8Array | null> | undefined;

  constructor(
    readonly keyGroupRange: KeyGroupRange,
    readonly maxParallelism: number,
    /** In state id order: `states[id]`. */
    readonly states: readonly RegisteredStateInfo[],
    private readonly snapshot: StoreSnapshot,
    /** Oldest first: a later one's value of a key wins. */
    private readonly changes: readonly Changes[],
    private readonly codec: ValueCodec,
    private readonly onRelease: (s: EmbeddedKeyedSnapshot) => void,
    private readonly tracked?: TrackedSnapshot,
    /** The same snapshot read by the store's snapshot thread (lmdb), for key groups taken whole. */
    private readonly inThread?: ThreadRead,
  ) {
    this.#taken = new Uint8Array(keyGroupRange.end - keyGroupRange.start + 1);
  }

  /**
   * Keyed entries (key and state pairs) read so far: counting them when the snapshot is taken
   * would read the whole store on the processing thread, so they are counted as key groups are
   * taken, and the figure is complete once all have been (as writeKeyedSnapshot does).
   */
  get entries(): number {
    return this.#entries;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Whether the store's snapshot thread began its read as of this snapshot (false: none, or it could not): for tests. */
  get threadReadBegun(): Promise<boolean> {
    return this.inThread?.begun ?? Promise.resolve(false);
  }

  takeKeyGroup(keyGroup: number, options?: TakeOptions): CapturedKeyGroup[] {
    this.#take(keyGroup);
    const { start, end } = keyGroupRange(keyGroup);
    const packs = this.#packs(options);
    const { keys, values } = this.#assemble(this.#merged(this.#overlayOf(keyGroup), start, end), packs);
    for (const k of keys) this.#entries += k.length;
    return this.states.map((info, i) => (packs[i] ? { info, keys: keys[i]!, values: [], packed: values[i] as Uint8Array[] } : { info, keys: keys[i]!, values: values[i]! }));
  }

  /**
   * `keyGroup` whole, read and encoded by the store's snapshot thread, when there is one, its read
   * began as of this snapshot, and every state's values go into blocks as stored (value-like, no
   * TTL: the thread writes them with writeCanonicalPackedKeyGroup). The frozen changes of the
   * group go along, as the overlay takeKeyGroup lays over its store snapshot. A value the format
   * refuses fails as on this thread (a UserError with the same message); any other failure of the
   * thread leaves the key group to takeKeyGroup.
   */
  async takeKeyGroupFrames(keyGroup: number, labels: readonly string[], frameLimit: number): Promise<EncodedKeyGroup | undefined> {
    const read = this.inThread;
    if (read === undefined || !this.#threadEncodes() || !(await read.begun)) return undefined;
    const states: PackedStateRef[] = this.states.map((info, i) => ({ label: labels[i] ?? info.name, kind: info.kind as PackedStateRef['kind'] }));
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    const index = keyGroup - this.keyGroupRange.start;
    if (this.#taken[index] !== 0) throw new InternalError(`key group ${keyGroup} taken twice from one snapshot`);
    let encoded: EncodedKeyGroup;
    try {
      encoded = await read.readKeyGroup({ keyGroup, maxParallelism: this.maxParallelism, overlay: this.#overlayOf(keyGroup), states, frameLimit });
    } catch (err) {
      if (err instanceof UserError) throw err;
      return undefined;
    }
    this.#take(keyGroup);
    this.#entries += encoded.entries;
    this.keyGroupsEncodedInThread += 1;
    return encoded;
  }

  /** Whether the store's snapshot thread can take this snapshot's key groups whole: it has one, and every state is value-like without TTL (its values go into blocks as stored). */
  #threadEncodes(): boolean {
    return this.inThread !== undefined && this.states.every(isPackedValueState);
  }

  /**
   * Per state id, whether its values are handed out as stored (`CapturedEntries.packed`): asked
   * for, and a value-like state without TTL, whose stored bytes are its snapshot value as
   * createValuePackr writes it (a TTL value is laid out anew, a list or map assembled).
   */
  #packs(options: TakeOptions | undefined): boolean[] {
    const asked = options?.packed === true;
    return this.states.map((info) => asked && isPackedValueState(info));
  }

  /**
   * Every state's changes in `keyGroup` since checkpoint `baseCheckpointId`, as of the snapshot;
   * undefined (the key group not taken) when changes were not tracked at the snapshot or that
   * checkpoint is no base any more (change-tracking.ts).
   */
  takeKeyGroupChanges(keyGroup: number, baseCheckpointId: number, options?: TakeOptions): CapturedChanges[] | undefined | Promise<CapturedChanges[] | undefined> {
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    if (this.tracked === undefined) return undefined;
    const base = this.tracked.bases.seqOf(baseCheckpointId);
    if (base === undefined || base >= this.tracked.seq) return undefined;
    const index = keyGroup - this.keyGroupRange.start;
    // The records cover every write since the base: a key in none of them did not change since (it changed after the snapshot).
    const covered = this.tracked.seq - base <= this.tracked.written.length;
    if (options?.recordedOnly === true && (!covered || this.states.some((s) => s.kind === 'map' || s.kind === 'list'))) return undefined;
    if (this.tracked.changes.countSince(index, base) >= WHOLE_ON_THREAD_MIN_CHANGES && this.#threadEncodes()) {
      // Undefined: the writer takes the group whole, on the thread (takeKeyGroupFrames).
      return this.inThread!.begun.then((began) => (began ? undefined : this.#changesOf(keyGroup, base, covered, options)));
    }
    return this.#changesOf(keyGroup, base, covered, options);
  }

  recordedChanges(baseCheckpointId: number): readonly Changes[] | undefined {
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    const tracked = this.tracked;
    if (tracked === undefined || !this.states.every(isPackedValueState)) return undefined;
    const base = tracked.bases.seqOf(baseCheckpointId);
    if (base === undefined || base >= tracked.seq || tracked.seq - base > tracked.written.length) return undefined;
    // written[i] holds the writes between the snapshots at seq - i - 1 and seq - i: the first seq - base are those since the base.
    const out: Changes[] = [];
    for (let i = tracked.seq - base - 1; i >= 0; i--) out.push(...tracked.written[i]!.layers());
    return out;
  }

  /** takeKeyGroupChanges's changes since sequence `base`, read on this thread; `covered`: whether the records of writes reach back to it. */
  #changesOf(keyGroup: number, base: number, covered: boolean, options: TakeOptions | undefined): CapturedChanges[] {
    this.#take(keyGroup, 'changes');
    const states = this.states;
    // Sorted: prefixes are disjoint ranges (state-keys.ts); in key order, their entries come in store order.
    const prefixes = this.tracked!.changes
      .since(keyGroup - this.keyGroupRange.start, base)
      // A state registered after the snapshot had nothing then.
      .filter((p) => stateIdOf(p) < states.length);
    const keys: string[][] = states.map(() => []);
    const values: unknown[][] = states.map(() => []);
    const deletions: string[][] = states.map(() => []);
    const packs = this.#packs(options);
    /** Prefixes of map and list states: several entries each, read as a range. */
    const ranged: string[] = [];
    // Only the records since the base: a key found in none of them but in an older one changed after the snapshot (the
    // tracker lists changes made since, too), and its value at the snapshot is the base's, which needs no upsert.
    const written = this.tracked!.written.slice(0, this.tracked!.seq - base).map((record) => record.ofGroup?.(keyGroup) ?? record);
    for (const prefix of prefixes) {
      const id = stateIdOf(prefix);
      const kind = states[id]!.kind;
      if (kind === 'map' || kind === 'list') {
        ranged.push(prefix);
        continue;
      }
      // One entry at the prefix itself: its value from the newest record of writes that has it, else a point read of the merged view.
      let bytes: Uint8Array | null | undefined;
      for (let i = 0; i < written.length && bytes === undefined; i++) bytes = written[i]!.get(prefix);
      if (bytes === undefined) {
        if (covered) continue;
        bytes = this.#valueAt(prefix);
      }
      const key = prefix.slice(2, -2);
      if (bytes === null) deletions[id]!.push(key);
      else {
        keys[id]!.push(key);
        values[id]!.push(packs[id] ? bytes : this.codec.decode(bytes));
      }
    }
    if (ranged.length > 0) {
      const overlay = this.#overlayOf(keyGroup);
      const self = this;
      function* entries(): Generator<readonly [Uint8Array, Uint8Array]> {
        for (const prefix of ranged) {
          const start = latin1ToBytes(prefix);
          const end = prefixEnd(start);
          yield* self.#merged(overlayBetween(overlay, prefix, bytesToLatin1(end)), start, end);
        }
      }
      // Map and list states get entries from here only, value-like states from the loop above only.
      const assembled = this.#assemble(entries(), packs);
      const upserted = assembled.keys.map((k) => new Set(k));
      for (const prefix of ranged) {
        const id = stateIdOf(prefix);
        const key = prefix.slice(2, -2);
        if (!upserted[id]!.has(key)) deletions[id]!.push(key);
      }
      for (let id = 0; id < states.length; id++) {
        if (assembled.keys[id]!.length === 0) continue;
        keys[id] = assembled.keys[id]!;
        values[id] = assembled.values[id]!;
      }
    }
    return states.map((info, i) => ({
      info,
      upserts: packs[i] ? { keys: keys[i]!, values: [], packed: values[i] as Uint8Array[] } : { keys: keys[i]!, values: values[i]! },
      deletions: deletions[i]!,
    }));
  }

  /** The value at store key `prefix` in the merged view (store snapshot, frozen changes over it); null when none. */
  #valueAt(prefix: string): Uint8Array | null {
    this.#overlayOf(-1);
    const frozen = this.#latest!.get(prefix);
    if (frozen !== undefined) return frozen;
    return this.snapshot.get(latin1ToBytes(prefix)) ?? null;
  }

  /** `changes` may be followed by a whole take of the same group (the contract's one second take); nothing else may. */
  #take(keyGroup: number, how: 'whole' | 'changes' = 'whole'): void {
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    const index = keyGroup - this.keyGroupRange.start;
    if (index < 0 || index >= this.#taken.length) throw new InternalError(`key group ${keyGroup} is not in this snapshot's range`);
    const taken = this.#taken[index];
    if (taken !== 0 && !(taken === TAKEN_CHANGES && how === 'whole')) throw new InternalError(`key group ${keyGroup} taken twice from one snapshot`);
    this.#taken[index] = how === 'whole' ? TAKEN_WHOLE : TAKEN_CHANGES;
  }

  /**
   * Each key's value of each state from consecutive store entries (sorted by key, then state id,
   * then user key), in the in-memory layout; for a state `packs` marks, the stored bytes as they
   * are. Entries of a state registered after the snapshot cannot be here: the store snapshot and
   * the frozen changes are from before it.
   */
  #assemble(entries: Iterable<readonly [Uint8Array, Uint8Array]>, packs: readonly boolean[]): { keys: string[][]; values: unknown[][] } {
    const keys: string[][] = this.states.map(() => []);
    const values: unknown[][] = this.states.map(() => []);
    let lastKey = '';
    let lastId = -1;
    /** The list or map being assembled for (lastKey, lastId). */
    let open: unknown[] | UserMap | undefined;
    for (const [storeKey, value] of entries) {
      const keyEnd = canonicalKeyEnd(storeKey, 2);
      const id = (storeKey[keyEnd]! << 8) | storeKey[keyEnd + 1]!;
      const info = this.states[id];
      if (info === undefined) throw new InternalError(`keyed snapshot: a store entry of state id ${id}, which is not registered`);
      const key = latin1Between(storeKey, 2, keyEnd);
      const suffixLength = storeKey.length - keyEnd - 2;
      if (key !== lastKey || id !== lastId) {
        lastKey = key;
        lastId = id;
        open = undefined;
        if (info.kind === 'list' || info.kind === 'map') {
          open = info.kind === 'list' ? [] : new Map();
          keys[id]!.push(key);
          values[id]!.push(open);
        }
      }
      switch (info.kind) {
        case 'list':
          // The entry at the prefix itself is the count; the elements follow in sequence order.
          if (suffixLength > 0) (open as unknown[]).push(this.codec.decode(value));
          break;
        case 'map':
          (open as UserMap).set(latin1Between(storeKey, keyEnd + 2, storeKey.length), [decodeCanonicalKey(storeKey.subarray(keyEnd + 2)), this.codec.decode(value)]);
          break;
        default:
          keys[id]!.push(key);
          // The store's bytes are its own (lmdb-js copies what a range reads, rocksdb's batches are fresh buffers, the cache never reuses one).
          values[id]!.push(packs[id] ? value : this.codec.decode(value));
      }
    }
    return { keys, values };
  }

  /** The store snapshot's entries in [start, end) with `overlay` (the frozen changes in that range, sorted) over them, in key order. */
  #merged(overlay: readonly [string, Uint8Array | null][], start: Uint8Array, end: Uint8Array): Generator<readonly [Uint8Array, Uint8Array]> {
    return mergeOverlay(this.snapshot.range(start, end), overlay);
  }

  #overlayOf(keyGroup: number): [string, Uint8Array | null][] {
    if (this.#overlay === undefined) {
      const latest = new Map<string, Uint8Array | null>();
      for (const changes of this.changes) changes.forEach((v, k) => latest.set(k, v));
      this.#latest = latest;
      this.#overlay = new Map();
      for (const [k, v] of latest) {
        const group = (k.charCodeAt(0) << 8) | k.charCodeAt(1);
        let list = this.#overlay.get(group);
        if (list === undefined) this.#overlay.set(group, (list = []));
        list.push([k, v]);
      }
      for (const list of this.#overlay.values()) list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
    return this.#overlay.get(keyGroup) ?? [];
  }

  /** Nothing is held per key group: the store snapshot is released with the whole. */
  releaseKeyGroup(_keyGroup: number): void {}

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.snapshot.release();
    this.inThread?.release();
    this.tracked?.bases.released();
    this.onRelease(this);
  }
}

/** What `#taken` holds per key group: not yet, whole (takeKeyGroup, takeKeyGroupFrames), or its changes only. */
const TAKEN_WHOLE = 1;
const TAKEN_CHANGES = 2;

/**
 * Changed keys in a key group from which takeKeyGroupChanges leaves the group to be taken whole
 * on the store's snapshot thread, which costs the processing thread about nothing. Where the
 * records of writes do not reach back to the base (an interval wrote more than their budget, a
 * base several checkpoints back, a restore), each key would otherwise be a point read of the
 * store on the processing thread (1-1.5 us): issue 13 measured two deltas of 405k and 247k keys
 * at 369 ms and 191 ms of point reads while 1M keys were first written (lmdb, hot keys,
 * checkpoints every second). Where they do, each key is still a lookup in the records, a copy
 * into the delta and its encoding on the processing thread: with the records' budget raised to
 * the cache's capacity (write-back-cache.ts, WRITTEN_SHARE), such deltas came back to the
 * processing thread in that phase, and three interleaved runs of 4M records ran at 1,628-1,870
 * ns of processing-thread CPU per record with this rule applied to them too, 1,685-1,920 ns
 * without. Fewer changes stay a delta: the group whole writes more bytes.
 */
export const WHOLE_ON_THREAD_MIN_CHANGES = 1024;

/** The state id at the end of a prefix `group | key | state id` (as a key string). */
function stateIdOf(prefix: string): number {
  return (prefix.charCodeAt(prefix.length - 2) << 8) | prefix.charCodeAt(prefix.length - 1);
}

/** The part of a sorted overlay in [start, end). */
function overlayBetween(overlay: readonly [string, Uint8Array | null][], start: string, end: string): [string, Uint8Array | null][] {
  let lo = 0;
  let hi = overlay.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (overlay[mid]![0] < start) lo = mid + 1;
    else hi = mid;
  }
  const out: [string, Uint8Array | null][] = [];
  for (let i = lo; i < overlay.length && overlay[i]![0] < end; i++) out.push(overlay[i]!);
  return out;
}
