/**
 * A savepoint in progress, as the JobManager shows it and `flink savepoint`/`flink stop` draw it:
 * REST lists it as IN_PROGRESS with the subtasks that acknowledged so far, and the commands draw
 * one line on a terminal (a real pty, made by util-linux `script`) that they clear before their
 * usual final lines; without a terminal, or with --json, nothing extra. The job's sink holds each
 * snapshot until the test creates `release-<id>`, so "in progress" lasts as long as the test needs.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointEntry, CheckpointStatistics } from '../../src/engine/cluster/cluster-api.ts';
import { ClusterProbe, waitFor } from '../support/cluster-probes.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { type TestCluster, startTestCluster, submittedJobId } from '../support/test-cluster.ts';

const TSFLINK = join(ROOT, 'src', 'index.ts');
const TIMEOUT = 300_000;

/** Source and map chained (2 subtasks), then reduce and the holding sink (2 subtasks): 4 in all. */
function heldJob(gates: string): string {
  return `import { existsSync } from 'node:fs';
import { DataGeneratorSource } from ${JSON.stringify(TSFLINK)};
export default (env: any): void => {
  env
    .fromSource(new DataGeneratorSource({ recordsPerSecond: 200, generate: (i: number) => 'w' + (i % 10) }), 'words')
    .uid('words')
    .map((w: string) => ({ w, n: 1 }))
    .uid('to-count')
    .keyBy((c: { w: string }) => c.w)
    .reduce((a: { w: string; n: number }, b: { w: string; n: number }) => ({ w: a.w, n: a.n + b.n }))
    .uid('counts')
    .sinkTo({
      invoke() {},
      async snapshotState({ checkpointId }: { checkpointId: number }) {
        while (!existsSync(${JSON.stringify(gates)} + '/release-' + checkpointId)) await new Promise((r) => setTimeout(r, 20));
      },
    })
    .uid('sink');
};
`;
}

let cluster: TestCluster;
let probe: ClusterProbe;
let jobs: string;

beforeAll(async () => {
  cluster = await startTestCluster();
  probe = new ClusterProbe(cluster.url);
  jobs = join(cluster.scratch, 'jobs');
  await mkdir(jobs);
  await writeFile(join(jobs, 'package.json'), JSON.stringify({ type: 'module' }));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** A running held job, and `release(id)` that lets its snapshot `id` complete (each job has its own gates: ids start at 1 in every job). */
async function startJob(name: string): Promise<{ jobId: string; release: (id: number) => Promise<void> }> {
  const gates = join(cluster.scratch, `gates-${name}`);
  await mkdir(gates);
  const job = join(jobs, `${name}.ts`);
  await writeFile(job, heldJob(gates));
  const started = await runFlink(['run', '-d', '-p', '2', ...cluster.defines, job], { cwd: cluster.scratch });
  expect(started.code, started.stderr).toBe(0);
  const jobId = submittedJobId(started.stdout);
  await probe.waitForState(jobId, ['RUNNING']);
  return { jobId, release: (id) => writeFile(join(gates, `release-${id}`), '') };
}

/** The savepoint in progress once both source subtasks acknowledged it and both sink subtasks hold it. */
async function heldSavepoint(jobId: string): Promise<{ stats: CheckpointStatistics; entry: CheckpointEntry }> {
  return waitFor('a savepoint held at 2 of 4 subtasks', async () => {
    const stats = await probe.get<CheckpointStatistics>(`/jobs/${jobId}/checkpoints`);
    const entry = stats?.history.find((e) => e.status === 'IN_PROGRESS');
    return entry?.num_acknowledged_subtasks === 2 ? { stats: stats!, entry } : undefined;
  }, 120_000);
}

/** `flink <args>` with stdin, stdout and stderr on one pty; `onOutput` sees the output as it comes. */
function onTerminal(args: readonly string[], onOutput: (output: string) => void): Promise<{ code: number | null; output: string }> {
  const child = spawn('script', ['-qfec', [process.execPath, 'bin/flink.js', ...args].join(' '), '/dev/null'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', DEBUG: '' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    onOutput(output);
  });
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`cannot run util-linux script(1) to get a terminal: ${err.message}`)));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Redraws of the progress line (their figures depend on timing) count once; the pty's CR LF becomes LF. */
function normalise(output: string, jobId: string): string {
  return output
    .replace(/(\r\x1b\[2KSavepoint \d+: [0-4]\/4 subtasks acknowledged, \d+(\.\d)? [KMG]?i?B written, \d+ s)+/g, '[progress]')
    .replaceAll('\r\x1b[2K', '[clear]')
    .replaceAll('\r\n', '\n')
    .replace(/Path: \S+/g, 'Path: <path>')
    .replaceAll(jobId, '<job>');
}

describe('a savepoint in progress', () => {
  it(
    'REST lists it as IN_PROGRESS with the subtasks acknowledged so far, until it completes',
    async () => {
      const { jobId, release } = await startJob('rest');
      const taking = runFlink(['savepoint', jobId, join(cluster.scratch, 'savepoints'), ...cluster.defines], { cwd: cluster.scratch });
      const { stats, entry } = await heldSavepoint(jobId);
      expect(stats.counts.in_progress).toBe(1);
      expect(stats.counts.total).toBe(stats.counts.completed + stats.counts.failed + 1);
      expect(stats.history[0]).toBe(entry);
      expect(entry).toMatchObject({ status: 'IN_PROGRESS', is_savepoint: true, checkpoint_type: 'SAVEPOINT', num_subtasks: 4, num_acknowledged_subtasks: 2, discarded: false });
      expect(entry.checkpointed_size).toBeGreaterThan(0);
      expect(entry.state_size).toBe(entry.checkpointed_size);
      expect(entry.latest_ack_timestamp).toBeGreaterThanOrEqual(entry.trigger_timestamp);
      expect(entry.end_to_end_duration).toBeGreaterThanOrEqual(0);
      expect(entry).not.toHaveProperty('external_path');
      expect(await probe.get(`/jobs/${jobId}/checkpoints/details/${entry.id}`)).toMatchObject({ id: entry.id, status: 'IN_PROGRESS', num_acknowledged_subtasks: 2 });

      await release(entry.id);
      const taken = await taking;
      expect(taken.code, taken.stderr).toBe(0);
      // Without a terminal: exactly today's lines, no progress line.
      expect(taken.stdout.replace(/Path: \S+/, 'Path: <path>').replaceAll(jobId, '<job>')).toBe(
        'Triggering savepoint for job <job>.\nWaiting for response...\nSavepoint completed. Path: <path>\nYou can resume your program from this savepoint with the run command.\n',
      );
      expect(taken.stderr).toBe('');
      const after = await probe.get<CheckpointStatistics>(`/jobs/${jobId}/checkpoints`);
      expect(after?.counts.in_progress).toBe(0);
      expect(after?.history[0]).toMatchObject({ id: entry.id, status: 'COMPLETED', is_savepoint: true });
      expect(after?.history.some((e) => e.status === 'IN_PROGRESS')).toBe(false);
      expect((await cluster.flink(['cancel', jobId])).code).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'flink savepoint and flink stop draw the line on a terminal and clear it before their final lines; --json draws none',
    async () => {
      const { jobId, release } = await startJob('terminal');
      const target = join(cluster.scratch, 'savepoints');
      const drawn = /Savepoint (\d+): 2\/4 subtasks acknowledged/;
      const released = new Set<string>();
      // The gate opens once the line is on the terminal: the line cannot be missed, however slow the machine.
      const openOnLine = (output: string): void => {
        const id = drawn.exec(output)?.[1];
        if (id !== undefined && !released.has(id)) {
          released.add(id);
          void release(Number(id));
        }
      };
      /**
       * Runs the command on a terminal; should its line never come, the gate opens after 90 s
       * all the same, so the test fails on the output below instead of hanging.
       */
      const drawing = async (args: readonly string[]): Promise<{ code: number | null; output: string }> => {
        const before = released.size;
        const running = onTerminal(args, openOnLine);
        const drawn = await waitFor('the progress line on the terminal', async () => released.size > before, 90_000).catch(() => false);
        if (!drawn) await release((await heldSavepoint(jobId)).entry.id);
        return running;
      };
      const savepoint = await drawing(['savepoint', jobId, target, ...cluster.defines]);
      expect(savepoint.code).toBe(0);
      expect(normalise(savepoint.output, jobId)).toBe(
        'Triggering savepoint for job <job>.\nWaiting for response...\n[progress][clear]Savepoint completed. Path: <path>\nYou can resume your program from this savepoint with the run command.\n',
      );

      const json = onTerminal(['savepoint', jobId, target, '--json', ...cluster.defines], () => undefined);
      await release((await heldSavepoint(jobId)).entry.id);
      const quiet = await json;
      expect(quiet.code).toBe(0);
      expect(quiet.output).not.toContain('\x1b[2K');
      expect(quiet.output).toMatch(/^\{"jobid":"[0-9a-f]{32}","location":"[^"]+"\}\r\n$/);

      const stop = await drawing(['stop', '-p', target, jobId, ...cluster.defines]);
      expect(stop.code).toBe(0);
      expect(normalise(stop.output, jobId)).toBe('Suspending job "<job>" with a CANONICAL savepoint.\nTriggering stop-with-savepoint for job <job>.\nWaiting for response...\n[progress][clear]Savepoint completed. Path: <path>\n');
      await probe.waitForState(jobId, ['FINISHED']);
    },
    TIMEOUT,
  );
});
