/**
 * Per-user order totals whose window accumulator gained a field: the schema evolution upgrade of
 * order-totals.ts (v1). A savepoint of v1 restores into it with no flag, its open windows'
 * accumulators migrated as they are read back.
 *
 *   flink stop --savepointPath /tmp/savepoints <v1 job id>
 *   flink run -p 3 -s <that savepoint> examples/order-totals-largest.ts --output /tmp/totals
 *
 * What changed: the accumulator `{ orders, totalCents }` (schema version 1, the default) gained
 * `largestCents`, the window's largest order, so it is version 2 and says how to read a version 1
 * accumulator (`migrateAccumulator`). v1 did not keep the largest order, so a migrated window
 * starts from 0: its largest is that of the orders after the restore. Without the hook the restore
 * is refused (StateMigrationException), as it is for a version the job does not know yet.
 *
 * Same arguments and input as v1 (`--late-output` included) but `--pg`, which is refused; output
 * lines gain the largest order: `user,windowStart,windowEnd,orders,totalCents,largestCents`.
 * Operators (uids) as v1's.
 */
import type { AggregateFunction, DataStream, ProcessWindowFunction, StreamExecutionEnvironment } from '../src/index.ts';
import { FileSink, TumblingEventTimeWindows } from '../src/index.ts';
import { DedupOrders, LATE_ORDERS, parseArgs, validOrders } from './order-totals.ts';
import { type Order, WINDOW_MS, orderLine } from './orders.ts';

/** Version 1, as order-totals.ts keeps it. */
type SumV1 = { orders: number; totalCents: number };
/** Version 2. */
export type Sum = { orders: number; totalCents: number; largestCents: number };

export interface LargestTotal {
  readonly user: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly sum: Sum;
}

export const sumOrders: AggregateFunction<Order, Sum, Sum> = {
  createAccumulator: () => ({ orders: 0, totalCents: 0, largestCents: 0 }),
  add: (order, acc) => ({ orders: acc.orders + 1, totalCents: acc.totalCents + order.amountCents, largestCents: Math.max(acc.largestCents, order.amountCents) }),
  getResult: (acc) => acc,
  merge: (a, b) => ({ orders: a.orders + b.orders, totalCents: a.totalCents + b.totalCents, largestCents: Math.max(a.largestCents, b.largestCents) }),
  accumulatorSchemaVersion: 2,
  migrateAccumulator: (old, oldVersion) => {
    if (oldVersion !== 1) throw new Error(`order-totals-largest: no migration from accumulator version ${oldVersion}`);
    const v1 = old as SumV1;
    return { orders: v1.orders, totalCents: v1.totalCents, largestCents: 0 };
  },
};

export const withWindow: ProcessWindowFunction<Sum, LargestTotal, string> = {
  process(user, { window }, [sum], out) {
    out.collect({ user, windowStart: window.start, windowEnd: window.end, sum: sum! });
  },
};

export const largestLine = (t: LargestTotal): string => `${t.user},${t.windowStart},${t.windowEnd},${t.sum.orders},${t.sum.totalCents},${t.sum.largestCents}`;

export interface Variant {
  /** Spliced in after the valid orders (the tests' failure injection). */
  readonly between?: (orders: DataStream<Order>) => DataStream<Order>;
  /** Another accumulator schema declaration (the tests' refusals). */
  readonly aggregate?: AggregateFunction<Order, Sum, Sum>;
}

/** The job, or a variant of it. */
export function orderTotalsLargest(env: StreamExecutionEnvironment, args: string[], { between = (o) => o, aggregate = sumOrders }: Variant = {}): void {
  const options = parseArgs(args);
  // v1's Postgres sink writes v1's totals; silently leaving it out would drop an output asked for.
  if (options.pg !== undefined) throw new Error('order-totals-largest: --pg is not supported (its totals have another shape); leave it out, and restore a v1 savepoint taken with --pg with --allowNonRestoredState');
  const deduplicated = between(validOrders(env, options))
    .keyBy((o) => o.user)
    .process(() => new DedupOrders())
    .uid('dedup');
  const windows = deduplicated.keyBy((o) => o.user).window(TumblingEventTimeWindows.of(WINDOW_MS));
  // --late-output as v1 (same side output and uid), so a savepoint of v1 run with it restores here.
  const lateOutput = options.lateOutput;
  const totals = (lateOutput === undefined ? windows : windows.sideOutputLateData(LATE_ORDERS)).aggregate(aggregate, withWindow).uid('user-totals');
  totals.sinkTo(FileSink.forRowFormat<LargestTotal>(options.output, { encoder: largestLine })).uid('totals-sink');
  if (lateOutput !== undefined) totals.getSideOutput(LATE_ORDERS).sinkTo(FileSink.forRowFormat<Order>(lateOutput, { encoder: orderLine })).uid('late-orders-sink');
}

export default (env: StreamExecutionEnvironment, args: string[]): void => orderTotalsLargest(env, args);
