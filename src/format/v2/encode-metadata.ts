/**
 * Writes `_metadata` in format version 2 (docs/FORMAT.md): the bytes of version 1 with `2` in the
 * header, for snapshots that hold a keyed state under TTL (values in the layout of 5.4).
 */
import type { SnapshotMetadata } from '../model.ts';
import { encodeMetadataSections } from '../v1/encode-metadata.ts';

export function encodeMetadataV2(meta: Omit<SnapshotMetadata, 'formatVersion'>): Buffer {
  return encodeMetadataSections(meta, 2);
}
