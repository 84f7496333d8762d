/**
 * Carries out the coordinator's decisions for one job: triggers periodic checkpoints at the
 * sources, collects every subtask's acknowledgement, writes `_metadata` (which makes the
 * checkpoint exist), notifies the subtasks, and deletes checkpoints past the retained number.
 * Completed checkpoints outlive attempts; pending ones belong to the attempt that started them.
 */
import { UserError } from '../../errors.ts';
import { SnapshotWriter } from '../../format/snapshot-writer.ts';
import { checkpointDirName } from '../../format/snapshot-paths.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import type { PlannedNode } from '../runtime/job-plan.ts';
import type { CheckpointTarget, SubtaskAck } from '../runtime/subtask.ts';
import type { CheckpointConfig } from './checkpoint-config.ts';
import {
  type CheckpointFailureReason,
  type CheckpointId,
  type FailureCounter,
  type PendingCheckpoint,
  checkpointsToDiscard,
  decideTrigger,
  expiredCheckpoints,
  initialFailureCounter,
  onCheckpointCompleted,
  onCheckpointFailure,
  toCheckpointId,
} from './coordinator-decisions.ts';

export interface CompletedCheckpoint {
  readonly id: CheckpointId;
  readonly location: string;
  readonly completedAt: number;
}

/** What the coordinator needs of the running attempt. */
export interface AttemptHandle {
  readonly nodes: readonly PlannedNode[];
  /** Subtasks that must acknowledge every checkpoint. */
  readonly subtaskCount: number;
  /** Whether barriers can still be injected (no source subtask has finished). */
  canCheckpoint(): boolean;
  injectBarrier(checkpointId: number): void;
  notifyComplete(checkpointId: number): void;
  notifyAborted(checkpointId: number): void;
  /** The job must fail (tolerable checkpoint failures exceeded). */
  fail(error: Error): void;
}

interface Pending extends PendingCheckpoint {
  readonly location: string;
  readonly store: ObjectStore;
  readonly acks: SubtaskAck[];
}

export class CheckpointCoordinator {
  readonly completed: CompletedCheckpoint[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #counter: FailureCounter = initialFailureCounter;
  #lastCompletedEnd: number | null = null;
  #attempt: AttemptHandle | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: CheckpointConfig,
    private readonly job: { readonly jobId: string; readonly jobName: string },
    private readonly storeOptions: OpenStoreOptions = {},
  ) {}

  /** Starts periodic checkpoints for a new attempt (pending ones of the last attempt are gone). */
  start(attempt: AttemptHandle): void {
    this.stop();
    this.#attempt = attempt;
    if (this.config.interval !== null) this.#schedule(this.config.interval);
  }

  /** Stops triggering and aborts what is pending (the attempt ended). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#attempt = undefined;
    for (const id of [...this.#pending.keys()]) void this.#abort(id, 'job-ended');
  }

  target(checkpointId: number): CheckpointTarget | undefined {
    const pending = this.#pending.get(checkpointId);
    return pending === undefined ? undefined : { checkpointId, savepoint: false, store: pending.store };
  }

  acknowledge(ack: SubtaskAck): void {
    const pending = this.#pending.get(ack.checkpointId);
    // An ack for an aborted checkpoint: its files went with the directory, or are garbage beside no _metadata.
    if (pending === undefined) return;
    pending.acks.push(ack);
    if (pending.acks.length === this.#attempt?.subtaskCount) void this.#complete(pending);
  }

  decline(checkpointId: number, reason: unknown): void {
    if (!this.#pending.has(checkpointId)) return;
    void this.#fail(checkpointId, 'declined', reason);
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => void this.#tick(), delay);
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined) return;
    const now = Date.now();
    for (const id of expiredCheckpoints(this.config, [...this.#pending.values()], now)) await this.#fail(id, 'expired', new Error('expired'));
    if (!attempt.canCheckpoint()) return; // a bounded source finished: no more barriers can flow
    const decision = decideTrigger(this.config, {
      now,
      pending: [...this.#pending.values()],
      lastCompletedEndTime: this.#lastCompletedEnd,
      nextIdCandidate: toCheckpointId(this.#nextId),
      request: 'periodic',
    });
    if (decision.kind === 'trigger') {
      await this.#trigger(decision.checkpointId, now).catch((err: unknown) => this.#fail(decision.checkpointId, 'storage', err));
      this.#schedule(this.config.interval ?? 0);
    } else if (decision.kind === 'wait') {
      this.#schedule(Math.max(1, decision.until - now));
    }
  }

  async #trigger(id: CheckpointId, now: number): Promise<void> {
    this.#nextId = id + 1;
    const dir = this.config.dir;
    if (dir === null) throw new UserError('checkpointing is enabled but no checkpoint directory is set (execution.checkpointing.dir)');
    const location = `${dir.replace(/\/+$/, '')}/${this.job.jobId}/${checkpointDirName(id)}`;
    const store = await openStore(location, this.storeOptions);
    this.#pending.set(id, { id, kind: 'checkpoint', triggeredAt: now, location, store, acks: [] });
    this.#attempt?.injectBarrier(id);
  }

  async #complete(pending: Pending): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined || !this.#pending.has(pending.id)) return;
    this.#pending.delete(pending.id);
    try {
      const writer = new SnapshotWriter(pending.store, { kind: 'checkpoint', type: 'canonical', jobId: this.job.jobId, jobName: this.job.jobName, checkpointId: pending.id, createdAt: pending.triggeredAt });
      for (const n of attempt.nodes) writer.addOperator({ uid: n.uid, name: n.name, parallelism: n.parallelism, maxParallelism: n.maxParallelism });
      for (const ack of pending.acks) {
        writer.addFile(ack.file);
        for (const op of ack.operators) {
          for (const state of op.keyed) writer.addKeyedState(op.uid, state.info, state.blocks);
          for (const part of op.operator) writer.addOperatorState(op.uid, part.info, ack.subtask, part.block);
        }
      }
      await writer.finish({ async: Date.now() - pending.triggeredAt });
    } catch (err) {
      this.#pending.set(pending.id, pending);
      await this.#fail(pending.id, 'storage', err);
      return;
    }
    const now = Date.now();
    const outcome = onCheckpointCompleted({ now, completed: { id: pending.id, kind: 'checkpoint' }, pending: [...this.#pending.values()], counter: this.#counter });
    this.#counter = outcome.counter;
    this.#lastCompletedEnd = outcome.lastCompletedEndTime;
    for (const id of outcome.subsumed) await this.#abort(id, 'subsumed');
    this.completed.push({ id: pending.id, location: pending.location, completedAt: now });
    if (outcome.notifyTasks) attempt.notifyComplete(pending.id);
    const discard = new Set<number>(checkpointsToDiscard(this.config, this.completed.map((c) => ({ id: c.id, isSavepoint: false }))));
    for (const c of this.completed.filter((c) => discard.has(c.id))) await this.#deleteDirectory(c.location);
    this.completed.splice(0, this.completed.length, ...this.completed.filter((c) => !discard.has(c.id)));
  }

  async #fail(id: CheckpointId | number, reason: CheckpointFailureReason, cause: unknown): Promise<void> {
    if (!this.#pending.has(id)) return;
    await this.#abort(id, reason);
    const outcome = onCheckpointFailure(this.config, this.#counter, { checkpointId: toCheckpointId(id), snapshot: 'checkpoint', reason });
    this.#counter = outcome.counter;
    if (outcome.failJob) {
      const message = cause instanceof Error ? cause.message : String(cause);
      this.#attempt?.fail(new UserError(`Exceeded checkpoint tolerable failure threshold. The last failure: checkpoint ${id} ${reason}: ${message}`));
    }
  }

  async #abort(id: number, _reason: string): Promise<void> {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    this.#attempt?.notifyAborted(id);
    await this.#deleteDirectory(pending.location).catch(() => undefined);
  }

  async #deleteDirectory(location: string): Promise<void> {
    const store = await openStore(location, this.storeOptions);
    for await (const { key } of store.list('')) await store.delete(key);
  }
}
