/**
 * Per-user order totals, v2: the upgrade of order-totals.ts that a savepoint of v1 is restored
 * into. Same arguments, same input format and the same output lines (see order-totals.ts).
 *
 *   flink stop --savepointPath /tmp/savepoints <v1 job id>
 *   flink run -p 3 -s <that savepoint> --allowNonRestoredState examples/order-totals-v2.ts --output /tmp/totals
 *
 * What changed, and why restoring v1's state needs `--allowNonRestoredState`:
 * - REMOVED `dedup`: the sources upstream now deliver each order once, so the per-user "last
 *   order id" state is dropped. v1's savepoint holds that state, and the restore refuses to
 *   silently discard it unless told to.
 * - ADDED `big-spenders`: a running total per user over all windows, kept in keyed state (it
 *   starts empty on restore). Window results pass through unchanged, so a run that switches from
 *   v1 to v2 midway writes exactly the lines v1 alone would, when v1 ended with the savepoint
 *   (`flink stop --savepointPath`). After `flink savepoint` and then `flink cancel`, the lines v1
 *   committed between the two are written again: v2 replays from the savepoint (as in Flink).
 *
 * Operators (uids): orders [-> parse-orders] -> timestamps -> valid-orders -> user-totals ->
 * big-spenders -> totals-sink [and late-orders-sink, with --late-output, as v1].
 */
import type { Collector, KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment, ValueState } from '../src/index.ts';
import { valueState } from '../src/index.ts';
import { parseArgs, totalsSink, userTotals, validOrders } from './order-totals.ts';
import type { UserTotal } from './orders.ts';

/** Spending per user since the job (or its state) began: the basis of a later big-spender alert. */
export class BigSpenders implements KeyedProcessFunction<string, UserTotal, UserTotal> {
  private spentCents!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.spentCents = ctx.getState(valueState<number>('spent-cents'));
  }

  processElement(total: UserTotal, _ctx: unknown, out: Collector<UserTotal>): void {
    this.spentCents.update((this.spentCents.value() ?? 0) + total.totalCents);
    out.collect(total);
  }
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const options = parseArgs(args);
  const totals = userTotals(validOrders(env, options).keyBy((o) => o.user), options)
    .keyBy((t) => t.user)
    .process(() => new BigSpenders())
    .uid('big-spenders');
  totalsSink(totals, options);
};
