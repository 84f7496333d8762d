/**
 * The replay of one key group's chain (FORMAT.md version 3), fed decoded frames by the reader
 * (snapshot-reader.ts): the deltas (upserts and deletions blocks) first, in chain order, then the
 * full block frame by frame, then what the deltas set that the full block did not hold. The
 * result is the entries a map holds after the chain's steps in order (set on full/upserts,
 * delete on deletions): last write wins, a key deleted and set again is set.
 *
 * A key updated by the deltas keeps its place in the full block, with its newest value: the
 * full block of an on-disk backend's checkpoint is in store order, and its store takes keys in
 * order much faster than scattered (RocksDB's memtable, LMDB's B-tree).
 *
 * A key is its canonical bytes (FORMAT.md 5.1); a string key is held as the string msgpackr
 * decoded instead, which is the same identity (a canonical string is the UTF-8 of a string
 * without lone surrogates, so bytes and string determine each other) and costs no scan of the
 * frame and no second string per key. Other keys go by their canonical bytes as latin1.
 */
export class ChainReplay {
  /** Every entry the deltas set, in chain order; a key's slot is the index of its newest one. */
  readonly #keys: unknown[] = [];
  readonly #values: unknown[] = [];
  /** Key -> slot of its newest value, or -1 when the newest step deleted it. */
  readonly #strings = new Map<string, number>();
  readonly #others = new Map<string, number>();
  /** Slots the full block has given out already. */
  #placed: Uint8Array | undefined;

  /** Whether no delta has touched any key (the full block passes through as it is). */
  get empty(): boolean {
    return this.#strings.size === 0 && this.#others.size === 0;
  }

  /**
   * One frame of a delta block, in chain order: `values` for an upserts block, undefined for a
   * deletions block. `ids()` gives the canonical bytes (latin1) of the frame's keys, asked only
   * if some key is not a string.
   */
  delta(keys: readonly unknown[], values: readonly unknown[] | undefined, ids: () => string[]): void {
    let byteIds: string[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      let slot = -1;
      if (values !== undefined) {
        slot = this.#keys.length;
        this.#keys.push(key);
        this.#values.push(values[i]);
      }
      if (typeof key === 'string') this.#strings.set(key, slot);
      else this.#others.set((byteIds ??= ids())[i]!, slot);
    }
  }

  /**
   * One frame of the full block, after every delta: deleted keys are taken out and updated ones
   * get their newest value, in place (the arrays are the caller's own, freshly decoded).
   */
  full(keys: unknown[], values: unknown[], ids: () => string[]): void {
    if (this.empty) return;
    const placed = (this.#placed ??= new Uint8Array(this.#keys.length));
    let byteIds: string[] | undefined;
    let kept = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const slot = typeof key === 'string' ? this.#strings.get(key) : this.#others.get((byteIds ??= ids())[i]!);
      if (slot === -1) continue;
      keys[kept] = key;
      if (slot === undefined) {
        values[kept] = values[i];
      } else {
        values[kept] = this.#values[slot];
        placed[slot] = 1;
      }
      kept += 1;
    }
    keys.length = kept;
    values.length = kept;
  }

  /** The entries the deltas set for keys the full block did not hold, in batches of at most `size` (string keys first, each kind in the order the deltas first named them). */
  *rest(size: number): Generator<{ keys: unknown[]; values: unknown[] }> {
    const placed = this.#placed;
    let batch = { keys: [] as unknown[], values: [] as unknown[] };
    for (const map of [this.#strings, this.#others]) {
      for (const slot of map.values()) {
        if (slot === -1 || placed?.[slot] === 1) continue;
        batch.keys.push(this.#keys[slot]);
        batch.values.push(this.#values[slot]);
        if (batch.keys.length === size) {
          yield batch;
          batch = { keys: [], values: [] };
        }
      }
    }
    if (batch.keys.length > 0) yield batch;
  }
}
