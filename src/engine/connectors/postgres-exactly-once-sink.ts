/**
 * Exactly-once into a PostgreSQL table with prepared transactions (two-phase commit, as Flink's
 * JDBC XA sink). Per subtask, between two checkpoints:
 *
 * - open: rows are buffered and inserted in batches (multi-row INSERTs) inside one transaction,
 *   invisible to readers;
 * - pre-commit (the checkpoint barrier): the rest is inserted, the transaction's gid is recorded
 *   in the committed table in the same transaction, and `PREPARE TRANSACTION '<gid>'` makes it
 *   durable on the server, surviving this process and the server's restarts;
 * - commit (the checkpoint completed): `COMMIT PREPARED '<gid>'`, and the rows appear at once.
 *
 * Two connections per subtask: one writes, one commits. COMMIT PREPARED cannot run inside a
 * transaction block, and the writing connection is inside one whenever a batch went out since
 * the last checkpoint.
 *
 * A commit is idempotent: a gid no longer prepared but in the committed table was committed
 * already; one in neither was rolled back outside the job, and the commit fails rather than lose
 * data silently. Recovery (which strays to roll back) is in postgres-recovery.ts; gids are
 * derived in postgres-transaction-id.ts.
 */
import type { Client } from 'pg';
import { pgModule } from './pg-module.ts';
import { InternalError, UserError } from '../../errors.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { OperatorListState } from '../state/operator-state-store.ts';
import { CommittedTable, DEFAULT_COMMITTED_TABLE } from './postgres-committed-table.ts';
import { type ConnectionOwner, closeEarlierAttempts, connect, redact, release } from './postgres-connections.ts';
import { type SinkCheckpointFacts, restoredFacts, straysToRollBack } from './postgres-recovery.ts';
import { type TableSpec, batchSizeOf, checkStatement, checkedRow, insertStatement, rejectedRows, rowsPerStatement, sqlState, tableSpec } from './postgres-sql.ts';
import { formatTransactionId } from './postgres-transaction-id.ts';
import { TwoPhaseCommitSink } from './two-phase-commit-sink.ts';

const SINK = 'postgres sink';

export interface PostgresExactlyOnceOptions<T> {
  readonly connectionString: string;
  /** An existing table: `name` or `schema.name`, as written (case-sensitive). */
  readonly table: string;
  readonly columns: readonly string[];
  /** One value per column, in the order of `columns`. */
  readonly row: (value: T) => readonly unknown[];
  /** Created if missing; default `tsflink_committed_transactions`. */
  readonly committedTable?: string;
  /** Rows per INSERT statement; default 500. */
  readonly batchSize?: number;
}

/** Plain data: it is stored in checkpoints. */
export interface PostgresTransaction {
  /** Set at pre-commit; stays null for a transaction without rows (nothing to prepare or commit). */
  gid: string | null;
  rows: number;
}

/** `42704`: no prepared transaction of that gid. */
const UNDEFINED_OBJECT = '42704';

export class PostgresExactlyOnceSink<T> extends TwoPhaseCommitSink<T, PostgresTransaction> {
  readonly #options: PostgresExactlyOnceOptions<T>;
  readonly #table: TableSpec;
  readonly #committed: CommittedTable;
  readonly #rowsPerStatement: number;
  #owner: ConnectionOwner | undefined;
  #data: Client | undefined;
  #control: Client | undefined;
  #buffer: (readonly unknown[])[] = [];
  /** Whether the writing connection has a transaction block open (BEGIN went out). */
  #inBlock = false;
  #current: PostgresTransaction | undefined;
  /** The last checkpoint this subtask snapshotted or was restored from: names the end-of-input gid. */
  #lastCheckpoint = 0;
  #facts!: OperatorListState<SinkCheckpointFacts>;

  constructor(options: PostgresExactlyOnceOptions<T>) {
    super();
    this.#options = options;
    this.#table = tableSpec(SINK, options.table, options.columns);
    this.#committed = new CommittedTable(options.committedTable ?? DEFAULT_COMMITTED_TABLE, SINK);
    this.#rowsPerStatement = rowsPerStatement(batchSizeOf(SINK, options.batchSize), options.columns.length);
  }

  override async initializeState(context: { isRestored: boolean; runtime: RuntimeContext }): Promise<void> {
    const { runtime } = context;
    this.runtime = runtime;
    this.#owner = runtime;
    await closeEarlierAttempts(runtime);
    try {
      await this.#start(context);
    } catch (err) {
      await this.close(); // nothing else closes a sink whose start failed
      throw err;
    }
  }

  async #start(context: { isRestored: boolean; runtime: RuntimeContext }): Promise<void> {
    const { runtime, isRestored } = context;
    this.#control = await connect(this.#options.connectionString, runtime, SINK);
    this.#data = await connect(this.#options.connectionString, runtime, SINK);
    await this.#checkServer();
    await this.#committed.ensure(this.#control);
    await checkStatement(this.#control, SINK, this.#table, insertStatement(this.#table, 1));

    this.#facts = runtime.operatorState.getUnionListState<SinkCheckpointFacts>('postgres-transactions');
    const restored = restoredFacts(this.#facts.get());
    this.#lastCheckpoint = restored.checkpointId;
    // A fresh first attempt leaves prepared transactions alone: they may be another job's.
    if (isRestored || runtime.attemptNumber > 0) await this.#rollBackStrays([runtime.jobId, ...restored.jobIds], restored.pending);
    this.#facts.clear();
    // The base commits the restored pending transactions, then begins the first one.
    await super.initializeState(context);
  }

  override async snapshotState(context: { checkpointId: number }): Promise<void> {
    await super.snapshotState(context); // pre-commits the open transaction and begins the next
    const pending = this.pendingTransactions.flatMap((p) => (p.transaction.gid === null ? [] : [p.transaction.gid]));
    this.#facts.update([{ subtask: this.runtime.subtaskIndex, jobId: this.runtime.jobId, checkpointId: context.checkpointId, pending }]);
  }

  protected beginTransaction(): PostgresTransaction {
    // BEGIN waits for the first batch: a checkpoint interval without rows costs no round trip.
    this.#buffer = [];
    this.#current = { gid: null, rows: 0 };
    return this.#current;
  }

  protected write(transaction: PostgresTransaction, value: T): Promise<void> | void {
    this.#buffer.push(checkedRow(SINK, this.#table, this.#options.row(value)));
    transaction.rows += 1;
    if (this.#buffer.length >= this.#rowsPerStatement) return this.#flush();
  }

  protected async preCommit(transaction: PostgresTransaction, checkpointId: number | null): Promise<void> {
    await this.#flush();
    const after = this.#lastCheckpoint;
    if (checkpointId !== null) this.#lastCheckpoint = checkpointId;
    if (transaction.rows === 0) return;
    const { jobId, operatorUid, subtaskIndex } = this.runtime;
    const point = checkpointId === null ? ({ kind: 'end-of-input', after } as const) : ({ kind: 'checkpoint', checkpointId } as const);
    const gid = formatTransactionId(jobId, operatorUid, subtaskIndex, point);
    const data = this.#connection(this.#data);
    await this.#committed.record(data, { gid, jobId, operator: operatorUid, subtask: subtaskIndex, checkpointId });
    await data.query(`PREPARE TRANSACTION ${pgModule().escapeLiteral(gid)}`);
    this.#inBlock = false;
    transaction.gid = gid;
  }

  protected async commit(transaction: PostgresTransaction): Promise<void> {
    const { gid } = transaction;
    if (gid === null) return; // no rows: nothing was prepared
    if (typeof gid !== 'string') throw new UserError(`${SINK}: restored transaction ${JSON.stringify(transaction)} is not a postgres sink transaction; was the sink's uid reused for another sink?`);
    const control = this.#connection(this.#control);
    try {
      await control.query(`COMMIT PREPARED ${pgModule().escapeLiteral(gid)}`);
      return;
    } catch (err) {
      if (sqlState(err) !== UNDEFINED_OBJECT) throw err;
    }
    if (await this.#committed.has(control, gid)) return; // committed already: a retry, or a replay on restore
    throw new UserError(`${SINK}: cannot commit transaction '${gid}': it is neither prepared nor recorded in ${this.#committed.name}; was it rolled back outside the job?`);
  }

  protected async abort(transaction: PostgresTransaction): Promise<void> {
    if (transaction.gid !== null) {
      await this.#rollBackPrepared(transaction.gid);
    } else if (transaction === this.#current) {
      this.#buffer = [];
      if (this.#inBlock) await this.#connection(this.#data).query('ROLLBACK');
      this.#inBlock = false;
    }
  }

  override async close(): Promise<void> {
    // Ending the connection rolls back an open transaction; prepared ones stay for the next attempt.
    const clients = [this.#data, this.#control];
    this.#data = undefined;
    this.#control = undefined;
    const owner = this.#owner;
    if (owner !== undefined) await Promise.all(clients.map((c) => release(owner, c)));
  }

  async #flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const data = this.#connection(this.#data);
    if (!this.#inBlock) {
      await data.query('BEGIN');
      this.#inBlock = true;
    }
    while (this.#buffer.length > 0) {
      const rows = this.#buffer.splice(0, this.#rowsPerStatement);
      await data.query(insertStatement(this.#table, rows.length), rows.flat()).catch((err: unknown) => Promise.reject(rejectedRows(SINK, this.#table, err)));
    }
  }

  async #rollBackStrays(jobIds: readonly string[], keep: ReadonlySet<string>): Promise<void> {
    const control = this.#connection(this.#control);
    const { rows } = await control.query<{ gid: string }>("SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, 'tsflink:')");
    const { operatorUid, subtaskIndex, parallelism } = this.runtime;
    const strays = straysToRollBack({ prepared: rows.map((r) => r.gid), jobIds, operatorUid, subtaskIndex, parallelism, keep });
    for (const gid of strays) await this.#rollBackPrepared(gid);
  }

  async #rollBackPrepared(gid: string): Promise<void> {
    try {
      await this.#connection(this.#control).query(`ROLLBACK PREPARED ${pgModule().escapeLiteral(gid)}`);
    } catch (err) {
      if (sqlState(err) !== UNDEFINED_OBJECT) throw err; // gone already
    }
  }

  /** Prepared transactions are off by default in PostgreSQL; say so before any data flows. */
  async #checkServer(): Promise<void> {
    const { rows } = await this.#connection(this.#control).query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions');
    if (Number(rows[0]?.max_prepared_transactions ?? 0) === 0) {
      throw new UserError(`${SINK}: the PostgreSQL server at ${redact(this.#options.connectionString)} has max_prepared_transactions = 0; set it (e.g. to 64) in postgresql.conf and restart it, or use PostgresSink.upsert`);
    }
  }

  #connection(client: Client | undefined): Client {
    if (client === undefined) throw new InternalError(`${SINK}: table ${this.#table.name}: used after close()`);
    return client;
  }
}
