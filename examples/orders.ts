/**
 * Orders, the input of the order-totals example jobs: the record, its CSV line format, the seeded
 * generator and the output line. Shared by the jobs and by expected-totals.ts, so the engine's run
 * and the answer computed without it read, generate and print orders the same way.
 */
import { mulberry32 } from '../src/engine/connectors/data-generator-source.ts';

export interface Order {
  readonly orderId: string;
  readonly user: string;
  /** Cents, so sums are exact whatever order they are added in. */
  readonly amountCents: number;
  readonly eventTimeMs: number;
}

/** One user's orders in one window: a line of the output. */
export interface UserTotal {
  readonly user: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly orders: number;
  readonly totalCents: number;
}

export const WINDOW_MS = 10 * 60_000;
/**
 * The watermark bound, far above the generator's one-minute disorder on purpose: after a restore
 * (above all at another parallelism) one source subtask may read splits that were at different
 * positions when the savepoint was taken, which adds the subtasks' skew to the disorder it sees.
 * An hour of event time is 36,000 generated orders, seconds of skew at the default rate.
 */
export const OUT_OF_ORDERNESS_MS = 60 * 60_000;

export const USERS = 1000;
const EPOCH_MS = Date.UTC(2024, 0, 1);
const STEP_MS = 100;
const MAX_DISORDER_MS = 60_000;

/**
 * Order `index` of the generator with `seed`: a pure function of both, so the source (at any
 * parallelism, restored or not) and generatedOrders() yield the same orders. Amounts are never
 * <= 0 and ids never repeat, so the jobs' validation and deduplication drop nothing from it.
 */
export function generateOrder(index: number, seed: number): Order {
  const random = mulberry32(Math.imul(seed, 0x85ebca6b) ^ Math.imul(index + 1, 0x9e3779b1));
  return {
    orderId: `o${index}`,
    user: `user-${Math.floor(random() * USERS)}`,
    amountCents: 1 + Math.floor(random() * 50_000),
    eventTimeMs: EPOCH_MS + index * STEP_MS - Math.floor(random() * MAX_DISORDER_MS),
  };
}

/** The orders a generator of `records` orders produces, in index order. */
export function* generatedOrders(records: number, seed: number): Generator<Order> {
  for (let i = 0; i < records; i++) yield generateOrder(i, seed);
}

/**
 * One CSV line `orderId,user,amountCents,eventTimeMs`, or undefined for a line that is not an
 * order (blank, a `#` comment, the header, a malformed line): a bad line in a large input should
 * not fail and restart the whole job.
 */
export function parseOrderLine(line: string): Order | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(',');
  if (fields.length !== 4) return undefined;
  const [orderId, user, amount, time] = fields.map((f) => f.trim()) as [string, string, string, string];
  const amountCents = Number(amount);
  const eventTimeMs = Number(time);
  if (orderId === '' || user === '' || amount === '' || time === '') return undefined;
  if (!Number.isSafeInteger(amountCents) || !Number.isSafeInteger(eventTimeMs)) return undefined;
  return { orderId, user, amountCents, eventTimeMs };
}

/** Orders with no positive amount are data errors, counted nowhere. */
export const isValidOrder = (order: Order): boolean => order.amountCents > 0;

/** An order as the CSV line it is read from (late orders are written out this way, so they can be replayed). */
export const orderLine = (o: Order): string => `${o.orderId},${o.user},${o.amountCents},${o.eventTimeMs}`;

export const totalLine = (t: UserTotal): string => `${t.user},${t.windowStart},${t.windowEnd},${t.orders},${t.totalCents}`;
