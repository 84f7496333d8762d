/**
 * `flink run`: builds the job here first (so a job that cannot start is reported at once and
 * nothing is submitted), bundles its code with its local imports for the cluster, starts a local cluster when none answers (unless -m names one),
 * submits, and then either returns (-d) or follows the job to its end, cancelling it on Ctrl-C.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { claimMode, defineEntries, ignoreUnclaimedState, savepointPath } from '../config.ts';
import { NotFoundError, TERMINAL_STATES } from '../engine/cluster/cluster-api.ts';
import { CHECKPOINT_KEYS } from '../engine/checkpoint/checkpoint-config.ts';
import { UsageError, UserError } from '../errors.ts';
import type { ExceptionEntry, JobDetails, SubmitRequest } from '../engine/cluster/cluster-api.ts';
import { clusterDefines, startClusterInBackground } from '../engine/cluster/cluster-launcher.ts';
import { jobSettingsFromConfig } from '../engine/cluster/job-settings.ts';
import { bundleJob } from '../engine/cluster/job-bundle.ts';
import { prepareJob } from '../engine/cluster/prepare-job.ts';
import { NoClusterError, RestClient } from '../engine/cluster/rest-client.ts';
import { absoluteLocation, nonEmptyPath } from '../engine/cluster/locations.ts';
import { clusterUrl } from './cluster-client.ts';
import { JobProgress } from './job-progress.ts';

export interface RunOptions extends ClusterOptions {
  readonly detached?: boolean;
  readonly parallelism?: number;
  readonly fromSavepoint?: string;
  readonly allowNonRestoredState?: boolean;
  readonly claimMode?: string;
  /** Flink's deprecated name of --claimMode (`-rm`); --claimMode wins when both are given, as in Flink. */
  readonly restoreMode?: string;
  /** The flags as typed, by their `--` form (`runFlagSpellings`), for messages that name one. */
  readonly typedFlags?: ReadonlyMap<string, string>;
}

export async function runRun(jobFile: string, args: readonly string[], options: RunOptions, env: CommandEnv): Promise<number> {
  const { ctx, config } = env;
  const cwd = ctx.cwd ?? process.cwd();
  const file = resolve(cwd, nonEmptyPath(jobFile, 'jobFile'));
  const snapshot = options.fromSavepoint ?? savepointPath(config);
  const claimFlag = options.claimMode ?? options.restoreMode;
  // Flink reads the claim mode only with -s and drops it otherwise; a claim that claims nothing is said, not ignored.
  if (claimFlag !== undefined && snapshot === undefined) {
    // Named as typed: a user who wrote -rm looks for -rm in the command line, not --claimMode.
    const long = options.claimMode !== undefined ? '--claimMode' : '--restoreMode';
    const flag = options.typedFlags?.get(long) ?? long;
    throw new UsageError(`${flag} ${claimFlag} says who owns the snapshot the job starts from, and none is given: add -s <savepoint or retained checkpoint> (or set execution.state-recovery.path), or leave out ${flag}.`);
  }
  if (options.allowNonRestoredState === true && snapshot === undefined) {
    throw new UsageError('-n (--allowNonRestoredState) lets the job skip state of the snapshot it starts from, and none is given: add -s <savepoint or retained checkpoint> (or set execution.state-recovery.path), or leave out -n.');
  }
  const restorePath = snapshot === undefined ? undefined : absoluteLocation(nonEmptyPath(snapshot, 'snapshot'), cwd);
  const allowNonRestoredState = options.allowNonRestoredState === true || ignoreUnclaimedState(config);
  const prepared = await prepareJob(file, args, jobSettingsFromConfig(config, options.parallelism), restorePath === undefined ? undefined : { path: restorePath, allowNonRestoredState });
  // The cluster runs the code as it is now, whatever becomes of the file (Flink uploads the jar).
  const jobBundle = await bundleJob(file);

  const url = clusterUrl(options, config);
  const client = new RestClient(url);
  if (await nothingAnswers(client, url, options.jobmanager !== undefined)) {
    ctx.stderr.write(`No cluster answers at ${url}; starting a local one in the background ('flink cluster stop' stops it).\n`);
    await startClusterInBackground(url, config, clusterDefines(options.define));
  }
  const request: SubmitRequest = {
    jobFile: file,
    jobBundle,
    programArgs: [...args],
    ...(options.parallelism === undefined ? {} : { parallelism: options.parallelism }),
    ...(restorePath === undefined ? {} : { savepointPath: restorePath, allowNonRestoredState }),
    claimMode: claimFlag === undefined ? claimMode(config) : claimFlag.toUpperCase() === 'CLAIM' ? 'CLAIM' : 'NO_CLAIM',
    cwd,
    config: Object.fromEntries(defineEntries(options.define).map(([key, value]) => [key, DIRECTORY_KEYS.has(key) && value !== '' ? absoluteLocation(value, cwd) : value])),
  };
  const { jobid } = await client.submit(request);
  if (options.json === true) ctx.stdout.write(`${JSON.stringify({ jobid, name: prepared.jobName, detached: options.detached === true })}\n`);
  else ctx.stdout.write(`Job has been submitted with JobID ${jobid}\n`);
  if (options.detached === true) return 0;
  return follow(client, jobid, options, env);
}

/**
 * Directories a run's `-D` names, made absolute here as `-s` is: the JobManager and its
 * TaskManagers run in another directory, where a relative one would put the job's checkpoints and
 * savepoints far from where the user ran the command (and looks for them).
 */
const DIRECTORY_KEYS: ReadonlySet<string> = new Set(
  [CHECKPOINT_KEYS.dir, CHECKPOINT_KEYS.savepointDir, CHECKPOINT_KEYS.localRootDir].flatMap((k) => [k.key, ...k.deprecated]),
);

/**
 * Whether a local cluster should be started: only when nothing answers at all. A server there
 * that is not a JobManager (or one too slow to answer) is reported as what it is, since a cluster
 * started there would fail on its port; and with -m, which names a cluster rather than asking
 * for one, nothing answering is an error whose advice fits `run -m`.
 */
async function nothingAnswers(client: RestClient, url: string, named: boolean): Promise<boolean> {
  try {
    await client.overview();
    return false;
  } catch (err) {
    if (!(err instanceof NoClusterError)) throw err;
    if (named) {
      const address = url.replace(/^http:\/\//, '');
      throw new NoClusterError(url, err.timeoutMs, { cause: err.cause, advice: `Start one there with 'flink cluster start -m ${address}', or leave out -m and 'flink run' starts a local one.` });
    }
    if (err.timeoutMs !== undefined) throw err;
    return true;
  }
}

/** Attached mode: progress while it runs, Ctrl-C cancels, the exit code says how it ended. */
async function follow(client: RestClient, jobId: string, options: RunOptions, env: CommandEnv): Promise<number> {
  const { ctx } = env;
  let interrupted = false;
  const onInterrupt = (): void => {
    if (interrupted) return;
    interrupted = true;
    ctx.stderr.write(`\nCancelling job ${jobId}.\n`);
    void client.cancel(jobId).catch(() => undefined);
  };
  process.on('SIGINT', onInterrupt);
  const progress = new JobProgress(ctx.stderr, options.json !== true && ctx.stderr.isTTY === true);
  let details: JobDetails;
  let restartsSeen = 0;
  let failuresShownUpTo = 0;
  try {
    for (;;) {
      details = await client.job(jobId).catch((err: unknown) => {
        // It was submitted, so an unknown id means it ended and the JobManager forgot it before a poll saw its end.
        if (err instanceof NotFoundError) throw new UserError(forgottenLine(jobId), 1);
        throw err;
      });
      // A job that keeps restarting should say why, not only that it is RESTARTING.
      if (details['num-restarts'] > restartsSeen) {
        restartsSeen = details['num-restarts'];
        const history = (await client.exceptions(jobId).catch(() => undefined))?.exceptionHistory.entries ?? [];
        const fresh = history.filter((e) => e.timestamp > failuresShownUpTo).reverse();
        if (fresh.length > 0) progress.clear();
        for (const e of fresh) ctx.stderr.write(`Job ${jobId} failed and restarts (restart ${restartsSeen}): ${failureLine(e)}\n${options.verbose === true && e.taskName !== null ? `${e.stacktrace}\n` : ''}`);
        failuresShownUpTo = Math.max(failuresShownUpTo, ...history.map((e) => e.timestamp));
      }
      if (TERMINAL_STATES.has(details.state)) break;
      progress.update(details, await client.checkpoints(jobId).catch(() => undefined));
      // Two small GETs per look; a job's end is seen within 100 ms (500 ms made every attached run 250 ms longer on average).
      await sleep(100);
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.clear();
  }
  const runtime = details.duration;
  if (options.json === true) ctx.stdout.write(`${JSON.stringify({ jobid: jobId, state: details.state, duration: runtime, 'failure-cause': details['failure-cause'] ?? null })}\n`);
  switch (details.state) {
    case 'FINISHED':
      if (options.json !== true) ctx.stdout.write(`Program execution finished\nJob with JobID ${jobId} has finished.\nJob Runtime: ${runtime} ms\n`);
      return 0;
    case 'CANCELED':
      if (options.json !== true) ctx.stdout.write(interrupted ? `Cancelled job ${jobId}.\n` : `Job with JobID ${jobId} was cancelled.\n`);
      return interrupted ? 130 : 1;
    default: {
      ctx.stderr.write(`Job with JobID ${jobId} failed: ${details['failure-cause'] ?? 'unknown cause'}\n`);
      if (options.verbose === true) {
        const root = (await client.exceptions(jobId).catch(() => undefined))?.exceptionHistory.entries[0];
        if (root !== undefined && root.taskName !== null) ctx.stderr.write(`${root.stacktrace}\n`);
      }
      return 1;
    }
  }
}

/** A job that ended and was forgotten before the attached run saw how (jobstore.expiration-time 0, or jobstore.max-capacity). */
function forgottenLine(jobId: string): string {
  return `Job ${jobId} ended, but the cluster forgot it before its end state could be read (it keeps finished jobs for jobstore.expiration-time, at most jobstore.max-capacity of them): the JobManager's log says how it ended (log/jobmanager.log: 'job ${jobId} ... is forgotten'); keep finished jobs longer to see it here.`;
}

/** One line for a failure: the task it happened in and the error, without the stack (that is for --verbose). */
function failureLine(e: ExceptionEntry): string {
  const first = e.stacktrace.split('\n')[0] ?? '';
  return e.taskName === null ? first : `${e.taskName}: ${first}`;
}
