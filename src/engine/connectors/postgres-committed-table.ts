/**
 * The exactly-once sink's record of its transactions: one row per prepared transaction, inserted
 * inside that transaction, so the row exists exactly when the transaction's data is committed.
 * A commit that finds its gid no longer prepared looks here to tell "committed already" (a retry,
 * or a replay on restore) from "lost" (rolled back by someone else).
 */
import type { Client } from 'pg';
import { UserError } from '../../errors.ts';
import { quotedTableName, sqlState } from './postgres-sql.ts';

export const DEFAULT_COMMITTED_TABLE = 'tsflink_committed_transactions';

export class CommittedTable {
  readonly #sql: string;

  constructor(
    readonly name: string,
    private readonly sink: string,
  ) {
    this.#sql = quotedTableName(sink, 'committedTable', name);
  }

  /**
   * Creates the table if it is missing. Concurrent CREATE TABLE IF NOT EXISTS can still collide
   * in the catalog, so subtasks take turns under an advisory lock named after the table.
   * `committed_at` is when the transaction began: a transaction cannot know its commit time.
   */
  async ensure(client: Client): Promise<void> {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tsflink committed table ${this.name}`]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#sql} (gid text PRIMARY KEY, job_id text NOT NULL, operator text NOT NULL, ` +
          'subtask integer NOT NULL, checkpoint_id bigint, committed_at timestamptz NOT NULL DEFAULT now())',
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (sqlState(err) === '42501') {
        throw new UserError(`${this.sink}: cannot create table ${this.name}: ${(err as Error).message}; create it or grant CREATE to the sink's user`, undefined, { cause: err });
      }
      throw err;
    }
  }

  /** Inside the transaction it records; checkpointId is null for an end-of-input transaction. */
  async record(client: Client, row: { gid: string; jobId: string; operator: string; subtask: number; checkpointId: number | null }): Promise<void> {
    await client.query(`INSERT INTO ${this.#sql} (gid, job_id, operator, subtask, checkpoint_id) VALUES ($1, $2, $3, $4, $5)`, [row.gid, row.jobId, row.operator, row.subtask, row.checkpointId]);
  }

  async has(client: Client, gid: string): Promise<boolean> {
    const result = await client.query(`SELECT 1 FROM ${this.#sql} WHERE gid = $1`, [gid]);
    return (result.rowCount ?? 0) > 0;
  }
}
