/**
 * The frozen reader of `_metadata` format version 3 (docs/FORMAT.md, incremental checkpoints):
 * version 2's sections and checks, plus `shared`/`written` of each file, seven uints per KGIX
 * block (the seventh its kind), key groups' chains and required feature bits 1 and 2. Do not
 * change what it accepts: files of version 3 must read the same forever. (Bit 2, copied files of
 * native savepoints, was added later: a file with it was refused before as unsupported, so
 * accepting it changes how no earlier file reads.)
 */
import { FormatError } from '../../errors.ts';
import type { Fields } from '../fields.ts';
import { KNOWN_REQUIRED_FEATURES_V3 } from '../layout.ts';
import type { DataFileMeta, SnapshotMetadata } from '../model.ts';
import { type LaterVersion, decodeMetadataSections } from '../v1/decode-metadata.ts';
import { blockKindOf, checkChains, checkFileLayout } from './chain-rules.ts';

const VERSION_3: LaterVersion = {
  version: 3,
  knownRequiredFeatures: KNOWN_REQUIRED_FEATURES_V3,
  decodeFile: (f: Fields, base: DataFileMeta): DataFileMeta => ({ ...base, shared: bool(f, 'shared'), written: bool(f, 'written') }),
  blockWidth: 7,
  decodeBlockKind: blockKindOf,
  checkChain: checkChains,
  checkLayout: (files, operators, indexOffset, metadataFile, requiredFeatures) =>
    checkFileLayout(files, operators, requiredFeatures, (problem) => {
      throw new FormatError(metadataFile, indexOffset, problem);
    }),
};

export function decodeMetadataV3(bytes: Uint8Array, file: string): SnapshotMetadata {
  return decodeMetadataSections(bytes, file, 2, VERSION_3);
}

function bool(f: Fields, key: string): boolean {
  const value = f.raw(key);
  if (typeof value !== 'boolean') f.fail(`${f.path}.${key}: expected a bool`);
  return value as boolean;
}
