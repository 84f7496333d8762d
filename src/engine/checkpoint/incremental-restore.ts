/**
 * Incremental checkpoints after a restore: whether the first checkpoint may build on the
 * restored checkpoint's chains (refer to its shared files) or must be full. Flink's rule: the
 * job's own checkpoints (a failover) and a `claim`ed one are the job's to build on and later
 * delete; with `no_claim` (the default) the restored snapshot is never referred to, so the first
 * checkpoint is full. Shared paths are relative to the checkpoint root, so chains of a checkpoint
 * under another root cannot be referred to from this job's checkpoints either.
 */
import { resolve } from 'node:path';
import { snapshotDirOf } from '../../format/snapshot-paths.ts';
import type { ClaimMode } from './checkpoint-types.ts';

export interface RestoreOrigin {
  /** The snapshot this attempt restores from. */
  readonly restoreFrom: string;
  /** What the user named with `--fromSavepoint` (undefined: none; a restore then is a failover). */
  readonly userRestore: string | undefined;
  readonly claimMode: ClaimMode | undefined;
  /** `execution.checkpointing.dir`. */
  readonly checkpointDir: string | null;
  /** This job's id: a checkpoint in `<checkpointDir>/<jobId>/` is its own (a restart by a new worker or JobManager). */
  readonly jobId: string;
  /**
   * Locations of the job's retained checkpoints: a JobManager claims a snapshot by adding it to the
   * job's retained list before the job starts (so its record holds it across restarts), and the
   * job's thread then restores it as one of its own, with no claim mode of its own to say so.
   */
  readonly retained?: readonly string[];
}

/** Whether the restored snapshot is the job's own to build on and, with `claim`, to delete. */
export function ownsRestoredSnapshot(origin: RestoreOrigin): boolean {
  if (origin.checkpointDir === null || !underRoot(origin.restoreFrom, origin.checkpointDir)) return false;
  const ownDirectory = normalize(snapshotDirOf(origin.restoreFrom)).split('/').at(-2) === origin.jobId;
  const failover = ownDirectory || origin.userRestore === undefined || origin.restoreFrom !== origin.userRestore;
  const restored = normalize(snapshotDirOf(origin.restoreFrom));
  const retained = (origin.retained ?? []).some((location) => normalize(snapshotDirOf(location)) === restored);
  return failover || retained || origin.claimMode === 'CLAIM';
}

/** `<root>/<jobId>/chk-<n>`: the snapshot directory's grandparent is `root`. */
export function underRoot(location: string, root: string): boolean {
  const parts = normalize(snapshotDirOf(location)).split('/');
  return parts.length >= 3 && parts.slice(0, -2).join('/') === normalize(root);
}

function normalize(location: string): string {
  const trimmed = location.replace(/\/+$/, '');
  if (/^file:/i.test(trimmed)) return resolve(trimmed.replace(/^file:(\/\/)?/i, ''));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return trimmed;
  return resolve(trimmed);
}
