/**
 * A damaged checkpoint on a real cluster: the JobManager is SIGKILLed, a checkpoint file is
 * flipped or truncated on disk, and the JobManager is started again. Recovery must find the
 * damage before restoring anything, say which file, and fall back to the previous retained
 * checkpoint; with every retained checkpoint damaged the job must fail, saying so, instead of
 * starting empty.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { checkpointsOnDisk, flipByte, largestDataFile, truncateToHalf } from '../../scripts/chaos/damage-checkpoint.ts';
import { type CheckpointStats, ClusterProbe, type JobInfo, alive, committedLines, compareOutput, waitFor } from '../support/cluster-probes.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 60_000;
const SEED = 7;
const TIMEOUT = 90_000;

let cluster: TestCluster;
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
});

afterAll(async () => {
  await cluster?.stop();
});

/** The job's input ends only once this file exists: the kill finds it running on any machine. */
const endOfInput = (out: string): string => `${out}.end-of-input`;

async function submit(out: string): Promise<string> {
  const options = ['-D', 'execution.checkpointing.interval=300ms', '-D', 'execution.checkpointing.num-retained=3', '-d', '-p', '2'];
  const args = ['--output', out, '--records', String(RECORDS), '--rate', '8000', '--seed', String(SEED), '--hold-until', endOfInput(out)];
  const result = await runFlink(['run', ...cluster.defines, ...options, JOB, ...args], { cwd: cluster.scratch });
  expect(result.code, result.stderr).toBe(0);
  return submittedJobId(result.stdout);
}

/** Kills the JobManager (the job's coordinator goes with it) and waits until it is gone. */
async function killJobManager(_jobId: string): Promise<void> {
  const jobManager = cluster.jobManagerPid()!;
  process.kill(jobManager, 'SIGKILL');
  await waitFor('the JobManager to be gone', async () => !alive(jobManager), 5_000, 20);
}

const checkpointsOf = (jobId: string): { id: number; dir: string }[] => checkpointsOnDisk(join(cluster.workDir, 'checkpoints', jobId));

const logOf = (): string => readFileSync(join(cluster.workDir, 'log', 'jobmanager.log'), 'utf8');

describe('recovery from a damaged checkpoint', () => {
  it(
    'falls back to the previous retained checkpoint, naming the damaged file, and loses nothing',
    async () => {
      const out = join(cluster.scratch, 'out-fallback');
      const id = await submit(out);
      await probe.waitForCheckpoints(id, 3, out);
      await killJobManager(id);
      const [latest, previous] = checkpointsOf(id);
      expect(previous, 'two retained checkpoints').toBeDefined();
      const damaged = largestDataFile(latest!.dir);
      flipByte(damaged);

      const started = await cluster.flink(['cluster', 'start']);
      expect(started.code, started.stderr).toBe(0);
      writeFileSync(endOfInput(out), '');
      await probe.waitForState(id, ['FINISHED']);

      const log = logOf();
      expect(log).toContain(`checkpoint ${latest!.id} at ${latest!.dir} is damaged: ${damaged}`);
      expect(log).toContain(`falling back to checkpoint ${previous!.id}`);
      const restored = (await probe.get<CheckpointStats>(`/jobs/${id}/checkpoints`))?.latest.restored;
      // The fallback is the restore point of the first attempt after the restart; later ones are newer.
      expect(restored?.id).toBeGreaterThanOrEqual(previous!.id);
      const comparison = compareOutput(await committedLines(out), expectedTotals(generatedOrders(RECORDS, SEED)));
      // Windows that fired between the two checkpoints were committed and fire again: re-emitted,
      // never lost or changed.
      expect({ lost: comparison.lost, mismatched: comparison.mismatched }).toEqual({ lost: 0, mismatched: 0 });
      console.log(`fallback from checkpoint ${latest!.id} to ${previous!.id}: ${comparison.duplicated} re-emitted lines`);
    },
    TIMEOUT,
  );

  it(
    'fails the job, naming every damaged checkpoint, when none of the retained ones is intact',
    async () => {
      const out = join(cluster.scratch, 'out-all-damaged');
      const id = await submit(out);
      await probe.waitForCheckpoints(id, 2, out);
      await killJobManager(id);
      const retained = checkpointsOf(id);
      expect(retained.length).toBeGreaterThanOrEqual(2);
      const damaged = retained.map((c, i) => {
        const file = largestDataFile(c.dir);
        if (i % 2 === 0) truncateToHalf(file);
        else flipByte(file);
        return file;
      });
      const before = await committedLines(out);

      const started = await cluster.flink(['cluster', 'start']);
      expect(started.code, started.stderr).toBe(0);
      const failed = await waitFor(`job ${id} to fail`, async () => {
        const job = await probe.get<JobInfo>(`/jobs/${id}`);
        return job?.state === 'FAILED' ? job : undefined;
      });
      const cause = failed['failure-cause'] ?? '';
      expect(cause).toContain('Cannot restore: every retained checkpoint is damaged');
      for (const [i, c] of retained.entries()) expect(cause).toContain(`checkpoint ${c.id} (${damaged[i]}`);
      expect(cause).toContain("'flink run -s <path>'");
      // Nothing ran: the output is what was committed before the JobManager died.
      expect(await committedLines(out)).toEqual(before);
      const list = await cluster.flink(['list', '-a']);
      expect(list.stdout).toContain(`${id} : `);
      expect(list.stdout).toMatch(new RegExp(`${id} : .*\\(FAILED\\)`));
    },
    TIMEOUT,
  );
});
