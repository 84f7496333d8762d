/**
 * Issue 10's defects of the cluster commands, through the real binary against real clusters:
 * `run -D` that starts a cluster, `stop`'s texts and `-p <jobId>`, a savepoint target that cannot
 * be written, and `cluster stop` reporting success only once the JobManager process is gone.
 *
 * Each describe has a cluster of its own (port, working directory), so the three run side by side:
 * the last one spends about 40 s waiting out `cluster stop`'s fixed grace periods (30 s, then 10 s
 * after SIGTERM), which the others need not wait behind. Within a describe the tests run in order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlinkIntoClosedPipe } from '../support/closed-pipe.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId, untilListedRunning } from '../support/test-cluster.ts';

const ORDER_TOTALS = join(ROOT, 'examples', 'order-totals.ts');
const PER_USER_COUNT = join(ROOT, 'examples', 'per-user-count.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.concurrent('a cluster started by flink run', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startTestCluster({ start: false });
  });
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it.sequential('gets only the cluster keys of its -D flags; the others configure that one job', async () => {
    const first = await runFlink(['run', ...cluster.defines, '-D', 'pipeline.name=only-the-first-job', PER_USER_COUNT, '10'], { cwd: cluster.scratch });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe(`No cluster answers at ${cluster.url}; starting a local one in the background ('flink cluster stop' stops it).\n`);
    const second = await runFlink(['run', ...cluster.defines, PER_USER_COUNT, '10'], { cwd: cluster.scratch });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    const listed = await cluster.flink(['list', '-a', '--json']);
    const jobs = (JSON.parse(listed.stdout) as { jobs: { jid: string; name: string }[] }).jobs;
    const name = (id: string): string | undefined => jobs.find((j) => j.jid === id)?.name;
    expect(name(submittedJobId(first.stdout))).toBe('only-the-first-job');
    expect(name(submittedJobId(second.stdout))).toBe('per-user-count');
  }, 120_000);
});

describe.concurrent('stop, savepoint targets and cluster stop', () => {
  let cluster: TestCluster;
  let defaultDir: string;
  /** Runs order-totals detached: 1,000,000 orders at 200/s, running for the whole file unless stopped. */
  const submit = async (name: string): Promise<string> => {
    const result = await runFlink(
      ['run', '-d', ...cluster.defines, '-D', `execution.checkpointing.savepoint-dir=${defaultDir}`, ORDER_TOTALS, '--output', join(cluster.scratch, name), '--records', '1000000', '--rate', '200'],
      { cwd: cluster.scratch },
    );
    expect(result.code, result.stderr).toBe(0);
    const id = submittedJobId(result.stdout);
    await untilListedRunning(cluster, id, 'order-totals');
    return id;
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
    defaultDir = join(cluster.scratch, 'default-savepoints');
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it.sequential('stop -p <jobId>: the -p value is the job id, the savepoint goes to the default directory', async () => {
    const id = await submit('out-a');
    const result = await cluster.flink(['stop', '-p', id]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`Suspending job "${id}" with a CANONICAL savepoint.`);
    expect(lines[1]).toBe(`Triggering stop-with-savepoint for job ${id}.`);
    expect(lines[2]).toBe('Waiting for response...');
    expect(lines[3]).toMatch(new RegExp(`^Savepoint completed\\. Path: file:${defaultDir}/savepoint-${id.slice(0, 6)}-[0-9a-f]{12}$`));
    expect(lines.slice(4)).toEqual(['']);
  }, 120_000);

  it.sequential('stop --drain says Draining, as Flink', async () => {
    const id = await submit('out-b');
    const target = join(cluster.scratch, 'drained');
    const result = await cluster.flink(['stop', '--drain', '-p', target, id]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Draining job "${id}" with a CANONICAL savepoint\\.\nTriggering stop-with-savepoint for job ${id}\\.\nWaiting for response\\.\\.\\.\nSavepoint completed\\. Path: file:${target}/savepoint-${id.slice(0, 6)}-[0-9a-f]{12}\n$`));
  }, 120_000);

  it.sequential('a savepoint target that cannot be written (/proc/sp) fails in one line; the job keeps running', async () => {
    const id = await submit('out-c');
    const result = await cluster.flink(['savepoint', id, '/proc/sp']);
    expect(result.stderr).toBe('The savepoint target directory /proc/sp is not writable (ENOENT). Choose a directory the cluster can write to.\n');
    expect(result.code).toBe(1);
    const stop = await cluster.flink(['stop', id, '-p', '/proc/sp/x']);
    expect(stop.stderr).toBe('The savepoint target directory /proc/sp/x is not writable (ENOENT). Choose a directory the cluster can write to.\n');
    expect((await cluster.flink(['list', '-r'])).stdout).toContain(`${id} : order-totals (RUNNING)`);
  }, 120_000);

  it.sequential('list | head -1 ends quietly with exit 0', async () => {
    // The first line comes before the request; the jobs come after it, into the closed pipe.
    const result = await runFlinkIntoClosedPipe(['list', '-a', ...cluster.defines], { cwd: cluster.scratch });
    expect(result.first).toBe('Waiting for response...');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it.sequential('cluster stop returns once the JobManager process is gone', async () => {
    const pid = cluster.jobManagerPid();
    expect(pid).toBeDefined();
    const result = await cluster.flink(['cluster', 'stop']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Stopped the JobManager at ${cluster.url}\\.`));
    expect(alive(pid!)).toBe(false);
  }, 120_000);
});

describe.concurrent('cluster stop of a JobManager that does not exit', () => {
  let cluster: TestCluster;
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it.sequential('escalates to SIGTERM, then SIGKILL, says so, and reports success only once the process is gone', async () => {
    cluster = await startTestCluster({ start: false });
    // Loaded into the JobManager only: it stays alive after it stopped, and ignores SIGTERM.
    const preload = join(cluster.scratch, 'stay-alive.mjs');
    await writeFile(preload, "if (process.argv.includes('jobmanager')) { setInterval(() => {}, 60_000); process.on('SIGTERM', () => {}); }\n");
    const started = await runFlink(['cluster', 'start', ...cluster.defines], { cwd: cluster.scratch, env: { NODE_OPTIONS: `--import=${preload}` } });
    expect(started.code, started.stderr).toBe(0);
    const pid = cluster.jobManagerPid()!;
    expect(alive(pid)).toBe(true);
    const result = await cluster.flink(['cluster', 'stop']);
    expect(result.stderr).toBe(
      `The JobManager (pid ${pid}) did not exit within 30 s of the stop request; sending it SIGTERM.\n` +
        `The JobManager (pid ${pid}) did not exit within 10 s of SIGTERM; killing it (SIGKILL). Its running jobs resume when a cluster starts again, each from its latest checkpoint, or from its beginning (from the savepoint it was started from, if any) when it has none.\n`,
    );
    expect(result.stdout).toBe(`Stopped the JobManager at ${cluster.url}.\n`);
    expect(result.code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(cluster.workDir, 'jobmanager.pid'))).toBe(false);
  }, 180_000);
});
