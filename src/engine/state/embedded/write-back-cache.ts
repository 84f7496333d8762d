/**
 * The bounded write-back cache in front of an EmbeddedStore (issue 11): hot keys are read and
 * written in memory, and the store sees their changes in batches, when the cache is full and at
 * every snapshot. Keys are store keys as latin1 strings (state-key-strings.ts); values are the
 * encoded bytes, so a value read is decoded afresh each time and a value written is encoded at
 * once (the handle contract then holds by construction).
 *
 * An entry is a value or `null`, meaning "not in state": a delete not yet written (dirty), or a
 * read that missed the store (clean), so that a new key's read-then-write costs one store read.
 * Every write goes through the cache, so a clean entry always equals the store.
 *
 * Size is counted in bytes (key and value lengths plus a fixed overhead per entry). When it
 * passes the capacity, every dirty entry is written in one batch and the oldest entries (in
 * insertion order: FIFO, not LRU, which would cost a Map delete and set on every hit) are dropped
 * until half the capacity is used.
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
  dirty: boolean;
  /** Length of the prefix this entry is indexed under, 0 for single-entry states. */
  readonly prefixLength: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  flushes: number;
  flushedEntries: number;
}

export class WriteBackCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #byPrefix = new Map<string, Set<string>>();
  #bytes = 0;
  #dirty = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0, flushes: 0, flushedEntries: 0 };

  constructor(
    private readonly store: EmbeddedStore,
    readonly capacityBytes: number = DEFAULT_CACHE_BYTES,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get dirtyEntries(): number {
    return this.#dirty;
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
    this.#add(key, { bytes, dirty: false, prefixLength });
    return bytes ?? undefined;
  }

  /** What the cache holds for `key`: bytes, null (known absent), or undefined (not cached). */
  peek(key: string): Uint8Array | null | undefined {
    return this.#entries.get(key)?.bytes;
  }

  put(key: string, bytes: Uint8Array, prefixLength = 0): void {
    this.#set(key, bytes, prefixLength);
  }

  delete(key: string, prefixLength = 0): void {
    this.#set(key, null, prefixLength);
  }

  /** The cached entries of keys under `prefix` (as suffix -> bytes or null), copied. */
  under(prefix: string): Map<string, Uint8Array | null> {
    const out = new Map<string, Uint8Array | null>();
    const keys = this.#byPrefix.get(prefix);
    if (keys !== undefined) for (const key of keys) out.set(key.slice(prefix.length), this.#entries.get(key)!.bytes);
    return out;
  }

  /** Writes every dirty entry to the store in one batch; they stay cached, clean. */
  flush(): void {
    if (this.#dirty === 0) return;
    let written = 0;
    this.store.batch((w) => {
      for (const [key, entry] of this.#entries) {
        if (!entry.dirty) continue;
        if (entry.bytes === null) w.delete(latin1ToBytes(key));
        else w.put(latin1ToBytes(key), entry.bytes);
        written++;
      }
    });
    for (const entry of this.#entries.values()) entry.dirty = false;
    this.#dirty = 0;
    this.stats.flushes++;
    this.stats.flushedEntries += written;
  }

  /** Flushes, then forgets everything (restore writes to the store directly). */
  clear(): void {
    this.flush();
    this.#entries.clear();
    this.#byPrefix.clear();
    this.#bytes = 0;
  }

  #set(key: string, bytes: Uint8Array | null, prefixLength: number): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#add(key, { bytes, dirty: true, prefixLength });
      this.#dirty++;
      return;
    }
    this.#bytes += (bytes?.length ?? 0) - (entry.bytes?.length ?? 0);
    entry.bytes = bytes;
    if (!entry.dirty) {
      entry.dirty = true;
      this.#dirty++;
    }
    if (this.#bytes > this.capacityBytes) this.#evict();
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

  #evict(): void {
    this.flush();
    const target = this.capacityBytes / 2;
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
