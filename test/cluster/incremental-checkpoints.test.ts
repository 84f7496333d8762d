/**
 * Incremental checkpoints on a cluster with two TaskManager processes (the subtasks write their
 * shared files from slot threads of other processes than the job's coordinator), through the real
 * binary: `flink checkpoint` takes an incremental checkpoint (REST: checkpointed_size below
 * state_size) and `--full` a full one (equal), REST's `checkpointType: INCREMENTAL` is accepted,
 * `flink verify` and `flink inspect` read a checkpoint the engine wrote, and after a SIGKILLed
 * TaskManager the job restarts from an incremental checkpoint and finishes exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { ClusterProbe, committedLines, waitFor } from '../support/cluster-probes.ts';
import { ROOT } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 20_000;
const SEED = 7;
const TIMEOUT = 180_000;

interface Overview {
  readonly taskmanagers: number;
}
interface HistoryEntry {
  readonly id: number;
  readonly status: string;
  readonly state_size: number;
  readonly checkpointed_size: number;
  readonly external_path?: string;
}

let cluster: TestCluster;
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await startTestCluster({ defines: ['-D', 'taskmanager.count=2', '-D', 'cluster.evenly-spread-out-slots=true', '-D', 'heartbeat.interval=200ms', '-D', 'heartbeat.timeout=3s', '-D', 'taskmanager.network.heartbeat-timeout=3s'] });
  probe = new ClusterProbe(cluster.url);
  await waitFor('two TaskManagers to register', async () => ((await probe.get<Overview>('/overview'))?.taskmanagers === 2 ? true : undefined), 60_000);
}, TIMEOUT);

afterAll(async () => {
  await cluster?.stop();
});

async function checkpoint(jobId: string, full: boolean): Promise<HistoryEntry> {
  const result = await cluster.flink(['checkpoint', jobId, ...(full ? ['--full'] : [])]);
  expect(result.code, result.stderr).toBe(0);
  const match = new RegExp(`Checkpoint\\((FULL|CONFIGURED)\\) (\\d+) for job ${jobId} completed\\.\\n$`).exec(result.stdout);
  expect(match?.[1], result.stdout).toBe(full ? 'FULL' : 'CONFIGURED');
  const id = Number(match![2]);
  return waitFor(`checkpoint ${id} in the history`, async () => (await probe.get<{ history: HistoryEntry[] }>(`/jobs/${jobId}/checkpoints`))?.history.find((h) => h.id === id && h.status === 'COMPLETED'));
}

describe('incremental checkpoints on a cluster with TaskManagers', () => {
  it(
    'checkpoint and checkpoint --full, verify and inspect, and a restart from an incremental checkpoint after a lost TaskManager, exactly once',
    async () => {
      const out = join(cluster.scratch, 'out-incremental');
      const release = `${out}.end-of-input`;
      const submitted = await cluster.flink([
        'run', '-d', '-p', '2',
        '-D', 'execution.checkpointing.interval=300ms', '-D', 'execution.checkpointing.incremental=true', '-D', 'execution.checkpointing.num-retained=1000', '-D', 'state.backend.type=rocksdb',
        '-D', 'restart-strategy.type=fixed-delay', '-D', 'restart-strategy.fixed-delay.delay=0 ms', '-D', 'restart-strategy.fixed-delay.attempts=5',
        JOB, '--output', out, '--records', String(RECORDS), '--seed', String(SEED), '--hold-until', release,
      ]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = submittedJobId(submitted.stdout);
      await probe.waitForCheckpoints(id, 2);
      // A checkpoint refers to nothing when its base held no entries yet or when it writes every key
      // group whole (each chain past its delta ratio while the orders pour in): wait until neither can be.
      await probe.waitForCheckpointAfterAllOrders(id, RECORDS);

      const incremental = await checkpoint(id, false);
      expect(incremental.checkpointed_size).toBeLessThan(incremental.state_size);
      const full = await checkpoint(id, true);
      expect(full.checkpointed_size).toBe(full.state_size);
      const response = await fetch(`${cluster.url}/jobs/${id}/checkpoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ checkpointType: 'INCREMENTAL' }) });
      expect(response.status).toBe(202);

      // The checkpoint after the full one refers to it: verify and inspect read it through the checkpoint root.
      const after = await checkpoint(id, false);
      expect(after.checkpointed_size).toBeLessThan(after.state_size);
      const location = fileURLToPath(after.external_path!);
      const verify = await cluster.flink(['verify', location]);
      expect(verify.code, verify.stderr).toBe(0);
      const inspect = await cluster.flink(['inspect', location, '--json']);
      expect(inspect.code, inspect.stderr).toBe(0);
      const shown = JSON.parse(inspect.stdout) as { writtenBytes: number; referredBytes: number; referredFiles: number };
      expect(shown.referredFiles).toBeGreaterThan(0);
      expect(shown.writtenBytes + shown.referredBytes).toBe(after.state_size);
      expect(shown.writtenBytes).toBe(after.checkpointed_size);

      const [victim] = cluster.taskManagerPids();
      process.kill(victim!, 'SIGKILL');
      writeFileSync(release, '');
      const job = await probe.waitForState(id, ['FINISHED'], TIMEOUT);
      expect(job['num-restarts']).toBeGreaterThanOrEqual(1);
      const expected = expectedTotals(generatedOrders(RECORDS, SEED));
      expect((await committedLines(out)).sort()).toEqual([...expected].sort());
    },
    TIMEOUT,
  );
});
