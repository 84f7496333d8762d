/**
 * A real local cluster for end-to-end tests: a JobManager started through the real binary
 * (`flink cluster start`) on a free port with its own working directory, and a `flink` that
 * talks to it. `stop()` leaves nothing running, even after a test killed processes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type RunResult, runFlink } from './run-flink.ts';
import { tempDir } from './temp-dir.ts';

export interface TestCluster {
  readonly url: string;
  readonly port: number;
  readonly workDir: string;
  /** A temporary directory for the test's own files (jobs' output, savepoints). */
  readonly scratch: string;
  /** The -D flags that point a command at this cluster. */
  readonly defines: readonly string[];
  /** Runs `flink <args> <defines>` (`flink run <defines> <args>`) in `cwd` (default: scratch). */
  flink(args: readonly string[], options?: { cwd?: string }): Promise<RunResult>;
  jobManagerPid(): number | undefined;
  /** Pids of the TaskManagers the JobManager started (taskmanager.count), from its log, newest last. */
  taskManagerPids(): number[];
  /** Pids of the live TaskManagers that hold slots now (a job's, when one job runs). */
  busyTaskManagerPids(): Promise<number[]>;
  /** Where the TaskManagers' `.out` files (what jobs print) end now, for `printedSince`. */
  printMark(): PrintMark;
  /** Lines jobs printed in the local TaskManagers since `mark`, waiting until there are at least `atLeast` (60 s at most). */
  printedSince(mark: PrintMark, atLeast?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** Size of each TaskManager's `.out` file at some moment. */
export type PrintMark = ReadonlyMap<string, number>;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startTestCluster(options: { start?: boolean; defines?: readonly string[] } = {}): Promise<TestCluster> {
  const dir = await tempDir('tsflink-cluster-');
  const port = await freePort();
  const workDir = join(dir.path, 'jm');
  const scratch = dir.path;
  // Two task slots (worker threads) per job: every cluster test runs its subtasks on two threads.
  // TaskManagers' caches of job code go with the cluster's directory: a SIGKILLed one leaves its cache behind.
  const defines = ['-D', `rest.port=${port}`, '-D', `process.jobmanager.working-dir=${workDir}`, '-D', `blob.storage.directory=${join(dir.path, 'tm-blobs')}`, '-D', 'taskmanager.numberOfTaskSlots=2', ...(process.env.TSFLINK_TEST_TASKMANAGERS === undefined ? [] : ['-D', `taskmanager.count=${process.env.TSFLINK_TEST_TASKMANAGERS}`]), ...(options.defines ?? [])];
  // For `run`, right after the command: after the job file they would be the job's own arguments.
  const flink = (args: readonly string[], o: { cwd?: string } = {}): Promise<RunResult> =>
    runFlink(args[0] === 'run' ? ['run', ...defines, ...args.slice(1)] : [...args, ...defines], { cwd: o.cwd ?? scratch });
  const jobManagerPid = (): number | undefined => readNumber(join(workDir, 'jobmanager.pid'));
  const taskManagerPids = (): number[] => {
    try {
      return [...readFileSync(join(workDir, 'log', 'jobmanager.log'), 'utf8').matchAll(/started TaskManager \d+ \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    } catch {
      return [];
    }
  };
  const outFiles = (): string[] => {
    try {
      return readdirSync(join(workDir, 'log'))
        .filter((f) => /^taskmanager-\d+\.out$/.test(f))
        .map((f) => join(workDir, 'log', f));
    } catch {
      return [];
    }
  };
  const printMark = (): PrintMark => new Map(outFiles().map((f) => [f, readFileSync(f).length]));
  const printed = (mark: PrintMark): string[] =>
    outFiles().flatMap((f) =>
      readFileSync(f)
        .subarray(mark.get(f) ?? 0)
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  const printedSince = async (mark: PrintMark, atLeast = 0): Promise<string[]> => {
    // A slot's stdout reaches the file after the job ended: `run` may return before the last lines land.
    for (const deadline = Date.now() + 60_000; printed(mark).length < atLeast && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    return printed(mark);
  };
  const busyTaskManagerPids = async (): Promise<number[]> => {
    const response = await fetch(`http://127.0.0.1:${port}/taskmanagers`).catch(() => undefined);
    if (response?.ok !== true) return [];
    const { taskmanagers } = (await response.json()) as { taskmanagers: { id: string; slotsNumber: number; freeSlots: number }[] };
    let log = '';
    try {
      log = readFileSync(join(workDir, 'log', 'jobmanager.log'), 'utf8');
    } catch {
      // no log yet
    }
    const pidOf = new Map([...log.matchAll(/TaskManager (\S+) \(pid (\d+)\) registered/g)].map((m) => [m[1]!, Number(m[2])]));
    return taskmanagers
      .filter((t) => t.freeSlots < t.slotsNumber)
      .flatMap((t) => {
        const pid = pidOf.get(t.id);
        return pid !== undefined && isAlive(pid) ? [pid] : [];
      });
  };
  const cluster: TestCluster = {
    url: `http://127.0.0.1:${port}`,
    port,
    workDir,
    scratch,
    defines,
    flink,
    jobManagerPid,
    taskManagerPids,
    busyTaskManagerPids,
    printMark,
    printedSince,
    stop: async () => {
      await flink(['cluster', 'stop']);
      for (const pid of [jobManagerPid(), ...taskManagerPids()]) {
        if (pid !== undefined) kill(pid);
      }
      await dir.remove();
    },
  };
  if (options.start !== false) {
    const started = await flink(['cluster', 'start']);
    if (started.code !== 0) throw new Error(`flink cluster start failed (${started.code}): ${started.stderr}${started.stdout}`);
  }
  return cluster;
}

function readNumber(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The job id that `flink run` printed. */
export function submittedJobId(stdout: string): string {
  const match = /Job has been submitted with JobID ([0-9a-f]{32})/.exec(stdout);
  if (match === null) throw new Error(`no job id in: ${stdout}`);
  return match[1]!;
}

/** Waits until `flink list -r` shows job `id` (named `name`) RUNNING, failing after a minute. */
export async function untilListedRunning(cluster: Pick<TestCluster, 'flink'>, id: string, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await cluster.flink(['list', '-r'])).stdout.includes(`${id} : ${name} (RUNNING)`)) {
    if (Date.now() > deadline) throw new Error(`job ${id} did not start running`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
