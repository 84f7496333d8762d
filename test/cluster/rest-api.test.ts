/**
 * Flink's REST answers from a real cluster, for the things a Flink user's scripts read: where a
 * job was restored from, why an attempt failed (task, subtask, the user's stack), and the paths
 * and fields tools call. A job that must be running is an unbounded source the test cancels.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProbe, type JobInfo, waitFor } from '../support/cluster-probes.ts';
import { ROOT, type RunResult, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const TSFLINK = join(ROOT, 'src', 'index.ts');
/** Generous: under a loaded machine each `flink` process takes seconds to start, and this file starts many. */
const TIMEOUT = 300_000;

/** Counts per word from an endless generator, checkpointing; runs until the test cancels it. */
const ENDLESS = `import { DataGeneratorSource } from ${JSON.stringify(TSFLINK)};
export default (env: any): void => {
  env
    .fromSource(new DataGeneratorSource({ recordsPerSecond: 2000, generate: (i: number) => 'w' + (i % 10) }), 'words')
    .uid('words')
    .map((w: string) => ({ w, n: 1 }))
    .uid('to-count')
    .keyBy((c: { w: string }) => c.w)
    .reduce((a: { w: string; n: number }, b: { w: string; n: number }) => ({ w: a.w, n: a.n + b.n }))
    .uid('counts')
    .sinkTo({ invoke() {} })
    .uid('sink');
};
`;

/** Subtask 2 of 4 of the map throws at its first record. */
const THROWS = `import { DataGeneratorSource } from ${JSON.stringify(TSFLINK)};
function explode(w: string): string {
  throw new Error('boom in subtask 2 at ' + w);
}
export default (env: any): void => {
  env
    .fromSource(new DataGeneratorSource({ count: 400, generate: (i: number) => 'w' + i }), 'words')
    .map({
      subtask: -1,
      open(ctx: { subtaskIndex: number }) { this.subtask = ctx.subtaskIndex; },
      map(w: string) { return this.subtask === 1 ? explode(w) : w; },
    })
    .name('explode')
    .sinkTo({ invoke() {} });
};
`;

/** Endless, and its map takes 3 s to snapshot its state: every checkpoint outlives a 2 s timeout. */
const SLOW_SNAPSHOT = `import { DataGeneratorSource } from ${JSON.stringify(TSFLINK)};
export default (env: any): void => {
  env
    .fromSource(new DataGeneratorSource({ recordsPerSecond: 100, generate: (i: number) => 'w' + i }), 'words')
    .map({
      map(w: string) { return w; },
      snapshotState() { return new Promise((resolve) => setTimeout(resolve, 3_000)); },
    })
    .name('slow snapshot')
    .sinkTo({ invoke() {} });
};
`;

let cluster: TestCluster;
let probe: ClusterProbe;
let jobs: string;

function run(args: readonly string[]): Promise<RunResult> {
  return runFlink(['run', ...cluster.defines, ...args], { cwd: cluster.scratch });
}

function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Restored {
  id: number;
  restore_timestamp: number;
  is_savepoint: boolean;
  external_path: string;
}

async function restoredOf(jobId: string): Promise<{ counts: { restored: number }; latest: { restored: Restored } }> {
  return waitFor(`job ${jobId} to report what it restored`, async () => {
    const stats = await probe.get<{ counts: { restored: number }; latest: { restored: Restored | null } }>(`/jobs/${jobId}/checkpoints`);
    return stats?.latest.restored == null ? undefined : (stats as { counts: { restored: number }; latest: { restored: Restored } });
  }, 120_000);
}

const CHECKPOINTS = ['-D', 'execution.checkpointing.interval=300ms', '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION', '-D', 'execution.checkpointing.num-retained=100'];

beforeAll(async () => {
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
  jobs = join(cluster.scratch, 'jobs');
  await mkdir(jobs);
  await writeFile(join(jobs, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(jobs, 'endless.ts'), ENDLESS);
  await writeFile(join(jobs, 'throws.ts'), THROWS);
  await writeFile(join(jobs, 'slow-snapshot.ts'), SLOW_SNAPSHOT);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('latest.restored of GET /jobs/:id/checkpoints', () => {
  it(
    "gives the id and kind of the snapshot -s named: a savepoint's, and a retained checkpoint's",
    async () => {
      const started = await run(['-d', ...CHECKPOINTS, '-p', '2', join(jobs, 'endless.ts')]);
      expect(started.code, started.stderr).toBe(0);
      const first = submittedJobId(started.stdout);
      const checkpointId = await probe.waitForCheckpoints(first, 2, undefined, 120_000);
      const taken = await cluster.flink(['savepoint', first, join(cluster.scratch, 'savepoints')]);
      expect(taken.code, taken.stderr).toBe(0);
      const savepoint = /Savepoint completed\. Path: (\S+)/.exec(taken.stdout)![1]!;
      const stats = await probe.get<{ latest: { savepoint: { id: number; external_path: string } } }>(`/jobs/${first}/checkpoints`);
      expect(stats?.latest.savepoint.external_path).toBe(savepoint);
      const savepointId = stats!.latest.savepoint.id;
      expect(savepointId).toBeGreaterThan(checkpointId);
      expect((await cluster.flink(['cancel', first])).code).toBe(0);

      const fromSavepoint = await run(['-d', '-s', savepoint, join(jobs, 'endless.ts')]);
      expect(fromSavepoint.code, fromSavepoint.stderr).toBe(0);
      const second = submittedJobId(fromSavepoint.stdout);
      const a = await restoredOf(second);
      expect(a.latest.restored).toMatchObject({ id: savepointId, is_savepoint: true, external_path: savepoint });
      expect(a.counts.restored).toBe(1);

      const chk = join(cluster.workDir, 'checkpoints', first, `chk-${checkpointId}`);
      const fromCheckpoint = await run(['-d', '-s', chk, join(jobs, 'endless.ts')]);
      expect(fromCheckpoint.code, fromCheckpoint.stderr).toBe(0);
      const third = submittedJobId(fromCheckpoint.stdout);
      const b = await restoredOf(third);
      expect(b.latest.restored).toMatchObject({ id: checkpointId, is_savepoint: false, external_path: `file:${chk}` });
      for (const id of [second, third]) expect((await cluster.flink(['cancel', id])).code).toBe(0);
    },
    TIMEOUT,
  );
});

describe('a user function that throws in a subtask', () => {
  const TASK = 'Source: words -> explode -> Sink: Sink (2/4)';
  let jobId: string;
  let result: RunResult;

  beforeAll(async () => {
    result = await run(['-p', '4', join(jobs, 'throws.ts')]);
    jobId = submittedJobId(result.stdout);
  }, TIMEOUT);

  it('an attached flink run says in one line which task and subtask failed, and exits 1', () => {
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Job with JobID ${jobId} failed: ${re(TASK)}: Error: boom in subtask 2 at w\\d+ \\(not restarted: the restart strategy is none\\)$`));
  });

  it("GET /jobs/:id/exceptions gives the task, the error's class and the user's stack", async () => {
    const exceptions = await probe.get<{
      'root-exception': string;
      exceptionHistory: { entries: { exceptionName: string; stacktrace: string; taskName: string | null; location: null; endpoint: null; timestamp: number }[] };
    }>(`/jobs/${jobId}/exceptions`);
    const entries = exceptions!.exceptionHistory.entries;
    expect(entries).toHaveLength(1);
    const entry = entries[0]!;
    expect(entry).toMatchObject({ exceptionName: 'Error', taskName: TASK, location: null, endpoint: null });
    expect(entry.stacktrace).toMatch(/^Error: boom in subtask 2 at w\d+\n\s+at explode \(.*throws\.ts:3:\d+\)\n/);
    expect(exceptions!['root-exception']).toBe(entry.stacktrace);
  });

  it("the JobManager's log has the stack", () => {
    const log = readFileSync(join(cluster.workDir, 'log', 'jobmanager.log'), 'utf8');
    expect(log).toMatch(new RegExp(`job ${jobId}: an attempt failed: ${re(TASK)}: Error: boom in subtask 2 at w\\d+\\nError: boom in subtask 2 at w\\d+\\n\\s+at explode \\(.*throws\\.ts:3:\\d+\\)`));
  });

  it('flink run --verbose prints the stack after the line', async () => {
    const verbose = await run(['--verbose', '-p', '4', join(jobs, 'throws.ts')]);
    expect(verbose.code).toBe(1);
    const [line, ...stack] = verbose.stderr.trimEnd().split('\n');
    expect(line).toContain(`${TASK}: Error: boom in subtask 2 at w`);
    expect(stack[0]).toMatch(/^Error: boom in subtask 2 at w\d+$/);
    expect(stack[1]).toMatch(/^\s+at explode \(.*throws\.ts:3:\d+\)$/);
  });
});

describe('a checkpoint that expires, with no failed checkpoint tolerated', () => {
  let jobId: string;
  let failed: JobInfo;

  beforeAll(async () => {
    const started = await run([
      '-d', '-p', '1', '-D', 'execution.checkpointing.interval=300ms', '-D', 'execution.checkpointing.timeout=2s', '-D', 'restart-strategy.type=none', join(jobs, 'slow-snapshot.ts'),
    ]);
    expect(started.code, started.stderr).toBe(0);
    jobId = submittedJobId(started.stdout);
    failed = await probe.waitForState(jobId, ['FAILED', 'FINISHED', 'CANCELED'], 120_000);
  }, TIMEOUT);

  it("GET /jobs/:id/checkpoints gives a failed checkpoint's failure_message as Flink's reason, with why", async () => {
    const stats = await probe.get<{ counts: { failed: number }; latest: { failed: { failure_message: string } | null }; history: { status: string; failure_message?: string }[] }>(`/jobs/${jobId}/checkpoints`);
    const expired = 'Checkpoint expired before completing: it took longer than execution.checkpointing.timeout (2 s).';
    expect(stats!.latest.failed?.failure_message).toBe(expired);
    // That one only: no checkpoint is triggered once it failed the attempt, however long its
    // subtask takes to end (it is in the 3 s snapshot). Before, one more expired every 2 s until
    // the slot was terminated after its 30 s stop grace: 15 in the history.
    expect(stats!.counts.failed).toBe(1);
    expect(stats!.history.map((c) => `${c.status}: ${c.failure_message}`)).toEqual([`FAILED: ${expired}`]);
  });

  it("the job fails with Flink's tolerable-failure text, the latest failure, and where the history is", () => {
    expect(failed.state).toBe('FAILED');
    // The id is the first checkpoint once every subtask runs: ticks before take ids too, as in Flink.
    expect(failed['failure-cause']).toMatch(
      new RegExp(
        `^${re('Exceeded checkpoint tolerable failure threshold. The latest checkpoint failed due to: Checkpoint ')}\\d+${re(
          ` expired before completing: it took longer than execution.checkpointing.timeout (2 s). View the checkpoint history (GET /jobs/${jobId}/checkpoints, or the web dashboard's checkpoints page) to find out why continuous checkpoints failed. (not restarted: the restart strategy is none)`,
        )}$`,
      ),
    );
  });
});

describe('the paths and fields a Flink user\'s tools call', () => {
  let jobId: string;

  beforeAll(async () => {
    const started = await run(['-d', ...CHECKPOINTS, '-p', '2', join(jobs, 'endless.ts')]);
    expect(started.code, started.stderr).toBe(0);
    jobId = submittedJobId(started.stdout);
    await probe.waitForCheckpoints(jobId, 3, undefined, 120_000);
  }, TIMEOUT);

  afterAll(async () => {
    await cluster.flink(['cancel', jobId]);
  }, TIMEOUT);

  it('GET /config, /jobmanager/config and /taskmanagers answer in Flink\'s shapes', async () => {
    const config = await probe.get<Record<string, unknown>>('/config');
    expect(config).toMatchObject({ 'refresh-interval': 3000, 'flink-version': '0.1.0', features: { 'web-submit': false, 'web-cancel': true, 'web-rescale': false, 'web-history': false } });
    expect(config?.['flink-revision']).toMatch(/^\S+ @ \S+$/);
    const jobManager = await probe.get<{ key: string; value: string }[]>('/jobmanager/config');
    expect(jobManager).toContainEqual({ key: 'rest.port', value: String(cluster.port) });
    // The local TaskManager (taskmanager.count's default), and one started for an earlier job at -p 4
    // if it has not yet been idle for resourcemanager.taskmanager-timeout; 2 slots each, the job holds 2.
    const tms = (await probe.get<{ taskmanagers: { slotsNumber: number; freeSlots: number; jmxPort: number }[] }>('/taskmanagers'))!.taskmanagers;
    expect(tms.length).toBeGreaterThanOrEqual(1);
    for (const tm of tms) expect(tm).toMatchObject({ slotsNumber: 2, jmxPort: -1 });
    expect(tms.reduce((n, t) => n + t.freeSlots, 0)).toBe(2 * tms.length - 2);
    expect(await probe.get('/overview')).toMatchObject({ taskmanagers: tms.length, 'slots-total': 2 * tms.length, 'slots-available': 2 * tms.length - 2 });
  });

  it("GET /jobs/:id/checkpoints/config names the job's state backend as Flink's class", async () => {
    expect(await probe.get(`/jobs/${jobId}/checkpoints/config`)).toMatchObject({ state_backend: 'HashMapStateBackend', checkpoint_storage: 'FileSystemCheckpointStorage' });
  });

  it("names vertices as Flink does, one per chain, and gives the plan and each vertex's subtasks", async () => {
    const job = await probe.get<{ vertices: { id: string; name: string; parallelism: number }[]; 'status-counts': Record<string, number> }>(`/jobs/${jobId}`);
    const vertices = job!.vertices;
    expect(vertices.map((v) => [v.name, v.parallelism])).toEqual([
      ['Source: words -> Map', 2],
      ['Keyed Reduce -> Sink: Sink', 2],
    ]);
    expect(job!['status-counts']).toMatchObject({ RUNNING: 4, FAILED: 0 });
    const source = vertices[0]!;
    const counts = vertices[1]!;
    expect(await probe.get(`/jobs/${jobId}/plan`)).toEqual({
      plan: {
        jid: jobId,
        name: 'endless',
        type: 'STREAMING',
        nodes: [
          { id: source.id, parallelism: 2, operator: '', operator_strategy: '', description: 'Source: words -> Map', optimizer_properties: {} },
          { id: counts.id, parallelism: 2, operator: '', operator_strategy: '', description: 'Keyed Reduce -> Sink: Sink', inputs: [{ num: 0, id: source.id, ship_strategy: 'HASH', exchange: 'pipelined_bounded' }], optimizer_properties: {} },
        ],
      },
    });
    const written = await waitFor('both source subtasks to have written records', async () => {
      const details = await probe.get<{ id: string; name: string; subtasks: { subtask: number; status: string; metrics: { 'read-records': number; 'write-records': number } }[] }>(`/jobs/${jobId}/vertices/${source.id}`);
      return details?.subtasks.every((s) => s.metrics['write-records'] > 0) === true ? details : undefined;
    });
    expect(written).toMatchObject({ id: source.id, name: 'Source: words -> Map', parallelism: 2 });
    expect(written.subtasks.map((s) => [s.subtask, s.status, s.metrics['read-records']])).toEqual([
      [0, 'RUNNING', 0],
      [1, 'RUNNING', 0],
    ]);
    const unknown = await fetch(`${cluster.url}/jobs/${jobId}/vertices/${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
  });

  it('GET /jobs/overview counts tasks per state', async () => {
    const overview = await probe.get<{ jobs: { jid: string; tasks: Record<string, number> }[] }>('/jobs/overview');
    expect(overview!.jobs.find((j) => j.jid === jobId)?.tasks).toEqual({ total: 4, created: 0, scheduled: 0, deploying: 0, running: 4, finished: 0, canceling: 0, canceled: 0, failed: 0, reconciling: 0, initializing: 0 });
  });

  it('checkpoint statistics have a summary, and each checkpoint of the history its details', async () => {
    type Summary = { min: number; max: number; avg: number; p50: number; p90: number; p95: number; p99: number; p999: number };
    const stats = await probe.get<{
      counts: { completed: number };
      summary: { checkpointed_size: Summary; state_size: Summary; end_to_end_duration: Summary };
      history: { id: number; status: string; trigger_timestamp: number; latest_ack_timestamp: number; checkpointed_size: number; tasks: object }[];
    }>(`/jobs/${jobId}/checkpoints`);
    expect(Object.keys(stats!.summary).sort()).toEqual(['checkpointed_size', 'end_to_end_duration', 'state_size']);
    for (const s of Object.values(stats!.summary)) {
      expect(Object.keys(s).sort()).toEqual(['avg', 'max', 'min', 'p50', 'p90', 'p95', 'p99', 'p999']);
      expect(s.min).toBeLessThanOrEqual(s.avg);
      expect(s.avg).toBeLessThanOrEqual(s.max);
      expect(s.p50).toBeGreaterThanOrEqual(s.min);
      expect(s.p999).toBeLessThanOrEqual(s.max);
    }
    expect(stats!.summary.state_size.min).toBeGreaterThan(0);
    const latest = stats!.history.find((c) => c.status === 'COMPLETED')!;
    // As Flink's entries: every subtask of the job (two chains at parallelism 2) acknowledged it.
    expect(latest).toMatchObject({ num_subtasks: 4, num_acknowledged_subtasks: 4 });
    // Flink builds the history's entries without per-task statistics, and the details with them.
    expect(latest.tasks).toEqual({});
    type Task = { id: number; status: string; latest_ack_timestamp: number; checkpointed_size: number; state_size: number; num_subtasks: number; num_acknowledged_subtasks: number };
    const details = await probe.get<{ tasks: Record<string, Task> }>(`/jobs/${jobId}/checkpoints/details/${latest.id}`);
    const job = await probe.get<{ vertices: { id: string }[] }>(`/jobs/${jobId}`);
    expect({ ...details, tasks: {} }).toEqual(latest);
    expect(Object.keys(details!.tasks).sort()).toEqual(job!.vertices.map((v) => v.id).sort());
    for (const task of Object.values(details!.tasks)) {
      expect(Object.keys(task).sort()).toEqual(['alignment_buffered', 'checkpointed_size', 'end_to_end_duration', 'id', 'latest_ack_timestamp', 'num_acknowledged_subtasks', 'num_subtasks', 'persisted_data', 'processed_data', 'state_size', 'status']);
      expect(task).toMatchObject({ id: latest.id, status: 'COMPLETED', num_subtasks: 2, num_acknowledged_subtasks: 2 });
      expect(task.latest_ack_timestamp).toBeGreaterThanOrEqual(latest.trigger_timestamp);
      expect(task.latest_ack_timestamp).toBeLessThanOrEqual(latest.latest_ack_timestamp);
    }
    // The checkpoint wrote what its vertices' subtasks wrote.
    expect(Object.values(details!.tasks).reduce((sum, t) => sum + t.checkpointed_size, 0)).toBe(latest.checkpointed_size);
    const gone = await fetch(`${cluster.url}/jobs/${jobId}/checkpoints/details/999999`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ errors: ['Could not find checkpointing statistics for checkpoint 999999.'] });
  });

  it("each vertex's subtasks of a completed checkpoint, with Flink's checkpoint_duration sync and async", async () => {
    const stats = await probe.get<{ history: { id: number; status: string; trigger_timestamp: number }[] }>(`/jobs/${jobId}/checkpoints`);
    const latest = stats!.history.find((c) => c.status === 'COMPLETED')!;
    const job = await probe.get<{ vertices: { id: string }[] }>(`/jobs/${jobId}`);
    for (const vertex of job!.vertices) {
      const details = await probe.get<{
        id: number;
        num_subtasks: number;
        num_acknowledged_subtasks: number;
        summary: { checkpoint_duration: { sync: { max: number }; async: { max: number } } };
        subtasks: { index: number; status: string; ack_timestamp: number; state_size: number; checkpoint: { sync: number; async: number } }[];
      }>(`/jobs/${jobId}/checkpoints/details/${latest.id}/subtasks/${vertex.id}`);
      expect(details).toMatchObject({ id: latest.id, num_subtasks: 2, num_acknowledged_subtasks: 2 });
      expect(details!.subtasks.map((s) => [s.index, s.status])).toEqual([
        [0, 'completed'],
        [1, 'completed'],
      ]);
      for (const s of details!.subtasks) {
        expect(s.checkpoint.sync).toBeGreaterThanOrEqual(0);
        expect(s.checkpoint.async).toBeGreaterThanOrEqual(0);
        expect(s.ack_timestamp).toBeGreaterThanOrEqual(latest.trigger_timestamp);
        expect(s.state_size).toBeGreaterThan(0);
      }
      expect(details!.summary.checkpoint_duration.sync.max).toBe(Math.max(...details!.subtasks.map((s) => s.checkpoint.sync)));
    }
    const unknown = await fetch(`${cluster.url}/jobs/${jobId}/checkpoints/details/${latest.id}/subtasks/${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
  });
});
