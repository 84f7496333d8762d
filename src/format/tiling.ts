/** The rule of docs/FORMAT.md 4.2: the blocks of each data file cover it exactly, in order. */
import { FormatError } from '../errors.ts';
import type { BlockRef, DataFileMeta, OperatorMeta } from './model.ts';

export function* allBlocks(operators: readonly OperatorMeta[]): Generator<{ block: BlockRef; owner: string }> {
  for (const op of operators) {
    for (const state of op.keyedStates) {
      for (const block of state.blocks) yield { block, owner: `${op.uid}/${state.name} key group ${block.keyGroup}` };
    }
    for (const state of op.operatorStates) {
      for (const [subtask, block] of state.partitions.entries()) {
        if (block !== null) yield { block, owner: `${op.uid}/${state.name} subtask ${subtask}` };
      }
    }
  }
}

export function checkBlockTiling(
  files: readonly DataFileMeta[],
  operators: readonly OperatorMeta[],
  headerSize: number,
  indexOffset: number,
  metadataFile: string,
): void {
  const perFile = files.map(() => [] as { block: BlockRef; owner: string }[]);
  for (const entry of allBlocks(operators)) perFile[entry.block.file]?.push(entry);
  perFile.forEach((blocks, i) => {
    const file = files[i]!;
    blocks.sort((a, b) => a.block.offset - b.block.offset);
    let position = headerSize;
    for (const { block, owner } of blocks) {
      if (block.offset !== position) {
        throw new FormatError(metadataFile, indexOffset, `${file.path}: block of ${owner} starts at ${block.offset}, expected ${position} (blocks must cover the file exactly)`);
      }
      position += block.length;
    }
    if (position !== file.size) {
      throw new FormatError(metadataFile, indexOffset, `${file.path}: blocks end at ${position} but the file size is ${file.size}`);
    }
  });
}
