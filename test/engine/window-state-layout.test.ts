/**
 * What a window keeps, read back from a savepoint of a running job: an incremental window
 * (aggregate, reduce) only its accumulator per key and window, a process window its elements, a
 * window with an evictor its elements with their timestamps (as Flink's WindowOperator and
 * EvictingWindowOperator).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountEvictor, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy } from '../../src/index.ts';
import { openSnapshot } from '../../src/open-snapshot.ts';
import { PushedSource, until } from '../support/pushed-source.ts';
import { tempDir } from '../support/temp-dir.ts';

interface Event {
  readonly key: string;
  readonly n: number;
  readonly time: number;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => (dir = await tempDir()));
afterAll(() => dir.remove());

describe('window state in a savepoint', () => {
  it('holds the accumulator of an aggregate, the value of a reduce, the elements of a process window, and timestamped elements with an evictor', async () => {
    const source = new PushedSource<Event>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const keyed = env
      .fromSource(source, 'events')
      .uid('events')
      .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>(60_000).withTimestampAssigner((e) => e.time))
      .uid('timestamps')
      .keyBy((e) => e.key);
    const windows = () => keyed.window(TumblingEventTimeWindows.of(10_000));
    windows().aggregate({ createAccumulator: () => ({ sum: 0 }), add: (e: Event, acc: { sum: number }) => ({ sum: acc.sum + e.n }), getResult: (acc: { sum: number }) => acc.sum }).uid('aggregate').sinkTo({ invoke() {} });
    windows().reduce((a, b) => ({ ...a, n: a.n + b.n })).uid('reduce').sinkTo({ invoke() {} });
    windows().process<number>((_k, _c, elements, out) => out.collect(elements.length)).uid('process').sinkTo({ invoke() {} });
    windows().evictor(CountEvictor.of(2)).process<number>((_k, _c, elements, out) => out.collect(elements.length)).uid('evicting').sinkTo({ invoke() {} });
    const client = env.executeAsync('window state');
    source.push({ key: 'k', n: 1, time: 1_000 }, { key: 'k', n: 2, time: 2_000 }, { key: 'k', n: 3, time: 3_000 });
    await until('3 records in every window operator', () => ['aggregate', 'reduce', 'process', 'evicting'].every((uid) => client.recordCounts().get(uid)?.in === 3));
    const savepoint = await client.triggerSavepoint(`${dir.path}/savepoints`);
    await client.cancel();
    await client.result.catch(() => undefined);

    const reader = await openSnapshot(savepoint);
    const contents = async (uid: string): Promise<unknown[]> => {
      const values: unknown[] = [];
      for await (const batch of reader.readKeyed(uid, 'window-contents')) values.push(...batch.values);
      return values;
    };
    // A map state: [userKey, userValue] pairs, the user key the window [start, end].
    expect(await contents('aggregate')).toEqual([[[[0, 10_000], { sum: 6 }]]]);
    expect(await contents('reduce')).toEqual([[[[0, 10_000], { key: 'k', n: 6, time: 1_000 }]]]);
    expect(await contents('process')).toEqual([
      [
        [
          [0, 10_000],
          [
            { key: 'k', n: 1, time: 1_000 },
            { key: 'k', n: 2, time: 2_000 },
            { key: 'k', n: 3, time: 3_000 },
          ],
        ],
      ],
    ]);
    // With an evictor: [element, timestamp] pairs, all of them until the window fires.
    expect(await contents('evicting')).toEqual([
      [
        [
          [0, 10_000],
          [
            [{ key: 'k', n: 1, time: 1_000 }, 1_000],
            [{ key: 'k', n: 2, time: 2_000 }, 2_000],
            [{ key: 'k', n: 3, time: 3_000 }, 3_000],
          ],
        ],
      ],
    ]);
  });
});
