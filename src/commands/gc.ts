/**
 * `flink gc <checkpoint-dir>`: finds what is safe to delete in a checkpoint directory (abandoned
 * and damaged checkpoints, retained ones outside --keep/--older-than, unreferenced shared files),
 * asks the cluster, when one answers, what its running jobs still need, and deletes the rest
 * (or, with --dry-run, lists it with its bytes).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ClusterOptions, CommandEnv } from '../cli.ts';
import { storeOptions } from '../config.ts';
import { UsageError, UserError } from '../errors.ts';
import { scanCheckpointDir } from '../engine/checkpoint/checkpoint-dir-scan.ts';
import { DURATION_SYNTAX, parseFlinkDuration } from '../engine/checkpoint/flink-duration.ts';
import { deleteItem } from '../engine/checkpoint/gc-delete.ts';
import { type GcItem, type RunningJob, planGc } from '../engine/checkpoint/gc-plan.ts';
import { TERMINAL_STATES } from '../engine/cluster/cluster-api.ts';
import { NoClusterError, RestClient } from '../engine/cluster/rest-client.ts';
import { nonEmptyPath } from '../engine/cluster/locations.ts';
import { openStore } from '../storage/open-store.ts';
import { formatBytes } from '../output/bytes.ts';
import { clusterUrl } from './cluster-client.ts';

export interface GcOptions extends ClusterOptions {
  readonly dryRun?: boolean;
  readonly keep?: number;
  readonly olderThan?: string;
}

export async function runGc(dir: string, options: GcOptions, { ctx, config }: CommandEnv): Promise<number> {
  const olderThanMs = options.olderThan === undefined ? undefined : parseFlinkDuration(options.olderThan);
  if (options.olderThan !== undefined && olderThanMs === undefined) throw new UsageError(`--older-than '${options.olderThan}' is not a duration: use ${DURATION_SYNTAX}.`);
  const location = await checkpointDirLocation(nonEmptyPath(dir, 'checkpointDir'), ctx.cwd ?? process.cwd());
  const opts = storeOptions(config);

  const url = clusterUrl(options, config);
  const client = new RestClient(url);
  const runningBefore = (await clusterListening(client, url, options.jobmanager !== undefined)) ? await runningJobs(client) : null;
  if (runningBefore === null) ctx.stderr.write(`No cluster answers at ${url}: running jobs cannot be asked what they still need, so checkpoints are judged by their files alone.\n`);

  const store = await openStore(location, opts);
  const scan = await scanCheckpointDir(store, location, (at) => openStore(at, opts));
  // Asked again after the scan (which reads every checkpoint, so takes a while): a job started
  // meanwhile from a checkpoint here keeps it; the earlier answer keeps what was in progress then.
  const running = runningBefore === null ? null : [...runningBefore, ...(await runningJobs(client))];
  const plan = planGc(scan, {
    ...(options.keep === undefined ? {} : { keep: options.keep }),
    ...(olderThanMs === undefined ? {} : { olderThan: { ms: olderThanMs, text: options.olderThan!.trim() } }),
    now: Date.now(),
    running,
  });
  const dryRun = options.dryRun === true;
  const { deletes } = plan;
  if (options.json === true) {
    if (!dryRun) for (const item of plan.items) await deleteItem(store, item, opts);
    ctx.stdout.write(`${JSON.stringify({ location, dryRun, cluster: { url, answered: running !== null, runningJobs: [...new Set(running?.map((j) => j.jobId) ?? [])] }, items: plan.items, deletes, otherFiles: scan.other.length }, null, 2)}\n`);
    return 0;
  }
  const jobs = new Set(scan.checkpoints.map((c) => c.jobId)).size;
  const other = scan.other.length === 0 ? '' : ` (and ${scan.other.length} other file(s), left alone)`;
  ctx.stdout.write(`Checkpoint directory ${location}: ${scan.checkpoints.length} checkpoint(s) of ${jobs} job(s), ${scan.shared.length} shared file(s)${other}.\n`);
  if (running !== null) {
    const ids = [...new Set(running.map((j) => j.jobId))];
    ctx.stdout.write(`The cluster at ${url} runs ${ids.length} job(s)${ids.length === 0 ? '' : `: ${ids.join(', ')}`}.\n`);
  }
  // Each line once its deletion is done, so a failure midway leaves a true account above it.
  for (const item of plan.items) {
    if (!dryRun) await deleteItem(store, item, opts);
    ctx.stdout.write(`${line(item, dryRun)}\n`);
  }
  const what = `${deletes.checkpoints} checkpoint(s) and ${deletes.sharedFiles} shared file(s), ${formatBytes(deletes.bytes)}`;
  if (deletes.checkpoints + deletes.sharedFiles === 0) ctx.stdout.write('Nothing to delete.\n');
  else ctx.stdout.write(dryRun ? `Would delete ${what}. Run without --dry-run to delete them.\n` : `Deleted ${what}.\n`);
  return 0;
}

/**
 * Whether to ask a JobManager what its jobs still need (false: judge by the files alone). Only
 * nothing listening at all means no cluster: a server there that is not a JobManager, or one too
 * slow to answer, is reported as what it is, since judging by the files alone could delete what a
 * running job needs. A JobManager named with -m that does not answer is more likely a typo than
 * no cluster at all, so that is an error whose advice fits gc (which never starts a cluster).
 */
async function clusterListening(client: RestClient, url: string, named: boolean): Promise<boolean> {
  try {
    await client.overview();
    return true;
  } catch (err) {
    if (!(err instanceof NoClusterError) || err.timeoutMs !== undefined) throw err;
    if (named) {
      throw new NoClusterError(url, undefined, {
        cause: err.cause,
        advice: 'Check the address, or leave out -m: gc then asks rest.address:rest.port, and judges checkpoints by their files alone when nothing answers there.',
      });
    }
    return false;
  }
}

function line(item: GcItem, dryRun: boolean): string {
  const action = item.action === 'keep' ? 'keep' : dryRun ? 'would delete' : 'deleted';
  const size = item.kind === 'shared-file' ? formatBytes(item.bytes) : `${item.files} file(s), ${formatBytes(item.bytes)}`;
  return `${action.padEnd(12)} ${item.path}  (${size}): ${item.reason}`;
}

/** Each job that is not over, with its latest completed checkpoint and its restore point. */
async function runningJobs(client: RestClient): Promise<RunningJob[]> {
  const { jobs } = await client.jobs();
  const out: RunningJob[] = [];
  for (const job of jobs) {
    if (TERMINAL_STATES.has(job.status)) continue;
    const stats = await client.checkpoints(job.id);
    const latest = stats.latest.completed;
    out.push({ jobId: job.id, latestCheckpointId: latest?.id ?? null, latestPath: latest?.external_path ?? null, restoredPath: stats.latest.restored?.external_path ?? null });
  }
  return out;
}

/** An s3:// URL as given; a local directory made absolute (so it compares with what the cluster reports), and checked. */
async function checkpointDirLocation(dir: string, cwd: string): Promise<string> {
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(dir) && !/^file:/i.test(dir)) return dir.replace(/\/+$/, '');
  const path = resolve(cwd, /^file:/i.test(dir) ? dir.replace(/^file:(\/\/)?/i, '') : dir);
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(err.code === 'ENOENT' ? `${dir}: no such directory` : `${dir}: cannot read (${err.code ?? err.message})`);
  });
  if (!info.isDirectory()) throw new UserError(`${dir}: not a directory (give the checkpoint directory, execution.checkpointing.dir)`);
  return path;
}
