/**
 * Writes `_metadata` in format version 3 (docs/FORMAT.md): version 2's layout with `shared` and
 * `written` in each FILE entry, a seventh uint (the kind) per KGIX block and required feature
 * bit 1 when some file is shared (bit 2 when some file of the directory is copied). Refuses (InternalError) a snapshot breaking version 3's rules.
 */
import { InternalError } from '../../errors.ts';
import { BLOCK_KINDS } from '../layout.ts';
import type { SnapshotMetadata } from '../model.ts';
import { blockTuple, encodeMetadataSections } from '../v1/encode-metadata.ts';
import { checkChains, checkFileLayout, requiredFeaturesOf } from './chain-rules.ts';

export function encodeMetadataV3(meta: Omit<SnapshotMetadata, 'formatVersion'>): Buffer {
  const refuse = (problem: string): never => {
    throw new InternalError(`refusing to write a version 3 snapshot: ${problem}`);
  };
  const requiredFeatures = requiredFeaturesOf(meta.files);
  for (const op of meta.operators) {
    for (const s of op.keyedStates) checkChains(s.blocks, `operator '${op.uid}' state '${s.name}'`, refuse);
  }
  checkFileLayout(meta.files, meta.operators, requiredFeatures, refuse);
  return encodeMetadataSections(meta, 2, {
    version: 3,
    requiredFeatures,
    file: (f) => ({ path: f.path, size: f.size, shared: f.shared ?? false, written: f.written ?? true }),
    block: (b) => [b.keyGroup, ...blockTuple(b), BLOCK_KINDS.indexOf(b.kind ?? 'full')],
  });
}
