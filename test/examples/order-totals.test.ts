/**
 * The example jobs end to end, in process: what they commit equals expected-totals.ts, computed
 * without the engine, for the sample CSV, for generated orders, and for a run that is stopped with
 * a savepoint in v1 and finished in v2 at another parallelism (the README's upgrade demo).
 */
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders, ordersOfText } from '../../examples/expected-totals.ts';
import orderTotalsV2 from '../../examples/order-totals-v2.ts';
import orderTotals from '../../examples/order-totals.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

const SAMPLE = fileURLToPath(new URL('../../examples/sample-orders.csv', import.meta.url));

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-examples-');
});
afterAll(async () => {
  await dir.remove();
});

/** What a reader of the output directory sees: the lines of the committed part files, sorted. */
async function committedLines(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
  const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter((line) => line !== '')).sort();
}

describe('order-totals (v1)', () => {
  it('commits the expected totals of the sample CSV at p=2 with checkpoints every 100 ms', async () => {
    const out = join(dir.path, 'sample-out');
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 100, dir: join(dir.path, 'sample-chk') });
    orderTotals(env, ['--input', SAMPLE, '--output', out]);
    await env.execute('order totals, sample');
    const orders = ordersOfText(await readFile(SAMPLE, 'utf8'));
    expect(orders.some((o, i) => i > 0 && o.eventTimeMs < orders[i - 1]!.eventTimeMs)).toBe(true);
    expect(orders.some((o) => o.amountCents <= 0)).toBe(true);
    const expected = expectedTotals(orders);
    expect(expected.length).toBeGreaterThan(300);
    expect(await committedLines(out)).toEqual(expected);
  });

  it('commits the expected totals of 20,000 generated orders', async () => {
    const out = join(dir.path, 'generated-out');
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    orderTotals(env, ['--records', '20000', '--rate', '100000', '--seed', '7', '--output', out]);
    await env.execute('order totals, generated');
    expect(await committedLines(out)).toEqual(expectedTotals(generatedOrders(20_000, 7)));
  });

  it('with --late-output, writes the orders whose window had fired there, exactly once, and leaves them out of the totals', async () => {
    // One order at T0, then 1,500 orders three hours later (so a watermark passes T0's window,
    // whatever the timing: one is emitted at least every 1,000 records), then two more orders in
    // T0's window: late. One order 2.5 hours after T0 is within the hour's bound: not late.
    const T0 = Date.UTC(2024, 0, 1);
    const HOUR = 3_600_000;
    const lines = ['orderId,user,amountCents,eventTimeMs', `e0,user-1,100,${T0}`];
    for (let i = 0; i < 1_500; i++) lines.push(`n${i},user-${i % 5},${100 + i},${T0 + 3 * HOUR + i * 1000}`);
    const late = [`late1,user-1,7,${T0 + 60_000}`, `late2,user-2,9,${T0 + 5 * 60_000}`];
    lines.push(...late, `ok1,user-3,11,${T0 + 2.5 * HOUR}`);
    const input = join(dir.path, 'late-orders.csv');
    await writeFile(input, `${lines.join('\n')}\n`);
    const out = join(dir.path, 'late-totals');
    const lateOut = join(dir.path, 'late-orders');
    // Parallelism 1: one file is one split, and an idle second source subtask would hold the watermark back.
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1).configureCheckpointing({ interval: 50, dir: join(dir.path, 'late-chk') });
    orderTotals(env, ['--input', input, '--output', out, '--late-output', lateOut]);
    await env.execute('order totals, late orders');
    expect(await committedLines(lateOut)).toEqual(late);
    const onTime = ordersOfText(lines.join('\n')).filter((o) => !o.orderId.startsWith('late'));
    expect(await committedLines(out)).toEqual(expectedTotals(onTime));
    expect(await committedLines(out)).toContain(`user-1,${T0},${T0 + 600_000},1,100`); // T0's window, without the late ones
  });

  it('refuses to build without --output, saying so in one line', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    expect(() => orderTotals(env, ['--records', '10'])).toThrow(/^order-totals: --output <dir> is required[^\n]*$/);
  });
});

describe('upgrade: v1 stopped with a savepoint at p=2, v2 restored at p=3', () => {
  // Enough orders that windows fire (an hour of event time after their end) before the savepoint.
  const RECORDS = 150_000;
  const args = (out: string, rate: number): string[] => ['--records', String(RECORDS), '--rate', String(rate), '--output', out];
  const out = (): string => join(dir.path, 'upgrade-out');
  let savepoint: string;
  let committedByV1: number;
  let linesOfV1: string[];

  beforeAll(async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 100, dir: join(dir.path, 'v1-chk') });
    // Held open after its last order (the file is never created): the stop finds it running on
    // any machine, with its last hour of windows still open.
    orderTotals(env, [...args(out(), 15_000), '--hold-until', join(dir.path, 'v1-never')]);
    const client = env.executeAsync('order totals v1');
    // Stop once v1 has committed some windows, so both versions contribute to the output.
    while ((await committedLines(out())).length === 0) {
      if (client.status() !== 'RUNNING') throw new Error(`v1 ended (${client.status()}) before committing any window`);
      await new Promise((r) => setTimeout(r, 20));
    }
    savepoint = await client.stopWithSavepoint(join(dir.path, 'savepoints'));
    expect((await client.result).status).toBe('FINISHED');
    linesOfV1 = await committedLines(out());
    committedByV1 = linesOfV1.length;
  });

  it('v1 with --late-output restores the savepoint of v1 without it (no uid changed) and finishes the same totals', async () => {
    // A copy of v1's output, its in-progress part files included: the savepoint's pending
    // transactions are files of the sink's directory, committed when the restored job opens (a
    // restore into another, empty directory is refused for that reason).
    const rest = join(dir.path, 'late-restore-out');
    await cp(out(), rest, { recursive: true });
    const late = join(dir.path, 'late-restore-late');
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(savepoint);
    orderTotals(env, [...args(rest, 100_000), '--late-output', late]);
    await env.execute('order totals v1, restored with a late output');
    expect(await committedLines(rest)).toEqual(expectedTotals(generatedOrders(RECORDS, 42)));
    expect(await committedLines(late)).toEqual([]); // the generator's orders are never an hour out of order
  });

  it('restoring without allowNonRestoredState fails, naming the removed operator and the option', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(3).restoreFrom(savepoint);
    orderTotalsV2(env, args(join(dir.path, 'strict-out'), 100_000));
    await expect(env.execute('order totals v2, strict')).rejects.toThrow(/state for operator dedup to the new program.*--allowNonRestoredState/);
  });

  it('with allowNonRestoredState, v1 and v2 together commit exactly the expected totals', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(3)
      .configureCheckpointing({ interval: 100, dir: join(dir.path, 'v2-chk') })
      .restoreFrom(savepoint, { allowNonRestoredState: true });
    orderTotalsV2(env, args(out(), 100_000));
    await env.execute('order totals v2');
    const expected = expectedTotals(generatedOrders(RECORDS, 42));
    expect(committedByV1).toBeGreaterThan(0);
    expect(committedByV1).toBeLessThan(expected.length);
    expect((await readdir(out())).some((n) => n.startsWith('part-2-'))).toBe(true); // v2's third subtask wrote too
    expect(await committedLines(out())).toEqual(expected);
  });
});
