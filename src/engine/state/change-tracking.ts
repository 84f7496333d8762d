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
 * c's sequence and every base older than c: a snapshot still asking for changes since such a
 * base gets undefined (a full key group), never a delta with changes missing.
 */

/** Which checkpoint snapshots a delta may start from: checkpoint id -> its snapshot's sequence. */
export class ChangeBases {
  readonly #seqs = new Map<number, number>();

  /** A snapshot for checkpoint `checkpointId` was taken at sequence `seq` (its changes end there). */
  add(checkpointId: number, seq: number): void {
    this.#seqs.set(checkpointId, seq);
  }

  /** The sequence changes since `checkpointId` start after, or undefined when it cannot be a base. */
  seqOf(checkpointId: number): number | undefined {
    return this.#seqs.get(checkpointId);
  }

  /**
   * Checkpoint `checkpointId` completed: older bases are forgotten, and the sequence up to which
   * changes may be dropped is returned (undefined: an unknown checkpoint, nothing can go).
   */
  confirm(checkpointId: number): number | undefined {
    const seq = this.#seqs.get(checkpointId);
    if (seq === undefined) return undefined;
    for (const id of [...this.#seqs.keys()]) if (id < checkpointId) this.#seqs.delete(id);
    return seq;
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
 * current sequence, advanced by each snapshot taken while tracking.
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
