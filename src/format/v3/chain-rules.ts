/**
 * The rules version 3 adds to `_metadata` (docs/FORMAT.md 3.4, 3.6, 4.2), shared by its reader
 * and its writer: a writer refuses what the reader would refuse, before anything is published.
 */
import { type Fail, checkUint } from '../fields.ts';
import { BLOCK_KINDS, COPIED_FILES_FEATURE, DATA_HEADER_SIZE, SHARED_FILES_FEATURE } from '../layout.ts';
import type { BlockRef, DataFileMeta, KeyGroupBlock, KeyedBlockKind, OperatorMeta } from '../model.ts';
import { allBlocks } from '../tiling.ts';

export function blockKindOf(value: unknown, path: string, fail: Fail): KeyedBlockKind {
  const n = checkUint(value, path, fail);
  const kind = BLOCK_KINDS[n];
  if (kind === undefined) return fail(`${path}: block kind ${n} is not 0 (full), 1 (upserts) or 2 (deletions)`);
  return kind;
}

/** One keyed state's blocks: key groups non-decreasing; in a key group at most one full block, first. */
export function checkChains(blocks: readonly KeyGroupBlock[], path: string, fail: Fail): void {
  for (let i = 1; i < blocks.length; i++) {
    const previous = blocks[i - 1]!;
    const block = blocks[i]!;
    if (block.keyGroup < previous.keyGroup) fail(`${path}: key groups decrease at ${block.keyGroup} (blocks of a key group are listed together, key groups in increasing order)`);
    if (block.keyGroup === previous.keyGroup && (block.kind ?? 'full') === 'full') {
      fail(`${path}: key group ${block.keyGroup} has a full block after another block (a chain has at most one full block, first)`);
    }
  }
}

/**
 * A file that need not be tiled by the blocks referring to it: a shared file, or a copy of one
 * in the snapshot directory (`shared: false, written: false`, a native savepoint).
 */
export function mayHoldUnreferencedBlocks(file: DataFileMeta): boolean {
  return file.shared === true || file.written === false;
}

/** The required feature bits a version 3 `_metadata` with these files must have set. */
export function requiredFeaturesOf(files: readonly DataFileMeta[]): number {
  let features = 0;
  if (files.some((f) => f.shared === true)) features |= SHARED_FILES_FEATURE;
  if (files.some((f) => f.shared !== true && f.written === false)) features |= COPIED_FILES_FEATURE;
  return features;
}

/**
 * Files written by the snapshot into its directory are tiled by their blocks as in version 1;
 * blocks of shared files, and of files copied into the directory from shared ones, lie inside
 * them, after the header, and do not overlap. Feature bit 1 is set exactly when some file is
 * shared, bit 2 exactly when some file of the snapshot directory was copied (not written).
 */
export function checkFileLayout(files: readonly DataFileMeta[], operators: readonly OperatorMeta[], requiredFeatures: number, fail: Fail): void {
  const anyShared = files.some((f) => f.shared === true);
  if (anyShared !== ((requiredFeatures & SHARED_FILES_FEATURE) !== 0)) {
    fail(anyShared ? 'some files are shared but the header lacks required feature bit 1' : 'required feature bit 1 is set but no file is shared');
  }
  const anyCopied = files.some((f) => f.shared !== true && f.written === false);
  if (anyCopied !== ((requiredFeatures & COPIED_FILES_FEATURE) !== 0)) {
    fail(anyCopied ? 'some files of the snapshot directory are copied (shared: false, written: false) but the header lacks required feature bit 2' : 'required feature bit 2 is set but no file of the snapshot directory is copied (shared: false, written: false)');
  }
  const perFile = files.map(() => [] as { block: BlockRef; owner: string }[]);
  for (const entry of allBlocks(operators)) perFile[entry.block.file]?.push(entry);
  perFile.forEach((blocks, i) => {
    const file = files[i]!;
    const loose = mayHoldUnreferencedBlocks(file);
    blocks.sort((a, b) => a.block.offset - b.block.offset);
    let position = DATA_HEADER_SIZE;
    for (const { block, owner } of blocks) {
      if (loose ? block.offset < position : block.offset !== position) {
        const rule = file.shared === true ? 'blocks of a shared file must not overlap' : loose ? 'blocks of a copied file must not overlap' : 'blocks must cover the file exactly';
        fail(`${file.path}: block of ${owner} starts at ${block.offset}, expected ${loose ? 'at least ' : ''}${position} (${rule})`);
      }
      position = block.offset + block.length;
    }
    if (loose ? position > file.size : position !== file.size) {
      fail(`${file.path}: blocks end at ${position} but the file size is ${file.size}`);
    }
  });
}
