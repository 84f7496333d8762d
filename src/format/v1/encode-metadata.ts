/** Writes `_metadata` in format version 1 (docs/FORMAT.md section 3); version 2 differs only as below. */
import { crc32 } from '../crc32.ts';
import { METADATA_HEADER_SIZE, METADATA_MAGIC, SECTION_TAGS } from '../layout.ts';
import type { BlockRef, DataFileMeta, KeyGroupBlock, SnapshotMetadata } from '../model.ts';
import { packMetadata } from './metadata-packer.ts';

export function encodeMetadataV1(meta: Omit<SnapshotMetadata, 'formatVersion'>): Buffer {
  return encodeMetadataSections(meta, 1);
}

/**
 * Versions 1 and 2 share this layout. The header's version field differs, and `stateBackend`
 * (optional in both) is written in version 2 whenever known, in version 1 only for a backend
 * other than `hashmap`: a version 1 snapshot of heap state stays byte for byte what it was before
 * the key existed, when `hashmap` was the only backend (FORMAT.md 3.5).
 */
export function encodeMetadataSections(meta: Omit<SnapshotMetadata, 'formatVersion'>, version: 1 | 2, later?: LaterLayout): Buffer {
  const header = Buffer.alloc(METADATA_HEADER_SIZE);
  header.set(METADATA_MAGIC, 0);
  header.writeUInt16BE(later?.version ?? version, 8);
  header.writeUInt16BE(0, 10);
  header.writeUInt32BE(later?.requiredFeatures ?? 0, 12); // required features: none in versions 1 and 2
  header.writeUInt32BE(0, 16); // optional features: none
  header.writeUInt32BE(crc32(header.subarray(0, 20)), 20);

  const snap = {
    kind: meta.kind,
    type: meta.type,
    jobId: meta.jobId,
    jobName: meta.jobName,
    checkpointId: meta.checkpointId,
    createdAt: meta.createdAt,
    engine: meta.engine,
    stats: { bytes: meta.stats.bytes, entries: meta.stats.entries, durations: { ...meta.stats.durations } },
  };
  const files = meta.files.map((f) => (later === undefined ? { path: f.path, size: f.size } : later.file(f)));
  const operators = meta.operators.map((op) => ({
    uid: op.uid,
    id: Buffer.from(op.id),
    name: op.name,
    parallelism: op.parallelism,
    maxParallelism: op.maxParallelism,
    ...(op.stateBackend === undefined || (version === 1 && op.stateBackend === 'hashmap') ? {} : { stateBackend: op.stateBackend }),
    keyedStates: op.keyedStates.map((s) => ({
      name: s.name,
      kind: s.kind,
      schemaVersion: s.schemaVersion,
      ttl: s.ttl === null ? null : { ttlMs: s.ttl.ttlMs, update: s.ttl.update, visibility: s.ttl.visibility },
      entries: s.entries,
      bytes: s.bytes,
    })),
    operatorStates: op.operatorStates.map((s) => ({
      name: s.name,
      kind: s.kind,
      mode: s.mode,
      schemaVersion: s.schemaVersion,
      partitions: s.partitions.map((p) => (p === null ? null : blockTuple(p))),
      entries: s.entries,
      bytes: s.bytes,
    })),
  }));
  const index = meta.operators.map((op) =>
    op.keyedStates.map((s) => s.blocks.flatMap((b) => (later === undefined ? [b.keyGroup, ...blockTuple(b)] : later.block(b)))),
  );

  return Buffer.concat([
    header,
    section(SECTION_TAGS.snapshot, packMetadata(snap)),
    section(SECTION_TAGS.files, packMetadata(files)),
    section(SECTION_TAGS.operators, packMetadata(operators)),
    section(SECTION_TAGS.keyGroupIndex, packMetadata(index)),
    section(SECTION_TAGS.end, new Uint8Array(0)),
  ]);
}

/** What version 3 writes differently from version 2 (whose layout it otherwise keeps). */
export interface LaterLayout {
  readonly version: 3;
  readonly requiredFeatures: number;
  file(f: DataFileMeta): { [key: string]: string | number | boolean };
  /** The block's uints in KGIX. */
  block(b: KeyGroupBlock): number[];
}

export function blockTuple(b: BlockRef): number[] {
  return [b.file, b.offset, b.length, b.entries, b.crc];
}

function section(tag: string, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + payload.length + 4);
  out.write(tag, 0, 'latin1');
  out.writeUInt32BE(payload.length, 4);
  out.set(payload, 8);
  out.writeUInt32BE(crc32(out.subarray(0, 8 + payload.length)), 8 + payload.length);
  return out;
}
