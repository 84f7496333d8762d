/**
 * What follows once every task acknowledged a snapshot and its metadata is written: Flink's
 * `CheckpointCoordinator.completePendingCheckpoint` and `cleanupAfterCompletedCheckpoint`.
 *
 * - A checkpoint joins the completed-checkpoint store (then `checkpointsToDiscard` says which
 *   older ones to delete); a savepoint does not: it belongs to the user and is neither retained
 *   nor used for failover (Flink since 1.15, FLINK-25191; which is also why tasks are not
 *   notified of it: output committed by a snapshot that failover never returns to would be
 *   duplicated).
 * - A checkpoint or stop-with-savepoint aborts the pending checkpoints older than it, which can
 *   no longer be useful; pending savepoints are never subsumed (`PendingCheckpoint.canBeSubsumed`).
 * - Tasks are notified (two-phase-commit sinks commit) for checkpoints and stop-with-savepoints
 *   only. A plain savepoint's pre-committed transactions are committed by the next checkpoint's
 *   notification, which covers every id below it.
 * - Any completion, savepoint or not, resets the failure count and restarts the minimum pause.
 */
import type { CheckpointId, PendingCheckpoint, SnapshotKind } from './checkpoint-types.ts';
import { type FailureCounter, onSnapshotSuccess } from './failure-counter.ts';

export interface CompletionFacts {
  readonly now: number;
  readonly completed: { readonly id: CheckpointId; readonly kind: SnapshotKind };
  /** Pending snapshots other than the completed one. */
  readonly pending: readonly PendingCheckpoint[];
  readonly counter: FailureCounter;
}

export interface CompletionOutcome {
  readonly counter: FailureCounter;
  /** Abort these pending checkpoints (failure reason `subsumed`, which does not count) and delete their partial state. */
  readonly subsumed: readonly CheckpointId[];
  /** Add to the completed-checkpoint store (and so to the restore candidates and retention). */
  readonly addToStore: boolean;
  /** Send notify-checkpoint-complete to the tasks. */
  readonly notifyTasks: boolean;
  /** The new `lastCompletedEndTime` for `decideTrigger`. */
  readonly lastCompletedEndTime: number;
}

export function onCheckpointCompleted(facts: CompletionFacts): CompletionOutcome {
  const { kind, id } = facts.completed;
  const endsOlder = kind !== 'savepoint';
  return {
    counter: onSnapshotSuccess(facts.counter, id),
    subsumed: endsOlder
      ? facts.pending
          .filter((p) => p.id < id && p.kind === 'checkpoint')
          .map((p) => p.id)
          .sort((a, b) => a - b)
      : [],
    addToStore: kind === 'checkpoint',
    notifyTasks: endsOlder,
    lastCompletedEndTime: facts.now,
  };
}
