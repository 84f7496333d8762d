/**
 * Whether a checkpoint writes a key group whole (`full`: a new chain of one block) or only what
 * changed since the base checkpoint (`delta`: upserts and/or deletions appended to the base
 * chain). The decision is made per key group for all its states at once, because a backend
 * hands out a key group either whole (`takeKeyGroup`) or as changes (`takeKeyGroupChanges`).
 */
import { deltaBytes, deltaSteps, fullBytes, type KeyGroupChain } from './keyed-chain.ts';

export interface ChainLimits {
  /** Checkpoints whose deltas a chain may carry before the next one writes the key group whole. */
  readonly maxDeltaSteps: number;
  /** Delta bytes a chain may carry, as a fraction of its full block's bytes, before the next checkpoint writes it whole. */
  readonly maxDeltaRatio: number;
}

/**
 * Restoring a chain reads its full block and every delta; restoring a full snapshot reads one
 * full block. With deltas up to half the full block's bytes, a chain's restore reads at most
 * 1.5x a full restore's bytes (an upserted key is read once per step that wrote it, so this is
 * the bound that matters, not the count of distinct keys). The ratio is checked against the
 * base chain, before the new step is written (its size is known only once written, and a key
 * group taken as changes cannot be taken whole too), so a chain may pass the bound by its last
 * step, for one checkpoint: the next one writes that key group whole.
 *
 * Eight steps bound what the ratio does not: the ranged reads of a restore (one per block), the
 * KGIX rows of `_metadata` (up to 17 per state and key group instead of 1) and how many
 * checkpoints' files one key group keeps alive in `shared/` (each step pins its file).
 */
export const DEFAULT_CHAIN_LIMITS: ChainLimits = { maxDeltaSteps: 8, maxDeltaRatio: 0.5 };

export type ChainDecision = 'full' | 'delta';

export interface KeyGroupContext {
  /** A confirmed base checkpoint exists whose chains this one may build on. */
  readonly hasBase: boolean;
  /** `flink checkpoint --full` (or a layout change): every key group whole. */
  readonly forceFull: boolean;
  /** With `checkpointId`: spreads the rewrites of chains over checkpoints (see `staggeredRewrite`). */
  readonly keyGroup?: number;
  readonly checkpointId?: number;
}

/**
 * Key groups written whole together (the first checkpoint, a `--full` one, a restore) would all
 * reach the step limit together, and every later rewrite would come as one full checkpoint
 * every few (measured: 100 times the bytes of the deltas between, at 1% of keys changed). So
 * each key group has its turn every `maxDeltaSteps` checkpoints, and a chain with deltas is
 * rewritten at its turn: a chain never reaches the step limit, and each checkpoint rewrites
 * one key group in `maxDeltaSteps`, which is what rewriting at the limit costs on average.
 */
export function staggeredRewrite(steps: number, keyGroup: number, checkpointId: number, limits: ChainLimits): boolean {
  return steps >= 1 && (keyGroup + checkpointId) % limits.maxDeltaSteps === 0;
}

/**
 * The reference a chain's deltas are weighed against: its full block, or for a chain without
 * one (the key group was empty when its chain was last written whole) its first block, which
 * held every entry the group had then. A chain with no blocks is bounded by its steps alone.
 */
function referenceBytes(chain: KeyGroupChain): number {
  return chain[0]?.kind === 'full' ? fullBytes(chain) : (chain[0]?.length ?? 0);
}

/** Whether one chain may take another step. */
export function chainMayGrow(chain: KeyGroupChain, limits: ChainLimits = DEFAULT_CHAIN_LIMITS): boolean {
  if (deltaSteps(chain) + 1 > limits.maxDeltaSteps) return false;
  if (chain.length === 0) return true;
  const reference = referenceBytes(chain);
  const beyond = chain[0]?.kind === 'full' ? deltaBytes(chain) : deltaBytes(chain) - reference;
  return beyond <= limits.maxDeltaRatio * reference;
}

/** `baseChains`: the base chain of every state of the operator for this key group (empty ones included or left out). */
export function decideKeyGroup(baseChains: Iterable<KeyGroupChain>, context: KeyGroupContext, limits: ChainLimits = DEFAULT_CHAIN_LIMITS): ChainDecision {
  if (!context.hasBase || context.forceFull) return 'full';
  const { keyGroup, checkpointId } = context;
  for (const chain of baseChains) {
    if (!chainMayGrow(chain, limits)) return 'full';
    if (keyGroup !== undefined && checkpointId !== undefined && staggeredRewrite(deltaSteps(chain), keyGroup, checkpointId, limits)) return 'full';
  }
  return 'delta';
}
