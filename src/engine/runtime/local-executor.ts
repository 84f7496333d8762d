/**
 * Runs a job in this process: compiles the graph, wires subtasks with channels, restores state,
 * drives checkpoints, and on a failure cancels every subtask and restarts the whole job from the
 * latest completed checkpoint, as the restart strategy allows. Subtasks share nothing but
 * serialized batches, so a later executor can place them in other processes.
 */
import { type LocalRecovery, localRecoveryOf, readLocalFirst } from '../checkpoint/local-recovery.ts';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { UserError } from '../../errors.ts';
import { openSnapshot } from '../../open-snapshot.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import type { StreamGraph } from '../api/stream-graph.ts';
import { snapshotDirOf } from '../../format/snapshot-paths.ts';
import { type CheckpointConfig, defaultCheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import { type ClaimMode, toCheckpointId } from '../checkpoint/checkpoint-types.ts';
import { ownsRestoredSnapshot } from '../checkpoint/incremental-restore.ts';
import { checkNativeBackend } from '../checkpoint/native-restore.ts';
import { CheckpointCoordinator, type AttemptEnd, type CoordinatorEvents, type CoordinatorResume, type SavepointType, SnapshotBusyError, sharedFilesOf } from '../checkpoint/checkpoint-coordinator.ts';
import type { DamagedCheckpoint } from '../checkpoint/choose-restore-checkpoint.ts';
import { planRestore } from '../state/restore-plan.ts';
import type { NewOperatorSpec, SubtaskRestorePlan } from '../state/restore-plan.ts';
import { DEFAULT_STATE_BACKEND, type StateBackendOptions, type StateBackendType } from '../state/state-backend-type.ts';
import type { AttemptDeployment, DeployedAttempt } from './attempt-deployment.ts';
import { deployInThread } from './in-thread-deployment.ts';
import type { ProcessingTimeClock } from './clock.ts';
import { type Chain, type JobPlan, type PlannedNode, planJob } from './job-plan.ts';
import { type RestartStrategy, decideRestart } from './restart-strategy.ts';
import { checkSources } from './source-checks.ts';
import { CancelledError } from './subtask.ts';
import { type AttemptFailure, TaskFailure, attemptFailure } from './task-failure.ts';

export interface ExecutionOptions {
  readonly jobName: string;
  readonly jobId?: string;
  readonly parallelism: number;
  readonly maxParallelism?: number;
  readonly checkpoint?: CheckpointConfig;
  readonly restartStrategy?: RestartStrategy;
  /** Where keyed state lives; hashmap when not given. */
  readonly stateBackend?: StateBackendType;
  /** Working directories and cache of the on-disk backends. */
  readonly stateBackendOptions?: StateBackendOptions;
  /**
   * Processing time for state TTL and processing-time timers (Date.now when not given); tests
   * pass a ManualClock's `now` to move time without sleeping. A function: it is set by code
   * (env.setProcessingTimeClock), never sent between processes.
   */
  readonly clock?: ProcessingTimeClock;
  /** `flink run -s`: a savepoint or retained checkpoint to start from. */
  readonly restoreFrom?: string;
  /** `flink run --claimMode`: whether the job takes ownership of `restoreFrom` (default NO_CLAIM: never touched). */
  readonly claimMode?: ClaimMode;
  readonly allowNonRestoredState?: boolean;
  readonly storeOptions?: OpenStoreOptions;
  /** Opens the directory of a checkpoint or savepoint being taken (default: openStore); for tests that hold its writes. */
  readonly openSnapshotStore?: (location: string, options: OpenStoreOptions) => Promise<ObjectStore>;
  /** Batches a channel holds before its sender waits. */
  readonly channelCapacity?: number;
  /** A job that ran before in another process: go on with its checkpoints (ids and retention). */
  readonly resume?: CoordinatorResume;
  /** Checkpoint outcomes and status changes, for a JobManager that keeps them. */
  readonly events?: ExecutionEvents;
  /** Where each attempt's subtasks run: this thread when not given (the in-process TaskManager). */
  readonly deployment?: AttemptDeployment;
}

export interface ExecutionEvents extends CoordinatorEvents {
  onStatus?(status: JobStatus): void;
  /** An attempt failed: its cause, before the restart strategy decides (Flink's exception history). */
  onAttemptFailed?(failure: AttemptFailure): void;
  /** An attempt starts from this snapshot (Flink's `latest.restored`): its id and kind, as its metadata says. */
  onRestored?(restored: RestoredSnapshot): void;
}

export interface RestoredSnapshot {
  readonly id: number;
  readonly isSavepoint: boolean;
  readonly location: string;
}

export type JobStatus = 'RUNNING' | 'RESTARTING' | 'FINISHED' | 'CANCELED' | 'FAILED';

export interface JobResult {
  readonly jobId: string;
  readonly status: 'FINISHED' | 'CANCELED';
  readonly attempts: number;
  /** Checkpoints completed while the job ran. */
  readonly checkpoints: number;
  /** Those still retained after the job ended (per the retention setting). */
  readonly completedCheckpoints: readonly { readonly id: number; readonly location: string }[];
}

export class JobFailedError extends UserError {
  override readonly name: string = 'JobFailedError';
  constructor(
    message: string,
    /** What failed and why the job was not restarted, without the job: the REST `failure-cause`, which `flink run` prints after the job's id. */
    readonly failure: string,
    options?: { cause?: unknown },
  ) {
    super(message, 1, options);
  }
}

/** `flink savepoint --type` / REST `formatType`, lower case. */
export interface SavepointOptions {
  readonly type?: SavepointType;
}

/** A running job: its result, and the commands Flink's client offers. */
export interface JobClient {
  readonly jobId: string;
  readonly jobName: string;
  readonly result: Promise<JobResult>;
  status(): JobStatus;
  /** Records in and out per operator uid, summed over the current attempt's subtasks. */
  recordCounts(): Map<string, { in: number; out: number }>;
  /** The same per subtask: index i is subtask i's count. */
  subtaskRecordCounts(): Map<string, { in: number; out: number }[]>;
  /**
   * A savepoint under `targetDirectory`; resolves with its directory. `type` native: the
   * backend's native form (with incremental checkpoints a delta plus copies of the shared files
   * it refers to), restorable only on the same state backend; default canonical.
   */
  triggerSavepoint(targetDirectory: string, options?: SavepointOptions): Promise<string>;
  /** A checkpoint now; resolves with its directory. `full`: every key group whole (`flink checkpoint --full`). */
  triggerCheckpoint(full?: boolean): Promise<string>;
  /** A savepoint, then the job stops (FINISHED), as `flink stop`. */
  stopWithSavepoint(targetDirectory: string, options?: SavepointOptions & { readonly drain?: boolean }): Promise<string>;
  /**
   * Flink's cancel with a savepoint (REST `cancel-job: true`, `flink cancel -s`): periodic
   * checkpoints stop, the savepoint is taken, and once it is complete the job is cancelled
   * (CANCELED); resolves with its directory as the cancel begins. If the savepoint fails, the
   * periodic checkpoints resume, the job runs on, and this rejects.
   */
  cancelWithSavepoint(targetDirectory: string, options?: SavepointOptions): Promise<string>;
  cancel(): Promise<void>;
}

export async function executeLocally(graph: StreamGraph, options: ExecutionOptions): Promise<JobResult> {
  return startLocally(graph, options).result;
}

export function startLocally(graph: StreamGraph, options: ExecutionOptions): JobClient {
  const jobId = options.jobId ?? randomBytes(16).toString('hex');
  const plan = planJob(graph, { parallelism: options.parallelism, ...(options.maxParallelism === undefined ? {} : { maxParallelism: options.maxParallelism }) });
  const config = options.checkpoint ?? defaultCheckpointConfig;
  if (config.interval !== null && config.dir === null) {
    throw new UserError('checkpointing is enabled (execution.checkpointing.interval) but no checkpoint directory is set (execution.checkpointing.dir)');
  }
  checkSources(plan, config);
  const events: ExecutionEvents = { onDamaged: reportDamaged, ...options.events };
  const coordinator = new CheckpointCoordinator(config, { jobId, jobName: options.jobName }, options.storeOptions, events, options.resume, options.openSnapshotStore ?? openStore);
  const strategy = effectiveRestartStrategy(options);
  let current: JobStatus = 'RUNNING';
  const setStatus = (next: JobStatus): void => {
    current = next;
    options.events?.onStatus?.(next);
  };
  let stopRequested: 'cancel' | 'stop' | undefined;
  let cancelAttempt: (() => void) | undefined;
  /** Ends the restart delay early: a job cancelled while RESTARTING is CANCELED at once, and no attempt starts (as Flink). */
  let endRestartDelay: (() => void) | undefined;
  let attemptRunning: DeployedAttempt | undefined;
  const finish = async (final: 'FINISHED' | 'CANCELED', attempts: number): Promise<JobResult> => {
    await coordinator.terminate(final);
    setStatus(final);
    return { jobId, status: final, attempts, checkpoints: coordinator.completedCount, completedCheckpoints: coordinator.completed.map((c) => ({ id: c.id, location: c.location })) };
  };
  const failJob = async (error: Error): Promise<never> => {
    await coordinator.terminate('FAILED');
    setStatus('FAILED');
    throw error;
  };

  const run = async (): Promise<JobResult> => {
    const failures: number[] = [];
    let restoreFrom = options.restoreFrom;
    for (let attempt = 0; ; attempt++) {
      // Decided as the attempt ends, before its pending snapshots are aborted, so that their callers learn whether the job restarts.
      let verdict: { readonly setup: UserError } | { readonly restart: ReturnType<typeof decideRestart> } | undefined;
      const judge = (err: unknown): AttemptEnd => {
        if (stopRequested !== undefined) return stopRequested === 'cancel' ? 'cancelled' : 'stopped';
        const inner = err instanceof TaskFailure ? err.error : err;
        if (inner instanceof UserError && attempt === 0 && isSetupError(inner)) {
          verdict = { setup: inner };
          return 'failed';
        }
        failures.push(Date.now());
        const restart = decideRestart(strategy, failures);
        verdict = { restart };
        return restart.restart ? 'restarting' : 'failed';
      };
      try {
        await runAttempt(jobId, plan, attempt, restoreFrom, options, coordinator, config.mode, (cancel) => (cancelAttempt = cancel), (a) => (attemptRunning = a), judge);
        return finish(stopRequested === 'cancel' ? 'CANCELED' : 'FINISHED', attempt + 1);
      } catch (err) {
        await coordinator.settle();
        if (stopRequested !== undefined) return finish(stopRequested === 'cancel' ? 'CANCELED' : 'FINISHED', attempt + 1);
        // The attempt failed before it was deployed (its restore did not open): judged here.
        if (verdict === undefined) judge(err);
        if (verdict !== undefined && 'setup' in verdict) return failJob(verdict.setup);
        options.events?.onAttemptFailed?.(attemptFailure(err));
        const decision = verdict?.restart ?? decideRestart(strategy, failures);
        if (!decision.restart) {
          const failure = `${err instanceof Error ? err.message : String(err)} (not restarted: ${decision.reason})`;
          return failJob(new JobFailedError(`Job ${jobId} (${options.jobName}) failed: ${failure}`, failure, { cause: err }));
        }
        setStatus('RESTARTING');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, decision.delayMs);
          endRestartDelay = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        endRestartDelay = undefined;
        if (stopRequested !== undefined) return finish(stopRequested === 'cancel' ? 'CANCELED' : 'FINISHED', attempt + 1);
        setStatus('RUNNING');
        let point: { location: string } | undefined;
        try {
          point = await coordinator.restorePoint();
        } catch (failure) {
          // Every retained checkpoint damaged (or unreadable storage): starting empty would drop state.
          return failJob(failure instanceof Error ? failure : new Error(String(failure)));
        }
        restoreFrom = point?.location ?? options.restoreFrom;
      }
    }
  };
  const result = run();
  result.catch(() => undefined);
  const running = (): void => {
    if (current !== 'RUNNING') throw new UserError(`Job ${jobId} is not running (${current}).`);
  };
  const cancel = async (): Promise<void> => {
    if (current === 'FINISHED' || current === 'CANCELED' || current === 'FAILED') return;
    stopRequested = 'cancel';
    cancelAttempt?.();
    endRestartDelay?.();
    await result.catch(() => undefined);
  };
  return {
    jobId,
    jobName: options.jobName,
    result,
    status: () => current,
    triggerSavepoint: async (dir, savepointOptions) => {
      running();
      return coordinator.triggerSavepoint(dir, false, false, savepointOptions?.type ?? 'canonical');
    },
    recordCounts: () => {
      const counts = new Map<string, { in: number; out: number }>();
      for (const subtask of attemptRunning?.recordCounts() ?? []) {
        for (const c of subtask.counts) {
          const sum = counts.get(c.uid) ?? { in: 0, out: 0 };
          counts.set(c.uid, { in: sum.in + c.in, out: sum.out + c.out });
        }
      }
      return counts;
    },
    subtaskRecordCounts: () => {
      const counts = new Map<string, { in: number; out: number }[]>();
      for (const subtask of attemptRunning?.recordCounts() ?? []) {
        for (const c of subtask.counts) {
          const list = counts.get(c.uid) ?? [];
          list[subtask.index] = { in: c.in, out: c.out };
          counts.set(c.uid, list);
        }
      }
      return counts;
    },
    triggerCheckpoint: async (full?: boolean) => {
      running();
      return coordinator.triggerCheckpoint(full === true);
    },
    stopWithSavepoint: async (dir, stopOptions) => {
      running();
      const location = await coordinator.triggerSavepoint(dir, true, stopOptions?.drain === true, stopOptions?.type ?? 'canonical');
      stopRequested = 'stop';
      cancelAttempt?.();
      await result.catch(() => undefined);
      return location;
    },
    cancelWithSavepoint: async (dir, savepointOptions) => {
      running();
      // As Flink's SchedulerBase.triggerSavepoint with cancelJob: no periodic checkpoint starts
      // (and commits) past the savepoint; if it fails they resume and the job runs on.
      coordinator.pausePeriodic();
      let location: string;
      try {
        location = await coordinator.triggerSavepoint(dir, false, false, savepointOptions?.type ?? 'canonical');
      } catch (err) {
        coordinator.resumePeriodic();
        throw err;
      }
      void cancel();
      return location;
    },
    cancel,
  };
}

/** The job's restart strategy, or Flink's default: none without checkpointing, else fixed-delay forever at 1 s. */
export function effectiveRestartStrategy(options: Pick<ExecutionOptions, 'restartStrategy' | 'checkpoint'>): RestartStrategy {
  const interval = (options.checkpoint ?? defaultCheckpointConfig).interval;
  return options.restartStrategy ?? (interval === null ? { type: 'none' } : { type: 'fixed-delay', attempts: Number.MAX_SAFE_INTEGER, delayMs: 1000 });
}

/** Without a JobManager to tell, a skipped checkpoint is reported on stderr, as Flink logs a warning. */
function reportDamaged(d: DamagedCheckpoint, fallback: number | undefined): void {
  process.stderr.write(`checkpoint ${d.checkpoint.id} at ${d.checkpoint.location} is damaged: ${d.problem}; falling back to ${fallback === undefined ? 'the beginning' : `checkpoint ${fallback}`}\n`);
}

/** Errors of restore planning are the user's to fix, not failures to restart from. */
function isSetupError(err: UserError): boolean {
  return /Failed to rollback|Cannot restore|StateMigrationException|max parallelism|no such file|not a snapshot|is not supported yet/.test(err.message);
}

async function runAttempt(
  jobId: string,
  plan: JobPlan,
  attempt: number,
  restoreFrom: string | undefined,
  options: ExecutionOptions,
  coordinator: CheckpointCoordinator,
  mode: CheckpointConfig['mode'],
  onCancel: (cancel: () => void) => void,
  onSubtasks: (attempt: DeployedAttempt) => void = () => undefined,
  /** How a failed attempt ends the job (restart or not), decided before its pending snapshots are aborted. */
  judge: (err: unknown) => AttemptEnd = () => 'failed',
): Promise<void> {
  const { nodes, restore } = restoreFrom === undefined ? { nodes: plan.nodes, restore: undefined } : await openRestore(plan, restoreFrom, options, localRecoveryOf(options.checkpoint, jobId));
  // Incremental checkpoints build on the restored chains only when the snapshot is the job's own (failover, claim).
  const owned =
    restore !== undefined &&
    ownsRestoredSnapshot({ restoreFrom: restoreFrom!, userRestore: options.restoreFrom, claimMode: options.claimMode, checkpointDir: options.checkpoint?.dir ?? null, jobId, retained: coordinator.completed.map((c) => c.location) });
  if (restore !== undefined) {
    const { checkpointId, kind } = restore.reader.metadata;
    coordinator.continueAfter(checkpointId);
    options.events?.onRestored?.({ id: checkpointId, isSavepoint: kind === 'savepoint', location: restoreFrom! });
    if (options.claimMode === 'CLAIM' && options.restoreFrom !== undefined && restoreFrom === options.restoreFrom) {
      // Absolute, so that deleting it later does not depend on the working directory.
      const dir = snapshotDirOf(options.restoreFrom);
      // Its shared files join the registry only under this job's checkpoint root (their paths are relative to it).
      coordinator.claim({ id: toCheckpointId(checkpointId), location: /^[a-z][a-z0-9+.-]*:/i.test(dir) ? dir : resolve(dir), completedAt: Date.now() }, owned ? sharedFilesOf(restore.reader.metadata.files) : []);
    }
  }
  const byUid = new Map(nodes.map((n) => [n.uid, n]));
  const chains: Chain[] = plan.chains.map((c) => ({ ...c, nodes: c.nodes.map((n) => byUid.get(n.uid)!) }));
  const checkpointing = (options.checkpoint?.interval ?? null) !== null;
  let deployed: DeployedAttempt | undefined;
  const finished = new Set<string>();
  let finalCheckpointStarted = false;
  // Every subtask finished: the final checkpoint lets sinks commit their last transactions.
  const takeFinalCheckpoint = async (): Promise<void> => {
    for (let failures = 0; ; ) {
      try {
        await coordinator.triggerCheckpoint();
        deployed?.release();
        return;
      } catch (err) {
        if (err instanceof SnapshotBusyError) {
          // A periodic checkpoint is still running: the final one starts when it is done.
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        failures += 1;
        if (failures >= 3) {
          deployed?.fail(new UserError(`the job's final checkpoint failed ${failures} times, so its last results cannot be committed: ${err instanceof Error ? err.message : String(err)}`));
          return;
        }
        await new Promise((r) => setTimeout(r, 100 * failures));
      }
    }
  };
  const subtaskCount = chains.reduce((n, c) => n + c.parallelism, 0);
  deployed = (options.deployment ?? deployInThread)({
    jobId,
    plan,
    chains,
    attempt,
    mode,
    restoreFrom,
    buildOnRestore: owned,
    restore: restore === undefined ? undefined : { reader: restore.reader, plans: restore.plans },
    options,
    coordination: {
      finished: (key) => {
        finished.add(`${key.chain}/${key.index}`);
        if (finished.size === subtaskCount && !finalCheckpointStarted) {
          finalCheckpointStarted = true;
          if (checkpointing) void takeFinalCheckpoint();
          else deployed?.release();
        }
      },
      pendingCheckpoints: () => coordinator.pendingSnapshots(),
      checkpointTarget: (id) => coordinator.target(id),
      acknowledge: (ack) => coordinator.acknowledge(ack),
      decline: (id, reason, why) => coordinator.decline(id, reason, why),
    },
  });
  const attemptRunning = deployed;
  coordinator.start({
    nodes,
    subtaskCount,
    canCheckpoint: () => true,
    running: attemptRunning.running,
    injectBarrier: (id, savepoint, drain) => attemptRunning.injectBarrier(id, savepoint, drain),
    notifyComplete: (id) => attemptRunning.notifyComplete(id),
    notifyAborted: (id) => attemptRunning.notifyAborted(id),
    fail: (error) => attemptRunning.fail(error),
  });
  onCancel(() => attemptRunning.fail(new CancelledError('cancelled')));
  onSubtasks(attemptRunning);
  // Judged once per attempt (the restart strategy counts each failure once).
  let ended: AttemptEnd | undefined;
  const end = (err: unknown): AttemptEnd => (ended ??= judge(err));
  let settled = false;
  // As Flink's scheduler leaving RUNNING: no checkpoint starts once the attempt is failing, and
  // the pending ones are aborted at once, not when every subtask has stopped (a task in a slow
  // snapshot or in user code may take long; meanwhile each trigger expired, and counted).
  attemptRunning.failed.catch((err: unknown) => {
    if (!settled) coordinator.stop(end(err));
  });
  try {
    await attemptRunning.done;
  } catch (err) {
    coordinator.stop(end(err));
    throw err;
  } finally {
    settled = true;
  }
  coordinator.stop('finished');
}

export interface OpenedRestore {
  /** The plan's nodes with the max parallelism the snapshot fixes. */
  readonly nodes: readonly PlannedNode[];
  readonly restore: { readonly reader: Awaited<ReturnType<typeof openSnapshot>>; readonly plans: Map<string, SubtaskRestorePlan[]> };
}

/**
 * Opens the snapshot to start from and matches it to the job: every error a user must fix
 * (missing operator, max parallelism mismatch, changed state kind) is raised here, so
 * `flink run -s` can check before it submits.
 */
export async function openRestore(plan: JobPlan, restoreFrom: string, options: Pick<ExecutionOptions, 'storeOptions' | 'allowNonRestoredState' | 'stateBackend'>, local?: LocalRecovery): Promise<OpenedRestore> {
  const opened = await openSnapshot(restoreFrom, options.storeOptions);
  checkNativeBackend(opened.metadata, options.stateBackend ?? DEFAULT_STATE_BACKEND, restoreFrom);
  const reader = local === undefined ? opened : readLocalFirst(opened, restoreFrom, local);
  const restorePlan = planRestore({
    location: restoreFrom,
    metadata: reader.metadata,
    operators: restoreSpecs(plan),
    allowNonRestoredState: options.allowNonRestoredState ?? false,
  });
  const adopted = new Map(restorePlan.operators.map((o) => [o.uid, o.maxParallelism]));
  return {
    nodes: plan.nodes.map((n) => ({ ...n, maxParallelism: adopted.get(n.uid) ?? n.maxParallelism })),
    restore: { reader, plans: new Map(restorePlan.operators.map((o) => [o.uid, [...o.subtasks]])) },
  };
}

/** The job's operators as the restore sees them (`flink plan-restore` shows the same). */
export function restoreSpecs(plan: JobPlan): NewOperatorSpec[] {
  return plan.nodes.map((n) => ({ uid: n.uid, parallelism: n.parallelism, maxParallelism: n.maxParallelism, maxParallelismConfigured: n.maxParallelismConfigured }));
}

export type { PlannedNode };
