/**
 * The checkpoints a subtask was told are aborted before it started its part of them (Flink's
 * SubtaskCheckpointCoordinatorImpl.abortedCheckpointIds): a trigger or an aligned barrier for one
 * of them must not snapshot. Pure: the subtask feeds it notifications and starts.
 */

/** As Flink's DEFAULT_MAX_RECORD_ABORTED_CHECKPOINTS. */
export const MAX_ABORTED_CHECKPOINTS = 128;

export class AbortedCheckpoints {
  /** Insertion order: the oldest notification goes first when the limit is passed. */
  readonly #ids = new Set<number>();
  /** The highest checkpoint this subtask started (or skipped, or saw cancelled); -1 before any. */
  #lastStarted = -1;

  constructor(readonly limit = MAX_ABORTED_CHECKPOINTS) {}

  /**
   * The coordinator aborted it. One this subtask has started already is not kept: its snapshot
   * goes on (the write finds no target), and it never comes again. Past the limit the oldest is
   * forgotten, and its trigger, should it still come, snapshots for nothing as before.
   */
  notify(checkpointId: number): void {
    if (checkpointId <= this.#lastStarted) return;
    this.#ids.add(checkpointId);
    if (this.#ids.size > this.limit) this.#ids.delete(this.#ids.values().next().value!); // size > limit >= 0: there is a first
  }

  /**
   * Its trigger or aligned barrier runs here now (or a cancellation of it came in band): whether
   * it was aborted before. Older ones are forgotten with it: they come in order, so their
   * triggers or barriers have passed (or never will).
   */
  start(checkpointId: number): boolean {
    const aborted = this.#ids.delete(checkpointId);
    if (checkpointId > this.#lastStarted) this.#lastStarted = checkpointId;
    for (const id of this.#ids) if (id < this.#lastStarted) this.#ids.delete(id);
    return aborted;
  }

  get size(): number {
    return this.#ids.size;
  }
}
