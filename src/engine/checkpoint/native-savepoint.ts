/**
 * Native savepoints (`flink savepoint --type native`) of a job with incremental checkpoints: the
 * subtasks write a delta on their last confirmed checkpoint into the savepoint directory, and
 * the shared files their chains refer to are brought into it (hard-linked, server-side copied or
 * streamed: copy-object.ts), so the savepoint never refers outside its directory and outlives the
 * job's checkpoints. `_metadata` lists the copies with `shared: false, written: false` (FORMAT.md
 * 3.4, required feature bit 2).
 */
import type { WrittenFile } from '../../format/data-file-writer.ts';
import type { KeyedBlock } from '../../format/snapshot-writer.ts';
import { copiedPath } from '../../format/snapshot-paths.ts';
import { copyObject } from '../../storage/copy-object.ts';
import type { CopyHow, ObjectStore } from '../../storage/object-store.ts';
import type { SubtaskAck } from '../runtime/subtask.ts';

export { copiedPath };

/** The shared files a native savepoint's acks refer to, once each (root-relative paths). */
export function referredByNativeAcks(acks: readonly SubtaskAck[]): WrittenFile[] {
  const files = new Map<string, WrittenFile>();
  for (const ack of acks) for (const f of ack.native?.referred ?? []) files.set(f.path, f);
  return [...files.values()];
}

/** A subtask's blocks with their shared paths turned into the copies' paths. */
export function localizeBlocks(blocks: readonly KeyedBlock[], referred: ReadonlySet<string>): KeyedBlock[] {
  return blocks.map((b) => (referred.has(b.path) ? { ...b, path: copiedPath(b.path) } : b));
}

/** Copies each file from the checkpoint root into the savepoint directory, a few at a time; returns how each went. */
export async function copyReferredFiles(root: ObjectStore, target: ObjectStore, files: readonly WrittenFile[], concurrency = 4): Promise<CopyHow[]> {
  const hows: CopyHow[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) {
      const f = files[i]!;
      hows[i] = await copyObject(root, f.path, target, copiedPath(f.path));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return hows;
}
