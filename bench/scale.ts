/**
 * `npm run bench -- scale`: does parallelism parallelise? The keyed count (bench/jobs/keyed-count.ts)
 * at p=1 in one thread (the engine before task slots; a p=1 job on slots runs so too), at p=2
 * and p=4 on one worker with 2 task slots (worker threads, channels over MessagePorts between
 * them), and at p=2 over two TaskManagers of one slot each, each as a ratio of the one-thread p=1
 * figure measured in the same run, interleaved, repeated BENCH_REPS times.
 * Target (issue 12, P6): p=2 >= 1.7x p=1 on this 2-core machine. Wall time includes starting
 * the slots' threads and loading the job in each. p=2 across two TaskManagers runs them in this
 * process (slots are threads either way), with TCP over loopback between their slots.
 *
 * Two figures per case: wall time from submission to the end of input, which includes starting
 * the slots' threads and loading the job in each (about 1.2 s here: every thread loads the engine's
 * TypeScript through tsx), and the rate from the moment every slot runs (`running`) to the end,
 * which is the throughput a long-running job sees.
 *
 * Environment: BENCH_RECORDS (default 8M), BENCH_KEYS (default 100k), BENCH_REPS (default 3).
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { threadSlotsDeployment } from '../src/engine/cluster/taskmanager/thread-slots-deployment.ts';
import { type RunningTaskManager, runTaskManager } from '../src/engine/cluster/taskmanager/task-manager.ts';
import { taskManagerDeployment } from '../src/engine/cluster/taskmanager/task-manager-deployment.ts';
import { jobSettingsFromConfig } from '../src/engine/cluster/job-settings.ts';
import { prepareJob } from '../src/engine/cluster/prepare-job.ts';
import { startLocally } from '../src/engine/runtime/local-executor.ts';
import type { AttemptDeployment } from '../src/engine/runtime/attempt-deployment.ts';
import { deployInThread } from '../src/engine/runtime/in-thread-deployment.ts';
import { bold, num, table } from './stats.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 8_000_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const JOB = resolve(import.meta.dirname, 'jobs/keyed-count.ts');

interface Case {
  readonly name: string;
  readonly parallelism: number;
  /** Undefined: every subtask in this thread (no worker threads). */
  readonly slots: number | undefined;
  /** One slot in each of two TaskManagers, TCP between them. */
  readonly taskManagers?: true;
}

const CASES: readonly Case[] = [
  { name: 'p=1, one thread (baseline)', parallelism: 1, slots: undefined },
  { name: 'p=2, 2 slots', parallelism: 2, slots: 2 },
  { name: 'p=4, 2 slots', parallelism: 4, slots: 2 },
  { name: 'p=2, one thread', parallelism: 2, slots: undefined },
  { name: 'p=2, two TaskManagers', parallelism: 2, slots: 2, taskManagers: true },
];

/** Two TaskManagers of one slot each, in this process (their slots are threads; TCP over loopback between them). */
async function twoTaskManagers(): Promise<RunningTaskManager[]> {
  const noJobManager = (async () => new Response('{}', { status: 200 })) as typeof fetch;
  const start = (): Promise<RunningTaskManager> => runTaskManager({ slots: 1, jobManagerUrl: 'http://127.0.0.1:1', bindHost: '127.0.0.1', advertisedHost: '127.0.0.1', port: 0, heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 30_000, log: () => undefined, fetch: noJobManager });
  return [await start(), await start()];
}

interface Rates {
  readonly wall: number;
  readonly running: number;
}

async function runCase(c: Case): Promise<Rates> {
  const out = await mkdtemp(join(tmpdir(), 'tsflink-scale-'));
  try {
    const args = [String(RECORDS), String(KEYS), out];
    const config = new Map<string, string>([['parallelism.default', String(c.parallelism)]]);
    const prepared = await prepareJob(JOB, args, jobSettingsFromConfig(config, c.parallelism));
    const source = { jobFile: JOB, programArgs: args, config: Object.fromEntries(config), parallelism: c.parallelism };
    const tms = c.taskManagers === true ? await twoTaskManagers() : [];
    const deployment =
      c.taskManagers === true
        ? taskManagerDeployment({ source, allowNonRestoredState: false, acquireSlots: async () => tms.map((tm) => ({ taskManagerId: tm.id, host: '127.0.0.1', port: tm.port })) })
        : c.slots === undefined
          ? undefined
          : threadSlotsDeployment({ slots: c.slots, source, allowNonRestoredState: false });
    const start = performance.now();
    let runningAt = start;
    const timed: AttemptDeployment = (spec) => {
      const attempt = (deployment ?? deployInThread)(spec);
      void attempt.running.then(() => (runningAt = performance.now()));
      return attempt;
    };
    const client = startLocally(prepared.graph, { ...prepared.options, deployment: timed });
    await client.result;
    const end = performance.now();
    for (const tm of tms) await tm.stop();

    let records = 0;
    for (const f of await readdir(out)) records += (JSON.parse(await readFile(join(out, f), 'utf8')) as { records: number }).records;
    if (records !== RECORDS) throw new Error(`${c.name}: the sinks saw ${records} records, not ${RECORDS}`);
    return { wall: RECORDS / ((end - start) / 1000), running: RECORDS / ((end - runningAt) / 1000) };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  process.stdout.write(bold(`\nscale: keyed count, ${num(RECORDS)} records, ${num(KEYS)} keys, ${REPS} reps interleaved; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}\n`));
  const rates = new Map<string, Rates[]>(CASES.map((c) => [c.name, []]));
  for (let rep = 0; rep < REPS; rep++) for (const c of CASES) rates.get(c.name)!.push(await runCase(c));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const of = (name: string, k: keyof Rates): number[] => rates.get(name)!.map((r) => r[k]);
  const baseWall = median(of(CASES[0]!.name, 'wall'));
  const baseRunning = median(of(CASES[0]!.name, 'running'));
  const rows = CASES.map((c) => {
    const wall = median(of(c.name, 'wall'));
    const running = median(of(c.name, 'running'));
    const threads = c.slots === undefined ? 1 : Math.min(c.slots, c.parallelism);
    return [c.name, `${num(Math.round(running))}/s`, `${(running / baseRunning).toFixed(2)}x`, `${num(Math.round(running / threads))}/s`, `${num(Math.round(wall))}/s`, `${(wall / baseWall).toFixed(2)}x`];
  });
  process.stdout.write(`${table([['case', 'running: records/s', 'vs p=1', 'per thread', 'wall: records/s', 'vs p=1'], ...rows])}\n`);
  process.stdout.write('running: from every slot running to the end of input; wall: from submission, with starting the slots\' threads and loading the job in each. Medians.\n');
}
