/**
 * The README's demo workflow end to end, through the real binary and a real cluster: the job's
 * committed output, after a savepoint, a cancel, a code change (one stateful operator removed,
 * one added), a rescale from 2 to 3, a stop with savepoint and a final resume to the end of the
 * input, equals the golden output of a failure-free run: no line lost, none doubled. And the
 * README's by-hand upgrade (v1 held open by the test, stopped with a savepoint, v2 restored from
 * it into the same output) gives each line exactly once.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { type FlinkRun, committedLines, runUpgradeWorkflow, writeConfig } from '../../scripts/upgrade-workflow.ts';
import { ROOT } from '../support/run-flink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { freePort } from '../support/test-cluster.ts';

const RECORDS = 60_000;
const SEED = 42;
const GOLDEN = join(ROOT, 'fixtures/golden/e2e/order-totals-60000-seed-42.txt');
/** Orders each of v1's two source readers emits before it holds (its watermark then closes the first windows), until the stop. */
const V1_HOLDS_AFTER = 25_000;

/**
 * order-totals v1 (same operators, uids and source splits) whose generator holds after
 * V1_HOLDS_AFTER orders per reader: the test, not a rate, keeps it running until the stop.
 */
const HELD_V1 = `import type { StreamExecutionEnvironment } from 'tsflink';
import { DataGeneratorSource, WatermarkStrategy } from 'tsflink';
import { DedupOrders, parseArgs, totalsSink, userTotals } from '${ROOT}/examples/order-totals.ts';
import { OUT_OF_ORDERNESS_MS, type Order, generateOrder, isValidOrder } from '${ROOT}/examples/orders.ts';
import { throttled } from '${ROOT}/test/support/throttled-source.ts';

export default (env: StreamExecutionEnvironment, args: string[]): void => {
  const options = parseArgs(args);
  const source = new DataGeneratorSource<Order>({ count: options.records, seed: options.seed, generate: (i) => generateOrder(i, options.seed) });
  const held = throttled(source, { recordsPerSecond: 1e9, hold: { after: ${V1_HOLDS_AFTER}, until: () => false } });
  const orders = env
    .fromSource(held, 'orders')
    .uid('orders')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Order>(OUT_OF_ORDERNESS_MS).withTimestampAssigner((o) => o.eventTimeMs))
    .uid('timestamps')
    .filter(isValidOrder)
    .uid('valid-orders')
    .keyBy((o) => o.user)
    .process(() => new DedupOrders())
    .uid('dedup');
  totalsSink(userTotals(orders.keyBy((o) => o.user)), options);
};
`;

describe('upgrade workflow through bin/flink', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let port: number;
  const log: string[] = [];
  const flink = (args: readonly string[]): Promise<FlinkRun> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/flink.js'), ...args], { cwd: dir.path, env: { ...process.env, FLINK_CONF_DIR: join(dir.path, 'conf'), NO_COLOR: '1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => {
        log.push(`$ flink ${args.join(' ')}\n${stdout}${stderr}`);
        resolve({ code: code ?? 1, stdout });
      });
    });

  beforeAll(async () => {
    dir = await tempDir('tsflink-e2e-');
    port = await freePort();
    writeConfig(dir.path, port);
  });

  afterAll(async () => {
    await flink(['cluster', 'stop']);
    await dir.remove();
  });

  it('the golden file is what a failure-free run produces', () => {
    expect(readFileSync(GOLDEN, 'utf8')).toBe(`${expectedTotals(generatedOrders(RECORDS, SEED)).join('\n')}\n`);
  });

  it('loses and doubles nothing across savepoint, cancel, code change, rescale and stop', async () => {
    const result = await runUpgradeWorkflow({ dir: dir.path, port, records: RECORDS, rate: 5_000, seed: SEED, flink, say: () => undefined }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${log.join('\n')}`);
    });
    expect(result.firstJob).not.toBe(result.secondJob);
    expect(existsSync(join(result.savepoint, '_metadata'))).toBe(true);
    expect(existsSync(join(result.stopSavepoint, '_metadata'))).toBe(true);
    expect(result.stopSavepoint).toMatch(new RegExp(`/savepoint-${result.secondJob.slice(0, 6)}-[0-9a-f]{12}$`));
    // What `npm run demo` reports at its end: the workflow's checkpoints committed totals before the stop.
    expect(committedLines(result.output).length).toBeGreaterThan(0);

    // The rest of the input, attached, from the stop savepoint.
    const last = await flink(['run', '-p', '3', '-s', result.stopSavepoint, join(ROOT, 'examples/order-totals-v2.ts'), '--output', result.output, '--records', String(RECORDS), '--rate', '30000', '--seed', String(SEED)]);
    expect(last.code, log.join('\n')).toBe(0);
    expect(last.stdout).toMatch(/^Job has been submitted with JobID [0-9a-f]{32}\nProgram execution finished\nJob with JobID [0-9a-f]{32} has finished\.\nJob Runtime: \d+ ms\n$/);

    const golden = readFileSync(GOLDEN, 'utf8').split('\n').filter((l) => l !== '');
    const lines = committedLines(result.output);
    const doubled = lines.filter((l, i) => lines[i - 1] === l);
    expect(doubled).toEqual([]);
    expect(lines.length).toBe(golden.length);
    expect(lines).toEqual(golden);

    const list = await flink(['list', '-a']);
    for (const id of [result.firstJob, result.secondJob]) expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(new RegExp(`${result.firstJob} : order-totals \\(CANCELED\\)`));
    expect(list.stdout).toMatch(new RegExp(`${result.secondJob} : order-totals-v2 \\(FINISHED\\)`));
  }, 240_000);

  it("upgrades by the README's by-hand steps (stop with a savepoint, restore v2 into the same output): every line exactly once", async () => {
    const output = join(dir.path, 'totals-by-hand');
    const jobArgs = ['--output', output, '--records', String(RECORDS), '--seed', String(SEED)];
    const v1File = join(dir.path, 'held-order-totals.ts');
    writeFileSync(v1File, HELD_V1);
    writeFileSync(join(dir.path, 'package.json'), '{"type": "module"}\n');

    const first = await flink(['run', '-d', '-p', '2', v1File, ...jobArgs]);
    expect(first.code, log.join('\n')).toBe(0);
    const v1 = /JobID ([0-9a-f]{32})/.exec(first.stdout)![1]!;
    // v1 commits output (windows its watermark closed) with a checkpoint while it holds, before the stop.
    await waitFor(async () => committedLines(output).length > 0, 120_000, "v1's first committed output");

    const stopped = await flink(['stop', '--savepointPath', join(dir.path, 'savepoints'), v1]);
    expect(stopped.code, log.join('\n')).toBe(0);
    const savepoint = /Savepoint completed\. Path: (\S+)/.exec(stopped.stdout)![1]!.replace(/^file:/, '');
    const byV1 = committedLines(output);
    expect(byV1.length).toBeGreaterThan(0);

    const second = await flink(['run', '-p', '3', '-s', savepoint, '-n', join(ROOT, 'examples/order-totals-v2.ts'), ...jobArgs, '--rate', '1000000000']);
    expect(second.code, log.join('\n')).toBe(0);
    expect(second.stdout).toContain('has finished.');

    const golden = readFileSync(GOLDEN, 'utf8').split('\n').filter((l) => l !== '');
    const lines = committedLines(output);
    expect(lines.filter((l, i) => lines[i - 1] === l)).toEqual([]);
    expect(lines).toEqual(golden);
    expect(lines.length).toBeGreaterThan(byV1.length);
  }, 300_000);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
