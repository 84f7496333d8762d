/**
 * `npm run bench -- windows`: window operator throughput through the engine (p=1, heap backend),
 * beside a keyed running reduce over the same records (the cheapest keyed stateful operator) as
 * the baseline measured in the same run. Prints figures, asserts nothing.
 *
 * WINDOWS_RECORDS (default 300k) orders, one per 100 ms of event time, watermark per batch:
 * - tumbling, 20 keys: 1-minute windows of ~30 records per key (records update a window);
 * - tumbling, 1000 keys: ~0.6 records per key and window (nearly every record opens a window);
 * - sessions, 20 keys: 5-second gap (records merge sessions);
 * - countWindow(10), 20 keys.
 * WINDOWS_REPS (default 5) rounds after a warm-up, cases interleaved; medians (min-max) and the
 * per-round ratio to the baseline.
 */
import { StreamExecutionEnvironment } from '../src/engine/api/environment.ts';
import type { KeyedStream } from '../src/engine/api/data-stream.ts';
import { EventTimeSessionWindows } from '../src/engine/api/session-windows.ts';
import { WatermarkStrategy } from '../src/engine/api/watermark-strategy.ts';
import { TumblingEventTimeWindows } from '../src/engine/api/window-assigners.ts';
import { DataGeneratorSource } from '../src/engine/connectors/data-generator-source.ts';
import { bold, count, interleave, num, range, ratios, table, timed } from './stats.ts';

const RECORDS = Number(process.env.WINDOWS_RECORDS ?? 300_000);
const REPS = Number(process.env.WINDOWS_REPS ?? 5);

interface Order {
  readonly user: number;
  readonly amount: number;
  readonly time: number;
}

const counting = { createAccumulator: () => 0, add: (_o: Order, n: number) => n + 1, getResult: (n: number) => n, merge: (a: number, b: number) => a + b };

async function job(users: number, build: (keyed: KeyedStream<Order, number>) => { sinkTo(sink: { invoke(): void }): unknown }): Promise<number> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  const keyed = env
    .fromSource(new DataGeneratorSource<Order>({ count: RECORDS, seed: 7, generate: (i, random) => ({ user: Math.floor(random() * users), amount: 1, time: i * 100 }) }), 'orders')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(1_000).withTimestampAssigner((o) => o.time))
    .keyBy((o) => o.user);
  build(keyed).sinkTo({ invoke: () => undefined });
  return timed(() => env.execute('windows bench'));
}

export async function run(): Promise<void> {
  console.log(bold('window operator throughput (p=1, heap), beside a keyed running reduce'));
  console.log(`${count(RECORDS)} records per run, ${REPS} rounds after a warm-up, cases interleaved; records/s median (min-max)`);
  const samples = await interleave(
    {
      baseline: () => job(20, (k) => k.reduce((a, b) => ({ user: a.user, amount: a.amount + b.amount, time: b.time }))),
      tumbling20: () => job(20, (k) => k.window(TumblingEventTimeWindows.of(60_000)).aggregate(counting)),
      tumbling1000: () => job(1000, (k) => k.window(TumblingEventTimeWindows.of(60_000)).aggregate(counting)),
      sessions20: () => job(20, (k) => k.window(EventTimeSessionWindows.withGap(5_000)).aggregate(counting)),
      count20: () => job(20, (k) => k.countWindow(10).aggregate(counting)),
    },
    { reps: REPS },
  );
  const rate = (seconds: readonly number[]): string => {
    const r = range(seconds.map((s) => RECORDS / s));
    return `${count(r.median)}/s (${count(r.min)}/s-${count(r.max)}/s)`;
  };
  const ratio = (s: readonly number[]): string => {
    const r = range(ratios(samples.baseline, s)); // throughput ratio = baseline seconds / case seconds
    return `${num(r.median)} (${num(r.min)}-${num(r.max)})`;
  };
  console.log(
    table([
      ['case', 'records/s', 'vs keyed reduce'],
      ['keyed running reduce (baseline)', rate(samples.baseline), '1'],
      ['tumbling 1 min, 20 keys', rate(samples.tumbling20), ratio(samples.tumbling20)],
      ['tumbling 1 min, 1000 keys', rate(samples.tumbling1000), ratio(samples.tumbling1000)],
      ['sessions 5 s gap, 20 keys', rate(samples.sessions20), ratio(samples.sessions20)],
      ['countWindow(10), 20 keys', rate(samples.count20), ratio(samples.count20)],
    ]),
  );
}
