/**
 * Two maps of changes read as one, the newer over the older, without merging them: an interval's
 * record of writes is the part flushed to the store mid-interval (folded into one map at each
 * flush) and the part still pending at the snapshot (write-back-cache.ts). Merging them on the
 * barrier would cost a Map.set per pending key there; a lookup here costs at most two gets, and
 * whatever walks the whole record gets the merged map, built once on first use.
 */
export class LayeredChanges implements ReadonlyMap<string, Uint8Array | null> {
  #merged: Map<string, Uint8Array | null> | undefined;

  constructor(
    private readonly newer: ReadonlyMap<string, Uint8Array | null>,
    private readonly older: ReadonlyMap<string, Uint8Array | null>,
  ) {}

  get(key: string): Uint8Array | null | undefined {
    const bytes = this.newer.get(key);
    return bytes !== undefined ? bytes : this.older.get(key);
  }

  has(key: string): boolean {
    return this.newer.has(key) || this.older.has(key);
  }

  /** In the order of each key's first write: the older map's keys first. */
  #all(): Map<string, Uint8Array | null> {
    if (this.#merged === undefined) {
      const merged = new Map(this.older);
      for (const [key, bytes] of this.newer) merged.set(key, bytes);
      this.#merged = merged;
    }
    return this.#merged;
  }

  get size(): number {
    return this.#all().size;
  }

  forEach(callback: (value: Uint8Array | null, key: string, map: ReadonlyMap<string, Uint8Array | null>) => void, thisArg?: unknown): void {
    this.#all().forEach((value, key) => callback.call(thisArg, value, key, this));
  }

  entries(): MapIterator<[string, Uint8Array | null]> {
    return this.#all().entries();
  }

  keys(): MapIterator<string> {
    return this.#all().keys();
  }

  values(): MapIterator<Uint8Array | null> {
    return this.#all().values();
  }

  [Symbol.iterator](): MapIterator<[string, Uint8Array | null]> {
    return this.#all()[Symbol.iterator]();
  }
}
