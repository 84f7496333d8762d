/**
 * A job with a side output, rescaled to two subtasks in two slot threads, through the real binary
 * on a real cluster: the side output's records cross the slots' channels like any other, and
 * print() writes Flink's lines (`id> value` at parallelism 1) into the TaskManager's .out file.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster } from '../support/test-cluster.ts';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('side outputs on a cluster', () => {
  it('splits numbers into a printed main output and a side output rescaled over two slots', async () => {
    // The cluster's -D flags before the job file: after it they would be the job's arguments.
    const mark = cluster.printMark();
    const result = await runFlink(['run', ...cluster.defines, '-p', '1', join(ROOT, 'fixtures', 'jobs', 'side-outputs.ts')], { cwd: cluster.scratch });
    expect(result.code, result.stderr).toBe(0);
    // The TaskManager running the sink prints into its .out file, as Flink's.
    const lines = (await cluster.printedSince(mark, 8)).sort();
    expect(lines).toEqual(['even> 0', 'even> 2', 'even> 4', 'even> 6', 'odd> 100', 'odd> 300', 'odd> 500', 'odd> 700']);
  }, 120_000);
});
