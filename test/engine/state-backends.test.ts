/**
 * The golden jobs on every keyed state backend (hashmap, rocksdb, lmdb), and sliding windows whose
 * elements are list state: the committed output is
 * identical straight through, with an injected failure recovered from a checkpoint, and after a
 * canonical savepoint taken on one backend is restored on each backend (every pair, the same one
 * included) at another parallelism. Inputs are small, and nothing waits on time: sources are held
 * open (holdAt / endWhen) and the savepoint is taken once the sink has seen enough records.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import orderTotals from '../../examples/order-totals.ts';
import { type Verdict, ordersWithLimits } from '../../fixtures/jobs/orders-with-limits.ts';
import { type Count, wordCount } from '../../fixtures/jobs/word-count.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { STATE_BACKEND_TYPES, type StateBackendType } from '../../src/engine/state/state-backend-type.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { type Order, type WindowTotal, allOrders, describe as windowLines, expectedTotals as expectedWindowTotals, orderTotals as windowedOrderTotals, sliding } from './order-jobs.ts';

const BACKENDS = STATE_BACKEND_TYPES;
const PAIRS = BACKENDS.flatMap((from) => BACKENDS.map((to) => [from, to] as const));

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-backends-');
});
afterAll(async () => {
  await dir.remove();
});

/** Records the sink has been given, committed or not. */
const seen = <T>(store: MemoryTransactionalStore<T>): number => store.all().length + [...store.open.values()].reduce((n, r) => n + r.length, 0);

async function until(condition: () => boolean, what: string, running: () => boolean): Promise<void> {
  while (!condition()) {
    if (!running()) throw new Error(`the job ended before ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const env = (backend: StateBackendType, parallelism: number): StreamExecutionEnvironment => StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism).setStateBackend(backend);

describe('word count on every backend', () => {
  const RECORDS = 2_000;
  const sorted = (counts: Count[]): string[] => counts.map((c) => `${c.word}:${c.count}`).sort();
  let expected: string[];

  beforeAll(async () => {
    const store = new MemoryTransactionalStore<Count>();
    const e = env('hashmap', 1);
    wordCount(e, { records: RECORDS, sink: () => new MemoryTransactionalSink(store) });
    await e.execute('expected');
    expected = sorted(store.all());
    expect(expected).toHaveLength(RECORDS);
  });

  it.each(BACKENDS)('%s: straight at p=1, and at p=2 with a failure recovered from a checkpoint', async (backend) => {
    const straight = new MemoryTransactionalStore<Count>();
    const e1 = env(backend, 1);
    wordCount(e1, { records: RECORDS, sink: () => new MemoryTransactionalSink(straight) });
    await e1.execute(`straight on ${backend}`);
    expect(sorted(straight.all())).toEqual(expected);

    const failing = new MemoryTransactionalStore<Count>();
    const e2 = env(backend, 2)
      .configureCheckpointing({ interval: 20, dir: join(dir.path, `wc-chk-${backend}`) })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    wordCount(e2, { records: RECORDS, failAt: 400, sink: () => new MemoryTransactionalSink(failing) });
    const result = await e2.execute(`failure on ${backend}`);
    expect(result.attempts).toBe(2);
    expect(sorted(failing.all())).toEqual(expected);
  });

  // Each pair takes its own savepoint: the sink's transactions pending in it are committed by
  // the restored job into the store they were opened in, once.
  it.each(PAIRS)('a savepoint taken on %s at p=2 restores on %s at p=3', async (from, to) => {
    const store = new MemoryTransactionalStore<Count>();
    const e1 = env(from, 2);
    wordCount(e1, { records: RECORDS, holdAt: 500, sink: () => new MemoryTransactionalSink(store) });
    const client = e1.executeAsync(`savepoint on ${from}`);
    await until(() => seen(store) >= 500, 'the sink saw 500 records', () => client.status() === 'RUNNING');
    const savepoint = await client.triggerSavepoint(join(dir.path, `wc-savepoints-${from}-${to}`));
    await client.cancel();
    const e2 = env(to, 3).restoreFrom(savepoint);
    wordCount(e2, { records: RECORDS, sink: () => new MemoryTransactionalSink(store) });
    await e2.execute(`restored on ${to}`);
    expect(sorted(store.all())).toEqual(expected);
  });
});

describe('orders with limits (keyed co-process state) on every backend', () => {
  const ORDERS = 3_000;
  const lines = (vs: Verdict[]): string[] => vs.map((v) => JSON.stringify(v)).sort();
  let expected: string[];

  beforeAll(async () => {
    const store = new MemoryTransactionalStore<Verdict>();
    const e = env('hashmap', 1);
    ordersWithLimits(e, { orders: ORDERS, sink: () => new MemoryTransactionalSink(store) });
    await e.execute('expected');
    expected = lines(store.all());
    expect(expected).toHaveLength(ORDERS);
  });

  it.each(BACKENDS)('%s: straight at p=1, and at p=2 with a failure', async (backend) => {
    const straight = new MemoryTransactionalStore<Verdict>();
    const e1 = env(backend, 1);
    ordersWithLimits(e1, { orders: ORDERS, sink: () => new MemoryTransactionalSink(straight) });
    await e1.execute(`straight on ${backend}`);
    expect(lines(straight.all())).toEqual(expected);

    const failing = new MemoryTransactionalStore<Verdict>();
    const e2 = env(backend, 2)
      .configureCheckpointing({ interval: 20, dir: join(dir.path, `ol-chk-${backend}`) })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    ordersWithLimits(e2, { orders: ORDERS, failAt: 500, sink: () => new MemoryTransactionalSink(failing) });
    expect((await e2.execute(`failure on ${backend}`)).attempts).toBeGreaterThanOrEqual(2);
    expect(lines(failing.all())).toEqual(expected);
  });

  it.each(PAIRS)('a savepoint taken on %s at p=2 restores on %s at p=1', async (from, to) => {
    const store = new MemoryTransactionalStore<Verdict>();
    const e1 = env(from, 2);
    // Held open after its last order: the savepoint finds the job running.
    ordersWithLimits(e1, { orders: ORDERS, endWhen: () => false, sink: () => new MemoryTransactionalSink(store) });
    const client = e1.executeAsync(`savepoint on ${from}`);
    await until(() => seen(store) >= 1_000, 'the sink saw 1000 verdicts', () => client.status() === 'RUNNING');
    const savepoint = await client.triggerSavepoint(join(dir.path, `ol-savepoints-${from}-${to}`));
    await client.cancel();
    const e2 = env(to, 1).restoreFrom(savepoint);
    ordersWithLimits(e2, { orders: ORDERS, sink: () => new MemoryTransactionalSink(store) });
    await e2.execute(`restored on ${to}`);
    expect(lines(store.all())).toEqual(expected);
  });
});

describe('order totals (event-time windows, timers) on every backend', () => {
  async function committedLines(out: string): Promise<string[]> {
    const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
    const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
    return texts.flatMap((t) => t.split('\n').filter((line) => line !== '')).sort();
  }

  it.each(BACKENDS)('%s: the expected totals of 5,000 generated orders at p=2 with checkpoints', async (backend) => {
    const out = join(dir.path, `totals-${backend}`);
    const e = env(backend, 2).configureCheckpointing({ interval: 50, dir: join(dir.path, `totals-chk-${backend}`) });
    orderTotals(e, ['--records', '5000', '--rate', '1000000', '--seed', '7', '--output', out]);
    await e.execute(`order totals on ${backend}`);
    expect(await committedLines(out)).toEqual(expectedTotals(generatedOrders(5_000, 7)));
  });
});

describe('sliding event-time windows (list state of elements, timers) on every backend', () => {
  const RECORDS = 3_000;
  let orders: Order[];
  beforeAll(async () => {
    orders = await allOrders(RECORDS);
  });

  it.each(BACKENDS)('%s: the expected window totals at p=2 with a failure recovered from a checkpoint', async (backend) => {
    const store = new MemoryTransactionalStore<WindowTotal>();
    const e = env(backend, 2)
      .configureCheckpointing({ interval: 20, dir: join(dir.path, `sliding-chk-${backend}`) })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    windowedOrderTotals(e, 'sliding', { records: RECORDS, failAt: 500, sink: () => new MemoryTransactionalSink(store) });
    expect((await e.execute(`sliding on ${backend}`)).attempts).toBe(2);
    expect(windowLines(store.all())).toEqual(expectedWindowTotals(orders, sliding));
  });
});
