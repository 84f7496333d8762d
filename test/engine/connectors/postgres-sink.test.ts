/**
 * The PostgreSQL sinks driven by hand, as the engine drives them, against a real server: rows
 * are invisible until their checkpoint completes, commits are idempotent, a restore commits what
 * the checkpoint pre-committed and rolls back what a failed attempt prepared after it (at any
 * parallelism, never a gid another subtask will commit), and user mistakes are one-line errors.
 * After every test no prepared transaction and no sink connection is left.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntimeContext } from '../../../src/engine/api/runtime-context.ts';
import { PostgresExactlyOnceSink, PostgresSink, PostgresUpsertSink } from '../../../src/engine/connectors/postgres-sink.ts';
import { formatTransactionId } from '../../../src/engine/connectors/postgres-transaction-id.ts';
import { OperatorStateStore, type OperatorStateSnapshot } from '../../../src/engine/state/operator-state-store.ts';
import { UserError } from '../../../src/errors.ts';
import { type PostgresTestServer, startPostgres } from '../../support/postgres.ts';

let server: PostgresTestServer;
let db: pg.Client;
beforeAll(async () => {
  server = await startPostgres();
  db = new pg.Client({ connectionString: server.connectionString });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
});
afterEach(async () => {
  const left = await prepared();
  // Cleaned up before failing, so one test's leftovers cannot fail the next.
  for (const g of left) await db.query(`ROLLBACK PREPARED ${pg.escapeLiteral(g)}`);
  expect(left).toEqual([]);
  // A backend ends a moment after its client: wait for the sink's connections to go.
  for (let i = 0; i < 100 && (await sinkConnections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await sinkConnections()).toBe(0);
});

const UID = 'pg-sink';

async function prepared(): Promise<string[]> {
  return (await db.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts ORDER BY gid')).rows.map((r) => r.gid);
}
async function sinkConnections(): Promise<number> {
  return Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'tsflink %'")).rows[0]!.n);
}
async function visible(table: string): Promise<string[]> {
  return (await db.query<{ v: string }>(`SELECT v FROM ${table} ORDER BY v`)).rows.map((r) => r.v);
}
const gid = (job: string, subtask: number, checkpointId: number): string => formatTransactionId(job, UID, subtask, { kind: 'checkpoint', checkpointId });

interface StartOptions {
  readonly subtask?: number;
  readonly parallelism?: number;
  readonly attempt?: number;
  readonly restore?: OperatorStateStore;
}

function runtimeFor(job: string, store: OperatorStateStore, options: StartOptions) {
  const info = { jobId: job, operatorUid: UID, taskName: 'Sink', subtaskIndex: options.subtask ?? 0, parallelism: options.parallelism ?? 1, maxParallelism: 128, attemptNumber: options.attempt ?? 0, checkpointingEnabled: true };
  return createRuntimeContext(info, undefined, store);
}

async function start(job: string, table: string, options: StartOptions = {}): Promise<{ sink: PostgresExactlyOnceSink<string>; store: OperatorStateStore }> {
  const store = options.restore ?? new OperatorStateStore(UID);
  const sink = PostgresSink.exactlyOnce<string>({ connectionString: server.connectionString, table, columns: ['v'], row: (v) => [v], batchSize: 2 })();
  await sink.initializeState({ isRestored: options.restore !== undefined, runtime: runtimeFor(job, store, options) });
  return { sink, store };
}

/** The state a restored subtask gets: the union state of every snapshot, the pending transactions of some. */
function restoredFrom(union: readonly OperatorStateSnapshot[], split: readonly OperatorStateSnapshot[]): OperatorStateStore {
  const store = new OperatorStateStore(UID);
  for (const snapshot of union) {
    for (const s of snapshot.states) {
      if (s.kind === 'list' && (s.info.mode === 'union' || split.includes(snapshot))) store.restoreList(s.info, s.elements);
    }
  }
  return store;
}

async function write(sink: { invoke(v: string, c: { timestamp: null }): Promise<void> }, ...values: string[]): Promise<void> {
  for (const v of values) await sink.invoke(v, { timestamp: null });
}

async function createTable(name: string): Promise<void> {
  await db.query(`CREATE TABLE ${name} (v text)`);
}

describe('PostgresSink.exactlyOnce', () => {
  it('prepares at the checkpoint, commits on completion, idempotently; readers see only committed rows', async () => {
    await createTable('lifecycle');
    const { sink } = await start('job-1', 'lifecycle');
    await write(sink, 'a', 'b', 'c'); // a batch of 2 went out, inside the open transaction
    expect(await visible('lifecycle')).toEqual([]);
    await sink.snapshotState({ checkpointId: 1 });
    expect(await prepared()).toEqual([gid('job-1', 0, 1)]);
    expect(await visible('lifecycle')).toEqual([]);
    await sink.notifyCheckpointComplete(1);
    await sink.notifyCheckpointComplete(1); // a retried notification
    expect(await visible('lifecycle')).toEqual(['a', 'b', 'c']);
    const recorded = await db.query('SELECT gid, job_id, operator, subtask, checkpoint_id FROM tsflink_committed_transactions WHERE job_id = $1', ['job-1']);
    expect(recorded.rows).toEqual([{ gid: gid('job-1', 0, 1), job_id: 'job-1', operator: UID, subtask: 0, checkpoint_id: '1' }]);

    await sink.snapshotState({ checkpointId: 2 }); // no rows: nothing to prepare
    expect(await prepared()).toEqual([]);
    await sink.notifyCheckpointComplete(2);

    await write(sink, 'd');
    await sink.finish(); // the end of input pre-commits, before the final checkpoint's id exists
    const last = formatTransactionId('job-1', UID, 0, { kind: 'end-of-input', after: 2 });
    expect(await prepared()).toEqual([last]);
    await sink.snapshotState({ checkpointId: 3 });
    await sink.notifyCheckpointComplete(3);
    expect(await visible('lifecycle')).toEqual(['a', 'b', 'c', 'd']);
    await sink.close();
  });

  it('commits on restore what was prepared before a crash, and skips a commit that happened already', async () => {
    await createTable('crash');
    const first = await start('job-2', 'crash');
    await write(first.sink, 'a');
    await first.sink.snapshotState({ checkpointId: 1 });
    const chk1 = first.store.snapshot();
    await write(first.sink, 'lost'); // in the open transaction when the attempt dies
    // Crash between pre-commit and commit: checkpoint 1 completed, its notification never came.
    expect(await sinkConnections()).toBe(2);

    const second = await start('job-2', 'crash', { attempt: 1, restore: restoredFrom([chk1], [chk1]) });
    expect(await visible('crash')).toEqual(['a']); // committed on restore
    expect(await sinkConnections()).toBe(2); // the dead attempt's connections were ended
    await write(second.sink, 'b');
    await second.sink.snapshotState({ checkpointId: 2 });
    const chk2 = second.store.snapshot();
    await second.sink.notifyCheckpointComplete(2);
    expect(await visible('crash')).toEqual(['a', 'b']);

    // Restored from checkpoint 2, whose transaction was committed already: no error, no duplicate.
    const third = await start('job-2', 'crash', { attempt: 2, restore: restoredFrom([chk2], [chk2]) });
    expect(await visible('crash')).toEqual(['a', 'b']);
    await third.sink.close();
  });

  it('rolls back on restore what a failed attempt prepared after the checkpoint, never what another subtask will commit', async () => {
    await createTable('strays');
    const chk1: OperatorStateSnapshot[] = [];
    for (const i of [0, 1]) {
      const { sink, store } = await start('job-3', 'strays', { subtask: i, parallelism: 2 });
      await write(sink, `s${i}-a`);
      await sink.snapshotState({ checkpointId: 1 }); // completed, not yet committed at the failure
      chk1.push(store.snapshot());
      await write(sink, `s${i}-b`);
      await sink.snapshotState({ checkpointId: 2 }); // never completes: a stray
      await write(sink, `s${i}-c`);
    }
    expect(await prepared()).toEqual([gid('job-3', 0, 1), gid('job-3', 0, 2), gid('job-3', 1, 1), gid('job-3', 1, 2)].sort());

    // Both pending lists go to subtask 0; subtask 1 starts first and must keep its index's gid of checkpoint 1.
    const one = await start('job-3', 'strays', { subtask: 1, parallelism: 2, attempt: 1, restore: restoredFrom(chk1, []) });
    expect(await prepared()).toEqual([gid('job-3', 0, 1), gid('job-3', 0, 2), gid('job-3', 1, 1)].sort());
    const zero = await start('job-3', 'strays', { subtask: 0, parallelism: 2, attempt: 1, restore: restoredFrom(chk1, chk1) });
    expect(await prepared()).toEqual([]);
    expect(await visible('strays')).toEqual(['s0-a', 's1-a']);
    await Promise.all([one.sink.close(), zero.sink.close()]);
  });

  it('in a new job restored at a lower parallelism, commits the pending transactions of the old job and rolls back its strays', async () => {
    await createTable('rescaled');
    const chk1: OperatorStateSnapshot[] = [];
    const old: PostgresExactlyOnceSink<string>[] = [];
    for (const i of [0, 1]) {
      const { sink, store } = await start('job-old', 'rescaled', { subtask: i, parallelism: 2 });
      await write(sink, `s${i}-a`);
      await sink.snapshotState({ checkpointId: 1 });
      chk1.push(store.snapshot());
      await write(sink, `s${i}-b`);
      await sink.snapshotState({ checkpointId: 2 });
      await write(sink, `s${i}-c`);
      await sink.finish(); // an end-of-input transaction never filed in a checkpoint: a stray too
      old.push(sink);
    }
    await Promise.all(old.map((s) => s.close())); // the old job's process is gone
    expect(await prepared()).toHaveLength(6);

    // `flink run -s <chk-1>` at parallelism 1: another job id, and subtask 0 owns both old indices.
    const restored = await start('job-new', 'rescaled', { restore: restoredFrom(chk1, chk1) });
    expect(await prepared()).toEqual([]);
    expect(await visible('rescaled')).toEqual(['s0-a', 's1-a']);
    await write(restored.sink, 'replayed');
    await restored.sink.finish();
    await restored.sink.snapshotState({ checkpointId: 2 });
    await restored.sink.notifyCheckpointComplete(2);
    expect(await visible('rescaled')).toEqual(['replayed', 's0-a', 's1-a']);
    await restored.sink.close();
  });

  it('refuses a missing table or column in one line naming it', async () => {
    const missing = start('job-4', 'no_such_table');
    await expect(missing).rejects.toThrow(UserError);
    await expect(missing).rejects.toThrow(/^postgres sink: table no_such_table does not exist; create it before starting the job$/);
    await createTable('one_column');
    const sink = PostgresSink.exactlyOnce<string>({ connectionString: server.connectionString, table: 'one_column', columns: ['v', 'w'], row: (v) => [v, v] })();
    const store = new OperatorStateStore(UID);
    await expect(sink.initializeState({ isRestored: false, runtime: runtimeFor('job-4', store, {}) })).rejects.toThrow(/^postgres sink: column "w" of relation "one_column" does not exist \(table one_column\); make the columns option match the table$/);
    expect(() => PostgresSink.exactlyOnce({ connectionString: server.connectionString, table: 'a.b.c', columns: ['v'], row: () => [] })).toThrow(/postgres sink: table "a.b.c" is not a table name/);
  });

  it('refuses to commit a transaction rolled back outside the job', async () => {
    await createTable('meddled');
    const first = await start('job-5', 'meddled');
    await write(first.sink, 'a');
    await first.sink.snapshotState({ checkpointId: 1 });
    const chk1 = first.store.snapshot();
    await db.query(`ROLLBACK PREPARED '${gid('job-5', 0, 1)}'`);
    const restored = start('job-5', 'meddled', { attempt: 1, restore: restoredFrom([chk1], [chk1]) });
    await expect(restored).rejects.toThrow(UserError);
    await expect(restored).rejects.toThrow(
      `postgres sink: cannot commit transaction '${gid('job-5', 0, 1)}': it is neither prepared nor recorded in tsflink_committed_transactions; was it rolled back outside the job?`,
    );
    expect(await visible('meddled')).toEqual([]);
  });
});

describe('PostgresSink.upsert', () => {
  async function startUpsert(table: string, job: string): Promise<PostgresUpsertSink<[string, number]>> {
    const sink = PostgresSink.upsert<[string, number]>({ connectionString: server.connectionString, table, columns: ['k', 'n'], key: ['k'], row: (r) => r, batchSize: 3 })();
    await sink.initializeState({ isRestored: false, runtime: runtimeFor(job, new OperatorStateStore(UID), {}) });
    return sink;
  }

  it('writes by key in batches and at every checkpoint, the last row of a key winning', async () => {
    await db.query('CREATE TABLE totals (k text PRIMARY KEY, n int)');
    const sink = await startUpsert('totals', 'job-6');
    const rows = async (): Promise<unknown[]> => (await db.query('SELECT k, n FROM totals ORDER BY k')).rows;
    await sink.invoke(['a', 1]);
    await sink.invoke(['a', 2]); // replaces a/1 in the buffer: one statement never names a key twice
    expect(await rows()).toEqual([]);
    await sink.snapshotState();
    expect(await rows()).toEqual([{ k: 'a', n: 2 }]);
    for (const [k, n] of [['b', 1], ['c', 1], ['a', 3]] as const) await sink.invoke([k, n]); // a full batch goes out
    expect(await rows()).toEqual([{ k: 'a', n: 3 }, { k: 'b', n: 1 }, { k: 'c', n: 1 }]);
    await sink.invoke(['b', 2]);
    await sink.finish();
    expect(await rows()).toEqual([{ k: 'a', n: 3 }, { k: 'b', n: 2 }, { k: 'c', n: 1 }]);
    await sink.close();
  });

  it('refuses a key without a unique index in one line naming the table', async () => {
    await db.query('CREATE TABLE no_key (k text, n int)');
    await expect(startUpsert('no_key', 'job-7')).rejects.toThrow(/^postgres upsert sink: table no_key has no unique index or constraint on \(k\); add one \(e\.g\. a primary key\) or change the key option$/);
    expect(() => PostgresSink.upsert({ connectionString: server.connectionString, table: 't', columns: ['n'], key: ['k'], row: () => [] })).toThrow(/key column k is not among the columns of table t/);
  });
});
