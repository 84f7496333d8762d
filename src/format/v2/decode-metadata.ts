/**
 * The frozen reader of `_metadata` format version 2 (docs/FORMAT.md): version 1's sections and
 * checks, plus the TTL value layout of a keyed state with a `ttl` map (5.4) and `stateBackend`
 * checked as a str. Do not change what it accepts: files of version 2 must read the same forever.
 */
import type { SnapshotMetadata } from '../model.ts';
import { decodeMetadataSections } from '../v1/decode-metadata.ts';

export function decodeMetadataV2(bytes: Uint8Array, file: string): SnapshotMetadata {
  return decodeMetadataSections(bytes, file, 2);
}
