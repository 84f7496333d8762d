/**
 * Writes a native savepoint from a version 3 checkpoint, as `flink savepoint --type native` of an
 * incremental job leaves it: every data file the checkpoint lists, shared or not, is brought into
 * the savepoint directory (hard-linked, server-side copied or streamed), shared ones as
 * `shared/<name>`, and `_metadata` lists them with `shared: false, written: false` (copied:
 * FORMAT.md 3.4, required feature bit 2), so nothing refers outside the directory. The blocks are
 * the checkpoint's own, so the copies need not be tiled. For the fixture script and tests; the
 * engine's coordinator does the same from its subtasks' acknowledgements.
 */
import { copyObject } from '../storage/copy-object.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { ENGINE } from './layout.ts';
import { decodeMetadata } from './metadata-readers.ts';
import type { SnapshotMetadata } from './model.ts';
import { METADATA_FILE, copiedPath } from './snapshot-paths.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { encodeMetadataV3 } from './v3/encode-metadata.ts';

export async function writeNativeSavepointOf(checkpoint: ObjectStore, target: ObjectStore, info: { readonly checkpointId?: number; readonly createdAt?: number } = {}): Promise<SnapshotMetadata> {
  const reader = await SnapshotReader.open(checkpoint);
  const m = reader.metadata;
  const files = m.files.map((f, i) => ({ from: reader.storeForFile(i), f }));
  for (const { from, f } of files) await copyObject(from, f.path, target, f.shared === true ? copiedPath(f.path) : f.path);
  const meta = {
    ...m,
    kind: 'savepoint' as const,
    type: 'native' as const,
    checkpointId: info.checkpointId ?? m.checkpointId,
    createdAt: info.createdAt ?? m.createdAt,
    engine: ENGINE,
    // What this savepoint wrote itself: nothing of the checkpoint's files, all of them copies.
    files: files.map(({ f }) => (f.shared === true ? { path: copiedPath(f.path), size: f.size, shared: false, written: false } : { path: f.path, size: f.size, shared: false, written: true })),
  };
  const bytes = encodeMetadataV3({ ...meta, stats: { ...m.stats, bytes: meta.files.filter((f) => f.written).reduce((n, f) => n + f.size, 0) } });
  const checked = decodeMetadata(bytes, target.describe(METADATA_FILE));
  await target.publish(METADATA_FILE, bytes);
  return checked;
}
