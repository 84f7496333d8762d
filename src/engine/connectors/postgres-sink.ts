/**
 * Sinks into a PostgreSQL table, in two modes:
 *
 * - `PostgresSink.exactlyOnce`: each checkpoint's rows in one prepared transaction, committed
 *   when the checkpoint completes (two-phase commit). Readers see only committed checkpoints;
 *   nothing is lost or doubled by failures. Needs `max_prepared_transactions > 0` on the server.
 * - `PostgresSink.upsert`: rows written by key (INSERT ... ON CONFLICT DO UPDATE) in batches and
 *   at every checkpoint; a replay after a failure overwrites the same keys with the same rows.
 *   Any table with a unique key, no server setting; readers see rows as soon as they are written.
 *
 * Both return a factory for `stream.sinkTo(...)`: each subtask gets its own sink and connection.
 */
import { PostgresExactlyOnceSink, type PostgresExactlyOnceOptions } from './postgres-exactly-once-sink.ts';
import { PostgresUpsertSink, type PostgresUpsertOptions } from './postgres-upsert-sink.ts';

export type { PostgresExactlyOnceOptions, PostgresTransaction } from './postgres-exactly-once-sink.ts';
export type { PostgresUpsertOptions } from './postgres-upsert-sink.ts';
export { PostgresExactlyOnceSink, PostgresUpsertSink };

export class PostgresSink {
  private constructor() {}

  static exactlyOnce<T>(options: PostgresExactlyOnceOptions<T>): () => PostgresExactlyOnceSink<T> {
    new PostgresExactlyOnceSink<T>(options); // checks the options now, where the job is built
    return () => new PostgresExactlyOnceSink<T>(options);
  }

  static upsert<T>(options: PostgresUpsertOptions<T>): () => PostgresUpsertSink<T> {
    new PostgresUpsertSink<T>(options); // checks the options now, where the job is built
    return () => new PostgresUpsertSink<T>(options);
  }
}
