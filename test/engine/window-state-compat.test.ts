/**
 * Window state written by tsflink 0.1 (window-contents keyed by window end; the fixture
 * fixtures/savepoints/v1/windows-0.1) restores into today's window operator, at another
 * parallelism: restored windows take new records and fire with their old contents; a job whose
 * assigner is not a fixed-size event-time one is refused in one line naming the state.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventTimeSessionWindows, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy, type WindowAssigner } from '../../src/index.ts';
import type { TimeWindow } from '../../src/engine/api/window.ts';
import { ROOT } from '../support/run-flink.ts';

const FIXTURE = join(ROOT, 'fixtures', 'savepoints', 'v1', 'windows-0.1');

interface Order {
  readonly user: string;
  readonly amount: number;
  readonly time: number;
}

async function restored(assigner: WindowAssigner<TimeWindow>, orders: readonly Order[]): Promise<string[]> {
  const out: string[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(FIXTURE);
  env
    .fromElements(...orders)
    .uid('orders')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Order>().withTimestampAssigner((o) => o.time).withEmission({ everyRecords: 1 }))
    .uid('timestamps')
    .keyBy((o) => o.user)
    .window(assigner)
    .aggregate(
      {
        createAccumulator: () => ({ total: 0, orders: 0 }),
        add: (o: Order, acc: { total: number; orders: number }) => ({ total: acc.total + o.amount, orders: acc.orders + 1 }),
        getResult: (acc: { total: number; orders: number }) => acc,
        merge: (a: { total: number; orders: number }, b: { total: number; orders: number }) => ({ total: a.total + b.total, orders: a.orders + b.orders }),
      },
      (user: string, { window }, [sum], o: { collect(v: string): void }) => o.collect(`${user} [${window.start}, ${window.end}) ${sum!.total}/${sum!.orders}`),
    )
    .uid('user-totals')
    .sinkTo({ invoke: (v: string, { timestamp }) => void out.push(`${v} @${timestamp}`) })
    .uid('sink');
  await env.execute('restored 0.1 windows');
  return out.sort();
}

describe('window state of tsflink 0.1', () => {
  it('restores at p=3 into tumbling windows of the same size: old windows take new records and fire with their contents', async () => {
    const out = await restored(TumblingEventTimeWindows.of(600_000), [
      { user: 'user-2', amount: 1, time: 650_000 },
      { user: 'user-1', amount: 5, time: 700_000 },
      { user: 'user-4', amount: 7, time: 1_300_000 },
    ]);
    expect(out).toEqual([
      'user-1 [0, 600000) 100/1 @599999',
      'user-1 [600000, 1200000) 106/3 @1199999', // 101/2 restored + 5
      'user-2 [600000, 1200000) 201/2 @1199999', // 200/1 restored + 1
      'user-3 [0, 600000) 300/1 @599999',
      'user-3 [600000, 1200000) 301/2 @1199999',
      'user-4 [1200000, 1800000) 7/1 @1799999',
      'user-4 [600000, 1200000) 400/1 @1199999',
    ]);
  });

  it('is refused in one line, naming the state, by a job with session windows', async () => {
    await expect(restored(EventTimeSessionWindows.withGap(60_000), [{ user: 'user-1', amount: 5, time: 700_000 }])).rejects.toThrow(
      "operator 'user-totals': its state 'window-contents' was written by tsflink 0.1, which keyed windows by their end; it restores only into TumblingEventTimeWindows or SlidingEventTimeWindows of the size it was written with, not EventTimeSessionWindows(60000). Drain the windows of the old job first (flink stop --drain), or give the new window operator another uid",
    );
  });
});
