/**
 * Change tracking of the heap backend (state-table.ts; change-tracking.ts holds the bases and
 * the on-disk backends' KeyChanges): per key group, the keys changed in each snapshot sequence,
 * as one array per sequence. A key is appended once per sequence (its entry remembers the
 * sequence it was last logged in), so recording a change costs an array push, and forgetting
 * a confirmed checkpoint's changes drops whole arrays.
 *
 * Measured (profile of the keyed count at 1M uniform keys, checkpoints every second, incremental
 * on, bench/profile-engine.ts INC=1): with a Map from key to sequence per key group, Map.set per
 * change took 4.0% of the samples, forgetting (a walk over every remembered key) 1.8%, and
 * garbage collection 12.4% against 7.5% with checkpointing off; with this log, recording took
 * under 1% and garbage collection 5.7-6.8%.
 */

import type { StateEntry } from './state-table.ts';

/** The entries of one key group whose keys were first changed while the sequence was `seq`. */
interface Chunk {
  readonly seq: number;
  readonly entries: StateEntry[];
  /** A key may be listed twice (it was removed, then written again, in this sequence). */
  repeats: boolean;
}

export class HeapChangeLog {
  /** Per key group index, the chunks in ascending sequence. */
  readonly #groups: (Chunk[] | undefined)[];

  constructor(groups: number) {
    this.#groups = new Array<Chunk[] | undefined>(groups);
  }

  /**
   * Logs `entry`'s key as changed while the sequence is `seq` (never lower than an earlier
   * call's). The entry, not only its key: while it is still its key's live entry (not
   * REPLACED), a snapshot reads its value without looking the key up.
   */
  add(index: number, entry: StateEntry, seq: number): void {
    this.#chunk(index, seq).entries.push(entry);
  }

  /**
   * A key of key group index `index` was removed while the sequence is `seq`: written again, it
   * has a new entry that does not remember being logged, so `seq` may list it twice.
   */
  removed(index: number, seq: number): void {
    this.#chunk(index, seq).repeats = true;
  }

  #chunk(index: number, seq: number): Chunk {
    let chunks = this.#groups[index];
    if (chunks === undefined) this.#groups[index] = chunks = [];
    let last = chunks[chunks.length - 1];
    if (last === undefined || last.seq !== seq) chunks.push((last = { seq, entries: [], repeats: false }));
    return last;
  }

  /**
   * The entries logged for key group index `index` after sequence `after` and up to `upTo`, one
   * per key (which one of several is unspecified; at most one is not REPLACED). Changes after
   * `upTo` (a snapshot's sequence) are left out: a key changed only after the snapshot has the
   * same value in the snapshot as in the base.
   */
  since(index: number, after: number, upTo: number): readonly StateEntry[] {
    const chunks = this.#groups[index];
    if (chunks === undefined) return [];
    let only: Chunk | undefined;
    let count = 0;
    for (const c of chunks) {
      if (c.seq <= after || c.seq > upTo) continue;
      only = c;
      count++;
    }
    if (only === undefined) return [];
    if (count === 1 && !only.repeats) return only.entries;
    const seen = new Map<string, StateEntry>();
    for (const c of chunks) if (c.seq > after && c.seq <= upTo) for (const e of c.entries) if (!seen.has(e.keyString)) seen.set(e.keyString, e);
    return [...seen.values()];
  }

  /** Forgets changes made at or before sequence `seq` (a confirmed checkpoint's). */
  drop(seq: number): void {
    for (const chunks of this.#groups) {
      if (chunks === undefined) continue;
      let n = 0;
      while (n < chunks.length && chunks[n]!.seq <= seq) n++;
      if (n > 0) chunks.splice(0, n);
    }
  }

  /** Entries logged over all key groups and sequences, a key counted once per sequence (for tests and reports). */
  get size(): number {
    let n = 0;
    for (const chunks of this.#groups) for (const c of chunks ?? []) n += c.entries.length;
    return n;
  }
}
