/**
 * Triggers, evictors, allowed lateness, count windows and session windows against hand-computed
 * firings, on a hand-made stream whose watermark advances after every record (as
 * window-lateness.test.ts): each expectation lists what fires, with which contents and timestamp.
 */
import { describe, expect, it } from 'vitest';
import {
  ContinuousEventTimeTrigger,
  CountEvictor,
  CountTrigger,
  EventTimeSessionWindows,
  GlobalWindow,
  GlobalWindows,
  PurgingTrigger,
  StreamExecutionEnvironment,
  TimeEvictor,
  type TimeWindow,
  Trigger,
  type TriggerContext,
  TriggerResult,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  valueState,
} from '../../src/index.ts';
import type { ProcessWindowContext } from '../../src/engine/api/window-functions.ts';

interface Event {
  readonly key: string;
  readonly time: number;
  readonly flush?: boolean;
}

/** Watermark `time - 1 - outOfOrderness` after every record. */
function events(env: StreamExecutionEnvironment, list: readonly (number | Event)[], outOfOrderness = 0) {
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(outOfOrderness)
    .withTimestampAssigner((e) => e.time)
    .withEmission({ everyRecords: 1 });
  return env.fromElements(...list.map((e) => (typeof e === 'number' ? { key: 'k', time: e } : e))).assignTimestampsAndWatermarks(strategy);
}

type Out<T> = { value: T; timestamp: number | null }[];

async function run<T>(build: (env: StreamExecutionEnvironment, sink: { invoke(value: T, ctx: { timestamp: number | null }): void }) => void): Promise<Out<T>> {
  const out: Out<T> = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  build(env, { invoke: (value, { timestamp }) => void out.push({ value, timestamp }) });
  await env.execute('window triggers');
  return out;
}

const times = (_key: string, { window }: ProcessWindowContext, elements: readonly Event[], out: { collect(v: string): void }): void =>
  out.collect(`[${window.start}, ${window.end}) ${elements.map((e) => e.time).join(',')}`);

describe('allowed lateness', () => {
  it('re-fires a window for each late record within the lateness, cleans it up at end + lateness, drops later records as late', async () => {
    const late: { time: number; watermark: number }[] = [];
    const out = await run<string>((env, sink) => {
      events(env, [1_000, 5_000, 12_000, 3_000, 15_000, 4_000, 25_000])
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000))
        .allowedLateness(5_000)
        .onLateRecord((_e, time, watermark) => void late.push({ time, watermark }))
        .process(times)
        .sinkTo(sink);
    });
    expect(out).toEqual([
      { value: '[0, 10000) 1000,5000', timestamp: 9_999 }, // watermark 11_999
      { value: '[0, 10000) 1000,5000,3000', timestamp: 9_999 }, // 3000 is late but 9_999 + 5_000 > 11_999: fires at once
      { value: '[10000, 20000) 12000,15000', timestamp: 19_999 }, // watermark 24_999
      { value: '[20000, 30000) 25000', timestamp: 29_999 }, // end of input
    ]);
    // Watermark 14_999 reached [0, 10000)'s cleanup time 9_999 + 5_000: 4000 comes after it.
    expect(late).toEqual([{ time: 4_000, watermark: 14_999 }]);
  });

  it('gives the window function state per window and per key, and clear(context) when the window is cleaned up', async () => {
    const cleared: string[] = [];
    const firings = valueState<number>('firings');
    const out = await run<string>((env, sink) => {
      events(env, [1_000, 5_000, 12_000, 3_000, 15_000, 25_000])
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000))
        .allowedLateness(5_000)
        .process<string>({
          process(_key, ctx, elements, o) {
            const inWindow = ctx.windowState().getState(firings);
            const forKey = ctx.globalState().getState(firings);
            inWindow.update((inWindow.value() ?? 0) + 1);
            forKey.update((forKey.value() ?? 0) + 1);
            o.collect(`[${ctx.window.start}, ${ctx.window.end}) ${elements.length} elements, firing ${inWindow.value()} of the window, ${forKey.value()} of the key`);
          },
          clear(ctx) {
            cleared.push(`[${ctx.window.start}, ${ctx.window.end}) after ${ctx.windowState().getState(firings).value()} firings`);
            ctx.windowState().getState(firings).clear();
          },
        })
        .sinkTo(sink);
    });
    expect(out.map((o) => o.value)).toEqual([
      '[0, 10000) 2 elements, firing 1 of the window, 1 of the key',
      '[0, 10000) 3 elements, firing 2 of the window, 2 of the key',
      '[10000, 20000) 2 elements, firing 1 of the window, 3 of the key',
      '[20000, 30000) 1 elements, firing 1 of the window, 4 of the key',
    ]);
    expect(cleared).toEqual(['[0, 10000) after 2 firings', '[10000, 20000) after 1 firings', '[20000, 30000) after 1 firings']);
  });

  it('refuses a negative lateness, and lateness on processing-time windows, in one line', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const keyed = events(env, [1]).keyBy((e) => e.key);
    expect(() => keyed.window(TumblingEventTimeWindows.of(10)).allowedLateness(-1)).toThrow(/^allowedLateness: the lateness must be a whole number of ms >= 0, not -1$/);
    const { TumblingProcessingTimeWindows } = await import('../../src/index.ts');
    expect(() => keyed.window(TumblingProcessingTimeWindows.of(10)).allowedLateness(5)).toThrow(/^allowedLateness applies to event-time windows only; TumblingProcessingTimeWindows\(10\) has no late records/);
  });
});

describe('triggers', () => {
  const input = [1_000, 2_000, 3_000, 4_000, 5_000, 11_000, 12_000];

  it('CountTrigger fires every n elements and keeps the contents; the window is cleaned up at its end', async () => {
    const out = await run<string>((env, sink) => {
      events(env, input).keyBy((e) => e.key).window(TumblingEventTimeWindows.of(10_000)).trigger(CountTrigger.of(2)).process(times).sinkTo(sink);
    });
    expect(out).toEqual([
      { value: '[0, 10000) 1000,2000', timestamp: 9_999 },
      { value: '[0, 10000) 1000,2000,3000,4000', timestamp: 9_999 },
      // 5000 alone never reaches the count; the window's state goes at 9_999 without firing.
      { value: '[10000, 20000) 11000,12000', timestamp: 19_999 },
    ]);
  });

  it('PurgingTrigger turns each firing into fire-and-purge', async () => {
    const out = await run<string>((env, sink) => {
      events(env, input).keyBy((e) => e.key).window(TumblingEventTimeWindows.of(10_000)).trigger(PurgingTrigger.of(CountTrigger.of(2))).process(times).sinkTo(sink);
    });
    expect(out.map((o) => o.value)).toEqual(['[0, 10000) 1000,2000', '[0, 10000) 3000,4000', '[10000, 20000) 11000,12000']);
  });

  it('ContinuousEventTimeTrigger fires every interval of event time and at the end of the window', async () => {
    const out = await run<number>((env, sink) => {
      events(env, [1_000, 2_000, 4_000, 7_000, 8_000, 9_500, 20_000])
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(ContinuousEventTimeTrigger.of(3_000))
        .aggregate({ createAccumulator: () => 0, add: (_e: Event, n: number) => n + 1, getResult: (n: number) => n })
        .sinkTo(sink);
    });
    expect(out).toEqual([
      { value: 3, timestamp: 9_999 }, // watermark 3_999 passes 3_000: 1000, 2000, 4000
      { value: 4, timestamp: 9_999 }, // 6_999 passes 6_000
      { value: 6, timestamp: 9_999 }, // 9_499 passes 9_000; the next is min(12_000, 9_999)
      { value: 6, timestamp: 9_999 }, // 19_999 passes the window's end
      // [20000, 30000): first firing at 21_000 (20_000 aligned down to 18_000, plus 3_000), then 24_000, 27_000, the end.
      { value: 1, timestamp: 29_999 },
      { value: 1, timestamp: 29_999 },
      { value: 1, timestamp: 29_999 },
      { value: 1, timestamp: 29_999 },
    ]);
  });

  it('takes a custom trigger with per-window state: fires early on a flush element, at most once per window, and at the end', async () => {
    const early = valueState<boolean>('fired-early');
    class FlushTrigger extends Trigger<Event, TimeWindow> {
      onElement(element: Event, _timestamp: number | null, window: TimeWindow, ctx: TriggerContext): TriggerResult {
        ctx.registerEventTimeTimer(window.end - 1);
        const fired = ctx.getPartitionedState(early);
        if (element.flush === true && fired.value() !== true) {
          fired.update(true);
          return TriggerResult.FIRE;
        }
        return TriggerResult.CONTINUE;
      }
      onEventTime(time: number, window: TimeWindow): TriggerResult {
        return time === window.end - 1 ? TriggerResult.FIRE_AND_PURGE : TriggerResult.CONTINUE;
      }
      onProcessingTime(): TriggerResult {
        return TriggerResult.CONTINUE;
      }
      clear(window: TimeWindow, ctx: TriggerContext): void {
        ctx.deleteEventTimeTimer(window.end - 1);
        ctx.getPartitionedState(early).clear();
      }
    }
    const out = await run<string>((env, sink) => {
      events(env, [{ key: 'k', time: 1_000 }, { key: 'k', time: 2_000, flush: true }, { key: 'k', time: 3_000, flush: true }, { key: 'k', time: 12_000, flush: true }])
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(new FlushTrigger())
        .process(times)
        .sinkTo(sink);
    });
    expect(out).toEqual([
      { value: '[0, 10000) 1000,2000', timestamp: 9_999 },
      { value: '[10000, 20000) 12000', timestamp: 19_999 }, // flushed early ...
      { value: '[0, 10000) 1000,2000,3000', timestamp: 9_999 }, // ... before the watermark 11_999 ends [0, 10000)
      { value: '[10000, 20000) 12000', timestamp: 19_999 },
    ]);
  });
});

describe('evictors', () => {
  const input = [1_000, 5_000, 6_000, 8_000, 15_000];
  const evicted = (evictor: CountEvictor | TimeEvictor) =>
    run<string>((env, sink) => {
      events(env, input).keyBy((e) => e.key).window(TumblingEventTimeWindows.of(10_000)).evictor(evictor).process(times).sinkTo(sink);
    });

  it('CountEvictor keeps the last n elements, TimeEvictor the last span of event time', async () => {
    expect((await evicted(CountEvictor.of(2))).map((o) => o.value)).toEqual(['[0, 10000) 6000,8000', '[10000, 20000) 15000']);
    // Latest 8000, cutoff 8000 - 2000: 6000 is at the cutoff and goes.
    expect((await evicted(TimeEvictor.of(2_000))).map((o) => o.value)).toEqual(['[0, 10000) 8000', '[10000, 20000) 15000']);
  });

  it('evicts after the function with doEvictAfter, and reduces over what is left', async () => {
    const out = await run<string>((env, sink) => {
      events(env, [1_000, 2_000, 3_000, 4_000, 5_000, 6_000])
        .keyBy((e) => e.key)
        .window(TumblingEventTimeWindows.of(10_000))
        .trigger(CountTrigger.of(2))
        .evictor(CountEvictor.of(1, true))
        .reduce((a, b) => ({ key: a.key, time: a.time + b.time }), (_k: string, { window }: ProcessWindowContext, [sum], o: { collect(v: string): void }) => o.collect(`${window.start} ${sum!.time}`))
        .sinkTo(sink);
    });
    // Every second element fires; after each firing only the last element stays: 1000+2000, 2000+3000+4000, 4000+5000+6000.
    expect(out.map((o) => o.value)).toEqual(['0 3000', '0 9000', '0 15000']);
  });
});

describe('count windows', () => {
  const input = [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000];

  it('countWindow(n) fires and purges every n elements of a key; an incomplete window never fires', async () => {
    const out = await run<string>((env, sink) => {
      events(env, input)
        .keyBy((e) => e.key)
        .countWindow(3)
        .process((_k, { window }, elements, o) => o.collect(`${window === GlobalWindow.get() ? 'global' : 'time'} ${elements.map((e) => e.time).join(',')}`))
        .sinkTo(sink);
    });
    expect(out).toEqual([
      { value: 'global 1000,2000,3000', timestamp: Number.MAX_SAFE_INTEGER },
      { value: 'global 4000,5000,6000', timestamp: Number.MAX_SAFE_INTEGER },
    ]);
  });

  it('countWindow(size, slide) fires every slide elements over the last size ones', async () => {
    const out = await run<number>((env, sink) => {
      events(env, input)
        .keyBy((e) => e.key)
        .countWindow(3, 2)
        .reduce((a, b) => ({ key: a.key, time: a.time + b.time }))
        .map((e) => e.time)
        .sinkTo(sink);
    });
    expect(out.map((o) => o.value)).toEqual([1_000 + 2_000, 2_000 + 3_000 + 4_000, 4_000 + 5_000 + 6_000]);
  });

  it('a reduce that updates its first argument in place changes no element a later firing sees (elements kept for the evictor)', async () => {
    const out = await run<number>((env, sink) => {
      events(env, input)
        .keyBy((e) => e.key)
        .window(GlobalWindows.create())
        .trigger(CountTrigger.of(2))
        .evictor(CountEvictor.of(10))
        .reduce((a, b) => Object.assign(a, { time: a.time + b.time }))
        .map((e) => e.time)
        .sinkTo(sink);
    });
    // Every element stays (at most 10): the sums of the first 2, 4 and 6 elements.
    expect(out.map((o) => o.value)).toEqual([3_000, 10_000, 21_000]);
  });
});

describe('session windows', () => {
  it('merge windows closer than the gap, also when a late record bridges two sessions', async () => {
    const out = await run<string>((env, sink) => {
      events(env, [{ key: 'a', time: 1_000 }, { key: 'a', time: 6_000 }, { key: 'b', time: 2_000 }, { key: 'a', time: 3_500 }, { key: 'a', time: 20_000 }, { key: 'b', time: 4_999 }], 5_000)
        .keyBy((e) => e.key)
        .window(EventTimeSessionWindows.withGap(3_000))
        .process((key, { window }, elements, o) => o.collect(`${key} [${window.start}, ${window.end}) ${elements.map((e) => e.time).join(',')}`))
        .sinkTo(sink);
    });
    expect(out).toEqual([
      // Watermark 14_999 ends both keys' sessions, earliest end first. b's 2000 and 4999 would
      // touch ([2000, 5000) and [4999, 7999)), but 4999 comes after the watermark ended b's
      // session: late, and dropped (no lateness).
      { value: 'b [2000, 5000) 2000', timestamp: 4_999 },
      // a's [1000, 4000), [6000, 9000) and [3500, 6500) merged into one session.
      { value: 'a [1000, 9000) 1000,6000,3500', timestamp: 8_999 },
      { value: 'a [20000, 23000) 20000', timestamp: 22_999 },
    ]);
  });

  it('merge accumulators with AggregateFunction.merge, with a dynamic gap', async () => {
    const out = await run<string>((env, sink) => {
      events(env, [{ key: 'a', time: 1_000 }, { key: 'a', time: 9_000 }, { key: 'a', time: 5_000 }, { key: 'a', time: 30_000 }], 10_000)
        .keyBy((e) => e.key)
        // 1000 -> [1000, 2000); 9000 -> [9000, 10000); 5000 -> [5000, 9000) bridges nothing to 1000's but touches 9000's.
        .window(EventTimeSessionWindows.withDynamicGap<Event>((e) => (e.time === 5_000 ? 4_000 : 1_000)))
        .aggregate(
          { createAccumulator: () => [] as number[], add: (e: Event, acc: number[]) => [...acc, e.time], getResult: (acc: number[]) => acc, merge: (x: number[], y: number[]) => [...x, ...y] },
          (_k: string, { window }: ProcessWindowContext, [acc], o: { collect(v: string): void }) => o.collect(`[${window.start}, ${window.end}) ${acc!.join(',')}`),
        )
        .sinkTo(sink);
    });
    expect(out.map((o) => o.value)).toEqual(['[1000, 2000) 1000', '[5000, 10000) 9000,5000', '[30000, 31000) 30000']);
  });

  it('refuses per-window state of the window function in one line (Flink: not allowed when using merging windows)', async () => {
    const job = run<string>((env, sink) => {
      events(env, [1_000])
        .keyBy((e) => e.key)
        .window(EventTimeSessionWindows.withGap(10))
        .process<string>((_k, ctx, _elements, o) => o.collect(String(ctx.windowState().getState(valueState<number>('n')).value())))
        .sinkTo(sink);
    });
    await expect(job).rejects.toThrow("window state 'n': per-window state is not allowed when using merging windows (EventTimeSessionWindows(10)); use globalState()");
  });

  it('refuses an aggregate without merge, and a trigger that cannot merge, where the job is built', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const windowed = events(env, [1]).keyBy((e) => e.key).window(EventTimeSessionWindows.withGap(10));
    expect(() => windowed.aggregate({ createAccumulator: () => 0, add: (_e: Event, n: number) => n + 1, getResult: (n: number) => n })).toThrow(
      /^EventTimeSessionWindows\(10\) merges windows and so their accumulators: give the AggregateFunction a merge\(a, b\)$/,
    );
    class NoMerge extends Trigger<unknown, TimeWindow> {
      onElement(): TriggerResult {
        return 'CONTINUE';
      }
      onEventTime(): TriggerResult {
        return 'CONTINUE';
      }
      onProcessingTime(): TriggerResult {
        return 'CONTINUE';
      }
      clear(): void {}
    }
    expect(() => windowed.trigger(new NoMerge()).reduce((a) => a)).toThrow(/^A merging window assigner cannot be used with a trigger that does not support merging: NoMerge with EventTimeSessionWindows\(10\)$/);
  });
});

describe('field aggregations on windows', () => {
  interface Sale {
    readonly shop: string;
    readonly item: string;
    readonly amount: number;
    readonly time: number;
  }
  const sales: Sale[] = [
    { shop: 's', item: 'a', amount: 5, time: 1_000 },
    { shop: 's', item: 'b', amount: 2, time: 2_000 },
    { shop: 's', item: 'c', amount: 9, time: 3_000 },
    { shop: 's', item: 'd', amount: 2, time: 4_000 },
    { shop: 's', item: 'e', amount: 9, time: 5_000 },
  ];
  const aggregate = (pick: (w: ReturnType<typeof windowed>) => { sinkTo(sink: object): unknown }) =>
    run<Sale>((env, sink) => void pick(windowed(env)).sinkTo(sink));
  const windowed = (env: StreamExecutionEnvironment) =>
    env
      .fromElements(...sales)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Sale>().withTimestampAssigner((s) => s.time))
      .keyBy((s) => s.shop)
      .window(TumblingEventTimeWindows.of(10_000));

  it('sum, min and max keep the first record’s other fields; minBy and maxBy return the record, the first of equals unless told', async () => {
    const item = async (pick: Parameters<typeof aggregate>[0]) => (await aggregate(pick)).map((o) => `${o.value.item}:${o.value.amount}`);
    expect(await item((w) => w.sum('amount'))).toEqual(['a:27']);
    expect(await item((w) => w.min('amount'))).toEqual(['a:2']);
    expect(await item((w) => w.max('amount'))).toEqual(['a:9']);
    expect(await item((w) => w.minBy('amount'))).toEqual(['b:2']);
    expect(await item((w) => w.minBy('amount', false))).toEqual(['d:2']);
    expect(await item((w) => w.maxBy('amount'))).toEqual(['c:9']);
    expect(await item((w) => w.maxBy('amount', false))).toEqual(['e:9']);
  });
});
