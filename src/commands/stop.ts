/** `flink stop [-p [dir]] [--drain] [-detached] <jobId>`: a savepoint, then the job ends as FINISHED. */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { savepointDir } from '../config.ts';
import { UsageError } from '../errors.ts';
import { awaitJobEnd, awaitOperation } from '../engine/cluster/async-operation.ts';
import { absoluteLocation, nonEmptyPath } from '../engine/cluster/locations.ts';
import { clusterClient } from './cluster-client.ts';
import { SavepointProgress } from './savepoint-progress.ts';
import { progressEnabled } from '../output/progress.ts';
import { checkJobId } from './job-id.ts';
import { formatTypeOf } from './savepoint.ts';

export interface StopOptions extends ClusterOptions {
  /** `-p` alone is `true`: the configured default directory. */
  readonly savepointPath?: string | true;
  readonly drain?: boolean;
  readonly type?: string;
  /** Flink's `-detached`: trigger, print the trigger id, return. */
  readonly detached?: boolean;
}

export async function runStop(jobId: string | undefined, options: StopOptions, env: CommandEnv): Promise<number> {
  const formatType = formatTypeOf(options.type);
  // As Flink's CliFrontend: with no job id after the options, a lone -p value is the job id and
  // the savepoint goes to the default directory.
  const given = typeof options.savepointPath === 'string' ? options.savepointPath : undefined;
  const idText = jobId ?? given;
  if (idText === undefined) throw new UsageError('Missing JobID. Usage: flink stop [-p [targetDirectory]] [--drain] <jobId>');
  const id = checkJobId(idText);
  const client = clusterClient(options, env.config);
  const json = options.json === true;
  const drain = options.drain === true;
  const dir = (jobId !== undefined ? given : undefined) ?? savepointDir(env.config);
  const target = dir === undefined ? undefined : absoluteLocation(nonEmptyPath(dir, 'savepointTarget'), env.ctx.cwd ?? process.cwd());
  const detached = options.detached === true;
  if (!json) env.ctx.stdout.write(`${drain ? 'Draining' : 'Suspending'} job "${id}" with a ${formatType} savepoint.\n`);
  // Flink's CliFrontend.stopWithDetachedSavepoint and stopWithSavepoint lines (Flink 1.20).
  if (!json) env.ctx.stdout.write(detached ? `Triggering stop-with-savepoint in detached mode for job ${id}.\n` : `Triggering stop-with-savepoint for job ${id}.\nWaiting for response...\n`);
  const { 'request-id': trigger } = await client.stop(id, { ...(target === undefined ? {} : { targetDirectory: target }), drain, formatType });
  if (detached) {
    env.ctx.stdout.write(json ? `${JSON.stringify({ jobid: id, 'request-id': trigger })}\n` : `Successfully trigger stop-with-savepoint in detached mode, triggerId: ${trigger}\n`);
    return 0;
  }
  const progress = new SavepointProgress(env.ctx.stderr, progressEnabled(env.ctx.stderr, json), () => client.checkpoints(id));
  const { location } = await awaitOperation(() => client.savepointStatus(id, trigger), { what: `the savepoint of job ${id}`, onWait: () => progress.update() }).finally(() => progress.clear());
  // The savepoint is complete; the job ends right after it. Report once it has (or was forgotten, ended).
  await awaitJobEnd(client, id, { timeoutMs: 30_000 });
  if (json) env.ctx.stdout.write(`${JSON.stringify({ jobid: id, location })}\n`);
  else env.ctx.stdout.write(`Savepoint completed. Path: ${location}\n`);
  return 0;
}
