/**
 * The JobManager's durable memory: one JSON record per job under `<working dir>/jobs/`, written
 * to a temporary name, fsynced and renamed, so a JobManager killed at any moment finds each
 * record whole, old or new. A job is recorded before its submission is acknowledged, and its
 * latest-checkpoint pointer whenever a checkpoint completes: that is what a restarted
 * JobManager resumes from.
 */
import { open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirectoriesSync } from '../../storage/make-directories.ts';
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import type { CompletedCheckpoint, SubtaskSnapshotStats } from '../checkpoint/checkpoint-coordinator.ts';
import type { RestartStrategy } from '../runtime/restart-strategy.ts';
import type { StateBackendType } from '../state/state-backend-type.ts';
import type { RunningStats } from './checkpoint-summary.ts';
import type { CheckpointEntry, JobState, SubmitRequest } from './cluster-api.ts';
import type { JobVertexInfo } from './jobmaster-protocol.ts';

export interface JobRecord {
  readonly version: 1;
  readonly jobId: string;
  name: string;
  /** As submitted, without the job's code (`jobBundle`), which the blob store keeps. */
  readonly submit: SubmitRequest;
  /** The key of the job's code in the JobManager's blob store; absent: `submit.jobFile` is loaded. */
  readonly bundleKey?: string;
  /** The cluster's configuration with the run's `-D` keys over it, as the JobMaster thread gets it. */
  readonly config: Readonly<Record<string, string>>;
  state: JobState;
  readonly startTime: number;
  endTime: number;
  lastModification: number;
  timestamps: Partial<Record<JobState, number>>;
  restarts: number;
  failureCause?: string;
  /** Why attempts failed (a task's error, a lost TaskManager, the JobMaster thread's end), newest first, at most 16. */
  exceptions?: JobException[];
  /** Known once the JobMaster thread has built the job. */
  vertices?: readonly JobVertexInfo[];
  checkpointConfig?: CheckpointConfig;
  restartStrategy?: RestartStrategy;
  /** Absent in records written before the backend was chosen per job (then it was hashmap). */
  stateBackend?: StateBackendType;
  /** Retained completed checkpoints, oldest first; the last is what a restart resumes from. */
  retained: CompletedCheckpoint[];
  nextCheckpointId: number;
  /**
   * Checkpoints found damaged and skipped on a restart (each reported in the JobManager's log).
   * Their files stay for a person to look at; a restarted JobManager's listing leaves them out.
   */
  damagedCheckpoints?: { readonly id: number; readonly location: string; readonly problem: string }[];
  /**
   * Each subtask's part of the completed snapshots still in the history or the latest savepoint,
   * by checkpoint id, for `GET /jobs/:id/checkpoints/details/:cid/subtasks/:vertexId` (absent in
   * older records).
   */
  checkpointSubtasks?: Record<string, readonly SubtaskSnapshotStats[]>;
  /** Statistics for `GET /jobs/:id/checkpoints`. */
  checkpointCounts: { completed: number; failed: number };
  /** Newest first, at most 10. */
  checkpointHistory: CheckpointEntry[];
  /** Sizes and durations of every completed checkpoint and savepoint, for Flink's `summary` (absent in older records). */
  checkpointSummary?: { stateSize: RunningStats; checkpointedSize: RunningStats; duration: RunningStats };
  latestSavepoint: CheckpointEntry | null;
  latestFailed: CheckpointEntry | null;
  /** The snapshot the latest attempt started from, as its metadata says. */
  restored: { id: number; restore_timestamp: number; is_savepoint: boolean; external_path: string } | null;
  /** Attempts that started from a snapshot (Flink's `counts.restored`); absent in records written before it was kept. */
  restoreCount?: number;
}

export interface JobException {
  /** One line. */
  readonly cause: string;
  readonly timestamp: number;
  /** A task's failure: the error's class, the user's stack, and the task (absent when no task failed, and in older records). */
  readonly exceptionName?: string;
  readonly stacktrace?: string;
  readonly taskName?: string | null;
}

export class JobStore {
  readonly directory: string;

  constructor(workingDirectory: string) {
    this.directory = join(workingDirectory, 'jobs');
    makeDirectoriesSync(this.directory);
  }

  async save(record: JobRecord): Promise<void> {
    const file = join(this.directory, `${record.jobId}.json`);
    const temporary = `${file}.inprogress-${process.pid}`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(record, (_k, v: unknown) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : v), 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
    const dir = await open(this.directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** A finished job's record is dropped (jobstore.expiration-time, jobstore.max-capacity): a restarted JobManager does not load it again. */
  async delete(jobId: string): Promise<void> {
    await rm(join(this.directory, `${jobId}.json`), { force: true });
  }

  async loadAll(): Promise<JobRecord[]> {
    const records: JobRecord[] = [];
    for (const name of await readdir(this.directory)) {
      if (!/^[0-9a-f]{32}\.json$/.test(name)) continue;
      const text = await readFile(join(this.directory, name), 'utf8');
      records.push(JSON.parse(text, (_k, v: unknown) => (v === 'Infinity' ? Number.POSITIVE_INFINITY : v)) as JobRecord);
    }
    return records.sort((a, b) => a.startTime - b.startTime);
  }
}
