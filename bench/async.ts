/**
 * `npm run bench -- async`: what Async I/O costs per record. A DataGeneratorSource of numbers
 * chained to AsyncDataStream.unorderedWait (and orderedWait) with a function that completes at
 * once (so only the operator's own work is measured: queue, ResultFuture, mail, timeout timer)
 * and a counting sink, against the same pipeline with a plain map in its place, interleaved in
 * the same run and given as a ratio of the map's records/s.
 *
 * Environment: BENCH_RECORDS (default 500k), BENCH_REPS (default 3), BENCH_CAPACITY (default 100,
 * Flink's), BENCH_TIMEOUT_MS (default 10000; 0 registers no timeout timer per request).
 */
import { performance } from 'node:perf_hooks';
import { AsyncDataStream } from '../src/engine/api/async-data-stream.ts';
import type { AsyncFunction } from '../src/engine/api/async-function.ts';
import { StreamExecutionEnvironment } from '../src/engine/api/environment.ts';
import type { DataStream } from '../src/engine/api/data-stream.ts';
import { DataGeneratorSource } from '../src/engine/connectors/data-generator-source.ts';
import { bold, count, interleave, num, range, ratios, table } from './stats.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 500_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CAPACITY = Number(process.env.BENCH_CAPACITY ?? 100);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 10_000);

const immediate: AsyncFunction<number, number> = {
  asyncInvoke(value, future) {
    future.complete([value + 1]);
  },
};

/** Seconds for RECORDS through source -> `middle` -> counting sink; the sum proves every record arrived. */
async function timed(middle: (s: DataStream<number>) => DataStream<number>): Promise<number> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  let sum = 0;
  middle(env.fromSource(new DataGeneratorSource<number>({ count: RECORDS, generate: (i) => i }), 'numbers')).sinkTo({ invoke: (v) => void (sum += v) });
  const start = performance.now();
  await env.execute('async bench');
  const seconds = (performance.now() - start) / 1000;
  const want = (RECORDS * (RECORDS - 1)) / 2 + RECORDS;
  if (sum !== want) throw new Error(`sink saw sum ${sum}, expected ${want}`);
  return seconds;
}

export async function run(): Promise<void> {
  process.stdout.write(bold(`async: ${count(RECORDS)} records, p=1, capacity ${CAPACITY}, timeout ${TIMEOUT_MS} ms, an AsyncFunction that completes at once, against map (same run)\n`));
  const samples = await interleave(
    {
      map: () => timed((s) => s.map((v) => v + 1)),
      unordered: () => timed((s) => AsyncDataStream.unorderedWait(s, immediate, TIMEOUT_MS, CAPACITY)),
      ordered: () => timed((s) => AsyncDataStream.orderedWait(s, immediate, TIMEOUT_MS, CAPACITY)),
    },
    { reps: REPS },
  );
  const rate = (seconds: readonly number[]): string => `${count(RECORDS / range(seconds).median)}/s`;
  const rows = [['pipeline', 'records/s (median)', 'ratio to map (median, min-max)']];
  rows.push(['map (baseline)', rate(samples.map), '1']);
  for (const name of ['unordered', 'ordered'] as const) {
    // Throughput ratio: map's seconds over this case's, pairwise per round.
    const r = range(ratios(samples.map, samples[name]));
    rows.push([`${name}Wait`, rate(samples[name]), `${num(r.median)} (${num(r.min)}-${num(r.max)})`]);
  }
  process.stdout.write(`${table(rows)}\n`);
}
