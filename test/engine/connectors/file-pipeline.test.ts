/**
 * Files in, files out, exactly once: a keyed running count from a FileSource into a FileSink
 * commits the same output (the concatenated `part-*` files, sorted) straight at parallelism 1, at
 * parallelism 2 with checkpoints and an injected failure, and when a failed parallelism-2 run is
 * restored from its latest checkpoint at parallelism 3. Readers of the output directory, while
 * the job runs and after it failed, see only committed lines.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../../src/engine/api/environment.ts';
import type { MapFunction } from '../../../src/engine/api/functions.ts';
import { mulberry32 } from '../../../src/engine/connectors/data-generator-source.ts';
import { FileSink } from '../../../src/engine/connectors/file-sink.ts';
import { FileSource } from '../../../src/engine/connectors/file-source.ts';
import { latestCheckpoint } from '../../support/latest-checkpoint.ts';
import { tempDir } from '../../support/temp-dir.ts';
import { throttled } from '../../support/throttled-source.ts';
import { expectCountPrefix } from '../../support/count-prefix.ts';

const WORDS = ['apple', 'pear', 'fig', 'kiwi', 'lime', 'plum', 'date', 'yuzu'];
type Count = { word: string; count: number };

let dir: Awaited<ReturnType<typeof tempDir>>;
let input: string;
let expected: string[];

beforeAll(async () => {
  dir = await tempDir();
  input = join(dir.path, 'input');
  await mkdir(input);
  const random = mulberry32(11);
  const words = (n: number): string[] => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]!);
  await writeFile(join(input, 'part-a.txt'), `${words(4000).join('\n')}\n`);
  await writeFile(join(input, 'part-b.txt'), words(3000).join('\n')); // no final newline
  await writeFile(join(input, 'part-c.txt'), `${words(3500).join('\r\n')}\r\n`); // CRLF
  await writeFile(join(input, 'part-d.txt'), ''); // empty
  await writeFile(join(input, 'part-e.txt'), `${words(4500).join('\n')}\n`);
  await writeFile(join(input, 'part-f.txt'), `${words(3000).join('\n')}\n`);
  const out = join(dir.path, 'straight');
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  countWords(env, out, {});
  await env.execute('file word count p1');
  expected = await committedLines(out);
});
afterAll(async () => {
  await dir.remove();
});

function countWords(env: StreamExecutionEnvironment, out: string, options: { failAt?: number; perSecond?: number }): void {
  const committed = { yes: false };
  const plain = FileSource.forLines(input);
  // Slowed down, so checkpoints happen while it runs; each reader holds at `failAt` records until
  // the sink committed a part file, so the failure always comes after a committed checkpoint.
  const source =
    options.perSecond === undefined
      ? plain
      : throttled(plain, { recordsPerSecond: options.perSecond, ...(options.failAt === undefined ? {} : { hold: { after: options.failAt, until: () => committed.yes } }) });
  // Fails once, on the first attempt, in subtask 0 at its record `failAt` or the first one after.
  const toCount: MapFunction<string, Count> & { attempt: number; subtask: number; seen: number } = {
    attempt: 0,
    subtask: 0,
    seen: 0,
    open(ctx) {
      this.attempt = ctx.attemptNumber;
      this.subtask = ctx.subtaskIndex;
    },
    map(word) {
      this.seen += 1;
      if (options.failAt !== undefined && this.attempt === 0 && this.subtask === 0 && this.seen >= options.failAt && committed.yes) {
        this.attempt = -1; // once
        throw new Error('injected failure');
      }
      return { word, count: 1 };
    },
  };
  env
    .fromSource(source, 'lines')
    .uid('lines')
    .map(toCount)
    .uid('to-count')
    .keyBy((c) => c.word)
    .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
    .uid('counts')
    .sinkTo(() => new SignallingFileSink(out, committed))
    .uid('sink');
}

/** A FileSink that says when a committed part file is in the directory. */
class SignallingFileSink extends FileSink<Count> {
  constructor(
    private readonly out: string,
    private readonly committed: { yes: boolean },
  ) {
    super(out, { encoder: (c) => `${c.word}:${c.count}` });
  }
  override async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await super.notifyCheckpointComplete(checkpointId);
    if ((await readdir(this.out)).some((n) => n.startsWith('part-'))) this.committed.yes = true;
  }
}

/** What a downstream reader of the directory gets: the lines of every `part-*` file, sorted. */
async function committedLines(out: string): Promise<string[]> {
  const names = (await readdir(out)).filter((n) => n.startsWith('part-'));
  const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
  for (const [i, text] of texts.entries()) expect(text.endsWith('\n'), `${names[i]} is complete`).toBe(true);
  return texts.flatMap((t) => t.split('\n').filter((l) => l !== '')).sort();
}

async function hiddenFiles(out: string): Promise<string[]> {
  return (await readdir(out)).filter((n) => n.startsWith('.'));
}

describe('files -> keyed count -> files, exactly once', () => {
  it('commits the same output at p=2 with checkpoints and a failure, seen only committed while running', async () => {
    expect(expected).toHaveLength(18_000);
    expectCountPrefix(expected);

    const out = join(dir.path, 'p2');
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: join(dir.path, 'checkpoints-p2') })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    countWords(env, out, { failAt: 4_000, perSecond: 20_000 });
    let running = true;
    let looks = 0;
    const job = env.execute('file word count p2 with a failure').finally(() => (running = false));
    // A reader listing the output directory while the job runs, through the failure and restart.
    while (running) {
      await new Promise((r) => setTimeout(r, 5));
      const seen = await committedLines(out).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
      expectCountPrefix(seen);
      looks += 1;
    }
    const result = await job;
    // 2, or more if the engine also failed a checkpoint on a loaded machine: the output must not care.
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(looks).toBeGreaterThan(5);
    expect(await committedLines(out)).toEqual(expected);
    expect(await hiddenFiles(out)).toEqual([]);
  });

  it('restores a failed p=2 job from its latest checkpoint at parallelism 3, losing and doubling nothing', async () => {
    const out = join(dir.path, 'restored');
    const checkpoints = join(dir.path, 'checkpoints-restore');
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      // Kept when the job fails, to be restored by hand (`flink run -s`).
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    countWords(first, out, { failAt: 5_000, perSecond: 20_000 });
    await expect(first.execute('file word count, fails')).rejects.toThrow(/injected failure \(not restarted: the restart strategy is none\)/);
    // After the failure: only whole checkpoints' output is visible, the rest is hidden in-progress files.
    const afterFailure = await committedLines(out);
    expectCountPrefix(afterFailure);
    expect(afterFailure.length).toBeGreaterThan(0);
    expect(afterFailure.length).toBeLessThan(expected.length);

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    countWords(second, out, {});
    await second.execute('file word count, restored at p=3');
    expect(await committedLines(out)).toEqual(expected);
    expect(await hiddenFiles(out)).toEqual([]); // the failed attempt's files were removed
  });
});
