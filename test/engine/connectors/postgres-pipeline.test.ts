/**
 * Generated words -> keyed running count -> PostgreSQL, through the engine and a real server.
 * The failure-free result comes from a straight run at parallelism 1 without checkpoints; the
 * exactly-once sink at parallelism 2 with checkpoints and an injected failure must leave the
 * same table, and readers polling it during the run see only rows of committed transactions,
 * never a gap or a duplicate. The upsert sink under the same failure leaves the same totals.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failOnce } from '../../../fixtures/jobs/fail-injection.ts';
import { StreamExecutionEnvironment } from '../../../src/engine/api/environment.ts';
import { DataGeneratorSource } from '../../../src/engine/connectors/data-generator-source.ts';
import { PostgresExactlyOnceSink, PostgresSink, PostgresUpsertSink } from '../../../src/engine/connectors/postgres-sink.ts';
import type { SinkFunction } from '../../../src/engine/runtime/operators.ts';
import { type PostgresTestServer, startPostgres } from '../../support/postgres.ts';
import { tempDir } from '../../support/temp-dir.ts';
import { throttled } from '../../support/throttled-source.ts';
import { expectCountPrefix } from '../../support/count-prefix.ts';

const WORDS = ['apple', 'pear', 'fig', 'kiwi', 'lime', 'plum', 'date', 'yuzu'];
const RECORDS = 6_000;
type Count = { word: string; count: number };
type Signal = { yes: boolean };

let server: PostgresTestServer;
let db: pg.Client;
let dir: Awaited<ReturnType<typeof tempDir>>;
/** The failure-free table: `word:count` lines, sorted. */
let expected: string[];

beforeAll(async () => {
  [server, dir] = await Promise.all([startPostgres(), tempDir()]);
  db = new pg.Client({ connectionString: server.connectionString });
  await db.connect();
  // The sink creates its committed table when missing; made here with one more column, the
  // writing transaction's id, so a reader can match every visible row to its recorded gid.
  await db.query(
    'CREATE TABLE pipeline_committed (gid text PRIMARY KEY, job_id text NOT NULL, operator text NOT NULL, subtask integer NOT NULL, ' +
      'checkpoint_id bigint, committed_at timestamptz NOT NULL DEFAULT now(), xid xid8 NOT NULL DEFAULT pg_current_xact_id())',
  );
  await createCounts('counts_straight');
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  countWords(env, () => exactlyOnce('counts_straight', { yes: false }), {});
  await env.execute('postgres word count p1');
  expected = await countLines('counts_straight');
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
  await dir?.remove();
});
afterEach(async () => {
  const left = (await db.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts')).rows.map((r) => r.gid);
  // Cleaned up before failing, so one test's leftovers cannot fail the next.
  for (const g of left) await db.query(`ROLLBACK PREPARED ${pg.escapeLiteral(g)}`);
  expect(left).toEqual([]);
  for (let i = 0; i < 100 && (await sinkConnections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await sinkConnections()).toBe(0);
});

async function sinkConnections(): Promise<number> {
  return Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'tsflink %'")).rows[0]!.n);
}

async function createCounts(table: string): Promise<void> {
  await db.query(`CREATE TABLE ${table} (word text NOT NULL, count integer NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id())`);
}

function exactlyOnce(table: string, committed: Signal): PostgresExactlyOnceSink<Count> {
  const options = { connectionString: server.connectionString, table, columns: ['word', 'count'], row: (c: Count) => [c.word, c.count], committedTable: 'pipeline_committed', batchSize: 200 };
  /** Says when a checkpoint completed, so the source may pass the failure point. */
  return new (class extends PostgresExactlyOnceSink<Count> {
    override async notifyCheckpointComplete(checkpointId: number): Promise<void> {
      await super.notifyCheckpointComplete(checkpointId);
      committed.yes = true;
    }
  })(options);
}

function upsert(table: string, committed: Signal): PostgresUpsertSink<Count> {
  const options = { connectionString: server.connectionString, table, columns: ['word', 'count'], key: ['word'], row: (c: Count) => [c.word, c.count] };
  return new (class extends PostgresUpsertSink<Count> {
    notifyCheckpointComplete(): void {
      committed.yes = true;
    }
  })(options);
}

function countWords(env: StreamExecutionEnvironment, sink: () => SinkFunction<Count>, options: { failAt?: number; committed?: Signal }): void {
  const words = new DataGeneratorSource({ count: RECORDS, seed: 3, generate: (_, random) => WORDS[Math.floor(random() * WORDS.length)]! });
  const { failAt, committed } = options;
  // Slowed down so checkpoints happen while it runs; held at `failAt` until a checkpoint
  // completed, so the failure always comes after one, however loaded the machine.
  const source = committed === undefined ? words : throttled(words, { recordsPerSecond: 6_000, ...(failAt === undefined ? {} : { hold: { after: failAt, until: () => committed.yes } }) });
  env
    .fromSource(source, 'words')
    .uid('words')
    .map(failOnce<string>(failAt))
    .uid('fail')
    .map((word): Count => ({ word, count: 1 }))
    .uid('to-count')
    .keyBy((c) => c.word)
    .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
    .uid('counts')
    .sinkTo(sink)
    .uid('sink');
}

function failing(): StreamExecutionEnvironment {
  return StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .configureCheckpointing({ interval: 100, dir: dir.path })
    .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
}

async function countLines(table: string): Promise<string[]> {
  return (await db.query<{ line: string }>(`SELECT word || ':' || count AS line FROM ${table}`)).rows.map((r) => r.line).sort();
}

/** One consistent snapshot of the table and the committed gids, as a reader sees it. */
async function look(table: string): Promise<{ lines: string[]; unrecorded: number }> {
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    const lines = await countLines(table);
    const unrecorded = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} t WHERE NOT EXISTS (SELECT 1 FROM pipeline_committed c WHERE c.xid = t.xid)`);
    return { lines, unrecorded: Number(unrecorded.rows[0]!.n) };
  } finally {
    await db.query('COMMIT');
  }
}

describe('words -> keyed count -> PostgreSQL', () => {
  it('exactly once: the same table at p=2 with checkpoints and a failure, seen only committed while running', async () => {
    expect(expected).toHaveLength(RECORDS);
    expectCountPrefix(expected);

    await createCounts('counts_failure');
    const committed = { yes: false };
    const env = failing();
    countWords(env, () => exactlyOnce('counts_failure', committed), { failAt: 1_500, committed });
    let running = true;
    let looks = 0;
    let seenRows = 0;
    const job = env.execute('postgres word count p2 with a failure').finally(() => (running = false));
    while (running) {
      await new Promise((r) => setTimeout(r, 10));
      const { lines, unrecorded } = await look('counts_failure');
      expect(unrecorded).toBe(0); // every visible row was written by a transaction with a recorded gid
      expectCountPrefix(lines);
      seenRows = Math.max(seenRows, lines.length);
      looks += 1;
    }
    const result = await job;
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(looks).toBeGreaterThan(5);
    expect(seenRows).toBeGreaterThan(0); // readers saw committed checkpoints while the job ran
    expect(await countLines('counts_failure')).toEqual(expected);
  });

  it('upsert: the same totals at p=2 with checkpoints and a failure', async () => {
    await db.query('CREATE TABLE totals (word text PRIMARY KEY, count integer NOT NULL)');
    const committed = { yes: false };
    const env = failing();
    countWords(env, () => upsert('totals', committed), { failAt: 1_500, committed });
    const result = await env.execute('postgres word totals p2 with a failure');
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    const totals = new Map<string, number>();
    for (const line of expected) {
      const [word, count] = line.split(':');
      totals.set(word!, Math.max(totals.get(word!) ?? 0, Number(count)));
    }
    const rows = (await db.query<{ word: string; count: number }>('SELECT word, count FROM totals ORDER BY word')).rows;
    expect(rows).toEqual([...totals].sort(([a], [b]) => a.localeCompare(b)).map(([word, count]) => ({ word, count })));
  });
});
