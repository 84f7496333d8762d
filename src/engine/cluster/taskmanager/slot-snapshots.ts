/**
 * A task slot's side of the checkpoints under way: the snapshots the JobMaster said started (with
 * where they go), and which checkpoints ended (completed or aborted), so that a subtask's late
 * request for one's target is answered at once instead of waiting for a `snapshot-started` that
 * will never come. Bounded for the life of the attempt:
 * - a completed checkpoint settles every one at or below it: its barrier has passed every subtask
 *   of the slot (each acknowledged it), and they start snapshots in ascending order only, so none
 *   asks for an older one afresh;
 * - savepoints are not notified when they complete: one below a completed checkpoint goes then;
 * - aborted checkpoints above the latest completed are kept up to a limit, the oldest forgotten
 *   first, as Flink bounds its aborted checkpoint ids.
 * Pure: the slot feeds it the JobMaster's messages.
 */

/** As Flink's DEFAULT_MAX_RECORD_ABORTED_CHECKPOINTS. */
export const MAX_SETTLED_ABORTED = 128;

export class SlotSnapshots<S extends { readonly savepoint: boolean }> {
  readonly #started = new Map<number, S>();
  /** The highest completed checkpoint; -1 before any. */
  #completed = -1;
  /** Aborted checkpoints above `#completed`, in the order they were told. */
  readonly #aborted = new Set<number>();

  constructor(readonly limit = MAX_SETTLED_ABORTED) {}

  /** `snapshot-started`: where the snapshot of `checkpointId` goes (a late one for a settled checkpoint is dropped). */
  started(checkpointId: number, snapshot: S): void {
    if (this.settled(checkpointId)) return;
    this.#started.set(checkpointId, snapshot);
  }

  get(checkpointId: number): S | undefined {
    return this.#started.get(checkpointId);
  }

  /** The snapshots started and not settled, oldest first (a subtask that finishes late takes part in them). */
  pending(): [number, S][] {
    return [...this.#started].sort(([a], [b]) => a - b);
  }

  /** Completed or aborted: the snapshot started for it, if any, which it takes away. */
  settle(checkpointId: number, how: 'completed' | 'aborted'): S | undefined {
    const snapshot = this.#started.get(checkpointId);
    this.#started.delete(checkpointId);
    if (how === 'aborted') {
      if (checkpointId > this.#completed) {
        this.#aborted.add(checkpointId);
        if (this.#aborted.size > this.limit) this.#aborted.delete(this.#aborted.values().next().value!); // size > limit >= 0: there is a first
      }
      return snapshot;
    }
    if (checkpointId <= this.#completed) return snapshot;
    this.#completed = checkpointId;
    for (const id of this.#aborted) if (id <= checkpointId) this.#aborted.delete(id);
    for (const [id, s] of this.#started) if (id < checkpointId && s.savepoint) this.#started.delete(id);
    return snapshot;
  }

  /** Completed or aborted: a request for its target gets none. */
  settled(checkpointId: number): boolean {
    return checkpointId <= this.#completed || this.#aborted.has(checkpointId);
  }

  /** For tests: the entries held. */
  get size(): { readonly started: number; readonly aborted: number } {
    return { started: this.#started.size, aborted: this.#aborted.size };
  }
}
