/**
 * Damaging a file under `<jobId>/shared/` that incremental checkpoints refer to (issue 13): the
 * chaos suite's `shared-corrupt` kill, and `jobmanager-corrupt` when the newest checkpoint's
 * directory holds only its `_metadata`. A shared file can be referred to by several retained
 * checkpoints; damaging one that every retained checkpoint needs leaves no intact checkpoint, and
 * the job fails by design (naming it). The chaos run keeps exactly-once, so it damages only a file
 * some older retained checkpoint does not refer to: recovery must skip every checkpoint that
 * refers to it and fall back to that older one.
 */
import { dirname, join } from 'node:path';
import { SnapshotReader } from '../../src/format/snapshot-reader.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';
import { checkpointsOnDisk, flipByte, truncateToHalf } from './damage-checkpoint.ts';

/** Root-relative paths of the shared files a checkpoint refers to, and which of them it wrote. */
export async function sharedFilesOf(checkpointDir: string): Promise<{ path: string; written: boolean; size: number }[]> {
  const reader = await SnapshotReader.open(new LocalObjectStore(checkpointDir));
  return reader.metadata.files.filter((f) => f.shared === true).map((f) => ({ path: f.path, written: f.written !== false, size: f.size }));
}

export interface SharedDamage {
  /** Absolute path of the damaged file. */
  readonly file: string;
  /** Retained checkpoints (ids) that refer to it: recovery must skip them. */
  readonly referredBy: readonly number[];
  readonly how: 'flipped a byte' | 'truncated to half';
}

/**
 * Damages a shared file the newest checkpoint refers to and the oldest retained one does not.
 * `skip`: checkpoints recovery already found damaged.
 * `olderOnly`: prefer one an older checkpoint wrote (so recovery skips two or more checkpoints),
 * else one the newest wrote. Odd seed: flips a byte; even: truncates. Undefined when no such file.
 */
export async function damageSharedFile(jobCheckpointDir: string, seed: number, olderOnly: boolean, skip: ReadonlySet<number> = new Set()): Promise<SharedDamage | undefined> {
  // Newest first; without those recovery already found damaged (their directories stay).
  const retained = checkpointsOnDisk(jobCheckpointDir).filter((c) => !skip.has(c.id));
  if (retained.length < 2) return undefined;
  const refs = new Map<number, Set<string>>();
  for (const c of retained) refs.set(c.id, new Set((await sharedFilesOf(c.dir)).map((f) => f.path)));
  const oldest = refs.get(retained.at(-1)!.id)!;
  const newest = (await sharedFilesOf(retained[0]!.dir)).filter((f) => !oldest.has(f.path) && f.size > 0);
  const preferred = newest.filter((f) => f.written !== olderOnly);
  const pool = (preferred.length > 0 ? preferred : newest).sort((a, b) => a.path.localeCompare(b.path));
  const pick = pool[seed % Math.max(1, pool.length)];
  if (pick === undefined) return undefined;
  // Shared paths are relative to the checkpoint root, the job directory's parent.
  const file = join(dirname(jobCheckpointDir), pick.path);
  const how = seed % 2 === 1 ? 'flipped a byte' : 'truncated to half';
  if (how === 'flipped a byte') flipByte(file);
  else truncateToHalf(file);
  return { file, referredBy: retained.filter((c) => refs.get(c.id)!.has(pick.path)).map((c) => c.id), how };
}
