/**
 * The version 3 fixture (fixtures/savepoints/v3/incremental, never rewritten) restores into a
 * job: the engine's restore path reads each key group's chain replayed (full, then upserts set,
 * deletions remove), with its shared files read from the checkpoint root.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckpointedFunction, type Collector, type MapFunction, type KeyedProcessFunction, type ListState, type MapState, type RuntimeContext, StreamExecutionEnvironment, type ValueState, listState, mapState, valueState } from '../../src/index.ts';
import { ROOT } from '../support/run-flink.ts';

const CHK3 = join(ROOT, 'fixtures', 'savepoints', 'v3', 'incremental', '3c0ffee0000000000000000000000003', 'chk-3');

type Seen = [user: string, count: number | undefined, recent: number[], byItem: (readonly [string, unknown])[]];

class Probe implements KeyedProcessFunction<string, string, Seen> {
  private count!: ValueState<number>;
  private recent!: ListState<number>;
  private byItem!: MapState<string, unknown>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('count'));
    this.recent = ctx.getListState(listState<number>('recent'));
    this.byItem = ctx.getMapState(mapState<string, unknown>('by-item'));
  }
  processElement(user: string, _ctx: unknown, out: Collector<Seen>): void {
    out.collect([user, this.count.value(), [...this.recent.get()], [...this.byItem.entries()]]);
  }
}

class OffsetsProbe implements MapFunction<number, number>, CheckpointedFunction {
  constructor(private readonly offsets: unknown[]) {}
  initializeState({ isRestored, runtime }: { readonly isRestored: boolean; readonly runtime: RuntimeContext }): void {
    if (isRestored) this.offsets.push(...runtime.operatorState.getListState<unknown>('offsets').get());
  }
  snapshotState(): void {}
  map(n: number): number {
    return n;
  }
}

describe('the format version 3 fixture in a job', () => {
  it('restores replayed chains: updated, deleted, deleted-then-back and untouched keys', async () => {
    const seen: Seen[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().restoreFrom(CHK3, { allowNonRestoredState: true });
    env
      .fromElements('user-0', 'user-1', 'user-3', 'user-9', 'user-15', 'user-17', 'user-21')
      .uid('users')
      .keyBy((u) => u)
      .process(() => new Probe())
      .uid('counter')
      .map((s) => {
        seen.push(s);
        return s;
      })
      .uid('out');
    await env.execute('v3 fixture');
    const byUser = Object.fromEntries(seen.map((s) => [s[0], s.slice(1)]));
    expect(byUser).toEqual({
      'user-0': [-1, [0, 99], []], // updated in chk-2 and chk-3; by-item deleted in chk-3
      'user-1': [undefined, [1, 99], []], // count deleted in chk-3
      'user-3': [103, [3], [['apple', 3]]],
      'user-9': [9, [], []], // recent deleted in chk-2
      'user-15': [150, [], []], // deleted in chk-2, back in chk-3
      'user-17': [undefined, [], []], // deleted in chk-2
      'user-21': [7, [], []], // added in chk-2
    });
  });

  it('restores operator state whose partitions lie in shared files (split over a new parallelism)', async () => {
    const offsets: unknown[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().restoreFrom(CHK3, { allowNonRestoredState: true });
    env
      .fromElements(1)
      .map(new OffsetsProbe(offsets))
      .uid('source')
      .setParallelism(1);
    await env.execute('v3 fixture operator state');
    // chk-3 wrote the partitions of both subtasks of the writing job into shared files.
    expect(offsets).toEqual([{ split: 0, offset: 300 }, { split: 1, offset: 301 }]);
  });
});
