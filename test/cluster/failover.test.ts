/**
 * Failover end to end, through the real binary with real processes: a TaskManager running a
 * job's subtasks and the JobManager itself (with the job's JobMaster thread: its checkpoint
 * coordinator and restart loop) are SIGKILLed mid-run, the cluster is stopped and started again, a job is
 * stopped with a savepoint and finished from it at another parallelism, cancelled while it waits
 * to restart, and left FAILED by a `none` restart strategy. Every run that finishes must have
 * committed exactly the totals a failure-free run commits: no line lost, none doubled.
 *
 * A job that a command or a kill must find running is held open after its last order
 * (`--hold-until`) and released by the test once the command has happened, so the tests do not
 * depend on how fast the machine works through the input.
 *
 * The cancel-while-RESTARTING test spends most of its time waiting out a 20 s restart delay; it
 * has a cluster of its own and runs beside the others (which share one cluster and run in order),
 * so they need not wait behind it.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { type CheckpointStats, ClusterProbe, type JobInfo, alive, committedLines, waitFor } from '../support/cluster-probes.ts';
import { ROOT, type RunResult, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 60_000;
const RATE = 8_000;
const SEED = 42;
const CHECKPOINTS = ['-D', 'execution.checkpointing.interval=300ms'];
const TIMEOUT = 90_000;
const RESTART_DELAY_MS = 20_000;

let cluster: TestCluster;
let expected: string[];
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
  expected = expectedTotals(generatedOrders(RECORDS, SEED));
});

afterAll(async () => {
  await cluster?.stop();
});

/**
 * `flink run`: the cluster's -D flags must come before the job file, since everything after it
 * is the job's own arguments (cluster.flink() appends them at the end).
 */
function run(options: readonly string[], jobArgs: readonly string[], on: TestCluster = cluster): Promise<RunResult> {
  return runFlink(['run', ...on.defines, ...CHECKPOINTS, ...options, JOB, ...jobArgs], { cwd: on.scratch });
}

const jobArgs = (out: string, records = RECORDS, rate = RATE): string[] => ['--output', out, '--records', String(records), '--rate', String(rate), '--seed', String(SEED)];

/** The file whose creation lets the input of the job writing to `out` end (`--hold-until`). */
const endOfInput = (out: string): string => `${out}.end-of-input`;

/** The held job (or its restarted attempt) may now end its input. */
function release(out: string): void {
  writeFileSync(endOfInput(out), '');
}

/** Submits detached, held open after its last order until release(out). */
async function submit(out: string, options: readonly string[] = [], on: TestCluster = cluster): Promise<string> {
  const result = await run(['-d', '-p', '2', ...options], [...jobArgs(out), '--hold-until', endOfInput(out)], on);
  expect(result.code, result.stderr).toBe(0);
  return submittedJobId(result.stdout);
}

/** The job was restored from a retained checkpoint no older than `atLeast`. */
async function expectRestoredFromCheckpoint(jobId: string, atLeast: number): Promise<void> {
  const restored = (await probe.get<CheckpointStats>(`/jobs/${jobId}/checkpoints`))?.latest.restored;
  expect(restored, 'restored checkpoint').toMatchObject({ is_savepoint: false, external_path: expect.stringMatching(new RegExp(`/${jobId}/chk-\\d+$`)) });
  expect(restored!.id).toBeGreaterThanOrEqual(atLeast);
}

/** A TaskManager holding the job's slots (one job runs at a time here). */
async function busyTaskManager(on: TestCluster = cluster): Promise<number> {
  return waitFor('a TaskManager holding the job\'s slots', async () => (await on.busyTaskManagerPids())[0]);
}

/** Children of the JobManager process `parent`: pid and command line. */
function childrenOf(parent: number): { pid: number; cmdline: string }[] {
  const children: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * No process per job: the JobManager's children are its TaskManagers and tsx's esbuild service
 * (live, or a defunct one a finished JobMaster thread started).
 */
function expectOnlyTaskManagerChildren(jobManager: number): void {
  const others = childrenOf(jobManager).filter((c) => !/ taskmanager /.test(c.cmdline) && !/esbuild/.test(c.cmdline) && c.cmdline !== '');
  expect(others).toEqual([]);
  expect(childrenOf(jobManager).filter((c) => / taskmanager /.test(c.cmdline)).length).toBeGreaterThan(0);
}

/** Compares without dumping thousands of lines when they differ. */
async function expectExactlyExpected(out: string, want = expected): Promise<void> {
  const got = await committedLines(out);
  const counts = new Map<string, number>();
  for (const line of got) counts.set(line, (counts.get(line) ?? 0) + 1);
  const doubled = [...counts].filter(([, n]) => n > 1).map(([line]) => line);
  const wanted = new Set(want);
  const missing = want.filter((line) => !counts.has(line));
  const unexpected = [...counts.keys()].filter((line) => !wanted.has(line));
  expect({ lines: got.length, doubled: doubled.slice(0, 5), missing: missing.slice(0, 5), unexpected: unexpected.slice(0, 5) }).toEqual({ lines: want.length, doubled: [], missing: [], unexpected: [] });
  expect(got).toEqual(want);
}

describe.concurrent('failover of a job on a real local cluster', () => {
  it.sequential(
    "a SIGKILLed TaskManager: the job's restart strategy restarts it once from the latest checkpoint, and the output is exactly once",
    async () => {
      const out = join(cluster.scratch, 'out-taskmanager-kill');
      const id = await submit(out);
      const latest = await probe.waitForCheckpoints(id, 2, out);
      const jobManager = cluster.jobManagerPid()!;
      // The job's coordinator and restart loop are threads of the JobManager: no process of its own.
      expectOnlyTaskManagerChildren(jobManager);
      const taskManager = await busyTaskManager();
      process.kill(taskManager, 'SIGKILL');
      await waitFor('the job to run again', async () => ((await probe.get<JobInfo>(`/jobs/${id}`))?.['num-restarts'] === 1 && (await probe.get<JobInfo>(`/jobs/${id}`))?.state === 'RUNNING') || undefined);
      release(out);
      const job = await probe.waitForState(id, ['FINISHED']);
      expect(job['num-restarts']).toBe(1);
      expect(cluster.jobManagerPid()).toBe(jobManager);
      await expectRestoredFromCheckpoint(id, latest);
      await expectExactlyExpected(out);
    },
    TIMEOUT,
  );

  it.sequential(
    "a SIGKILLed JobManager takes the job's JobMaster thread with it, and a new one resumes the job from its latest checkpoint",
    async () => {
      const out = join(cluster.scratch, 'out-jm-kill');
      const id = await submit(out);
      const latest = await probe.waitForCheckpoints(id, 2, out);
      const jobManager = cluster.jobManagerPid();
      expect(jobManager).toBeDefined();
      process.kill(jobManager!, 'SIGKILL');
      await waitFor('the JobManager to be gone', async () => !alive(jobManager!), 5_000, 20);

      const started = await cluster.flink(['cluster', 'start']);
      expect(started.code, started.stderr).toBe(0);
      expect(cluster.jobManagerPid()).not.toBe(jobManager);
      const list = await cluster.flink(['list']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`: ${id} : .* \\((RUNNING|RESTARTING)\\)`));
      release(out);
      await probe.waitForState(id, ['FINISHED']);
      await expectRestoredFromCheckpoint(id, latest);
      await expectExactlyExpected(out);
    },
    TIMEOUT,
  );

  it.sequential(
    "'flink cluster stop' while jobs run suspends them, and after 'flink cluster start' they resume (from the latest checkpoint, or without one from the beginning), no restart counted, and finish exactly once",
    async () => {
      const out = join(cluster.scratch, 'out-cluster-stop');
      const id = await submit(out);
      // No checkpointing (and so, by default, the restart strategy none): run() would add it.
      const bareOut = join(cluster.scratch, 'out-cluster-stop-no-checkpoints');
      const bare = await runFlink(['run', ...cluster.defines, '-d', '-p', '2', JOB, ...jobArgs(bareOut), '--hold-until', endOfInput(bareOut)], { cwd: cluster.scratch });
      expect(bare.code, bare.stderr).toBe(0);
      const bareId = submittedJobId(bare.stdout);
      const latest = await probe.waitForCheckpoints(id, 2, out);
      await probe.waitForState(bareId, ['RUNNING']);
      const stopped = await cluster.flink(['cluster', 'stop']);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toBe(
        `Stopped the JobManager at ${cluster.url}. 2 job(s) were running; they resume when the cluster starts again, each from its latest checkpoint, or from its beginning (from the savepoint it was started from, if any) when it has none.\n`,
      );

      const started = await cluster.flink(['cluster', 'start']);
      expect(started.code, started.stderr).toBe(0);
      const list = await cluster.flink(['list']);
      expect(list.code, list.stderr).toBe(0);
      // Listed again; a job that resumes from its beginning may still be waiting for its slots (CREATED) on a busy machine.
      for (const job of [id, bareId]) expect(list.stdout).toMatch(new RegExp(`: ${job} : .* \\((CREATED|RUNNING|RESTARTING)\\)`));
      await probe.waitForState(id, ['RUNNING']);
      await probe.waitForState(bareId, ['RUNNING']);
      release(out);
      release(bareOut);
      for (const job of [id, bareId]) {
        const info = await probe.waitForState(job, ['FINISHED']);
        // Suspended, not failed: the stop is no restart, and the TaskManagers stopping with the
        // JobManager are no loss in the job's history.
        expect(info['num-restarts'], job).toBe(0);
        const exceptions = await probe.get<{ exceptionHistory: { entries: { stacktrace: string }[] } }>(`/jobs/${job}/exceptions`);
        expect(exceptions?.exceptionHistory.entries.map((e) => e.stacktrace.split('\n')[0]), job).toEqual([]);
      }
      await expectRestoredFromCheckpoint(id, latest);
      expect((await probe.get<CheckpointStats>(`/jobs/${bareId}/checkpoints`))?.latest.restored).toBeNull();
      await expectExactlyExpected(out);
      // From the beginning: what its first run wrote was never committed (no checkpoint), so no line is doubled.
      await expectExactlyExpected(bareOut);
    },
    TIMEOUT,
  );

  it.sequential(
    'an attached flink run follows a short job to its end',
    async () => {
      const out = join(cluster.scratch, 'out-attached');
      const result = await run(['-p', '2'], jobArgs(out, 2_000, 100_000));
      expect(result.code, result.stderr).toBe(0);
      const id = submittedJobId(result.stdout);
      expect(result.stdout).toMatch(new RegExp(`Job has been submitted with JobID ${id}\\n(.*\\n)*Program execution finished\\nJob with JobID ${id} has finished\\.\\nJob Runtime: \\d+ ms\\n`));
      const totals = expectedTotals(generatedOrders(2_000, SEED));
      await expectExactlyExpected(out, totals);
      // Flink's vertices are chains; their metrics, summed over subtasks, are what the chain's head
      // read and what its last operator wrote: the source's chain wrote every valid order, the
      // dedup read them all, the window's chain read what dedup wrote and (ending in the sink) wrote nothing on.
      const job = await probe.get<{ vertices: { name: string; metrics: { 'read-records': number; 'write-records': number } }[] }>(`/jobs/${id}`);
      const metrics = Object.fromEntries((job?.vertices ?? []).map((v) => [v.name, v.metrics]));
      const [source, dedup, window] = ['Source: orders -> Timestamps/Watermarks -> Filter', 'Keyed Process', 'Window(TumblingEventTimeWindows(600000), aggregate) -> Sink: Sink'];
      expect(Object.keys(metrics)).toEqual([source, dedup, window]);
      expect(metrics[source]).toEqual({ 'read-records': 0, 'write-records': 2_000 });
      expect(metrics[dedup]?.['read-records']).toBe(2_000);
      expect(metrics[window]).toEqual({ 'read-records': metrics[dedup]?.['write-records'], 'write-records': 0 });
    },
    TIMEOUT,
  );

  it.sequential(
    'an attached run says why its job restarts, and GET /jobs/:id/exceptions keeps the history',
    async () => {
      const job = join(ROOT, 'fixtures', 'jobs', 'word-count.ts');
      const result = await runFlink(['run', ...cluster.defines, ...CHECKPOINTS, '-p', '2', job, '4000', '1500', '4000'], { cwd: cluster.scratch });
      expect(result.code, result.stderr).toBe(0);
      const id = submittedJobId(result.stdout);
      // One line: the task and subtask it failed in, and the error; the stack is for --verbose and the exceptions.
      const task = 'Source: words -> Map -> Map (1/2)';
      expect(result.stderr).toContain(`Job ${id} failed and restarts (restart 1): ${task}: Error: injected failure in attempt 0\n`);
      const exceptions = await probe.get<{ 'root-exception': string; exceptionHistory: { entries: { stacktrace: string; taskName: string | null; timestamp: number }[] } }>(`/jobs/${id}/exceptions`);
      const entries = exceptions?.exceptionHistory.entries ?? [];
      expect(entries.map((e) => e.taskName)).toEqual([task]);
      expect(entries[0]?.stacktrace).toMatch(/^Error: injected failure in attempt 0\n\s+at Object\.map \(.*fail-injection\.ts:\d+:\d+\)/);
      expect(exceptions?.['root-exception']).toBe(entries[0]?.stacktrace);
    },
    TIMEOUT,
  );

  // `flink run -s` takes the path exactly as `flink stop` prints it (Flink's `file:/abs` form).
  it.sequential(
    "'flink stop' takes a savepoint and finishes the job; a run from it at p=3 commits the rest exactly once",
    async () => {
      const out = join(cluster.scratch, 'out-savepoint');
      const savepoints = join(cluster.scratch, 'savepoints');
      const id = await submit(out);
      await probe.waitForCheckpoints(id, 2, out);
      const stopped = await cluster.flink(['stop', '--savepointPath', savepoints, id]);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toContain(`Suspending job "${id}" with a CANONICAL savepoint.\n`);
      const match = new RegExp(`Savepoint completed\\. Path: (file:${savepoints}/savepoint-${id.slice(0, 6)}-[0-9a-f]{12})\\n`).exec(stopped.stdout);
      expect(match, stopped.stdout).not.toBeNull();
      const savepoint = match![1]!;
      expect((await probe.waitForState(id, ['FINISHED'])).state).toBe('FINISHED');
      expect((await committedLines(out)).length).toBeLessThan(expected.length);

      const resumed = await run(['-s', savepoint, '-p', '3'], jobArgs(out));
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain('Program execution finished');
      await expectExactlyExpected(out);
    },
    TIMEOUT,
  );

  it.sequential(
    "a SIGKILLed TaskManager of a job whose restart strategy is 'none' leaves it FAILED, saying why",
    async () => {
      const out = join(cluster.scratch, 'out-no-restart');
      const id = await submit(out, ['-D', 'restart-strategy.type=none']);
      await probe.waitForState(id, ['RUNNING']);
      process.kill(await busyTaskManager(), 'SIGKILL');
      const job = await probe.waitForState(id, ['FAILED'], 15_000);
      expect(job['failure-cause']).toMatch(/TaskManager.*not restarted: the restart strategy is none/);
      expect(job['num-restarts']).toBe(0);
      const list = await cluster.flink(['list', '-a']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`: ${id} : .* \\(FAILED\\)`));
    },
    TIMEOUT,
  );
});

describe.concurrent('failover of a job on a real local cluster of its own', () => {
  let own: TestCluster;
  let ownProbe: ClusterProbe;
  beforeAll(async () => {
    own = await startTestCluster();
    ownProbe = new ClusterProbe(own.url);
  });
  afterAll(async () => {
    await own?.stop();
  });

  it(
    'a job cancelled while RESTARTING ends CANCELED and no new attempt starts',
    async () => {
      const out = join(own.scratch, 'out-cancel-restarting');
      // The restart delay is the time the test has to see RESTARTING and run `flink cancel`, a
      // process that takes seconds to start on a loaded machine: generous on purpose.
      const id = await submit(out, ['-D', 'restart-strategy.type=fixed-delay', '-D', `restart-strategy.fixed-delay.delay=${RESTART_DELAY_MS}ms`], own);
      await ownProbe.waitForState(id, ['RUNNING']);
      process.kill(await busyTaskManager(own), 'SIGKILL');
      const killedAt = Date.now();
      await ownProbe.waitForState(id, ['RESTARTING'], RESTART_DELAY_MS);
      const cancelled = await own.flink(['cancel', id]);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      expect(cancelled.stdout).toContain(`Cancelled job ${id}.`);
      expect((await ownProbe.get<JobInfo>(`/jobs/${id}`))?.state).toBe('CANCELED');
      // Past the restart delay: still CANCELED, no restart counted, and no slot held for it.
      await sleep(killedAt + RESTART_DELAY_MS + 1_000 - Date.now());
      const after = await ownProbe.get<JobInfo>(`/jobs/${id}`);
      expect(after?.state).toBe('CANCELED');
      expect(after?.['num-restarts']).toBe(1);
      expect(await own.busyTaskManagerPids()).toEqual([]);
    },
    TIMEOUT,
  );
});
