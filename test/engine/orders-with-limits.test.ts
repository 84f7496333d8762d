/**
 * The co-process golden job (operator state + keyed state across two connected inputs): the
 * committed verdicts are identical straight at p=1, at p=2 with checkpoints and a failure, and
 * after a savepoint at p=2 restored at p=3 and at p=1 -- also when the exchange table outside the
 * job changed meanwhile, since restored operator state, not the outside, decides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Verdict, exchangeTable, ordersWithLimits } from '../../fixtures/jobs/orders-with-limits.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { MemoryTransactionalSink, MemoryTransactionalStore } from '../support/memory-transactional-sink.ts';
import { tempDir } from '../support/temp-dir.ts';

const ORDERS = 30_000;
let dir: Awaited<ReturnType<typeof tempDir>>;
let expected: string[];
const lines = (vs: Verdict[]): string[] => vs.map((v) => JSON.stringify(v)).sort();

beforeAll(async () => {
  dir = await tempDir();
  const store = new MemoryTransactionalStore<Verdict>();
  const env = StreamExecutionEnvironment.getExecutionEnvironment();
  ordersWithLimits(env, { orders: ORDERS, sink: () => new MemoryTransactionalSink(store) });
  await env.execute('straight');
  expected = lines(store.all());
});
afterAll(async () => {
  await dir.remove();
});

describe('orders with limits', () => {
  it('gives a verdict for every order, straight through', () => {
    expect(expected).toHaveLength(ORDERS);
    expect(expected.filter((l) => l.includes('"over":true')).length).toBeGreaterThan(0);
  });

  it('commits the same verdicts at p=2 with checkpoints and a failure', async () => {
    const store = new MemoryTransactionalStore<Verdict>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(2)
      .configureCheckpointing({ interval: 20, dir: `${dir.path}/chk` })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
    ordersWithLimits(env, { orders: ORDERS, perSecond: 15_000, failAt: 3_000, sink: () => new MemoryTransactionalSink(store) });
    expect((await env.execute('with a failure')).attempts).toBeGreaterThanOrEqual(2);
    expect(lines(store.all())).toEqual(expected);
  });

  it.each([3, 1])('commits the same verdicts after a savepoint at p=2 restored at p=%i, with the outside table changed', async (parallelism) => {
    const store = new MemoryTransactionalStore<Verdict>();
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    // Held open after its last order until cancelled: the savepoint finds it running on any machine.
    ordersWithLimits(env, { orders: ORDERS, perSecond: 15_000, endWhen: () => false, sink: () => new MemoryTransactionalSink(store) });
    const client = env.executeAsync('savepoint me');
    await new Promise((r) => setTimeout(r, 300));
    const savepoint = await client.triggerSavepoint(`${dir.path}/savepoints`);
    await client.cancel();
    const saved = { ...exchangeTable.rates };
    exchangeTable.rates = { EUR: 1, USD: 9, GBP: 9 };
    try {
      const restored = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism).restoreFrom(savepoint);
      ordersWithLimits(restored, { orders: ORDERS, sink: () => new MemoryTransactionalSink(store) });
      await restored.execute(`restored at p=${parallelism}`);
    } finally {
      exchangeTable.rates = saved;
    }
    expect(lines(store.all())).toEqual(expected);
  });
});
