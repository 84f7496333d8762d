/**
 * Native savepoints (`flink savepoint --type native`) of a job with incremental checkpoints, on a
 * cluster with two TaskManagers, through the real binary: the savepoint's chains refer to shared
 * files, which are brought into its directory, so it survives the deletion of the job's
 * checkpoints; it restores on the same backend at another parallelism with every total exactly
 * once, and is refused on another backend in one line. The job holds its input open until the
 * test releases it, so nothing depends on the machine's speed.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { ClusterProbe, committedLines, waitFor } from '../support/cluster-probes.ts';
import { ROOT } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 20_000;
const SEED = 11;
const TIMEOUT = 240_000;

let cluster: TestCluster;
let probe: ClusterProbe;

beforeAll(async () => {
  cluster = await startTestCluster({ defines: ['-D', 'taskmanager.count=2'] });
  probe = new ClusterProbe(cluster.url);
  await waitFor('two TaskManagers to register', async () => ((await probe.get<{ taskmanagers: number }>('/overview'))?.taskmanagers === 2 ? true : undefined), 60_000);
}, TIMEOUT);

afterAll(async () => {
  await cluster?.stop();
});

describe('flink savepoint --type native', () => {
  it(
    'of an incremental rocksdb job: self-contained, restored at another parallelism after the checkpoints are gone, refused on lmdb',
    async () => {
      const out = join(cluster.scratch, 'out-native');
      const release = `${out}.end-of-input`;
      const checkpoints = join(cluster.scratch, 'checkpoints');
      const jobArgs = [JOB, '--output', out, '--records', String(RECORDS), '--seed', String(SEED)];
      const incremental = ['-D', `execution.checkpointing.dir=${checkpoints}`, '-D', 'execution.checkpointing.incremental=true', '-D', 'state.backend.type=rocksdb'];
      const submitted = await cluster.flink(['run', '-d', '-p', '2', ...incremental, '-D', 'execution.checkpointing.interval=300ms', ...jobArgs, '--hold-until', release]);
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = submittedJobId(submitted.stdout);
      await probe.waitForCheckpoints(id, 2);
      // A snapshot refers to nothing (checkpointed_size = state_size, as on CI once) when its base
      // held no entries yet (checkpoints taken before the orders reached the state) or when it
      // writes every key group whole (each chain past its delta ratio while the orders pour in).
      // After every order and a checkpoint, the base holds them all and the snapshot changes nothing.
      await probe.waitForCheckpointAfterAllOrders(id, RECORDS);

      const taken = await cluster.flink(['savepoint', '--type', 'native', id, join(cluster.scratch, 'savepoints')]);
      expect(taken.code, taken.stderr).toBe(0);
      const savepoint = fileURLToPath(/Savepoint completed\. Path: (\S+)/.exec(taken.stdout)![1]!);
      const history = await probe.get<{ latest: { savepoint: { external_path: string; savepointFormat?: string; state_size: number; checkpointed_size: number } | null } }>(`/jobs/${id}/checkpoints`);
      expect(history?.latest.savepoint?.external_path).toBe(`file:${savepoint}`);
      expect(history?.latest.savepoint?.savepointFormat).toBe('NATIVE');
      // It wrote a delta and holds copies of the rest.
      expect(history!.latest.savepoint!.checkpointed_size).toBeLessThan(history!.latest.savepoint!.state_size);
      // flink stop --type native: another native savepoint, then the job ends.
      const stopped = await cluster.flink(['stop', '--type', 'native', '-p', join(cluster.scratch, 'stop-savepoints'), id]);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toMatch(new RegExp(`^Suspending job "${id}" with a NATIVE savepoint\\.\nTriggering stop-with-savepoint for job ${id}\\.\nWaiting for response\\.\\.\\.\nSavepoint completed\\. Path: file:`));
      const stopSavepoint = fileURLToPath(/Savepoint completed\. Path: (\S+)/.exec(stopped.stdout)![1]!);
      await probe.waitForState(id, ['FINISHED']);

      // The checkpoints go, shared files and all: the savepoint holds its own copies.
      rmSync(join(checkpoints, id), { recursive: true, force: true });
      expect(readdirSync(join(savepoint, 'shared')).length).toBeGreaterThan(0);
      const verify = await cluster.flink(['verify', savepoint]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      const inspect = await cluster.flink(['inspect', savepoint, '--json']);
      expect(inspect.code, inspect.stderr).toBe(0);
      const shown = JSON.parse(inspect.stdout) as { kind: string; type: string; formatVersion: number; referredFiles: number; operators: { stateBackend?: string }[] };
      expect([shown.kind, shown.type, shown.formatVersion]).toEqual(['savepoint', 'native', 3]);
      expect(shown.referredFiles).toBeGreaterThan(0);
      expect(new Set(shown.operators.flatMap((o) => (o.stateBackend === undefined ? [] : [o.stateBackend])))).toEqual(new Set(['rocksdb']));
      const stopShown = await cluster.flink(['inspect', stopSavepoint, '--json']);
      expect(JSON.parse(stopShown.stdout)).toMatchObject({ kind: 'savepoint', type: 'native' });

      const refused = await cluster.flink(['run', '-p', '3', '-s', savepoint, '-D', 'state.backend.type=lmdb', ...jobArgs]);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toEqual([
        `Cannot restore the job from ${savepoint}: it is a native savepoint written by the rocksdb state backend, and this job uses lmdb (state.backend.type); a native savepoint restores only on the backend that wrote it. Take a canonical savepoint (flink savepoint --type canonical <jobId>) to change backends, or run with -D state.backend.type=rocksdb.`,
      ]);

      writeFileSync(release, '');
      const restored = await cluster.flink(['run', '-p', '3', '-s', savepoint, ...incremental, ...jobArgs]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toContain('has finished.');
      const expected = expectedTotals(generatedOrders(RECORDS, SEED));
      expect((await committedLines(out)).sort()).toEqual([...expected].sort());
      expect(existsSync(join(savepoint, '_metadata'))).toBe(true);
    },
    TIMEOUT,
  );
});
