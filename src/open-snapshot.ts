/**
 * Opens the snapshot a user named on the command line: a directory or its `_metadata`, local or
 * s3://. Local paths get specific messages for the usual mistakes before any format reading.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.ts';
import { isFlinkMetadata, readFlinkMetadata } from './format/flink/read-metadata.ts';
import type { FlinkSnapshotMetadata } from './format/flink/model.ts';
import { SnapshotReader, readMetadataFile } from './format/snapshot-reader.ts';
import { METADATA_FILE, snapshotDirOf } from './format/snapshot-paths.ts';
import { nonEmptyPath } from './engine/cluster/locations.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { type OpenStoreOptions, openStore } from './storage/open-store.ts';

export async function openSnapshot(location: string, options: OpenStoreOptions = {}): Promise<SnapshotReader> {
  return SnapshotReader.open(await openSnapshotStore(location, options));
}

/** A snapshot of either writer: tsflink's own, or Apache Flink's (read from `_metadata` alone). */
export type AnySnapshot =
  | { readonly writer: 'tsflink'; readonly reader: SnapshotReader }
  | { readonly writer: 'flink'; readonly store: ObjectStore; readonly metadata: FlinkSnapshotMetadata };

/** Opens a snapshot and tells by the magic at the start of `_metadata` who wrote it. */
export async function openAnySnapshot(location: string, options: OpenStoreOptions = {}): Promise<AnySnapshot> {
  const store = await openSnapshotStore(location, options);
  const bytes = await readMetadataFile(store);
  if (isFlinkMetadata(bytes)) return { writer: 'flink', store, metadata: readFlinkMetadata(bytes, store.describe(METADATA_FILE)) };
  return { writer: 'tsflink', reader: SnapshotReader.fromMetadataBytes(store, bytes) };
}

/** The store rooted at the snapshot directory `location` names. */
export async function openSnapshotStore(location: string, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  const dir = snapshotDirOf(nonEmptyPath(location, 'snapshot'));
  // `file:/abs` (how Flink and `flink savepoint` print local paths) is local too.
  if (/^file:/i.test(dir)) await checkLocalDirectory(location, localPath(dir));
  else if (!/^[a-z][a-z0-9+.-]+:\/\//i.test(dir)) await checkLocalDirectory(location, dir);
  return openStore(dir, options);
}

function localPath(fileUrl: string): string {
  try {
    return fileURLToPath(fileUrl);
  } catch {
    throw new UserError(`${fileUrl}: not a valid file URL (expected file:/absolute/path or file:///absolute/path)`);
  }
}

async function checkLocalDirectory(given: string, dir: string): Promise<void> {
  const info = await stat(resolve(dir)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new UserError(`${given}: no such file or directory`);
    if (err.code === 'EACCES') throw new UserError(`${given}: permission denied`);
    throw new UserError(`${given}: cannot read (${err.code ?? err.message})`);
  });
  if (!info.isDirectory()) {
    throw new UserError(`${given}: not a snapshot (give the snapshot directory or its ${METADATA_FILE} file)`);
  }
}
