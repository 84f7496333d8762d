/**
 * A keyed running count through the whole engine: the committed output of an exactly-once sink is
 * identical straight through at parallelism 1, at parallelism 2 with checkpoints and a failure
 * injected mid-stream (recovered by the restart strategy), and restored at parallelism 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { type Count, wordCount as buildWordCount } from '../../fixtures/jobs/word-count.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { latestCheckpoint } from '../support/latest-checkpoint.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

function wordCount(env: StreamExecutionEnvironment, store: MemoryTransactionalStore<Count>, options: { records: number; failAt?: number; perSecond?: number }): void {
  buildWordCount(env, { ...options, sink: () => new MemoryTransactionalSink(store) });
}

const sorted = (counts: Count[]): string[] => counts.map((c) => `${c.word}:${c.count}`).sort();

describe('word count', () => {
  it('gives the same committed output straight, with failures and checkpoints, and at another parallelism', async () => {
    const records = 60_000;
    const straight = new MemoryTransactionalStore<Count>();
    const env1 = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    wordCount(env1, straight, { records });
    await env1.execute('word count p1');
    const expected = sorted(straight.all());
    expect(expected).toHaveLength(records);

    const failing = new MemoryTransactionalStore<Count>();
    const env2 = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/checkpoints` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    wordCount(env2, failing, { records, failAt: 6_000, perSecond: 20_000 });
    const result = await env2.execute('word count p2 with a failure');
    expect(result.attempts).toBe(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(result.completedCheckpoints).toEqual([]); // the default retention deletes them when the job ends
    expect(sorted(failing.all())).toEqual(expected);
  });

  it('recovers from several failures at seeded random records, committing everything once', async () => {
    const records = 60_000;
    const straight = new MemoryTransactionalStore<Count>();
    const env1 = StreamExecutionEnvironment.getExecutionEnvironment();
    wordCount(env1, straight, { records });
    await env1.execute('straight');

    const store = new MemoryTransactionalStore<Count>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/random-failures` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 5, delayMs: 10 });
    buildWordCount(env, { records, perSecond: 20_000, randomFailures: { count: 3, seed: 2026 }, sink: () => new MemoryTransactionalSink(store) });
    const result = await env.execute('three failures');
    expect(result.attempts).toBe(4);
    expect(sorted(store.all())).toEqual(sorted(straight.all()));
  });

  it.each([3, 1])('restores a failed p=2 job from its latest checkpoint at parallelism %i, losing and doubling nothing', async (parallelism) => {
    const records = 60_000;
    const straight = new MemoryTransactionalStore<Count>();
    const env1 = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    wordCount(env1, straight, { records });
    await env1.execute('word count p1');

    const store = new MemoryTransactionalStore<Count>();
    const checkpoints = `${dir.path}/restore-${parallelism}`;
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    wordCount(first, store, { records, failAt: 7_000, perSecond: 20_000 });
    await expect(first.execute('word count, fails')).rejects.toThrow(/injected failure in attempt 0 \(not restarted: the restart strategy is none\)/);
    const latest = await latestCheckpoint(checkpoints);
    expect(store.all().length).toBeLessThan(records);

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism).restoreFrom(latest);
    wordCount(second, store, { records });
    await second.execute('word count, restored');
    expect(sorted(store.all())).toEqual(sorted(straight.all()));
  });
});
