/**
 * The broadcast state pattern through the whole engine, against answers computed directly: the
 * plain broadcast partitioner; rules broadcast to a keyed stream, with the data held until every
 * subtask has the rules and a report rule held until every payment was seen, so each subtask's
 * order of rule and element is fixed (it is per subtask, as in Flink); applyToKeyedState on every
 * state backend; read-only broadcast state in processElement and onTimer; no current key on the
 * broadcast side; and a non-keyed BroadcastProcessFunction.
 */
import { describe, expect, it } from 'vitest';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import type { KeyedBroadcastContext, KeyedBroadcastOnTimerContext, KeyedBroadcastProcessFunction, KeyedBroadcastReadOnlyContext } from '../../src/engine/api/broadcast-process-function.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { Collector, MapFunction } from '../../src/engine/api/functions.ts';
import type { RuntimeContext } from '../../src/engine/api/runtime-context.ts';
import type { Source } from '../../src/engine/api/source.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import type { ValueState } from '../../src/engine/state/keyed-state-handles.ts';
import type { BroadcastState } from '../../src/engine/state/operator-state-store.ts';
import { mapState, valueState } from '../../src/engine/state/state-descriptors.ts';
import type { BuiltStateBackendType } from '../../src/engine/state/state-backend-type.ts';

interface Payment {
  readonly user: string;
  readonly amount: number;
  readonly time: number;
}
type Rule = { readonly kind: 'limit'; readonly name: string; readonly limit: number } | { readonly kind: 'report' };

const PAYMENTS = 300;
const USERS = 12;
const payment = (i: number, random: () => number): Payment => ({ user: `u${Math.floor(random() * USERS)}`, amount: 1 + Math.floor(random() * 100), time: 1000 + i * 10 });
const RULES: readonly Rule[] = [
  { kind: 'limit', name: 'large', limit: 80 },
  { kind: 'limit', name: 'medium', limit: 50 },
  { kind: 'report' },
  { kind: 'report' },
];
/** Limit rules go out first; the reports only once every payment was processed. */
const LIMIT_RULES = 2;

function generated<T>(count: number, generate: (i: number, random: () => number) => T, splits: number): DataGeneratorSource<T> {
  return new DataGeneratorSource<T>({ count, seed: 11, splits, generate });
}

async function readAll<T>(source: Source<T>): Promise<T[]> {
  const reader = source.createReader({ subtaskIndex: 0, parallelism: 1 });
  reader.addSplits(source.createSplits(1));
  const out: T[] = [];
  for (let done = false; !done; ) {
    const result = await reader.poll(100_000);
    for (const r of result.records) out.push(r.value);
    done = result.done;
  }
  return out;
}

const limits = mapState<string, number>('limits');
const totalState = valueState<number>('total');

/** Shared by the subtasks of one run (they run in this process). */
interface Progress {
  rulesSeen: number;
  paymentsSeen: number;
  readonly refusals: string[];
}

class LimitsAndReports implements KeyedBroadcastProcessFunction<string, Payment, Rule, string> {
  #total!: ValueState<number>;
  constructor(private readonly progress: Progress) {}

  open(ctx: RuntimeContext): void {
    this.#total = ctx.getState(totalState);
  }

  processElement(p: Payment, ctx: KeyedBroadcastReadOnlyContext<string>, out: Collector<string>): void {
    expect(ctx.getCurrentKey()).toBe(p.user);
    expect(ctx.timestamp).toBe(p.time);
    this.#total.update((this.#total.value() ?? 0) + p.amount);
    const rules = ctx.getBroadcastState(limits);
    for (const [name, limit] of rules.immutableEntries()) if (p.amount > limit) out.collect(`${p.user} ${p.amount} breaks ${name}`);
    // Timers of the keyed side: one per key and 1000 ms of event time.
    ctx.timerService().registerEventTimeTimer(Math.floor(p.time / 1000) * 1000 + 999);
    if (this.progress.paymentsSeen === 0) this.#refuse(() => (rules as unknown as BroadcastState<string, number>).put('sneaky', 0));
    this.progress.paymentsSeen++;
  }

  processBroadcastElement(rule: Rule, ctx: KeyedBroadcastContext<string>, out: Collector<string>): void {
    expect(ctx.timestamp).toBeNull();
    this.#refuse(() => this.#total.value());
    if (rule.kind === 'limit') {
      ctx.getBroadcastState(limits).put(rule.name, rule.limit);
      this.progress.rulesSeen++;
      return;
    }
    ctx.applyToKeyedState(totalState, (user, total) => {
      out.collect(`${user} total ${total.value()}`);
      total.clear();
    });
  }

  onTimer(timestamp: number, ctx: KeyedBroadcastOnTimerContext<string>, out: Collector<string>): void {
    expect(ctx.timeDomain()).toBe('EVENT_TIME');
    const rules = ctx.getBroadcastState(limits);
    out.collect(`${ctx.getCurrentKey()} timer ${timestamp} sees ${[...rules.keys()].sort().join('+')}`);
    this.#refuse(() => (rules as unknown as BroadcastState<string, number>).remove('large'));
  }

  #refuse(action: () => unknown): void {
    try {
      action();
    } catch (err) {
      this.progress.refusals.push(err instanceof Error ? `${err.constructor.name}: ${err.message.replace(/^.*?: (?=keyed|broadcast)/, '')}` : String(err));
      return;
    }
    this.progress.refusals.push('allowed');
  }
}

async function runLimits(backend: BuiltStateBackendType, parallelism: number): Promise<{ lines: string[]; progress: Progress }> {
  const progress: Progress = { rulesSeen: 0, paymentsSeen: 0, refusals: [] };
  const lines: string[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism).setStateBackend(backend);
  const rules = env
    .fromSource(
      heldAfter(generated(RULES.length, (i) => RULES[i]!, 1), LIMIT_RULES, () => progress.paymentsSeen < PAYMENTS),
      'rules',
    )
    .uid('rules')
    .setParallelism(1)
    .broadcast(limits);
  env
    .fromSource(heldAfter(generated(PAYMENTS, payment, 4), 0, () => progress.rulesSeen < LIMIT_RULES * parallelism), 'payments')
    .uid('payments')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Payment>().withTimestampAssigner((p) => p.time))
    .uid('timestamps')
    .keyBy((p) => p.user)
    .connect(rules)
    .process(() => new LimitsAndReports(progress))
    .uid('limits')
    .sinkTo({ invoke: (line: string) => void lines.push(line) })
    .uid('sink');
  await env.execute(`limits on ${backend}`);
  return { lines: lines.sort(), progress };
}

async function expectedLimits(): Promise<string[]> {
  const payments = await readAll(generated(PAYMENTS, payment, 4));
  const out: string[] = [];
  const totals = new Map<string, number>();
  const timers = new Set<string>();
  for (const p of payments) {
    if (p.amount > 80) out.push(`${p.user} ${p.amount} breaks large`);
    if (p.amount > 50) out.push(`${p.user} ${p.amount} breaks medium`);
    totals.set(p.user, (totals.get(p.user) ?? 0) + p.amount);
    timers.add(`${p.user} timer ${Math.floor(p.time / 1000) * 1000 + 999} sees large+medium`);
  }
  // The first report visits every user once (on the subtask that owns it) and clears its total; the second finds none.
  for (const [user, total] of totals) out.push(`${user} total ${total}`);
  return [...out, ...timers].sort();
}

describe('DataStream.broadcast()', () => {
  it('sends every record to every subtask of the next operator', async () => {
    const seen: string[] = [];
    const tagged: MapFunction<number, string> & { subtask: number } = {
      subtask: -1,
      open(ctx) {
        this.subtask = ctx.subtaskIndex;
      },
      map(v) {
        return `${v}@${this.subtask}`;
      },
    };
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env.fromElements(1, 2, 3).broadcast().map(tagged).setParallelism(3).sinkTo({ invoke: (s: string) => void seen.push(s) }).setParallelism(3);
    await env.execute('broadcast partitioner');
    expect(seen.sort()).toEqual(['1@0', '1@1', '1@2', '2@0', '2@1', '2@2', '3@0', '3@1', '3@2']);
  });

  it('refuses a descriptor that is not a map state, and one name twice', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const s = env.fromElements(1);
    expect(() => s.broadcast(valueState('x') as never)).toThrow("broadcast state 'x' must be described by mapState(...), as Flink's MapStateDescriptor");
    expect(() => s.broadcast(limits, limits)).toThrow("broadcast state 'limits' is named twice in broadcast(...): give each state its own name");
  });
});

describe('keyedStream.connect(broadcastStream).process(KeyedBroadcastProcessFunction)', () => {
  for (const backend of ['hashmap', 'rocksdb', 'lmdb'] as const) {
    it(`applies the broadcast rules to every payment, reports and clears every key's total with applyToKeyedState, on ${backend}`, async () => {
      const { lines, progress } = await runLimits(backend, 2);
      expect(lines).toEqual(await expectedLimits());
      expect(progress.paymentsSeen).toBe(PAYMENTS);
      const refusals = [...new Set(progress.refusals)].sort();
      expect(refusals).toEqual([
        'UserError: broadcast state \'limits\' is read-only in processElement and onTimer (as in Flink): change it in processBroadcastElement, which every subtask runs alike',
        'UserError: keyed state was accessed while processing a broadcast element, which belongs to no key: reach keyed state there through ctx.applyToKeyedState(descriptor, fn)',
      ]);
      // Both limits rules and both reports reached both subtasks; the timers' refusals are from onTimer.
      expect(progress.refusals.filter((r) => r.includes('no key'))).toHaveLength(RULES.length * 2);
    });
  }

  it('refuses a broadcast state the stream did not declare', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    const rules = env.fromElements<Rule>({ kind: 'report' }).broadcast(limits);
    env
      .fromElements<Payment>({ user: 'a', amount: 1, time: 0 })
      .keyBy((p) => p.user)
      .connect(rules)
      .process<string, string>({
        processElement() {},
        processBroadcastElement(_rule, ctx) {
          ctx.getBroadcastState(mapState<string, number>('other')).put('x', 1);
        },
      })
      .uid('undeclared')
      .sinkTo({ invoke() {} });
    await expect(env.execute('undeclared broadcast state')).rejects.toThrow(
      "operator 'undeclared': broadcast state 'other' does not exist (declared: 'limits'); pass its descriptor to stream.broadcast(...)",
    );
  });

  it('refuses an asynchronous function given to applyToKeyedState', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    let paymentSeen = false;
    let total: ValueState<number>;
    const rules = env.fromSource(heldAfter(generated(1, (): Rule => ({ kind: 'report' }), 1), 0, () => !paymentSeen), 'rules').broadcast(limits);
    env
      .fromElements<Payment>({ user: 'a', amount: 1, time: 0 })
      .keyBy((p) => p.user)
      .connect(rules)
      .process<string, string>({
        open(ctx) {
          total = ctx.getState(totalState);
        },
        processElement(p) {
          total.update(p.amount);
          paymentSeen = true;
        },
        processBroadcastElement(_rule, ctx) {
          ctx.applyToKeyedState(totalState, async () => undefined);
        },
      })
      .uid('async-visit')
      .sinkTo({ invoke() {} });
    await expect(env.execute('async applyToKeyedState')).rejects.toThrow(
      "operator 'async-visit': the function given to applyToKeyedState returned a promise; it must be synchronous (as Flink's KeyedStateFunction)",
    );
  });
});

describe('dataStream.connect(broadcastStream).process(BroadcastProcessFunction)', () => {
  it('converts each amount at the rate broadcast before it, on every subtask, and keeps the rates read-only there', async () => {
    const rates = mapState<string, number>('rates');
    const RATES: readonly (readonly [string, number])[] = [
      ['EUR', 2],
      ['GBP', 3],
      ['USD', 1],
    ];
    const AMOUNTS = 90;
    const amount = (i: number): readonly [string, number] => [RATES[i % 3]![0], i];
    const progress = { rates: 0, refusals: new Set<string>() };
    const out: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3);
    const rateStream = env.fromSource(generated(RATES.length, (i) => RATES[i]!, 1), 'rates').setParallelism(1).broadcast(rates);
    env
      .fromSource(heldAfter(generated(AMOUNTS, amount, 3), 0, () => progress.rates < RATES.length * 3), 'amounts')
      .connect(rateStream)
      .process<string>({
        processElement([currency, value], ctx, collector) {
          const state = ctx.getBroadcastState(rates);
          collector.collect(`${value} ${currency} = ${value * state.get(currency)!}`);
          try {
            (state as unknown as BroadcastState<string, number>).clear();
          } catch (err) {
            progress.refusals.add((err as Error).message);
          }
        },
        processBroadcastElement([currency, rate], ctx) {
          ctx.getBroadcastState(rates).put(currency, rate);
          progress.rates++;
        },
      })
      .sinkTo({ invoke: (s: string) => void out.push(s) });
    await env.execute('rates');
    const rateOf = new Map(RATES);
    const expected = Array.from({ length: AMOUNTS }, (_, i) => `${i} ${amount(i)[0]} = ${i * rateOf.get(amount(i)[0])!}`);
    expect(out.sort()).toEqual(expected.sort());
    expect([...progress.refusals]).toEqual(["broadcast state 'rates' is read-only in processElement and onTimer (as in Flink): change it in processBroadcastElement, which every subtask runs alike"]);
  });

  it('refuses a function with onTimer on a non-keyed stream', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const rules = env.fromElements<Rule>({ kind: 'report' }).broadcast(limits);
    expect(() => env.fromElements(1).connect(rules).process(new LimitsAndReports({ rulesSeen: 0, paymentsSeen: 0, refusals: [] }) as never)).toThrow(
      'a KeyedBroadcastProcessFunction (it has onTimer) needs a keyed stream: keyBy(...).connect(broadcastStream)',
    );
  });
});
