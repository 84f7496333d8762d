/**
 * Change tracking for incremental checkpoints (KeyedStateBackend.trackChanges), shared by the
 * heap and on-disk backends. A backend counts its snapshots with a sequence number: a change made
 * while the sequence is `s` belongs to the snapshot taken at `s` (and every later one). Per key
 * group it remembers, for each changed key, the sequence of its last change; "changed since
 * checkpoint b" is then "last change > b's sequence". Keeping only the last change is enough: a
 * key changed before and after b is changed since b either way.
 *
 * A checkpoint that is never confirmed leaves its changes here, so the next checkpoint (asking
 * since the last confirmed one) still gets them. Confirming checkpoint c forgets changes up to
 * c's sequence and every base older than c, once no snapshot is pending: a snapshot being written
 * when c's notification arrives took its base before, and may still ask since it (the barrier of
 * c + 1 can overtake the notification of c). A snapshot asking since a forgotten base gets
 * undefined (a full key group), never a delta with changes missing.
 */

/** Which checkpoint snapshots a delta may start from: checkpoint id -> its snapshot's sequence. */
export class ChangeBases {
  readonly #seqs = new Map<number, number>();
  /** Snapshots taken while tracking and not yet released. */
  #pending = 0;
  /** The newest confirmed checkpoint whose forgetting waits for the pending snapshots. */
  #confirmed: number | undefined;

  /** `drop(seq)`: forget changes made at or before `seq`. */
  constructor(private readonly drop: (seq: number) => void) {}

  /** The restored checkpoint `checkpointId` is a base; its content ends at sequence `seq`. */
  add(checkpointId: number, seq: number): void {
    this.#seqs.set(checkpointId, seq);
  }

  /** A snapshot was taken at sequence `seq`, for checkpoint `checkpointId` if any (its changes end there). */
  taken(checkpointId: number | undefined, seq: number): void {
    if (checkpointId !== undefined) this.#seqs.set(checkpointId, seq);
    this.#pending++;
  }

  /** A snapshot `taken` was released (once per snapshot). */
  released(): void {
    this.#pending--;
    if (this.#pending === 0) this.#forget();
  }

  /** The sequence changes since `checkpointId` start after, or undefined when it cannot be a base. */
  seqOf(checkpointId: number): number | undefined {
    return this.#seqs.get(checkpointId);
  }

  /** Checkpoint `checkpointId` completed: what is older can go (an unknown checkpoint: nothing). */
  confirm(checkpointId: number): void {
    if (!this.#seqs.has(checkpointId)) return;
    if (this.#confirmed === undefined || checkpointId > this.#confirmed) this.#confirmed = checkpointId;
    if (this.#pending === 0) this.#forget();
  }

  #forget(): void {
    const confirmed = this.#confirmed;
    if (confirmed === undefined) return;
    this.#confirmed = undefined;
    for (const id of [...this.#seqs.keys()]) if (id < confirmed) this.#seqs.delete(id);
    this.drop(this.#seqs.get(confirmed)!);
  }
}

/** Per key group index: changed key -> sequence of its last change. */
export class KeyChanges {
  readonly #groups: (Map<string, number> | undefined)[];

  constructor(groups: number) {
    this.#groups = new Array<Map<string, number> | undefined>(groups);
  }

  mark(index: number, key: string, seq: number): void {
    let group = this.#groups[index];
    if (group === undefined) this.#groups[index] = group = new Map();
    group.set(key, seq);
  }

  /** The keys of key group index `index` changed after sequence `seq`. */
  since(index: number, seq: number): string[] {
    const out: string[] = [];
    this.#groups[index]?.forEach((last, key) => {
      if (last > seq) out.push(key);
    });
    return out;
  }

  /** Forgets changes made at or before sequence `seq` (a confirmed checkpoint's). */
  drop(seq: number): void {
    for (const group of this.#groups) {
      if (group === undefined) continue;
      for (const [key, last] of group) if (last <= seq) group.delete(key);
    }
  }

  /** Keys remembered over all key groups (for tests and reports). */
  get size(): number {
    let n = 0;
    for (const group of this.#groups) n += group?.size ?? 0;
    return n;
  }
}

/**
 * Where a backend whose handles know the key group (the on-disk one) records a change: the
 * current sequence, advanced by each snapshot taken while tracking. The on-disk handles call
 * `mark` once per key and interval, not per write (StateContext.write): with issue 13's hot keys
 * (1M keys once, then 4M records on 1% of them; profile-engine, lmdb) 1.3M calls instead of
 * 5.2M, 4.0% of the processing thread's samples instead of 6.0%, what remains being the first
 * change of each cold key, which must be remembered. `drop` still walks every remembered key on
 * each confirmation (0.6%): ordering each group by sequence would let it stop early, at the
 * price of a lookup more per first change, which is what is left of `mark`'s cost.
 */
export class ChangeRecorder {
  /** Changes made now belong to the snapshot taken at this sequence. */
  seq = 1;

  constructor(
    readonly changes: KeyChanges,
    readonly firstKeyGroup: number,
  ) {}

  mark(keyGroup: number, key: string): void {
    this.changes.mark(keyGroup - this.firstKeyGroup, key, this.seq);
  }
}
