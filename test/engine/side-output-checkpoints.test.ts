/**
 * A job with a side output through checkpoints, a failure and a restore at another parallelism:
 * per-user window totals on the main output, and every big order on a side output of the keyed
 * function before the window, keyed again and written at its own parallelism. Both exactly-once
 * sinks commit what is computed directly from the orders, each record once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { KeyedProcessFunction } from '../../src/engine/api/keyed-process.ts';
import { OutputTag } from '../../src/engine/api/output-tag.ts';
import type { RuntimeContext } from '../../src/engine/api/runtime-context.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import type { ValueState } from '../../src/engine/state/keyed-state-handles.ts';
import { valueState } from '../../src/engine/state/state-descriptors.ts';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { OUT_OF_ORDERNESS, type Order, type WindowTotal, allOrders, describe as lines, expectedTotals, failOnce, latestCheckpoint, orderSource, tumbling } from './order-jobs.ts';

const RECORDS = 12_000;
const BIG = 9_000;
const big = new OutputTag<Order>('big-orders');

/** Passes orders on, counting each user's in keyed state; big ones also go to the side output. */
class FlagBigOrders implements KeyedProcessFunction<string, Order, Order> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(valueState<number>('orders-seen'));
  }
  processElement(order: Order, ctx: Parameters<KeyedProcessFunction<string, Order, Order>['processElement']>[1], out: { collect(o: Order): void }): void {
    this.count.update((this.count.value() ?? 0) + 1);
    if (order.amount > BIG) ctx.output(big, order);
    out.collect(order);
  }
}

const bigLine = (o: Order): string => `${o.user} ${o.time} ${o.amount}`;

interface Stores {
  readonly totals: MemoryTransactionalStore<WindowTotal>;
  readonly big: MemoryTransactionalStore<string>;
}

function job(env: StreamExecutionEnvironment, stores: Stores, options: { perSecond: number; failAt?: number; bigParallelism: number }): void {
  let checkpointed = false;
  const source = options.failAt === undefined ? orderSource(RECORDS, options.perSecond) : heldAfter(orderSource(RECORDS, options.perSecond), options.failAt, () => !checkpointed);
  const flagged = env
    .fromSource(source, 'orders')
    .uid('orders')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(OUT_OF_ORDERNESS).withTimestampAssigner((o) => o.time))
    .uid('timestamps')
    .map(failOnce<Order>(options.failAt, () => (checkpointed = true)))
    .uid('fail-once')
    .keyBy((o) => o.user)
    .process(() => new FlagBigOrders())
    .uid('flag-big');
  flagged
    .keyBy((o) => o.user)
    .window(tumbling)
    .aggregate(
      { createAccumulator: () => ({ total: 0, orders: 0 }), add: (o: Order, acc: { total: number; orders: number }) => ({ total: acc.total + o.amount, orders: acc.orders + 1 }), getResult: (acc: { total: number; orders: number }) => acc },
      (user: string, { window }, [sum], out) => out.collect({ user, start: window.start, end: window.end, total: sum!.total, orders: sum!.orders }),
    )
    .uid('totals')
    .sinkTo(() => new MemoryTransactionalSink(stores.totals))
    .uid('sink');
  flagged
    .getSideOutput(big)
    .keyBy((o) => o.user)
    .map(bigLine)
    .uid('big-lines')
    .setParallelism(options.bigParallelism)
    .sinkTo(() => new MemoryTransactionalSink(stores.big))
    .uid('big-sink')
    .setParallelism(options.bigParallelism);
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let orders: Order[];
beforeAll(async () => {
  dir = await tempDir();
  orders = await allOrders(RECORDS);
});
afterAll(async () => {
  await dir.remove();
});

describe('a side output through checkpoints, a failure and a rescaled restore', () => {
  it('commits every big order once and the same window totals, with a failure at p=2 and a restore at p=3', async () => {
    const expectedBig = orders.filter((o) => o.amount > BIG).map(bigLine).sort();
    expect(expectedBig.length).toBeGreaterThan(RECORDS / 20);
    const stores: Stores = { totals: new MemoryTransactionalStore(), big: new MemoryTransactionalStore() };
    const checkpoints = `${dir.path}/chk`;

    // Fails at record 2,000 of subtask 0 (after a checkpoint) and, without restarts, ends there.
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    job(first, stores, { perSecond: 12_000, failAt: 2_000, bigParallelism: 1 });
    await expect(first.execute('side output, fails')).rejects.toThrow(/injected failure/);
    // What the first run committed (its checkpoints' transactions) stays; the restore adds the rest.
    expect(stores.big.all().length).toBeLessThan(expectedBig.length);

    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    job(second, stores, { perSecond: 60_000, bigParallelism: 2 });
    await second.execute('side output, restored at p3');
    expect(stores.big.all().sort()).toEqual(expectedBig);
    expect(lines(stores.totals.all())).toEqual(expectedTotals(orders, tumbling));
  });

  it('recovers from a failure within one run (restart strategy), committing both outputs once', async () => {
    const stores: Stores = { totals: new MemoryTransactionalStore(), big: new MemoryTransactionalStore() };
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/restart` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    job(env, stores, { perSecond: 12_000, failAt: 2_000, bigParallelism: 3 });
    const result = await env.execute('side output with a restart');
    expect(result.attempts).toBe(2);
    expect(stores.big.all().sort()).toEqual(orders.filter((o) => o.amount > BIG).map(bigLine).sort());
    expect(lines(stores.totals.all())).toEqual(expectedTotals(orders, tumbling));
  });
});
