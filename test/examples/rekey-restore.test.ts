/**
 * A rekeyed savepoint restores: order-totals stopped with a savepoint at p=2 (max parallelism
 * 128, the default), rekeyed by `flink rekey` to 256, resumed at p=3, commits exactly the
 * expected totals, so windows, timers, dedup state and source positions all came through.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import orderTotals from '../../examples/order-totals.ts';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { runFlink } from '../support/run-flink.ts';
import { tempDir } from '../support/temp-dir.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('tsflink-rekey-restore-');
});
afterAll(async () => {
  await dir.remove();
});

async function committedLines(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [])).filter((n) => n.startsWith('part-'));
  const texts = await Promise.all(names.map((n) => readFile(join(out, n), 'utf8')));
  return texts.flatMap((t) => t.split('\n').filter((line) => line !== '')).sort();
}

/** A savepoint as soon as the job can take one (it is held open, so it surely will). */
async function savepointOnceRunning(client: { status(): string; triggerSavepoint(dir: string): Promise<string> }, target: string): Promise<string> {
  for (;;) {
    try {
      return await client.triggerSavepoint(target);
    } catch (err) {
      if (!/is not running/.test(String(err)) || !['CREATED', 'INITIALIZING', 'RUNNING'].includes(client.status())) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('order-totals resumed at p=3 from a savepoint rekeyed from 128 to 256', () => {
  const RECORDS = 150_000;
  const args = (out: string, rate: number): string[] => ['--records', String(RECORDS), '--rate', String(rate), '--output', out];

  it('commits exactly the expected totals', async () => {
    const out = join(dir.path, 'out');
    const first = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2).configureCheckpointing({ interval: 100, dir: join(dir.path, 'chk-1') });
    // Held open after its last order (the file is never created), so the stop finds it running.
    orderTotals(first, [...args(out, 15_000), '--hold-until', join(dir.path, 'never')]);
    const client = first.executeAsync('order totals, first part');
    while ((await committedLines(out)).length === 0) {
      if (client.status() !== 'RUNNING') throw new Error(`the first run ended (${client.status()}) before committing any window`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const savepoint = await client.stopWithSavepoint(join(dir.path, 'savepoints'));
    expect((await client.result).status).toBe('FINISHED');
    const committedFirst = (await committedLines(out)).length;
    const original = await SnapshotReader.open(new LocalObjectStore(savepoint));
    expect(new Set(original.metadata.operators.map((o) => o.maxParallelism))).toEqual(new Set([128]));

    const rekeyed = join(dir.path, 'rekeyed');
    const rekey = await runFlink(['rekey', savepoint, rekeyed, '--max-parallelism', '256']);
    expect(rekey.stderr).toBe('');
    expect(rekey.code).toBe(0);

    const second = StreamExecutionEnvironment.getExecutionEnvironment()
      .setParallelism(3)
      .configureCheckpointing({ interval: 100, dir: join(dir.path, 'chk-2') })
      .restoreFrom(rekeyed);
    const release = join(dir.path, 'release');
    orderTotals(second, [...args(out, 100_000), '--hold-until', release]);
    const resumed = second.executeAsync('order totals, resumed');
    // While it is held open: it runs under the savepoint's max parallelism (it set none).
    const midway = await SnapshotReader.open(new LocalObjectStore(await savepointOnceRunning(resumed, join(dir.path, 'savepoints'))));
    expect(midway.metadata.operators.filter((o) => o.keyedStates.length > 0).map((o) => [o.uid, o.parallelism, o.maxParallelism])).toEqual([
      ['dedup', 3, 256],
      ['user-totals', 3, 256],
    ]);
    await writeFile(release, '');
    expect((await resumed.result).status).toBe('FINISHED');
    const expected = expectedTotals(generatedOrders(RECORDS, 42));
    expect(committedFirst).toBeGreaterThan(0);
    expect(committedFirst).toBeLessThan(expected.length);
    expect((await readdir(out)).some((n) => n.startsWith('part-2-'))).toBe(true); // the third subtask wrote too
    expect(await committedLines(out)).toEqual(expected);
  });
});
