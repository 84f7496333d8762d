/**
 * Where local recovery keeps its copies (`<root>/<jobId>/chk-<n>/<data file path>`; an
 * incremental checkpoint's shared files at `<root>/<jobId>/shared/<name>`, their path relative to
 * the checkpoint root below the local root), and the two ends of their life: the directory of one
 * checkpoint goes when that checkpoint is subsumed or aborted, a shared file's copy when no chain
 * of its subtask refers to it any more (local-shared-copies.ts), the job's directory when the job
 * ends. With local recovery off nothing here runs, so no directory is ever created.
 */
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { checkpointDirName } from '../../format/snapshot-paths.ts';
import { SnapshotReader, readMetadataFile } from '../../format/snapshot-reader.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { LocalFirstStore } from '../../storage/local-first-store.ts';
import type { CheckpointConfig } from './checkpoint-config.ts';

export interface LocalRecovery {
  /** The job's local directory, `<root>/<jobId>`. */
  readonly jobDir: string;
}

/** The local recovery of a job, or undefined when it is off. */
export function localRecoveryOf(config: Pick<CheckpointConfig, 'localBackup' | 'localRootDir'> | undefined, jobId: string): LocalRecovery | undefined {
  if (config?.localBackup !== true) return undefined;
  const root = config.localRootDir === null ? join(tmpdir(), 'tsflink-local-state') : resolve(config.localRootDir);
  return { jobDir: join(root, jobId) };
}

/** The local root: a shared file `<jobId>/shared/<name>` (relative to the checkpoint root) has its copy at `<local root>/<jobId>/shared/<name>`. */
export function localRootOf(local: LocalRecovery): string {
  return dirname(local.jobDir);
}

export function localCheckpointDir(local: LocalRecovery, checkpointId: number): string {
  return join(local.jobDir, checkpointDirName(checkpointId));
}

/** The checkpoint id of a checkpoint directory `.../chk-<n>` (or its `_metadata`), else undefined (a savepoint). */
export function checkpointIdOfLocation(location: string): number | undefined {
  const match = /(?:^|[/\\])chk-(\d+)(?:[/\\]_metadata)?[/\\]*$/.exec(location);
  return match === null ? undefined : Number(match[1]);
}

export async function deleteLocalCheckpoint(local: LocalRecovery, checkpointId: number): Promise<void> {
  await rm(localCheckpointDir(local, checkpointId), { recursive: true, force: true });
}

/** Deletes the local copies of every checkpoint before `latest` (subsumed, or aborted ones a late write left behind). */
export async function pruneLocalCheckpoints(local: LocalRecovery, latest: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(local.jobDir);
  } catch {
    return; // nothing copied yet
  }
  for (const name of names) {
    const id = /^chk-(\d+)$/.exec(name)?.[1];
    if (id !== undefined && Number(id) < latest) await rm(join(local.jobDir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

export async function deleteLocalJob(local: LocalRecovery): Promise<void> {
  await rm(local.jobDir, { recursive: true, force: true });
}

/**
 * The reader a restore uses: for a checkpoint of this job, one that reads data files from their
 * local copies first (`_metadata` itself was read from the checkpoint storage, which stays the
 * truth about what the checkpoint holds); for anything else (a savepoint, another job's
 * checkpoint) the reader as opened.
 */
export function readLocalFirst(reader: SnapshotReader, location: string, local: LocalRecovery, metadataBytes?: Uint8Array, reportDamage = true): SnapshotReader {
  const id = checkpointIdOfLocation(location);
  const { metadata } = reader;
  if (id === undefined || metadata.kind !== 'checkpoint' || metadata.checkpointId !== id) return reader;
  const expected = new Map(metadata.files.filter((f) => f.shared !== true).map((f) => [f.path, f.size]));
  // Only this job's own shared files have copies here (a `claim`ed chain may still lie in another job's).
  const ownShared = `${basename(local.jobDir)}/shared/`;
  const shared = new Map(metadata.files.filter((f) => f.shared === true && f.path.startsWith(ownShared)).map((f) => [f.path, f.size]));
  return reader.readingThrough(new LocalFirstStore(reader.store, localCheckpointDir(local, id), expected, undefined, metadataBytes, { dir: localRootOf(local), expected: shared }, reportDamage));
}

/**
 * `store` (rooted at the checkpoint at `location`) reading data files from local copies first,
 * where that applies, for the check of a restore point (verifySnapshot, whose checksums prove
 * the copies' bytes as they prove the storage's). It neither says nor drops a damaged copy: the
 * restore that follows meets the damage again where it reads those bytes, and says it there, once
 * (where the file is read: on the TaskManager, in a cluster), rather than once here and once there.
 */
export async function localFirstStore(store: ObjectStore, location: string, local: LocalRecovery): Promise<ObjectStore> {
  const bytes = await readMetadataFile(store);
  return readLocalFirst(SnapshotReader.fromMetadataBytes(store, bytes), location, local, bytes, false).store;
}
