/**
 * order-totals-largest.ts takes v1's arguments: `--late-output` sends late orders to the same side
 * output and sink uid as v1 (so a savepoint of v1 run with it restores here), and `--pg`, whose
 * sink it does not have, is refused rather than ignored. The schema upgrade itself:
 * order-totals-schema.test.ts.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import orderTotalsLargest from '../../examples/order-totals-largest.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-largest-');
});
afterAll(async () => {
  await dir.remove();
});

async function committedLines(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
  const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter((line) => line !== '')).sort();
}

describe('order-totals-largest', () => {
  it('with --late-output, writes the orders whose window had fired there, as v1 does', async () => {
    // As in order-totals.test.ts: T0's window fires once the orders three hours later pass the
    // watermark over it (one is emitted at least every 1,000 records); the two after them are late.
    const T0 = Date.UTC(2024, 0, 1);
    const lines = ['orderId,user,amountCents,eventTimeMs', `e0,user-1,100,${T0}`];
    for (let i = 0; i < 1_500; i++) lines.push(`n${i},user-${i % 5},${100 + i},${T0 + 3 * 3_600_000 + i * 1000}`);
    const late = [`late1,user-1,7,${T0 + 60_000}`, `late2,user-2,9,${T0 + 5 * 60_000}`];
    lines.push(...late);
    const input = join(dir.path, 'orders.csv');
    await writeFile(input, `${lines.join('\n')}\n`);
    const out = join(dir.path, 'totals');
    const lateOut = join(dir.path, 'late');
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    orderTotalsLargest(env, ['--input', input, '--output', out, '--late-output', lateOut]);
    await env.execute('order totals largest, late orders');
    expect(await committedLines(lateOut)).toEqual(late);
    expect(await committedLines(out)).toContain(`user-1,${T0},${T0 + 600_000},1,100,100`); // T0's window, without the late ones
  });

  it('refuses --pg in one line instead of leaving out the sink asked for', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    expect(() => orderTotalsLargest(env, ['--output', join(dir.path, 'pg-out'), '--pg', 'postgres://u@localhost:5432/db'])).toThrow(
      /^order-totals-largest: --pg is not supported \(its totals have another shape\); leave it out, and restore a v1 savepoint taken with --pg with --allowNonRestoredState$/,
    );
  });
});
