/**
 * Ctrl-C on `flink jobmanager` in a terminal, through the real binary with real processes and a
 * real SIGINT to the JobManager's whole process group, as a terminal sends it: the local
 * TaskManagers it forked are in that group too. The JobManager must suspend its jobs as
 * `flink cluster stop` does, not have them see their TaskManagers lost first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectedTotals, generatedOrders } from '../../examples/expected-totals.ts';
import { ClusterProbe, type JobInfo, committedLines, waitFor } from '../support/cluster-probes.ts';
import { ROOT, runFlink } from '../support/run-flink.ts';
import { freePort, submittedJobId } from '../support/test-cluster.ts';
import { tempDir } from '../support/temp-dir.ts';

const FLINK = join(ROOT, 'bin', 'flink.js');
const JOB = join(ROOT, 'examples', 'order-totals.ts');
const RECORDS = 5_000;
const SEED = 42;
const TIMEOUT = 90_000;

let dir: Awaited<ReturnType<typeof tempDir>>;
let port: number;
let defines: string[];
let probe: ClusterProbe;
/** What this file started, stopped (SIGKILL) after each test whatever happened. */
const started: ChildProcess[] = [];

beforeAll(async () => {
  dir = await tempDir('tsflink-foreground-jm-');
  port = await freePort();
  defines = ['-D', `rest.port=${port}`, '-D', `process.jobmanager.working-dir=${join(dir.path, 'jm')}`, '-D', `blob.storage.directory=${join(dir.path, 'blobs')}`, '-D', 'taskmanager.numberOfTaskSlots=2'];
  probe = new ClusterProbe(`http://127.0.0.1:${port}`);
});

afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    try {
      // Its whole process group: a JobManager and the TaskManagers it forked.
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
});

afterAll(async () => {
  await dir?.remove();
});

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** What it has written to stdout and stderr so far. */
  output(): string;
}

/** `flink <args>` in a process group of its own, as a shell runs a command in its terminal; its output in a file. */
function startFlink(name: string, args: readonly string[]): Started {
  const file = join(dir.path, `${name}.log`);
  const fd = openSync(file, 'a');
  const child = spawn(process.execPath, [FLINK, ...args], { cwd: dir.path, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => readFileSync(file, 'utf8') };
}

async function startJobManager(name: string, extra: readonly string[] = []): Promise<Started> {
  const jm = startFlink(name, ['jobmanager', ...defines, ...extra]);
  await waitFor('the JobManager to answer', async () => (await probe.get('/overview')) !== undefined, 30_000);
  return jm;
}

/** Ctrl-C in the JobManager's terminal: SIGINT to every process of its group. */
function ctrlC(jm: Started): void {
  process.kill(-jm.child.pid!, 'SIGINT');
}

async function exceptionHistory(jobId: string): Promise<string[] | undefined> {
  const exceptions = await probe.get<{ exceptionHistory: { entries: { stacktrace: string }[] } }>(`/jobs/${jobId}/exceptions`);
  return exceptions?.exceptionHistory.entries.map((e) => e.stacktrace.split('\n')[0] ?? '');
}

describe('Ctrl-C on a foreground flink jobmanager', () => {
  it(
    'suspends its running jobs: the TaskManagers it started ignore the SIGINT and are stopped after the jobs, so a job without checkpoints under restart strategy none resumes when a JobManager starts again, no restart counted and no exception',
    async () => {
      const first = await startJobManager('jobmanager-1', ['-D', 'taskmanager.count=1']);
      const out = join(dir.path, 'out');
      const endOfInput = `${out}.end-of-input`;
      // No checkpointing, and so the restart strategy none: a TaskManager lost under it fails the job.
      const submitted = await runFlink(['run', ...defines, '-d', '-m', `127.0.0.1:${port}`, JOB, '--output', out, '--records', String(RECORDS), '--seed', String(SEED), '--hold-until', endOfInput], { cwd: dir.path });
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = submittedJobId(submitted.stdout);
      await probe.waitForState(id, ['RUNNING']);

      // The terminal's SIGINT reaches the TaskManager first (the kernel promises no order within
      // the group): it must not stop, which would fail the job before the JobManager hears of Ctrl-C.
      const taskManager = Number(/started TaskManager 1 \(pid (\d+)\)/.exec(first.output())?.[1]);
      const taskManagerLog = join(dir.path, 'jm', 'log', 'taskmanager-1.log');
      process.kill(taskManager, 'SIGINT');
      await waitFor('the TaskManager to ignore SIGINT, or the job to stop running', async () => {
        if (readFileSync(taskManagerLog, 'utf8').includes('SIGINT ignored: the JobManager that started this TaskManager stops it')) return true;
        return (await probe.get<JobInfo>(`/jobs/${id}`))?.state !== 'RUNNING';
      });
      expect(await probe.get<JobInfo>(`/jobs/${id}`)).toMatchObject({ state: 'RUNNING', 'num-restarts': 0 });

      ctrlC(first);
      expect(await first.exited).toBe(0);
      expect(first.output()).toContain('JobManager stopped');

      const second = await startJobManager('jobmanager-2', ['-D', 'taskmanager.count=1']);
      await probe.waitForState(id, ['RUNNING']);
      writeFileSync(endOfInput, '');
      const finished = await probe.waitForState(id, ['FINISHED']);
      // Suspended, not failed: Ctrl-C is no restart, and no TaskManager was lost under the job.
      expect(finished['num-restarts']).toBe(0);
      expect(await exceptionHistory(id)).toEqual([]);
      // From the beginning (no checkpoint): the first run committed nothing, so no line is doubled.
      expect(await committedLines(out)).toEqual(expectedTotals(generatedOrders(RECORDS, SEED)));

      ctrlC(second);
      expect(await second.exited).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'a TaskManager started by hand (flink taskmanager in its own terminal) still stops on Ctrl-C',
    async () => {
      const jm = await startJobManager('jobmanager-3');
      const tm = startFlink('taskmanager-by-hand', ['taskmanager', '-m', `127.0.0.1:${port}`, ...defines]);
      await waitFor('its registration', async () => /TaskManager \S+ registered with the JobManager/.test(tm.output()), 30_000);
      process.kill(-tm.child.pid!, 'SIGINT');
      expect(await tm.exited).toBe(0);
      expect(tm.output()).toMatch(/TaskManager \S+ stopped\n$/);
      ctrlC(jm);
      expect(await jm.exited).toBe(0);
    },
    TIMEOUT,
  );
});
