/**
 * What a JobManager offers, as Flink's REST API shapes it. The dispatcher implements it in the
 * cluster process, the REST server maps HTTP onto it, and the REST client implements it again
 * over HTTP, so commands speak to one interface whether the cluster is near or far.
 * Field names are Flink's (kebab-case and all), because scripts written for Flink read them.
 */
import { UserError } from '../../errors.ts';
import type { StatsSummary } from './checkpoint-summary.ts';

export type JobState = 'INITIALIZING' | 'CREATED' | 'RUNNING' | 'FAILING' | 'FAILED' | 'CANCELLING' | 'CANCELED' | 'FINISHED' | 'RESTARTING' | 'SUSPENDED';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['FAILED', 'CANCELED', 'FINISHED']);

/** `POST /jobs`: our submission (Flink uploads a JobGraph; we name a job module on this machine). */
export interface SubmitRequest {
  /**
   * Absolute path of the job module on the client's machine. With `jobBundle` it only names the
   * job; without one the JobManager loads this file, which must then exist on its machine.
   */
  readonly jobFile: string;
  /** The job file bundled with its local imports (job-bundle.ts), as `flink run` sends it. */
  readonly jobBundle?: string;
  readonly programArgs: readonly string[];
  /** `-p`; absent: the job's own setting, else `parallelism.default`. */
  readonly parallelism?: number;
  /** `-s`: savepoint or retained checkpoint, directory or its `_metadata`, local or s3://. */
  readonly savepointPath?: string;
  readonly allowNonRestoredState?: boolean;
  readonly claimMode?: 'CLAIM' | 'NO_CLAIM';
  /** `-D` keys of this run, over the cluster's configuration. */
  readonly config?: Readonly<Record<string, string>>;
  /**
   * The directory `flink run` ran in, kept in the job's record. Not where the job runs: its
   * subtasks run in TaskManagers (threads, which cannot change directory, possibly on another
   * host), so relative paths in a job's arguments resolve against a TaskManager's directory.
   */
  readonly cwd?: string;
}

/** Flink's execution states of a task, lower-case as `/jobs/overview` spells them. */
export type TaskState = 'created' | 'scheduled' | 'deploying' | 'running' | 'finished' | 'canceling' | 'canceled' | 'failed' | 'reconciling' | 'initializing';

/** Subtasks per state, and their total. */
export type TaskCounts = { readonly total: number } & { readonly [S in TaskState]: number };

/** `GET /jobs/overview` entry. */
export interface JobOverview {
  readonly jid: string;
  readonly name: string;
  readonly state: JobState;
  readonly 'start-time': number;
  readonly 'end-time': number;
  readonly duration: number;
  readonly 'last-modification': number;
  readonly tasks: TaskCounts;
}

export interface VertexInfo {
  /** Operator id (hex), derived from the uid as Flink does. */
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly status: JobState;
  readonly metrics: {
    readonly 'read-records': number;
    readonly 'write-records': number;
  };
}

/** `GET /jobs/:id`. */
export interface JobDetails extends Omit<JobOverview, 'tasks'> {
  /** Subtasks per state, upper-case as Flink's job details spell them. */
  readonly 'status-counts': Readonly<Record<Uppercase<TaskState>, number>>;
  readonly isStoppable: boolean;
  readonly now: number;
  readonly maxParallelism: number;
  readonly timestamps: Readonly<Partial<Record<JobState, number>>>;
  readonly vertices: readonly VertexInfo[];
  /** Why the job failed, when it did (ours; Flink has it under /jobs/:id/exceptions). */
  readonly 'failure-cause'?: string;
  /** Restarts after failures so far (Flink's numRestarts metric). */
  readonly 'num-restarts': number;
}

/** Flink's `AsynchronousOperationResult`: poll until `status.id` is COMPLETED. */
export type AsyncOperation<T> =
  | { readonly status: { readonly id: 'IN_PROGRESS' } }
  | { readonly status: { readonly id: 'COMPLETED' }; readonly operation: T | { readonly 'failure-cause': FailureCause } };

export interface FailureCause {
  readonly class: string;
  /** One line a user can act on; the CLI prints it as is. */
  readonly message: string;
  readonly 'stack-trace': string;
}

export interface TriggerResponse {
  readonly 'request-id': string;
}

export interface SavepointTriggerRequest {
  readonly 'target-directory'?: string;
  readonly 'cancel-job'?: boolean;
  readonly formatType?: 'CANONICAL' | 'NATIVE';
}

export interface StopRequest {
  readonly targetDirectory?: string;
  readonly drain?: boolean;
  /** As Flink's StopWithSavepointRequestBody: CANONICAL (default) or NATIVE. */
  readonly formatType?: 'CANONICAL' | 'NATIVE';
}

export interface CheckpointTriggerRequest {
  readonly checkpointType?: 'FULL' | 'INCREMENTAL' | 'CONFIGURED';
}

export interface CheckpointEntry {
  readonly id: number;
  readonly status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  readonly is_savepoint: boolean;
  readonly checkpoint_type: 'CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT';
  readonly trigger_timestamp: number;
  readonly latest_ack_timestamp: number;
  /** Bytes of every data file the snapshot refers to (an incremental checkpoint's include earlier checkpoints' shared files). */
  readonly state_size: number;
  /** Bytes written for this snapshot (equal to `state_size` for a full one). */
  readonly checkpointed_size: number;
  readonly end_to_end_duration: number;
  readonly external_path?: string;
  readonly discarded: boolean;
  /** When a FAILED snapshot failed (Flink's FailedCheckpointStatistics), with its `failure_message`. */
  readonly failure_timestamp?: number;
  readonly failure_message?: string;
  /** A savepoint's format (Flink's `savepointFormat`); absent on checkpoints. */
  readonly savepointFormat?: 'CANONICAL' | 'NATIVE';
  /** Subtasks that must acknowledge it, and those that did: on IN_PROGRESS and COMPLETED entries (not known of a FAILED one). */
  readonly num_subtasks?: number;
  readonly num_acknowledged_subtasks?: number;
}

/**
 * A snapshot as REST gives it (Flink's CheckpointStatistics): the entry the job record keeps, with
 * `tasks`, Flink's TaskCheckpointStatistics per job vertex id. Filled by
 * `GET /jobs/:id/checkpoints/details/:checkpointId` for a completed snapshot; `{}` in
 * `GET /jobs/:id/checkpoints`, which Flink builds without them, and for a snapshot in progress or
 * failed, of which the JobManager keeps no per-subtask acknowledgements.
 */
export interface CheckpointDetails extends CheckpointEntry {
  readonly tasks: Readonly<Record<string, TaskCheckpointStatistics>>;
}

/** Flink's TaskCheckpointStatistics: one vertex's part of a snapshot, summed over the subtasks that acknowledged it. */
export interface TaskCheckpointStatistics {
  readonly id: number;
  readonly status: CheckpointEntry['status'];
  /** When its latest subtask acknowledged, -1 before the first (as Flink). */
  readonly latest_ack_timestamp: number;
  readonly checkpointed_size: number;
  readonly state_size: number;
  /** From the trigger to `latest_ack_timestamp`, -1 before the first acknowledgement (as Flink). */
  readonly end_to_end_duration: number;
  /** Always 0: alignment and unaligned channel state are not measured. */
  readonly alignment_buffered: number;
  readonly processed_data: number;
  readonly persisted_data: number;
  readonly num_subtasks: number;
  readonly num_acknowledged_subtasks: number;
}

/** `GET /jobs/:id/checkpoints`. */
export interface CheckpointStatistics {
  readonly counts: { readonly restored: number; readonly total: number; readonly in_progress: number; readonly completed: number; readonly failed: number };
  /** Over the completed checkpoints and savepoints (percentiles: the latest 1000). */
  readonly summary: { readonly checkpointed_size: StatsSummary; readonly state_size: StatsSummary; readonly end_to_end_duration: StatsSummary };
  readonly latest: {
    readonly completed: CheckpointDetails | null;
    readonly savepoint: CheckpointDetails | null;
    readonly failed: CheckpointDetails | null;
    readonly restored: { readonly id: number; readonly restore_timestamp: number; readonly is_savepoint: boolean; readonly external_path: string } | null;
  };
  /**
   * Newest first, at most `web.checkpoints.history` (10) entries, as Flink; snapshots in progress
   * come first as IN_PROGRESS entries (sizes and duration so far) until they complete or fail.
   */
  readonly history: readonly CheckpointDetails[];
}

/** Flink's `SubtaskCheckpointStatistics` (a completed subtask's), in `TaskCheckpointDetails.subtasks`. */
export interface SubtaskCheckpointEntry {
  readonly index: number;
  readonly status: 'completed' | 'pending_or_failed';
  readonly ack_timestamp: number;
  readonly end_to_end_duration: number;
  readonly state_size: number;
  readonly checkpointed_size: number;
  /** ms: `sync` the processing thread held at the barrier, `async` writing the captured state. */
  readonly checkpoint: { readonly sync: number; readonly async: number };
  /** Always 0: alignment is not measured yet. */
  readonly alignment: { readonly buffered: number; readonly processed: number; readonly persisted: number; readonly duration: number };
  readonly start_delay: number;
  readonly unaligned_checkpoint: boolean;
  readonly aborted: boolean;
}

/** `GET /jobs/:id/checkpoints/details/:checkpointId/subtasks/:vertexId` (Flink's `TaskCheckpointStatisticsWithSubtaskDetails`). */
export interface TaskCheckpointDetails extends TaskCheckpointStatistics {
  readonly status: 'COMPLETED';
  readonly summary: {
    readonly checkpointed_size: StatsSummary;
    readonly state_size: StatsSummary;
    readonly end_to_end_duration: StatsSummary;
    readonly checkpoint_duration: { readonly sync: StatsSummary; readonly async: StatsSummary };
    readonly alignment: { readonly buffered: StatsSummary; readonly processed: StatsSummary; readonly persisted: StatsSummary; readonly duration: StatsSummary };
    readonly start_delay: StatsSummary;
  };
  readonly subtasks: readonly SubtaskCheckpointEntry[];
}

/** `GET /jobs/:id/checkpoints/config`. */
export interface CheckpointConfigInfo {
  readonly mode: 'exactly_once' | 'at_least_once';
  /** ms; Long.MAX_VALUE (9223372036854775807) in Flink when off: we say 0 and `periodic: false`. */
  readonly interval: number;
  readonly timeout: number;
  readonly min_pause: number;
  readonly max_concurrent: number;
  readonly externalization: { readonly enabled: boolean; readonly delete_on_cancellation: boolean };
  readonly state_backend: string;
  readonly checkpoint_storage: string;
  readonly unaligned_checkpoints: boolean;
  readonly tolerable_failed_checkpoints: number;
  readonly aligned_checkpoint_timeout: number;
  readonly checkpoints_after_tasks_finish: boolean;
  readonly state_changelog_enabled: boolean;
  readonly periodic: boolean;
}

/** `GET /overview`. */
export interface ClusterOverview {
  readonly taskmanagers: number;
  readonly 'slots-total': number;
  readonly 'slots-available': number;
  readonly 'jobs-running': number;
  readonly 'jobs-finished': number;
  readonly 'jobs-cancelled': number;
  readonly 'jobs-failed': number;
  readonly 'flink-version': string;
  /** Ours: the JobManager's process id and working directory, for `flink cluster status`. */
  readonly pid: number;
  readonly 'working-dir': string;
}

/** `GET /jobs/:id/plan` (Flink's `JobPlanInfo`): the job's vertices and how records flow between them. */
export interface JobPlanInfo {
  readonly plan: {
    readonly jid: string;
    readonly name: string;
    readonly type: 'STREAMING';
    readonly nodes: readonly {
      readonly id: string;
      readonly parallelism: number;
      readonly operator: string;
      readonly operator_strategy: string;
      readonly description: string;
      readonly inputs?: readonly { readonly num: number; readonly id: string; readonly ship_strategy: string; readonly exchange: string }[];
      readonly optimizer_properties: Record<string, never>;
    }[];
  };
}

/** Flink's `IOMetricsInfo`: records are counted; bytes are not (their `-complete` flags say so). */
export interface IoMetrics {
  readonly 'read-bytes': number;
  readonly 'read-bytes-complete': boolean;
  readonly 'write-bytes': number;
  readonly 'write-bytes-complete': boolean;
  readonly 'read-records': number;
  readonly 'read-records-complete': boolean;
  readonly 'write-records': number;
  readonly 'write-records-complete': boolean;
}

/** `GET /jobs/:id/vertices/:vertexId` (Flink's `JobVertexDetailsInfo`). */
export interface JobVertexDetails {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly now: number;
  readonly subtasks: readonly {
    /** 0-based. */
    readonly subtask: number;
    readonly status: Uppercase<TaskState>;
    readonly attempt: number;
    /** A TaskManager's address in Flink; not tracked per subtask yet. */
    readonly endpoint: null;
    readonly 'start-time': number;
    readonly 'end-time': number;
    readonly duration: number;
    readonly metrics: IoMetrics;
    readonly 'taskmanager-id': null;
  }[];
}

/** `GET /config` (Flink's `DashboardConfiguration`). */
export interface DashboardConfiguration {
  readonly 'refresh-interval': number;
  readonly 'timezone-name': string;
  readonly 'timezone-offset': number;
  readonly 'flink-version': string;
  readonly 'flink-revision': string;
  readonly features: { readonly 'web-submit': boolean; readonly 'web-cancel': boolean; readonly 'web-rescale': boolean; readonly 'web-history': boolean };
}

/** What a TaskManager says of itself when it registers (POST /taskmanagers). */
export interface TaskManagerRegistration {
  readonly id: string;
  readonly host: string;
  /** Its control and data port. */
  readonly port: number;
  readonly slots: number;
  readonly pid: number;
  readonly hardware?: { readonly cpuCores: number; readonly physicalMemory: number; readonly freeMemory: number };
}

/** `GET /taskmanagers` item, in Flink's shape. */
export interface TaskManagerInfo {
  readonly id: string;
  readonly path: string;
  readonly dataPort: number;
  readonly jmxPort: number;
  /** Flink's name for the time of the last heartbeat (epoch ms). */
  readonly timeSinceLastHeartbeat: number;
  readonly slotsNumber: number;
  readonly freeSlots: number;
  readonly hardware: { readonly cpuCores: number; readonly physicalMemory: number; readonly freeMemory: number; readonly managedMemory: number };
  readonly blocked: boolean;
}

/** `GET /taskmanagers`, in Flink's shape. */
export interface TaskManagersInfo {
  readonly taskmanagers: readonly TaskManagerInfo[];
}

/** One failed attempt in Flink's `exceptionHistory` shape. */
export interface ExceptionEntry {
  /** The error's class (`TypeError`); Flink's own exception class when no task failed (the JobMaster thread ended). */
  readonly exceptionName: string;
  /** The user's stack trace, causes included (no task failed: the one-line cause). */
  readonly stacktrace: string;
  readonly timestamp: number;
  /** The task it failed in, `Source: words -> Map (2/4)`; null when no task failed (the JobMaster thread ended). */
  readonly taskName: string | null;
  /** Flink's TaskManager address of the failed task; not tracked yet. */
  readonly location: null;
  readonly endpoint: null;
  readonly taskManagerId: null;
  readonly failureLabels: Record<string, never>;
  readonly concurrentExceptions: readonly never[];
}

/** `GET /jobs/:id/exceptions`, as Flink answers it. */
export interface JobExceptions {
  /** The newest failure's stack trace, as Flink gives its root exception. */
  readonly 'root-exception': string | null;
  readonly timestamp: number | null;
  readonly 'all-exceptions': readonly never[];
  readonly truncated: boolean;
  readonly exceptionHistory: { readonly entries: readonly ExceptionEntry[]; readonly truncated: boolean };
}

export interface ClusterApi {
  overview(): Promise<ClusterOverview>;
  /** `GET /jobs/overview`, newest first. */
  jobsOverview(): Promise<{ readonly jobs: readonly JobOverview[] }>;
  /** `GET /jobs`. */
  jobs(): Promise<{ readonly jobs: readonly { readonly id: string; readonly status: JobState }[] }>;
  /** `GET /jobs/:id`. Unknown id: NotFoundError. */
  job(jobId: string): Promise<JobDetails>;
  /** `POST /jobs`: resolves once the job is recorded durably, before it runs. */
  submit(request: SubmitRequest): Promise<{ readonly jobid: string }>;
  /** `PATCH /jobs/:id?mode=cancel`. A job that is not running: ConflictError. */
  cancel(jobId: string): Promise<void>;
  /** `POST /jobs/:id/savepoints`. */
  triggerSavepoint(jobId: string, request: SavepointTriggerRequest): Promise<TriggerResponse>;
  /** `GET /jobs/:id/savepoints/:triggerId`; also answers for stop's trigger ids. */
  savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperation<{ readonly location: string }>>;
  /** `POST /jobs/:id/stop`. */
  stop(jobId: string, request: StopRequest): Promise<TriggerResponse>;
  /** `POST /jobs/:id/checkpoints`. */
  triggerCheckpoint(jobId: string, request: CheckpointTriggerRequest): Promise<TriggerResponse>;
  /** `GET /jobs/:id/checkpoints/:triggerId`. */
  checkpointStatus(jobId: string, triggerId: string): Promise<AsyncOperation<{ readonly checkpointId: number }>>;
  /** `GET /jobs/:id/checkpoints`. */
  checkpoints(jobId: string): Promise<CheckpointStatistics>;
  /** `GET /jobs/:id/checkpoints/config`. */
  checkpointConfig(jobId: string): Promise<CheckpointConfigInfo>;
  /** `GET /jobs/:id/exceptions`: why attempts of the job failed, newest first. */
  exceptions(jobId: string): Promise<JobExceptions>;
  /** `GET /jobs/:id/checkpoints/details/:checkpointId`: one of the history's entries, with its vertices' parts in `tasks`. */
  checkpointDetails(jobId: string, checkpointId: number): Promise<CheckpointDetails>;
  /** `GET /jobs/:id/checkpoints/details/:checkpointId/subtasks/:vertexId`: each subtask's part, with its sync and async durations. */
  checkpointSubtaskDetails(jobId: string, checkpointId: number, vertexId: string): Promise<TaskCheckpointDetails>;
  /** `GET /jobs/:id/plan`. */
  plan(jobId: string): Promise<JobPlanInfo>;
  /** `GET /jobs/:id/vertices/:vertexId`. */
  vertex(jobId: string, vertexId: string): Promise<JobVertexDetails>;
  /** `GET /config`. */
  dashboardConfig(): Promise<DashboardConfiguration>;
  /** `GET /jobmanager/config`: the cluster's configuration, secrets masked as Flink masks them. */
  jobManagerConfig(): Promise<readonly { readonly key: string; readonly value: string }[]>;
  /** `GET /taskmanagers`. */
  taskManagers(): Promise<TaskManagersInfo>;
  /** `POST /taskmanagers` (tsflink's, where Flink uses RPC): a TaskManager offers its slots. */
  registerTaskManager(registration: TaskManagerRegistration): Promise<void>;
  /** `POST /taskmanagers/:id/heartbeat`: false when the TaskManager is unknown (it registers again). */
  taskManagerHeartbeat(id: string): Promise<boolean>;
  /** `GET /blobs/:key` (tsflink's, where Flink has its BlobServer): a submitted job's code. Unknown key: NotFoundError. */
  jobCode(key: string): Promise<{ readonly code: string }>;
  /** `POST /savepoint-disposal` with `{"savepoint-path"}`. */
  disposeSavepoint(savepointPath: string): Promise<TriggerResponse>;
  /** `GET /savepoint-disposal/:triggerId`. */
  disposalStatus(triggerId: string): Promise<AsyncOperation<Record<string, never>>>;
  /** `DELETE /cluster`: cancels nothing, stops the JobManager (its jobs are suspended and resume when it starts again). */
  shutdown(): Promise<void>;
}

/**
 * Where a job that was running when its JobManager stopped starts again (Dispatcher.recover), for
 * the messages that promise it.
 */
export const RESUME_FROM = 'each from its latest checkpoint, or from its beginning (from the savepoint it was started from, if any) when it has none';

/**
 * Errors the API raises, each with the HTTP status the REST server answers with. They are user
 * errors with exit code 1, as Flink's CLI exits when a cluster refuses a request.
 */
export class ApiError extends UserError {
  override readonly name: string = 'ApiError';
  constructor(
    readonly httpStatus: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, 1, options);
  }
}

export class NotFoundError extends ApiError {
  override readonly name: string = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

export class BadRequestError extends ApiError {
  override readonly name: string = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

/** The request is valid but the job's state does not allow it (e.g. savepoint of a finished job). */
export class ConflictError extends ApiError {
  override readonly name: string = 'ConflictError';
  constructor(message: string) {
    super(409, message);
  }
}
