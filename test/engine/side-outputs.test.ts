/**
 * Side outputs through the whole engine (Flink's OutputTag, ctx.output and getSideOutput): each
 * kind of function emits to a tag next to its main output, with Flink's timestamps; a side output
 * is a stream like any other (mapped, keyed, at another parallelism, chained when it is the only
 * consumer); a window's late records go to sideOutputLateData's tag. Expectations by hand.
 */
import { describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { OutputTag } from '../../src/engine/api/output-tag.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { TumblingEventTimeWindows } from '../../src/engine/api/window-assigners.ts';
import { EventTimeSessionWindows } from '../../src/engine/api/session-windows.ts';
import { planJob } from '../../src/engine/runtime/job-plan.ts';
import { mapState } from '../../src/engine/state/state-descriptors.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import type { SinkFunction } from '../../src/engine/runtime/operators.ts';

type Seen<T> = { value: T; timestamp: number | null }[];
/** A sink that appends what it gets (with timestamps) to `into`, from every subtask. */
function collect<T>(into: Seen<T>): () => SinkFunction<T> {
  return () => ({ invoke: (value, { timestamp }) => void into.push({ value, timestamp }) });
}
const values = <T>(seen: Seen<T>): T[] => seen.map((s) => s.value);

interface Event {
  readonly key: string;
  readonly time: number;
}
/** Watermark `time - 1` after every record, so lateness is exact. */
function events(env: StreamExecutionEnvironment, list: readonly Event[]) {
  const strategy = WatermarkStrategy.forMonotonousTimestamps<Event>()
    .withTimestampAssigner((e) => e.time)
    .withEmission({ everyRecords: 1 });
  return env.fromElements(...list).assignTimestampsAndWatermarks(strategy);
}

describe('side outputs', () => {
  it('a ProcessFunction splits a stream: odd numbers to a tag, mapped and printed at parallelism 3 there', async () => {
    const odd = new OutputTag<number>('odd');
    const main: Seen<number> = [];
    const side: Seen<string> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const split = env.fromElements(1, 2, 3, 4, 5, 6, 7, 8, 9, 10).process<number>({
      processElement(value, ctx, out) {
        if (value % 2 === 0) out.collect(value * 10);
        else ctx.output(odd, value);
      },
    });
    split.sinkTo(collect(main));
    split
      .getSideOutput(odd)
      .map((v) => `odd ${v}`)
      .setParallelism(3)
      .sinkTo(collect(side))
      .setParallelism(3);
    await env.execute('split');
    expect(values(main).sort((a, b) => a - b)).toEqual([20, 40, 60, 80, 100]);
    expect(values(side).sort()).toEqual(['odd 1', 'odd 3', 'odd 5', 'odd 7', 'odd 9']);
  });

  it('a broadcast process function emits to side outputs from both sides, with the record’s timestamp', async () => {
    const unknown = new OutputTag<string>('unknown-user');
    const ruleLog = new OutputTag<string>('rule-log');
    const main: Seen<string> = [];
    const missing: Seen<string> = [];
    const logged: Seen<string> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const limits = mapState<string, number>('limits');
    const rules = env.fromElements({ user: 'a', limit: 5 }).broadcast(limits);
    // Users arrive after the rule: their source holds them until the rule is in broadcast state.
    let ruleSeen = false;
    const list = [{ user: 'a', amount: 7, time: 10 }, { user: 'b', amount: 1, time: 20 }];
    const users = env.fromSource(heldAfter(new DataGeneratorSource({ count: list.length, generate: (i) => list[i]! }), 0, () => !ruleSeen), 'users');
    const checked = users
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<{ user: string; amount: number; time: number }>().withTimestampAssigner((u) => u.time))
      .keyBy((u) => u.user)
      .connect(rules)
      .process<string>({
        processElement(u, ctx, out) {
          const limit = ctx.getBroadcastState(limits).get(u.user);
          if (limit === undefined) ctx.output(unknown, `${u.user}@${ctx.timestamp}`);
          else if (u.amount > limit) out.collect(`${u.user} over ${limit}`);
        },
        processBroadcastElement(rule, ctx) {
          ctx.getBroadcastState(limits).put(rule.user, rule.limit);
          ctx.output(ruleLog, `limit ${rule.user}=${rule.limit}`);
          ruleSeen = true;
        },
      });
    checked.sinkTo(collect(main));
    checked.getSideOutput(unknown).sinkTo(collect(missing));
    checked.getSideOutput(ruleLog).sinkTo(collect(logged));
    await env.execute('broadcast side outputs');
    expect(values(main)).toEqual(['a over 5']);
    expect(missing).toEqual([{ value: 'b@20', timestamp: 20 }]);
    expect(values(logged)).toEqual(['limit a=5']);
  });

  it('a side output that is its operator’s only consumer is chained to it; the main output then goes nowhere', async () => {
    const tag = new OutputTag<string>('words');
    const side: Seen<string> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env
      .fromElements('a b', 'c')
      .process<number>({
        processElement(line, ctx, out) {
          for (const w of line.split(' ')) ctx.output(tag, w);
          out.collect(line.length);
        },
      })
      .getSideOutput(tag)
      .map((w) => w.toUpperCase())
      .sinkTo(collect(side));
    const plan = planJob(env.graph, { parallelism: 1 });
    expect(plan.chains.map((c) => c.nodes.map((n) => n.name))).toEqual([['Elements', 'Process', 'Map', 'Sink']]);
    expect(plan.chains[0]!.nodes[2]!.chainedSideOutput).toBe('words');
    await env.execute('chained side output');
    expect(values(side)).toEqual(['A', 'B', 'C']);
  });

  it('KeyedProcessFunction: ctx.output carries the record’s timestamp, and in onTimer the timer’s; the side output keys by itself', async () => {
    const alerts = new OutputTag<{ key: string; what: string }>('alerts');
    const main: Seen<string> = [];
    const side: Seen<string> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const processed = events(env, [
      { key: 'a', time: 1_000 },
      { key: 'b', time: 2_000 },
      { key: 'a', time: 3_000 },
    ])
      .keyBy((e) => e.key)
      .process<string>({
        processElement(e, ctx, out) {
          out.collect(`${e.key}@${e.time}`);
          ctx.output(alerts, { key: e.key, what: `seen ${e.time}` });
          ctx.timerService().registerEventTimeTimer(e.time + 500);
        },
        onTimer(timestamp, ctx, out) {
          ctx.output(alerts, { key: String(ctx.getCurrentKey()), what: `timer ${timestamp}` });
          out.collect(`timer ${timestamp}`);
        },
      });
    processed.sinkTo(collect(main));
    processed
      .getSideOutput(alerts)
      .keyBy((a) => a.key)
      .map((a) => `${a.key}: ${a.what}`)
      .sinkTo(collect(side));
    await env.execute('keyed side output');
    const byValue = (x: { value: string }, y: { value: string }) => x.value.localeCompare(y.value);
    expect(side.sort(byValue)).toEqual([
      { value: 'a: seen 1000', timestamp: 1_000 },
      { value: 'a: seen 3000', timestamp: 3_000 },
      { value: 'a: timer 1500', timestamp: 1_500 },
      { value: 'a: timer 3500', timestamp: 3_500 },
      { value: 'b: seen 2000', timestamp: 2_000 },
      { value: 'b: timer 2500', timestamp: 2_500 },
    ]);
    expect(values(main).sort()).toEqual(['a@1000', 'a@3000', 'b@2000', 'timer 1500', 'timer 2500', 'timer 3500']);
  });

  it('CoProcessFunction: either input may emit to a side output', async () => {
    const unmatched = new OutputTag<string>('unmatched');
    const main: Seen<string> = [];
    const side: Seen<string> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const joined = env
      .fromElements('x1', 'y1', 'x2')
      .connect(env.fromElements(1, 2, 3))
      .process<string>({
        processElement1(s, ctx, out) {
          if (s.startsWith('x')) out.collect(s);
          else ctx.output(unmatched, `first ${s}`);
        },
        processElement2(n, ctx, out) {
          if (n === 2) out.collect(`n${n}`);
          else ctx.output(unmatched, `second ${n}`);
        },
      });
    joined.sinkTo(collect(main));
    joined.getSideOutput(unmatched).sinkTo(collect(side));
    await env.execute('co-process side output');
    expect(values(main).sort()).toEqual(['n2', 'x1', 'x2']);
    expect(values(side).sort()).toEqual(['first y1', 'second 1', 'second 3']);
  });

  it('windows: late records go to sideOutputLateData’s tag with their own timestamp; a ProcessWindowFunction emits with the window’s end - 1', async () => {
    const late = new OutputTag<Event>('late');
    const sizes = new OutputTag<number>('sizes');
    const main: Seen<string> = [];
    const lateSeen: Seen<string> = [];
    const sizesSeen: Seen<number> = [];
    const dropped: number[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const windows = events(
      env,
      [1_000, 5_000, 12_000, 3_000, 15_000, 9_999, 10_000, 25_000, 19_999].map((time) => ({ key: 'k', time })),
    )
      .keyBy((e) => e.key)
      .window(TumblingEventTimeWindows.of(10_000))
      .sideOutputLateData(late)
      .onLateRecord((e) => void dropped.push(e.time))
      .process<string>((key, ctx, elements, out) => {
        ctx.output(sizes, elements.length);
        out.collect(`${key} [${ctx.window.start}, ${ctx.window.end}) ${elements.map((e) => e.time).join(',')}`);
      });
    windows.sinkTo(collect(main));
    windows
      .getSideOutput(late)
      .map((e) => `late ${e.key} ${e.time}`)
      .sinkTo(collect(lateSeen));
    windows.getSideOutput(sizes).sinkTo(collect(sizesSeen));
    await env.execute('late data');
    expect(values(main)).toEqual(['k [0, 10000) 1000,5000', 'k [10000, 20000) 12000,15000,10000', 'k [20000, 30000) 25000']);
    expect(lateSeen).toEqual([
      { value: 'late k 3000', timestamp: 3_000 },
      { value: 'late k 9999', timestamp: 9_999 },
      { value: 'late k 19999', timestamp: 19_999 },
    ]);
    expect(dropped).toEqual([3_000, 9_999, 19_999]); // the listener still hears of them
    expect(sizesSeen).toEqual([
      { value: 2, timestamp: 9_999 },
      { value: 3, timestamp: 19_999 },
      { value: 1, timestamp: 29_999 },
    ]);
  });

  it('windowAll and session windows: late records go to the side output too, and windowAll’s output rebalances to a parallel sink', async () => {
    const late = new OutputTag<Event>('late');
    const sums: Seen<string> = [];
    const lateSeen: Seen<number> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const all = events(env, [1_000, 2_000, 12_000, 3_000, 25_000].map((time) => ({ key: 'k', time })))
      .windowAll(TumblingEventTimeWindows.of(10_000))
      .allowedLateness(1_000)
      .sideOutputLateData(late)
      .process((ctx, elements, out) => out.collect(`[${ctx.window.start}, ${ctx.window.end}) ${elements.length}`));
    // A sink at parallelism 2: the edge from windowAll's single subtask rebalances.
    all.sinkTo(collect(sums)).setParallelism(2);
    all.getSideOutput(late).map((e) => e.time).sinkTo(collect(lateSeen));
    const plan = planJob(env.graph, { parallelism: 1 });
    expect(plan.chains.map((c) => `${c.nodes.map((n) => n.name).join('+')}@${c.parallelism}`)).toEqual([
      'Elements+Timestamps/Watermarks@1',
      'Window(TumblingEventTimeWindows(10000), process)@1',
      'Sink@2',
      'Map+Sink@1',
    ]);
    await env.execute('windowAll late data');
    // 3000 comes at watermark 11999: past [0, 10000)'s end - 1 + lateness 1000, so it is late.
    expect(values(sums).sort()).toEqual(['[0, 10000) 2', '[10000, 20000) 1', '[20000, 30000) 1']);
    expect(lateSeen).toEqual([{ value: 3_000, timestamp: 3_000 }]);

    const sessionLate: Seen<number> = [];
    const sessions: Seen<string> = [];
    const env2 = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const s = events(env2, [1_000, 2_000, 10_000, 1_500, 11_000].map((time) => ({ key: 'k', time })))
      .keyBy((e) => e.key)
      .window(EventTimeSessionWindows.withGap(3_000))
      .sideOutputLateData(late)
      .process<string>((key, ctx, elements, out) => out.collect(`${key} [${ctx.window.start}, ${ctx.window.end}) ${elements.length}`));
    s.sinkTo(collect(sessions));
    s.getSideOutput(late).map((e) => e.time).sinkTo(collect(sessionLate));
    await env2.execute('session late data');
    // 1500 comes at watermark 9999, after the session [1000, 5000) fired at 4999.
    expect(values(sessions)).toEqual(['k [1000, 5000) 2', 'k [10000, 14000) 2']);
    expect(values(sessionLate)).toEqual([1_500]);
  });

  it('records of a tag nobody asked for, and of a tag asked for on another operator, are dropped', async () => {
    const a = new OutputTag<number>('a');
    const b = new OutputTag<number>('b');
    const fromA: Seen<number> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const first = env.fromElements(1, 2).process<number>({
      processElement(v, ctx, out) {
        ctx.output(a, v);
        ctx.output(b, v * 100);
        out.collect(v);
      },
    });
    const second = first.process<number>({ processElement: (v, _ctx, out) => out.collect(v) });
    second.getSideOutput(a).sinkTo(collect(fromA)); // `second` emits nothing to `a`
    first.getSideOutput(new OutputTag<number>('a')).map((v) => -v).sinkTo(collect(fromA)); // same id: same side output
    await env.execute('unrequested tags');
    expect(values(fromA).sort((x, y) => x - y)).toEqual([-2, -1]);
  });

  it('a side output unions with its own main output and with another operator’s, at parallelism 2', async () => {
    const tag = new OutputTag<number>('negative');
    const seen: Seen<number> = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const split = env.fromElements(-3, 1, -2, 4).process<number>({
      processElement(v, ctx, out) {
        if (v < 0) ctx.output(tag, v);
        else out.collect(v);
      },
    });
    const tens = env.fromElements(10, 20).map((v) => v).setParallelism(1);
    split
      .union(split.getSideOutput(tag).map((v) => -v * 100), tens)
      .sinkTo(collect(seen));
    await env.execute('union with a side output');
    expect(values(seen).sort((a, b) => a - b)).toEqual([1, 4, 10, 20, 200, 300]);
  });

  it('refuses an empty tag id and a null tag as Flink does', () => {
    expect(() => new OutputTag<number>('')).toThrow('OutputTag id must not be empty.');
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    expect(() =>
      env
        .fromElements(1)
        .keyBy((v) => v)
        .window(TumblingEventTimeWindows.of(10))
        .sideOutputLateData(null as unknown as OutputTag<number>),
    ).toThrow('OutputTag must not be null.');
  });
});
