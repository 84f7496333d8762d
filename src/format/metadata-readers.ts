/**
 * Reads `_metadata` of any version ever written: checks the magic and the header checksum, then
 * hands the bytes to the frozen reader of the file's version (docs/FORMAT.md, Compatibility
 * policy). The 24-byte header keeps its layout in every version, so a damaged version field is
 * reported as damage, not as a version from the future.
 */
import { FormatError } from '../errors.ts';
import { crc32 } from './crc32.ts';
import { isFlinkMetadata } from './flink/read-metadata.ts';
import { FORMAT_VERSION, METADATA_HEADER_SIZE, METADATA_MAGIC } from './layout.ts';
import type { SnapshotMetadata } from './model.ts';
import { decodeMetadataV1 } from './v1/decode-metadata.ts';
import { decodeMetadataV2 } from './v2/decode-metadata.ts';
import { decodeMetadataV3 } from './v3/decode-metadata.ts';

type MetadataReader = (bytes: Uint8Array, file: string) => SnapshotMetadata;

const READERS: ReadonlyMap<number, MetadataReader> = new Map([
  [1, decodeMetadataV1],
  [2, decodeMetadataV2],
  [3, decodeMetadataV3],
]);

export const READABLE_VERSIONS: readonly number[] = [...READERS.keys()];

export function decodeMetadata(bytes: Uint8Array, file: string): SnapshotMetadata {
  if (isFlinkMetadata(bytes)) {
    throw new FormatError(file, 0, "an Apache Flink _metadata: tsflink restores and verifies its own snapshots only ('flink inspect' and 'flink diff' read this one)", 'unsupported');
  }
  const magicLength = Math.min(bytes.length, METADATA_MAGIC.length);
  for (let i = 0; i < magicLength; i++) {
    if (bytes[i] !== METADATA_MAGIC[i]) {
      throw new FormatError(file, i, 'not a tsflink _metadata file (wrong magic bytes)');
    }
  }
  if (bytes.length < METADATA_HEADER_SIZE) throw new FormatError(file, bytes.length, 'truncated header');
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, METADATA_HEADER_SIZE);
  if (header.readUInt32BE(20) !== crc32(header.subarray(0, 20))) throw new FormatError(file, 0, 'header checksum mismatch');
  const version = header.readUInt16BE(8);
  const reader = READERS.get(version);
  if (reader === undefined) {
    const newer = version > FORMAT_VERSION ? ' (written by a newer tsflink: upgrade to read it)' : '';
    throw new FormatError(file, 8, `unsupported format version ${version}; this tsflink reads versions ${READABLE_VERSIONS.join(', ')}${newer}`, 'unsupported');
  }
  return reader(bytes, file);
}
