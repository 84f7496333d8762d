/**
 * Reads `_metadata` of any version ever written: checks the magic, then hands the bytes to the
 * frozen reader of the file's version (docs/FORMAT.md, Compatibility policy). The magic and the
 * version field (bytes 0..9) keep their place in every version.
 */
import { FormatError } from '../errors.ts';
import { FORMAT_VERSION, METADATA_MAGIC } from './layout.ts';
import type { SnapshotMetadata } from './model.ts';
import { decodeMetadataV1 } from './v1/decode-metadata.ts';

type MetadataReader = (bytes: Uint8Array, file: string) => SnapshotMetadata;

const READERS: ReadonlyMap<number, MetadataReader> = new Map([[1, decodeMetadataV1]]);

export const READABLE_VERSIONS: readonly number[] = [...READERS.keys()];

export function decodeMetadata(bytes: Uint8Array, file: string): SnapshotMetadata {
  const magicLength = Math.min(bytes.length, METADATA_MAGIC.length);
  for (let i = 0; i < magicLength; i++) {
    if (bytes[i] !== METADATA_MAGIC[i]) {
      throw new FormatError(file, i, 'not a tsflink _metadata file (wrong magic bytes)');
    }
  }
  if (bytes.length < 10) throw new FormatError(file, bytes.length, 'truncated header');
  const version = ((bytes[8] ?? 0) << 8) | (bytes[9] ?? 0);
  const reader = READERS.get(version);
  if (reader === undefined) {
    const newer = version > FORMAT_VERSION ? ' (written by a newer tsflink: upgrade to read it)' : '';
    throw new FormatError(file, 8, `unsupported format version ${version}; this tsflink reads version ${READABLE_VERSIONS.join(', ')}${newer}`, 'unsupported');
  }
  return reader(bytes, file);
}
