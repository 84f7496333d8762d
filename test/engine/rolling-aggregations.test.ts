/**
 * KeyedStream's rolling aggregations outside windows, with Flink's semantics computed by hand
 * (sum/min/max keep the other fields of the key's first record; minBy/maxBy keep the whole record,
 * the first or the latest on a tie), and keyBy with composite keys (arrays, as Flink's tuple keys,
 * and plain objects): their key groups come from the canonical key encoding (docs/FORMAT.md), so a
 * job keyed by [user, region] is checkpointed, fails, and restores at another parallelism, each
 * record counted once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyedStream } from '../../src/engine/api/data-stream.ts';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { Source } from '../../src/engine/api/source.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { failOnce, latestCheckpoint } from './order-jobs.ts';

interface Sale {
  readonly user: string;
  readonly amount: number;
  readonly item: string;
}

const SALES: Sale[] = [
  { user: 'a', amount: 5, item: 'x' },
  { user: 'b', amount: 1, item: 'p' },
  { user: 'a', amount: 3, item: 'y' },
  { user: 'a', amount: 3, item: 'z' },
  { user: 'b', amount: 1, item: 'q' },
  { user: 'a', amount: 8, item: 'w' },
];

/** Runs `aggregate` over SALES keyed by user at parallelism 1; returns user a's outputs and user b's. */
async function rolling(aggregate: (keyed: KeyedStream<Sale, string>) => { sinkTo(sink: () => { invoke(v: Sale): void }): unknown }): Promise<{ a: string[]; b: string[] }> {
  const out: Sale[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  aggregate(env.fromElements(...SALES).keyBy((s) => s.user)).sinkTo(() => ({ invoke: (v: Sale) => void out.push(v) }));
  await env.execute('rolling');
  const show = (user: string) => out.filter((s) => s.user === user).map((s) => `${s.amount}${s.item}`);
  return { a: show('a'), b: show('b') };
}

describe('rolling aggregations', () => {
  it('sum, min and max change one field and keep the first record’s others', async () => {
    expect(await rolling((k) => k.sum('amount'))).toEqual({ a: ['5x', '8x', '11x', '19x'], b: ['1p', '2p'] });
    expect(await rolling((k) => k.min('amount'))).toEqual({ a: ['5x', '3x', '3x', '3x'], b: ['1p', '1p'] });
    expect(await rolling((k) => k.max('amount'))).toEqual({ a: ['5x', '5x', '5x', '8x'], b: ['1p', '1p'] });
  });

  it('minBy and maxBy keep the whole record: the first on a tie, or the latest with first = false', async () => {
    expect(await rolling((k) => k.minBy('amount'))).toEqual({ a: ['5x', '3y', '3y', '3y'], b: ['1p', '1p'] });
    expect(await rolling((k) => k.minBy('amount', false))).toEqual({ a: ['5x', '3y', '3z', '3z'], b: ['1p', '1q'] });
    expect(await rolling((k) => k.maxBy('amount'))).toEqual({ a: ['5x', '5x', '5x', '8w'], b: ['1p', '1p'] });
    expect(await rolling((k) => k.maxBy('amount', false))).toEqual({ a: ['5x', '5x', '5x', '8w'], b: ['1p', '1q'] });
  });

  it('aggregates a tuple position, keyed by another (Flink’s sum(1) over Tuple2)', async () => {
    const out: [string, number][] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env
      .fromElements<[string, number]>(['a', 1], ['b', 10], ['a', 2], ['b', 20], ['a', 4])
      .keyBy((t) => t[0])
      .sum(1)
      .sinkTo(() => ({ invoke: (v: [string, number]) => void out.push(v) }));
    await env.execute('tuple sum');
    expect(out.filter((t) => t[0] === 'a')).toEqual([['a', 1], ['a', 3], ['a', 7]]);
    expect(out.filter((t) => t[0] === 'b')).toEqual([['b', 10], ['b', 30]]);
    expect(out.every((t) => Array.isArray(t))).toBe(true);
  });

  it('refuses a field a record lacks, in one line naming it', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env
      .fromElements<{ k: string; n?: number }>({ k: 'a', n: 1 }, { k: 'a' })
      .keyBy((r) => r.k)
      .max('n')
      .sinkTo(() => ({ invoke: () => undefined }));
    await expect(env.execute('missing field')).rejects.toThrow(/Keyed Aggregation -> Sink: Sink \(1\/1\): UserError: max\("n"\): a record has no value in field "n"; aggregate only a field every record has \(/);
  });
});

interface Visit {
  readonly user: string;
  readonly region: string;
  readonly amount: number;
}
const RECORDS = 8_000;
const visit = (_i: number, random: () => number): Visit => ({ user: `u${Math.floor(random() * 7)}`, region: ['eu', 'us', 'ap'][Math.floor(random() * 3)]!, amount: 1 + Math.floor(random() * 100) });
const visits = (perSecond?: number) => new DataGeneratorSource<Visit>({ count: RECORDS, seed: 11, ...(perSecond === undefined ? {} : { recordsPerSecond: perSecond }), generate: visit });

describe('keyBy with composite keys', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let expected: Map<string, number[]>;
  beforeAll(async () => {
    dir = await tempDir();
    // Every record's amount, grouped by "user/region", read from the source directly.
    expected = new Map();
    const source: Source<Visit> = visits();
    const reader = source.createReader({ subtaskIndex: 0, parallelism: 1 });
    reader.addSplits(source.createSplits(1));
    for (let done = false; !done; ) {
      const batch = await reader.poll(100_000);
      for (const r of batch.records) {
        const key = `${r.value.user}/${r.value.region}`;
        expected.set(key, [...(expected.get(key) ?? []), r.value.amount]);
      }
      done = batch.done;
    }
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('an array key and an object key group equal values together, whatever object they are', async () => {
    const out: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3);
    const s = env.fromElements<Visit>({ user: 'a', region: 'eu', amount: 1 }, { user: 'a', region: 'us', amount: 2 }, { user: 'a', region: 'eu', amount: 4 });
    s.keyBy((v) => [v.user, v.region])
      .sum('amount')
      .map((v) => `array ${v.user}/${v.region} ${v.amount}`)
      .sinkTo(() => ({ invoke: (v: string) => void out.push(v) }));
    s.keyBy((v) => ({ region: v.region, user: v.user }))
      .sum('amount')
      .map((v) => `object ${v.user}/${v.region} ${v.amount}`)
      .sinkTo(() => ({ invoke: (v: string) => void out.push(v) }));
    await env.execute('composite keys');
    expect(out.sort()).toEqual(['array a/eu 1', 'array a/eu 5', 'array a/us 2', 'object a/eu 1', 'object a/eu 5', 'object a/us 2']);
  });

  it('a running sum keyed by [user, region] fails at p=2, restores at p=3, and counts every record once', async () => {
    const store = new MemoryTransactionalStore<Visit>();
    const checkpoints = `${dir.path}/chk`;
    const build = (env: StreamExecutionEnvironment, failAt: number | undefined, perSecond: number): void => {
      let checkpointed = false;
      const source = failAt === undefined ? visits(perSecond) : heldAfter(visits(perSecond), failAt, () => !checkpointed);
      env
        .fromSource(source, 'visits')
        .uid('visits')
        .map(failOnce<Visit>(failAt, () => (checkpointed = true)))
        .uid('fail-once')
        .keyBy((v) => [v.user, v.region])
        .sum('amount')
        .uid('sums')
        .sinkTo(() => new MemoryTransactionalSink(store))
        .uid('sink');
    };
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    build(first, 1_500, 10_000);
    await expect(first.execute('composite keys, fails')).rejects.toThrow(/injected failure/);
    expect(store.all().length).toBeLessThan(RECORDS);

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    build(second, undefined, 60_000);
    await second.execute('composite keys, restored at p3');

    // Exactly once: a key's committed running sums, sorted, step by exactly its records' amounts.
    const sums = new Map<string, number[]>();
    for (const v of store.all()) sums.set(`${v.user}/${v.region}`, [...(sums.get(`${v.user}/${v.region}`) ?? []), v.amount]);
    expect([...sums.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, amounts] of expected) {
      const sorted = sums.get(key)!.sort((x, y) => x - y);
      const steps = sorted.map((s, i) => s - (i === 0 ? 0 : sorted[i - 1]!));
      expect(steps.sort((x, y) => x - y)).toEqual([...amounts].sort((x, y) => x - y));
    }
  });
});
