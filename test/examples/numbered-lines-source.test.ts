/**
 * The Source API's worked example (examples/numbered-lines-source.ts) through the whole engine:
 * every line of every file, with its number, committed exactly once by a transactional sink,
 * straight, at p=2 through checkpoints and a failure, and when a failed p=2 run's latest
 * checkpoint is restored at p=3 (its split states dealt out over three readers).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnce } from '../../fixtures/jobs/fail-injection.ts';
import { type NumberedLine, NumberedLinesSource, numberedLine } from '../../examples/numbered-lines-source.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { latestCheckpoint } from '../support/latest-checkpoint.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { throttled } from '../support/throttled-source.ts';

const FILES = 7;
const LINES = 1500;
let dir: Awaited<ReturnType<typeof tempDir>>;
let paths: string[];
/** What a correct run commits, computed without the engine: `file:line:text`, sorted. */
let expected: string[];

beforeAll(async () => {
  dir = await tempDir('tsflink-numbered-');
  paths = [];
  expected = [];
  for (let f = 0; f < FILES; f++) {
    const path = join(dir.path, `part-${f}.txt`);
    // File f has LINES + f lines, one of them empty, and CRLF endings in odd files.
    const lines = Array.from({ length: LINES + f }, (_, i) => (i === 10 ? '' : `f${f} line ${i + 1}`));
    await writeFile(path, lines.join(f % 2 === 1 ? '\r\n' : '\n') + (f === 3 ? '' : '\n'));
    paths.push(path);
    lines.forEach((text, i) => expected.push(`part-${f}.txt:${i + 1}:${text}`));
  }
  expected.sort();
});
afterAll(async () => {
  await dir.remove();
});

function job(env: StreamExecutionEnvironment, store: MemoryTransactionalStore<NumberedLine>, options: { perSecond?: number; failAt?: number } = {}): void {
  const source = new NumberedLinesSource(paths);
  const stream = env.fromSource(options.perSecond === undefined ? source : throttled(source, { recordsPerSecond: options.perSecond }), 'numbered-lines').uid('numbered-lines');
  const checked = options.failAt === undefined ? stream : stream.map(failOnce<NumberedLine>(options.failAt)).uid('fail');
  checked.sinkTo(() => new MemoryTransactionalSink(store)).uid('sink');
}

describe('a replayable source (examples/numbered-lines-source.ts)', () => {
  it('emits every line once with its number, in file order per file, at p=1', async () => {
    const store = new MemoryTransactionalStore<NumberedLine>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    job(env, store);
    await env.execute('numbered lines p1');
    const all = store.all();
    expect(all.map(numberedLine).sort()).toEqual(expected);
    // One reader reads its splits one after the other, each from its first line on.
    const ofFile0 = all.filter((l) => l.file === 'part-0.txt').map((l) => l.line);
    expect(ofFile0).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
  });

  it('commits every line exactly once at p=2 through checkpoints every 20 ms and a failure', async () => {
    const store = new MemoryTransactionalStore<NumberedLine>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: join(dir.path, 'p2') })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    job(env, store, { perSecond: 20_000, failAt: 2_000 });
    const result = await env.execute('numbered lines p2 with a failure');
    expect(result.attempts).toBe(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(store.all().map(numberedLine).sort()).toEqual(expected);
  });

  it('restores a failed p=2 run from its latest checkpoint at p=3: no line lost, none doubled', async () => {
    const store = new MemoryTransactionalStore<NumberedLine>();
    const checkpoints = join(dir.path, 'restore');
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    job(first, store, { perSecond: 20_000, failAt: 2_000 });
    await expect(first.execute('numbered lines, fails')).rejects.toThrow(/injected failure/);
    const committedBefore = store.all().length;
    expect(committedBefore).toBeGreaterThan(0);
    expect(committedBefore).toBeLessThan(expected.length);

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    job(second, store);
    await second.execute('numbered lines, restored at p3');
    expect(store.all().map(numberedLine).sort()).toEqual(expected);
  });

  it('refuses a split state that is not its own, in one line', async () => {
    const reader = new NumberedLinesSource(paths).createReader();
    expect(() => reader.addSplits([{ id: 3 }])).toThrow('numbered lines: split state {"id":3} is not { path, nextLine }');
  });
});
