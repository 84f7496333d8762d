/**
 * Deleting incremental checkpoints' shared files outside the coordinator's registry, where no
 * registry can decide: a claimed checkpoint under another checkpoint root (the job never refers to
 * its files, so they go with it, as Flink deletes a claimed snapshot's state once subsumed), and a
 * job that ended while its worker was lost (the JobManager applies retention, and the worker's
 * registry went with the worker).
 */
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { type OpenStoreOptions, openStore } from '../../storage/open-store.ts';
import { deleteSnapshot } from './delete-snapshot.ts';
import { sharedDir } from './shared-paths.ts';

/**
 * Deletes a snapshot under another checkpoint root than the job's, and the shared files its
 * `_metadata` lists (read first: the snapshot's deletion starts with `_metadata`). Only for a
 * snapshot no checkpoint of the job refers to. A file already gone is fine.
 */
export async function deleteSnapshotWithSharedFiles(location: string, storeOptions: OpenStoreOptions = {}): Promise<void> {
  const store = await openStore(location, storeOptions);
  const reader = await SnapshotReader.open(store).catch(() => undefined);
  const shared = reader?.metadata.files.filter((f) => f.shared === true).map((f) => f.path) ?? [];
  await deleteSnapshot(location, storeOptions);
  const root = shared.length === 0 ? undefined : store.storeAbove?.(2);
  for (const path of shared) await root?.delete(path).catch(() => undefined);
}

/**
 * The job's shared files that none of `retained` (its checkpoints kept after it ended) refers to
 * are deleted: `<root>/<jobId>/shared/` then holds exactly what the kept checkpoints need, and
 * nothing when none is kept. Only once the job has ended (no checkpoint can be in flight).
 */
export async function sweepSharedFiles(root: string, jobId: string, retained: readonly string[], storeOptions: OpenStoreOptions = {}): Promise<string[]> {
  const store = await openStore(root, storeOptions);
  const needed = new Set<string>();
  for (const location of retained) {
    const reader = await SnapshotReader.open(await openStore(location, storeOptions));
    for (const f of reader.metadata.files) if (f.shared === true) needed.add(f.path);
  }
  const deleted: string[] = [];
  for await (const { key } of store.list(sharedDir(jobId))) {
    if (needed.has(key)) continue;
    await store.delete(key);
    deleted.push(key);
  }
  return deleted;
}
