/**
 * Count windows through the engine: per-user countWindow(5) (GlobalWindows, PurgingTrigger of a
 * CountTrigger whose count is keyed trigger state) and countWindowAll(100) (one non-parallel
 * operator), at p=2 with checkpoints and a failure, and restored at p=3 from a failed run. Which
 * orders share a window depends on how the source subtasks interleave, so the check is of
 * exactly-once: every committed window holds exactly n orders (of one user), no order is in two
 * windows, and the number of windows is what the orders give (all of them but each user's
 * remainder).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment, type StreamExecutionEnvironment as Env } from '../../src/index.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { heldAfter } from '../../fixtures/jobs/fail-injection.ts';
import { type Order, allOrders, failOnce, latestCheckpoint, orderSource } from './order-jobs.ts';

const RECORDS = 20_000;
const PER_USER = 5;
const ALL = 100;

interface Batch {
  readonly scope: string;
  readonly orders: readonly string[];
}

const id = (o: Order): string => `${o.user}/${o.time}/${o.amount}`;

/** Two stores: MemoryTransactionalSink names transactions by subtask, so two sinks must not share one. */
interface Stores {
  readonly perUser: MemoryTransactionalStore<Batch>;
  readonly all: MemoryTransactionalStore<Batch>;
}

const newStores = (): Stores => ({ perUser: new MemoryTransactionalStore<Batch>(), all: new MemoryTransactionalStore<Batch>() });
const committed = (stores: Stores): Batch[] => [...stores.perUser.all(), ...stores.all.all()];

function countJob(env: Env, options: { perSecond?: number; failAt?: number; stores: Stores }): void {
  let checkpointed = false;
  const source = options.failAt === undefined ? orderSource(RECORDS, options.perSecond) : heldAfter(orderSource(RECORDS, options.perSecond), options.failAt, () => !checkpointed);
  const orders = env
    .fromSource(source, 'orders')
    .uid('orders')
    .map(failOnce<Order>(options.failAt, () => (checkpointed = true)))
    .uid('fail-once');
  orders
    .keyBy((o) => o.user)
    .countWindow(PER_USER)
    .process<Batch>((user, _ctx, elements, out) => out.collect({ scope: user, orders: elements.map(id) }))
    .uid('per-user')
    .sinkTo(() => new MemoryTransactionalSink(options.stores.perUser))
    .uid('per-user-sink');
  orders
    .countWindowAll(ALL)
    .process<Batch>((_ctx, elements, out) => out.collect({ scope: 'all', orders: elements.map(id) }))
    .uid('all')
    .sinkTo(() => new MemoryTransactionalSink(options.stores.all))
    .uid('all-sink')
    .setParallelism(1);
}

function check(committed: readonly Batch[], orders: readonly Order[]): void {
  const perUser = new Map<string, number>();
  for (const o of orders) perUser.set(o.user, (perUser.get(o.user) ?? 0) + 1);
  const known = new Map<string, number>();
  for (const o of orders) known.set(id(o), (known.get(id(o)) ?? 0) + 1);
  for (const scope of ['user', 'all'] as const) {
    const batches = committed.filter((b) => (scope === 'all') === (b.scope === 'all'));
    const size = scope === 'all' ? ALL : PER_USER;
    expect(batches.filter((b) => b.orders.length !== size)).toEqual([]);
    if (scope === 'user') expect(batches.filter((b) => !b.orders.every((o) => o.startsWith(`${b.scope}/`)))).toEqual([]);
    const used = new Map<string, number>();
    for (const o of batches.flatMap((b) => b.orders)) used.set(o, (used.get(o) ?? 0) + 1);
    expect([...used].filter(([o, n]) => n > (known.get(o) ?? 0))).toEqual([]); // none twice, none made up
    const windows = scope === 'all' ? Math.floor(RECORDS / ALL) : [...perUser.values()].reduce((n, c) => n + Math.floor(c / PER_USER), 0);
    expect(batches.length).toBe(windows);
  }
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

describe('count windows through the engine', () => {
  it('commits every full window once at p=2 with checkpoints every 20 ms and a failure', async () => {
    const stores = newStores();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/p2` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    countJob(env, { perSecond: 12_000, failAt: 3_000, stores });
    const result = await env.execute('count windows p2 with a failure');
    expect(result.attempts).toBe(2);
    check(committed(stores), orders);
  });

  it('restores a failed p=2 run at p=3 (the windowAll operator stays at 1), losing and doubling no window', async () => {
    const stores = newStores();
    const checkpoints = `${dir.path}/restore`;
    const first = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: checkpoints, retention: 'RETAIN_ON_CANCELLATION' })
      .setRestartStrategy({ type: 'none' });
    countJob(first, { perSecond: 12_000, failAt: 3_000, stores });
    await expect(first.execute('count windows, fails')).rejects.toThrow(/injected failure/);
    const second = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(await latestCheckpoint(checkpoints));
    countJob(second, { perSecond: 60_000, stores });
    const client = second.executeAsync('count windows, restored at p3');
    await client.result;
    expect(client.subtaskRecordCounts().get('all')).toHaveLength(1);
    expect(client.subtaskRecordCounts().get('per-user')).toHaveLength(3);
    check(committed(stores), orders);
  });
});

