/**
 * The facts the checkpoint coordinator's decisions are made over (DESIGN.md section 5: decisions
 * are pure functions over facts already read). Times are milliseconds from a monotonic clock the
 * caller reads (Flink uses `clock.relativeTimeMillis()` for the same reason: wall-clock jumps must
 * not expire or trigger checkpoints).
 */
import { InternalError } from '../../errors.ts';

/**
 * A checkpoint id. Branded because the coordinator juggles ids, timestamps and counts that are
 * all numbers, and swapping two of them type-checks silently otherwise. The brand is erased at
 * run time, so an id flows into barriers and paths (plain numbers) without conversion; only
 * numbers coming in from outside go through `toCheckpointId`.
 */
export type CheckpointId = number & { readonly __brand: 'CheckpointId' };

/** Flink's `CheckpointIDCounter.INITIAL_CHECKPOINT_ID`: the first checkpoint of a fresh job is 1. */
export const FIRST_CHECKPOINT_ID = 1 as CheckpointId;

export function toCheckpointId(n: number): CheckpointId {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InternalError(`checkpoint id ${n} is not a positive integer`);
  }
  return n as CheckpointId;
}

/**
 * What a snapshot is for. `stop-with-savepoint` is Flink's synchronous savepoint (`flink stop`):
 * it ends the job, so unlike a plain savepoint it subsumes older checkpoints, notifies tasks and
 * fails the job if a task cannot take it.
 */
export type SnapshotKind = 'checkpoint' | 'savepoint' | 'stop-with-savepoint';

export function isSavepointKind(kind: SnapshotKind): boolean {
  return kind !== 'checkpoint';
}

/**
 * Who owns the snapshot a job is restored from (Flink's RecoveryClaimMode): `NO_CLAIM` leaves it
 * to the user, `CLAIM` hands it to the job, whose retention deletes it like its own checkpoints.
 */
export type ClaimMode = 'CLAIM' | 'NO_CLAIM';

/** A snapshot that was triggered and has not completed, failed or expired yet. */
export interface PendingCheckpoint {
  readonly id: CheckpointId;
  readonly kind: SnapshotKind;
  /** When it was triggered; it expires at `triggeredAt + config.timeout`. */
  readonly triggeredAt: number;
}

/** A completed snapshot the coordinator knows about. */
export interface CompletedSnapshot {
  readonly id: CheckpointId;
  /**
   * Owned by the user: never deleted by the engine, never counted in `numRetained`. A snapshot
   * claimed with `--claimMode claim` is the job's own (`isSavepoint: false`); one restored with
   * `no_claim` is never listed at all.
   */
  readonly isSavepoint: boolean;
}

/** Ascending by id; throws on duplicates, which mean the caller's bookkeeping is broken. */
export function sortedById<T extends { readonly id: CheckpointId }>(items: readonly T[]): T[] {
  const sorted = [...items].sort((a, b) => a.id - b.id);
  for (let i = 1; i < sorted.length; i++) {
    const here = sorted[i];
    const before = sorted[i - 1];
    if (here !== undefined && before !== undefined && here.id === before.id) {
      throw new InternalError(`checkpoint ${here.id} is listed twice`);
    }
  }
  return sorted;
}
