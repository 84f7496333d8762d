/**
 * A job's JobMaster (checkpoint coordinator, restart loop) is a thread of the JobManager that
 * also loads the job's module: user code that brings that thread down fails its own job, with the
 * cause, and nothing else. The JobManager (same pid) goes on serving the other jobs, which finish.
 * What the module prints in that thread is in the job's own log, `log/<jobId>.out`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClusterProbe, type JobInfo, alive } from '../support/cluster-probes.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const TSFLINK = join(ROOT, 'src', 'index.ts');
const ORDER_TOTALS = join(ROOT, 'examples', 'order-totals.ts');

/**
 * Throws from a timer once loaded in a worker thread (the JobMaster thread; a slot thread too,
 * were it to get that far), not in `flink run`'s main thread, which builds the job first.
 */
const LATE_THROW = `import { isMainThread } from 'node:worker_threads';
import { DataGeneratorSource } from ${JSON.stringify(TSFLINK)};
if (!isMainThread) {
  console.log('the job module, loaded in a thread');
  setTimeout(() => { throw new Error('late failure in the job module'); }, 0);
}
export default (env: any): void => {
  env.fromSource(new DataGeneratorSource({ count: 10, generate: (i: number) => i }), 'numbers').uid('numbers').sinkTo({ invoke() {} }).uid('sink');
};
`;

let cluster: TestCluster;
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
});

afterAll(async () => {
  await cluster?.stop();
});

it("a job module that brings its JobMaster thread down fails only its job, with the cause; the JobManager and its other jobs go on", async () => {
  const out = join(cluster.scratch, 'out-other');
  const release = `${out}.end-of-input`;
  const other = await runFlink(['run', ...cluster.defines, '-d', '-p', '1', ORDER_TOTALS, '--output', out, '--records', '2000', '--hold-until', release], { cwd: cluster.scratch });
  expect(other.code, other.stderr).toBe(0);
  const otherId = submittedJobId(other.stdout);
  await probe.waitForState(otherId, ['RUNNING']);
  const jobManager = cluster.jobManagerPid()!;

  const job = join(cluster.scratch, 'late-throw.mts');
  await writeFile(job, LATE_THROW);
  const submitted = await runFlink(['run', ...cluster.defines, '-d', '-D', 'restart-strategy.type=fixed-delay', job], { cwd: cluster.scratch });
  expect(submitted.code, submitted.stderr).toBe(0);
  const id = submittedJobId(submitted.stdout);
  const failed = await probe.waitForState(id, ['FAILED', 'FINISHED', 'CANCELED'], 60_000);
  expect(failed.state).toBe('FAILED');
  // Not a task's failure: the restart strategy (which would restart) has no say.
  expect(failed['failure-cause']).toBe("The job's JobMaster thread failed: late failure in the job module; the job is not restarted (resume it from a retained checkpoint, if it has one, with 'flink run -s').");
  expect(failed['num-restarts']).toBe(0);
  expect(await readFile(join(cluster.workDir, 'log', `${id}.out`), 'utf8')).toBe('the job module, loaded in a thread\n');

  expect(cluster.jobManagerPid()).toBe(jobManager);
  expect(alive(jobManager)).toBe(true);
  expect((await probe.get<JobInfo>(`/jobs/${otherId}`))?.state).toBe('RUNNING');
  writeFileSync(release, '');
  expect((await probe.waitForState(otherId, ['FINISHED', 'FAILED', 'CANCELED'], 60_000)).state).toBe('FINISHED');
}, 180_000);

it('with taskmanager.count=0 and no TaskManager, a job waits for its slots and fails after slot.request.timeout naming the numbers: it never runs in the JobManager', async () => {
  const bare = await startTestCluster({ defines: ['-D', 'taskmanager.count=0'] });
  try {
    const out = join(bare.scratch, 'out');
    const result = await runFlink(['run', ...bare.defines, '-D', 'slot.request.timeout=1s', '-p', '2', ORDER_TOTALS, '--output', out, '--records', '10'], { cwd: bare.scratch });
    expect(result.code, result.stderr).toBe(1);
    const id = submittedJobId(result.stdout);
    expect(result.stderr).toMatch(new RegExp(`Could not acquire the minimum required resources: job ${id} needs 2 task slots \\(its highest parallelism\\), and the cluster has 0 \\(0 free\\) in 0 TaskManagers after waiting 1 s \\(slot\\.request\\.timeout\\)\\.`));
  } finally {
    await bare.stop();
  }
}, 120_000);
