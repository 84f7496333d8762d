/**
 * The base of exactly-once sinks (Flink's TwoPhaseCommitSinkFunction): records go into an open
 * transaction; at a checkpoint the transaction is pre-committed and filed under the checkpoint id
 * in operator state, and a new one opens; when the checkpoint completes, every pending
 * transaction up to it is committed. On restore, the pending transactions of the checkpoint are
 * committed (so commits must be idempotent) and anything else is abandoned.
 */
import type { CheckpointListener, CheckpointedFunction } from '../api/functions.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { SinkFunction } from '../runtime/operators.ts';
import type { OperatorListState } from '../state/operator-state-store.ts';

interface PendingTransaction<TXN> {
  readonly checkpointId: number;
  readonly transaction: TXN;
}

export abstract class TwoPhaseCommitSink<T, TXN> implements SinkFunction<T>, CheckpointedFunction, CheckpointListener {
  #state!: OperatorListState<PendingTransaction<TXN>>;
  #pending: PendingTransaction<TXN>[] = [];
  #current: TXN | undefined;
  protected runtime!: RuntimeContext;

  /** Opens a transaction; it must be plain data (it is stored in checkpoints). */
  protected abstract beginTransaction(): TXN | Promise<TXN>;
  protected abstract write(transaction: TXN, value: T): void | Promise<void>;
  /** Makes the transaction durable and ready to commit; no more writes follow. */
  protected abstract preCommit(transaction: TXN): void | Promise<void>;
  /** Publishes it. Called again for the same transaction after a failure: must be idempotent. */
  protected abstract commit(transaction: TXN): void | Promise<void>;
  protected abstract abort(transaction: TXN): void | Promise<void>;

  async initializeState({ isRestored, runtime }: { isRestored: boolean; runtime: RuntimeContext }): Promise<void> {
    this.runtime = runtime;
    this.#state = runtime.operatorState.getListState<PendingTransaction<TXN>>('pending-transactions');
    if (isRestored) {
      for (const pending of this.#state.get()) await this.commit(pending.transaction);
    }
    this.#state.clear();
    this.#current = await this.beginTransaction();
  }

  async invoke(value: T): Promise<void> {
    await this.write(this.#current as TXN, value);
  }

  async snapshotState({ checkpointId }: { checkpointId: number }): Promise<void> {
    const transaction = this.#current as TXN;
    await this.preCommit(transaction);
    this.#pending.push({ checkpointId, transaction });
    this.#state.update(this.#pending);
    this.#current = await this.beginTransaction();
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const done = this.#pending.filter((p) => p.checkpointId <= checkpointId);
    for (const p of done) await this.commit(p.transaction);
    this.#pending = this.#pending.filter((p) => p.checkpointId > checkpointId);
  }

  /** End of a bounded input: the last transaction is committed directly. */
  async finish(): Promise<void> {
    const transaction = this.#current as TXN;
    await this.preCommit(transaction);
    for (const p of this.#pending) await this.commit(p.transaction);
    this.#pending = [];
    await this.commit(transaction);
  }

  async close(): Promise<void> {}
}
