/**
 * Timers of a KeyedProcessFunction through the whole engine: event-time timers fire once per key
 * and timestamp when the watermark passes them, in order, with the key set; deleted ones never
 * fire; processing-time timers fire from the mailbox, never inside processElement; and both kinds
 * are keyed state, so a job restored at another parallelism fires the timers of its checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { Collector } from '../../src/engine/api/functions.ts';
import type { KeyedProcessContext, KeyedProcessFunction, OnTimerContext } from '../../src/engine/api/keyed-process.ts';
import type { RuntimeContext } from '../../src/engine/api/runtime-context.ts';
import type { Source } from '../../src/engine/api/source.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { openSnapshot } from '../../src/open-snapshot.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import type { MapState, ValueState } from '../../src/engine/state/keyed-state-handles.ts';
import { mapState, valueState } from '../../src/engine/state/state-descriptors.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { failOnce, latestCheckpoint } from './order-jobs.ts';

interface Click {
  readonly user: string;
  readonly i: number;
}
const USERS = 30;
const MINUTE = 60_000;
/** Click i happens at i seconds; event time is in order within each source subtask. */
const timeOf = (c: Click): number => c.i * 1000;

function clicks(records: number, perSecond?: number): DataGeneratorSource<Click> {
  return new DataGeneratorSource<Click>({ count: records, seed: 3, ...(perSecond === undefined ? {} : { recordsPerSecond: perSecond }), generate: (i, random) => ({ user: `u${Math.floor(random() * USERS)}`, i }) });
}

async function allClicks(records: number): Promise<Click[]> {
  const source: Source<Click> = clicks(records);
  const reader = source.createReader({ subtaskIndex: 0, parallelism: 1 });
  reader.addSplits(source.createSplits(1));
  const out: Click[] = [];
  for (let done = false; !done; ) {
    const result = await reader.poll(100_000);
    for (const r of result.records) out.push(r.value);
    done = result.done;
  }
  return out;
}

function timed(env: StreamExecutionEnvironment, source: DataGeneratorSource<Click>) {
  return env.fromSource(source, 'clicks').uid('clicks').assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Click>().withTimestampAssigner(timeOf)).uid('timestamps');
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir.remove();
});

/** The last ms of the minute of `t`. */
const minuteEnd = (t: number): number => Math.floor(t / MINUTE) * MINUTE + MINUTE - 1;

/**
 * Per user and minute: a count, a timer at the minute's last ms (registered by every click, so
 * deduplicated), and a "quiet" timer 30 s later that the minute's third click deletes.
 */
class PerMinute implements KeyedProcessFunction<string, Click, string> {
  #counts!: MapState<number, number>;
  open(ctx: RuntimeContext): void {
    this.#counts = ctx.getMapState(mapState<number, number>('per-minute'));
  }
  processElement(click: Click, ctx: KeyedProcessContext<string>): void {
    expect(ctx.getCurrentKey()).toBe(click.user);
    const at = minuteEnd(timeOf(click));
    const n = (this.#counts.get(at) ?? 0) + 1;
    this.#counts.put(at, n);
    ctx.timerService().registerEventTimeTimer(at);
    if (n === 1) ctx.timerService().registerEventTimeTimer(at + 30_000);
    if (n === 3) ctx.timerService().deleteEventTimeTimer(at + 30_000);
  }
  onTimer(timestamp: number, ctx: OnTimerContext<string>, out: Collector<string>): void {
    expect(ctx.timeDomain()).toBe('EVENT_TIME');
    expect(ctx.timestamp).toBe(timestamp);
    expect(ctx.timerService().currentWatermark()).toBeGreaterThanOrEqual(timestamp);
    const user = ctx.getCurrentKey();
    if ((timestamp + 1) % MINUTE !== 0) {
      out.collect(`${user} ${timestamp} quiet`);
      return;
    }
    out.collect(`${user} ${timestamp} ${this.#counts.get(timestamp)}`);
    this.#counts.remove(timestamp);
  }
}

interface Batch {
  readonly user: string;
  readonly count: number;
  readonly timer: number;
  readonly firedAt: number;
  readonly domain: string;
}

/** Counts a user's clicks and emits the count 15 ms (wall time) after the first uncounted one. */
class Batches implements KeyedProcessFunction<string, Click, Batch> {
  static inside = false;
  #count!: ValueState<number>;
  #pending!: ValueState<number>;
  #n = 0;
  open(ctx: RuntimeContext): void {
    this.#count = ctx.getState(valueState<number>('count'));
    this.#pending = ctx.getState(valueState<number>('pending'));
  }
  async processElement(_click: Click, ctx: KeyedProcessContext<string>): Promise<void> {
    Batches.inside = true;
    this.#count.update((this.#count.value() ?? 0) + 1);
    if (this.#pending.value() === undefined) {
      const at = ctx.timerService().currentProcessingTime() + 15;
      ctx.timerService().registerProcessingTimeTimer(at);
      this.#pending.update(at);
      ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER); // flushes the rest at the end
    }
    // Sometimes yield to the event loop mid-record: a due timer must still wait for the record.
    if (++this.#n % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    Batches.inside = false;
  }
  onTimer(timer: number, ctx: OnTimerContext<string>, out: Collector<Batch>): void {
    expect(Batches.inside).toBe(false);
    out.collect({ user: ctx.getCurrentKey(), count: this.#count.value() ?? 0, timer, firedAt: ctx.timerService().currentProcessingTime(), domain: ctx.timeDomain() });
    this.#count.clear();
    this.#pending.clear();
  }
}

/**
 * On a user's first click: one event-time timer at the end of time and one processing-time timer
 * at `deadline`; later clicks only count. Nothing registers twice, so a timer that fires after
 * a restore for a user of the first run can only be a restored one.
 */
class FirstClicks implements KeyedProcessFunction<string, Click, string> {
  #count!: ValueState<number>;
  constructor(private readonly deadline: number) {}
  open(ctx: RuntimeContext): void {
    this.#count = ctx.getState(valueState<number>('count'));
  }
  processElement(_click: Click, ctx: KeyedProcessContext<string>): void {
    if (this.#count.value() === undefined) {
      ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER);
      ctx.timerService().registerProcessingTimeTimer(this.deadline);
    }
    this.#count.update((this.#count.value() ?? 0) + 1);
  }
  onTimer(_timer: number, ctx: OnTimerContext<string>, out: Collector<string>): void {
    out.collect(ctx.timeDomain() === 'EVENT_TIME' ? `${ctx.getCurrentKey()} event ${this.#count.value()}` : `${ctx.getCurrentKey()} processing`);
  }
}

describe('KeyedProcessFunction timers', () => {
  it('fires event-time timers per key and timestamp once, in order, with the key set, and never deleted ones', async () => {
    const records = 6_000;
    const seen: { line: string; timestamp: number | null }[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    timed(env, clicks(records))
      .keyBy((c) => c.user)
      .process(() => new PerMinute())
      .uid('per-minute')
      .sinkTo({ invoke: (line: string, { timestamp }) => void seen.push({ line, timestamp }) })
      .uid('sink');
    await env.execute('per-minute timers');

    const counts = new Map<string, number>();
    for (const c of await allClicks(records)) {
      const id = `${c.user} ${minuteEnd(timeOf(c))}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const expected = [...counts].flatMap(([id, n]) => {
      const [user, at] = id.split(' ') as [string, string];
      return n < 3 ? [`${id} ${n}`, `${user} ${Number(at) + 30_000} quiet`] : [`${id} ${n}`];
    });
    expect(expected.some((line) => line.endsWith('quiet'))).toBe(true);
    expect(seen.map((s) => s.line).sort()).toEqual(expected.sort());
    for (const { line, timestamp } of seen) expect(timestamp).toBe(Number(line.split(' ')[1])); // output keeps the timer's time
    for (let u = 0; u < USERS; u++) {
      const times = seen.filter((s) => s.line.startsWith(`u${u} `)).map((s) => s.timestamp!);
      expect(times).toEqual([...times].sort((a, b) => a - b)); // per key, in timestamp order
    }
  });

  it('fires processing-time timers from the mailbox, never while processElement is running', async () => {
    const records = 3_000;
    const firings: (Batch & { timestamp: number | null })[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    timed(env, clicks(records, 6_000))
      .keyBy((c) => c.user)
      .process(() => new Batches())
      .uid('batches')
      .sinkTo({ invoke: (b: Batch, { timestamp }) => void firings.push({ ...b, timestamp }) })
      .uid('sink');
    await env.execute('processing-time timers');

    const processing = firings.filter((f) => f.domain === 'PROCESSING_TIME');
    expect(processing.length).toBeGreaterThan(USERS); // ~0.5 s of clicks, a timer every 15 ms per busy user
    for (const f of processing) {
      expect(f.firedAt).toBeGreaterThanOrEqual(f.timer);
      expect(f.timestamp).toBeNull(); // processing-time output carries no event time
    }
    for (const f of firings.filter((x) => x.domain === 'EVENT_TIME')) expect(f.timestamp).toBe(Number.MAX_SAFE_INTEGER);
    expect(firings.reduce((n, f) => n + f.count, 0)).toBe(records);
  });

  it('restores event-time and processing-time timers at another parallelism, firing each exactly once', async () => {
    const records = 20_000;
    // The processing-time timers must be due after the first run has failed and before the
    // second starts. How long the first run takes depends on the machine, so a run that outlasts
    // its margin is tried again with a longer one instead of failing the test.
    let attempt = 0;
    let checkpoints = '';
    let store = new MemoryTransactionalStore<string>();
    let deadline = 0;
    const build = (env: StreamExecutionEnvironment, perSecond: number, failAt?: number): void => {
      timed(env, clicks(records, perSecond))
        .map(failOnce<Click>(failAt))
        .uid('fail-once')
        .keyBy((c) => c.user)
        .process(() => new FirstClicks(deadline))
        .uid('first-clicks')
        .sinkTo(() => new MemoryTransactionalSink(store))
        .uid('sink');
    };

    for (const marginMs of [2_000, 8_000, 30_000]) {
      checkpoints = `${dir.path}/timers-${attempt++}`;
      store = new MemoryTransactionalStore<string>();
      deadline = Date.now() + marginMs;
      const first = StreamExecutionEnvironment.getExecutionEnvironment()
        .setParallelism(2)
        .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
        .setRestartStrategy({ type: 'none' });
      build(first, 10_000, 1_000);
      await expect(first.execute('first clicks, fails')).rejects.toThrow(/injected failure/);
      if (Date.now() < deadline) break; // no processing-time timer can have fired yet
    }
    expect(Date.now()).toBeLessThan(deadline);
    expect(store.all()).toEqual([]);
    await new Promise((r) => setTimeout(r, deadline - Date.now() + 5));

    const latest = await latestCheckpoint(checkpoints);
    const timers = (await openSnapshot(latest)).metadata.operators.find((o) => o.uid === 'first-clicks')?.keyedStates.find((k) => k.name === '_timers');
    expect(timers?.kind).toBe('timers');
    expect(timers?.entries).toBeGreaterThan(0); // users whose two timers only a restore can bring back

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(latest);
    build(second, 40_000);
    await second.execute('first clicks, restored at p3');

    const counts = new Map<string, number>();
    for (const c of await allClicks(records)) counts.set(c.user, (counts.get(c.user) ?? 0) + 1);
    const expected = [...counts].flatMap(([user, n]) => [`${user} event ${n}`, `${user} processing`]);
    expect(store.all().sort()).toEqual(expected.sort());
  });

  it('gives keyed connected streams timers too (KeyedCoProcessFunction), and refuses them unkeyed', async () => {
    const fired: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    const left = timed(env, clicks(400));
    const right = env.fromElements('u1', 'u2', 'u3');
    left
      .connect(right)
      .keyBy((c) => c.user, (user) => user)
      .process<string>({
        processElement1(click, ctx) {
          ctx.timerService().registerEventTimeTimer(minuteEnd(timeOf(click)));
        },
        processElement2() {},
        onTimer(timestamp, ctx, out) {
          out.collect(`${String(ctx.getCurrentKey())} ${timestamp} ${ctx.timeDomain()}`);
        },
      })
      .sinkTo({ invoke: (line: string) => void fired.push(line) });
    await env.execute('keyed co-process timers');
    const expected = new Set((await allClicks(400)).map((c) => `${c.user} ${minuteEnd(timeOf(c))} EVENT_TIME`));
    expect(fired.sort()).toEqual([...expected].sort());

    const unkeyed = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    unkeyed
      .fromElements(1)
      .connect(unkeyed.fromElements(2))
      .process<number>({
        processElement1(_v, ctx) {
          ctx.timerService().registerProcessingTimeTimer(0);
        },
        processElement2() {},
      })
      .sinkTo({ invoke() {} });
    await expect(unkeyed.execute('unkeyed timers')).rejects.toThrow(/only supported on keyed streams/);
  });
});
