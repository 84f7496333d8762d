/**
 * The base of exactly-once sinks (Flink's TwoPhaseCommitSinkFunction): records go into an open
 * transaction; at a checkpoint the transaction is pre-committed and filed under the checkpoint id
 * in operator state, and a new one opens; when the checkpoint completes, every pending
 * transaction up to it is committed. On restore, the pending transactions of the checkpoint are
 * committed (so commits must be idempotent) and anything else is abandoned.
 */
import type { CheckpointListener, CheckpointedFunction } from '../api/functions.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import { faultPoint } from '../runtime/fault-points.ts';
import type { SinkFunction } from '../runtime/operators.ts';
import type { OperatorListState } from '../state/operator-state-store.ts';

export interface PendingTransaction<TXN> {
  readonly checkpointId: number;
  readonly transaction: TXN;
}

export abstract class TwoPhaseCommitSink<T, TXN> implements SinkFunction<T>, CheckpointedFunction, CheckpointListener {
  #state!: OperatorListState<PendingTransaction<TXN>>;
  #pending: PendingTransaction<TXN>[] = [];
  #current: TXN | undefined;
  #finished = false;
  /** Pre-committed at the end of input, waiting for the next checkpoint. */
  #last: TXN | undefined;
  protected runtime!: RuntimeContext;

  /** Opens a transaction; it must be plain data (it is stored in checkpoints). */
  protected abstract beginTransaction(): TXN | Promise<TXN>;
  protected abstract write(transaction: TXN, value: T): void | Promise<void>;
  /**
   * Makes the transaction durable and ready to commit; no more writes follow. `checkpointId` is
   * the checkpoint it is filed under, or null at the end of input (pre-committed before the id of
   * the final checkpoint is known): sinks that name transactions after checkpoints need it.
   */
  protected abstract preCommit(transaction: TXN, checkpointId: number | null): void | Promise<void>;
  /** Publishes it. Called again for the same transaction after a failure: must be idempotent. */
  protected abstract commit(transaction: TXN): void | Promise<void>;
  protected abstract abort(transaction: TXN): void | Promise<void>;

  async initializeState({ isRestored, runtime }: { isRestored: boolean; runtime: RuntimeContext }): Promise<void> {
    this.runtime = runtime;
    this.#state = runtime.operatorState.getListState<PendingTransaction<TXN>>('pending-transactions');
    if (isRestored) {
      for (const pending of this.#state.get()) {
        await this.commit(pending.transaction);
        faultPoint('sink-restore');
      }
    }
    this.#state.clear();
    this.#current = await this.beginTransaction();
  }

  /** Pre-committed, not yet committed: after snapshotState, exactly what the checkpoint holds. */
  protected get pendingTransactions(): readonly PendingTransaction<TXN>[] {
    return this.#pending;
  }

  async invoke(value: T): Promise<void> {
    await this.write(this.#current as TXN, value);
  }

  async snapshotState({ checkpointId }: { checkpointId: number }): Promise<void> {
    if (this.#finished) {
      // The last transaction, pre-committed at the end of input, joins the first checkpoint after it.
      if (this.#last !== undefined) this.#pending.push({ checkpointId, transaction: this.#last });
      this.#last = undefined;
      this.#state.update(this.#pending);
      return;
    }
    const transaction = this.#current as TXN;
    await this.preCommit(transaction, checkpointId);
    this.#pending.push({ checkpointId, transaction });
    this.#state.update(this.#pending);
    this.#current = await this.beginTransaction();
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const done = this.#pending.filter((p) => p.checkpointId <= checkpointId);
    for (const p of done) {
      await this.commit(p.transaction);
      faultPoint('sink-commit');
    }
    this.#pending = this.#pending.filter((p) => p.checkpointId > checkpointId);
  }

  /**
   * End of a bounded input. With checkpointing, the last transaction is pre-committed and
   * committed when the job's final checkpoint completes (as Flink since FLIP-147), so a failure
   * before that replays it instead of doubling it. Without checkpointing nothing can replay, and
   * everything is committed now.
   */
  async finish(): Promise<void> {
    const transaction = this.#current as TXN;
    this.#current = undefined;
    this.#finished = true;
    await this.preCommit(transaction, null);
    if (this.runtime.checkpointingEnabled) {
      this.#last = transaction;
      return;
    }
    for (const p of this.#pending) await this.commit(p.transaction);
    this.#pending = [];
    await this.commit(transaction);
  }

  async close(): Promise<void> {}
}
