/** Fixed byte layout of format versions 1 and 2 (docs/FORMAT.md sections 3 and 4). */

/**
 * The newest version: 3, written when a snapshot refers to shared files or holds delta blocks;
 * 2 when it holds a keyed state under TTL; 1 otherwise (FORMAT.md, Version history), so the
 * bytes of a snapshot that needs no newer version never changed.
 */
export const FORMAT_VERSION = 3;
/** Snapshots without TTL state are written in this version. */
export const BASE_FORMAT_VERSION = 1;

/**
 * The version field of a data file's header (FORMAT.md 4.1): the data file layout has not changed
 * since version 1, so files listed by a version 1 or 2 `_metadata` both say 1. (A subtask writes
 * its file before anyone knows whether another subtask's state makes the snapshot version 2.)
 */
export function dataFileVersionFor(metadataVersion: number): number {
  return metadataVersion === 1 || metadataVersion === 2 || metadataVersion === 3 ? 1 : metadataVersion;
}
export const DATA_FILE_VERSION = 1;
export const ENGINE = 'tsflink 0.1.0';

export const METADATA_MAGIC = Uint8Array.of(0x89, 0x54, 0x53, 0x46, 0x4d, 0x0d, 0x0a, 0x1a);
export const DATA_MAGIC = Uint8Array.of(0x89, 0x54, 0x53, 0x46, 0x44, 0x0d, 0x0a, 0x1a);

export const METADATA_HEADER_SIZE = 24;
export const DATA_HEADER_SIZE = 16;
export const SECTION_OVERHEAD = 12; // tag + length before the payload, CRC after it
export const FRAME_HEADER_SIZE = 12;

/** Writers aim at frames of about this many payload bytes. */
export const TARGET_FRAME_BYTES = 256 * 1024;

export const SECTION_TAGS = {
  snapshot: 'SNAP',
  files: 'FILE',
  operators: 'OPER',
  keyGroupIndex: 'KGIX',
  end: 'END ',
} as const;

/** Feature bits this version knows (none yet); see FORMAT.md 3.1. */
export const KNOWN_REQUIRED_FEATURES = 0;

/** Incremental checkpoints (FORMAT.md, version 3): written only when a snapshot needs it. */
export const INCREMENTAL_FORMAT_VERSION = 3;
/** Required feature bit 1 (FORMAT.md 3.1): some data file is shared, outside the snapshot directory. */
export const SHARED_FILES_FEATURE = 1 << 1;
/**
 * Required feature bit 2 (FORMAT.md 3.1): some data file of the snapshot directory was copied
 * (or hard-linked) from an earlier checkpoint's shared file (`shared: false, written: false`), so
 * it may hold blocks nobody refers to: a native savepoint of an incremental job.
 */
export const COPIED_FILES_FEATURE = 1 << 2;
/** Feature bits a reader of version 3 knows (bit 2 since native savepoints; a reader before refuses it as unsupported). */
export const KNOWN_REQUIRED_FEATURES_V3 = SHARED_FILES_FEATURE | COPIED_FILES_FEATURE;
/** KGIX block kinds of version 3, by their number. */
export const BLOCK_KINDS = ['full', 'upserts', 'deletions'] as const;
