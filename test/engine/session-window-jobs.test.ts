/**
 * Per-user order sessions (event-time session windows, 30-second gap) with a tight watermark and
 * 30 minutes of allowed lateness through the whole engine: late orders merge sessions and re-fire
 * them, and the exactly-once sink's committed output, straight at p=1, at p=2 with checkpoints
 * and a failure, and restored at p=3 after a failed run, holds for every session computed
 * directly from the orders its final total, only partial totals of it before, and no firing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTimeSessionWindows, type StreamExecutionEnvironment, StreamExecutionEnvironment as Env, WatermarkStrategy } from '../../src/index.ts';
import type { AggregateFunction } from '../../src/engine/api/functions.ts';
import type { SinkFunction } from '../../src/engine/runtime/operators.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { MINUTE, type Order, type WindowTotal, allOrders, failOnce, latestCheckpoint, orderSource } from './order-jobs.ts';

const RECORDS = 20_000;
const GAP = 30_000;
/** Orders come up to a minute out of order (order-jobs.ts): with this bound many are late. */
const WATERMARK_BOUND = 10_000;
/** ... and all of them within this lateness, also with the skew a rescaled restore adds. */
const LATENESS = 30 * MINUTE;

type Sum = { total: number; orders: number };
const sumAmounts: AggregateFunction<Order, Sum, Sum> = {
  createAccumulator: () => ({ total: 0, orders: 0 }),
  add: (order, acc) => ({ total: acc.total + order.amount, orders: acc.orders + 1 }),
  getResult: (acc) => acc,
  merge: (a, b) => ({ total: a.total + b.total, orders: a.orders + b.orders }),
};

interface JobOptions {
  readonly perSecond?: number;
  readonly failAt?: number;
  readonly sink: () => SinkFunction<WindowTotal>;
  readonly late: Order[];
}

function sessions(env: StreamExecutionEnvironment, options: JobOptions): void {
  let checkpointed = false;
  const source = options.failAt === undefined ? orderSource(RECORDS, options.perSecond) : heldAfter(orderSource(RECORDS, options.perSecond), options.failAt, () => !checkpointed);
  env
    .fromSource(source, 'orders')
    .uid('orders')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(WATERMARK_BOUND).withTimestampAssigner((o) => o.time))
    .uid('timestamps')
    .map(failOnce<Order>(options.failAt, () => (checkpointed = true)))
    .uid('fail-once')
    .keyBy((o) => o.user)
    .window(EventTimeSessionWindows.withGap(GAP))
    .allowedLateness(LATENESS)
    .onLateRecord((o) => options.late.push(o))
    .aggregate(sumAmounts, (user: string, { window }, [sum], out) => out.collect({ user, start: window.start, end: window.end, total: sum!.total, orders: sum!.orders }))
    .uid('sessions')
    .sinkTo(options.sink)
    .uid('sink');
}

/** Each user's sessions, directly: orders at most GAP apart are one session [first, last + GAP). */
function expectedSessions(orders: readonly Order[]): WindowTotal[] {
  const byUser = new Map<string, Order[]>();
  for (const o of orders) byUser.set(o.user, [...(byUser.get(o.user) ?? []), o]);
  const result: WindowTotal[] = [];
  for (const [user, list] of byUser) {
    list.sort((a, b) => a.time - b.time);
    let current: WindowTotal | undefined;
    for (const o of list) {
      if (current !== undefined && o.time - (current.end - GAP) <= GAP) current = { ...current, end: o.time + GAP, total: current.total + o.amount, orders: current.orders + 1 };
      else {
        if (current !== undefined) result.push(current);
        current = { user, start: o.time, end: o.time + GAP, total: o.amount, orders: 1 };
      }
    }
    if (current !== undefined) result.push(current);
  }
  return result;
}

const line = (t: WindowTotal): string => `${t.user} [${t.start}, ${t.end}) ${t.total}/${t.orders}`;

/**
 * The committed firings against the sessions: each session's last (largest) firing is its total;
 * every other firing is of a window inside one of the user's sessions with no more orders; no
 * firing is committed twice. Returns how many firings were re-firings or of since-merged windows.
 */
function check(committed: readonly WindowTotal[], expected: readonly WindowTotal[]): number {
  const finals = new Map<string, WindowTotal>();
  for (const t of committed) {
    const id = `${t.user} ${t.start} ${t.end}`;
    const seen = finals.get(id);
    if (seen === undefined || t.orders > seen.orders) finals.set(id, t);
  }
  const byId = (t: WindowTotal) => `${t.user} ${t.start} ${t.end}`;
  expect(expected.map((s) => (finals.has(byId(s)) ? line(finals.get(byId(s))!) : `missing: ${line(s)}`)).sort()).toEqual(expected.map(line).sort());
  const sessionsOf = new Map<string, WindowTotal[]>();
  for (const s of expected) sessionsOf.set(s.user, [...(sessionsOf.get(s.user) ?? []), s]);
  const outside = committed.filter((t) => !(sessionsOf.get(t.user) ?? []).some((s) => s.start <= t.start && t.end <= s.end && t.orders <= s.orders));
  expect(outside.map(line)).toEqual([]);
  expect(new Set(committed.map(line)).size).toBe(committed.length);
  return committed.length - expected.length;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let expected: WindowTotal[];
beforeAll(async () => {
  dir = await tempDir();
  expected = expectedSessions(await allOrders(RECORDS));
});
afterAll(async () => {
  await dir.remove();
});

describe('session windows with allowed lateness through the engine', () => {
  it('commits every session’s total at p=1, re-firing sessions that late orders reach', async () => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const env = Env.getExecutionEnvironment().setParallelism(1);
    sessions(env, { sink: () => new MemoryTransactionalSink(store), late });
    await env.execute('sessions p1');
    expect(late).toEqual([]);
    expect(expected.length).toBeGreaterThan(4_000); // 4581 sessions of 20 users
    // 63 of the firings are re-firings or of windows merged later (seed 42): late orders reached fired sessions.
    expect(check(store.all(), expected)).toBeGreaterThan(20);
  });

  it('commits the same at p=2 with checkpoints every 20 ms and a failure', async () => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const env = Env.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/p2` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    sessions(env, { perSecond: 12_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store), late });
    const result = await env.execute('sessions p2 with a failure');
    expect(result.attempts).toBe(2);
    expect(result.checkpoints).toBeGreaterThan(0);
    expect(late).toEqual([]);
    check(store.all(), expected);
  });

  it.each(['rocksdb', 'lmdb'] as const)('commits the same on %s (a serializing backend) at p=2 with a failure', async (backend) => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const env = Env.getExecutionEnvironment()
      .setParallelism(2)
      .setStateBackend(backend)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/${backend}` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    sessions(env, { perSecond: 12_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store), late });
    expect((await env.execute(`sessions on ${backend}`)).attempts).toBe(2);
    expect(late).toEqual([]);
    check(store.all(), expected);
  });

  it('restores a failed p=2 run from its latest checkpoint at p=3, losing and doubling no session', async () => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const late: Order[] = [];
    const checkpoints = `${dir.path}/restore`;
    const first = Env.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    sessions(first, { perSecond: 12_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store), late });
    await expect(first.execute('sessions, fails')).rejects.toThrow(/injected failure/);
    expect(store.all().length).toBeLessThan(expected.length);

    const second = Env.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    sessions(second, { perSecond: 60_000, sink: () => new MemoryTransactionalSink(store), late });
    await second.execute('sessions, restored at p3');
    expect(late).toEqual([]);
    check(store.all(), expected);
  });
});
