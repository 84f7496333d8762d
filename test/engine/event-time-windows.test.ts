/**
 * Per-user order totals in event-time windows through the whole engine: out-of-order orders get
 * timestamps and bounded-out-of-orderness watermarks, windows fire as the watermark passes them,
 * and the exactly-once sink's committed output equals totals computed directly from the orders,
 * straight at p=1, at p=2 with checkpoints and a failure, and restored at p=3 after a failed run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { type Order, type WindowTotal, allOrders, describe as lines, expectedTotals, latestCheckpoint, orderTotals, sliding, tumbling } from './order-jobs.ts';

const RECORDS = 20_000;
let dir: Awaited<ReturnType<typeof tempDir>>;
let orders: Order[];
beforeAll(async () => {
  dir = await tempDir();
  orders = await allOrders(RECORDS);
});
afterAll(async () => {
  await dir.remove();
});

describe('event-time windows', () => {
  it('sums each user’s orders per 10-minute tumbling window, as computed directly, dropping nothing', async () => {
    const expected = expectedTotals(orders, tumbling);
    expect(orders.some((o, i) => i > 0 && o.time < orders[i - 1]!.time)).toBe(true); // really out of order
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    orderTotals(env, 'tumbling', { records: RECORDS, sink: () => new MemoryTransactionalSink(store), onLate: (o) => late.push(o) });
    await env.execute('order totals p1');
    expect(late).toEqual([]);
    expect(lines(store.all())).toEqual(expected);
    expect(expected.length).toBeGreaterThan(30 * 15); // about 34 windows of 20 users
  });

  it('commits the same totals at p=2 with checkpoints every 20 ms and a failure', async () => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/p2` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    orderTotals(env, 'tumbling', { records: RECORDS, perSecond: 12_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store), onLate: (o) => late.push(o) });
    const result = await env.execute('order totals p2 with a failure');
    expect(result.attempts).toBe(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(late).toEqual([]);
    expect(lines(store.all())).toEqual(expectedTotals(orders, tumbling));
  });

  it('restores a failed p=2 run from its latest checkpoint at p=3, losing and doubling no window', async () => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const checkpoints = `${dir.path}/restore`;
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    orderTotals(first, 'tumbling', { records: RECORDS, perSecond: 12_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store), onLate: (o) => late.push(o) });
    await expect(first.execute('order totals, fails')).rejects.toThrow(/injected failure/);
    const committedBefore = store.all().length;
    const expected = expectedTotals(orders, tumbling);
    expect(committedBefore).toBeLessThan(expected.length);

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    orderTotals(second, 'tumbling', { records: RECORDS, perSecond: 60_000, sink: () => new MemoryTransactionalSink(store), onLate: (o) => late.push(o) });
    await second.execute('order totals, restored at p3');
    expect(late).toEqual([]);
    expect(lines(store.all())).toEqual(expected);
  });

  it('counts each order in both of its sliding windows (size 10, slide 5 minutes), also across a failure', async () => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/sliding` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    orderTotals(env, 'sliding', { records: RECORDS, perSecond: 12_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store), onLate: (o) => late.push(o) });
    const result = await env.execute('sliding order totals');
    expect(result.attempts).toBe(2);
    expect(late).toEqual([]);
    const expected = expectedTotals(orders, sliding);
    expect(lines(store.all())).toEqual(expected);
    const counted = store.all().reduce((n, t) => n + t.orders, 0);
    expect(counted).toBe(2 * RECORDS);
  });
});
