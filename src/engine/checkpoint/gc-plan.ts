/**
 * What `flink gc` deletes from a checkpoint directory, and why each thing stays. Pure: a
 * function of the scan, the options, the clock reading and what the cluster says runs.
 *
 * Deleted: checkpoints without `_metadata` (abandoned), damaged ones, complete ones outside the
 * retention asked for (`--keep N` keeps each job's newest N, `--older-than D` keeps those newer
 * than D; with both, a checkpoint stays when either keeps it), and shared files that no
 * remaining checkpoint references. Never deleted: savepoints, checkpoints in a format this
 * tsflink cannot read, and, for a job the cluster says is running, its latest completed
 * checkpoint, the snapshot it was restored from, checkpoints newer than that latest (in
 * progress, or completed since the cluster was asked) and its shared files (its next checkpoint may reference them).
 */
import { snapshotDirOf } from '../../format/snapshot-paths.ts';
import type { CheckpointDirScan, ScannedCheckpoint } from './checkpoint-dir-scan.ts';

/** A job the cluster says is not over, with what it still needs. */
export interface RunningJob {
  readonly jobId: string;
  readonly latestCheckpointId: number | null;
  /** Locations as the cluster reports them (`file:/...`, a path, or s3://). */
  readonly latestPath: string | null;
  readonly restoredPath: string | null;
}

export interface GcOptions {
  readonly keep?: number;
  readonly olderThan?: { readonly ms: number; readonly text: string };
  readonly now: number;
  /** null: no cluster answered, so nothing is known to run. */
  readonly running: readonly RunningJob[] | null;
}

export interface GcItem {
  readonly kind: 'checkpoint' | 'shared-file' | 'savepoint';
  /** Relative to the checkpoint directory. */
  readonly path: string;
  readonly location: string;
  readonly jobId: string;
  readonly files: number;
  readonly bytes: number;
  readonly action: 'delete' | 'keep';
  readonly reason: string;
}

export interface GcPlan {
  /** Checkpoints, then shared files, then savepoints: the order to delete in. */
  readonly items: readonly GcItem[];
  readonly deletes: { readonly checkpoints: number; readonly sharedFiles: number; readonly bytes: number };
}

const SAVEPOINT = 'a savepoint: gc never deletes savepoints (flink savepoint -d <path> disposes of one)';

export function planGc(scan: CheckpointDirScan, options: GcOptions): GcPlan {
  // A job may be listed more than once (the cluster is asked before and after the scan): each
  // latest is kept, and "newer" counts from the oldest latest.
  const running = new Map<string, { latestIds: Set<number>; floor: number }>();
  for (const j of options.running ?? []) {
    const entry = running.get(j.jobId) ?? { latestIds: new Set<number>(), floor: Number.POSITIVE_INFINITY };
    if (j.latestCheckpointId !== null) entry.latestIds.add(j.latestCheckpointId);
    entry.floor = Math.min(entry.floor, j.latestCheckpointId ?? 0);
    running.set(j.jobId, entry);
  }
  const restoredFrom = (options.running ?? []).flatMap((j) => (j.restoredPath === null ? [] : [{ job: j.jobId, at: normalLocation(j.restoredPath) }]));
  const latestAt = (options.running ?? []).flatMap((j) => (j.latestPath === null ? [] : [{ job: j.jobId, at: normalLocation(j.latestPath) }]));

  // Newest first within each job, to rank for --keep.
  const rank = new Map<ScannedCheckpoint, number>();
  const byJob = new Map<string, ScannedCheckpoint[]>();
  for (const c of scan.checkpoints) if (c.state === 'complete') byJob.set(c.jobId, [...(byJob.get(c.jobId) ?? []), c]);
  for (const list of byJob.values()) [...list].sort((a, b) => b.checkpointId - a.checkpointId).forEach((c, i) => rank.set(c, i));

  const decide = (c: ScannedCheckpoint): { action: 'delete' | 'keep'; reason: string } => {
    const keep = (reason: string) => ({ action: 'keep' as const, reason });
    const remove = (reason: string) => ({ action: 'delete' as const, reason });
    if (c.state === 'savepoint') return keep(SAVEPOINT);
    if (c.state === 'unreadable') return keep(`cannot be read by this tsflink (${c.problem ?? 'unsupported format'}), so it is left alone`);
    const here = normalLocation(c.location);
    const job = running.get(c.jobId);
    const latest = latestAt.find((l) => l.at === here);
    if (latest !== undefined || job?.latestIds.has(c.checkpointId) === true) return keep(`the latest checkpoint of running job ${latest?.job ?? c.jobId}`);
    const restored = restoredFrom.find((r) => r.at === here);
    if (restored !== undefined) return keep(`the restore point of running job ${restored.job}`);
    // The cluster was asked a moment ago: a newer one is in progress or has just completed.
    if (job !== undefined && c.checkpointId > job.floor) return keep('newer than the latest checkpoint its running job reported (in progress or just completed)');
    if (c.state === 'abandoned') return remove('abandoned: no _metadata');
    if (c.state === 'damaged') return remove(`damaged: ${c.problem ?? 'verification failed'}`);
    if (options.keep === undefined && options.olderThan === undefined) return keep('retained (give --keep or --older-than to delete retained checkpoints)');
    const newest = options.keep !== undefined && (rank.get(c) ?? 0) < options.keep;
    const recent = options.olderThan !== undefined && c.createdAt !== null && c.createdAt > options.now - options.olderThan.ms;
    if (newest) return keep(`among the newest ${options.keep} of its job`);
    if (recent) return keep(`newer than ${options.olderThan!.text}`);
    const why = [...(options.keep === undefined ? [] : [`beyond the newest ${options.keep}`]), ...(options.olderThan === undefined ? [] : [`older than ${options.olderThan.text}`])];
    return remove(`retained, ${why.join(' and ')}`);
  };

  const items: GcItem[] = scan.checkpoints.map((c) => ({ kind: 'checkpoint', path: c.path, location: c.location, jobId: c.jobId, files: c.files, bytes: c.bytes, ...decide(c) }));

  const remaining = scan.checkpoints.filter((_, i) => items[i]!.action === 'keep');
  const referenced = new Map<string, string>();
  for (const c of remaining) for (const key of c.references ?? []) if (!referenced.has(key)) referenced.set(key, c.path);
  const blind = new Set(remaining.filter((c) => c.references === null && c.state !== 'abandoned').map((c) => c.jobId));
  const root = scan.location.replace(/\/+$/, '');
  for (const f of scan.shared) {
    const base = { kind: 'shared-file' as const, path: f.key, location: `${root}/${f.key}`, jobId: f.jobId, files: 1, bytes: f.size };
    const by = referenced.get(f.key);
    if (by !== undefined) items.push({ ...base, action: 'keep', reason: `referenced by ${by}` });
    else if (running.has(f.jobId)) items.push({ ...base, action: 'keep', reason: 'its job is running: its next checkpoint may reference it' });
    else if (blind.has(f.jobId)) items.push({ ...base, action: 'keep', reason: 'a remaining checkpoint of its job cannot be read, so what it references is unknown' });
    else items.push({ ...base, action: 'delete', reason: 'referenced by no remaining checkpoint' });
  }

  for (const sp of scan.savepoints) {
    items.push({ kind: 'savepoint', path: sp.path, location: `${root}/${sp.path}`, jobId: sp.path.includes('/') ? sp.path.split('/')[0]! : '', files: sp.files, bytes: sp.bytes, action: 'keep', reason: SAVEPOINT });
  }

  const deleted = items.filter((i) => i.action === 'delete');
  return {
    items,
    deletes: {
      checkpoints: deleted.filter((i) => i.kind === 'checkpoint').length,
      sharedFiles: deleted.filter((i) => i.kind === 'shared-file').length,
      bytes: deleted.reduce((a, i) => a + i.bytes, 0),
    },
  };
}

/** One spelling per location: `file:` dropped, no trailing slash or `/_metadata`. */
export function normalLocation(location: string): string {
  const dir = snapshotDirOf(location);
  const local = /^file:\/\/\//i.test(dir) ? dir.slice(7) : /^file:/i.test(dir) ? dir.slice(5) : dir;
  return local.replace(/\/{2,}/g, (m, offset: number) => (offset > 0 && local.slice(0, offset).endsWith(':') ? m : '/'));
}
