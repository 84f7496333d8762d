/** `flink jobmanager`: a JobManager in the foreground, until DELETE /cluster, SIGTERM or Ctrl-C. */
import type { CommandEnv, CommonOptions } from '../cli.ts';
import { runJobManager } from '../engine/cluster/job-manager.ts';
import { UsageError } from '../errors.ts';

export async function runJobManagerCommand(options: CommonOptions, env: CommandEnv): Promise<number> {
  if (options.json === true) throw new UsageError('flink jobmanager writes a log, not JSON: leave out --json (the REST API answers in JSON)');
  const log = (line: string): void => env.ctx.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const jm = await runJobManager(env.config, log);
  const stop = (): void => void jm.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await jm.stopped;
  log('JobManager stopped');
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  return 0;
}
