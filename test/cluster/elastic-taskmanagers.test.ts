/**
 * The JobManager as Flink's active resource manager over its local TaskManagers: a cluster of one
 * TaskManager with 2 slots runs a job at -p 3 to the end, because the JobManager starts a second
 * TaskManager for the waiting slot request; once that one has held no slot for
 * `resourcemanager.taskmanager-timeout` it is stopped, and `taskmanager.count` (1) stay.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { ClusterProbe, alive, committedLines, waitFor } from '../support/cluster-probes.ts';
import { ROOT } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 2000;
const SEED = 7;
const TIMEOUT = 120_000;

let cluster: TestCluster;
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await startTestCluster({ defines: ['-D', 'taskmanager.count=1', '-D', 'taskmanager.numberOfTaskSlots=2', '-D', 'resourcemanager.taskmanager-timeout=1s', '-D', 'heartbeat.interval=200ms'] });
  probe = new ClusterProbe(cluster.url);
  await waitFor('the TaskManager', async () => ((await probe.get<{ taskmanagers: number }>('/overview'))?.taskmanagers === 1 ? true : undefined), 60_000);
}, TIMEOUT);

afterAll(async () => {
  await cluster?.stop();
});

it(
  'starts a second TaskManager for a job at -p 3 on one of 2 slots, and stops it once idle',
  async () => {
    const out = join(cluster.scratch, 'out-p3');
    const result = await cluster.flink(['run', '-p', '3', JOB, '--output', out, '--records', String(RECORDS), '--seed', String(SEED)]);
    expect(result.code, result.stderr).toBe(0);
    expect((await committedLines(out)).sort()).toEqual([...expectedTotals(generatedOrders(RECORDS, SEED))].sort());
    const log = (): string => readFileSync(join(cluster.workDir, 'log', 'jobmanager.log'), 'utf8');
    expect(log()).toMatch(/jobs wait for 3 task slots, 2 are free and 0 coming: starting 1 more TaskManager of 2 slots/);
    const [first, second] = cluster.taskManagerPids();
    expect(cluster.taskManagerPids()).toHaveLength(2);
    expect(log()).toContain(`started TaskManager 2 (pid ${second}); its log is log/taskmanager-2.log`);
    // Both held no slot once the job ended: the newest goes, taskmanager.count (1) stays.
    await waitFor('the idle TaskManager to stop', async () => (!alive(second!) ? true : undefined), 60_000);
    expect(log()).toMatch(new RegExp(`TaskManager 2 \\(\\S+, pid ${second}\\) held no slot for 1000 ms \\(resourcemanager\\.taskmanager-timeout\\): stopping it`));
    expect(alive(first!)).toBe(true);
    expect(await probe.get<{ taskmanagers: number; 'slots-total': number }>('/overview')).toMatchObject({ taskmanagers: 1, 'slots-total': 2 });
    // Not replaced: it was stopped on purpose.
    expect(cluster.taskManagerPids()).toHaveLength(2);
  },
  TIMEOUT,
);
