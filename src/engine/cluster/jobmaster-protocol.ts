/**
 * Messages between the JobManager's main thread and a job's JobMaster thread (a worker thread of
 * the JobManager process; its port, structured clone). The thread builds the job from its module
 * and runs its checkpoint coordinator and restart loop, with the subtasks on TaskManagers' slots;
 * the main thread keeps the job's durable record, its latest-checkpoint pointer and statistics,
 * the slot pool, and answers REST.
 */
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import type { CompletedCheckpoint, SnapshotProgress, SnapshotStats } from '../checkpoint/checkpoint-coordinator.ts';
import type { RestartStrategy } from '../runtime/restart-strategy.ts';
import type { StateBackendType } from '../state/state-backend-type.ts';
import type { SlotAssignment } from './taskmanager/slot-assignment.ts';

export interface StartMessage {
  readonly type: 'start';
  readonly jobId: string;
  /** Names the job in messages; its code is the bundle when there is one. */
  readonly jobFile: string;
  /** The job's code as submitted, in the JobManager's blob store. */
  readonly bundle?: { readonly key: string; readonly path: string };
  readonly programArgs: readonly string[];
  readonly parallelism?: number;
  /** The cluster's configuration with the run's `-D` keys over it. */
  readonly config: Readonly<Record<string, string>>;
  readonly restoreFrom?: string;
  readonly allowNonRestoredState: boolean;
  /** Retained checkpoints of this job's earlier JobMaster threads (an earlier JobManager's), and the next checkpoint id. */
  readonly resume?: { readonly nextId: number; readonly completed: readonly CompletedCheckpoint[] };
}

export type ToJobMasterThread =
  | StartMessage
  /** `stop`: stop-with-savepoint (FINISHED); `cancelJob`: Flink's cancel-with-savepoint (CANCELED once it completes; the JobMaster cancels). */
  | { readonly type: 'savepoint'; readonly requestId: string; readonly targetDirectory: string; readonly stop: boolean; readonly drain: boolean; readonly cancelJob?: boolean; readonly formatType?: 'CANONICAL' | 'NATIVE' }
  /** `full`: `flink checkpoint --full` (every key group whole). */
  | { readonly type: 'checkpoint'; readonly requestId: string; readonly full?: boolean }
  | { readonly type: 'cancel' }
  | { readonly type: 'slots'; readonly requestId: string; readonly assignments: readonly SlotAssignment[] }
  | { readonly type: 'slots-failed'; readonly requestId: string; readonly message: string };

/**
 * One job vertex as Flink has them: a chain of operators that runs as one task. Its id is its
 * head operator's id, as in Flink. Records written before vertices were chains hold one operator
 * each and lack `tailUid` and `inputs`.
 */
export interface JobVertexInfo {
  readonly id: string;
  /** The head operator's uid: its records in are the vertex's. */
  readonly uid: string;
  /** `Source: words -> Map`. */
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** The last operator's uid: its records out are the vertex's. */
  readonly tailUid?: string;
  /** The vertices it reads from, and how records are shipped (Flink's `ship_strategy`). */
  readonly inputs?: readonly { readonly id: string; readonly shipStrategy: ShipStrategy }[];
}

export interface RecordCount {
  readonly in: number;
  readonly out: number;
}

export type ShipStrategy = 'FORWARD' | 'HASH' | 'REBALANCE' | 'RESCALE' | 'SHUFFLE' | 'GLOBAL' | 'BROADCAST';

export type FromJobMasterThread =
  | {
      readonly type: 'registered';
      readonly jobName: string;
      readonly vertices: readonly JobVertexInfo[];
      readonly checkpointConfig: CheckpointConfig;
      readonly restartStrategy: RestartStrategy;
      /** The job's keyed state backend, from the configuration or its own code. */
      readonly stateBackend: StateBackendType;
    }
  /** CREATED: waiting for TaskManagers' slots before the first attempt. */
  | { readonly type: 'status'; readonly status: 'CREATED' | 'RUNNING' | 'RESTARTING' }
  /** An attempt failed (a task's error, a lost TaskManager); the restart strategy decides next. */
  | {
      readonly type: 'attempt-failed';
      /** One line, with the task: `Map (2/4): Error: boom`. */
      readonly cause: string;
      readonly exceptionName: string;
      /** The user's stack trace, as text (kept as it was when this crossed a process boundary). */
      readonly stacktrace: string;
      readonly taskName: string | null;
      readonly timestamp: number;
    }
  /** A checkpoint or savepoint took this id: the job's next JobMaster thread starts past it. */
  | { readonly type: 'checkpoint-triggered'; readonly id: number }
  | { readonly type: 'checkpoint-completed'; readonly stats: SnapshotStats }
  /** The snapshots in progress now (all of them), at each trigger, acknowledgement and end. */
  | { readonly type: 'checkpoints-pending'; readonly pending: readonly SnapshotProgress[] }
  /** An attempt restored this snapshot (`-s`, or a retained checkpoint after a failure). */
  | { readonly type: 'restored'; readonly id: number; readonly isSavepoint: boolean; readonly location: string; readonly timestamp: number }
  /** Every second while the job runs, and once at its end: records in and out per operator uid. */
  | {
      readonly type: 'record-counts';
      readonly counts: Readonly<Record<string, RecordCount>>;
      /** Per operator uid, subtask i's counts at index i. */
      readonly subtasks: Readonly<Record<string, readonly RecordCount[]>>;
    }
  | { readonly type: 'checkpoint-failed'; readonly stats: SnapshotStats }
  | { readonly type: 'checkpoint-damaged'; readonly id: number; readonly location: string; readonly problem: string; readonly fallback: number | undefined }
  | { readonly type: 'operation-done'; readonly requestId: string; readonly location: string; readonly checkpointId: number }
  | { readonly type: 'operation-failed'; readonly requestId: string; readonly message: string }
  | { readonly type: 'terminated'; readonly status: 'FINISHED' | 'CANCELED' | 'FAILED'; readonly failure?: string }
  /** A line for the JobManager's log about the job (a slot terminated after task.cancellation.timeout). */
  | { readonly type: 'log'; readonly line: string }
  /** An attempt needs this many slots of TaskManagers (the job's highest parallelism). */
  | { readonly type: 'request-slots'; readonly requestId: string; readonly count: number; readonly lost: readonly string[] };
