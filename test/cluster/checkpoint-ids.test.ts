/**
 * A checkpoint id names one moment of a job's history and is never handed out twice, as Flink's
 * JobManager-held counter guarantees: a worker SIGKILLed while it writes checkpoint n leaves
 * files in chk-n, and the worker that takes over must go on past n instead of writing a second,
 * different chk-n into the same directory (where a damaged or stray file of the first one would
 * pass for part of it).
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FAULT_FILE_ENV } from '../../src/engine/runtime/fault-points.ts';
import { type CheckpointStats, ClusterProbe, alive, waitFor } from '../support/cluster-probes.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const faultFile = join(tmpdir(), `tsflink-ids-fault-${process.pid}`);

let cluster: TestCluster;
let probe: ClusterProbe;

beforeAll(async () => {
  process.env[FAULT_FILE_ENV] = faultFile; // inherited by the JobManager and its workers
  // Jobs in their workers' own slots: the fault point kills the process that writes the checkpoint and holds the counter (in a TaskManager it would kill only the slots' process).
  cluster = await startTestCluster({ defines: ['-D', 'taskmanager.count=0'] });
  probe = new ClusterProbe(cluster.url);
});

afterAll(async () => {
  await cluster?.stop();
  rmSync(faultFile, { force: true });
});

it('a worker killed while writing checkpoint n is followed by checkpoints past n, never a second chk-n', async () => {
  const out = join(cluster.scratch, 'out');
  const release = join(cluster.scratch, 'release');
  const options = ['-D', 'execution.checkpointing.interval=200ms', '-D', 'execution.checkpointing.num-retained=10', '-d', '-p', '2'];
  const submitted = await runFlink(['run', ...cluster.defines, ...options, JOB, '--output', out, '--records', '2000', '--hold-until', release], { cwd: cluster.scratch });
  expect(submitted.code, submitted.stderr).toBe(0);
  const jobId = submittedJobId(submitted.stdout);
  await probe.waitForCheckpoints(jobId, 2);
  const first = cluster.workerPid(jobId)!;

  writeFileSync(faultFile, 'snapshot-data');
  await waitFor('the worker to die writing a snapshot', async () => !alive(first), 60_000, 20);
  const checkpoints = join(cluster.workDir, 'checkpoints', jobId);
  const unfinished = readdirSync(checkpoints)
    .filter((name) => /^chk-\d+$/.test(name) && !existsSync(join(checkpoints, name, '_metadata')))
    .map((name) => Number(name.slice(4)));
  const killedAt = Math.max(...unfinished);
  expect(killedAt, `a checkpoint directory without _metadata in ${readdirSync(checkpoints).join(' ')}`).toBeGreaterThan(0);

  const after = await waitFor(
    `a checkpoint completed by the next worker past ${killedAt}`,
    async () => {
      const stats = await probe.get<CheckpointStats>(`/jobs/${jobId}/checkpoints`);
      const id = stats?.latest.completed?.id;
      return id !== undefined && id > killedAt ? id : undefined;
    },
    90_000,
  );
  expect(after).toBeGreaterThan(killedAt);
  expect(existsSync(join(checkpoints, `chk-${killedAt}`, '_metadata')), `chk-${killedAt} was written again`).toBe(false);
  writeFileSync(release, '');
  await probe.waitForState(jobId, ['FINISHED'], 90_000);
}, 240_000);
