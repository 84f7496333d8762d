/**
 * A cluster that forgets finished jobs at once (jobstore.expiration-time: 0), through the real
 * binary: the commands that wait for a job's end find its id unknown once it ended, and say what
 * happened rather than that no such job ran.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const PER_USER_COUNT = join(ROOT, 'examples', 'per-user-count.ts');

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ defines: ['-D', 'jobstore.expiration-time=0'] });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

it('an attached run says the job ended and was forgotten before its end could be read, in one line, exit 1', async () => {
  const result = await cluster.flink(['run', PER_USER_COUNT, '10']);
  const id = submittedJobId(result.stdout);
  expect(result.stderr).toBe(
    `Job ${id} ended, but the cluster forgot it before its end state could be read (it keeps finished jobs for jobstore.expiration-time, at most jobstore.max-capacity of them): the JobManager's log says how it ended (log/jobmanager.log: 'job ${id} ... is forgotten'); keep finished jobs longer to see it here.\n`,
  );
  expect(result.code).toBe(1);
  // Where the line sends the user: the JobManager's log names the job's end state.
  expect(readFileSync(join(cluster.workDir, 'log', 'jobmanager.log'), 'utf8')).toContain(`job ${id} (per-user-count) FINISHED is forgotten: it ended longer ago than jobstore.expiration-time (0 s)`);
}, 60_000);
