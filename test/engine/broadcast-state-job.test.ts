/**
 * A broadcast-state job through checkpoints, a failure and a restore at another parallelism:
 * one event-time stream of orders and limit rules; the rules are broadcast (kept by their time in
 * broadcast state), the orders keyed by user wait for their event-time timer, and each order is
 * checked against the limit in force at its time. The exactly-once sink's committed alerts equal
 * those computed directly, straight at p=1, at p=2 with a failure, and restored at p=3, where
 * every new subtask got the whole broadcast state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnce, heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import type { KeyedBroadcastContext, KeyedBroadcastOnTimerContext, KeyedBroadcastProcessFunction, KeyedBroadcastReadOnlyContext } from '../../src/engine/api/broadcast-process-function.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { Collector } from '../../src/engine/api/functions.ts';
import type { RuntimeContext } from '../../src/engine/api/runtime-context.ts';
import type { Source } from '../../src/engine/api/source.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import type { SinkFunction } from '../../src/engine/runtime/operators.ts';
import type { MapState } from '../../src/engine/state/keyed-state-handles.ts';
import { mapState } from '../../src/engine/state/state-descriptors.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { latestCheckpoint } from '../support/latest-checkpoint.ts';
import { tempDir } from '../support/temp-dir.ts';

type Event = { readonly kind: 'rule'; readonly time: number; readonly limit: number } | { readonly kind: 'order'; readonly user: string; readonly amount: number; readonly time: number };
type Rule = Extract<Event, { kind: 'rule' }>;
type Order = Extract<Event, { kind: 'order' }>;

const RECORDS = 12_000;
const RULE_EVERY = 40;
const EPOCH = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
/** As in order-jobs.ts: covers the skew between source subtasks after a restore at another parallelism. */
const OUT_OF_ORDERNESS = 30 * MINUTE;

function events(perSecond?: number): DataGeneratorSource<Event> {
  return new DataGeneratorSource<Event>({
    count: RECORDS,
    seed: 5,
    ...(perSecond === undefined ? {} : { recordsPerSecond: perSecond }),
    generate: (i, random): Event =>
      i % RULE_EVERY === 0
        ? { kind: 'rule', time: EPOCH + i * 1000, limit: 5_000 + Math.floor(random() * 5_000) }
        : { kind: 'order', user: `user-${Math.floor(random() * 20)}`, amount: 1 + Math.floor(random() * 10_000), time: EPOCH + i * 1000 },
  });
}

async function allEvents(): Promise<Event[]> {
  const source: Source<Event> = events();
  const reader = source.createReader({ subtaskIndex: 0, parallelism: 1 });
  reader.addSplits(source.createSplits(1));
  const out: Event[] = [];
  for (let done = false; !done; ) {
    const result = await reader.poll(100_000);
    for (const r of result.records) out.push(r.value);
    done = result.done;
  }
  return out;
}

const alertOf = (o: Order, limit: number): string => `${o.user} ${o.time} ${o.amount} > ${limit}`;

/** Each order against the last rule at or before its time (event i has time EPOCH + i s). */
function expectedAlerts(all: readonly Event[]): string[] {
  let limit = Number.POSITIVE_INFINITY;
  const out: string[] = [];
  for (const e of all) {
    if (e.kind === 'rule') limit = e.limit;
    else if (e.amount > limit) out.push(alertOf(e, limit));
  }
  return out.sort();
}

const limits = mapState<number, number>('limits');

interface Observed {
  /** Records that came after the watermark had passed them (none expected). */
  readonly late: string[];
  /** Per restored subtask: its parallelism, index and the rules its broadcast state held. */
  readonly restored: { readonly parallelism: number; readonly subtask: number; readonly rules: number }[];
}

class LimitCheck implements KeyedBroadcastProcessFunction<string, Order, Rule, string> {
  #pending!: MapState<number, number>;
  constructor(private readonly observed: Observed) {}

  initializeState({ isRestored, runtime }: { readonly isRestored: boolean; readonly runtime: RuntimeContext }): void {
    if (!isRestored) return;
    const rules = [...runtime.operatorState.getBroadcastState<number, number>(limits.name).keys()].length;
    this.observed.restored.push({ parallelism: runtime.parallelism, subtask: runtime.subtaskIndex, rules });
  }

  open(ctx: RuntimeContext): void {
    this.#pending = ctx.getMapState(mapState<number, number>('pending'));
  }

  processElement(order: Order, ctx: KeyedBroadcastReadOnlyContext<string>): void {
    if (order.time <= ctx.currentWatermark()) this.observed.late.push(`order ${order.time}`);
    this.#pending.put(order.time, order.amount);
    ctx.timerService().registerEventTimeTimer(order.time);
  }

  processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext<string>): void {
    if (rule.time <= ctx.currentWatermark()) this.observed.late.push(`rule ${rule.time}`);
    ctx.getBroadcastState(limits).put(rule.time, rule.limit);
  }

  onTimer(time: number, ctx: KeyedBroadcastOnTimerContext<string>, out: Collector<string>): void {
    const amount = this.#pending.get(time)!;
    this.#pending.remove(time);
    let at = Number.NEGATIVE_INFINITY;
    let limit = Number.POSITIVE_INFINITY;
    for (const [ruleTime, ruleLimit] of ctx.getBroadcastState(limits).immutableEntries()) {
      if (ruleTime <= time && ruleTime > at) [at, limit] = [ruleTime, ruleLimit];
    }
    if (amount > limit) out.collect(alertOf({ kind: 'order', user: ctx.getCurrentKey(), amount, time }, limit));
  }
}

interface JobOptions {
  readonly perSecond?: number;
  readonly failAt?: number;
  readonly sink: () => SinkFunction<string>;
  readonly observed: Observed;
}

function limitJob(env: StreamExecutionEnvironment, options: JobOptions): void {
  let checkpointed = false;
  const source = options.failAt === undefined ? events(options.perSecond) : heldAfter(events(options.perSecond), options.failAt, () => !checkpointed);
  const timed = env
    .fromSource(source, 'events')
    .uid('events')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>(OUT_OF_ORDERNESS).withTimestampAssigner((e) => e.time))
    .uid('timestamps')
    .map(failOnce<Event>(options.failAt, () => (checkpointed = true)))
    .uid('fail-once');
  const rules = timed
    .flatMap<Rule>((e, out) => {
      if (e.kind === 'rule') out.collect(e);
    })
    .uid('rules')
    .broadcast(limits);
  timed
    .flatMap<Order>((e, out) => {
      if (e.kind === 'order') out.collect(e);
    })
    .uid('orders')
    .keyBy((o) => o.user)
    .connect(rules)
    .process(() => new LimitCheck(options.observed))
    .uid('limit-check')
    .sinkTo(options.sink)
    .uid('sink');
}

/**
 * The non-keyed variant: every order passes through once (exactly-once, whatever the order of
 * rules and orders), and each restored subtask reports the rules its broadcast state held.
 */
function passThroughJob(env: StreamExecutionEnvironment, options: JobOptions): void {
  let checkpointed = false;
  const source = options.failAt === undefined ? events(options.perSecond) : heldAfter(events(options.perSecond), options.failAt, () => !checkpointed);
  const all = env.fromSource(source, 'events').uid('events').map(failOnce<Event>(options.failAt, () => (checkpointed = true))).uid('fail-once');
  const rules = all
    .flatMap<Rule>((e, out) => {
      if (e.kind === 'rule') out.collect(e);
    })
    .uid('rules')
    .broadcast(limits);
  const observed = options.observed;
  all
    .flatMap<Order>((e, out) => {
      if (e.kind === 'order') out.collect(e);
    })
    .uid('orders')
    .connect(rules)
    .process<string>(() => ({
      initializeState({ isRestored, runtime }) {
        if (!isRestored) return;
        const held = [...runtime.operatorState.getBroadcastState<number, number>(limits.name).keys()].length;
        observed.restored.push({ parallelism: runtime.parallelism, subtask: runtime.subtaskIndex, rules: held });
      },
      processElement(order, _ctx, out) {
        out.collect(`${order.user} ${order.time}`);
      },
      processBroadcastElement(rule, ctx) {
        ctx.getBroadcastState(limits).put(rule.time, rule.limit);
      },
    }))
    .uid('pass-through')
    .sinkTo(options.sink)
    .uid('sink');
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let expected: string[];
beforeAll(async () => {
  dir = await tempDir();
  expected = expectedAlerts(await allEvents());
});
afterAll(async () => {
  await dir.remove();
});

const observe = (): Observed => ({ late: [], restored: [] });

describe('a keyed broadcast-state job', () => {
  it('alerts each order above the limit in force at its time, as computed directly', async () => {
    expect(expected.length).toBeGreaterThan(1000);
    const store = new MemoryTransactionalStore<string>();
    const observed = observe();
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    limitJob(env, { sink: () => new MemoryTransactionalSink(store), observed });
    await env.execute('limits p1');
    expect(observed.late).toEqual([]);
    expect(store.all().sort()).toEqual(expected);
  });

  it('commits the same alerts at p=2 with checkpoints every 20 ms and a failure, each subtask restoring the rules', async () => {
    const store = new MemoryTransactionalStore<string>();
    const observed = observe();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/p2` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    limitJob(env, { perSecond: 8_000, failAt: 2_000, sink: () => new MemoryTransactionalSink(store), observed });
    const result = await env.execute('limits p2 with a failure');
    expect(result.attempts).toBe(2);
    expect(observed.late).toEqual([]);
    expect(store.all().sort()).toEqual(expected);
    expect(observed.restored.map((r) => `${r.parallelism}/${r.subtask}`).sort()).toEqual(['2/0', '2/1']);
    expect(observed.restored[0]!.rules).toBeGreaterThan(0);
    expect(new Set(observed.restored.map((r) => r.rules)).size).toBe(1);
  });

  it('restores a failed p=2 run at p=3: every new subtask gets the whole broadcast state, and no alert is lost or doubled', async () => {
    const store = new MemoryTransactionalStore<string>();
    const checkpoints = `${dir.path}/restore`;
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    const before = observe();
    limitJob(first, { perSecond: 8_000, failAt: 2_000, sink: () => new MemoryTransactionalSink(store), observed: before });
    await expect(first.execute('limits, fails')).rejects.toThrow(/injected failure/);
    expect(store.all().length).toBeLessThan(expected.length);

    const observed = observe();
    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    limitJob(second, { perSecond: 60_000, sink: () => new MemoryTransactionalSink(store), observed });
    await second.execute('limits, restored at p3');
    expect([...before.late, ...observed.late]).toEqual([]);
    expect(store.all().sort()).toEqual(expected);
    expect(observed.restored.map((r) => `${r.parallelism}/${r.subtask}`).sort()).toEqual(['3/0', '3/1', '3/2']);
    expect(observed.restored[0]!.rules).toBeGreaterThan(0);
    expect(new Set(observed.restored.map((r) => r.rules)).size).toBe(1);
  });

  it('restores a non-keyed BroadcastProcessFunction at p=3 from a failed p=2 run: broadcast state on every subtask, every order committed once', async () => {
    const all = await allEvents();
    const orders = all.flatMap((e) => (e.kind === 'order' ? [`${e.user} ${e.time}`] : [])).sort();
    const store = new MemoryTransactionalStore<string>();
    const checkpoints = `${dir.path}/non-keyed`;
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    passThroughJob(first, { perSecond: 8_000, failAt: 2_000, sink: () => new MemoryTransactionalSink(store), observed: observe() });
    await expect(first.execute('pass-through, fails')).rejects.toThrow(/injected failure/);

    const observed = observe();
    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    passThroughJob(second, { perSecond: 60_000, sink: () => new MemoryTransactionalSink(store), observed });
    await second.execute('pass-through, restored at p3');
    expect(store.all().sort()).toEqual(orders);
    expect(observed.restored.map((r) => `${r.parallelism}/${r.subtask}`).sort()).toEqual(['3/0', '3/1', '3/2']);
    expect(observed.restored[0]!.rules).toBeGreaterThan(0);
    expect(new Set(observed.restored.map((r) => r.rules)).size).toBe(1);
  });
});
