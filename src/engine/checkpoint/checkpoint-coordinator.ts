/**
 * Carries out the coordinator's decisions for one job: triggers periodic checkpoints at the
 * sources, collects every subtask's acknowledgement, writes `_metadata` (which makes the
 * checkpoint exist), notifies the subtasks, and deletes checkpoints past the retained number.
 * Completed checkpoints outlive attempts; pending ones belong to the attempt that started them.
 */
import { type LocalRecovery, deleteLocalCheckpoint, deleteLocalJob, localRecoveryOf, pruneLocalCheckpoints } from './local-recovery.ts';
import { UserError } from '../../errors.ts';
import { SnapshotWriter } from '../../format/snapshot-writer.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { SharedStateCleaner } from './shared-state-cleaner.ts';
import { sharedDir, sharedFileMarker } from './shared-paths.ts';
import { type SharedFileRef, SharedStateRegistry } from './shared-state-registry.ts';
import { checkpointDirName, savepointDirName } from '../../format/snapshot-paths.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import { faultPoint } from '../runtime/fault-points.ts';
import { type DamagedCheckpoint, chooseRestoreCheckpoint } from './choose-restore-checkpoint.ts';
import { deleteSnapshot } from './delete-snapshot.ts';
import { underRoot } from './incremental-restore.ts';
import { deleteSnapshotWithSharedFiles } from './shared-state-sweep.ts';
import { PendingSnapshotStore } from './pending-snapshot-store.ts';
import { copiedPath, copyReferredFiles, localizeBlocks, referredByNativeAcks } from './native-savepoint.ts';
import type { PlannedNode } from '../runtime/job-plan.ts';
import type { CheckpointTarget, SubtaskAck } from '../runtime/subtask.ts';
import { type CheckpointConfig, effectiveInterval } from './checkpoint-config.ts';
import { formatFlinkDuration } from './flink-duration.ts';
import {
  type CheckpointFailureReason,
  type CheckpointId,
  type FailureCounter,
  type PendingCheckpoint,
  type SnapshotKind,
  type TaskDeclineReason,
  checkpointsToDiscard,
  decideTrigger,
  expiredCheckpoints,
  initialFailureCounter,
  nextExpiry,
  onCheckpointCompleted,
  onCheckpointFailure,
  onJobTermination,
  TOLERABLE_FAILURE_MESSAGE,
  toCheckpointId,
} from './coordinator-decisions.ts';

/** A snapshot was refused because others are in progress (max concurrent): try again later. */
/** `flink savepoint --type`: canonical (self-contained, any backend) or the backend's native form. */
export type SavepointType = 'canonical' | 'native';

/**
 * How the attempt that a pending snapshot belonged to ended, as far as the job knows when it
 * stops the coordinator (the restart strategy has decided by then): what the snapshot's caller is told.
 */
export type AttemptEnd = 'restarting' | 'failed' | 'finished' | 'cancelled' | 'stopped';

const ATTEMPT_END_TEXT: Readonly<Record<AttemptEnd, string>> = {
  restarting: "the job's attempt ended (it is restarting); try again once the job is RUNNING",
  failed: 'the job failed',
  finished: 'the job finished',
  cancelled: 'the job was cancelled',
  stopped: 'the job was stopped',
};

/**
 * A failed snapshot's line, after Flink's CheckpointFailureReason messages ("Checkpoint expired
 * before completing.", "Checkpoint was declined.", ...), with what caused it. Without `id` for
 * the statistics (REST's `failure_message`), whose entry carries the id already.
 */
function failureLine(kind: SnapshotKind, id: number | undefined, reason: CheckpointFailureReason, detail: string): string {
  const what = `${kind === 'checkpoint' ? 'Checkpoint' : 'Savepoint'}${id === undefined ? '' : ` ${id}`}`;
  switch (reason) {
    case 'expired':
      return `${what} expired before completing: ${detail}.`;
    case 'declined':
    case 'declined-subsumed':
    case 'declined-on-cancellation-barrier':
    case 'task-not-ready':
      return `${what} was declined: ${detail}`;
    case 'storage':
      return `${what} failed: IO-problem detected: ${detail}`;
    case 'async-failure':
      // Flink's "Asynchronous task checkpoint failed.", for savepoints too, with the snapshot's kind and id.
      return `Asynchronous task ${what.toLowerCase()} failed: ${detail}`;
    case 'finalize-failure':
      return `${what} could not be finalized: ${detail}`;
    case 'subsumed':
      return `${what} was aborted: it has been subsumed by a newer checkpoint`;
    case 'task-failure':
    case 'not-all-tasks-running':
    case 'trigger-failure':
    case 'coordinator-shutdown':
      return `${what} failed: ${detail}`;
  }
}

export class SnapshotBusyError extends UserError {
  override readonly name: string = 'SnapshotBusyError';
}

export interface CompletedCheckpoint {
  readonly id: CheckpointId;
  readonly location: string;
  readonly completedAt: number;
}

/** A snapshot's outcome, for whoever keeps statistics and the latest-checkpoint pointer (the JobManager). */
export interface SnapshotStats {
  readonly id: number;
  readonly kind: SnapshotKind;
  readonly triggeredAt: number;
  readonly endedAt: number;
  /** Bytes of the data files written for this snapshot (not `_metadata`; Flink's `checkpointed_size`); 0 for a failed snapshot. */
  readonly size: number;
  /** Bytes of every data file the snapshot refers to (Flink's `state_size`); absent: `size` (a full snapshot). */
  readonly stateSize?: number;
  /** An incremental checkpoint (FORMAT.md version 3): it refers to shared files. */
  readonly incremental?: boolean;
  /** A savepoint's `--type` (absent: canonical, and on checkpoints). */
  readonly savepointType?: SavepointType;
  readonly location: string;
  readonly failure?: string;
  /** Each subtask's part of a completed snapshot, as it acknowledged it (absent for a failed one). */
  readonly subtasks?: readonly SubtaskSnapshotStats[];
}

/** One subtask's acknowledgement, for Flink's per-subtask checkpoint statistics. */
export interface SubtaskSnapshotStats {
  readonly chain: number;
  readonly subtask: number;
  /** Flink's `checkpoint_duration.sync`: the processing thread held at the barrier, ms. */
  readonly syncMs: number;
  /** Flink's `checkpoint_duration.async`: writing the captured state, ms. */
  readonly asyncMs: number;
  readonly ackAt: number;
  /** Bytes of the subtask's data file. */
  readonly size: number;
  /** Bytes of every data file the subtask's state refers to (its own and earlier checkpoints' shared ones); absent: `size`. */
  readonly stateSize?: number;
}

/** A snapshot still pending: how far its acknowledgements have come (Flink's PendingCheckpointStats). */
export interface SnapshotProgress {
  readonly id: number;
  readonly kind: SnapshotKind;
  readonly triggeredAt: number;
  /** Subtasks that acknowledged so far, of `total`. */
  readonly acknowledged: number;
  readonly total: number;
  /** Bytes of the acknowledged subtasks' data files. */
  readonly bytes: number;
  /** When the latest acknowledgement arrived (the trigger time before the first). */
  readonly latestAckAt: number;
}

export interface CoordinatorEvents {
  /**
   * A checkpoint or savepoint got this id, before anything is written for it: a process that
   * takes over the job must not use the id again, even if this one never completes (Flink's
   * checkpoint id counter lives in the JobManager, so a task failover never reuses one).
   */
  onTriggered?(id: number): void;
  /** Called once `_metadata` is durable, before older checkpoints are deleted. */
  onCompleted?(stats: SnapshotStats): void;
  onFailed?(stats: SnapshotStats): void;
  /**
   * The snapshots in progress, oldest first, each time one starts, gets an acknowledgement or
   * ends (completed, failed, aborted, subsumed): what `flink savepoint` shows while it waits.
   * The whole list each time, so a receiver never keeps one whose end it missed.
   */
  onPending?(pending: readonly SnapshotProgress[]): void;
  /** A restart skipped this retained checkpoint: it is damaged (`problem` names the file). */
  onDamaged?(damaged: DamagedCheckpoint, fallback: number | undefined): void;
}

/** Where a job that ran before goes on: its retained checkpoints and the next id to use. */
export interface CoordinatorResume {
  readonly nextId: number;
  readonly completed: readonly CompletedCheckpoint[];
}

/** What the coordinator needs of the running attempt. */
export interface AttemptHandle {
  readonly nodes: readonly PlannedNode[];
  /** Subtasks that must acknowledge every checkpoint. */
  readonly subtaskCount: number;
  /** Whether barriers can still be injected (no source subtask has finished). */
  canCheckpoint(): boolean;
  /**
   * Resolves once every subtask is deployed and running (subtasks in other threads or processes
   * take a moment to start). Until then periodic triggers are skipped, as Flink skips them while
   * not all tasks are running, and savepoints and manual checkpoints wait. Absent: running now.
   */
  readonly running?: Promise<void>;
  injectBarrier(checkpointId: number, savepoint: boolean, drain: boolean): void;
  notifyComplete(checkpointId: number): void;
  notifyAborted(checkpointId: number): void;
  /**
   * The job must fail (tolerable checkpoint failures exceeded, a stop-with-savepoint declined).
   * No snapshot starts for this attempt after it; the pending ones wait for stop(), which says
   * how the attempt ended (the executor calls it as soon as the attempt's failure is decided).
   */
  fail(error: Error): void;
}

/** A triggered snapshot whose directory is still opening. */
interface UnopenedSnapshot {
  readonly id: CheckpointId;
  readonly kind: SnapshotKind;
  readonly triggeredAt: number;
  readonly location: string;
}

interface Pending extends PendingCheckpoint {
  readonly location: string;
  readonly store: PendingSnapshotStore;
  /** An incremental checkpoint: the checkpoint root, where its subtasks write into `<jobId>/shared/`. */
  readonly shared?: PendingSnapshotStore;
  /** `flink checkpoint --full`: every key group written whole. */
  readonly full: boolean;
  /** `--type native` (a savepoint): with incremental checkpoints, a delta plus copies of the shared files it refers to. */
  readonly native: boolean;
  /** Subtasks that must acknowledge it (the attempt's, kept for after the attempt ended). */
  readonly total: number;
  readonly acks: SubtaskAck[];
  /** When each ack arrived (epoch ms), by its index in `acks`. */
  readonly ackTimes: number[];
  /** Callers waiting for this snapshot (savepoints, manual checkpoints). */
  readonly waiters: { resolve: (location: string) => void; reject: (error: Error) => void }[];
}

export class CheckpointCoordinator {
  /** Retained completed checkpoints, oldest first. */
  readonly completed: CompletedCheckpoint[] = [];
  /** Checkpoints completed over the life of the job, retained or not. */
  completedCount = 0;
  readonly #pending = new Map<number, Pending>();
  /** Acknowledged by every subtask, `_metadata` being written. */
  readonly #finalizing = new Map<number, Pending>();
  /**
   * Triggered, their directory still opening (on S3 that takes a while): they count against
   * max-concurrent like pending ones, or each tick meanwhile starts another beside them. Each
   * belongs to its attempt (stop() drops it) and stops counting at its timeout, when its timer
   * frees the slot: an open that never returns must not hold checkpoints off for good.
   */
  readonly #opening = new Map<number, { readonly checkpoint: PendingCheckpoint; readonly expiry: NodeJS.Timeout }>();
  #nextId = 1;
  #counter: FailureCounter = initialFailureCounter;
  #lastCompletedEnd: number | null = null;
  #attempt: AttemptHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Fires when the oldest pending snapshot times out (Flink's checkpoint canceller), with or without periodic checkpoints. */
  #expiryTimer: NodeJS.Timeout | undefined;
  /** A periodic trigger is waiting for a free slot. */
  #queued = false;
  /**
   * This coordinator failed the current attempt (tolerable failures exceeded): no snapshot starts
   * for it any more, as Flink stops its periodic scheduler once the job leaves RUNNING. Its
   * pending ones are aborted by stop(), with how the attempt ended, once the executor knows.
   */
  #suspended = false;
  /**
   * Periodic checkpoints are stopped while a cancel-with-savepoint's savepoint is taken (Flink's
   * stopCheckpointScheduler), so none completes, and commits, past the savepoint the job is
   * cancelled at; they resume if the savepoint fails.
   */
  #periodicPaused = false;
  /** Attempts whose subtasks all run (see AttemptHandle.running). */
  readonly #running = new WeakSet<AttemptHandle>();
  /** Manual checkpoints waiting for a free slot, oldest first (Flink's request queue keeps them too). */
  readonly #waitingManual: { resolve: (location: string) => void; reject: (error: Error) => void; full: boolean }[] = [];

  /** Local recovery's copies, when it is on: pruned here as checkpoints complete, abort and the job ends. */
  readonly #local: LocalRecovery | undefined;

  /** Incremental checkpoints: which shared files the retained checkpoints refer to. */
  readonly #registry = new SharedStateRegistry();
  /** The checkpoint root and its cleaner, opened at the first incremental checkpoint (after rebuilding the registry). */
  #shared: Promise<{ readonly root: ObjectStore; readonly cleaner: SharedStateCleaner }> | undefined;

  constructor(
    private readonly config: CheckpointConfig,
    private readonly job: { readonly jobId: string; readonly jobName: string },
    private readonly storeOptions: OpenStoreOptions = {},
    private readonly events: CoordinatorEvents = {},
    resume?: CoordinatorResume,
    /** Opens a snapshot's directory; tests pass one whose writes they can hold. */
    private readonly open: (location: string, options: OpenStoreOptions) => Promise<ObjectStore> = openStore,
  ) {
    this.#local = localRecoveryOf(config, job.jobId);
    if (resume !== undefined) {
      this.#nextId = resume.nextId;
      this.completed.push(...resume.completed);
    }
  }

  /** The id the next snapshot gets. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Starts periodic checkpoints for a new attempt (pending ones of the last attempt are gone). */
  start(attempt: AttemptHandle): void {
    this.stop();
    this.#attempt = attempt;
    this.#suspended = false;
    attempt.running?.then(
      () => void this.#running.add(attempt),
      () => undefined,
    );
    // Flink starts the first periodic checkpoint after a random delay in [minPause, interval].
    // Here it waits a whole period: with the random delay, a manual checkpoint of a cluster job
    // (cli-errors' 'a retained checkpoint') was refused for max-concurrent every time, for a
    // reason not found yet (in process a first checkpoint at once completes).
    const interval = effectiveInterval(this.config);
    if (interval !== null) this.#schedule(interval);
  }

  /** Flink's stopCheckpointScheduler: no periodic checkpoint starts until `resumePeriodic`; manual ones and savepoints still do. */
  pausePeriodic(): void {
    this.#periodicPaused = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queued = false;
  }

  /** Flink's startCheckpointScheduler after a failed cancel-with-savepoint: the next periodic checkpoint a whole interval from now. */
  resumePeriodic(): void {
    if (!this.#periodicPaused) return;
    this.#periodicPaused = false;
    const interval = effectiveInterval(this.config);
    if (this.#attempt !== undefined && !this.#suspended && interval !== null) this.#schedule(interval);
  }

  /** Stops triggering and aborts what is pending (the attempt ended, `ended` says how when known). */
  stop(ended?: AttemptEnd): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#queued = false;
    this.#attempt = undefined;
    // Their opens find themselves dropped when they return; a new attempt must not wait for them.
    for (const { expiry } of this.#opening.values()) clearTimeout(expiry);
    this.#opening.clear();
    this.#rejectQueuedManual();
    for (const id of [...this.#pending.keys()]) this.#track(this.#abort(id, ended === undefined ? "the job's attempt ended" : ATTEMPT_END_TEXT[ended]));
  }

  #rejectQueuedManual(): void {
    for (const waiting of this.#waitingManual.splice(0)) waiting.reject(new UserError(`job ${this.job.jobId}: the attempt ended before the queued checkpoint could start`));
  }

  /**
   * The attempt is failing because of a checkpoint: no periodic trigger, queued request or late
   * tick starts another for it. Without this the attempt kept checkpointing until its subtasks
   * had stopped (a cluster job whose snapshots outlived the timeout: one expired checkpoint every
   * timeout for the 30 s a slot is given to stop).
   */
  #suspend(): void {
    this.#suspended = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queued = false;
    this.#rejectQueuedManual();
  }

  /** Completions and deletions still running; the job's end waits for them. */
  readonly #inflight = new Set<Promise<void>>();

  #track(work: Promise<void>): void {
    this.#inflight.add(work);
    void work.finally(() => this.#inflight.delete(work));
  }

  /** Checkpoints triggered and not complete: a subtask that finishes late snapshots for them. */
  pendingSnapshots(): { checkpointId: number; savepoint: boolean }[] {
    return [...this.#pending.values()].map((p) => ({ checkpointId: p.id, savepoint: p.kind !== 'checkpoint' }));
  }

  /** Stops, then waits until completions and deletions in flight are done (before a restart picks its checkpoint). */
  /**
   * The checkpoint a restart resumes from: the newest retained one that is intact. Damaged ones
   * are reported and dropped from the retained list (their files stay, for a person to look at).
   * Throws NoIntactCheckpointError when every retained checkpoint is damaged.
   */
  async restorePoint(): Promise<CompletedCheckpoint | undefined> {
    const { chosen, damaged } = await chooseRestoreCheckpoint(this.completed, this.storeOptions, this.#local);
    for (const d of damaged) {
      this.completed.splice(this.completed.findIndex((c) => c.id === d.checkpoint.id), 1);
      this.events.onDamaged?.(d, chosen?.id);
    }
    return chosen;
  }

  /**
   * After a restore, ids go on from the restored snapshot's, as Flink sets its counter to the
   * restored id + 1: a checkpoint id then names one moment of the job's history only, which
   * transactional sinks rely on when they name transactions after checkpoints.
   */
  continueAfter(restoredId: number): void {
    this.#nextId = Math.max(this.#nextId, restoredId + 1);
  }

  /**
   * Claim mode `claim` (Flink's RecoveryClaimMode.CLAIM): the snapshot the job was restored from
   * joins the retained checkpoints, so retention deletes it once `numRetained` newer checkpoints
   * subsume it, and when the job ends as the retention setting says (Flink gives it the job's
   * own checkpoint properties). With `no_claim` it is never listed, so never touched. Nothing
   * happens when it is retained already (a restart of the same job).
   */
  claim(snapshot: CompletedCheckpoint, sharedFiles: readonly SharedFileRef[] = []): void {
    if (this.completed.some((c) => c.id === snapshot.id)) return;
    // Its shared files are then the job's own: deleted once no retained checkpoint refers to them.
    this.#registry.adopt(toCheckpointId(snapshot.id), sharedFiles);
    this.completed.push(snapshot);
    this.completed.sort((a, b) => a.id - b.id);
  }

  async settle(): Promise<void> {
    this.stop();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** The job ended: deletes the retained checkpoints the retention setting does not keep. */
  async terminate(status: 'FINISHED' | 'CANCELED' | 'FAILED'): Promise<void> {
    await this.settle();
    const discard = new Set<number>(onJobTermination(this.config, status, this.completed.map((c) => ({ id: c.id, isSavepoint: false }))));
    for (const c of this.completed.filter((c) => discard.has(c.id))) await this.#deleteDirectory(c.location).catch(() => undefined);
    await this.#release(this.#registry.subsume([...discard].map(toCheckpointId)));
    this.completed.splice(0, this.completed.length, ...this.completed.filter((c) => !discard.has(c.id)));
    // Local copies serve restarts within this job only: a resubmission or a resume reads the storage.
    if (this.#local !== undefined) await deleteLocalJob(this.#local).catch(() => undefined);
  }

  target(checkpointId: number): CheckpointTarget | undefined {
    const pending = this.#pending.get(checkpointId);
    if (pending === undefined) return undefined;
    const target = { checkpointId, savepoint: pending.kind !== 'checkpoint', store: pending.store, ...(pending.native ? { native: true } : {}) };
    return pending.shared === undefined ? target : { ...target, shared: { store: pending.shared, dir: sharedDir(this.job.jobId), full: pending.full } };
  }

  /**
   * A savepoint into `targetDirectory/savepoint-<job>-<random>/`, through the same barriers as
   * checkpoints; resolves with its location once `_metadata` is written. The engine never
   * deletes it. `stop` marks it as the savepoint of `flink stop` (it then notifies the tasks).
   * `type` native: the backend's native form (native-savepoint.ts), restorable on the same backend only.
   */
  triggerSavepoint(targetDirectory: string, stop = false, drain = false, type: SavepointType = 'canonical'): Promise<string> {
    return this.#requestSnapshot(stop ? 'stop-with-savepoint' : 'savepoint', `${targetDirectory.replace(/\/+$/, '')}/${savepointDirName(this.job.jobId)}`, drain, false, type === 'native');
  }

  /** A checkpoint now (`flink checkpoint`), outside the periodic schedule; `full`: every key group whole (`--full`). */
  triggerCheckpoint(full = false): Promise<string> {
    return this.#requestSnapshot('manual-checkpoint', undefined, false, full);
  }

  async #requestSnapshot(request: 'savepoint' | 'stop-with-savepoint' | 'manual-checkpoint', location: string | undefined, drain = false, full = false, native = false): Promise<string> {
    const attempt = this.#attempt;
    if (attempt === undefined || this.#suspended) throw new UserError(`job ${this.job.jobId} is not running`);
    if (attempt.running !== undefined && !this.#running.has(attempt)) {
      await attempt.running;
      if (this.#attempt !== attempt || this.#suspended) throw new UserError(`job ${this.job.jobId}: the attempt ended before its tasks were running`);
    }
    if (!attempt.canCheckpoint()) throw new UserError(`job ${this.job.jobId}: a source has finished, so no more barriers can flow; snapshots are no longer possible`);
    const now = Date.now();
    const decision = decideTrigger(this.config, { now, pending: this.#inFlight(now), lastCompletedEndTime: this.#lastCompletedEnd, nextIdCandidate: toCheckpointId(this.#nextId), request });
    if (decision.kind === 'wait' && decision.reason === 'max-concurrent' && request === 'manual-checkpoint') {
      // Flink queues an unforced request until a pending snapshot completes, fails or expires.
      return new Promise<string>((resolve, reject) => this.#waitingManual.push({ resolve, reject, full }));
    }
    if (decision.kind !== 'trigger') {
      throw new SnapshotBusyError(`job ${this.job.jobId}: cannot start a ${request === 'manual-checkpoint' ? 'checkpoint' : 'savepoint'} now (${decision.reason}); try again`);
    }
    const kind = request === 'manual-checkpoint' ? 'checkpoint' : request;
    return new Promise<string>((resolve, reject) => {
      this.#trigger(decision.checkpointId, now, kind, location, { resolve, reject }, drain, full, native).catch((err: unknown) => {
        reject(err instanceof Error ? err : new Error(String(err)));
        this.#track(this.#fail(decision.checkpointId, 'storage', err));
      });
    });
  }

  acknowledge(ack: SubtaskAck): void {
    const pending = this.#pending.get(ack.checkpointId);
    if (ack.native !== undefined && ack.native.referred.length > 0) this.#registry.acknowledge(toCheckpointId(ack.checkpointId), [], ack.native.referred.map((f) => f.path));
    if (ack.shared !== undefined) {
      // A late ack's shared file (its checkpoint already ended) is nobody's: the registry says to delete it.
      const release = this.#registry.acknowledge(toCheckpointId(ack.checkpointId), [ack.file.path], ack.shared.referred.map((f) => f.path));
      if (release.length > 0) this.#track(this.#release(release));
    }
    // An ack for an aborted checkpoint: its files went with the directory, or are garbage beside no _metadata.
    if (pending === undefined) return;
    pending.acks.push(ack);
    pending.ackTimes.push(Date.now());
    this.#reportPending();
    if (pending.acks.length === this.#attempt?.subtaskCount) this.#track(this.#complete(pending));
  }

  /** `why`: which of a task's decline reasons, which decides whether it counts against tolerable-failed-checkpoints. */
  decline(checkpointId: number, reason: unknown, why: TaskDeclineReason = 'declined'): void {
    if (!this.#pending.has(checkpointId)) return;
    this.#track(this.#fail(checkpointId, why, reason));
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#track(this.#tick()), delay);
    this.#timer.unref?.();
  }

  /** A periodic request waited for a free slot: decide again now that one freed up (as Flink). */
  #slotFreed(): void {
    // Queued manual checkpoints go first: a periodic trigger is only ever one interval late.
    const manual = this.#attempt === undefined ? undefined : this.#waitingManual.shift();
    if (manual !== undefined) {
      this.#requestSnapshot('manual-checkpoint', undefined, false, manual.full).then(manual.resolve, manual.reject);
      return;
    }
    if (!this.#queued || this.#attempt === undefined) return;
    this.#queued = false;
    this.#schedule(0);
  }

  async #tick(): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined || this.#suspended || this.#periodicPaused) return;
    const now = Date.now();
    if (!attempt.canCheckpoint()) return; // a bounded source finished: no more barriers can flow
    if (attempt.running !== undefined && !this.#running.has(attempt)) {
      this.#schedule(effectiveInterval(this.config) ?? 0);
      return;
    }
    const decision = decideTrigger(this.config, {
      now,
      pending: this.#inFlight(now),
      lastCompletedEndTime: this.#lastCompletedEnd,
      nextIdCandidate: toCheckpointId(this.#nextId),
      request: 'periodic',
    });
    if (decision.kind === 'trigger') {
      this.#schedule(effectiveInterval(this.config) ?? 0);
      await this.#trigger(decision.checkpointId, now, 'checkpoint', undefined).catch((err: unknown) => this.#fail(decision.checkpointId, 'storage', err));
    } else if (decision.kind === 'wait') {
      // Min pause: come back when it has passed. Max concurrent: come back when a slot frees
      // (#slotFreed), or at the latest when the oldest pending one expires.
      if (decision.reason === 'max-concurrent') this.#queued = true;
      this.#schedule(Math.max(1, decision.until - now));
    }
  }

  async #trigger(id: CheckpointId, now: number, kind: SnapshotKind, savepointLocation: string | undefined, waiter?: Pending['waiters'][number], drain = false, full = false, native = false): Promise<void> {
    this.#nextId = id + 1;
    this.events.onTriggered?.(id);
    const attempt = this.#attempt;
    let location = savepointLocation;
    if (location === undefined) {
      const dir = this.config.dir;
      if (dir === null) throw new UserError('no checkpoint directory is set (execution.checkpointing.dir)');
      location = `${dir.replace(/\/+$/, '')}/${this.job.jobId}/${checkpointDirName(id)}`;
    }
    let opened: ObjectStore;
    const triggered = { id, kind, triggeredAt: now, location };
    this.#startOpening(triggered);
    try {
      opened = await this.open(location, this.storeOptions);
    } catch (err) {
      if (this.#stopOpening(id)) this.#failedUnopened(triggered, 'storage', err);
      throw err;
    }
    // Dropped while it opened, by stop() (handled just below) or by its timeout (its slot is free again).
    if (!this.#stopOpening(id) && this.#attempt === attempt && attempt !== undefined) {
      throw new UserError(failureLine(kind, id, 'expired', this.#notOpenedInTime()));
    }
    const store = new PendingSnapshotStore(opened);
    // Savepoints are full and self-contained, as Flink's: never registered, never referred to.
    const shared = this.config.incremental && kind === 'checkpoint' ? new PendingSnapshotStore((await this.#sharedState()).root) : undefined;
    // A native savepoint of an incremental job refers to shared files until it has copied them:
    // the registry holds what becomes unreferenced meanwhile, as for a pending checkpoint.
    const holds = native && kind !== 'checkpoint' && this.config.incremental;
    if (holds) await this.#sharedState();
    // The attempt ended while the store opened (stop() has already aborted everything pending), or it is failing.
    if (this.#attempt !== attempt || attempt === undefined || this.#suspended) throw new UserError(`job ${this.job.jobId} is not running`);
    this.#pending.set(id, { id, kind, triggeredAt: now, location, store, ...(shared === undefined ? {} : { shared }), full, native: native && kind !== 'checkpoint', total: attempt.subtaskCount, acks: [], ackTimes: [], waiters: waiter === undefined ? [] : [waiter] });
    if (shared !== undefined || holds) this.#registry.trigger(id);
    this.#scheduleExpiry();
    this.#reportPending();
    attempt.injectBarrier(id, kind !== 'checkpoint', drain);
  }

  #startOpening(triggered: UnopenedSnapshot): void {
    const { id, kind, triggeredAt } = triggered;
    // Node fires a longer timer at once: a timeout past 24.8 days waits that long, then counts no more.
    const expiry = setTimeout(() => {
      if (!this.#stopOpening(id)) return;
      this.#failedUnopened(triggered, 'expired', new Error(this.#notOpenedInTime()));
    }, Math.min(this.config.timeout, 2 ** 31 - 1));
    expiry.unref?.();
    this.#opening.set(id, { checkpoint: { id, kind, triggeredAt }, expiry });
  }

  /**
   * A snapshot that failed before it was pending (its directory did not open, or not in time) is
   * a failed checkpoint like any other: reported, and counted toward the tolerable failures
   * (Flink's IO_EXCEPTION and CHECKPOINT_EXPIRED). One dropped because the attempt ended is not.
   */
  #failedUnopened(triggered: UnopenedSnapshot, reason: CheckpointFailureReason, cause: unknown): void {
    const message = cause instanceof Error ? cause.message : String(cause);
    this.events.onFailed?.({ id: triggered.id, kind: triggered.kind, triggeredAt: triggered.triggeredAt, endedAt: Date.now(), size: 0, location: triggered.location, failure: failureLine(triggered.kind, undefined, reason, message) });
    // Counted before its slot is freed: a failure that fails the job must not let a queued trigger start another.
    const failure = this.#countFailure(triggered.id, triggered.kind, reason, message);
    this.#slotFreed();
    if (failure !== undefined) this.#attempt?.fail(failure);
  }

  #notOpenedInTime(): string {
    return `its directory did not open within execution.checkpointing.timeout (${formatFlinkDuration(this.config.timeout)})`;
  }

  /** Whether it was still counted (not dropped by stop() or its timeout). */
  #stopOpening(id: number): boolean {
    const opening = this.#opening.get(id);
    if (opening === undefined) return false;
    clearTimeout(opening.expiry);
    return this.#opening.delete(id);
  }

  /**
   * What counts against max-concurrent: opening, pending, and writing `_metadata`. An opening one
   * past its timeout never counts, whichever of its timer and a tick due at that moment runs first.
   */
  #inFlight(now: number): PendingCheckpoint[] {
    const opening = [...this.#opening.values()].map((o) => o.checkpoint).filter((o) => now < o.triggeredAt + this.config.timeout);
    return [...opening, ...this.#pending.values(), ...this.#finalizing.values()];
  }

  /** Pending and finalizing ones: Flink lists a snapshot as in progress until `_metadata` is written. */
  #reportPending(): void {
    if (this.events.onPending === undefined) return;
    const all = [...this.#pending.values(), ...this.#finalizing.values()].sort((a, b) => a.id - b.id);
    this.events.onPending(
      all.map((p) => ({
        id: p.id,
        kind: p.kind,
        triggeredAt: p.triggeredAt,
        acknowledged: p.acks.length,
        total: p.total,
        bytes: p.acks.reduce((sum, ack) => sum + ack.file.size, 0),
        latestAckAt: p.ackTimes.at(-1) ?? p.triggeredAt,
      })),
    );
  }

  /** One timer for the pending snapshot that times out first; expired ones fail as CHECKPOINT_EXPIRED. */
  #scheduleExpiry(): void {
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    const at = nextExpiry(this.config, [...this.#pending.values()]);
    if (at === null || this.#attempt === undefined) return;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      const expired = expiredCheckpoints(this.config, [...this.#pending.values()], Date.now());
      this.#track(
        (async () => {
          for (const id of expired) await this.#fail(id, 'expired', new Error(`it took longer than execution.checkpointing.timeout (${formatFlinkDuration(this.config.timeout)})`));
        })().finally(() => this.#scheduleExpiry()),
      );
    }, Math.max(0, at - Date.now()));
    this.#expiryTimer.unref?.();
  }

  async #complete(pending: Pending): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined || !this.#pending.has(pending.id)) return;
    this.#pending.delete(pending.id);
    // Still in flight while _metadata is written: max-concurrent must count it (as Flink, which
    // drops a pending checkpoint only once it is finalized), or the next trigger overlaps it.
    this.#finalizing.set(pending.id, pending);
    let size = 0;
    let stateSize = 0;
    const sharedFiles = pending.shared === undefined ? [] : sharedFilesOfAcks(pending.acks);
    if (sharedFiles.length > 0) {
      const missing = this.#registry.reserve(pending.id, sharedFiles);
      if (missing.length > 0) {
        // It builds on a file already released (its base was subsumed meanwhile): the next one builds on a newer base.
        this.#finalizing.delete(pending.id);
        this.#pending.set(pending.id, pending);
        await this.#fail(pending.id, 'finalize-failure', new Error(`it refers to shared state already deleted: ${missing.join(', ')}`));
        return;
      }
    }
    // A native savepoint's delta refers to shared files: they are copied in, unless one is gone already.
    const copied = pending.native ? referredByNativeAcks(pending.acks) : [];
    if (copied.length > 0) {
      const missing = this.#registry.reserve(pending.id, copied.map((f) => ({ ...f, written: false })));
      if (missing.length > 0) {
        this.#finalizing.delete(pending.id);
        this.#pending.set(pending.id, pending);
        await this.#fail(pending.id, 'finalize-failure', new Error(`it refers to shared state already deleted: ${missing.join(', ')}; take it again (the next one builds on a newer checkpoint)`));
        return;
      }
    }
    const copiedPaths = new Set(copied.map((f) => f.path));
    try {
      if (copied.length > 0) await copyReferredFiles((await this.#sharedState()).root, pending.store, copied);
      const writer = new SnapshotWriter(pending.store, { kind: pending.kind === 'checkpoint' ? 'checkpoint' : 'savepoint', type: pending.native ? 'native' : 'canonical', jobId: this.job.jobId, jobName: this.job.jobName, checkpointId: pending.id, createdAt: pending.triggeredAt });
      // The backend each keyed operator's subtasks wrote from (FORMAT.md 3.5, `stateBackend`).
      const backends = new Map<string, string>();
      for (const ack of pending.acks) for (const op of ack.operators) if (op.stateBackend !== undefined) backends.set(op.uid, op.stateBackend);
      for (const n of attempt.nodes) {
        const stateBackend = backends.get(n.uid);
        writer.addOperator({ uid: n.uid, name: n.name, parallelism: n.parallelism, maxParallelism: n.maxParallelism, ...(stateBackend === undefined ? {} : { stateBackend }) });
      }
      for (const f of sharedFiles) writer.addFile(f, { shared: true, written: f.written });
      for (const f of copied) writer.addFile({ path: copiedPath(f.path), size: f.size }, { shared: false, written: false });
      for (const ack of pending.acks) {
        if (ack.shared === undefined) writer.addFile(ack.file);
        for (const op of ack.operators) {
          for (const state of op.keyed) writer.addKeyedState(op.uid, state.info, copied.length > 0 ? localizeBlocks(state.blocks, copiedPaths) : state.blocks);
          for (const part of op.operator) writer.addOperatorState(op.uid, part.info, ack.subtask, part.block);
        }
      }
      faultPoint('snapshot-metadata');
      // `sync`: the longest synchronous part of any subtask (the processing-thread pause a checkpoint costs).
      await writer.finish({ async: Date.now() - pending.triggeredAt, sync: Math.max(0, ...pending.acks.map((a) => a.syncMs)) });
      size = pending.acks.reduce((sum, ack) => sum + ack.file.size, 0);
      stateSize = size + sharedFiles.reduce((sum, f) => sum + (f.written ? 0 : f.size), 0);
      if (sharedFiles.length > 0) {
        const decision = this.#registry.complete(pending.id, sharedFiles);
        await this.#release(decision.release);
      }
      // The savepoint holds its own copies now: what the registry held for it may go.
      if (pending.native) await this.#release(this.#registry.abort(pending.id));
    } catch (err) {
      this.#finalizing.delete(pending.id);
      this.#pending.set(pending.id, pending);
      await this.#fail(pending.id, 'storage', err);
      return;
    }
    this.#finalizing.delete(pending.id);
    const now = Date.now();
    const outcome = onCheckpointCompleted({ now, completed: { id: pending.id, kind: pending.kind }, pending: [...this.#pending.values()], counter: this.#counter });
    this.#counter = outcome.counter;
    this.#lastCompletedEnd = outcome.lastCompletedEndTime;
    for (const id of outcome.subsumed) await this.#abort(id, 'it has been subsumed by a newer checkpoint');
    if (outcome.addToStore) {
      this.completed.push({ id: pending.id, location: pending.location, completedAt: now });
      this.completedCount += 1;
    }
    const subtasks = pending.acks.map((a, i) => ({
      chain: a.chain,
      subtask: a.subtask,
      syncMs: a.syncMs,
      asyncMs: a.asyncMs,
      ackAt: pending.ackTimes[i] ?? now,
      size: a.file.size,
      ...(a.shared === undefined ? {} : { stateSize: a.file.size + a.shared.referred.reduce((sum, f) => sum + f.size, 0) }),
    }));
    // A native savepoint's state_size counts its copies too (what it holds); checkpointed_size what it wrote.
    const incremental = pending.shared !== undefined ? { stateSize, incremental: true } : copied.length > 0 ? { stateSize: size + copied.reduce((n, f) => n + f.size, 0) } : {};
    this.events.onCompleted?.({ id: pending.id, kind: pending.kind, triggeredAt: pending.triggeredAt, endedAt: now, size, ...incremental, ...(pending.native ? { savepointType: 'native' as const } : {}), location: pending.location, subtasks });
    this.#reportPending();
    if (outcome.notifyTasks) attempt.notifyComplete(pending.id);
    for (const w of pending.waiters) w.resolve(pending.location);
    this.#slotFreed();
    const discard = new Set<number>(checkpointsToDiscard(this.config, this.completed.map((c) => ({ id: c.id, isSavepoint: false }))));
    for (const c of this.completed.filter((c) => discard.has(c.id))) await this.#deleteDirectory(c.location);
    this.completed.splice(0, this.completed.length, ...this.completed.filter((c) => !discard.has(c.id)));
    // Only once their directories are gone: a `_metadata` left by a failed delete must not name deleted files.
    await this.#release(this.#registry.subsume([...discard].map(toCheckpointId)));
    // Local copies are kept for the latest completed checkpoint only (as Flink's TaskLocalStateStore).
    if (this.#local !== undefined && pending.kind === 'checkpoint') await pruneLocalCheckpoints(this.#local, pending.id);
  }

  async #fail(id: CheckpointId | number, reason: CheckpointFailureReason, cause: unknown): Promise<void> {
    if (!this.#pending.has(id)) return;
    const failed = this.#pending.get(id);
    const kind = failed?.kind ?? 'checkpoint';
    const message = cause instanceof Error ? cause.message : String(cause);
    if (failed !== undefined) this.events.onFailed?.({ id, kind, triggeredAt: failed.triggeredAt, endedAt: Date.now(), size: 0, ...(failed.native ? { savepointType: 'native' as const } : {}), location: failed.location, failure: failureLine(kind, undefined, reason, message) });
    const line = failureLine(kind, id, reason, message);
    for (const w of this.#pending.get(id)?.waiters ?? []) w.reject(new UserError(line));
    const attempt = this.#attempt;
    // Counted before the abort frees its slot: a failure that fails the job must not let a queued trigger start another.
    const failure = this.#countFailure(id, kind, reason, message);
    await this.#abort(id, line);
    // The job fails once the snapshot is aborted, after its callers were told (with its own line).
    if (failure !== undefined && this.#attempt === attempt) attempt?.fail(failure);
  }

  /** Counts a failed snapshot; when that fails the job, stops starting snapshots and returns the job's failure. */
  #countFailure(id: CheckpointId | number, kind: SnapshotKind, reason: CheckpointFailureReason, message: string): UserError | undefined {
    const outcome = onCheckpointFailure(this.config, this.#counter, { checkpointId: toCheckpointId(id), snapshot: kind, reason });
    this.#counter = outcome.counter;
    if (!outcome.failJob) return undefined;
    this.#suspend();
    const latest = failureLine(kind, id, reason, message);
    // No threshold was exceeded: Flink fails the job with the savepoint's own exception.
    if (outcome.effect === 'stop-with-savepoint-failed') return new UserError(latest);
    // Flink's text (1.16+) with our failure line for its reason's message, and where the earlier
    // failures can be read: only the latest is named here, and the JobManager does not log them.
    return new UserError(
      `${TOLERABLE_FAILURE_MESSAGE} The latest checkpoint failed due to: ${/[.!?]$/.test(latest) ? latest : `${latest}.`} ` +
        `View the checkpoint history (GET /jobs/${this.job.jobId}/checkpoints, or the web dashboard's checkpoints page) to find out why continuous checkpoints failed.`,
    );
  }

  /** `because`: why, in words, after "was aborted: " (a failure's waiters have had its own line already). */
  async #abort(id: number, because: string): Promise<void> {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    this.#reportPending();
    for (const w of pending.waiters) w.reject(new UserError(`${pending.kind === 'checkpoint' ? 'Checkpoint' : 'Savepoint'} ${id} was aborted: ${because}`));
    this.#attempt?.notifyAborted(id);
    this.#slotFreed();
    // Subtasks may still be writing into it: the directory goes once their writes have settled.
    await pending.store.close(because);
    await pending.shared?.close(because);
    await this.#deleteDirectory(pending.location).catch(() => undefined);
    await this.#release(this.#registry.abort(toCheckpointId(id)));
    if (pending.shared !== undefined) await this.#release(await this.#unacknowledgedFiles(pending.shared, id).catch(() => []));
    if (this.#local !== undefined) await deleteLocalCheckpoint(this.#local, id).catch(() => undefined);
  }

  #deleteDirectory(location: string): Promise<void> {
    // Under another checkpoint root, a (claimed) snapshot's shared files are no registry's: the
    // job never refers to them (its first checkpoint after such a restore is full), so they go with it.
    if (this.config.dir === null || !underRoot(location, this.config.dir)) return deleteSnapshotWithSharedFiles(location, this.storeOptions);
    return deleteSnapshot(location, this.storeOptions);
  }

  /**
   * The checkpoint root, opened once, with the registry rebuilt first from the retained
   * checkpoints' `_metadata` (a job resumed by a new JobManager, or a restore that claimed), and
   * the job's shared files no retained checkpoint refers to deleted as orphans (left by a process
   * that died with checkpoints pending), before the first incremental checkpoint is triggered.
   */
  #sharedState(): Promise<{ readonly root: ObjectStore; readonly cleaner: SharedStateCleaner }> {
    this.#shared ??= (async () => {
      const dir = this.config.dir;
      if (dir === null) throw new UserError('no checkpoint directory is set (execution.checkpointing.dir)');
      const root = await this.open(dir, this.storeOptions);
      const cleaner = new SharedStateCleaner(root, (line) => process.stderr.write(`${line}\n`));
      for (const c of this.completed) {
        const reader = await SnapshotReader.open(await this.open(c.location, this.storeOptions)).catch(() => undefined);
        if (reader !== undefined) this.#registry.adopt(c.id, sharedFilesOf(reader.metadata.files));
      }
      const prefix = sharedDir(this.job.jobId);
      const listing: { key: string }[] = [];
      for await (const o of root.list(prefix)) listing.push(o);
      await cleaner.release(this.#registry.orphans(listing, prefix));
      return { root, cleaner };
    })();
    this.#shared.catch(() => (this.#shared = undefined));
    return this.#shared;
  }

  /** Deletes shared files the registry released; never fails a checkpoint (the cleaner retries). */
  async #release(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    // Opened here too: a claimed checkpoint may be subsumed (the job ends) before any checkpoint was triggered.
    const opening = this.#shared ?? (this.config.incremental ? this.#sharedState() : undefined);
    const shared = await opening?.catch(() => undefined);
    await shared?.cleaner.release(paths);
  }

  /**
   * Shared files an aborted checkpoint's subtasks wrote without acknowledging them (the attempt
   * failed while they wrote): the registry never heard of them. Their names carry the
   * checkpoint's id (write-subtask-snapshot.ts), and an aborted checkpoint is never referred to,
   * so they go too. Called once the checkpoint's writes have settled.
   */
  async #unacknowledgedFiles(root: ObjectStore, id: number): Promise<string[]> {
    const marker = sharedFileMarker(id);
    const found: string[] = [];
    for await (const o of root.list(sharedDir(this.job.jobId))) if (o.key.includes(marker)) found.push(o.key);
    return found;
  }

  /** For tests and logs: what the shared-state registry holds. */
  sharedStateSummary(): ReturnType<SharedStateRegistry['summary']> {
    return this.#registry.summary();
  }
}

/** The shared files a snapshot's `_metadata` lists (for a claim or a rebuild of the registry). */
export function sharedFilesOf(files: readonly { readonly path: string; readonly size: number; readonly shared?: boolean; readonly written?: boolean }[]): SharedFileRef[] {
  return files.filter((f) => f.shared === true).map((f) => ({ path: f.path, size: f.size, written: f.written ?? true }));
}

/** An incremental checkpoint's shared files: each subtask's own (written) and those its chains refer to, once each. */
function sharedFilesOfAcks(acks: readonly SubtaskAck[]): (SharedFileRef & { readonly written: boolean })[] {
  const files = new Map<string, SharedFileRef & { readonly written: boolean }>();
  for (const ack of acks) if (ack.shared !== undefined) files.set(ack.file.path, { path: ack.file.path, size: ack.file.size, written: true });
  for (const ack of acks) for (const f of ack.shared?.referred ?? []) if (!files.has(f.path)) files.set(f.path, { path: f.path, size: f.size, written: false });
  return [...files.values()];
}
