/**
 * Incremental checkpoints (FORMAT.md version 3): the blocks one keyed state's key group is
 * restored from, in replay order (its chain), as the subtask keeps them between checkpoints. A
 * chain names its files by their paths relative to the checkpoint root (`<jobId>/shared/...`),
 * not by a snapshot's file index, because each checkpoint numbers its files anew.
 */
import type { KeyedBlockKind, KeyedStateKind } from '../../format/model.ts';

export interface ChainBlock {
  /** Root-relative path of the shared file holding the block, e.g. `<jobId>/shared/<name>.tsfs`. */
  readonly path: string;
  /** The whole file's size (FILE entries of `_metadata` carry it). */
  readonly fileSize: number;
  readonly offset: number;
  readonly length: number;
  readonly entries: number;
  readonly crc: number;
  readonly kind: KeyedBlockKind;
}

/** One state's one key group: at most one `full` block, first, then `upserts`/`deletions`. Empty: the group holds nothing. */
export type KeyGroupChain = readonly ChainBlock[];

/**
 * What a state's blocks must agree on to be chained: a block written under another kind,
 * schema version or value layout cannot be replayed with the blocks written now.
 */
export interface ChainLayout {
  readonly kind: KeyedStateKind;
  readonly schemaVersion: number;
  /** Values in the TTL layout (FORMAT.md 5.4): the state declares a TTL. */
  readonly ttlLayout: boolean;
}

/** One state's chains: key group -> chain; a key group not in the map has the empty chain. */
export interface StateChains {
  readonly layout: ChainLayout;
  readonly chains: ReadonlyMap<number, KeyGroupChain>;
}

/** An operator's keyed state in one subtask: state name -> its chains. */
export type OperatorChains = ReadonlyMap<string, StateChains>;

export function sameLayout(a: ChainLayout, b: ChainLayout): boolean {
  return a.kind === b.kind && a.schemaVersion === b.schemaVersion && a.ttlLayout === b.ttlLayout;
}

/** Bytes of the chain's `full` block (0 when it has none). */
export function fullBytes(chain: KeyGroupChain): number {
  const first = chain[0];
  return first !== undefined && first.kind === 'full' ? first.length : 0;
}

/** Bytes of the chain's `upserts` and `deletions` blocks: what a restore reads beyond a full block. */
export function deltaBytes(chain: KeyGroupChain): number {
  let bytes = 0;
  for (const block of chain) if (block.kind !== 'full') bytes += block.length;
  return bytes;
}

/**
 * Checkpoints that added delta blocks to the chain: one checkpoint writes its upserts and
 * deletions of a key group into its one file, so a step is a run of delta blocks in one file.
 */
export function deltaSteps(chain: KeyGroupChain): number {
  let steps = 0;
  let previous: string | undefined;
  for (const block of chain) {
    if (block.kind === 'full') {
      previous = undefined;
      continue;
    }
    if (block.path !== previous) steps += 1;
    previous = block.path;
  }
  return steps;
}

/** The distinct shared files a set of chains refers to, with their sizes (for `_metadata`'s FILE entries and the registry). */
export function referencedFiles(chains: OperatorChains): Map<string, number> {
  const files = new Map<string, number>();
  for (const state of chains.values()) for (const chain of state.chains.values()) for (const block of chain) files.set(block.path, block.fileSize);
  return files;
}

/** A state's `entries` and `bytes` for `_metadata`'s OPER (version 3): sums over every block its chains refer to. */
export function chainTotals(chains: ReadonlyMap<number, KeyGroupChain>): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const chain of chains.values()) {
    for (const block of chain) {
      entries += block.entries;
      bytes += block.length;
    }
  }
  return { entries, bytes };
}
