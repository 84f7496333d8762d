/**
 * What a failure-free run of the order-totals jobs (v1 or v2) must commit, computed without the
 * engine: the answer the end-to-end test and the README demo compare the part files against.
 *
 * A bounded input ends with the final watermark at +infinity, so every window fires and no order
 * is late (the jobs' watermark bound exceeds the inputs' disorder). Deduplication (v1's `dedup`)
 * is not modelled: it assumes order ids do not repeat, which holds for the generator and the
 * sample CSV.
 */
import { TumblingEventTimeWindows } from '../src/index.ts';
import { type Order, type UserTotal, WINDOW_MS, isValidOrder, parseOrderLine, totalLine } from './orders.ts';

export { generatedOrders } from './orders.ts';
export type { Order } from './orders.ts';

/** The output lines, sorted (part files are read in no particular order). */
export function expectedTotals(orders: Iterable<Order>): string[] {
  // The engine's own assigner, so window alignment cannot differ from the job's.
  const assigner = TumblingEventTimeWindows.of(WINDOW_MS);
  const totals = new Map<string, UserTotal>();
  for (const order of orders) {
    if (!isValidOrder(order)) continue;
    for (const window of assigner.assignWindows(order.eventTimeMs)) {
      const id = `${order.user}\u0000${window.start}`;
      const t = totals.get(id) ?? { user: order.user, windowStart: window.start, windowEnd: window.end, orders: 0, totalCents: 0 };
      totals.set(id, { ...t, orders: t.orders + 1, totalCents: t.totalCents + order.amountCents });
    }
  }
  return [...totals.values()].map(totalLine).sort();
}

/** The orders of a CSV input's text, as the job's parser reads them. */
export function ordersOfText(text: string): Order[] {
  return text.split('\n').flatMap((line) => parseOrderLine(line) ?? []);
}
