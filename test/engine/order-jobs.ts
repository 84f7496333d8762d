/**
 * The event-time workloads of the seed write-ups: orders from a seeded generator, out of order
 * by up to a minute, summed per user in event-time windows into an exactly-once sink. Shared by
 * the window tests; `expected*` compute the same answers directly, without the engine.
 */
import type { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { AggregateFunction, MapFunction } from '../../src/engine/api/functions.ts';
import { failOnce, heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { WatermarkStrategy } from '../../src/engine/api/watermark-strategy.ts';
import { SlidingEventTimeWindows, TumblingEventTimeWindows, type WindowAssigner } from '../../src/engine/api/window-assigners.ts';
import type { ProcessWindowFunction } from '../../src/engine/api/window-functions.ts';
import type { Source } from '../../src/engine/api/source.ts';
import { DataGeneratorSource } from '../../src/engine/connectors/data-generator-source.ts';
import type { SinkFunction } from '../../src/engine/runtime/operators.ts';

export interface Order {
  readonly user: string;
  /** In cents, so sums are exact in any order. */
  readonly amount: number;
  readonly time: number;
}

export interface WindowTotal {
  readonly user: string;
  readonly start: number;
  readonly end: number;
  readonly total: number;
  readonly orders: number;
}

export const MINUTE = 60_000;
export const USERS = 20;
const EPOCH = Date.UTC(2024, 0, 1);
/** One order per second of event time, each up to a minute older than its index says. */
const STEP = 1000;
const DISORDER = MINUTE;
/**
 * The watermark bound. Larger than DISORDER on purpose: after a restore at another parallelism a
 * source subtask may read splits that were at different positions when the checkpoint was taken
 * (subtasks progress at slightly different speeds), which adds that skew to the disorder one
 * subtask sees. Flink has the same effect without per-split watermarks.
 */
export const OUT_OF_ORDERNESS = 30 * MINUTE;

export function orderSource(records: number, perSecond?: number): DataGeneratorSource<Order> {
  return new DataGeneratorSource<Order>({
    count: records,
    seed: 42,
    ...(perSecond === undefined ? {} : { recordsPerSecond: perSecond }),
    generate: (i, random) => ({
      user: `user-${Math.floor(random() * USERS)}`,
      amount: 1 + Math.floor(random() * 10_000),
      time: EPOCH + i * STEP - Math.floor(random() * DISORDER),
    }),
  });
}

/** Every order the source produces, read directly. */
export async function allOrders(records: number): Promise<Order[]> {
  const source: Source<Order> = orderSource(records);
  const reader = source.createReader({ subtaskIndex: 0, parallelism: 1 });
  reader.addSplits(source.createSplits(1));
  const orders: Order[] = [];
  for (;;) {
    const { records: batch, done } = await reader.poll(100_000);
    for (const r of batch) orders.push(r.value);
    if (done) return orders;
  }
}

export function expectedTotals(orders: readonly Order[], assigner: WindowAssigner): string[] {
  const totals = new Map<string, WindowTotal>();
  for (const o of orders) {
    for (const w of assigner.assignWindows(o.time)) {
      const id = `${o.user}@${w.start}`;
      const t = totals.get(id) ?? { user: o.user, start: w.start, end: w.end, total: 0, orders: 0 };
      totals.set(id, { ...t, total: t.total + o.amount, orders: t.orders + 1 });
    }
  }
  return describe([...totals.values()]);
}

export const describe = (totals: readonly WindowTotal[]): string[] => totals.map((t) => `${t.user} [${t.start}, ${t.end}) ${t.total}/${t.orders}`).sort();

export interface OrderJobOptions {
  readonly records: number;
  readonly perSecond?: number;
  /** Fails once (first attempt, subtask 0) at this record, once a checkpoint has completed. */
  readonly failAt?: number;
  readonly sink: () => SinkFunction<WindowTotal>;
  readonly onLate?: (order: Order) => void;
}

type Sum = { total: number; orders: number };
const sumAmounts: AggregateFunction<Order, Sum, Sum> = {
  createAccumulator: () => ({ total: 0, orders: 0 }),
  add: (order, acc) => ({ total: acc.total + order.amount, orders: acc.orders + 1 }),
  getResult: (acc) => acc,
};

const withWindow: ProcessWindowFunction<Sum, WindowTotal, string> = {
  process(user, { window }, [sum], out) {
    out.collect({ user, start: window.start, end: window.end, total: sum!.total, orders: sum!.orders });
  },
};

/** Orders -> event time -> (failure) -> per-user sums in `assigner` windows -> sink. */
export function orderTotals(env: StreamExecutionEnvironment, assigner: 'tumbling' | 'sliding', options: OrderJobOptions): void {
  // With failAt, each source subtask holds there until a checkpoint completed: the failure (which
  // waits for one) then has records left to fail at, however fast the input went by.
  let checkpointed = false;
  const source = options.failAt === undefined ? orderSource(options.records, options.perSecond) : heldAfter(orderSource(options.records, options.perSecond), options.failAt, () => !checkpointed);
  const timed = env
    .fromSource(source, 'orders')
    .uid('orders')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(OUT_OF_ORDERNESS).withTimestampAssigner((o) => o.time))
    .uid('timestamps')
    .map(failOnce(options.failAt, () => (checkpointed = true)))
    .uid('fail-once')
    .keyBy((o) => o.user);
  if (assigner === 'tumbling') {
    const windowed = timed.window(TumblingEventTimeWindows.of(10 * MINUTE));
    (options.onLate === undefined ? windowed : windowed.onLateRecord(options.onLate)).aggregate(sumAmounts, withWindow).uid('totals').sinkTo(options.sink).uid('sink');
  } else {
    // Elements kept in list state until the window fires (process), not pre-aggregated.
    const windowed = timed.window(SlidingEventTimeWindows.of(10 * MINUTE, 5 * MINUTE));
    (options.onLate === undefined ? windowed : windowed.onLateRecord(options.onLate))
      .process<WindowTotal>((user, { window }, orders, out) => {
        out.collect({ user, start: window.start, end: window.end, total: orders.reduce((s, o) => s + o.amount, 0), orders: orders.length });
      })
      .uid('totals')
      .sinkTo(options.sink)
      .uid('sink');
  }
}

export const tumbling = TumblingEventTimeWindows.of(10 * MINUTE);
export const sliding = SlidingEventTimeWindows.of(10 * MINUTE, 5 * MINUTE);

export { failOnce } from '../../fixtures/jobs/fail-injection.ts';
export { latestCheckpoint } from '../support/latest-checkpoint.ts';
