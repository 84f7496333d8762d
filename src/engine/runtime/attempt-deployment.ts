/**
 * Where an attempt's subtasks run. The executor (the JobMaster's side: checkpoint coordinator,
 * restart loop, final checkpoint) is the same for every placement; a deployment puts the
 * subtasks somewhere (this thread, worker threads of a TaskManager) and relays the coordinator's
 * calls to them and their acknowledgements back.
 */
import type { SnapshotReader } from '../../format/snapshot-reader.ts';
import type { SubtaskRestorePlan } from '../state/restore-plan.ts';
import type { Chain, JobPlan } from './job-plan.ts';
import type { TaskDeclineReason } from '../checkpoint/failure-counter.ts';
import type { CheckpointTarget, SubtaskAck } from './subtask.ts';
import type { ExecutionOptions } from './local-executor.ts';

/** What the coordinator side offers the subtasks of one attempt. */
export interface AttemptCoordination {
  /** A subtask's input ended and its operators finished. */
  finished(task: SubtaskKey): void;
  pendingCheckpoints(): readonly { readonly checkpointId: number; readonly savepoint: boolean }[];
  checkpointTarget(checkpointId: number): CheckpointTarget | undefined | Promise<CheckpointTarget | undefined>;
  acknowledge(ack: SubtaskAck): void;
  decline(checkpointId: number, reason: unknown, why?: TaskDeclineReason): void;
}

export interface SubtaskKey {
  readonly chain: number;
  readonly index: number;
}

export interface AttemptSpec {
  readonly jobId: string;
  readonly plan: JobPlan;
  /** The plan's chains with the max parallelism a restore fixed. */
  readonly chains: readonly Chain[];
  readonly attempt: number;
  readonly mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  /** The snapshot this attempt starts from (as the coordinator side opened and matched it). */
  readonly restoreFrom: string | undefined;
  /** Incremental checkpoints may build on the restored checkpoint's chains (the job's own: a failover or `claim`). */
  readonly buildOnRestore?: boolean;
  readonly restore: { readonly reader: SnapshotReader; readonly plans: ReadonlyMap<string, SubtaskRestorePlan[]> } | undefined;
  readonly options: ExecutionOptions;
  readonly coordination: AttemptCoordination;
}

/** Record counts of one subtask's chain members. */
export interface SubtaskCounts {
  readonly index: number;
  readonly counts: readonly { readonly uid: string; readonly in: number; readonly out: number }[];
}

export interface DeployedAttempt {
  /** Subtasks in all. */
  readonly subtaskCount: number;
  /** Resolves once every subtask is built and running (rejects if the attempt fails first). */
  readonly running: Promise<void>;
  /** Barrier n into every source subtask, and straight to finished ones (no barrier reaches them). */
  injectBarrier(checkpointId: number, savepoint: boolean, drain: boolean): void;
  notifyComplete(checkpointId: number): void;
  notifyAborted(checkpointId: number): void;
  /** After the final checkpoint: finished subtasks may close. */
  release(): void;
  /** Fails the attempt: `done` rejects with this error once every subtask stopped. */
  fail(error: Error): void;
  /**
   * Rejects with the attempt's failure as soon as it is decided (a task failed, `fail` was called,
   * a TaskManager was lost), before its subtasks have stopped, which may take long (a task in a
   * slow snapshot or in user code); never resolves. The failure is the one `done` rejects with.
   */
  readonly failed: Promise<never>;
  /** Resolves when every subtask ran to its end; rejects with the first failure (TaskFailure, CancelledError). */
  readonly done: Promise<void>;
  /** Latest known counts per subtask (a remote placement reports them now and then). */
  recordCounts(): readonly SubtaskCounts[];
}

export type AttemptDeployment = (spec: AttemptSpec) => DeployedAttempt;
