/**
 * `flink cancel <jobId>`: cancels the job and waits until it is CANCELED.
 * `flink cancel -s [targetDirectory] <jobId>`: Flink's deprecated cancel with a savepoint, one REST
 * call as Flink's client makes (`cancel-job: true`): the JobMaster stops periodic checkpoints,
 * takes the savepoint and cancels once it completes; if it fails, the job runs on.
 */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { savepointDir } from '../config.ts';
import { UsageError } from '../errors.ts';
import { awaitJobEnd, awaitOperation } from '../engine/cluster/async-operation.ts';
import type { JobState } from '../engine/cluster/cluster-api.ts';
import { absoluteLocation, nonEmptyPath } from '../engine/cluster/locations.ts';
import { progressEnabled } from '../output/progress.ts';
import { clusterClient } from './cluster-client.ts';
import { checkJobId } from './job-id.ts';
import { formatTypeOf } from './savepoint.ts';
import { SavepointProgress } from './savepoint-progress.ts';

export interface CancelOptions extends ClusterOptions {
  /** `-s` alone is `true`: the configured default directory. */
  readonly withSavepoint?: string | true;
  /** `-type`: the format of the savepoint `-s` takes. */
  readonly type?: string;
}

const MISSING_JOB_ID = 'Missing JobID. Specify a JobID to cancel a job.';

export async function runCancel(jobId: string | undefined, options: CancelOptions, env: CommandEnv): Promise<number> {
  if (options.withSavepoint !== undefined) return cancelWithSavepoint(jobId, options.withSavepoint, options, env);
  // Flink reads -type only with -s; a format for no savepoint is said, not ignored.
  if (options.type !== undefined) throw new UsageError(`-type ${options.type} is the format of the savepoint that -s [targetDirectory] takes before cancelling, and -s is not given: add it, or leave out -type (flink stop -type ${options.type} <jobId> is the savepoint and stop that Flink recommends).`);
  // Flink's line, where the parser would print its own two.
  if (jobId === undefined) throw new UsageError(MISSING_JOB_ID);
  const id = checkJobId(jobId);
  const client = clusterClient(options, env.config);
  if (options.json !== true) env.ctx.stdout.write(`Cancelling job ${id}.\n`);
  await client.cancel(id);
  const state = await awaitJobEnd(client, id);
  if (options.json === true) env.ctx.stdout.write(`${JSON.stringify({ jobid: id, state: state ?? null })}\n`);
  else env.ctx.stdout.write(cancelled(state) ? `Cancelled job ${id}.\n` : endedBefore(id, state));
  return cancelled(state) ? 0 : 1;
}

/**
 * The cancel took: the job ended CANCELED, or ended and was forgotten before it could be seen
 * (undefined), when the cancel the JobManager accepted is all there is to report, as Flink's
 * client reports it without waiting for the end.
 */
function cancelled(state: JobState | undefined): state is 'CANCELED' | undefined {
  return state === 'CANCELED' || state === undefined;
}

async function cancelWithSavepoint(jobId: string | undefined, withSavepoint: string | true, options: CancelOptions, env: CommandEnv): Promise<number> {
  const formatType = formatTypeOf(options.type);
  // As Flink's CliFrontend (and stop -p): with no job id after the options, a lone -s value is the job id.
  const given = typeof withSavepoint === 'string' ? withSavepoint : undefined;
  const idText = jobId ?? given;
  if (idText === undefined) throw new UsageError(MISSING_JOB_ID);
  const id = checkJobId(idText);
  const json = options.json === true;
  const out = env.ctx.stdout;
  const onCommandLine = jobId !== undefined ? given : undefined;
  const dir = onCommandLine ?? savepointDir(env.config);
  const target = dir === undefined ? undefined : absoluteLocation(nonEmptyPath(dir, 'savepointTarget'), env.ctx.cwd ?? process.cwd());
  // Flink's CliFrontend lines, on stdout as its logAndSysout; the warning goes to stderr only under
  // --json, where stdout is one JSON document. Flink names the directory as given on the command
  // line, and any other (a configured one included) as the default.
  (json ? env.ctx.stderr : out).write('DEPRECATION WARNING: Cancelling a job with savepoint is deprecated. Use "stop" instead.\n');
  if (!json) out.write(`Cancelling job ${id} with ${formatType} savepoint to ${onCommandLine ?? 'default savepoint directory'}.\n`);
  const client = clusterClient(options, env.config);
  const { 'request-id': trigger } = await client.triggerSavepoint(id, { ...(target === undefined ? {} : { 'target-directory': target }), 'cancel-job': true, formatType });
  const progress = new SavepointProgress(env.ctx.stderr, progressEnabled(env.ctx.stderr, json), () => client.checkpoints(id));
  const { location } = await awaitOperation(() => client.savepointStatus(id, trigger), { what: `the savepoint of job ${id}`, onWait: () => progress.update() }).finally(() => progress.clear());
  const state = await awaitJobEnd(client, id);
  if (json) out.write(`${JSON.stringify({ jobid: id, state: state ?? null, location })}\n`);
  else out.write(cancelled(state) ? `Cancelled job ${id}. Savepoint stored in ${location}.\n` : `${endedBefore(id, state).trimEnd()} Savepoint stored in ${location}.\n`);
  return cancelled(state) ? 0 : 1;
}

function endedBefore(id: string, state: JobState): string {
  return `Job ${id} ended as ${state} before it could be cancelled.\n`;
}
