/** `flink cancel <jobId>`: cancels the job and waits until it is CANCELED. */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { UsageError } from '../errors.ts';
import { awaitJobEnd } from '../engine/cluster/async-operation.ts';
import { clusterClient } from './cluster-client.ts';
import { checkJobId } from './job-id.ts';

export async function runCancel(jobId: string | undefined, options: ClusterOptions, env: CommandEnv): Promise<number> {
  // Flink's line, where the parser would print its own two.
  if (jobId === undefined) throw new UsageError('Missing JobID. Specify a JobID to cancel a job.');
  const id = checkJobId(jobId);
  const client = clusterClient(options, env.config);
  if (options.json !== true) env.ctx.stdout.write(`Cancelling job ${id}.\n`);
  await client.cancel(id);
  const state = await awaitJobEnd(client, id);
  if (options.json === true) env.ctx.stdout.write(`${JSON.stringify({ jobid: id, state })}\n`);
  else env.ctx.stdout.write(state === 'CANCELED' ? `Cancelled job ${id}.\n` : `Job ${id} ended as ${state} before it could be cancelled.\n`);
  return state === 'CANCELED' ? 0 : 1;
}
