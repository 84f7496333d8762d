/**
 * Savepoints through the same barriers as checkpoints: taken from a running job at parallelism 2,
 * then the job cancelled (or stopped), then restored at another parallelism; the committed output
 * of the exactly-once sink equals a straight run. And restores after code changes: an operator
 * added starts empty; one removed needs allowNonRestoredState; a renamed uid is refused by name.
 */
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Count, wordCount } from '../../fixtures/jobs/word-count.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let expected: string[];
// Rate-limited to 20k/s, so the job is still running when the savepoint is taken, however loaded the machine.
const RECORDS = 200_000;
const sorted = (counts: Count[]): string[] => counts.map((c) => `${c.word}:${c.count}`).sort();

beforeAll(async () => {
  dir = await tempDir();
  const straight = new MemoryTransactionalStore<Count>();
  const env = StreamExecutionEnvironment.getExecutionEnvironment();
  wordCount(env, { records: RECORDS, sink: () => new MemoryTransactionalSink(straight) });
  await env.execute('straight');
  expected = sorted(straight.all());
});
afterAll(async () => {
  await dir.remove();
});

async function runUntilSavepoint(store: MemoryTransactionalStore<Count>, how: 'cancel' | 'stop', checkpoints: boolean): Promise<string> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
  if (checkpoints) env.configureCheckpointing({ interval: 20, dir: `${dir.path}/chk` });
  // Held at 5,000 records per source subtask: still running, and mid-input, when the savepoint comes.
  wordCount(env, { records: RECORDS, perSecond: 20_000, holdAt: 5_000, sink: () => new MemoryTransactionalSink(store) });
  const client = env.executeAsync('savepoint me');
  await new Promise((r) => setTimeout(r, 150));
  let savepoint: string;
  if (how === 'stop') {
    savepoint = await client.stopWithSavepoint(`${dir.path}/savepoints`);
    expect((await client.result).status).toBe('FINISHED');
  } else {
    savepoint = await client.triggerSavepoint(`${dir.path}/savepoints`);
    await client.cancel();
    expect((await client.result).status).toBe('CANCELED');
  }
  expect(basename(savepoint)).toMatch(new RegExp(`^savepoint-${client.jobId.slice(0, 6)}-[0-9a-f]{12}$`));
  const reader = await SnapshotReader.open(new LocalObjectStore(savepoint));
  expect(reader.metadata.kind).toBe('savepoint');
  expect(store.all().length).toBeLessThan(RECORDS);
  return savepoint;
}

describe('savepoints', () => {
  it('savepoint at p=2, cancel, restore at p=3: nothing lost or doubled', async () => {
    const store = new MemoryTransactionalStore<Count>();
    const savepoint = await runUntilSavepoint(store, 'cancel', false);
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(savepoint);
    wordCount(env, { records: RECORDS, sink: () => new MemoryTransactionalSink(store) });
    await env.execute('restored at p=3');
    expect(sorted(store.all())).toEqual(expected);
  });

  it('stop with a savepoint at p=2 (checkpoints on), restore at p=1: nothing lost or doubled', async () => {
    const store = new MemoryTransactionalStore<Count>();
    const savepoint = await runUntilSavepoint(store, 'stop', true);
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1).restoreFrom(`${savepoint}/_metadata`);
    wordCount(env, { records: RECORDS, sink: () => new MemoryTransactionalSink(store) });
    await env.execute('restored at p=1');
    expect(sorted(store.all())).toEqual(expected);
  });

  it('the engine never deletes a savepoint, also when the job ends', async () => {
    const saved = await readdir(`${dir.path}/savepoints`);
    expect(saved.length).toBe(2);
    for (const s of saved) expect(await readdir(`${dir.path}/savepoints/${s}`)).toContain('_metadata');
  });
});

describe('restore after a code change', () => {
  let savepoint: string;
  beforeAll(async () => {
    savepoint = await runUntilSavepoint(new MemoryTransactionalStore<Count>(), 'cancel', false);
  });

  it('an added operator starts empty', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().restoreFrom(savepoint);
    const store = new MemoryTransactionalStore<Count>();
    wordCount(env, { records: RECORDS, sink: () => new MemoryTransactionalSink(store) });
    env.fromElements(1, 2, 3).uid('new-source').keyBy((n) => n % 2).reduce((a, b) => a + b).uid('new-sum').sinkTo({ invoke() {} });
    await expect(env.execute('with a new operator')).resolves.toMatchObject({ status: 'FINISHED' });
  });

  it('a removed operator fails without allowNonRestoredState, naming it, and succeeds with it', async () => {
    const build = (env: StreamExecutionEnvironment): void => {
      // v2 drops the counting reduce (uid 'counts') and counts nothing.
      env.fromElements('a').uid('words').map((w) => ({ word: w, count: 1 })).uid('to-count').sinkTo({ invoke() {} }).uid('sink');
    };
    const strict = StreamExecutionEnvironment.getExecutionEnvironment().restoreFrom(savepoint);
    build(strict);
    await expect(strict.execute('v2')).rejects.toThrow(
      `Failed to rollback to checkpoint/savepoint ${savepoint}. Cannot map checkpoint/savepoint state for operator counts to the new program, because the operator is not available in the new program. If you want to allow to skip this, you can set the --allowNonRestoredState option on the CLI.`,
    );
    const lenient = StreamExecutionEnvironment.getExecutionEnvironment().restoreFrom(savepoint, { allowNonRestoredState: true });
    build(lenient);
    await expect(lenient.execute('v2')).resolves.toMatchObject({ status: 'FINISHED' });
  });

  it('a renamed uid is refused, naming the old uid', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().restoreFrom(savepoint);
    const store = new MemoryTransactionalStore<Count>();
    wordCount(env, { records: 10, sink: () => new MemoryTransactionalSink(store) });
    (env.graph.nodes.find((n) => n.uid === 'counts')!).uid = 'counts-v2';
    await expect(env.execute('renamed')).rejects.toThrow(/state for operator counts to the new program/);
  });
});
