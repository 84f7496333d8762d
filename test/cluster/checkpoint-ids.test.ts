/**
 * A checkpoint id names one moment of a job's history and is never handed out twice, as Flink's
 * JobManager-held counter guarantees: the JobManager, whose JobMaster thread holds the job's
 * checkpoint coordinator, SIGKILLed while it writes checkpoint n's `_metadata` (the fault point
 * fires in the process that writes it: the JobManager's, as in Flink) leaves chk-n without it, and
 * the JobManager started again must go on past n instead of writing a second, different chk-n into
 * the same directory (where a stray file of the first one would pass for part of it).
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
  process.env[FAULT_FILE_ENV] = faultFile; // inherited by the JobManager and its TaskManagers
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
});

afterAll(async () => {
  await cluster?.stop();
  rmSync(faultFile, { force: true });
});

it('the JobManager killed while writing checkpoint n\'s _metadata is followed by checkpoints past n, never a second chk-n', async () => {
  const out = join(cluster.scratch, 'out');
  const release = join(cluster.scratch, 'release');
  const options = ['-D', 'execution.checkpointing.interval=200ms', '-D', 'execution.checkpointing.num-retained=10', '-d', '-p', '2'];
  const submitted = await runFlink(['run', ...cluster.defines, ...options, JOB, '--output', out, '--records', '2000', '--hold-until', release], { cwd: cluster.scratch });
  expect(submitted.code, submitted.stderr).toBe(0);
  const jobId = submittedJobId(submitted.stdout);
  await probe.waitForCheckpoints(jobId, 2);
  const jobManager = cluster.jobManagerPid()!;

  // The fault point kills the process that reaches it: the JobManager, since its JobMaster thread
  // writes _metadata (the local TaskManagers, its children, then end as orphans).
  writeFileSync(faultFile, 'snapshot-metadata');
  await waitFor('the JobManager to die writing _metadata', async () => !alive(jobManager), 60_000, 20);
  const started = await cluster.flink(['cluster', 'start']);
  expect(started.code, started.stderr).toBe(0);
  const checkpoints = join(cluster.workDir, 'checkpoints', jobId);
  const unfinished = readdirSync(checkpoints)
    .filter((name) => /^chk-\d+$/.test(name) && !existsSync(join(checkpoints, name, '_metadata')))
    .map((name) => Number(name.slice(4)));
  const killedAt = Math.max(...unfinished);
  expect(killedAt, `a checkpoint directory without _metadata in ${readdirSync(checkpoints).join(' ')}`).toBeGreaterThan(0);

  const after = await waitFor(
    `a checkpoint completed by the new JobManager past ${killedAt}`,
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
