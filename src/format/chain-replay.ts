/**
 * The replay of one key group's chain (FORMAT.md version 3), fed decoded frames by the reader
 * (snapshot-reader.ts): the deltas (upserts and deletions blocks) first, in chain order, then the
 * full block frame by frame, then what the deltas set that the full block did not yield. The
 * result is the entries a map holds after the chain's steps in order (set on full/upserts,
 * delete on deletions): last write wins, a key deleted and set again is set.
 *
 * Two orders of the same entries. `listed` (FORMAT.md 7, what `inspect --entries` prints): the
 * full block's entries that no delta touched, in file order, then the keys the deltas leave set,
 * in the order a delta first named each. `inPlace` (restores): a key the deltas updated keeps its
 * place in the full block, with its newest value, and only keys the full block lacks come after.
 * An on-disk backend's full block is in store order, and its store takes keys in order much
 * faster than scattered (RocksDB's memtable, LMDB's B-tree).
 *
 * A key is its canonical bytes (FORMAT.md 5.1); a string key is held as the string msgpackr
 * decoded instead, which is the same identity (a canonical string is the UTF-8 of a string
 * without lone surrogates, so bytes and string determine each other) and costs no scan of the
 * frame and no second string per key. Other keys go by their canonical bytes as latin1.
 */
export type ReplayOrder = 'listed' | 'inPlace';

/** The value of a key whose newest step deleted it. */
const DELETED = Symbol('deleted');

export class ChainReplay {
  /** Per key the deltas named, in the order first named: the key and its newest value (or DELETED). */
  readonly #keys: unknown[] = [];
  readonly #values: unknown[] = [];
  /** Key -> its index in #keys. */
  readonly #strings = new Map<string, number>();
  readonly #others = new Map<string, number>();
  /** Indexes the full block has yielded in place. */
  #placed: Uint8Array | undefined;
  /** A filter over the string keys named: a clear bit proves a full block's key untouched without hashing it. Made with the first. */
  #sampled: Uint32Array | undefined;

  /** Of the filter: a power of two, about 16 per key the deltas hold (at most FILTER_BITS). */
  readonly #filterBits: number;

  /** `deltaEntries`: the items of the chain's delta blocks (their `entries`), to size the filter. */
  constructor(
    readonly order: ReplayOrder,
    deltaEntries = 0,
  ) {
    this.#filterBits = Math.min(FILTER_BITS, Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(1, deltaEntries) * 16))));
  }

  /** Whether no delta has named any key (the full block passes through as it is). */
  get empty(): boolean {
    return this.#keys.length === 0;
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
      const map = typeof key === 'string' ? this.#strings : this.#others;
      const id = typeof key === 'string' ? key : (byteIds ??= ids())[i]!;
      let index = map.get(id);
      if (index === undefined) {
        index = this.#keys.length;
        map.set(id, index);
        if (typeof key === 'string') {
          const bit = sample(key) & (this.#filterBits - 1);
          this.#sampled ??= new Uint32Array(this.#filterBits >>> 5);
          this.#sampled[bit >>> 5]! |= 1 << (bit & 31);
        }
        this.#keys.push(key);
        this.#values.push(undefined);
      }
      this.#values[index] = values === undefined ? DELETED : values[i];
    }
  }

  /**
   * One frame of the full block, after every delta, its arrays (the caller's own, freshly
   * decoded) changed in place: keys the deltas deleted are taken out; keys they set are taken
   * out too (`listed`: rest() yields them) or keep their place with their newest value (`inPlace`).
   */
  full(keys: unknown[], values: unknown[], ids: () => string[]): void {
    if (this.empty) return;
    const inPlace = this.order === 'inPlace';
    const placed = inPlace ? (this.#placed ??= new Uint8Array(this.#keys.length)) : undefined;
    let byteIds: string[] | undefined;
    let kept = 0;
    const sampled = this.#sampled ?? NO_STRINGS;
    const mask = this.#filterBits - 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      let index: number | undefined;
      if (typeof key === 'string') {
        const bit = sample(key) & mask;
        if ((sampled[bit >>> 5]! & (1 << (bit & 31))) !== 0) index = this.#strings.get(key);
      } else {
        index = this.#others.get((byteIds ??= ids())[i]!);
      }
      let value = values[i];
      if (index !== undefined) {
        value = this.#values[index];
        if (value === DELETED || placed === undefined) continue;
        placed[index] = 1;
      }
      keys[kept] = key;
      values[kept] = value;
      kept += 1;
    }
    keys.length = kept;
    values.length = kept;
  }

  /** The keys the deltas leave set that the full block did not yield, in the order first named, in batches of at most `size`. */
  *rest(size: number): Generator<{ keys: unknown[]; values: unknown[] }> {
    const placed = this.#placed;
    let batch = { keys: [] as unknown[], values: [] as unknown[] };
    for (let index = 0; index < this.#keys.length; index++) {
      const value = this.#values[index];
      if (value === DELETED || placed?.[index] === 1) continue;
      batch.keys.push(this.#keys[index]);
      batch.values.push(value);
      if (batch.keys.length === size) {
        yield batch;
        batch = { keys: [], values: [] };
      }
    }
    if (batch.keys.length > 0) yield batch;
  }
}

const FILTER_BITS = 1 << 16;
const NO_STRINGS = new Uint32Array(FILTER_BITS >>> 5);

/**
 * A few characters of a string (its length, the last three, the middle and the first) mixed into
 * 32 bits, of which the filter takes the low ones: much cheaper than the full hash a Map lookup computes for a freshly
 * decoded string, and for the keys of a full block mostly enough to tell that the deltas did not
 * name them (measured: the lookups were a fifth of reading a chain of 20 steps of 1%).
 */
function sample(s: string): number {
  const n = s.length;
  let h = Math.imul(n + 1, 0x9e3779b1);
  if (n > 0) h = Math.imul(h ^ s.charCodeAt(n - 1), 0x85ebca6b) ^ Math.imul(s.charCodeAt(0), 0x27d4eb2f) ^ Math.imul(s.charCodeAt(n >> 1), 0x165667b1);
  if (n > 1) h = Math.imul(h ^ s.charCodeAt(n - 2), 0xc2b2ae35);
  if (n > 2) h = Math.imul(h ^ s.charCodeAt(n - 3), 0x85ebca6b);
  return h ^ (h >>> 16);
}
