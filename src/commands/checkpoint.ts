/**
 * `flink checkpoint <jobId> [--full]`: a checkpoint now, outside the periodic schedule. Flink
 * prints the type asked for: CONFIGURED (what the job is configured to take: incremental with
 * `execution.checkpointing.incremental`) or FULL (every key group written whole).
 */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { UsageError } from '../errors.ts';
import { awaitOperation } from '../engine/cluster/async-operation.ts';
import { clusterClient } from './cluster-client.ts';
import { checkJobId } from './job-id.ts';

export async function runCheckpoint(jobId: string | undefined, options: ClusterOptions & { readonly full?: boolean }, env: CommandEnv): Promise<number> {
  // One line, as savepoint and stop say it, rather than the parser's two.
  if (jobId === undefined) throw new UsageError('Missing JobID. Usage: flink checkpoint [--full] <jobId>');
  const id = checkJobId(jobId);
  const client = clusterClient(options, env.config);
  const json = options.json === true;
  if (!json) env.ctx.stdout.write(`Triggering checkpoint for job ${id}.\nWaiting for response...\n`);
  const type = options.full === true ? 'FULL' : 'CONFIGURED';
  const { 'request-id': trigger } = await client.triggerCheckpoint(id, { checkpointType: type });
  const { checkpointId } = await awaitOperation(() => client.checkpointStatus(id, trigger), { what: `the checkpoint of job ${id}` });
  if (json) env.ctx.stdout.write(`${JSON.stringify({ jobid: id, checkpointId })}\n`);
  else env.ctx.stdout.write(`Checkpoint(${type}) ${checkpointId} for job ${id} completed.\n`);
  return 0;
}
