/**
 * `max-concurrent-checkpoints: 1` holds while `_metadata` is written: a checkpoint that every
 * subtask acknowledged is still in flight until it is finalized (as in Flink), so the next one is
 * triggered only after it completed. With a 10 ms interval and state that takes longer than that
 * to write, a trigger during finalization is all but certain if it were allowed.
 */
import { expect, it } from 'vitest';
import type { SnapshotStats } from '../../src/engine/checkpoint/checkpoint-coordinator.ts';
import { startLocally } from '../../src/engine/runtime/local-executor.ts';
import { DataGeneratorSource, type KeyedProcessFunction, StreamExecutionEnvironment, type ValueState, valueState } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

class Count implements KeyedProcessFunction<string, string, never> {
  private count!: ValueState<number>;
  open(ctx: Parameters<NonNullable<KeyedProcessFunction<string, string, never>['open']>>[0]): void {
    this.count = ctx.getState(valueState<number>('count'));
  }
  processElement(key: string): void {
    this.count.update((this.count.value() ?? 0) + key.length);
  }
}

it('with max-concurrent 1, no checkpoint is triggered before the previous one completed', async () => {
  const dir = await tempDir();
  try {
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 10, maxConcurrent: 1, dir: dir.path, numRetained: 1 });
    const completed: SnapshotStats[] = [];
    env
      // Held open until three checkpoints completed, however fast the input goes by.
      .fromSource(new DataGeneratorSource({ count: 150_000, seed: 3, recordsPerSecond: 100_000, generate: (i) => `key-${i % 20_000}`, endWhen: () => completed.length > 2 }), 'keys')
      .uid('keys')
      .keyBy((k) => k)
      .process(() => new Count())
      .uid('count');
    const failed: SnapshotStats[] = [];
    const events = { onCompleted: (s: SnapshotStats) => completed.push(s), onFailed: (s: SnapshotStats) => failed.push(s) };
    const client = startLocally(env.graph, { ...env.executionOptions('concurrency'), events });
    await client.result;
    const overlaps = completed.slice(1).filter((c, i) => c.triggeredAt < completed[i]!.endedAt);
    expect(overlaps.map((c) => c.id)).toEqual([]);
    // An overlapping checkpoint would also have been subsumed by its neighbour: none may fail.
    expect(failed.map((f) => `${f.id}: ${f.failure}`)).toEqual([]);
    expect(completed.length).toBeGreaterThan(2);
  } finally {
    await dir.remove();
  }
}, 60_000);
