/**
 * One job inside the JobManager: starts its JobMaster thread (the job's checkpoint coordinator
 * and restart loop, see jobmaster-thread-main.ts), follows what the thread reports (status,
 * checkpoints, operation results) into the job's durable record, serves its slot requests from
 * the slot pool, and forwards savepoint, checkpoint and cancel requests. The thread ending
 * without saying how the job ended is the JobManager failing for that job: it is FAILED with the
 * cause, its checkpoints kept as for any failed job (no second restart loop here).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { OpenStoreOptions } from '../../storage/open-store.ts';
import type { BlobStore } from './blob-store.ts';
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import type { SnapshotProgress, SnapshotStats } from '../checkpoint/checkpoint-coordinator.ts';
import { toCheckpointId } from '../checkpoint/coordinator-decisions.ts';
import { NoIntactCheckpointError, chooseRestoreCheckpoint } from '../checkpoint/choose-restore-checkpoint.ts';
import { deleteSnapshot } from '../checkpoint/delete-snapshot.ts';
import { underRoot } from '../checkpoint/incremental-restore.ts';
import { deleteSnapshotWithSharedFiles, sweepSharedFiles } from '../checkpoint/shared-state-sweep.ts';
import { checkpointsToDiscard, onJobTermination } from '../checkpoint/retention.ts';
import { addValue } from './checkpoint-summary.ts';
import { CompletedOperationCache } from './completed-operation-cache.ts';
import { type AsyncOperation, type CheckpointEntry, ConflictError, type JobState, TERMINAL_STATES } from './cluster-api.ts';
import type { JobException, JobRecord, JobStore } from './job-store.ts';
import { externalPath } from './locations.ts';
import type { FromJobMasterThread, RecordCount, StartMessage, ToJobMasterThread } from './jobmaster-protocol.ts';
import type { SlotProvider } from './taskmanager/slot-provider.ts';
import { taskManagerSettings } from './taskmanager/task-manager-settings.ts';
import { DEFAULT_TASK_CANCELLATION_TIMEOUT_MS, taskCancellationTimeoutMs } from './taskmanager/task-cancellation.ts';

export interface JobMasterContext {
  readonly store: JobStore;
  readonly logDirectory: string;
  /** The JobMaster thread's entry script (bin/tsflink-jobmaster.js). */
  readonly jobMasterEntry: string | URL;
  readonly storeOptions: OpenStoreOptions;
  /** Called after every change of state, for logs. */
  readonly log: (line: string) => void;
  /** TaskManagers' slots: every subtask of a cluster job runs in one. */
  readonly slots: SlotProvider;
  /** Submitted job code; a record with a `bundleKey` has its bundle here. */
  readonly blobs: BlobStore;
  /** rest.async.store-duration in ms: how long a completed savepoint's or checkpoint's result can be polled. */
  readonly operationStoreMs: number;
  /** The clock that result's age is read from. */
  readonly now: () => number;
  /** The job reached a terminal state (its record's save of it is under way: `flushed()` waits for it). */
  readonly onTerminal?: (jobId: string) => void;
}

/** `cancelJob`: a cancel-with-savepoint, whose completion cancels the job. */
type RunningOperation = { readonly thread: Worker; readonly cancelJob?: boolean };
type OperationResult = { readonly status: 'COMPLETED'; readonly location: string; readonly checkpointId: number } | { readonly status: 'FAILED'; readonly message: string };
export type JobOperations = CompletedOperationCache<RunningOperation, OperationResult>;

/** A savepoint's or checkpoint's status as REST gives it; undefined for a trigger id the cache does not hold. */
export function operationStatus<T>(operations: JobOperations, requestId: string, result: (op: { location: string; checkpointId: number }) => T): AsyncOperation<T> | undefined {
  const cached = operations.get(requestId);
  if (cached === undefined) return undefined;
  if (cached.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
  const op = cached.value;
  if (op.status === 'FAILED') return { status: { id: 'COMPLETED' }, operation: { 'failure-cause': { class: 'org.apache.flink.util.FlinkException', message: op.message, 'stack-trace': op.message } } };
  return { status: { id: 'COMPLETED' }, operation: result(op) };
}

/** How long a cancelled job's JobMaster thread may take to finish once its slots are stopped or terminated. */
const CANCEL_GRACE_MS = 30_000;
/** Node's longest timer: a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * How long a cancelled job's JobMaster thread may take to end before it is terminated. While it
 * builds the job from its module (`built` false) no slot runs yet: CANCEL_GRACE_MS, so a module
 * that loops for ever is ended. Once built, the job's task.cancellation.timeout first, so that its
 * slots get all of it (terminating the thread closes its links to the TaskManagers, which end its
 * slots at once), then CANCEL_GRACE_MS; none when the timeout is 0: the job waits for its slots
 * for ever, as Flink's 0 turns its watchdog off.
 */
export function jobMasterCancelGraceMs(config: Readonly<Record<string, string>>, built: boolean): number | undefined {
  if (!built) return CANCEL_GRACE_MS;
  let timeoutMs: number;
  try {
    timeoutMs = taskCancellationTimeoutMs(config);
  } catch {
    // A bad value submitted over REST, unchecked until now: the thread fails the job with its line; the cancel still ends.
    timeoutMs = DEFAULT_TASK_CANCELLATION_TIMEOUT_MS;
  }
  return timeoutMs === 0 ? undefined : Math.min(timeoutMs + CANCEL_GRACE_MS, MAX_TIMER_MS);
}

export class JobMaster {
  #thread: Worker | undefined;
  #reported: { status: 'FINISHED' | 'CANCELED' | 'FAILED'; failure?: string } | undefined;
  /** Why the thread ended on its own (an uncaught error, its heap), when it said. */
  #threadError: Error | undefined;
  #cancelTimer: NodeJS.Timeout | undefined;
  /** The current thread has built the job (`registered`): its attempts may have slots. */
  #built = false;
  readonly #operations: JobOperations;
  #shuttingDown = false;
  /** The latest counts the thread sent; kept in memory only (like Flink's metrics, not in the record). */
  #recordCounts: Readonly<Record<string, RecordCount>> = {};
  #subtaskRecordCounts: Readonly<Record<string, readonly RecordCount[]>> = {};
  /** The thread's snapshots in progress; in memory only, as Flink's pending checkpoint statistics. */
  #pending: readonly SnapshotProgress[] = [];
  #saving: Promise<void> = Promise.resolve();
  /** The last attempt failed and said why (so the job's final failure is no new exception). */
  #attemptFailureReported = false;
  readonly #ended: Promise<void>;
  #end!: () => void;

  constructor(
    readonly record: JobRecord,
    private readonly context: JobMasterContext,
  ) {
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    this.#operations = new CompletedOperationCache(context.operationStoreMs, context.now);
    if (TERMINAL_STATES.has(record.state)) this.#end();
  }

  /** Resolves when the job reached a terminal state. */
  get ended(): Promise<void> {
    return this.#ended;
  }

  get isTerminal(): boolean {
    return TERMINAL_STATES.has(this.record.state);
  }

  /**
   * Starts the JobMaster thread: from the newest intact retained checkpoint if there is one, else from `-s`
   * if given. Damaged checkpoints are reported and dropped from the retained list (their files
   * stay, for a person to look at); when every retained one is damaged the job fails.
   */
  start(): void {
    this.#setState(this.record.state === 'RESTARTING' ? 'RESTARTING' : 'INITIALIZING');
    void this.#launch().catch((err: unknown) => {
      if (err instanceof NoIntactCheckpointError) {
        this.context.log(`job ${this.record.jobId}: ${err.message}`);
        return this.#finish('FAILED', err.message, false);
      }
      // Storage unreachable, say. The restart strategy is the job's, read by its thread, which did not start.
      const failure = `The job could not be started: ${err instanceof Error ? err.message : String(err)}`;
      this.context.log(`job ${this.record.jobId}: ${failure}`);
      return this.#finish('FAILED', failure, false);
    });
  }

  async #launch(): Promise<void> {
    const record = this.record;
    const { chosen, damaged } = await chooseRestoreCheckpoint(record.retained, this.context.storeOptions);
    // Cancelled, or the JobManager stopping, while the checkpoint was being checked.
    if (this.#shuttingDown || (this.record.state !== 'RESTARTING' && this.record.state !== 'INITIALIZING')) return;
    this.#damaged(damaged.map((d) => ({ ...d.checkpoint, problem: d.problem })), chosen?.id);
    const restoreFrom = chosen?.location ?? record.submit.savepointPath;
    const message: StartMessage = {
      type: 'start',
      jobId: record.jobId,
      jobFile: record.submit.jobFile,
      ...(record.bundleKey === undefined ? {} : { bundle: { key: record.bundleKey, path: this.context.blobs.path(record.bundleKey) } }),
      programArgs: record.submit.programArgs,
      ...(record.submit.parallelism === undefined ? {} : { parallelism: record.submit.parallelism }),
      config: record.config,
      ...(restoreFrom === undefined ? {} : { restoreFrom }),
      allowNonRestoredState: record.submit.allowNonRestoredState ?? false,
      resume: { nextId: record.nextCheckpointId, completed: record.retained },
    };
    // What the job's module prints while it is built (on the JobManager's side) goes to the job's own log.
    const output = createWriteStream(join(this.context.logDirectory, `${record.jobId}.out`), { flags: 'a' });
    output.on('error', (err) => this.context.log(`job ${record.jobId}: could not write its log: ${err.message}`));
    const thread = new Worker(this.context.jobMasterEntry, { stdout: true, stderr: true });
    // Both streams end after the thread's exit, with what it wrote last: the file closes then.
    let open = 2;
    const ended = (): void => void (--open === 0 && output.end());
    thread.stdout.on('end', ended).pipe(output, { end: false });
    thread.stderr.on('end', ended).pipe(output, { end: false });
    this.#thread = thread;
    this.#reported = undefined;
    this.#built = false;
    this.#threadError = undefined;
    this.#attemptFailureReported = false;
    thread.on('message', (m: FromJobMasterThread) => this.#onMessage(thread, m));
    thread.on('error', (err) => {
      this.#threadError = err;
      this.context.log(`job ${record.jobId}: its JobMaster thread failed: ${err.stack ?? err.message}`);
    });
    thread.on('exit', (code) => this.#onExit(thread, code));
    thread.postMessage(message satisfies ToJobMasterThread);
    this.#save();
  }

  #onMessage(thread: Worker, m: FromJobMasterThread): void {
    // Suspended: what the thread says while it is terminated (its links closing) is no failure of
    // the job, and the record must stay as it is (a checkpoint it reports now, the next start finds on disk).
    if (thread !== this.#thread || this.#shuttingDown) return;
    const record = this.record;
    switch (m.type) {
      case 'registered':
        this.#built = true;
        record.name = m.jobName;
        record.vertices = m.vertices;
        record.checkpointConfig = m.checkpointConfig;
        record.restartStrategy = m.restartStrategy;
        record.stateBackend = m.stateBackend;
        this.#save();
        return;
      case 'status':
        if (m.status === 'RESTARTING') record.restarts += 1;
        this.#attemptFailureReported = false;
        if (record.state !== 'CANCELLING') this.#setState(m.status);
        return;
      case 'checkpoint-completed':
        this.#checkpointCompleted(m.stats);
        return;
      case 'checkpoints-pending':
        this.#pending = m.pending;
        return;
      case 'restored':
        // What the thread read from the snapshot's metadata: `-s` may name a savepoint or a retained checkpoint.
        record.restored = { id: m.id, restore_timestamp: m.timestamp, is_savepoint: m.isSavepoint, external_path: externalPath(m.location) };
        record.restoreCount = (record.restoreCount ?? 0) + 1;
        this.#save();
        return;
      case 'attempt-failed':
        // The stack in the JobManager's log, as Flink logs a task's failure with its trace.
        this.context.log(`job ${record.jobId}: an attempt failed: ${m.cause}\n${m.stacktrace}`);
        this.#exception({ cause: m.cause, timestamp: m.timestamp, exceptionName: m.exceptionName, stacktrace: m.stacktrace, taskName: m.taskName });
        this.#attemptFailureReported = true;
        this.#save();
        return;
      case 'log':
        this.context.log(`job ${record.jobId}: ${m.line}`);
        return;
      case 'record-counts':
        this.#recordCounts = m.counts;
        this.#subtaskRecordCounts = m.subtasks;
        return;
      case 'checkpoint-damaged':
        this.#damaged([{ id: m.id, location: m.location, problem: m.problem }], m.fallback);
        return;
      case 'checkpoint-triggered':
        // In memory only: a restarted JobManager finds the id from the checkpoint directory.
        record.nextCheckpointId = Math.max(record.nextCheckpointId, m.id + 1);
        return;
      case 'checkpoint-failed':
        record.checkpointCounts.failed += 1;
        record.latestFailed = endedEntry(m.stats, 'FAILED');
        record.checkpointHistory = [record.latestFailed, ...record.checkpointHistory].slice(0, 10);
        record.nextCheckpointId = Math.max(record.nextCheckpointId, m.stats.id + 1);
        this.#save();
        return;
      case 'operation-done': {
        const op = this.#operations.get(m.requestId);
        this.#operations.complete(m.requestId, { status: 'COMPLETED', location: externalPath(m.location), checkpointId: m.checkpointId });
        // Flink's JobMaster cancels once a cancel-with-savepoint's savepoint is complete (the
        // thread has begun the cancel too, and stopped periodic checkpoints for the savepoint).
        if (op?.status === 'IN_PROGRESS' && op.value.cancelJob === true && !this.isTerminal && record.state !== 'CANCELLING') {
          this.context.log(`job ${record.jobId}: Savepoint stored in ${externalPath(m.location)}. Now cancelling ${record.jobId}.`);
          this.cancel();
        }
        return;
      }
      case 'operation-failed':
        this.#operations.complete(m.requestId, { status: 'FAILED', message: m.message });
        return;
      case 'terminated':
        // Everything the thread sent before arrived before this (one port, in order): the job is over.
        this.#reported = m.failure === undefined ? { status: m.status } : { status: m.status, failure: m.failure };
        void thread.terminate();
        return;
      case 'request-slots': {
        const provider = this.context.slots;
        for (const id of m.lost) if (provider.forget(id)) this.context.log(`job ${record.jobId} lost TaskManager ${id}: its slots are no longer offered (it registers again if it is alive)`);
        provider.request(record.jobId, m.count, taskManagerSettings(record.config).slotRequestTimeoutMs).then(
          (assignments) => {
            if (thread === this.#thread) thread.postMessage({ type: 'slots', requestId: m.requestId, assignments } satisfies ToJobMasterThread);
            // The thread ended while it waited: nothing will use or free these slots.
            else provider.release(record.jobId);
          },
          (err: unknown) => thread === this.#thread && thread.postMessage({ type: 'slots-failed', requestId: m.requestId, message: err instanceof Error ? err.message : String(err) } satisfies ToJobMasterThread),
        );
        return;
      }
    }
  }

  #checkpointCompleted(stats: SnapshotStats): void {
    const record = this.record;
    const config = record.checkpointConfig;
    record.nextCheckpointId = Math.max(record.nextCheckpointId, stats.id + 1);
    record.checkpointCounts.completed += 1;
    const completed = endedEntry(stats, 'COMPLETED');
    record.checkpointHistory = [completed, ...record.checkpointHistory].slice(0, 10);
    const summary = record.checkpointSummary;
    record.checkpointSummary = {
      stateSize: addValue(summary?.stateSize, completed.state_size),
      checkpointedSize: addValue(summary?.checkpointedSize, completed.checkpointed_size),
      duration: addValue(summary?.duration, completed.end_to_end_duration),
    };
    if (stats.kind === 'checkpoint') {
      record.retained.push({ id: toCheckpointId(stats.id), location: stats.location, completedAt: stats.endedAt });
      // The coordinator deletes the checkpoints it subsumes; the record forgets the same ones.
      if (config !== undefined) {
        const discard = new Set<number>(checkpointsToDiscard(config, record.retained.map((c) => ({ id: c.id, isSavepoint: false }))));
        record.retained = record.retained.filter((c) => !discard.has(c.id));
        markDiscarded(record, discard);
      }
    } else {
      record.latestSavepoint = completed;
    }
    // Per-subtask statistics for the snapshots REST still lists.
    const listed = new Set([...record.checkpointHistory, record.latestSavepoint].flatMap((c) => (c === null ? [] : [String(c.id)])));
    const subtasks = Object.entries({ ...record.checkpointSubtasks, [String(stats.id)]: stats.subtasks ?? [] }).filter(([id]) => listed.has(id));
    record.checkpointSubtasks = Object.fromEntries(subtasks);
    this.#save();
  }

  #onExit(thread: Worker, code: number): void {
    if (thread !== this.#thread) return;
    this.#thread = undefined;
    // Its snapshots can no longer complete.
    this.#pending = [];
    // Its slots' connections closed with it: the TaskManagers ended them, the slots are free.
    this.context.slots.release(this.record.jobId);
    if (this.#cancelTimer !== undefined) clearTimeout(this.#cancelTimer);
    const ended = this.#threadError === undefined ? `ended with exit code ${code}` : `failed: ${this.#threadError.message}`;
    for (const [id, op] of this.#operations.inProgress()) {
      if (op.thread === thread) this.#operations.complete(id, { status: 'FAILED', message: `The job's JobMaster thread ${ended} before the operation completed.` });
    }
    if (this.#shuttingDown) return;
    const reported = this.#reported;
    if (reported !== undefined) {
      void this.#finish(reported.status, reported.failure, false);
      return;
    }
    if (this.record.state === 'CANCELLING') {
      void this.#finish('CANCELED', undefined, true);
      return;
    }
    // A bug, or its heap: the JobManager failed for this job. Restarting it in place would hide
    // the bug (the restart strategy is for tasks and TaskManagers); its checkpoints stay as for
    // any failed job, so 'flink run -s <latest>' resumes it.
    const failure = `The job's JobMaster thread ${ended}; the job is not restarted (resume it from a retained checkpoint, if it has one, with 'flink run -s').`;
    this.context.log(`job ${this.record.jobId}: ${failure}`);
    void this.#finish('FAILED', failure, true);
  }

  #exception(exception: JobException): void {
    this.record.exceptions = [exception, ...(this.record.exceptions ?? [])].slice(0, 16);
  }

  /** Checkpoints a restart skipped (found here before the thread starts, or by the thread's restart loop). */
  #damaged(damaged: readonly { readonly id: number; readonly location: string; readonly problem: string }[], fallback: number | undefined): void {
    if (damaged.length === 0) return;
    const record = this.record;
    for (const d of damaged) {
      this.context.log(`job ${record.jobId}: checkpoint ${d.id} at ${d.location} is damaged: ${d.problem}; falling back to ${fallback === undefined ? 'nothing' : `checkpoint ${fallback}`}`);
    }
    record.damagedCheckpoints = [...(record.damagedCheckpoints ?? []), ...damaged.map(({ id, location, problem }) => ({ id, location, problem }))];
    record.retained = record.retained.filter((c) => !damaged.some((d) => d.id === c.id));
    this.#save();
  }

  /** Ends the job; `applyRetention` when its thread could not (it ended unexpectedly, or was terminated). */
  async #finish(status: 'FINISHED' | 'CANCELED' | 'FAILED', failure: string | undefined, applyRetention: boolean): Promise<void> {
    const record = this.record;
    const config: CheckpointConfig | undefined = record.checkpointConfig;
    if (config !== undefined) {
      const discard = new Set<number>(onJobTermination(config, status, record.retained.map((c) => ({ id: c.id, isSavepoint: false }))));
      if (applyRetention) {
        const storeOptions = this.context.storeOptions;
        for (const c of record.retained.filter((c) => discard.has(c.id))) {
          const foreign = config.dir === null || !underRoot(c.location, config.dir);
          await (foreign ? deleteSnapshotWithSharedFiles(c.location, storeOptions) : deleteSnapshot(c.location, storeOptions)).catch(() => undefined);
        }
        // The thread's shared-state registry went with it: the job's shared files that no kept
        // checkpoint refers to would stay forever (incremental checkpoints).
        if (config.incremental && config.dir !== null) {
          const kept = record.retained.filter((c) => !discard.has(c.id)).map((c) => c.location);
          await sweepSharedFiles(config.dir, record.jobId, kept, storeOptions).catch((err: unknown) => this.context.log(`job ${record.jobId}: could not delete its unreferenced shared checkpoint files: ${err instanceof Error ? err.message : String(err)}`));
        }
      }
      record.retained = record.retained.filter((c) => !discard.has(c.id));
      markDiscarded(record, discard);
    }
    if (failure !== undefined) {
      record.failureCause = failure;
      // The attempt's failure that ended the job is in the history already, with its stack.
      if (!this.#attemptFailureReported && record.exceptions?.[0]?.cause !== failure) this.#exception({ cause: failure, timestamp: Date.now() });
    }
    record.endTime = Date.now();
    this.#setState(status);
    await this.#saving;
    this.#end();
  }

  #setState(state: JobState): void {
    if (this.record.state === state) return;
    this.record.state = state;
    this.record.timestamps[state] = Date.now();
    this.context.log(`job ${this.record.jobId} (${this.record.name}) is ${state}${state === 'FAILED' && this.record.failureCause ? `: ${this.record.failureCause}` : ''}`);
    this.#save();
    if (TERMINAL_STATES.has(state)) this.context.onTerminal?.(this.record.jobId);
  }

  #save(): void {
    this.record.lastModification = Date.now();
    const snapshot = structuredClone(this.record);
    this.#saving = this.#saving.then(() => this.context.store.save(snapshot)).catch((err: unknown) => this.context.log(`job ${this.record.jobId}: could not save its record: ${String(err)}`));
  }

  /** Records in and out of an operator, as the thread last reported them (0 before any report). */
  recordCounts(uid: string): { readonly in: number; readonly out: number } {
    return this.#recordCounts[uid] ?? { in: 0, out: 0 };
  }

  /** The same for subtask `index` (0-based). */
  subtaskRecordCounts(uid: string, index: number): RecordCount {
    return this.#subtaskRecordCounts[uid]?.[index] ?? { in: 0, out: 0 };
  }

  /** Snapshots in progress, oldest first, as the thread last reported them. */
  pendingSnapshots(): readonly SnapshotProgress[] {
    return this.#pending;
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.#saving;
  }

  cancel(): void {
    const record = this.record;
    if (this.isTerminal) throw new ConflictError(`Job ${record.jobId} is not running: it is ${record.state}.`);
    if (record.state === 'CANCELLING') return;
    const thread = this.#thread;
    if (thread === undefined) {
      void this.#finish('CANCELED', undefined, true);
      return;
    }
    this.#setState('CANCELLING');
    thread.postMessage({ type: 'cancel' } satisfies ToJobMasterThread);
    const graceMs = jobMasterCancelGraceMs(record.config, this.#built);
    if (graceMs === undefined) return;
    this.#cancelTimer = setTimeout(() => {
      this.context.log(`job ${record.jobId}: its JobMaster thread did not end within ${graceMs} ms of the cancel; terminating it`);
      void thread.terminate();
    }, graceMs);
  }

  /** Sends a savepoint or checkpoint request to the coordinator; returns the trigger id to poll. */
  trigger(request: { readonly type: 'savepoint'; readonly targetDirectory: string; readonly stop: boolean; readonly drain: boolean; readonly cancelJob?: boolean; readonly formatType?: 'CANONICAL' | 'NATIVE' } | { readonly type: 'checkpoint'; readonly full: boolean }): string {
    const thread = this.#thread;
    const record = this.record;
    if (record.state !== 'RUNNING' || thread === undefined) {
      throw new ConflictError(`Job ${record.jobId} is not running (it is ${record.state}); ${request.type === 'checkpoint' ? 'a checkpoint' : 'a savepoint'} needs a running job.`);
    }
    const requestId = randomBytes(16).toString('hex');
    this.#operations.start(requestId, { thread, ...(request.type === 'savepoint' && request.cancelJob === true ? { cancelJob: true } : {}) });
    thread.postMessage({ ...request, requestId } satisfies ToJobMasterThread);
    return requestId;
  }

  /** Undefined for a trigger id never given out, or whose result was kept its rest.async.store-duration and evicted. */
  operation<T>(requestId: string, result: (op: { location: string; checkpointId: number }) => T): AsyncOperation<T> | undefined {
    return operationStatus(this.#operations, requestId, result);
  }

  /**
   * Its savepoints' and checkpoints' results, for the Dispatcher to keep their store duration
   * once the job's record is dropped (Flink's operation cache is apart from its job store).
   */
  get operations(): JobOperations {
    return this.#operations;
  }

  /**
   * The JobManager stops: the thread is terminated (its links to the TaskManagers close, so they
   * end its slots), the record stays as it is, and the job resumes when a JobManager starts again.
   */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    if (this.#cancelTimer !== undefined) clearTimeout(this.#cancelTimer);
    await this.#thread?.terminate();
  }
}

/**
 * Flink's `discarded` of a completed checkpoint in REST's history: true once its files are deleted
 * (subsumed, or the job ended under a retention that does not keep it), so its `external_path`
 * is no longer one to restore from.
 */
function markDiscarded(record: JobRecord, ids: ReadonlySet<number>): void {
  if (ids.size === 0) return;
  record.checkpointHistory = record.checkpointHistory.map((c) => (c.status === 'COMPLETED' && !c.is_savepoint && ids.has(c.id) ? { ...c, discarded: true } : c));
}

function checkpointType(kind: SnapshotStats['kind']): CheckpointEntry['checkpoint_type'] {
  return kind === 'checkpoint' ? 'CHECKPOINT' : kind === 'savepoint' ? 'SAVEPOINT' : 'SYNC_SAVEPOINT';
}

/** Flink's entry of a pending snapshot: sizes are what the acknowledged subtasks wrote, the duration runs until `now`. */
export function inProgressEntry(p: SnapshotProgress, now: number): CheckpointEntry {
  return {
    id: p.id,
    status: 'IN_PROGRESS',
    is_savepoint: p.kind !== 'checkpoint',
    checkpoint_type: checkpointType(p.kind),
    trigger_timestamp: p.triggeredAt,
    latest_ack_timestamp: p.latestAckAt,
    state_size: p.bytes,
    checkpointed_size: p.bytes,
    end_to_end_duration: Math.max(0, now - p.triggeredAt),
    discarded: false,
    num_subtasks: p.total,
    num_acknowledged_subtasks: p.acknowledged,
  };
}

/** Flink's history entry of a snapshot that ended: CompletedCheckpointStatistics or FailedCheckpointStatistics. */
export function endedEntry(stats: SnapshotStats, status: 'COMPLETED' | 'FAILED'): CheckpointEntry {
  return {
    id: stats.id,
    status,
    is_savepoint: stats.kind !== 'checkpoint',
    checkpoint_type: checkpointType(stats.kind),
    trigger_timestamp: stats.triggeredAt,
    latest_ack_timestamp: stats.endedAt,
    // Flink's: checkpointed_size what this checkpoint wrote, state_size all it refers to (incremental checkpoints differ).
    state_size: stats.stateSize ?? stats.size,
    checkpointed_size: stats.size,
    end_to_end_duration: stats.endedAt - stats.triggeredAt,
    ...(status === 'COMPLETED' ? { external_path: externalPath(stats.location) } : {}),
    discarded: false,
    // As Flink's entries: a completed snapshot was acknowledged by every subtask of the job.
    ...(status === 'COMPLETED' && stats.subtasks !== undefined ? { num_subtasks: stats.subtasks.length, num_acknowledged_subtasks: stats.subtasks.length } : {}),
    ...(status === 'FAILED' ? { failure_timestamp: stats.endedAt } : {}),
    ...(stats.failure === undefined ? {} : { failure_message: stats.failure }),
    // Flink's CheckpointStatistics.savepointFormat: on savepoints only.
    ...(stats.kind === 'checkpoint' ? {} : { savepointFormat: stats.savepointType === 'native' ? 'NATIVE' : 'CANONICAL' }),
  };
}
