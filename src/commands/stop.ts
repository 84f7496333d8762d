/** `flink stop [-p [dir]] [--drain] <jobId>`: a savepoint, then the job ends as FINISHED. */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { awaitJobEnd, awaitOperation } from '../engine/cluster/async-operation.ts';
import { absoluteLocation } from '../engine/cluster/locations.ts';
import { clusterClient } from './cluster-client.ts';
import { checkJobId } from './job-id.ts';

export interface StopOptions extends ClusterOptions {
  /** `-p` alone is `true`: the configured default directory. */
  readonly savepointPath?: string | true;
  readonly drain?: boolean;
  readonly type?: string;
}

export async function runStop(jobId: string, options: StopOptions, env: CommandEnv): Promise<number> {
  const id = checkJobId(jobId);
  const client = clusterClient(options, env.config);
  const json = options.json === true;
  const target = typeof options.savepointPath === 'string' ? absoluteLocation(options.savepointPath, env.ctx.cwd ?? process.cwd()) : undefined;
  if (!json) env.ctx.stdout.write(`Suspending job "${id}" with a ${(options.type ?? 'canonical').toUpperCase()} savepoint.\n`);
  const { 'request-id': trigger } = await client.stop(id, { ...(target === undefined ? {} : { targetDirectory: target }), drain: options.drain === true });
  const { location } = await awaitOperation(() => client.savepointStatus(id, trigger), { what: `the savepoint of job ${id}` });
  // The savepoint is complete; the job ends right after it. Report once it has.
  await awaitJobEnd(client, id, { timeoutMs: 30_000 });
  if (json) env.ctx.stdout.write(`${JSON.stringify({ jobid: id, location })}\n`);
  else env.ctx.stdout.write(`Savepoint completed. Path: ${location}\n`);
  return 0;
}
