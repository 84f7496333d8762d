/**
 * Starts a JobManager in the background (`flink cluster start`, and `flink run` when none
 * answers) and stops one. The JobManager is `flink jobmanager` in a detached process whose
 * output goes to `<working dir>/log/jobmanager.log`.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Config, workingDir } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { RestClient, clusterAnswers } from './rest-client.ts';

const FLINK_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/flink.js');
const START_TIMEOUT_MS = 30_000;

export interface StartedCluster {
  readonly pid: number;
  readonly log: string;
}

/** `defines`: the `-D` flags to hand the JobManager (they become the cluster's configuration). */
export async function startClusterInBackground(url: string, config: Config, defines: readonly string[]): Promise<StartedCluster> {
  const logDirectory = join(workingDir(config), 'log');
  mkdirSync(logDirectory, { recursive: true });
  const log = join(logDirectory, 'jobmanager.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [FLINK_BIN, 'jobmanager', ...defines.flatMap((d) => ['-D', d])], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  const exit = new Promise<false>((resolve) => child.on('exit', (code) => ((exited = code), resolve(false))));
  child.unref();
  const logStart = safeSize(log);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // A JobManager that fails to start (its port is in use) is reported at once, without waiting
    // for whatever holds the port to answer.
    if (await Promise.race([clusterAnswers(url), exit])) return { pid: child.pid ?? 0, log };
    if (exited !== undefined) {
      const lines = readFileSync(log, 'utf8').slice(logStart).trim().split('\n');
      throw new UserError(`${lines.at(-1) ?? `The JobManager exited with code ${exited}.`} (log: ${log})`, 1);
    }
    await sleep(100);
  }
  throw new UserError(`The JobManager did not answer at ${url} within ${START_TIMEOUT_MS / 1000} s; see ${log}.`, 1);
}

/** Asks the JobManager to stop and waits until its port is free. */
export async function stopCluster(url: string): Promise<void> {
  await new RestClient(url).shutdown();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!(await clusterAnswers(url))) return;
    await sleep(100);
  }
  throw new UserError(`The JobManager at ${url} did not stop within ${START_TIMEOUT_MS / 1000} s.`, 1);
}

function safeSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
