/**
 * The README's demo workflow end to end, through the real binary and a real cluster: the job's
 * committed output, after a savepoint, a cancel, a code change (one stateful operator removed,
 * one added), a rescale from 2 to 3, a stop with savepoint and a final resume to the end of the
 * input, equals the golden output of a failure-free run: no line lost, none doubled.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { type FlinkRun, committedLines, runUpgradeWorkflow, writeConfig } from '../../scripts/upgrade-workflow.ts';
import { ROOT } from '../support/run-flink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { freePort } from '../support/test-cluster.ts';

const RECORDS = 60_000;
const SEED = 42;
const GOLDEN = join(ROOT, 'fixtures/golden/e2e/order-totals-60000-seed-42.txt');

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
});
