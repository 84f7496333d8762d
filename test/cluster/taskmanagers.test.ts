/**
 * A cluster of a JobManager and two TaskManager processes (`taskmanager.count=2`), through the
 * real binary: TaskManagers register and heartbeat, REST reports them and their slots in
 * Flink's shapes, a job's subtasks spread over both (TCP between them), a SIGKILLed TaskManager
 * fails the attempt and the job finishes exactly once in the slots left (and the JobManager
 * starts a new TaskManager), a job needing more slots than exist fails naming both numbers, and
 * a TaskManager started by hand with `flink taskmanager` joins a cluster. A job's code reaches
 * the TaskManagers from the JobManager (its blob store), not from the user's directory.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { ClusterProbe, committedLines, waitFor } from '../support/cluster-probes.ts';
import { jobManagerBlobDirectory } from '../../src/engine/cluster/blob-store.ts';
import { bundleJob, bundleKey } from '../../src/engine/cluster/job-bundle.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { tempDir } from '../support/temp-dir.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
// As in failover.test.ts: enough orders that windows fire (and commit) before the input ends.
const RECORDS = 60_000;
const SEED = 42;
const TIMEOUT = 120_000;

interface TaskManagersInfo {
  readonly taskmanagers: readonly { readonly id: string; readonly slotsNumber: number; readonly freeSlots: number; readonly dataPort: number; readonly path: string }[];
}
interface Overview {
  readonly taskmanagers: number;
  readonly 'slots-total': number;
  readonly 'slots-available': number;
}

let cluster: TestCluster;
let probe: ClusterProbe;
/** `blob.storage.directory` of the TaskManagers: each caches job code in its own directory under it. */
let blobDir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  blobDir = await tempDir('tsflink-tm-blobs-');
  cluster = await startTestCluster({
    defines: ['-D', `blob.storage.directory=${blobDir.path}`, '-D', 'taskmanager.count=2', '-D', 'slotmanager.number-of-slots.max=4', '-D', 'cluster.evenly-spread-out-slots=true', '-D', 'heartbeat.interval=200ms', '-D', 'heartbeat.timeout=3s', '-D', 'taskmanager.network.heartbeat-timeout=3s'],
  });
  probe = new ClusterProbe(cluster.url);
  await waitFor('two TaskManagers to register', async () => ((await probe.get<Overview>('/overview'))?.taskmanagers === 2 ? true : undefined), 60_000);
}, TIMEOUT);

afterAll(async () => {
  await cluster?.stop();
  await blobDir?.remove();
});

describe('a cluster with two TaskManagers', () => {
  it('reports its TaskManagers and slots in Flink\'s shapes', async () => {
    const overview = await probe.get<Overview>('/overview');
    expect(overview).toMatchObject({ taskmanagers: 2, 'slots-total': 4, 'slots-available': 4 });
    const tms = (await probe.get<TaskManagersInfo>('/taskmanagers'))!.taskmanagers;
    expect(tms).toHaveLength(2);
    for (const tm of tms) {
      expect(tm).toMatchObject({ slotsNumber: 2, freeSlots: 2, jmxPort: -1, blocked: false });
      expect(tm.path).toBe(`tsflink://127.0.0.1:${tm.dataPort}`);
    }
  });

  it(
    'runs a job over both, and after a SIGKILLed TaskManager finishes it exactly once in the slots left',
    async () => {
      const out = join(cluster.scratch, 'out-tm-kill');
      const release = `${out}.end-of-input`;
      const submitted = await runFlink(
        ['run', ...cluster.defines, '-d', '-p', '2', '-D', 'execution.checkpointing.interval=300ms', '-D', 'restart-strategy.type=fixed-delay', '-D', 'restart-strategy.fixed-delay.delay=0 ms', '-D', 'restart-strategy.fixed-delay.attempts=5',
          JOB, '--output', out, '--records', String(RECORDS), '--rate', '8000', '--seed', String(SEED), '--hold-until', release],
        { cwd: cluster.scratch },
      );
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = submittedJobId(submitted.stdout);
      await probe.waitForCheckpoints(id, 2, out);
      // Spread out: one slot of each TaskManager is taken.
      const tms = (await probe.get<TaskManagersInfo>('/taskmanagers'))!.taskmanagers;
      expect(tms.map((t) => t.freeSlots)).toEqual([1, 1]);
      const [victim] = cluster.taskManagerPids();
      process.kill(victim!, 'SIGKILL');
      writeFileSync(release, '');
      const job = await probe.waitForState(id, ['FINISHED'], TIMEOUT);
      expect(job['num-restarts']).toBeGreaterThanOrEqual(1);
      const expected = expectedTotals(generatedOrders(RECORDS, SEED));
      expect((await committedLines(out)).sort()).toEqual([...expected].sort());
      // The JobManager replaced the lost TaskManager.
      await waitFor('a new TaskManager', async () => (cluster.taskManagerPids().length >= 3 && (await probe.get<Overview>('/overview'))?.taskmanagers === 2 ? true : undefined), 30_000);
    },
    TIMEOUT,
  );

  it(
    'fails a job that needs more slots than the cluster has after slot.request.timeout, naming both numbers and the cap that stopped more TaskManagers from starting',
    async () => {
      const result = await runFlink(['run', ...cluster.defines, '-D', 'slot.request.timeout=1s', '-p', '5', JOB, '--output', join(cluster.scratch, 'out-too-wide'), '--records', '10'], { cwd: cluster.scratch });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Could not acquire the minimum required resources: job [0-9a-f]{32} needs 5 task slots \(its highest parallelism\), and the cluster has 4 \(\d free\) in 2 TaskManagers after waiting 1 s \(slot\.request\.timeout\)\. Local TaskManagers are started for waiting jobs only up to slotmanager\.number-of-slots\.max \(4\): raise it, start more TaskManagers \(flink taskmanager\), or lower the parallelism\. /);
    },
    TIMEOUT,
  );

  it(
    "runs a job whose file is nowhere on the cluster's machine: the TaskManagers load the bundled code submitted with it",
    async () => {
      // A job in a directory of its own, with a local import, bundled as `flink run` bundles it, then deleted.
      const dir = join(cluster.scratch, 'gone-job');
      await mkdir(join(dir, 'lib'), { recursive: true });
      await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
      await writeFile(join(dir, 'lib', 'label.ts'), 'export const label = (n: number): string => `bundled ${n * 3}`;\n');
      await writeFile(
        join(dir, 'job.ts'),
        [
          "import { PrintSink, StreamExecutionEnvironment } from 'tsflink';",
          "import { label } from './lib/label.ts';",
          'export default (env: StreamExecutionEnvironment, args: string[]): void => {',
          "  if (!(env instanceof StreamExecutionEnvironment)) throw new Error('the job sees another copy of tsflink than the runtime');",
          '  env.fromElements(...args.map(Number)).rebalance().map(label).setParallelism(2).sinkTo(new PrintSink<string>()).setParallelism(2);',
          '};',
          '',
        ].join('\n'),
      );
      const jobBundle = await bundleJob(join(dir, 'job.ts'));
      await rm(dir, { recursive: true });
      const response = await fetch(`${cluster.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jobFile: join(dir, 'job.ts'), jobBundle, programArgs: ['1', '2', '3', '4'], parallelism: 2 }),
      });
      expect(response.status).toBe(202);
      const { jobid } = (await response.json()) as { jobid: string };
      expect(await probe.waitForState(jobid, ['FINISHED'])).toMatchObject({ state: 'FINISHED' });
      const printed = readdirSync(join(cluster.workDir, 'log'))
        .filter((f) => f.startsWith('taskmanager-'))
        .flatMap((f) => readFileSync(join(cluster.workDir, 'log', f), 'utf8').split('\n'))
        .filter((l) => l.includes('bundled '))
        .map((l) => l.replace(/^.*\d> /, ''))
        .sort();
      expect(printed).toEqual(['bundled 12', 'bundled 3', 'bundled 6', 'bundled 9']);
      // Both TaskManagers ran a slot (spread out), each from its own cached copy of the code.
      const holding = readdirSync(blobDir.path).filter((d) => readdirSync(join(blobDir.path, d)).includes(`${bundleKey(jobBundle)}.tsflink-job.mjs`));
      expect(holding.filter((d) => d.startsWith('tsflink-taskmanager-blobs-'))).toHaveLength(2);
      // The JobManager keeps the submitted code under blob.storage.directory too, in a directory named after its working directory.
      expect(holding.filter((d) => d.startsWith('tsflink-jobmanager-blobs-'))).toEqual([basename(jobManagerBlobDirectory(cluster.workDir, blobDir.path))]);
      expect(existsSync(join(cluster.workDir, 'blobs'))).toBe(false);
      expect((await probe.get<{ name: string }>(`/jobs/${jobid}`))?.name).toBe('job');
    },
    TIMEOUT,
  );

  it(
    'takes a TaskManager started by hand with flink taskmanager (finding the JobManager by jobmanager.rpc.address), and forgets it once it stops heartbeating',
    async () => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'flink.js'), 'taskmanager', ...cluster.defines, '-D', 'jobmanager.rpc.address=localhost', '-D', 'taskmanager.numberOfTaskSlots=3'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      try {
        await waitFor('the third TaskManager', async () => ((await probe.get<Overview>('/overview'))?.['slots-total'] === 7 ? true : undefined), 30_000);
        // Its own line may reach the pipe a moment after the JobManager counted it.
        await waitFor('its registration line', async () => (/TaskManager \S+ registered with the JobManager at http:\/\/localhost:\d+: 3 slots, control and data port \d+/.test(log) ? true : undefined), 10_000);
      } finally {
        child.kill('SIGKILL');
      }
      await waitFor('the JobManager to drop it', async () => ((await probe.get<Overview>('/overview'))?.['slots-total'] === 4 ? true : undefined), 30_000);
    },
    TIMEOUT,
  );
});
