/**
 * The JobManager process: owns a working directory (job records, logs, checkpoints by
 * default), serves the REST API, runs the dispatcher, and resumes the jobs an earlier
 * JobManager on the same working directory left running. One JobManager per working directory:
 * two would both resume the same jobs.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, restBindAddress, restMaxContentLength, restPort, storeOptions, workingDir } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { processRunning } from '../../process-running.ts';
import { makeDirectoriesSync } from '../../storage/make-directories.ts';
import { RESUME_FROM } from './cluster-api.ts';
import { Dispatcher } from './dispatcher.ts';
import { JobStore } from './job-store.ts';
import { type RestServer, startRestServer } from './rest-server.ts';
import { dashboardAssets } from './dashboard-assets.ts';
import { type LocalTaskManagers, startLocalTaskManagers } from './taskmanager/local-task-managers.ts';
import { taskManagerSettings } from './taskmanager/task-manager-settings.ts';

export interface RunningJobManager {
  readonly url: string;
  readonly workingDirectory: string;
  /** Resolves when the JobManager has stopped (DELETE /cluster, SIGTERM, or `stop()`). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

const JOBMASTER_ENTRY = new URL('../../../bin/tsflink-jobmaster.js', import.meta.url);

export async function runJobManager(config: Config, log: (line: string) => void): Promise<RunningJobManager> {
  const workingDirectory = workingDir(config);
  const logDirectory = join(workingDirectory, 'log');
  makeDirectoriesSync(logDirectory);
  const pidFile = join(workingDirectory, 'jobmanager.pid');
  const other = readPid(pidFile);
  if (other !== undefined && other !== process.pid && processRunning(other)) {
    throw new UserError(`Another JobManager (pid ${other}) uses the working directory ${workingDirectory}. Stop it with 'flink cluster stop', or give this one another directory with -D process.jobmanager.working-dir=<dir>.`, 1);
  }
  const cluster = Object.fromEntries(config);
  let stopping: Promise<void> | undefined;
  let server: RestServer | undefined;
  let taskManagers: LocalTaskManagers | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const dispatcher = new Dispatcher({
    store: new JobStore(workingDirectory),
    workingDirectory,
    logDirectory,
    jobMasterEntry: JOBMASTER_ENTRY,
    config: cluster,
    storeOptions: storeOptions(config),
    log,
    onShutdown: () => void stop(),
  });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log(`JobManager stopping; running jobs resume when a JobManager starts again on this working directory, ${RESUME_FROM}`);
      await server?.close();
      // The jobs first: they are suspended (their JobMaster threads end, their records stay as they
      // are). TaskManagers stopped under running jobs would fail them, or restart them, for a loss
      // that is no failure of theirs.
      await dispatcher.close();
      await taskManagers?.stop();
      rmSync(pidFile, { force: true });
      resolveStopped();
    })());
  // The REST port first: if it is taken, nothing else may start (no job is resumed twice).
  server = await startRestServer(dispatcher, { bindAddress: restBindAddress(config), port: restPort(config), maxContentLength: restMaxContentLength(config), onInternalError: (err) => log(`REST: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`), dashboard: dashboardAssets() });
  writeFileSync(pidFile, `${process.pid}\n`);
  log(`JobManager (pid ${process.pid}) serving ${server.url}, working directory ${workingDirectory}`);
  const count = taskManagerSettings(cluster).count;
  if (count > 0) {
    taskManagers = startLocalTaskManagers(count, { jobManagerUrl: server.url, config: cluster, logDirectory, log });
    dispatcher.manageLocalTaskManagers(taskManagers);
  }
  await dispatcher.recover();
  return { url: server.url, workingDirectory, stopped, stop };
}

function readPid(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

