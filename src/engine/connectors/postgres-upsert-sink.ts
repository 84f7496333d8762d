/**
 * Idempotent writes into a PostgreSQL table by key: `INSERT ... ON CONFLICT (key) DO UPDATE`.
 * Not transactional: rows go out in batches and at every checkpoint barrier, so no checkpoint
 * completes while rows before it are only in memory (at-least-once). After a failure the rows
 * since the checkpoint are written again, and since a replay writes the same row for the same
 * key, the table ends as it would without the failure. Readers may see a key go back to an older
 * value while the replay catches up.
 */
import type { Client } from 'pg';
import { InternalError, UserError } from '../../errors.ts';
import type { CheckpointedFunction } from '../api/functions.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { SinkFunction } from '../runtime/operators.ts';
import { type ConnectionOwner, closeEarlierAttempts, connect, release } from './postgres-connections.ts';
import { type TableSpec, batchSizeOf, checkStatement, checkedRow, rejectedRows, rowsPerStatement, sqlState, tableSpec, upsertStatement } from './postgres-sql.ts';

const SINK = 'postgres upsert sink';

export interface PostgresUpsertOptions<T> {
  readonly connectionString: string;
  /** An existing table with a unique index or constraint on `key`: `name` or `schema.name`. */
  readonly table: string;
  readonly columns: readonly string[];
  /** The columns that identify a row (some of `columns`). */
  readonly key: readonly string[];
  /** One value per column, in the order of `columns`. */
  readonly row: (value: T) => readonly unknown[];
  /** Rows per statement; default 500. */
  readonly batchSize?: number;
}

/** `21000`: ON CONFLICT DO UPDATE met the same key twice in one statement. */
const CARDINALITY_VIOLATION = '21000';

export class PostgresUpsertSink<T> implements SinkFunction<T>, CheckpointedFunction {
  readonly #options: PostgresUpsertOptions<T>;
  readonly #table: TableSpec;
  readonly #key: readonly string[];
  readonly #keyIndices: readonly number[];
  readonly #rowsPerStatement: number;
  #owner: ConnectionOwner | undefined;
  #client: Client | undefined;
  /** Buffered rows by key: the last row of a key replaces earlier ones, as the table would. */
  #buffer = new Map<string, readonly unknown[]>();

  constructor(options: PostgresUpsertOptions<T>) {
    this.#options = options;
    this.#table = tableSpec(SINK, options.table, options.columns);
    if (options.key.length === 0) throw new UserError(`${SINK}: no key columns for table ${options.table}; name the columns of its primary key or unique index`);
    const missing = options.key.filter((k) => !options.columns.includes(k));
    if (missing.length > 0) throw new UserError(`${SINK}: key column ${missing.join(', ')} is not among the columns of table ${options.table}; add it to columns`);
    this.#key = options.key;
    this.#keyIndices = options.key.map((k) => options.columns.indexOf(k));
    this.#rowsPerStatement = rowsPerStatement(batchSizeOf(SINK, options.batchSize), options.columns.length);
  }

  async initializeState({ runtime }: { isRestored: boolean; runtime: RuntimeContext }): Promise<void> {
    this.#owner = runtime;
    await closeEarlierAttempts(runtime);
    this.#client = await connect(this.#options.connectionString, runtime, SINK);
    try {
      await checkStatement(this.#client, SINK, this.#table, upsertStatement(this.#table, this.#key, 1), this.#key);
    } catch (err) {
      await this.close(); // nothing else closes a sink whose start failed
      throw err;
    }
  }

  invoke(value: T): Promise<void> | void {
    const row = checkedRow(SINK, this.#table, this.#options.row(value));
    const key = keyString(this.#keyIndices.map((i) => row[i]));
    this.#buffer.delete(key); // re-inserted last, so the buffer keeps arrival order
    this.#buffer.set(key, row);
    if (this.#buffer.size >= this.#rowsPerStatement) return this.#flush();
  }

  /** Every row before the barrier is in the table before the checkpoint can complete. */
  async snapshotState(): Promise<void> {
    await this.#flush();
  }

  async finish(): Promise<void> {
    await this.#flush();
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (this.#owner !== undefined) await release(this.#owner, client);
  }

  async #flush(): Promise<void> {
    if (this.#buffer.size === 0) return;
    const client = this.#client;
    if (client === undefined) throw new InternalError(`${SINK}: table ${this.#table.name}: rows written after close()`);
    const rows = [...this.#buffer.values()];
    this.#buffer = new Map();
    for (let i = 0; i < rows.length; i += this.#rowsPerStatement) {
      const batch = rows.slice(i, i + this.#rowsPerStatement);
      try {
        await client.query(upsertStatement(this.#table, this.#key, batch.length), batch.flat());
      } catch (err) {
        if (sqlState(err) !== CARDINALITY_VIOLATION) throw rejectedRows(SINK, this.#table, err);
        // Keys distinct here can be equal to the server (a case-insensitive collation, citext):
        // one row per statement then, in order. A refused statement changed nothing.
        for (const row of batch) await client.query(upsertStatement(this.#table, this.#key, 1), [...row]).catch((e: unknown) => Promise.reject(rejectedRows(SINK, this.#table, e)));
      }
    }
  }
}

/** Equal keys give equal strings (bigint and Date included), so the buffer holds one row per key. */
function keyString(values: readonly unknown[]): string {
  return JSON.stringify(values, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}
