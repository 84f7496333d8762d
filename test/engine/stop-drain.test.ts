/**
 * `flink stop --drain`: sources emit MAX_WATERMARK before the savepoint barrier, so every
 * event-time window fires and its results are committed with the savepoint; without --drain
 * the open windows stay in the savepoint's state for the job that resumes from it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orderTotals from '../../examples/order-totals.ts';
import { openSnapshot } from '../../src/open-snapshot.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const ORDERS = 20_000;

async function committedOrders(out: string): Promise<number> {
  const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
  let orders = 0;
  for (const n of names) for (const line of (await readFile(join(out, n), 'utf8')).split('\n').filter((l) => l !== '')) orders += Number(line.split(',')[3]);
  return orders;
}

async function windowEntries(savepoint: string): Promise<number> {
  const reader = await openSnapshot(savepoint);
  let n = 0;
  for await (const batch of reader.readKeyed('user-totals', 'window-contents')) n += batch.keys.length;
  return n;
}

describe('stop with savepoint, with and without --drain', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => (dir = await tempDir()));
  afterAll(() => dir.remove());

  const stopAfterCheckpoint = async (name: string, drain: boolean): Promise<{ savepoint: string; orders: number }> => {
    const out = join(dir.path, name);
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 100, dir: join(dir.path, `${name}-chk`) });
    // Held open after its last order (the file is never created), so the stop finds it running
    // with every order read, however long that took.
    orderTotals(env, ['--output', out, '--records', String(ORDERS), '--rate', '1000000', '--hold-until', join(dir.path, `${name}-never`)]);
    const client = env.executeAsync(name);
    while ((client.recordCounts().get('orders')?.out ?? 0) < ORDERS) {
      if (client.status() !== 'RUNNING') throw new Error(`${name} ended (${client.status()}) before reading its input`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const savepoint = await client.stopWithSavepoint(join(dir.path, `${name}-sp`), { drain });
    expect((await client.result).status).toBe('FINISHED');
    return { savepoint, orders: await committedOrders(out) };
  };

  it('--drain fires every window into the committed output and leaves no window state', async () => {
    const plain = await stopAfterCheckpoint('plain', false);
    const drained = await stopAfterCheckpoint('drained', true);
    expect(await windowEntries(plain.savepoint)).toBeGreaterThan(0);
    expect(await windowEntries(drained.savepoint)).toBe(0);
    // Everything read before the barrier is in the drained output: every order.
    expect(drained.orders).toBe(ORDERS);
    expect(plain.orders).toBeLessThan(ORDERS);
  }, 60_000);
});
