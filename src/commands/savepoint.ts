/**
 * `flink savepoint <jobId> [dir]` (also `-p dir`): a savepoint of a running job.
 * `flink savepoint -d <path>`: disposes of exactly that savepoint.
 */
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { savepointDir } from '../config.ts';
import { UsageError, UserError } from '../errors.ts';
import { awaitOperation } from '../engine/cluster/async-operation.ts';
import { NotFoundError } from '../engine/cluster/cluster-api.ts';
import { absoluteLocation, nonEmptyPath } from '../engine/cluster/locations.ts';
import { clusterClient } from './cluster-client.ts';
import { SavepointProgress } from './savepoint-progress.ts';
import { progressEnabled } from '../output/progress.ts';
import { checkJobId } from './job-id.ts';

export interface SavepointOptions extends ClusterOptions {
  readonly dispose?: string;
  readonly savepointPath?: string;
  readonly type?: string;
  readonly detached?: boolean;
}

/** `--type canonical|native` (any case, as Flink's SavepointFormatType) as REST's formatType. */
export function formatTypeOf(type: string | undefined): 'CANONICAL' | 'NATIVE' {
  const upper = (type ?? 'canonical').toUpperCase();
  if (upper !== 'CANONICAL' && upper !== 'NATIVE') throw new UsageError(`--type ${type}: not a savepoint format; give canonical (the default, restorable on any state backend) or native (the backend's own form, restorable on the same backend only)`);
  return upper;
}

export async function runSavepoint(jobId: string | undefined, targetDirectory: string | undefined, options: SavepointOptions, env: CommandEnv): Promise<number> {
  const formatType = formatTypeOf(options.type);
  const client = clusterClient(options, env.config);
  const cwd = env.ctx.cwd ?? process.cwd();
  const out = env.ctx.stdout;
  const json = options.json === true;
  if (options.dispose !== undefined) {
    // What only taking a savepoint uses would be dropped without a word: said instead.
    const unused = [
      ...(jobId === undefined ? [] : [`the job id ${jobId}`]),
      ...(targetDirectory === undefined ? [] : [`the target directory ${targetDirectory}`]),
      ...(options.savepointPath === undefined ? [] : ['-p']),
      ...(options.type === undefined ? [] : ['--type']),
      ...(options.detached === true ? ['--detached'] : []),
    ];
    if (unused.length > 0) throw new UsageError(`-d disposes of the savepoint it names and takes nothing else: leave out ${unused.join(', ')} (or leave out -d to take a savepoint).`);
    const path = absoluteLocation(nonEmptyPath(options.dispose, 'savepointToDispose'), cwd);
    if (/^[0-9a-fA-F]{32}$/.test(options.dispose) && (await isJob(client, options.dispose))) {
      throw new UserError(
        `-d disposes of a savepoint; ${options.dispose} is a job id. To take a savepoint of that job, run: flink savepoint ${options.dispose} <targetDirectory>`,
        1,
      );
    }
    // Flink's CliFrontend.disposeSavepoint lines, which name the path as given (the JobManager is
    // sent it made absolute against this directory, since its own may be another).
    if (!json) out.write(`Disposing savepoint '${options.dispose}'.\nWaiting for response...\n`);
    const { 'request-id': trigger } = await client.disposeSavepoint(path);
    await awaitOperation(() => client.disposalStatus(trigger), { what: `the disposal of ${path}` });
    out.write(json ? `${JSON.stringify({ disposed: path })}\n` : `Savepoint '${options.dispose}' disposed.\n`);
    return 0;
  }
  if (jobId === undefined) throw new UsageError('Missing JobID. Usage: flink savepoint <jobId> [targetDirectory], or flink savepoint -d <savepointPath>');
  if (targetDirectory !== undefined && options.savepointPath !== undefined && targetDirectory !== options.savepointPath) {
    throw new UsageError(`Two target directories given ('${targetDirectory}' and -p '${options.savepointPath}'); give one.`);
  }
  const id = checkJobId(jobId);
  const given = targetDirectory ?? options.savepointPath ?? savepointDir(env.config);
  const target = given === undefined ? undefined : absoluteLocation(nonEmptyPath(given, 'savepointTarget'), cwd);
  const detached = options.detached === true;
  // Flink's CliFrontend lines, detached or not (its docs show the detached pair).
  if (!json) out.write(detached ? `Triggering savepoint in detached mode for job ${id}.\n` : `Triggering savepoint for job ${id}.\nWaiting for response...\n`);
  const { 'request-id': trigger } = await client.triggerSavepoint(id, { ...(target === undefined ? {} : { 'target-directory': target }), 'cancel-job': false, formatType });
  if (detached) {
    out.write(json ? `${JSON.stringify({ jobid: id, 'request-id': trigger })}\n` : `Successfully trigger manual savepoint, triggerId: ${trigger}\n`);
    return 0;
  }
  const progress = new SavepointProgress(env.ctx.stderr, progressEnabled(env.ctx.stderr, json), () => client.checkpoints(id));
  const { location } = await awaitOperation(() => client.savepointStatus(id, trigger), { what: `the savepoint of job ${id}`, onWait: () => progress.update() }).finally(() => progress.clear());
  out.write(json ? `${JSON.stringify({ jobid: id, location })}\n` : `Savepoint completed. Path: ${location}\nYou can resume your program from this savepoint with the run command.\n`);
  return 0;
}

async function isJob(client: ReturnType<typeof clusterClient>, id: string): Promise<boolean> {
  try {
    await client.job(id.toLowerCase());
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}
