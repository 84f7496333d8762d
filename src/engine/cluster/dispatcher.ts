/**
 * The JobManager's ClusterApi: accepts jobs (recording each durably before it answers), keeps
 * one JobMaster per job, answers Flink's REST questions from the jobs' records, and on start
 * resumes every job a previous JobManager left running, from its latest completed checkpoint.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { makeDirectories } from '../../storage/make-directories.ts';
import { FormatError, UserError } from '../../errors.ts';
import { openSnapshot } from '../../open-snapshot.ts';
import { validateJobConfig } from '../../config.ts';
import type { OpenStoreOptions } from '../../storage/open-store.ts';
import { snapshotDirOf } from '../../format/snapshot-paths.ts';
import { CHECKPOINT_KEYS } from '../checkpoint/checkpoint-config.ts';
import type { CompletedCheckpoint } from '../checkpoint/checkpoint-coordinator.ts';
import { toCheckpointId } from '../checkpoint/checkpoint-types.ts';
import { deleteSnapshot } from '../checkpoint/delete-snapshot.ts';
import { DEFAULT_STATE_BACKEND, STATE_BACKEND_CLASS_NAMES } from '../state/state-backend-type.ts';
import {
  type AsyncOperation,
  BadRequestError,
  type CheckpointConfigInfo,
  type CheckpointDetails,
  type TaskCheckpointDetails,
  type DashboardConfiguration,
  type JobPlanInfo,
  type JobVertexDetails,
  type TaskManagersInfo,
  ConflictError,
  type CheckpointStatistics,
  type CheckpointTriggerRequest,
  type ClusterApi,
  type ClusterOverview,
  type JobDetails,
  type JobExceptions,
  type JobOverview,
  type JobState,
  NotFoundError,
  type SavepointTriggerRequest,
  type StopRequest,
  type SubmitRequest,
  TERMINAL_STATES,
  type TriggerResponse,
} from './cluster-api.ts';
import { BLOB_STORAGE_DIRECTORY_KEY, BlobStore, jobManagerBlobDirectory } from './blob-store.ts';
import { JobMaster, type JobMasterContext, type JobOperations, operationStatus } from './job-master.ts';
import { DEFAULT_JOBSTORE_EXPIRATION_S, FinishedJobs, JOBSTORE_EXPIRATION_TIME_KEY, MAX_JOBSTORE_CAPACITY, JOBSTORE_MAX_CAPACITY_KEY, type JobStoreSettings, jobStoreSettings } from './finished-jobs.ts';
import { checkpointDetails, checkpointSubtaskDetails, checkpointingStatistics, jobPlan, maskedConfiguration, statusCounts, taskCounts, vertexDetails, vertexRecords } from './job-views.ts';
import { VERSION, revision } from '../../version.ts';
import type { JobRecord, JobStore } from './job-store.ts';
import { defaultJobName } from './job-settings.ts';
import { recoverCheckpoints } from './recover-checkpoints.ts';
import { type SlotProvider, registrySlotProvider } from './taskmanager/slot-provider.ts';
import { type TaskManagerRegistration, TaskManagerRegistry } from './taskmanager/task-manager-registry.ts';
import {
  HEARTBEAT_INTERVAL_KEY,
  HEARTBEAT_TIMEOUT_KEY,
  MAX_SLOTS_KEY,
  SPREAD_OUT_SLOTS_KEY,
  TASK_MANAGER_COUNT_KEY,
  TASK_MANAGER_IDLE_TIMEOUT_KEY,
  type TaskManagerSettings,
  UNBOUNDED_SLOTS,
  taskManagerSettings,
} from './taskmanager/task-manager-settings.ts';
import { WORKER_HEAP_KEY, workerHeapLimitMb } from './worker-heap.ts';
import type { LocalTaskManagers } from './taskmanager/local-task-managers.ts';
import { type ResourceManager, startResourceManager } from './taskmanager/resource-manager.ts';
import { TASK_SLOTS_KEY } from './taskmanager/task-slots.ts';
import { CLUSTER_ONLY_KEYS, sameSetting } from './cluster-only-keys.ts';
import { ASYNC_STORE_DURATION_KEY, CompletedOperationCache, asyncStoreDurationMs } from './completed-operation-cache.ts';
import { formatFlinkDuration } from '../checkpoint/flink-duration.ts';
import { cpus } from 'node:os';

export interface DispatcherOptions extends Omit<JobMasterContext, 'store' | 'blobs' | 'slots' | 'operationStoreMs' | 'now'> {
  readonly store: JobStore;
  readonly workingDirectory: string;
  /** The cluster's configuration; a run's `-D` keys go over it. */
  readonly config: Readonly<Record<string, string>>;
  readonly storeOptions: OpenStoreOptions;
  /** `DELETE /cluster`. */
  readonly onShutdown: () => void;
  /**
   * The clock the age of asynchronous operations' results (rest.async.store-duration) and of
   * finished jobs (jobstore.expiration-time) is read from; tests pass a fake one.
   */
  readonly now?: () => number;
}


export class Dispatcher implements ClusterApi {
  readonly #jobs = new Map<string, JobMaster>();
  /** The finished ones among #jobs, until jobstore.expiration-time or jobstore.max-capacity drops them. */
  readonly #finished: FinishedJobs;
  readonly #jobStore: JobStoreSettings;
  /**
   * Finished jobs dropped since this JobManager started, by final state: Flink's session cluster
   * (its FileExecutionGraphInfoStore) counts every job that ended in `/overview`, dropped or not.
   */
  readonly #dropped = { FINISHED: 0, CANCELED: 0, FAILED: 0 };
  /** Savepoint and checkpoint results of dropped jobs, kept their rest.async.store-duration. */
  readonly #droppedOperations = new Map<string, JobOperations>();
  #closing = false;
  /** Savepoint disposals; a job's savepoints and checkpoints are its JobMaster's. */
  readonly #disposals: CompletedOperationCache<Record<string, never>, { readonly error?: string }>;
  readonly #taskManagers = new TaskManagerRegistry();
  readonly #settings: TaskManagerSettings;
  readonly #slots: SlotProvider;
  readonly #expiry: NodeJS.Timeout;
  #resourceManager: ResourceManager | undefined;
  readonly #context: JobMasterContext;

  constructor(private readonly options: DispatcherOptions) {
    this.#settings = taskManagerSettings(options.config);
    this.#slots = registrySlotProvider(this.#taskManagers, { spreadOut: this.#settings.spreadOutSlots, localTaskManagers: this.#settings.count, ...(this.#settings.maxSlots < UNBOUNDED_SLOTS ? { maxSlots: this.#settings.maxSlots } : {}) });
    const operationStoreMs = asyncStoreDurationMs(options.config);
    const now = options.now ?? Date.now;
    this.#disposals = new CompletedOperationCache(operationStoreMs, now);
    this.#jobStore = jobStoreSettings(options.config);
    this.#finished = new FinishedJobs(this.#jobStore, now);
    this.#context = { ...options, slots: this.#slots, blobs: new BlobStore(jobManagerBlobDirectory(options.workingDirectory, options.config[BLOB_STORAGE_DIRECTORY_KEY])), operationStoreMs, now, onTerminal: (jobId) => this.#ended(jobId) };
    // A TaskManager silent for heartbeat.timeout is lost: its slots are gone (its jobs' links notice too).
    this.#expiry = setInterval(() => {
      for (const id of this.#taskManagers.expire(this.#settings.heartbeatTimeoutMs)) options.log(`TaskManager ${id} missed its heartbeats for ${this.#settings.heartbeatTimeoutMs} ms (heartbeat.timeout): its slots are gone`);
      // Also when nobody asks, so that an idle JobManager's memory and job store shrink (Flink schedules a cleanup too).
      this.#dropFinished();
    }, Math.min(1000, this.#settings.heartbeatTimeoutMs));
    this.#expiry.unref();
  }

  async jobCode(key: string): Promise<{ readonly code: string }> {
    const code = await this.#context.blobs.get(key);
    if (code === undefined) throw new NotFoundError(`No job code with key ${key} on this JobManager.`);
    return { code };
  }

  /** The local TaskManagers the JobManager started: more start for waiting jobs, idle extra ones stop. */
  manageLocalTaskManagers(local: LocalTaskManagers): void {
    const slots = this.options.config[TASK_SLOTS_KEY];
    this.#resourceManager = startResourceManager({
      registry: this.#taskManagers,
      slots: this.#slots,
      local,
      minTaskManagers: this.#settings.count,
      // What `flink taskmanager` offers by default.
      slotsPerTaskManager: slots === undefined ? cpus().length : Number.parseInt(slots, 10),
      maxSlots: this.#settings.maxSlots,
      idleTimeoutMs: this.#settings.idleTimeoutMs,
      log: this.options.log,
    });
  }

  async registerTaskManager(registration: TaskManagerRegistration): Promise<void> {
    // Stopped for idleness, it heartbeats once more while it shuts down.
    if (this.#resourceManager?.retired(registration.pid) === true) return;
    this.#taskManagers.register(registration);
    this.options.log(`TaskManager ${registration.id} (pid ${registration.pid}) registered at ${registration.host}:${registration.port} with ${registration.slots} slots`);
  }

  async taskManagerHeartbeat(id: string): Promise<boolean> {
    return this.#taskManagers.heartbeat(id);
  }

  /**
   * Loads the records of earlier JobManagers; jobs that were not finished start again. The code
   * of jobs that ended is deleted: nothing runs it again (Flink cleans up a job's blobs too).
   */
  async recover(): Promise<void> {
    const records = await this.options.store.loadAll();
    await this.#context.blobs.keepOnly(new Set(records.filter((r) => !TERMINAL_STATES.has(r.state)).flatMap((r) => (r.bundleKey === undefined ? [] : [r.bundleKey]))));
    // Jobs that ended under an earlier JobManager age from when they ended, in that order.
    for (const record of records.filter((r) => TERMINAL_STATES.has(r.state)).sort((a, b) => a.endTime - b.endTime)) {
      this.#jobs.set(record.jobId, new JobMaster(record, this.#context));
      this.#finished.add(record.jobId, record.endTime);
    }
    this.#dropFinished();
    for (const record of records) {
      if (TERMINAL_STATES.has(record.state)) continue;
      const master = new JobMaster(record, this.#context);
      this.#jobs.set(record.jobId, master);
      await recoverCheckpoints(record, this.options.storeOptions);
      this.options.log(`job ${record.jobId} (${record.name}) was ${record.state} when the last JobManager stopped; resuming it from ${record.retained.at(-1)?.location ?? record.submit.savepointPath ?? 'its beginning'}`);
      record.state = 'RESTARTING';
      master.start();
    }
  }

  async overview(): Promise<ClusterOverview> {
    this.#dropFinished();
    const states = [...this.#jobs.values()].map((j) => j.record.state);
    const count = (s: JobState): number => states.filter((x) => x === s).length;
    const running = states.filter((s) => !TERMINAL_STATES.has(s)).length;
    return {
      taskmanagers: this.#taskManagers.totals().taskManagers,
      'slots-total': this.#taskManagers.totals().slots,
      'slots-available': this.#taskManagers.totals().free,
      'jobs-running': running,
      'jobs-finished': count('FINISHED') + this.#dropped.FINISHED,
      'jobs-cancelled': count('CANCELED') + this.#dropped.CANCELED,
      'jobs-failed': count('FAILED') + this.#dropped.FAILED,
      'flink-version': VERSION,
      pid: process.pid,
      'working-dir': this.options.workingDirectory,
    };
  }

  async jobsOverview(): Promise<{ jobs: JobOverview[] }> {
    this.#dropFinished();
    return { jobs: [...this.#jobs.values()].map((j) => overviewOf(j.record)).sort((a, b) => b['start-time'] - a['start-time']) };
  }

  async jobs(): Promise<{ jobs: { id: string; status: JobState }[] }> {
    this.#dropFinished();
    return { jobs: [...this.#jobs.values()].map((j) => ({ id: j.record.jobId, status: j.record.state })) };
  }

  async job(jobId: string): Promise<JobDetails> {
    const master = this.#master(jobId);
    const r = master.record;
    const now = Date.now();
    return {
      ...overviewOf(r),
      'status-counts': statusCounts(r),
      isStoppable: false,
      now,
      maxParallelism: Math.max(0, ...(r.vertices ?? []).map((v) => v.maxParallelism)),
      timestamps: r.timestamps,
      vertices: (r.vertices ?? []).map((v) => ({
        id: v.id,
        name: v.name,
        parallelism: v.parallelism,
        maxParallelism: v.maxParallelism,
        status: r.state,
        metrics: recordMetrics(vertexRecords(v, (uid) => master.recordCounts(uid))),
      })),
      ...(r.failureCause === undefined ? {} : { 'failure-cause': r.failureCause }),
      'num-restarts': r.restarts,
    };
  }

  async exceptions(jobId: string): Promise<JobExceptions> {
    const history = this.#master(jobId).record.exceptions ?? [];
    const entries = history.map((e) => ({
      // A JobMaster thread that ended (and a record from before stacks were kept) has no user error: its one line is all there is.
      exceptionName: e.exceptionName ?? 'org.apache.flink.util.FlinkException',
      stacktrace: e.stacktrace ?? e.cause,
      timestamp: e.timestamp,
      taskName: e.taskName ?? null,
      // Not kept yet: which TaskManager a failed task ran in (its name says the subtask).
      location: null,
      endpoint: null,
      taskManagerId: null,
      failureLabels: {},
      concurrentExceptions: [],
    }));
    const root = entries[0];
    return { 'root-exception': root?.stacktrace ?? null, timestamp: root?.timestamp ?? null, 'all-exceptions': [], truncated: false, exceptionHistory: { entries, truncated: false } };
  }

  async submit(request: SubmitRequest): Promise<{ jobid: string }> {
    if (!request.jobFile.startsWith('/')) throw new BadRequestError(`jobFile must be an absolute path, not '${request.jobFile}'`);
    const { jobBundle, ...submit } = request;
    if (jobBundle === undefined) {
      await readFile(request.jobFile).catch(() => {
        throw new BadRequestError(`Job file ${request.jobFile} not found on the JobManager's machine.`);
      });
    }
    this.#refuseHeapOnTaskManagers(request.config ?? {});
    this.#refuseSlotsOnTaskManagers(request.config ?? {});
    this.#refuseClusterKeys(request.config ?? {});
    try {
      validateJobConfig(new Map(Object.entries(this.options.config)), new Map(Object.entries(request.config ?? {})));
    } catch (err) {
      // The line the CLI would print for the same -D, as Flink's 400 for a bad submission.
      if (err instanceof UserError) throw new BadRequestError(err.message);
      throw err;
    }
    const bundleKey = jobBundle === undefined ? undefined : await this.#context.blobs.put(jobBundle);
    const jobId = randomBytes(16).toString('hex');
    const now = Date.now();
    const config = { ...this.options.config, ...(request.config ?? {}) };
    // The default only where no name of the key is set: the current name would win over `state.checkpoints.dir`.
    const dirKeys = [CHECKPOINT_KEYS.dir.key, ...CHECKPOINT_KEYS.dir.deprecated];
    if (dirKeys.every((k) => config[k] === undefined)) config[CHECKPOINT_KEYS.dir.key] = `${this.options.workingDirectory}/checkpoints`;
    // Claimed here rather than by the coordinator, so the record's retained list, which outlives
    // its JobMaster thread and restarts of this JobManager, holds it from the start.
    const claimed = request.claimMode === 'CLAIM' && request.savepointPath !== undefined ? await this.#claim(request.savepointPath, now) : undefined;
    const record: JobRecord = {
      version: 1,
      jobId,
      name: config['pipeline.name'] ?? defaultJobName(request.jobFile),
      submit,
      ...(bundleKey === undefined ? {} : { bundleKey }),
      config,
      state: 'INITIALIZING',
      startTime: now,
      endTime: -1,
      lastModification: now,
      timestamps: { INITIALIZING: now },
      restarts: 0,
      retained: claimed === undefined ? [] : [claimed],
      nextCheckpointId: claimed === undefined ? 1 : claimed.id + 1,
      checkpointCounts: { completed: 0, failed: 0 },
      checkpointHistory: [],
      latestSavepoint: null,
      latestFailed: null,
      restored: null,
    };
    await this.options.store.save(record);
    const master = new JobMaster(record, this.#context);
    this.#jobs.set(jobId, master);
    master.start();
    return { jobid: jobId };
  }

  /**
   * `--claimMode claim`: the snapshot becomes the job's first retained checkpoint, so the job's
   * retention deletes it once newer checkpoints subsume it (Flink's RecoveryClaimMode.CLAIM).
   */
  async #claim(path: string, now: number): Promise<CompletedCheckpoint> {
    let id: number;
    try {
      id = (await openSnapshot(path, this.options.storeOptions)).metadata.checkpointId;
    } catch (err) {
      throw new BadRequestError(`Cannot restore the job from ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { id: toCheckpointId(id), location: snapshotDirOf(path), completedAt: now };
  }

  async cancel(jobId: string): Promise<void> {
    const master = this.#master(jobId);
    const r = master.record;
    if (master.isTerminal) throw new ConflictError(`Job ${r.jobId} is not running: it is ${r.state}, so there is nothing to cancel. 'flink list' shows the running jobs.`);
    master.cancel();
  }

  async triggerSavepoint(jobId: string, request: SavepointTriggerRequest): Promise<TriggerResponse> {
    const master = this.#running(jobId, 'a savepoint');
    const target = await this.#savepointTarget(master, request['target-directory']);
    // cancel-job: Flink's cancel-with-savepoint, the savepoint and then a cancel (CANCELED), not a stop.
    return { 'request-id': master.trigger({ type: 'savepoint', targetDirectory: target, stop: false, ...(request['cancel-job'] === true ? { cancelJob: true } : {}), drain: false, formatType: request.formatType ?? 'CANONICAL' }) };
  }

  async stop(jobId: string, request: StopRequest): Promise<TriggerResponse> {
    const master = this.#running(jobId, 'a savepoint');
    const target = await this.#savepointTarget(master, request.targetDirectory);
    return { 'request-id': master.trigger({ type: 'savepoint', targetDirectory: target, stop: true, drain: request.drain === true, formatType: request.formatType ?? 'CANONICAL' }) };
  }

  async savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperation<{ location: string }>> {
    const op = this.#operation(jobId, triggerId, (o) => ({ location: o.location }));
    // Flink's SavepointHandlers (1.15+) text for an unknown or evicted trigger id.
    if (op === undefined) throw new NotFoundError(`There is no savepoint operation with triggerId=${triggerId} for job ${jobId}.`);
    return op;
  }

  async triggerCheckpoint(jobId: string, request: CheckpointTriggerRequest): Promise<TriggerResponse> {
    const master = this.#running(jobId, 'a checkpoint');
    // CONFIGURED takes what the job is configured for; FULL writes every key group whole (a new
    // base for incremental chains); INCREMENTAL needs a job configured for it.
    if (request.checkpointType === 'INCREMENTAL' && master.record.checkpointConfig?.incremental !== true) {
      throw new BadRequestError(`checkpointType INCREMENTAL needs execution.checkpointing.incremental: true, which job ${jobId} does not have; use FULL or CONFIGURED`);
    }
    return { 'request-id': master.trigger({ type: 'checkpoint', full: request.checkpointType === 'FULL' }) };
  }

  async checkpointStatus(jobId: string, triggerId: string): Promise<AsyncOperation<{ checkpointId: number }>> {
    const op = this.#operation(jobId, triggerId, (o) => ({ checkpointId: o.checkpointId }));
    // Flink's CheckpointHandlers text for an unknown or evicted trigger id.
    if (op === undefined) throw new NotFoundError(`There is no checkpoint operation with triggerId=${triggerId} for job ${jobId}.`);
    return op;
  }

  async checkpoints(jobId: string): Promise<CheckpointStatistics> {
    const master = this.#master(jobId);
    return checkpointingStatistics(master.record, master.pendingSnapshots(), Date.now());
  }

  async checkpointDetails(jobId: string, checkpointId: number): Promise<CheckpointDetails> {
    const master = this.#master(jobId);
    return checkpointDetails(master.record, checkpointId, master.pendingSnapshots(), Date.now());
  }

  async checkpointSubtaskDetails(jobId: string, checkpointId: number, vertexId: string): Promise<TaskCheckpointDetails> {
    return checkpointSubtaskDetails(this.#master(jobId).record, checkpointId, vertexId);
  }

  async plan(jobId: string): Promise<JobPlanInfo> {
    return jobPlan(this.#master(jobId).record);
  }

  async vertex(jobId: string, vertexId: string): Promise<JobVertexDetails> {
    const master = this.#master(jobId);
    return vertexDetails(master.record, vertexId, (uid, i) => master.subtaskRecordCounts(uid, i), Date.now());
  }

  async dashboardConfig(): Promise<DashboardConfiguration> {
    const { commitId, commitDate } = revision();
    return {
      'refresh-interval': 3000,
      'timezone-name': Intl.DateTimeFormat().resolvedOptions().timeZone,
      'timezone-offset': -new Date().getTimezoneOffset() * 60_000,
      'flink-version': VERSION,
      'flink-revision': `${commitId} @ ${commitDate}`,
      // Jobs are submitted by path with `flink run`, not uploaded; cancelling works.
      features: { 'web-submit': false, 'web-cancel': true, 'web-rescale': false, 'web-history': false },
    };
  }

  async jobManagerConfig(): Promise<{ key: string; value: string }[]> {
    return maskedConfiguration(this.options.config);
  }

  async taskManagers(): Promise<TaskManagersInfo> {
    return { taskmanagers: this.#taskManagers.list() };
  }

  async checkpointConfig(jobId: string): Promise<CheckpointConfigInfo> {
    const r = this.#master(jobId).record;
    const c = r.checkpointConfig;
    if (c === undefined) throw new NotFoundError(`Job ${jobId} has not been built yet (it is ${r.state}); its checkpoint configuration is not known.`);
    return {
      mode: c.mode === 'EXACTLY_ONCE' ? 'exactly_once' : 'at_least_once',
      interval: c.interval ?? 0,
      timeout: c.timeout,
      min_pause: c.minPause,
      max_concurrent: c.maxConcurrent,
      externalization: { enabled: c.retention !== 'NO_EXTERNALIZED_CHECKPOINTS', delete_on_cancellation: c.retention !== 'RETAIN_ON_CANCELLATION' },
      state_backend: STATE_BACKEND_CLASS_NAMES[r.stateBackend ?? DEFAULT_STATE_BACKEND],
      checkpoint_storage: 'FileSystemCheckpointStorage',
      unaligned_checkpoints: c.unalignedEnabled,
      tolerable_failed_checkpoints: c.tolerableFailures,
      aligned_checkpoint_timeout: c.alignedCheckpointTimeout,
      checkpoints_after_tasks_finish: true,
      state_changelog_enabled: false,
      periodic: c.interval !== null,
    };
  }

  async disposeSavepoint(savepointPath: string): Promise<TriggerResponse> {
    const requestId = randomBytes(16).toString('hex');
    this.#disposals.start(requestId, {});
    void this.#dispose(savepointPath).then(
      () => this.#disposals.complete(requestId, {}),
      (err: unknown) => this.#disposals.complete(requestId, { error: err instanceof Error ? err.message : String(err) }),
    );
    return { 'request-id': requestId };
  }

  async #dispose(path: string): Promise<void> {
    const directory = path.replace(/^file:(?!\/\/)/, '').replace(/\/_metadata$/, '').replace(/\/+$/, '');
    let reader: Awaited<ReturnType<typeof openSnapshot>>;
    try {
      reader = await openSnapshot(directory, this.options.storeOptions);
    } catch (err) {
      if (!(err instanceof UserError || err instanceof FormatError)) throw err;
      // The reader's message starts with the location; the user's own spelling of it leads ours.
      const problem = err instanceof FormatError ? err.problem : err.message.replace(/^.*?: /, '');
      throw new UserError(`${path} is not a savepoint: ${problem.replace(/\.$/, '')}. 'flink savepoint -d' takes the path of a savepoint, as 'flink savepoint' printed it.`, 1, { cause: err });
    }
    if (reader.metadata.kind !== 'savepoint') {
      throw new UserError(`${path} is a checkpoint, not a savepoint; 'flink savepoint -d' disposes only savepoints (checkpoints belong to their job).`, 1);
    }
    await deleteSnapshot(directory, this.options.storeOptions);
  }

  async disposalStatus(triggerId: string): Promise<AsyncOperation<Record<string, never>>> {
    const cached = this.#disposals.get(triggerId);
    // Flink's AbstractAsynchronousOperationHandlers.StatusHandler text; its key prints as a Java
    // object identity (OperationKey has no toString), the trigger id is what it stands for.
    if (cached === undefined) throw new NotFoundError(`Operation not found under key: ${triggerId}`);
    if (cached.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
    const state = cached.value;
    if (state.error !== undefined) return { status: { id: 'COMPLETED' }, operation: { 'failure-cause': { class: 'org.apache.flink.util.FlinkException', message: state.error, 'stack-trace': state.error } } };
    return { status: { id: 'COMPLETED' }, operation: {} };
  }

  async shutdown(): Promise<void> {
    this.options.onShutdown();
  }

  /**
   * A run's own task heap: the TaskManagers' heap was set when they started, and a slot cannot
   * resize its process. Refused rather than ignored (Flink ignores it on a session cluster).
   */
  #refuseHeapOnTaskManagers(runConfig: Readonly<Record<string, string>>): void {
    if (runConfig[WORKER_HEAP_KEY] === undefined) return;
    const wanted = workerHeapLimitMb(runConfig);
    const cluster = workerHeapLimitMb(this.options.config);
    if (wanted === cluster) return;
    throw new BadRequestError(
      `${WORKER_HEAP_KEY}=${runConfig[WORKER_HEAP_KEY]} on a run cannot resize this cluster's TaskManagers, whose heap is ${cluster === undefined ? "Node's default" : `${cluster} MB`} from when they started: give it to 'flink cluster start -D ${WORKER_HEAP_KEY}=...' (or to 'flink taskmanager -D ${WORKER_HEAP_KEY}=...' for TaskManagers you start yourself).`,
    );
  }

  /**
   * Likewise a run's slot count: a TaskManager offers the slots it started with, and a job takes
   * as many as its highest parallelism, so the key would do nothing here (Flink ignores it too).
   */
  #refuseSlotsOnTaskManagers(runConfig: Readonly<Record<string, string>>): void {
    const wanted = runConfig[TASK_SLOTS_KEY];
    if (wanted === undefined) return;
    const cluster = this.options.config[TASK_SLOTS_KEY];
    const perTaskManager = cluster === undefined ? cpus().length : Number.parseInt(cluster, 10);
    if (Number.parseInt(wanted, 10) === perTaskManager) return;
    throw new BadRequestError(
      `${TASK_SLOTS_KEY}=${wanted} on a run cannot change the slots of this cluster's TaskManagers, which offer ${perTaskManager} each from when they started: give it to 'flink cluster start -D ${TASK_SLOTS_KEY}=...' (or 'flink taskmanager'); a job takes as many slots as its highest parallelism (-p).`,
    );
  }

  /**
   * Every other key that only a starting cluster reads (CLUSTER_ONLY_KEYS): this one is running,
   * so a run's value would be ignored. The same value as the cluster's does what it asks.
   */
  #refuseClusterKeys(runConfig: Readonly<Record<string, string>>): void {
    for (const key of CLUSTER_ONLY_KEYS) {
      const wanted = runConfig[key];
      if (wanted === undefined) continue;
      const current = this.#clusterSetting(key);
      if (current !== undefined && sameSetting(key, wanted, current)) continue;
      throw new BadRequestError(
        `${key}=${wanted} on a run cannot change this cluster, which is already running (its ${key} is ${current ?? 'unset'}): the key takes effect only when a cluster starts. Restart it with 'flink cluster stop' then 'flink cluster start -D ${key}=${wanted}', or leave the key out of the run.`,
      );
    }
  }

  /** The cluster's value of a cluster-only key, its default where it applies one; undefined: unset. */
  #clusterSetting(key: string): string | undefined {
    const set = this.options.config[key];
    if (set !== undefined) return set;
    const s = this.#settings;
    const defaults: Readonly<Record<string, string>> = {
      'process.jobmanager.working-dir': this.options.workingDirectory,
      'rest.server.max-content-length': '104857600',
      [ASYNC_STORE_DURATION_KEY]: formatFlinkDuration(this.#context.operationStoreMs),
      [JOBSTORE_EXPIRATION_TIME_KEY]: String(DEFAULT_JOBSTORE_EXPIRATION_S),
      [JOBSTORE_MAX_CAPACITY_KEY]: String(MAX_JOBSTORE_CAPACITY),
      [TASK_MANAGER_COUNT_KEY]: String(s.count),
      [HEARTBEAT_INTERVAL_KEY]: formatFlinkDuration(s.heartbeatIntervalMs),
      [HEARTBEAT_TIMEOUT_KEY]: formatFlinkDuration(s.heartbeatTimeoutMs),
      [MAX_SLOTS_KEY]: String(s.maxSlots),
      [TASK_MANAGER_IDLE_TIMEOUT_KEY]: formatFlinkDuration(s.idleTimeoutMs),
      [SPREAD_OUT_SLOTS_KEY]: String(s.spreadOutSlots),
    };
    return defaults[key];
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#expiry);
    this.#resourceManager?.close();
    await Promise.all([...this.#jobs.values()].map((m) => m.shutdown()));
    await Promise.all([...this.#jobs.values()].map((m) => m.flushed()));
  }

  /**
   * The job, when it can take a savepoint or checkpoint now. Checked before anything else
   * (such as creating the target directory) so that a refused request leaves no trace.
   */
  #running(jobId: string, what: string): JobMaster {
    const master = this.#master(jobId);
    const r = master.record;
    if (r.state !== 'RUNNING') {
      const advice = master.isTerminal ? "'flink list' shows the running jobs." : 'Try again once it is RUNNING.';
      throw new ConflictError(`Job ${r.jobId} is not running: it is ${r.state}, and ${what} needs a running job. ${advice}`);
    }
    return master;
  }

  #master(jobId: string): JobMaster {
    this.#dropFinished();
    const master = this.#jobs.get(jobId.toLowerCase());
    if (master === undefined) throw new NotFoundError(`Job ${jobId} not found: no job with this id ran on this cluster, or it ended longer ago than the cluster keeps finished jobs (jobstore.expiration-time, jobstore.max-capacity). 'flink list -a' shows the jobs it knows.`);
    return master;
  }

  /**
   * A savepoint's or checkpoint's status: from its job, or kept from a job whose record was
   * dropped. Undefined for a job this JobManager does not know (any more) either: Flink's
   * Dispatcher looks the (job, trigger) pair up in its operation cache alone, so a trigger of a
   * forgotten job whose result expired is its unknown trigger, not an unknown job.
   */
  #operation<T>(jobId: string, triggerId: string, result: (op: { location: string; checkpointId: number }) => T): AsyncOperation<T> | undefined {
    this.#dropFinished();
    const id = jobId.toLowerCase();
    const master = this.#jobs.get(id);
    if (master !== undefined) return master.operation(triggerId, result);
    const kept = this.#droppedOperations.get(id);
    return kept === undefined ? undefined : operationStatus(kept, triggerId, result);
  }

  /** A job ended (its state is terminal as REST shows it): it ages from now against jobstore.expiration-time, and counts against jobstore.max-capacity. */
  #ended(jobId: string): void {
    if (this.#closing || !this.#jobs.has(jobId)) return;
    this.#finished.add(jobId, this.#context.now());
    // Not inside the JobMaster's state change that called this.
    queueMicrotask(() => this.#dropFinished());
  }

  /**
   * Drops the finished jobs past jobstore.expiration-time or beyond jobstore.max-capacity: their
   * records, in memory and in the job store, once their last save is on disk. Nothing else: their
   * retained checkpoints and savepoints stay where they are, and running jobs are never here.
   */
  #dropFinished(): void {
    if (this.#closing) return;
    for (const [jobId, ops] of this.#droppedOperations) if (ops.size === 0) this.#droppedOperations.delete(jobId);
    for (const { jobId, reason } of this.#finished.evict()) {
      const master = this.#jobs.get(jobId);
      if (master === undefined) continue;
      this.#jobs.delete(jobId);
      const state = master.record.state;
      if (state === 'FINISHED' || state === 'CANCELED' || state === 'FAILED') this.#dropped[state] += 1;
      if (master.operations.size > 0) this.#droppedOperations.set(jobId, master.operations);
      const why = reason === 'expired' ? `it ended longer ago than ${JOBSTORE_EXPIRATION_TIME_KEY} (${this.#jobStore.expirationMs / 1000} s)` : `${JOBSTORE_MAX_CAPACITY_KEY} keeps the ${this.#jobStore.maxCapacity} that ended last`;
      this.options.log(`job ${jobId} (${master.record.name}) ${state} is forgotten: ${why}`);
      void master
        .flushed()
        .then(() => this.options.store.delete(jobId))
        .catch((err: unknown) => this.options.log(`job ${jobId}: could not delete its record: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  async #savepointTarget(master: JobMaster, requested: string | undefined): Promise<string> {
    // A running job has registered its checkpoint configuration (config keys, old names and code settings).
    const target = requested ?? master.record.checkpointConfig?.savepointDir;
    if (target === undefined || target === null) {
      throw new BadRequestError("No savepoint directory configured. You can either specify a directory when triggering this savepoint or configure a cluster-wide default via key 'execution.checkpointing.savepoint-dir'.");
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !target.startsWith('file://')) return target;
    const local = target.replace(/^file:(\/\/)?/, '');
    try {
      await makeDirectories(local);
      await access(local, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new BadRequestError(`The savepoint target directory ${local} is not writable (${code}). Choose a directory the cluster can write to.`);
    }
    return local;
  }
}

function overviewOf(r: JobRecord): JobOverview {
  const end = r.endTime > 0 ? r.endTime : Date.now();
  return { jid: r.jobId, name: r.name, state: r.state, 'start-time': r.startTime, 'end-time': r.endTime, duration: end - r.startTime, 'last-modification': r.lastModification, tasks: taskCounts(r) };
}

/** Flink's vertex metrics: records received and records emitted, summed over the subtasks. */
function recordMetrics(counts: { readonly in: number; readonly out: number }): { 'read-records': number; 'write-records': number } {
  return { 'read-records': counts.in, 'write-records': counts.out };
}
