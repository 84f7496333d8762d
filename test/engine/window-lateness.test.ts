/**
 * The edges of event-time windows, on a hand-made stream whose watermark advances after every
 * record: a window is [start, end) and fires at end - 1 with that timestamp; a record whose
 * windows have all fired is dropped and counted; reduce and aggregate work without a window
 * function; end of input fires whatever is open.
 */
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { SlidingEventTimeWindows, TumblingEventTimeWindows } from '../../src/engine/api/window-assigners.ts';

interface Event {
  readonly key: string;
  readonly time: number;
}

/** Watermark `time - 1` after every record (out-of-orderness 0, emitted per record). */
function events(env: StreamExecutionEnvironment, times: readonly number[]) {
  const strategy = WatermarkStrategy.forMonotonousTimestamps<Event>()
    .withTimestampAssigner((e) => e.time)
    .withEmission({ everyRecords: 1 });
  return env.fromElements(...times.map((time) => ({ key: 'k', time }))).assignTimestampsAndWatermarks(strategy);
}

async function run<T>(build: (env: StreamExecutionEnvironment, sink: { invoke(value: T, ctx: { timestamp: number | null }): void }) => void): Promise<{ value: T; timestamp: number | null }[]> {
  const out: { value: T; timestamp: number | null }[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  build(env, { invoke: (value, { timestamp }) => void out.push({ value, timestamp }) });
  await env.execute('window edges');
  return out;
}

describe('window edges', () => {
  it('fires [start, end) at end - 1, drops and counts records whose windows fired, fires the rest at the end', async () => {
    const late: { time: number; watermark: number }[] = [];
    const out = await run<string>((env, sink) => {
      events(env, [1_000, 5_000, 12_000, 3_000, 15_000, 9_999, 10_000, 25_000, 19_999])
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000))
        .onLateRecord((e, timestamp, watermark) => void late.push({ time: timestamp, watermark }))
        .process<string>((key, { window, currentWatermark }, elements, collector) => {
          expect(currentWatermark()).toBeGreaterThanOrEqual(window.end - 1);
          collector.collect(`${key} [${window.start}, ${window.end}) ${elements.map((e) => e.time).join(',')}`);
        })
        .sinkTo(sink);
    });
    expect(out).toEqual([
      { value: 'k [0, 10000) 1000,5000', timestamp: 9_999 },
      { value: 'k [10000, 20000) 12000,15000,10000', timestamp: 19_999 }, // 19_999 came after watermark 24_999
      { value: 'k [20000, 30000) 25000', timestamp: 29_999 }, // open at the end of input: fired by the final watermark
    ]);
    expect(late).toEqual([
      { time: 3_000, watermark: 11_999 },
      { time: 9_999, watermark: 14_999 },
      { time: 19_999, watermark: 24_999 },
    ]);
  });

  it('reduces and aggregates without a window function, in every sliding window of a record', async () => {
    const times = [0, 4_000, 5_000, 9_000, 14_999];
    const slidingSum = (inPlace: boolean) =>
      run<Event>((env, sink) => {
        events(env, times)
          .keyBy((e) => e.key)
          .window(SlidingEventTimeWindows.of(10_000, 5_000))
          // Updating the first argument in place is allowed: each window holds its own copy.
          .reduce((a, b) => (inPlace ? Object.assign(a, { time: a.time + b.time }) : { key: a.key, time: a.time + b.time }))
          .sinkTo(sink);
      });
    const reduced = await slidingSum(false);
    expect(await slidingSum(true)).toEqual(reduced);
    expect(reduced.map((r) => [r.timestamp, r.value.time])).toEqual([
      [4_999, 4_000], // [-5000, 5000): 0 + 4000
      [9_999, 18_000], // [0, 10000)
      [14_999, 28_999], // [5000, 15000)
      [19_999, 14_999], // [10000, 20000)
    ]);

    const counted = await run<number>((env, sink) => {
      events(env, times)
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000, 2_000))
        .aggregate({ createAccumulator: () => 0, add: (_e: Event, n: number) => n + 1, getResult: (n: number) => n })
        .sinkTo(sink);
    });
    // Windows [-8000, 2000), [2000, 12000), [12000, 22000).
    expect(counted).toEqual([
      { value: 1, timestamp: 1_999 },
      { value: 3, timestamp: 11_999 },
      { value: 1, timestamp: 21_999 },
    ]);
  });

  it('refuses records without a timestamp, naming the fix', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env
      .fromElements({ key: 'k', time: 1 })
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10))
      .reduce((a) => a)
      .sinkTo({ invoke() {} });
    await expect(env.execute('no timestamps')).rejects.toThrow(/assignTimestampsAndWatermarks/);
  });
});
