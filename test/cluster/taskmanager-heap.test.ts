/**
 * A TaskManager's slots share its `taskmanager.memory.task.heap.size`: a job whose keyed state on
 * the heap outgrows its slot fails (restart strategy none) in one line that says the slot ran out
 * of memory, with the limit and what to do, and the TaskManager itself lives on with its slot free.
 * A run's own `-D taskmanager.memory.task.heap.size` cannot resize the TaskManager: refused in one line,
 * as is any other key that only a starting cluster reads, when the run's value is not the cluster's.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { outOfMemory } from '../../src/engine/cluster/taskmanager/task-manager.ts';
import { ClusterProbe, waitFor } from '../support/cluster-probes.ts';
import { manyKeysJobSource } from '../support/many-keys-job.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster } from '../support/test-cluster.ts';

const HEAP_MB = 64;
let cluster: TestCluster;
let probe: ClusterProbe;
let job: string;

beforeAll(async () => {
  cluster = await startTestCluster({ defines: ['-D', 'taskmanager.count=1', '-D', 'taskmanager.numberOfTaskSlots=1', '-D', `taskmanager.memory.task.heap.size=${HEAP_MB}m`] });
  probe = new ClusterProbe(cluster.url);
  job = join(cluster.scratch, 'many-keys.mts');
  await writeFile(job, manyKeysJobSource(join(ROOT, 'src', 'index.ts')));
  await waitFor('the TaskManager', async () => ((await probe.get<{ taskmanagers: number }>('/overview'))?.taskmanagers === 1 ? true : undefined), 60_000);
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

it('a slot that runs out of heap fails the job in one line naming the limit; the TaskManager lives on', async () => {
  const result = await runFlink(['run', ...cluster.defines, '-D', 'restart-strategy.type=none', '-D', 'state.backend.type=hashmap', job, '200000', join(cluster.scratch, 'out'), '1000'], { cwd: cluster.scratch });
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain(`: ${outOfMemory(HEAP_MB)} (not restarted: the restart strategy is none)\n`);
  expect(result.stderr).toMatch(/task slot 0 in TaskManager \S+: ran out of memory with a heap limit of 64 MB/);
  expect(result.stderr).not.toMatch(/FATAL ERROR|Native stack/u);
  const overview = await probe.get<{ taskmanagers: number; 'slots-available': number }>('/overview');
  expect(overview).toMatchObject({ taskmanagers: 1, 'slots-available': 1 });
}, 90_000);

it("refuses a run's own task heap in one line: the TaskManager's was set when it started", async () => {
  const result = await runFlink(['run', ...cluster.defines, '-D', 'taskmanager.memory.task.heap.size=128m', job, '10', join(cluster.scratch, 'out-128'), '10'], { cwd: cluster.scratch });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(
    /^.*taskmanager\.memory\.task\.heap\.size=128m on a run cannot resize this cluster's TaskManagers, whose heap is 64 MB from when they started: give it to 'flink cluster start -D taskmanager\.memory\.task\.heap\.size=\.\.\.' \(or to 'flink taskmanager -D taskmanager\.memory\.task\.heap\.size=\.\.\.' for TaskManagers you start yourself\)\.\n$/,
  );
  // The cluster's own value is no change: accepted (the job ran in the previous test's way).
  expect((await runFlink(['run', ...cluster.defines, '-D', 'taskmanager.memory.task.heap.size=64 mb', '-D', 'state.backend.type=hashmap', job, '10', join(cluster.scratch, 'out-64'), '10'], { cwd: cluster.scratch })).code).toBe(0);
}, 90_000);

it("refuses a run's own slot count in one line: the TaskManager's slots were set when it started", async () => {
  const result = await runFlink(['run', ...cluster.defines, '-D', 'taskmanager.numberOfTaskSlots=2', job, '10', join(cluster.scratch, 'out-slots-2'), '10'], { cwd: cluster.scratch });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(
    /^.*taskmanager\.numberOfTaskSlots=2 on a run cannot change the slots of this cluster's TaskManagers, which offer 1 each from when they started: give it to 'flink cluster start -D taskmanager\.numberOfTaskSlots=\.\.\.' \(or 'flink taskmanager'\); a job takes as many slots as its highest parallelism \(-p\)\.\n$/,
  );
  // The cluster's own value is no change: accepted.
  expect((await runFlink(['run', ...cluster.defines, '-D', 'taskmanager.numberOfTaskSlots=1', '-D', 'state.backend.type=hashmap', job, '10', join(cluster.scratch, 'out-slots-1'), '10'], { cwd: cluster.scratch })).code).toBe(0);
}, 90_000);

it.each([
  ['process.jobmanager.working-dir', '/tmp/tsflink-other-working-dir', (c: TestCluster) => c.workDir],
  ['heartbeat.timeout', '1min', () => '50 s'],
  ['cluster.evenly-spread-out-slots', 'true', () => 'false'],
  ['blob.storage.directory', '/tmp/tsflink-other-blobs', (c: TestCluster) => join(c.scratch, 'tm-blobs')],
  ['taskmanager.count', '3', () => '1'],
] as const)("refuses a run's own %s in one line: it takes effect only when a cluster starts", async (key, value, current) => {
  const result = await runFlink(['run', '-d', ...cluster.defines, '-D', `${key}=${value}`, job, '10', join(cluster.scratch, 'out-refused'), '10'], { cwd: cluster.scratch });
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toContain(
    `${key}=${value} on a run cannot change this cluster, which is already running (its ${key} is ${current(cluster)}): the key takes effect only when a cluster starts. Restart it with 'flink cluster stop' then 'flink cluster start -D ${key}=${value}', or leave the key out of the run.\n`,
  );
}, 90_000);

it("accepts a cluster-only key a run gives the cluster's own value, in any spelling: it changes nothing", async () => {
  const result = await runFlink(['run', ...cluster.defines, '-D', 'heartbeat.timeout=50 s', '-D', 'cluster.evenly-spread-out-slots=FALSE', '-D', 'state.backend.type=hashmap', job, '10', join(cluster.scratch, 'out-same'), '10'], { cwd: cluster.scratch });
  expect(result.code, result.stderr).toBe(0);
}, 90_000);
