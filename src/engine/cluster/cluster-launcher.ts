/**
 * Starts a JobManager in the background (`flink cluster start`, and `flink run` when none
 * answers) and stops one. The JobManager is `flink jobmanager` in a detached process whose
 * output goes to `<working dir>/log/jobmanager.log`.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Config, workingDir } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { processRunning } from '../../process-running.ts';
import { makeDirectoriesSync } from '../../storage/make-directories.ts';
import { RESUME_FROM } from './cluster-api.ts';
import { RestClient, clusterAnswers } from './rest-client.ts';
import { CLUSTER_ONLY_KEYS } from './cluster-only-keys.ts';
import { DEFAULT_LOCAL_TASK_MANAGERS, TASK_MANAGER_COUNT_KEY } from './taskmanager/task-manager-settings.ts';

const FLINK_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/flink.js');
const START_TIMEOUT_MS = 30_000;
/**
 * Each look at a starting JobManager is short: the loop looks again until START_TIMEOUT_MS, and a
 * look still pending when the JobManager exited (its port is held by something that never
 * answers) keeps this process alive until it times out, long after the error was reported.
 */
const START_PROBE_TIMEOUT_MS = 1_000;

export interface StartedCluster {
  readonly pid: number;
  readonly log: string;
}

/**
 * The `-D` flags of a `flink run` that belong to the cluster it starts: where it listens, where
 * it keeps its files, and its TaskManagers (how many, their slots and heap: a TaskManager's are
 * set when it starts, as in Flink's per-job clusters), every key of CLUSTER_ONLY_KEYS. The others
 * configure that one job (they travel with its submission); given to the JobManager they would
 * become defaults of every later job.
 */
export function clusterDefines(defines: readonly string[]): string[] {
  return defines.filter((define) => {
    const key = define.slice(0, Math.max(0, define.indexOf('='))).trim();
    // jobmanager.rpc.address is where clients find the cluster, as rest.address is (its fallback
    // key): a cluster started here listens there, and one already running is not refused it.
    return CLUSTER_ONLY_KEYS.includes(key) || key === 'jobmanager.rpc.address' || key.startsWith('rest.') || key.startsWith('taskmanager.') || key.startsWith('slotmanager.') || key.startsWith('resourcemanager.');
  });
}

/**
 * The `-D` flags of the JobManager started for the user: `defines`, and the default
 * `taskmanager.count` (one local TaskManager, as start-cluster.sh starts one on localhost) unless
 * the configuration sets it; `flink jobmanager` alone starts none.
 */
export function jobManagerDefines(config: Config, defines: readonly string[]): string[] {
  return config.get(TASK_MANAGER_COUNT_KEY) === undefined ? [...defines, `${TASK_MANAGER_COUNT_KEY}=${DEFAULT_LOCAL_TASK_MANAGERS}`] : [...defines];
}

/** `defines`: the `-D` flags to hand the JobManager (they become the cluster's configuration). */
export async function startClusterInBackground(url: string, config: Config, defines: readonly string[]): Promise<StartedCluster> {
  const logDirectory = join(workingDir(config), 'log');
  makeDirectoriesSync(logDirectory);
  const log = join(logDirectory, 'jobmanager.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [FLINK_BIN, 'jobmanager', ...jobManagerDefines(config, defines).flatMap((d) => ['-D', d])], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  const exit = new Promise<false>((resolve) => child.on('exit', (code) => ((exited = code), resolve(false))));
  child.unref();
  const logStart = safeSize(log);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // A JobManager that fails to start (its port is in use) is reported at once, without waiting
    // for whatever holds the port to answer.
    if (await Promise.race([clusterAnswers(url, START_PROBE_TIMEOUT_MS), exit])) return { pid: child.pid ?? 0, log };
    if (exited !== undefined) {
      const lines = readFileSync(log, 'utf8').slice(logStart).trim().split('\n');
      throw new UserError(`${lines.at(-1) ?? `The JobManager exited with code ${exited}.`} (log: ${log})`, 1);
    }
    // A probe of a port nobody listens on yet is refused at once, so probing often costs nothing,
    // and the command returns within 20 ms of the JobManager answering (100 ms: 50 ms late on average).
    await sleep(20);
  }
  throw new UserError(`The JobManager did not answer at ${url} within ${START_TIMEOUT_MS / 1000} s; see ${log}.`, 1);
}

export interface StopTimeouts {
  /** How long the JobManager has to stop its jobs and exit after the stop request. */
  readonly graceMs: number;
  /** How long it has after SIGTERM before it is killed. */
  readonly termMs: number;
}

export const STOP_TIMEOUTS: StopTimeouts = { graceMs: 30_000, termMs: 10_000 };

/**
 * Asks the JobManager to stop and returns once it is gone: its process, when `pid` is one on this
 * machine (a closed port alone does not mean the process ended), else its port. A process that
 * outlives the bounded waits gets SIGTERM, then SIGKILL, each said on `log`.
 */
export async function stopCluster(url: string, pid: number | undefined, log: (line: string) => void, timeouts: StopTimeouts = STOP_TIMEOUTS): Promise<void> {
  await new RestClient(url).shutdown();
  if (pid === undefined || !isLocalJobManager(pid)) {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!(await clusterAnswers(url))) return;
      await sleep(100);
    }
    throw new UserError(`The JobManager at ${url} did not stop within ${START_TIMEOUT_MS / 1000} s.`, 1);
  }
  if (await exited(pid, timeouts.graceMs)) return;
  log(`The JobManager (pid ${pid}) did not exit within ${timeouts.graceMs / 1000} s of the stop request; sending it SIGTERM.`);
  signal(pid, 'SIGTERM');
  if (await exited(pid, timeouts.termMs)) return;
  log(`The JobManager (pid ${pid}) did not exit within ${timeouts.termMs / 1000} s of SIGTERM; killing it (SIGKILL). Its running jobs resume when a cluster starts again, ${RESUME_FROM}.`);
  signal(pid, 'SIGKILL');
  if (await exited(pid, 10_000)) return;
  throw new UserError(`The JobManager (pid ${pid}) is still running after SIGKILL; stop it yourself (kill -9 ${pid}).`, 1);
}

/** A pid of this machine whose command line is a JobManager's (not a pid of another host or a reused one). */
function isLocalJobManager(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('jobmanager');
  } catch {
    return false;
  }
}


async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone in between
  }
}

function safeSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
