/**
 * `flink taskmanager`: a TaskManager in the foreground, offering `taskmanager.numberOfTaskSlots`
 * slots (default: this machine's cores) to the JobManager at -m host:port (default
 * rest.address:rest.port, or jobmanager.rpc.address:rest.port), until SIGTERM or Ctrl-C (one a
 * JobManager started ignores Ctrl-C: that JobManager stops it).
 */
import { cpus } from 'node:os';
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { startTaskManagerFromConfig } from '../engine/cluster/taskmanager/task-manager-process.ts';
import { UsageError } from '../errors.ts';
import { clusterUrl } from './cluster-client.ts';

export async function runTaskManagerCommand(options: ClusterOptions, env: CommandEnv): Promise<number> {
  if (options.json === true) throw new UsageError('flink taskmanager writes a log, not JSON: leave out --json (GET /taskmanagers on the JobManager gives them as JSON)');
  const log = (line: string): void => env.ctx.stderr.write(`${new Date().toISOString()} ${line}\n`);
  // Started by a JobManager (cluster start): it goes when that JobManager goes.
  const startedByJobManager = process.send !== undefined;
  const orphaned = (): void => void process.kill(process.pid, 'SIGKILL');
  if (process.connected) process.once('disconnect', orphaned);
  // Its JobManager died while it was starting: an orphan would register with the next one.
  else if (startedByJobManager) orphaned();
  // A terminal's Ctrl-C (`flink jobmanager` in the foreground) reaches this process together with its
  // JobManager (one process group). That JobManager suspends its jobs and then stops this one with
  // SIGTERM; stopping on SIGINT now, the jobs would first see it lost (and fail, or restart).
  if (startedByJobManager) process.on('SIGINT', () => log('SIGINT ignored: the JobManager that started this TaskManager stops it'));
  // Flink's TaskManagers find the JobManager by jobmanager.rpc.address, which clusterUrl reads when rest.address is unset.
  const tm = await startTaskManagerFromConfig(env.config, clusterUrl(options, env.config), log, cpus().length);
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (): void => void tm.stop().then(stopped);
  process.once('SIGTERM', stop);
  if (!startedByJobManager) process.once('SIGINT', stop);
  await done;
  log(`TaskManager ${tm.id} stopped`);
  // Stopped on purpose: the JobManager's IPC channel and idle HTTP keep-alive sockets must not
  // hold the process (the JobManager waits for it to exit).
  process.off('disconnect', orphaned);
  if (process.connected) process.disconnect();
  setTimeout(() => process.exit(0), 500).unref();
  return 0;
}
