/**
 * State schema evolution end to end: v1 of order-totals stopped with a savepoint at p=2 while
 * windows are open, restored at p=3 into order-totals-largest.ts, whose window accumulator gained
 * a field (schema version 2 with a migrate hook), through checkpoints and an injected failure.
 * The totals of windows that straddle the upgrade are exact; without the hook the restore is
 * refused at once, without restarts (the CLI's refusals: test/cli-schema.test.ts).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnce } from '../../fixtures/jobs/fail-injection.ts';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { orderTotalsLargest, sumOrders } from '../../examples/order-totals-largest.ts';
import orderTotals from '../../examples/order-totals.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { type Order, WINDOW_MS } from '../../examples/orders.ts';
import { tempDir } from '../support/temp-dir.ts';

const RECORDS = 150_000;
/**
 * v1 generates only the first V1_RECORDS orders and holds there (its last hour of windows open),
 * so its savepoint is the same on every machine; the upgrade, given RECORDS, continues the same
 * generator from the savepoint's positions with the rest.
 */
const V1_RECORDS = 60_000;
let dir: Awaited<ReturnType<typeof tempDir>>;
let savepoint: string;

/** The committed lines of the part files, sorted. */
async function committedLines(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
  const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter((line) => line !== '')).sort();
}

const args = (out: string, rate: number, records = RECORDS): string[] => ['--records', String(records), '--rate', String(rate), '--output', out];
const out = (): string => join(dir.path, 'out');

beforeAll(async () => {
  dir = await tempDir('tsflink-schema-example-');
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 100, dir: join(dir.path, 'v1-chk') });
  // Held open after its last order: the stop finds its last hour of windows still open.
  orderTotals(env, [...args(out(), 30_000, V1_RECORDS), '--hold-until', join(dir.path, 'never')]);
  const client = env.executeAsync('order totals v1');
  while ((await committedLines(out())).length === 0) {
    if (client.status() !== 'RUNNING') throw new Error(`v1 ended (${client.status()}) before committing any window`);
    await new Promise((r) => setTimeout(r, 20));
  }
  savepoint = await client.stopWithSavepoint(join(dir.path, 'savepoints'));
  expect((await client.result).status).toBe('FINISHED');
}, 120_000);

afterAll(async () => {
  await dir?.remove();
});

describe('order-totals savepoint restored into a job whose accumulator gained a field', () => {
  it('is refused without a migrate hook, in one line naming the state, the operator and both versions, without restarts', async () => {
    const { migrateAccumulator: _, ...noHook } = sumOrders;
    // Checkpointing on: the default restart strategy would restart forever; a refusal must not.
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).configureCheckpointing({ interval: 100, dir: join(dir.path, 'refused-chk') }).restoreFrom(savepoint);
    orderTotalsLargest(env, args(join(dir.path, 'refused-out'), 100_000), { aggregate: noHook });
    // The error itself, not "Job ... failed: ... (not restarted: ...)": the first attempt's refusal ends the job.
    await expect(env.execute('refused')).rejects.toThrow(
      /^StateMigrationException: cannot restore keyed state 'window-contents' of operator 'user-totals': the snapshot has schema version 1 and this job declares version 2 without a migrate\(oldValue, oldVersion\) hook; add one to the state's descriptor$/,
    );
  });


  it('migrates every open window once: v1 and the upgrade together commit exactly the expected totals, through a failure at p=3', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(3)
      .configureCheckpointing({ interval: 100, dir: join(dir.path, 'v2-chk') })
      .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 0 })
      .restoreFrom(savepoint);
    const committedByV1 = (await committedLines(out())).length;
    // Fails once after the attempt's first checkpoint: the restart restores that checkpoint,
    // whose window state is version 2 already and must not be migrated again.
    // 90,000 orders left, at most 30,000/s: subtask 0 of the failing map sees some 30,000, and
    // fails at its 5,000th or the first after a checkpoint completed (every 100 ms).
    orderTotalsLargest(env, args(out(), 30_000), { between: (orders) => orders.map(failOnce<Order>(5_000)) });
    const result = await env.execute('order totals with largest');
    expect(result.attempts).toBe(2);
    const lines = await committedLines(out());
    const expected = expectedTotals(generatedOrders(RECORDS, 42));
    expect(committedByV1).toBeGreaterThan(0);
    expect(committedByV1).toBeLessThan(expected.length);
    // v1's lines have five fields, the upgrade's six: the first five are the totals.
    expect(lines.map((l) => l.split(',').slice(0, 5).join(',')).sort()).toEqual(expected);
    const largest = new Map<string, number>();
    for (const o of generatedOrders(RECORDS, 42)) {
      if (o.amountCents <= 0) continue;
      const start = o.eventTimeMs - (o.eventTimeMs % WINDOW_MS);
      const id = `${o.user},${start}`;
      largest.set(id, Math.max(largest.get(id) ?? 0, o.amountCents));
    }
    const upgraded = lines.map((l) => l.split(',')).filter((f) => f.length === 6);
    expect(upgraded.length).toBe(expected.length - committedByV1);
    // A migrated window knows only the orders after the restore; every other one is exact.
    expect(upgraded.every((f) => Number(f[5]) <= largest.get(`${f[0]},${f[1]}`)!)).toBe(true);
    expect(upgraded.filter((f) => Number(f[5]) === largest.get(`${f[0]},${f[1]}`)).length).toBeGreaterThan(upgraded.length / 2);
  });
});
