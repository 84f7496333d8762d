/**
 * Claim mode through the real binary on a real cluster (Flink's RecoveryClaimMode): with
 * `--claimMode claim` (or Flink's older `-rm claim`) the savepoint a job starts from becomes the
 * job's first retained checkpoint, kept across restarts, and is deleted
 * once a newer checkpoint subsumes it (num-retained 1); with `no_claim` it is never touched, not
 * even when the job is cancelled under DELETE_ON_CANCELLATION. The jobs run an unbounded source
 * and are ended by the test; checkpoints are taken with `flink checkpoint`, so nothing depends on
 * the machine's speed.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProbe, waitFor } from '../support/cluster-probes.ts';
import { ROOT, type RunResult, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const TSFLINK = join(ROOT, 'src', 'index.ts');
let cluster: TestCluster;
let probe: ClusterProbe;
let job: string;
let mostlyIdleJob: string;

beforeAll(async () => {
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
  const jobs = join(cluster.scratch, 'jobs');
  await mkdir(jobs);
  await writeFile(join(jobs, 'package.json'), JSON.stringify({ type: 'module' }));
  job = join(jobs, 'unbounded-count.ts');
  await writeFile(
    job,
    [
      `import { DataGeneratorSource, valueState } from ${JSON.stringify(TSFLINK)};`,
      '// Unbounded: it runs until the test cancels it (the rate only spares the CPU).',
      'export default (env: any): void => {',
      "  env.fromSource(new DataGeneratorSource({ recordsPerSecond: 500, generate: (i: number) => `k${i % 10}` }), 'keys').uid('keys')",
      '    .keyBy((k: string) => k)',
      "    .process(() => ({ open(ctx: any) { this.count = ctx.getState(valueState('count')); }, processElement(_v: string, _c: unknown, out: any) { const n = (this.count.value() ?? 0) + 1; this.count.update(n); out.collect(n); } } as any)).uid('count');",
      '};',
      '',
    ].join('\n'),
  );
  mostlyIdleJob = join(jobs, 'mostly-idle-count.ts');
  await writeFile(
    mostlyIdleJob,
    [
      `import { DataGeneratorSource, valueState } from ${JSON.stringify(TSFLINK)};`,
      '// 100 keys once each, then one hot key forever: between two checkpoints only its key group changes.',
      'export default (env: any): void => {',
      "  env.fromSource(new DataGeneratorSource({ recordsPerSecond: 500, generate: (i: number) => (i < 100 ? `k${i}` : 'hot') }), 'keys').uid('keys')",
      '    .keyBy((k: string) => k)',
      "    .process(() => ({ open(ctx: any) { this.count = ctx.getState(valueState('count')); }, processElement(_v: string, _c: unknown, out: any) { const n = (this.count.value() ?? 0) + 1; this.count.update(n); out.collect(n); } } as any)).uid('count');",
      '};',
      '',
    ].join('\n'),
  );
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

/** Runs `flink <args>` until it succeeds: a command that needs a RUNNING job is refused until its attempt runs. */
async function succeeds(args: readonly string[]): Promise<RunResult> {
  let last: RunResult | undefined;
  return waitFor(`flink ${args.join(' ')} to succeed (last: ${last?.stderr ?? ''})`, async () => {
    last = await cluster.flink(args);
    return last.code === 0 ? last : undefined;
  }, 120_000, 200);
}

async function submit(args: readonly string[], jobFile = job): Promise<string> {
  const result = await runFlink(['run', '-d', ...cluster.defines, ...args, jobFile], { cwd: cluster.scratch });
  expect(result.code, result.stderr).toBe(0);
  return submittedJobId(result.stdout);
}

async function cancel(jobId: string): Promise<void> {
  const result = await cluster.flink(['cancel', jobId]);
  expect(result.code, result.stderr).toBe(0);
  await probe.waitForState(jobId, ['CANCELED']);
}

/** A savepoint of a fresh job, which is then cancelled; its directory. */
async function savepoint(): Promise<string> {
  const jobId = await submit([]);
  const result = await succeeds(['savepoint', jobId, join(cluster.scratch, 'savepoints')]);
  const match = /Savepoint completed\. Path: (\S+)/.exec(result.stdout);
  expect(match, result.stdout).not.toBeNull();
  await cancel(jobId);
  return fileURLToPath(match![1]!);
}

async function checkpoint(jobId: string): Promise<void> {
  const result = await succeeds(['checkpoint', jobId]);
  expect(result.stdout).toMatch(new RegExp(`^Triggering checkpoint for job ${jobId}\\.\\nWaiting for response\\.\\.\\.\\nCheckpoint\\(CONFIGURED\\) \\d+ for job ${jobId} completed\\.\\n$`));
}

/** Each test starts jobs on a shared two-core machine. */
const CLUSTER_TEST_MS = 240_000;
const RETAIN_ONE = ['-D', 'execution.checkpointing.num-retained=1', '-D', 'execution.checkpointing.externalized-checkpoint-retention=DELETE_ON_CANCELLATION'];
const RESTARTS = ['-D', 'restart-strategy.type=fixed-delay', '-D', 'restart-strategy.fixed-delay.attempts=5', '-D', 'restart-strategy.fixed-delay.delay=100 ms'];

describe('flink run -s <savepoint> with a claim mode', () => {
  it('--claimMode claim: kept across a restart, deleted once a newer checkpoint subsumes it', async () => {
    const sp = await savepoint();
    const jobId = await submit(['-s', sp, '--claimMode', 'claim', ...RETAIN_ONE, ...RESTARTS]);
    await probe.waitForState(jobId, ['RUNNING']);
    // The TaskManager running the attempt that restored it is lost before any checkpoint: the
    // restart strategy restarts the job from its retained list, where the claimed savepoint is the only entry.
    const first = await waitFor('a TaskManager running the job', async () => (await cluster.busyTaskManagerPids())[0]);
    process.kill(first, 'SIGKILL');
    await waitFor('the job to restart', async () => ((await probe.get<{ 'num-restarts': number; state: string }>(`/jobs/${jobId}`))?.['num-restarts'] ?? 0) >= 1 || undefined);
    expect(existsSync(join(sp, '_metadata'))).toBe(true);
    const restored = await waitFor('the restart to restore the savepoint', async () => (await probe.get<{ latest: { restored: { external_path: string } | null } }>(`/jobs/${jobId}/checkpoints`))?.latest.restored ?? undefined);
    expect(restored.external_path).toBe(`file:${sp}`);
    await checkpoint(jobId);
    await waitFor('the subsumed savepoint to be deleted', async () => !existsSync(sp));
    await cancel(jobId);
  }, CLUSTER_TEST_MS);

  it('-rm claim (Flink\'s older name) claims too', async () => {
    const sp = await savepoint();
    const jobId = await submit(['-s', sp, '-rm', 'claim', ...RETAIN_ONE]);
    await checkpoint(jobId);
    await waitFor('the subsumed savepoint to be deleted', async () => !existsSync(sp));
    await cancel(jobId);
  }, CLUSTER_TEST_MS);

  it('--claimMode no_claim: never touched, also when the job is cancelled under DELETE_ON_CANCELLATION; REST marks deleted checkpoints discarded', async () => {
    const sp = await savepoint();
    const jobId = await submit(['-s', sp, '--claimMode', 'no_claim', ...RETAIN_ONE]);
    await checkpoint(jobId);
    await checkpoint(jobId);
    // As Flink's history: a checkpoint whose files are deleted is `discarded`, its path no longer one to restore from.
    type History = { history: { id: number; status: string; external_path: string; discarded: boolean }[] };
    const discarded = async (): Promise<{ path: string; discarded: boolean }[]> =>
      (await probe.get<History>(`/jobs/${jobId}/checkpoints`))!.history.filter((c) => c.status === 'COMPLETED').map((c) => ({ path: c.external_path, discarded: c.discarded }));
    const [newest, subsumed] = await discarded();
    expect([newest, subsumed]).toEqual([{ path: newest!.path, discarded: false }, { path: subsumed!.path, discarded: true }]);
    expect(existsSync(fileURLToPath(subsumed!.path))).toBe(false);
    expect(existsSync(fileURLToPath(newest!.path))).toBe(true);
    await cancel(jobId);
    // DELETE_ON_CANCELLATION: the newest went with the job.
    expect(await discarded()).toEqual([{ path: newest!.path, discarded: true }, { path: subsumed!.path, discarded: true }]);
    expect(existsSync(fileURLToPath(newest!.path))).toBe(false);
    expect(existsSync(join(sp, '_metadata'))).toBe(true);
  }, CLUSTER_TEST_MS);

  it('--claimMode claim of an incremental checkpoint: the first checkpoint after it builds on the claimed files, as after a failover', async () => {
    const incremental = ['-D', 'execution.checkpointing.incremental=true'];
    const first = await submit([...incremental, '-D', 'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION'], mostlyIdleJob);
    type Job = { vertices: { metrics: { 'read-records': number } }[] };
    await waitFor('the 100 keys counted', async () => (await probe.get<Job>(`/jobs/${first}`))?.vertices.some((v) => v.metrics['read-records'] > 100) || undefined);
    await checkpoint(first);
    type History = { history: { status: string; external_path?: string; state_size: number; checkpointed_size: number }[] };
    const claimed = fileURLToPath((await probe.get<History>(`/jobs/${first}/checkpoints`))!.history[0]!.external_path!);
    await cancel(first);
    const second = await submit(['-s', claimed, '--claimMode', 'claim', ...incremental, ...RETAIN_ONE], mostlyIdleJob);
    await checkpoint(second);
    const [after] = (await probe.get<History>(`/jobs/${second}/checkpoints`))!.history;
    // Only the hot key's group changed: the rest is referred to in the claimed checkpoint's files, not written again.
    expect(after!.state_size).toBeGreaterThan(after!.checkpointed_size);
    await waitFor('the subsumed claimed checkpoint to be deleted', async () => !existsSync(claimed));
    await cancel(second);
  }, CLUSTER_TEST_MS);

  it('REST takes a NATIVE savepoint of a job without incremental checkpoints (full, typed native), and refuses an INCREMENTAL checkpoint of it in one line (400)', async () => {
    const jobId = await submit([]);
    await probe.waitForState(jobId, ['RUNNING']);
    const post = async (path: string, body: unknown): Promise<{ status: number; errors: string[] }> => {
      const response = await fetch(`${cluster.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, errors: ((await response.json()) as { errors: string[] }).errors };
    };
    const triggered = await fetch(`${cluster.url}/jobs/${jobId}/savepoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 'target-directory': join(cluster.scratch, 'native'), formatType: 'NATIVE' }) });
    expect(triggered.status).toBe(202);
    const { 'request-id': trigger } = (await triggered.json()) as { 'request-id': string };
    const location = await waitFor('the NATIVE savepoint', async () => (await probe.get<{ operation?: { location?: string } }>(`/jobs/${jobId}/savepoints/${trigger}`))?.operation?.location);
    const inspected = await cluster.flink(['inspect', location, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    // Without incremental checkpoints a native savepoint holds what a canonical one does (version 1), typed native.
    expect(JSON.parse(inspected.stdout)).toMatchObject({ kind: 'savepoint', type: 'native', formatVersion: 1 });
    expect(await post(`/jobs/${jobId}/checkpoints`, { checkpointType: 'INCREMENTAL' })).toEqual({
      status: 400,
      errors: [`checkpointType INCREMENTAL needs execution.checkpointing.incremental: true, which job ${jobId} does not have; use FULL or CONFIGURED`],
    });
    const full = await succeeds(['checkpoint', '--full', jobId]);
    expect(full.stdout).toMatch(new RegExp(`Checkpoint\\(FULL\\) \\d+ for job ${jobId} completed\\.\\n$`));
    await cancel(jobId);
  }, CLUSTER_TEST_MS);
});
