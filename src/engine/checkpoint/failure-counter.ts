/**
 * When failed checkpoints fail the job: Flink's CheckpointFailureManager. It counts CONSECUTIVE
 * failures of the kinds a failover might cure; once the count exceeds
 * `tolerableFailures` the job fails (and the count starts again). A completed checkpoint or
 * savepoint newer than every success so far resets it.
 *
 * Flink's finer rules, all kept:
 * - Each checkpoint id counts once, however many tasks decline it.
 * - A failure of a checkpoint older than the last success does not count (it no longer matters).
 * - Savepoint failures detected by the coordinator (expiry, storage) never count: the user asked
 *   for it and a failover would not help (`handleJobLevelCheckpointException` skips
 *   `isSavepoint()`). Savepoint failures reported by a task count like checkpoint failures
 *   (`handleTaskLevelCheckpointException`: "non sync savepoints - go against failure counter
 *   (failover might help solve the problem)"), so with the default of 0 a task's decline of a
 *   `flink savepoint` or of a cancel-with-savepoint (a plain savepoint in Flink's
 *   SchedulerBase.triggerSavepoint, not a synchronous one) fails the attempt too; the exception is
 *   a stop-with-savepoint (`isSynchronous()`), which fails the job at once whatever the reason:
 *   the tasks may already have stopped and the job would otherwise hang waiting for them.
 * - Failures before an id was assigned (`checkpointId` null) always count.
 * - Only successes reset the count, a savepoint's too (`CheckpointCoordinator.reportCompletedCheckpoint`
 *   calls `handleCheckpointSuccess` for every completed snapshot); a failure that is not counted
 *   leaves it as it was.
 */
import type { CheckpointConfig } from './checkpoint-config.ts';
import type { CheckpointId, SnapshotKind } from './checkpoint-types.ts';

/** Why a snapshot failed, each standing for one or more of Flink's CheckpointFailureReasons. */
export type CheckpointFailureReason =
  /** CHECKPOINT_EXPIRED: the timeout passed. Counted. */
  | 'expired'
  /** IO_EXCEPTION: the coordinator could not prepare or write the snapshot's storage. Counted. */
  | 'storage'
  /** CHECKPOINT_DECLINED: a task could not take its snapshot. Counted. */
  | 'declined'
  /** CHECKPOINT_DECLINED_SUBSUMED: a task had a newer checkpoint's barrier before this one was aligned. */
  | 'declined-subsumed'
  /** CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER: an input cancelled it (a task upstream declined it). */
  | 'declined-on-cancellation-barrier'
  /** CHECKPOINT_ASYNC_EXCEPTION: a task failed writing its state. Counted. */
  | 'async-failure'
  /** TASK_FAILURE, JOB_FAILURE, JOB_FAILOVER_REGION: the job is failing over anyway. */
  | 'task-failure'
  /** CHECKPOINT_DECLINED_TASK_NOT_READY / _TASK_CLOSING / _INPUT_END_OF_STREAM: a task could not take part yet or any more. */
  | 'task-not-ready'
  /** NOT_ALL_REQUIRED_TASKS_RUNNING: refused before starting. */
  | 'not-all-tasks-running'
  /** CHECKPOINT_SUBSUMED, CHECKPOINT_DECLINED_SUBSUMED: a newer checkpoint completed or overtook it. */
  | 'subsumed'
  /** TRIGGER_CHECKPOINT_FAILURE: sending the trigger to the tasks failed. */
  | 'trigger-failure'
  /** FINALIZE_CHECKPOINT_FAILURE: turning the acknowledgements into a completed checkpoint failed. */
  | 'finalize-failure'
  /** CHECKPOINT_COORDINATOR_SHUTDOWN / _SUSPEND: the job is stopping. */
  | 'coordinator-shutdown';

/** Flink counts only these, in `CheckpointFailureManager.checkFailureCounter`; the rest are ignored. */
const COUNTED: ReadonlySet<CheckpointFailureReason> = new Set(['expired', 'storage', 'declined', 'async-failure']);

/**
 * Reported by a task rather than found by the coordinator (Flink tells them apart by whether an
 * execution attempt id came with the failure).
 */
const FROM_TASK: ReadonlySet<CheckpointFailureReason> = new Set(['declined', 'declined-subsumed', 'declined-on-cancellation-barrier', 'async-failure', 'task-not-ready']);

/**
 * Why a task declined a checkpoint: its reasons of Flink's CheckpointFailureReason. `async-failure`:
 * writing what the barrier captured failed (Flink's AsyncCheckpointRunnable declines with
 * CHECKPOINT_ASYNC_EXCEPTION), counted as a plain decline is, with its own message.
 */
export type TaskDeclineReason = 'declined' | 'declined-subsumed' | 'declined-on-cancellation-barrier' | 'async-failure';

export interface CheckpointFailure {
  /** Null when the snapshot failed before it was given an id. */
  readonly checkpointId: CheckpointId | null;
  readonly snapshot: SnapshotKind;
  readonly reason: CheckpointFailureReason;
}

export interface FailureCounter {
  readonly consecutive: number;
  /** Ids counted since the last reset, so that each checkpoint counts once. */
  readonly countedIds: readonly CheckpointId[];
  readonly lastSucceededId: CheckpointId | null;
}

export const initialFailureCounter: FailureCounter = Object.freeze({ consecutive: 0, countedIds: [], lastSucceededId: null });

export interface FailureOutcome {
  readonly counter: FailureCounter;
  readonly failJob: boolean;
  /** Why, for the log and the job's failure cause. */
  readonly effect: 'ignored' | 'counted' | 'threshold-exceeded' | 'stop-with-savepoint-failed';
}

/** Flink's message for a job failed by this rule (`EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE`). */
export const TOLERABLE_FAILURE_MESSAGE = 'Exceeded checkpoint tolerable failure threshold.';

export function onCheckpointFailure(config: CheckpointConfig, counter: FailureCounter, failure: CheckpointFailure): FailureOutcome {
  const fromTask = FROM_TASK.has(failure.reason);
  if (failure.snapshot === 'stop-with-savepoint' && fromTask) {
    return { counter, failJob: true, effect: 'stop-with-savepoint-failed' };
  }
  if (failure.snapshot !== 'checkpoint' && !fromTask) return { counter, failJob: false, effect: 'ignored' };

  const id = failure.checkpointId;
  const stale = id !== null && counter.lastSucceededId !== null && id <= counter.lastSucceededId;
  const alreadyCounted = id !== null && counter.countedIds.includes(id);
  if (stale || alreadyCounted || !COUNTED.has(failure.reason)) return { counter, failJob: false, effect: 'ignored' };

  const consecutive = counter.consecutive + 1;
  if (consecutive > config.tolerableFailures) {
    return { counter: { ...counter, consecutive: 0, countedIds: [] }, failJob: true, effect: 'threshold-exceeded' };
  }
  const countedIds = id === null ? counter.countedIds : [...counter.countedIds, id];
  return { counter: { ...counter, consecutive, countedIds }, failJob: false, effect: 'counted' };
}

/** Flink's `handleCheckpointSuccess`: a checkpoint or savepoint newer than every success so far resets the count. */
export function onSnapshotSuccess(counter: FailureCounter, checkpointId: CheckpointId): FailureCounter {
  if (counter.lastSucceededId !== null && checkpointId <= counter.lastSucceededId) return counter;
  return { consecutive: 0, countedIds: [], lastSucceededId: checkpointId };
}
