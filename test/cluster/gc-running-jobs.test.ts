/**
 * `flink gc` with a cluster that answers: job A checkpoints and is cancelled (its checkpoints
 * retained), job B is restored from one of A's checkpoints and runs, checkpointing into the same
 * directory. gc --keep 0 must keep B's restore point and B's latest checkpoint, and delete the
 * rest of A's; B goes on checkpointing after the deletion.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../../src/engine/cluster/rest-client.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const ORDER_TOTALS = join(ROOT, 'examples', 'order-totals.ts');

let cluster: TestCluster;
let client: RestClient;
let checkpoints: string;
let jobA: string;
let jobB: string;
let restorePoint: string;

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const completed = async (jobId: string): Promise<number> => (await client.checkpoints(jobId).catch(() => undefined))?.counts.completed ?? 0;

async function submit(name: string, extra: readonly string[]): Promise<string> {
  // The cluster's -D flags before the job file: after it they would be the job's own arguments.
  const result = await runFlink([
    'run', ...cluster.defines, '-d',
    '-D', 'execution.checkpointing.interval=300ms',
    '-D', `execution.checkpointing.dir=${checkpoints}`,
    '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION',
    '-D', 'execution.checkpointing.num-retained=1000',
    ...extra,
    // Held open after its last order (nothing creates the file).
    ORDER_TOTALS, '--output', join(cluster.scratch, `out-${name}`), '--records', '1000000', '--rate', '200', '--hold-until', join(cluster.scratch, 'never'),
  ], { cwd: cluster.scratch });
  expect(result.code, result.stderr).toBe(0);
  return submittedJobId(result.stdout);
}

beforeAll(async () => {
  cluster = await startTestCluster();
  client = new RestClient(cluster.url);
  checkpoints = join(cluster.scratch, 'checkpoints');
  jobA = await submit('a', []);
  await waitUntil('job A to complete 4 checkpoints', async () => (await completed(jobA)) >= 4);
  expect((await cluster.flink(['cancel', jobA])).code).toBe(0);
  await waitUntil('job A to be cancelled', async () => (await client.job(jobA)).state === 'CANCELED');
  const retained = readdirSync(join(checkpoints, jobA)).filter((d) => existsSync(join(checkpoints, jobA, d, '_metadata'))).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  expect(retained.length).toBeGreaterThanOrEqual(3);
  restorePoint = join(checkpoints, jobA, retained[1]!);
  jobB = await submit('b', ['-s', restorePoint]);
  await waitUntil('job B to complete 2 checkpoints', async () => (await completed(jobB)) >= 2);
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('flink gc with a running job', () => {
  it("keeps the running job's restore point and latest checkpoint, deletes the rest of the cancelled job's", async () => {
    const latestBefore = (await client.checkpoints(jobB)).latest.completed!.id;
    const dry = await cluster.flink(['gc', '--dry-run', '--json', '--keep', '0', '-m', `127.0.0.1:${cluster.port}`, checkpoints]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toBe('');
    const report = JSON.parse(dry.stdout) as { cluster: { answered: boolean; runningJobs: string[] }; items: { path: string; jobId: string; action: string; reason: string }[] };
    expect(report.cluster).toMatchObject({ answered: true, runningJobs: [jobB] });
    const a = report.items.filter((i) => i.jobId === jobA);
    expect(a.filter((i) => i.action === 'keep').map((i) => [i.path, i.reason])).toEqual([[`${jobA}/${restorePoint.split('/').at(-1)}`, `the restore point of running job ${jobB}`]]);
    expect(a.filter((i) => i.action === 'delete').length).toBeGreaterThanOrEqual(2);
    const b = report.items.filter((i) => i.jobId === jobB);
    const id = (path: string): number => Number(path.split('chk-')[1]);
    // The latest checkpoints the cluster reported when gc asked, before and after its scan (B
    // checkpoints on meanwhile): everything from the first on is kept, everything before it is not needed.
    const latest = b.filter((i) => i.reason === `the latest checkpoint of running job ${jobB}`);
    expect(latest.length).toBeGreaterThanOrEqual(1);
    const seen = Math.min(...latest.map((i) => id(i.path)));
    expect(seen).toBeGreaterThanOrEqual(latestBefore);
    for (const item of b) expect(item.action, `${item.path}: ${item.reason}`).toBe(id(item.path) >= seen ? 'keep' : 'delete');

    const real = await cluster.flink(['gc', '--keep', '0', '-m', `127.0.0.1:${cluster.port}`, checkpoints]);
    expect(real.code, real.stderr).toBe(0);
    expect(existsSync(join(restorePoint, '_metadata'))).toBe(true);
    expect(readdirSync(join(checkpoints, jobA))).toEqual([restorePoint.split('/').at(-1)]);
    // B is unharmed: it keeps completing checkpoints after the deletion.
    const after = await completed(jobB);
    await waitUntil('job B to complete another checkpoint', async () => (await completed(jobB)) > after);
    expect((await client.job(jobB)).state).toBe('RUNNING');
  }, 120_000);
});
