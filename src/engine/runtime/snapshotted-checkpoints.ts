/**
 * What a subtask keeps about the checkpoints it snapshotted, bounded for the life of the attempt:
 * the last one it started (as Flink's SubtaskCheckpointCoordinatorImpl.lastCheckpointId, a
 * trigger or barrier at or below it is out of order and snapshots nothing), and the savepoints
 * among those not yet settled, whose completion must never move an incremental chain's base.
 * Pure: the subtask feeds it its starts and notifications.
 */

/** Savepoints remembered at most, the oldest forgotten first (as Flink's bound on aborted ids). */
export const MAX_REMEMBERED_SAVEPOINTS = 128;

export class SnapshottedCheckpoints {
  /** The highest checkpoint this subtask started a snapshot for; -1 before any. */
  #last = -1;
  /** Savepoints snapshotted here and not yet subsumed by a completed checkpoint, ascending. */
  readonly #savepoints = new Set<number>();

  constructor(readonly savepointLimit = MAX_REMEMBERED_SAVEPOINTS) {}

  /**
   * A trigger or barrier for `checkpointId` runs here: whether it starts a snapshot. A finished
   * subtask may be asked twice for one (pending when it finished, and triggered directly); an
   * older one than the last started can only be out of order, and Flink skips those too.
   */
  begin(checkpointId: number): boolean {
    if (checkpointId <= this.#last) return false;
    this.#last = checkpointId;
    return true;
  }

  /** The snapshot begun for `checkpointId` is a savepoint's. */
  savepoint(checkpointId: number): void {
    this.#savepoints.add(checkpointId);
    if (this.#savepoints.size > this.savepointLimit) this.#savepoints.delete(this.#savepoints.values().next().value!); // size > limit >= 0: there is a first
  }

  isSavepoint(checkpointId: number): boolean {
    return this.#savepoints.has(checkpointId);
  }

  /**
   * Checkpoint `checkpointId` completed: savepoints at or below it are behind every barrier this
   * subtask will see again, and no notification for them is acted on after a newer completion.
   */
  completed(checkpointId: number): void {
    for (const id of this.#savepoints) if (id <= checkpointId) this.#savepoints.delete(id);
  }

  aborted(checkpointId: number): void {
    this.#savepoints.delete(checkpointId);
  }

  /** For tests: the ids held. */
  get size(): number {
    return this.#savepoints.size;
  }
}
