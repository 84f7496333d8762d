/**
 * Which completed checkpoints to keep: Flink's DefaultCompletedCheckpointStore (subsumption
 * beyond `numRetained`, shutdown by job status) and CheckpointProperties (retention per
 * terminal state). The engine owns checkpoints and deletes them; savepoints belong to the user
 * and never appear in a list of things to delete.
 */
import type { CheckpointConfig, CheckpointRetention } from './checkpoint-config.ts';
import { type CheckpointId, type CompletedSnapshot, sortedById } from './checkpoint-types.ts';

/** Checkpoints to delete so that only the `numRetained` newest engine-owned ones stay. */
export function checkpointsToDiscard(config: CheckpointConfig, completed: readonly CompletedSnapshot[]): CheckpointId[] {
  const owned = sortedById(completed).filter((c) => !c.isSavepoint);
  return owned.slice(0, Math.max(0, owned.length - config.numRetained)).map((c) => c.id);
}

export type TerminalJobStatus = 'CANCELED' | 'FAILED' | 'FINISHED' | 'SUSPENDED';

/**
 * Whether retained checkpoints are deleted when a job ends this way, from the discard flags of
 * Flink's `CheckpointProperties` for each `CheckpointRetentionPolicy` (the externalized
 * retention setting maps NO_EXTERNALIZED_CHECKPOINTS to NEVER_RETAIN_AFTER_TERMINATION and
 * DELETE_ON_CANCELLATION to RETAIN_ON_FAILURE).
 */
const DISCARD_ON: Readonly<Record<CheckpointRetention, Readonly<Record<Exclude<TerminalJobStatus, 'SUSPENDED'>, boolean>>>> = {
  NO_EXTERNALIZED_CHECKPOINTS: { FINISHED: true, CANCELED: true, FAILED: true },
  DELETE_ON_CANCELLATION: { FINISHED: true, CANCELED: true, FAILED: false },
  RETAIN_ON_CANCELLATION: { FINISHED: true, CANCELED: false, FAILED: false },
};

/**
 * The retained checkpoints to delete when the job reaches `terminal`. SUSPENDED deletes nothing
 * whatever the retention: the job is not over, and the next JobManager resumes from these
 * checkpoints (Flink's DefaultCompletedCheckpointStore deletes only in globally terminal states;
 * its StandaloneCompletedCheckpointStore, used without high availability, would apply the
 * retention's discard-on-suspension flag instead, losing the state the job resumes from).
 */
export function onJobTermination(
  config: CheckpointConfig,
  terminal: TerminalJobStatus,
  completed: readonly CompletedSnapshot[],
): CheckpointId[] {
  if (terminal === 'SUSPENDED' || !DISCARD_ON[config.retention][terminal]) return [];
  return sortedById(completed)
    .filter((c) => !c.isSavepoint)
    .map((c) => c.id);
}
