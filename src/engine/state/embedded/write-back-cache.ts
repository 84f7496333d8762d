/**
 * The bounded write-back cache in front of an EmbeddedStore (issue 11): hot keys are read and
 * written in memory, and the store sees their changes in batches: when the cache is full, and
 * after every snapshot. Keys are store keys as latin1 strings (embedded-state-handles.ts); values are the
 * encoded bytes, so a value read is decoded afresh each time and a value written is encoded at
 * once (the handle contract then holds by construction).
 *
 * An entry is a value or `null`, meaning "not in state": a delete, or a read that missed the
 * store, so that a new key's read-then-write costs one store read. Every write goes through the
 * cache, and no entry is dropped before its changes are in the store, so the cache always holds
 * the latest value of what it holds.
 *
 * Changes are also recorded, as written, in a pending map. A snapshot freezes it (`freeze`): the
 * snapshot reads a store snapshot with the frozen changes laid over it. A few frozen changes
 * stay out of the store, held for the flushes they would have without checkpoints; more reach
 * the store afterwards, a chunk per turn of the event loop (`drainInBackground`), so the barrier
 * does not wait for a flush.
 *
 * While changes are tracked (`recordWrites`), the keys written in each interval between two
 * freezes, with their values at its end, are handed to that freeze's snapshot (`freezeWritten`)
 * with the records of the last few intervals before, so an incremental snapshot takes them
 * without reading the store (reads of a store snapshot are what a delta cost,
 * embedded-keyed-snapshot.ts). Nothing is done per write for it: an interval's record is the
 * pending map frozen at its end laid over what mid-interval flushes took out of the pending map
 * (kept as they are: a flush replaces the pending map rather than empty it; merged into one map
 * when a snapshot first reads the record, LayeredRecord). A key written in the interval is in one
 * of them with its latest value, which is all a snapshot asks of it. Issue 13 measured
 * the earlier record, a second Map.set on every write, at 30-75 ns of a 200 ns get and put of a
 * hot key (a loop over the cache alone), and the record path at 2.3 times its cost with
 * checkpoints every second (the keyed count, lmdb, 1M keys, 1% hot). The bytes are the ones the
 * cache holds (never mutated, only replaced); past `writtenBudget` bytes of flushed maps, or when
 * something wrote around the cache (`clear`), the interval's record is dropped and the snapshot
 * reads instead.
 *
 * `put` and `delete` say whether the key was written already in the current interval (pending
 * since the last freeze or flush), read off the pending map's size around the write: that spares
 * the change recorder its Map.set on every write of a hot key (StateContext.write; issue 13
 * measured it at 6% of the processing thread, hot keys, lmdb). After a mid-interval flush they
 * say no and the key is recorded again: more than needed, never less.
 *
 * Size is counted in bytes (key and value lengths plus a fixed overhead per entry). When it
 * passes the capacity, the changes are written in one batch and the oldest entries (in insertion
 * order: FIFO, not LRU, which would cost a Map delete and set on every hit) are dropped until 90%
 * of it is used. Pending changes are also written once there are `pendingLimit` of them (adapted
 * so that one such write takes about 20 ms), so no single write holds the thread long; the cache
 * then saves reads, and writes as far as a key changes several times within one batch.
 *
 * Map and list states have many store entries per key; their entries are also indexed by the
 * key's prefix (group, key, state), so a range over one key can overlay what is cached on what
 * the store holds without scanning the cache.
 */
import type { EmbeddedStore } from './embedded-store.ts';
import { latin1ToBytes } from './memory-store.ts';

/** Bytes counted per entry besides its key and value: the Map slot, the entry object, the key string. */
const ENTRY_OVERHEAD = 96;

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

interface CacheEntry {
  bytes: Uint8Array | null;
  /** Length of the prefix this entry is indexed under, 0 for single-entry states. */
  readonly prefixLength: number;
}

/** Changes not yet in the store, as written: store key string to bytes, or null for a delete. */
export type Changes = ReadonlyMap<string, Uint8Array | null>;

/** An interval's record of writes (`freezeWritten`): a key's value at the interval's end, undefined if not written in it. */
export interface WrittenRecord {
  get(key: string): Uint8Array | null | undefined;
  /**
   * The same record restricted to key group `keyGroup` (a store key starts with its group's two
   * bytes, state-keys.ts), where the record keeps its keys by group: a snapshot asks group by
   * group, and lookups in a group's few thousand keys stay in the processor's caches.
   */
  ofGroup?(keyGroup: number): WrittenRecord;
  /**
   * The record's maps as they are, to be applied oldest first (a later map's value of a key wins;
   * null: deleted): what the chain rewrite thread is handed whole (chain-rewrite-thread.ts), so
   * the processing thread neither groups nor looks up the keys.
   */
  layers(): readonly Changes[];
}

/**
 * The pending map frozen at an interval's end over what flushes took out of it during the interval.
 * The flushed maps and then the frozen one are merged on the first lookup, oldest first so the
 * newest value wins, into one map per key group (a store key starts with its group's two bytes,
 * state-keys.ts); a snapshot then looks a group's keys up in its map alone (`ofGroup`). Probing
 * the flushed maps one by one cost a lookup per map for a key flushed early or not written, and
 * while 1M keys are first written an interval flushes some 20 maps: issue 13 profiled that at
 * 1.6 s of the processing thread over a 3M-record rocksdb run (keyed count, 1M keys, checkpoints
 * every second), where checkpointing off took 9 s. One merged map of every key then still cost
 * 0.75 s over a 6M-record run in lookups alone: a snapshot asks key group by key group, and each
 * lookup missed the processor's caches in a map of hundreds of thousands of keys; a key group's
 * map is a few thousand.
 */
class LayeredRecord implements WrittenRecord {
  #flushed: readonly Changes[] | undefined;
  #byGroup: Map<number, Map<string, Uint8Array | null>> | undefined;

  constructor(
    private readonly top: Changes,
    /** The pending maps flushes took out during the interval, oldest first. */
    flushed: readonly Changes[],
  ) {
    this.#flushed = flushed;
  }

  get(key: string): Uint8Array | null | undefined {
    return this.ofGroup((key.charCodeAt(0) << 8) | key.charCodeAt(1)).get(key);
  }

  ofGroup(keyGroup: number): WrittenRecord {
    const map = (this.#byGroup ??= this.#merge()).get(keyGroup);
    return map === undefined ? EMPTY_RECORD : new MapRecord(map);
  }

  layers(): readonly Changes[] {
    // Merged already: the groups' maps hold disjoint keys, each its newest value.
    return this.#flushed === undefined ? [...this.#byGroup!.values()] : [...this.#flushed, this.top];
  }

  #merge(): Map<number, Map<string, Uint8Array | null>> {
    const byGroup = new Map<number, Map<string, Uint8Array | null>>();
    for (const changes of [...this.#flushed!, this.top]) {
      // forEach, here and below on the checkpoint's path: a for-of over a Map's entries allocated a
      // pair per entry (issue 13, V8's sampling heap profiler: 140 MB over a 6M-record run).
      changes.forEach((value, key) => {
        const group = (key.charCodeAt(0) << 8) | key.charCodeAt(1);
        let map = byGroup.get(group);
        if (map === undefined) byGroup.set(group, (map = new Map()));
        map.set(key, value);
      });
    }
    this.#flushed = undefined;
    return byGroup;
  }
}

/** An interval's record that is one map: the pending map frozen at its end, when no flush took any out. */
class MapRecord implements WrittenRecord {
  constructor(private readonly map: Changes) {}

  get(key: string): Uint8Array | null | undefined {
    return this.map.get(key);
  }

  layers(): readonly Changes[] {
    return [this.map];
  }
}

export interface CacheStats {
  hits: number;
  misses: number;
  flushes: number;
  flushedEntries: number;
}

/** Entries written per batch by the background write of frozen changes (a few ms of the thread each). */
const BACKGROUND_CHUNK = 2048;

/**
 * Pending changes are written to the store in one batch once there are `pendingLimit` of them,
 * where waiting for the cache to fill would write a cache-full in one go (a second and more at
 * 64 MiB). The limit adapts so that such a write holds the processing thread about
 * FLUSH_TARGET_MS: larger batches cost less per entry (LMDB copies every page a transaction
 * touches, so a few thousand random keys cost a page each), smaller ones pause less.
 */
const FLUSH_TARGET_MS = 20;

/**
 * Writes per distinct pending key at which a flush grows the limit unless it took more than
 * COALESCED_MAX_MS: the pending map is coalescing a hot set, and a flush then writes keys that the
 * next flushes write again. The cap keeps a flush's pause bounded when a large key set coalesces
 * a little (the limit would otherwise grow to MAX_PENDING_LIMIT, a flush of seconds on rocksdb).
 * It is well above FLUSH_TARGET_MS because rocksdb writes such a hot set in more than 40 ms:
 * capped at 40 ms, the bench's rocksdb case fell back to flushing its hot keys again and again.
 * Measured (issue 13, keyed count on lmdb, 10,000 hot keys): the limit settled at 8,192, where
 * flushes took 9-13 ms (neither fast enough to grow it nor slow enough to shrink it), and the
 * cache flushed the same hot keys some 20 times a second, 40% of the processing thread's time
 * with checkpoints every second. A set of hot keys twice the limit's size coalesces only about
 * 1.1 writes per key before the map fills, so it never grows the limit this way: past that size
 * a hot set is written to the store about as often as it is written to.
 */
const COALESCED_GROWS = 1.5;
const COALESCED_MAX_MS = 200;
const MIN_PENDING_LIMIT = 1024;
const MAX_PENDING_LIMIT = 1 << 20;

/**
 * The records of writes (`recordWrites`) may hold this share of the cache's capacity, counted as
 * the cache counts its entries (key, value, ENTRY_OVERHEAD per key in each flushed pending map
 * kept: a hot key costs one slot per flush of the interval however often it is written). That
 * count is high: the keys and values are mostly the cache's own, and a kept map adds only its
 * slots, but a value evicted from the cache meanwhile is held by the record alone. So the
 * backend holds at most about twice the capacity. At the default 64 MiB about 500,000 keys with
 * small values per interval; past it, the snapshot reads. With a third of the capacity, as
 * before, the intervals while 1M keys were first written went past it, and their deltas read
 * each changed key from the store on the processing thread (issue 13: rocksdb's iterator seeks,
 * `_seekSync`, 0.7-1.3 s over 1.5M-4M-record runs).
 */
const WRITTEN_SHARE = 1;

/**
 * Intervals whose records of writes are kept: a checkpoint's barrier may overtake the previous
 * one's notification, so its delta is taken since the checkpoint before (two intervals).
 */
const WRITTEN_INTERVALS = 3;

const NOTHING: Changes = new Map();
const EMPTY_RECORD: WrittenRecord = new MapRecord(NOTHING);

/** Pending changes a freeze keeps pending rather than handing to the background writes, at most (see `freeze`). */
const CARRY_MAX = 32_768;

/** Eviction drops the oldest entries down to this share of the capacity. */
const EVICT_TO = 0.9;

export class WriteBackCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #byPrefix = new Map<string, Set<string>>();
  #bytes = 0;
  /** Written since the last freeze or flush. */
  #pending = new Map<string, Uint8Array | null>();
  /** Handed to snapshots by `freeze`, oldest first, not yet all in the store. */
  readonly #frozen: Changes[] = [];
  #frozenCursor: Iterator<[string, Uint8Array | null]> | undefined;
  #draining = false;
  #closed = false;
  #pendingLimit = 4096;
  /**
   * Changes frozen by earlier freezes and kept out of the store (`freeze`), newer than #frozen's
   * and older than #pending's; replaced, never changed, by each freeze.
   */
  #held: Changes = NOTHING;
  /** Puts and deletes since the last flush (see COALESCED_GROWS). */
  #writesSinceFlush = 0;
  /** While recording: what flushes took out of the pending map since the last freeze; undefined when not recording or incomplete. */
  #written: Changes[] | undefined;
  /** The pending map the last `freeze` handed out (empty if none): the top of its interval's record. */
  #lastFrozen: Changes = NOTHING;
  #recording = false;
  /** Bytes of the maps in #written (see WRITTEN_SHARE). */
  #writtenBytes = 0;
  /** The complete records of the last intervals, newest first (freezeWritten), and their bytes. */
  readonly #history: (WrittenRecord | undefined)[] = [];
  readonly #historyBytes: number[] = [];
  /** Bytes the records of writes may hold, all intervals together (WRITTEN_SHARE). */
  readonly writtenBudget: number;
  readonly stats: CacheStats = { hits: 0, misses: 0, flushes: 0, flushedEntries: 0 };

  constructor(
    private readonly store: EmbeddedStore,
    readonly capacityBytes: number = DEFAULT_CACHE_BYTES,
    /** Pending changes a freeze may keep pending (`freeze`); a test lowers it to see the other way. */
    private readonly carryMax: number = CARRY_MAX,
    /** Times flushes, to adapt the pending limit. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.writtenBudget = capacityBytes * WRITTEN_SHARE;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Changes not yet written to the store. */
  get dirtyEntries(): number {
    return this.#frozen.reduce((n, m) => n + m.size, this.#held.size + this.#pending.size);
  }

  /** The value under `key`, from the cache or else the store (then cached); undefined if none. */
  get(key: string, prefixLength = 0): Uint8Array | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.stats.hits++;
      return entry.bytes ?? undefined;
    }
    this.stats.misses++;
    const bytes = this.store.get(latin1ToBytes(key)) ?? null;
    this.#add(key, { bytes, prefixLength });
    return bytes ?? undefined;
  }

  /** What the cache holds for `key`: bytes, null (known absent), or undefined (not cached). */
  peek(key: string): Uint8Array | null | undefined {
    return this.#entries.get(key)?.bytes;
  }

  /**
   * True when `key` was written already in the current interval (since the last freeze, as far as
   * the pending changes tell): a writer that records every key it writes
   * right after writing it recorded this one in the current interval already (StateContext.write).
   */
  put(key: string, bytes: Uint8Array, prefixLength = 0): boolean {
    return this.#set(key, bytes, prefixLength);
  }

  /** As `put`. */
  delete(key: string, prefixLength = 0): boolean {
    return this.#set(key, null, prefixLength);
  }

  /** The cached entries of keys under `prefix` (as suffix -> bytes or null), copied. */
  under(prefix: string): Map<string, Uint8Array | null> {
    const out = new Map<string, Uint8Array | null>();
    const keys = this.#byPrefix.get(prefix);
    if (keys !== undefined) for (const key of keys) out.set(key.slice(prefix.length), this.#entries.get(key)!.bytes);
    return out;
  }

  /**
   * For a snapshot: the changes not yet in the store, oldest first (apply in order over a store
   * snapshot taken now). They are never changed afterwards: later writes go to another pending
   * map. Call `drainInBackground` to write them to the store while processing goes on.
   *
   * Few changes (held and pending together at most CARRY_MAX, pending below the pending limit)
   * are held out of the store, merged into a new held map, instead of going to it in the
   * background: hot keys then reach the store by the flushes they would have without
   * checkpoints, not once per checkpoint (with 10,000 hot keys and checkpoints every second on
   * lmdb, the background writes were 1.6% of the processing thread). The merge costs the barrier
   * about a millisecond at that size. The pending map starts empty either way, so `put` can tell
   * what was written in the new interval.
   */
  freeze(): Changes[] {
    const pending = this.#pending;
    // An empty pending map goes on taking writes: the record must not see them.
    this.#lastFrozen = pending.size === 0 ? NOTHING : pending;
    if (pending.size === 0) return this.#held.size === 0 ? [...this.#frozen] : [...this.#frozen, this.#held];
    const held = this.#held;
    if (held.size + pending.size <= this.carryMax && pending.size < this.#pendingLimit) {
      // A new map: the one handed out before belongs to a snapshot and never changes.
      const merged = new Map(held);
      pending.forEach((bytes, key) => merged.set(key, bytes));
      this.#held = merged;
    } else {
      if (held.size > 0) this.#frozen.push(held);
      this.#frozen.push(pending);
      this.#held = NOTHING;
    }
    this.#pending = new Map();
    return this.#held.size === 0 ? [...this.#frozen] : [...this.#frozen, this.#held];
  }

  /** From now on keeps every write between two freezes for `freezeWritten` (incremental checkpoints). */
  recordWrites(): void {
    if (this.#recording) return;
    // What is pending now was written before: out of the record, and never "written already" (put).
    this.flush();
    this.#recording = true;
    this.#written = [];
    this.#writtenBytes = 0;
  }

  /**
   * The record of writes of the interval that ends now (since the previous call, or since
   * `recordWrites`: every key written then, with its value now) and of the intervals before it,
   * newest first, as far back as each was complete, at most WRITTEN_INTERVALS of them within
   * `writtenBudget`; a fresh record from now on. Call right after `freeze`.
   */
  freezeWritten(): readonly WrittenRecord[] {
    if (!this.#recording) return [];
    const history = this.#history;
    const written = this.#written;
    history.unshift(written === undefined ? undefined : written.length === 0 ? new MapRecord(this.#lastFrozen) : new LayeredRecord(this.#lastFrozen, written));
    this.#historyBytes.unshift(this.#writtenBytes);
    this.#written = [];
    this.#writtenBytes = 0;
    let bytes = 0;
    for (let i = 0; i < history.length; i++) {
      bytes += this.#historyBytes[i]!;
      // The newest record is within the budget by itself (#keepFlushed); older ones go first, as they fill it.
      if (history[i] === undefined || i >= WRITTEN_INTERVALS || bytes > this.writtenBudget) {
        history.length = i;
        this.#historyBytes.length = i;
        break;
      }
    }
    return [...(history as WrittenRecord[])];
  }

  /** Writes the frozen changes to the store a chunk per turn of the event loop. */
  drainInBackground(): void {
    if (this.#draining || this.#frozen.length === 0) return;
    this.#draining = true;
    const step = (): void => {
      if (this.#closed || this.#frozen.length === 0) {
        this.#draining = false;
        return;
      }
      this.#writeFrozenChunk();
      setImmediate(step);
    };
    setImmediate(step);
  }

  #writeFrozenChunk(): void {
    const map = this.#frozen[0]!;
    const cursor = (this.#frozenCursor ??= map.entries());
    let done = false;
    let written = 0;
    this.store.batch((w) => {
      while (written < BACKGROUND_CHUNK) {
        const next = cursor.next();
        if (next.done === true) {
          done = true;
          return;
        }
        const [key, bytes] = next.value;
        if (bytes === null) w.delete(latin1ToBytes(key));
        else w.put(latin1ToBytes(key), bytes);
        written++;
      }
    });
    this.stats.flushedEntries += written;
    if (done) {
      this.#frozen.shift();
      this.#frozenCursor = undefined;
    }
  }

  /**
   * Writes every change not yet in the store (frozen ones first, then pending) in one batch.
   * A frozen map partly written in the background is written again whole: the same values, and
   * later ones after them, so the store ends the same.
   */
  flush(): void {
    if (this.#pending.size === 0 && this.#frozen.length === 0 && this.#held.size === 0) return;
    this.#keepFlushed();
    let written = 0;
    this.store.batch((w) => {
      for (const changes of [...this.#frozen, this.#held, this.#pending]) {
        changes.forEach((bytes, key) => {
          if (bytes === null) w.delete(latin1ToBytes(key));
          else w.put(latin1ToBytes(key), bytes);
        });
        written += changes.size;
      }
    });
    this.#frozen.length = 0;
    this.#frozenCursor = undefined;
    this.#pending = new Map();
    this.#held = NOTHING;
    this.#writesSinceFlush = 0;
    this.stats.flushes++;
    this.stats.flushedEntries += written;
  }

  /**
   * The pending changes leave the pending map: the interval's record keeps the map (the older
   * frozen maps belong to the records of earlier intervals already). Counting its bytes is a walk
   * over it; copying it into one map per interval was 317 ms of the processing thread while 1M
   * keys were first written (issue 13, lmdb), for records dropped soon after as over budget.
   */
  #keepFlushed(): void {
    const written = this.#written;
    if (written === undefined || this.#pending.size === 0) return;
    let bytes = this.#writtenBytes;
    this.#pending.forEach((value, key) => {
      bytes += key.length + (value?.length ?? 0) + ENTRY_OVERHEAD;
    });
    this.#writtenBytes = bytes;
    if (bytes > this.writtenBudget) this.#written = undefined;
    else written.push(this.#pending);
  }

  /** A flush because the pending changes reached the limit: its time moves the limit toward the target. */
  #flushAndAdapt(): void {
    const coalesced = this.#writesSinceFlush / this.#pending.size;
    const started = this.now();
    this.flush();
    const ms = this.now() - started;
    if (ms < FLUSH_TARGET_MS / 2 || (coalesced >= COALESCED_GROWS && ms <= COALESCED_MAX_MS)) this.#pendingLimit = Math.min(this.#pendingLimit * 2, MAX_PENDING_LIMIT);
    else if (ms > FLUSH_TARGET_MS) this.#pendingLimit = Math.max(this.#pendingLimit >> 1, MIN_PENDING_LIMIT);
  }

  /** Pending changes that make a flush now (adapted to the store's speed). */
  get pendingLimit(): number {
    return this.#pendingLimit;
  }

  /** Flushes, then forgets everything (restore writes to the store directly). */
  clear(): void {
    this.flush();
    // Written around the cache (a restore, a migration): the record no longer has every change.
    this.#written = undefined;
    this.#entries.clear();
    this.#byPrefix.clear();
    this.#bytes = 0;
  }

  /** Stops the background writes: the store is about to close. */
  close(): void {
    this.#closed = true;
  }

  #set(key: string, bytes: Uint8Array | null, prefixLength: number): boolean {
    const pending = this.#pending;
    const size = pending.size;
    pending.set(key, bytes);
    this.#writesSinceFlush++;
    // Pending since the last freeze or flush: written already in this interval.
    const again = pending.size === size;
    // Frozen changes are older: flush writes them first, so the store never goes back in time.
    if (pending.size >= this.#pendingLimit) this.#flushAndAdapt();
    const entry = this.#entries.get(key);
    if (entry === undefined) this.#add(key, { bytes, prefixLength });
    else {
      this.#bytes += (bytes?.length ?? 0) - (entry.bytes?.length ?? 0);
      entry.bytes = bytes;
      if (this.#bytes > this.capacityBytes) this.#evict();
    }
    return again;
  }

  #add(key: string, entry: CacheEntry): void {
    this.#entries.set(key, entry);
    this.#bytes += key.length + (entry.bytes?.length ?? 0) + ENTRY_OVERHEAD;
    if (entry.prefixLength > 0) {
      const prefix = key.slice(0, entry.prefixLength);
      let keys = this.#byPrefix.get(prefix);
      if (keys === undefined) this.#byPrefix.set(prefix, (keys = new Set()));
      keys.add(key);
    }
    if (this.#bytes > this.capacityBytes) this.#evict();
  }

  /** Every change goes to the store first: an entry dropped is one the store has. */
  #evict(): void {
    this.flush();
    const target = this.capacityBytes * EVICT_TO;
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= target) break;
      this.#entries.delete(key);
      this.#bytes -= key.length + (entry.bytes?.length ?? 0) + ENTRY_OVERHEAD;
      if (entry.prefixLength > 0) {
        const prefix = key.slice(0, entry.prefixLength);
        const keys = this.#byPrefix.get(prefix);
        keys?.delete(key);
        if (keys?.size === 0) this.#byPrefix.delete(prefix);
      }
    }
  }
}
