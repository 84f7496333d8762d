/**
 * `npm run bench -- broadcast`: what the broadcast state pattern costs a keyed record. Both runs
 * check every record against the same RULES limits and count the user's breaches in ValueState,
 * parallelism 1, through the whole engine:
 * - broadcast: the limits come from a broadcast rules stream into a KeyedBroadcastProcessFunction,
 *   which reads them per record from the read-only broadcast state;
 * - baseline: the limits are an array of pairs in a KeyedProcessFunction (no second input, no
 *   broadcast state).
 * Records/s median (min-max) over BENCH_REPS interleaved rounds after a warm-up, and the ratio
 * broadcast / baseline per round. The sinks' breach totals must agree, so both did the same work.
 *
 * Environment: BENCH_RECORDS (default 1M), BENCH_KEYS (default 10k), BENCH_REPS (default 5).
 */
import { performance } from 'node:perf_hooks';
import { heldAfter } from '../fixtures/jobs/fail-injection.ts';
import { StreamExecutionEnvironment } from '../src/engine/api/environment.ts';
import type { KeyedBroadcastContext, KeyedBroadcastProcessFunction, KeyedBroadcastReadOnlyContext } from '../src/engine/api/broadcast-process-function.ts';
import type { Collector } from '../src/engine/api/functions.ts';
import type { KeyedProcessFunction } from '../src/engine/api/keyed-process.ts';
import type { RuntimeContext } from '../src/engine/api/runtime-context.ts';
import { DataGeneratorSource } from '../src/engine/connectors/data-generator-source.ts';
import type { ValueState } from '../src/engine/state/keyed-state-handles.ts';
import { mapState, valueState } from '../src/engine/state/state-descriptors.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { bold, count, interleave, num, range, ratios, table } from './stats.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 10_000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const RULES: readonly (readonly [string, number])[] = Array.from({ length: 10 }, (_, i) => [`rule-${i}`, 900 + i * 10] as const);

type Txn = { readonly user: string; readonly amount: number };
const txn = (i: number): Txn => ({ user: `u${fmix32(i) % KEYS}`, amount: fmix32(i ^ 0x5bd1e995) % 1000 });
const limits = mapState<string, number>('limits');
const breachCount = valueState<number>('breaches');

function breachesOf(amount: number, rules: Iterable<readonly [string, number]>, state: ValueState<number>): number {
  let n = 0;
  for (const [, max] of rules) if (amount > max) n++;
  if (n > 0) state.update((state.value() ?? 0) + n);
  return n;
}

class WithBroadcast implements KeyedBroadcastProcessFunction<string, Txn, readonly [string, number], number> {
  private breaches!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.breaches = ctx.getState(breachCount);
  }
  processElement(t: Txn, ctx: KeyedBroadcastReadOnlyContext<string>, out: Collector<number>): void {
    const n = breachesOf(t.amount, ctx.getBroadcastState(limits).immutableEntries(), this.breaches);
    if (n > 0) out.collect(n);
  }
  constructor(private readonly rulesIn: () => void) {}
  processBroadcastElement(rule: readonly [string, number], ctx: KeyedBroadcastContext<string>): void {
    ctx.getBroadcastState(limits).put(rule[0], rule[1]);
    if (rule[0] === RULES[RULES.length - 1]![0]) this.rulesIn();
  }
}

class WithMap implements KeyedProcessFunction<string, Txn, number> {
  private breaches!: ValueState<number>;
  /** The pairs themselves, as the broadcast state keeps them (a Map's own iterator would allocate a pair per entry). */
  private readonly rules = RULES;
  open(ctx: RuntimeContext): void {
    this.breaches = ctx.getState(breachCount);
  }
  processElement(t: Txn, _ctx: unknown, out: Collector<number>): void {
    const n = breachesOf(t.amount, this.rules, this.breaches);
    if (n > 0) out.collect(n);
  }
}

async function runOnce(kind: 'broadcast' | 'baseline', totals: number[]): Promise<number> {
  let total = 0;
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  // Broadcast: the transactions wait until every rule is in, so both runs check every record against all of them.
  let rulesIn = kind === 'baseline';
  const source = heldAfter(new DataGeneratorSource({ count: RECORDS, splits: 1, generate: txn }), 0, () => !rulesIn);
  const txns = env.fromSource(source, 'txns').keyBy((t) => t.user);
  const sink = { invoke: (n: number) => void (total += n) };
  if (kind === 'broadcast') {
    const rules = env.fromSource(new DataGeneratorSource({ count: RULES.length, splits: 1, generate: (i) => RULES[i]! }), 'rules');
    txns
      .connect(rules.broadcast(limits))
      .process(() => new WithBroadcast(() => (rulesIn = true)))
      .sinkTo(sink);
  } else {
    txns.process(() => new WithMap()).sinkTo(sink);
  }
  const start = performance.now();
  await env.execute(`bench ${kind}`);
  const seconds = (performance.now() - start) / 1000;
  totals.push(total);
  return seconds;
}

export async function run(): Promise<void> {
  console.log(bold('broadcast state: a keyed record checked against 10 broadcast rules, against the same rules in an array'));
  console.log(`${count(RECORDS)} records over ${count(KEYS)} keys per run, parallelism 1, ${REPS} rounds after a warm-up, cases interleaved; records/s median (min-max)`);
  const totals = { broadcast: [] as number[], baseline: [] as number[] };
  const samples = await interleave(
    {
      broadcast: () => runOnce('broadcast', totals.broadcast),
      baseline: () => runOnce('baseline', totals.baseline),
    },
    { reps: REPS },
  );
  const expectedTotal = totals.baseline[0];
  if ([...totals.broadcast, ...totals.baseline].some((t) => t !== expectedTotal)) {
    throw new Error(`breach totals differ: broadcast ${totals.broadcast.join(',')} baseline ${totals.baseline.join(',')}`);
  }
  const rate = (seconds: readonly number[]): string => {
    const r = range(seconds.map((s) => RECORDS / s));
    return `${count(r.median)}/s (${count(r.min)}/s-${count(r.max)}/s)`;
  };
  const r = range(ratios(samples.baseline, samples.broadcast));
  console.log(
    table([
      ['broadcast rules (KeyedBroadcastProcessFunction)', 'rules in an array (KeyedProcessFunction)', 'broadcast / baseline'],
      [rate(samples.broadcast), rate(samples.baseline), `${num(r.median)} (${num(r.min)}-${num(r.max)})`],
    ]),
  );
  console.log(`breaches counted per run: ${count(expectedTotal ?? 0)} (equal in every run)`);
}
