import { TwoPhaseCommitSink } from '../../src/engine/connectors/two-phase-commit-sink.ts';

/**
 * An "external system" in memory with transactions, for exactly-once tests: writes go to an open
 * transaction, only committed transactions are visible, and committing twice is harmless.
 */
export class MemoryTransactionalStore<T> {
  readonly open = new Map<string, T[]>();
  readonly committed = new Map<string, T[]>();

  /** Everything committed, in commit order. */
  all(): T[] {
    return [...this.committed.values()].flat();
  }
}

interface Txn {
  readonly id: string;
}

export class MemoryTransactionalSink<T> extends TwoPhaseCommitSink<T, Txn> {
  #counter = 0;
  constructor(private readonly store: MemoryTransactionalStore<T>) {
    super();
  }
  protected beginTransaction(): Txn {
    const id = `${this.runtime.jobId}-a${this.runtime.attemptNumber}-s${this.runtime.subtaskIndex}-t${this.#counter++}`;
    this.store.open.set(id, []);
    return { id };
  }
  protected write(txn: Txn, value: T): void {
    this.store.open.get(txn.id)!.push(value);
  }
  protected preCommit(): void {}
  protected commit(txn: Txn): void {
    const records = this.store.open.get(txn.id);
    if (records === undefined) return; // committed already (a retry after a restore)
    this.store.open.delete(txn.id);
    this.store.committed.set(txn.id, records);
  }
  protected abort(txn: Txn): void {
    this.store.open.delete(txn.id);
  }
}
