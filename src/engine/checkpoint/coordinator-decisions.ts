/**
 * The checkpoint coordinator's decisions, pure and clock-free: the coordinator reads the facts
 * (time, pending and completed snapshots), asks these functions, and carries out the answer
 * (RPCs, timers, deletes). Each concept lives in its own file; this is the one import for them.
 */
export {
  type CheckpointId,
  type CompletedSnapshot,
  FIRST_CHECKPOINT_ID,
  type PendingCheckpoint,
  type SnapshotKind,
  toCheckpointId,
} from './checkpoint-types.ts';
export {
  decideTrigger,
  expiredCheckpoints,
  isForced,
  nextExpiry,
  type TriggerDecision,
  type TriggerFacts,
  type TriggerRequest,
} from './trigger-decision.ts';
export {
  type CheckpointFailure,
  type CheckpointFailureReason,
  type FailureCounter,
  type FailureOutcome,
  initialFailureCounter,
  onCheckpointFailure,
  onSnapshotSuccess,
  type TaskDeclineReason,
  TOLERABLE_FAILURE_MESSAGE,
} from './failure-counter.ts';
export { type CompletionFacts, type CompletionOutcome, onCheckpointCompleted } from './completion-decision.ts';
export {
  checkpointsToDiscard,
  onJobTermination,
  type TerminalJobStatus,
} from './retention.ts';
