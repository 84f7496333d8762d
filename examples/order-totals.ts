/**
 * Per-user order totals in 10-minute event-time windows, written exactly once to files (v1; the
 * upgraded job is order-totals-v2.ts).
 *
 *   flink run -p 2 examples/order-totals.ts --output /tmp/totals [--input orders.csv|dir]
 *             [--records 200000] [--rate 20000] [--seed 42] [--hold-until <file>]
 *             [--late-output /tmp/late-orders]
 *             [--pg postgres://user@host:port/db [--pg-table order_totals]]
 *
 * Input (`--input`, a file or a directory of files): one order per line,
 *
 *   orderId,user,amountCents,eventTimeMs      e.g.  s00017,user-3,1999,1704067251000
 *
 * amountCents and eventTimeMs (ms since the epoch) are whole numbers; lines may come out of event
 * time order by up to OUT_OF_ORDERNESS_MS. Blank lines, `#` comments, a header and malformed lines
 * are skipped; orders with amountCents <= 0 are dropped as invalid. Without `--input`, `--records`
 * orders from 1000 users are generated from `--seed` at `--rate` orders per second. With
 * `--hold-until <file>` the generated input, after its last order, stays open until that file
 * exists, then ends: a script or test that sends commands (savepoint, stop, cancel) to the job
 * creates the file when it is done, so the job is surely still running when they arrive, on any
 * machine. Once the file exists, `--rate` no longer applies: the orders left come at full speed
 * (the rate spread them over the commands, which have happened). It changes neither the orders nor
 * the checkpointed positions.
 *
 * Output (`--output`, a directory): committed `part-<subtask>-<n>` files (hidden while in
 * progress), one line per user and window, `user,windowStart,windowEnd,orders,totalCents`.
 * With `--pg`, the same totals also go exactly once into a PostgreSQL table (default
 * `order_totals`, which must exist) with the columns user_id text, window_start bigint,
 * window_end bigint, orders integer, total_cents bigint, through prepared transactions (the server
 * needs max_prepared_transactions > 0).
 *
 * Late orders (`--late-output`, a directory): an order whose window has already fired (it is more
 * than OUT_OF_ORDERNESS_MS older than the newest order seen) counts in no total. Without the flag
 * it is dropped, as Flink drops late data; with it, it goes to the window's late-data side output
 * and is written exactly once, as its input line `orderId,user,amountCents,eventTimeMs`, to
 * committed `part-<subtask>-<n>` files there, ready to be replayed or looked into.
 *
 * Operators (uids): orders [-> parse-orders] -> timestamps -> valid-orders -> dedup ->
 * user-totals -> totals-sink [and totals-pg-sink] [and, from user-totals' late orders,
 * late-orders-sink]. Adding or removing --late-output keeps every other uid, so savepoints of
 * either run restore into the other.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  OutputTag,
  type AggregateFunction,
  type Collector,
  DataGeneratorSource,
  type DataStream,
  FileSink,
  FileSource,
  PostgresSink,
  type KeyedProcessFunction,
  type KeyedStream,
  type ProcessWindowFunction,
  type RuntimeContext,
  type SingleOutputStreamOperator,
  type StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  type ValueState,
  WatermarkStrategy,
  valueState,
} from '../src/index.ts';
import { OUT_OF_ORDERNESS_MS, type Order, type UserTotal, WINDOW_MS, generateOrder, isValidOrder, orderLine, parseOrderLine, totalLine } from './orders.ts';

export interface OrderTotalsArgs {
  readonly input: string | undefined;
  readonly output: string;
  readonly records: number;
  readonly rate: number;
  readonly seed: number;
  /** A PostgreSQL connection string: the totals also go into `pgTable` there. */
  readonly pg: string | undefined;
  readonly pgTable: string;
  /** The generated input ends only once this file exists. */
  readonly holdUntil: string | undefined;
  /** Where late orders are written; without it they are dropped. */
  readonly lateOutput: string | undefined;
}

const USAGE = 'usage: --output <dir> [--input <file-or-dir>] [--records N] [--rate R] [--seed S] [--hold-until <file>] [--late-output <dir>] [--pg <connection string> [--pg-table <table>]]';

export function parseArgs(args: readonly string[]): OrderTotalsArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const name = flag.startsWith('--') ? flag.slice(2) : '';
    if (!['input', 'output', 'records', 'rate', 'seed', 'hold-until', 'late-output', 'pg', 'pg-table'].includes(name)) throw new Error(`order-totals: unknown argument '${flag}'; ${USAGE}`);
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) throw new Error(`order-totals: ${flag} needs a value; ${USAGE}`);
    values.set(name, value);
  }
  const output = values.get('output');
  if (output === undefined) throw new Error(`order-totals: --output <dir> is required (the directory the totals are written to); ${USAGE}`);
  const whole = (name: string, fallback: number, min: number): number => {
    const text = values.get(name);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`order-totals: --${name} must be a whole number >= ${min}, not '${text}'`);
    return n;
  };
  const input = values.get('input');
  const holdUntil = values.get('hold-until');
  const lateOutput = values.get('late-output');
  if (holdUntil !== undefined && input !== undefined) throw new Error('order-totals: --hold-until holds the generated input open; with --input, leave it out (a file input ends when its files do)');
  return {
    input: input === undefined ? undefined : resolve(input),
    output: resolve(output),
    records: whole('records', 200_000, 0),
    rate: whole('rate', 20_000, 1),
    seed: whole('seed', 42, 0),
    pg: values.get('pg'),
    pgTable: values.get('pg-table') ?? 'order_totals',
    holdUntil: holdUntil === undefined ? undefined : resolve(holdUntil),
    lateOutput: lateOutput === undefined ? undefined : resolve(lateOutput),
  };
}

/** Orders with event time, invalid ones dropped: the part of the pipeline v1 and v2 share. */
export function validOrders(env: StreamExecutionEnvironment, options: OrderTotalsArgs): DataStream<Order> {
  const orders: DataStream<Order> =
    options.input === undefined
      ? env
          .fromSource(
            new DataGeneratorSource<Order>({
              count: options.records,
              seed: options.seed,
              recordsPerSecond: options.rate,
              generate: (i) => generateOrder(i, options.seed),
              ...(options.holdUntil === undefined ? {} : { endWhen: fileExists(options.holdUntil), unthrottledWhen: fileExists(options.holdUntil) }),
            }),
            'orders',
          )
          .uid('orders')
      : env
          .fromSource(FileSource.forLines(options.input), 'orders')
          .uid('orders')
          .flatMap((line: string, out: Collector<Order>) => {
            const order = parseOrderLine(line);
            if (order !== undefined) out.collect(order);
          })
          .uid('parse-orders');
  return orders
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(OUT_OF_ORDERNESS_MS).withTimestampAssigner((o) => o.eventTimeMs))
    .uid('timestamps')
    .filter(isValidOrder)
    .uid('valid-orders');
}

/** The file exists: asked every few milliseconds by a held source, so the answer is cheap. */
function fileExists(path: string): () => boolean {
  return () => existsSync(path);
}

type Sum = { orders: number; totalCents: number };

const sumOrders: AggregateFunction<Order, Sum, Sum> = {
  createAccumulator: () => ({ orders: 0, totalCents: 0 }),
  add: (order, acc) => ({ orders: acc.orders + 1, totalCents: acc.totalCents + order.amountCents }),
  getResult: (acc) => acc,
  merge: (a, b) => ({ orders: a.orders + b.orders, totalCents: a.totalCents + b.totalCents }),
};

const withWindow: ProcessWindowFunction<Sum, UserTotal, string> = {
  process(user, { window }, [sum], out) {
    out.collect({ user, windowStart: window.start, windowEnd: window.end, orders: sum!.orders, totalCents: sum!.totalCents });
  },
};

/** The window's late orders (Flink's `sideOutputLateData`). */
export const LATE_ORDERS = new OutputTag<Order>('late-orders');

/**
 * The 10-minute tumbling windows, pre-aggregated so a window's state is two numbers per user.
 * With `lateOutput`, late orders go to that directory (exactly once) instead of being dropped.
 */
export function userTotals(orders: KeyedStream<Order, string>, options?: Pick<OrderTotalsArgs, 'lateOutput'>): SingleOutputStreamOperator<UserTotal> {
  const lateOutput = options?.lateOutput;
  const windows = orders.window(TumblingEventTimeWindows.of(WINDOW_MS));
  const totals = (lateOutput === undefined ? windows : windows.sideOutputLateData(LATE_ORDERS)).aggregate(sumOrders, withWindow).uid('user-totals');
  if (lateOutput !== undefined) totals.getSideOutput(LATE_ORDERS).sinkTo(FileSink.forRowFormat<Order>(lateOutput, { encoder: orderLine })).uid('late-orders-sink');
  return totals;
}

export function totalsSink(totals: DataStream<UserTotal>, options: OrderTotalsArgs): void {
  totals.sinkTo(FileSink.forRowFormat<UserTotal>(options.output, { encoder: totalLine })).uid('totals-sink');
  if (options.pg !== undefined) {
    const row = (t: UserTotal): unknown[] => [t.user, t.windowStart, t.windowEnd, t.orders, t.totalCents];
    const columns = ['user_id', 'window_start', 'window_end', 'orders', 'total_cents'];
    totals.sinkTo(PostgresSink.exactlyOnce<UserTotal>({ connectionString: options.pg, table: options.pgTable, columns, row })).uid('totals-pg-sink');
  }
}

/**
 * Drops an order whose id equals the user's previous one (an upstream retry resending it). The
 * last id is keyed state, so a restore keeps deduplicating across the savepoint.
 */
export class DedupOrders implements KeyedProcessFunction<string, Order, Order> {
  private lastOrderId!: ValueState<string>;

  open(ctx: RuntimeContext): void {
    this.lastOrderId = ctx.getState(valueState<string>('last-order-id'));
  }

  processElement(order: Order, _ctx: unknown, out: Collector<Order>): void {
    if (this.lastOrderId.value() === order.orderId) return;
    this.lastOrderId.update(order.orderId);
    out.collect(order);
  }
}

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const options = parseArgs(args);
  const deduplicated = validOrders(env, options)
    .keyBy((o) => o.user)
    .process(() => new DedupOrders())
    .uid('dedup');
  totalsSink(userTotals(deduplicated.keyBy((o) => o.user), options), options);
};
