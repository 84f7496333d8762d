/**
 * Whether a checkpoint writes a key group whole (`full`: a new chain of one block) or only what
 * changed since the base checkpoint (`delta`: upserts and/or deletions appended to the base
 * chain). The decision is made per key group for all its states at once, because a backend
 * hands out a key group either whole (`takeKeyGroup`) or as changes (`takeKeyGroupChanges`).
 */
import { deltaBytes, deltaSteps, fullBytes, type KeyGroupChain } from './keyed-chain.ts';
import { checkpointOfSharedPath } from './shared-paths.ts';

export interface ChainLimits {
  /** Checkpoints whose deltas a chain may carry before the next one writes the key group whole. */
  readonly maxDeltaSteps: number;
  /** Delta bytes a chain may carry, as a fraction of its full block's bytes, before the next checkpoint writes it whole. */
  readonly maxDeltaRatio: number;
}

/**
 * Measured (1% of 100,000 keys changed between checkpoints, 160 checkpoints, one value state, a
 * throwaway script over the real writer): in steady state each checkpoint costs its deltas (1.2%
 * of a full checkpoint's bytes) plus the staggered rewrite of one key group in `maxDeltaSteps`
 * (full / maxDeltaSteps): 8 steps 13.7% per checkpoint, 32 steps 4.3%, 64 steps 2.8% (at most
 * 2.9%); at 1% of 1,000,000 keys (140 checkpoints) 64 steps cost 2.56% (at most 2.60%), which
 * meets issue 13's target of at most 3%. The ratio must let the stagger come first:
 * with 0.5, 64 steps of 1.2% each pass it after about 40, every key group written at the same
 * checkpoint passes it together, and those checkpoints spike to a full one's size (measured: 4.3%
 * on average, peaks of 7.4%). With 1.0 the stagger rewrites a chain before its deltas outweigh
 * its full block at up to 1.5% of keys changed per checkpoint; beyond that the ratio rewrites
 * more often, as it should.
 *
 * What it costs: a restore reads at most about twice a full restore's bytes (a full block and
 * deltas up to its size, plus the last step), in up to 2 x 64 + 1 ranged reads per state and key
 * group instead of one (every step may add an upserts and a deletions block), and `_metadata`
 * lists as many KGIX rows. Each step pins its checkpoint's shared file until the chain is
 * rewritten, so `shared/` holds up to 64 checkpoints' files per subtask (mostly small deltas).
 */
export const DEFAULT_CHAIN_LIMITS: ChainLimits = { maxDeltaSteps: 64, maxDeltaRatio: 1 };

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

/** The share of a chain's delta budget (`maxDeltaRatio` times its reference) its deltas use, and the share its last step used. */
function budgetUse(chain: KeyGroupChain, limits: ChainLimits): { used: number; lastStep: number; lastPath: string } | undefined {
  const reference = referenceBytes(chain);
  if (reference <= 0 || deltaSteps(chain) === 0) return undefined;
  const budget = limits.maxDeltaRatio * reference;
  const beyond = chain[0]?.kind === 'full' ? deltaBytes(chain) : deltaBytes(chain) - reference;
  let lastStep = 0;
  const lastPath = chain[chain.length - 1]!.path;
  for (let i = chain.length - 1; i >= 0 && chain[i]!.kind !== 'full' && chain[i]!.path === lastPath; i--) lastStep += chain[i]!.length;
  return { used: beyond / budget, lastStep: lastStep / budget, lastPath };
}

export interface KeyGroupChains {
  readonly keyGroup: number;
  /** The base chain of every state of the operator for this key group. */
  readonly chains: readonly KeyGroupChain[];
}

/**
 * `decideKeyGroup` for every key group of a checkpoint, with the rewrites the delta ratio forces
 * spread over checkpoints. Chains written whole together (the first checkpoint, a `--full` one,
 * a restore) grow alike when changes are spread uniformly over the keys, and all pass the ratio
 * at the same checkpoint, which then writes nearly every key group whole: measured at 1M uniform
 * keys and checkpoints every second, one checkpoint in 6 or 7 wrote 95-116 of 128 key groups
 * whole, a full checkpoint's bytes among small ones. So a checkpoint also writes whole, early, as
 * many of the fullest chains (the highest share of their budget used) as are due per checkpoint
 * on average (from the share of its budget each chain's step in the base checkpoint used; none:
 * the key group did not change) beyond those written whole anyway. Rewrites due as often cost the same bytes whenever
 * they come; the early ones of the first round cost at most one more rewrite of each key group,
 * after which the chains' turns stay apart. With few changes (1% of keys) the stagger already
 * rewrites more than are due, and nothing is written early.
 */
export function decideKeyGroups(
  groups: readonly KeyGroupChains[],
  context: Omit<KeyGroupContext, 'keyGroup'> & { readonly baseCheckpointId?: number },
  limits: ChainLimits = DEFAULT_CHAIN_LIMITS,
): Map<number, ChainDecision> {
  const decisions = new Map<number, ChainDecision>();
  let whole = 0;
  let rewritesPerCheckpoint = 0;
  let measured = 0;
  let withChains = 0;
  const candidates: { keyGroup: number; used: number }[] = [];
  for (const { keyGroup, chains } of groups) {
    const decision = decideKeyGroup(chains, { ...context, keyGroup }, limits);
    decisions.set(keyGroup, decision);
    if (decision === 'full') whole += 1;
    if (chains.every((c) => c.length === 0)) continue;
    withChains += 1;
    let used = 0;
    let share: number | undefined;
    for (const chain of chains) {
      const use = budgetUse(chain, limits);
      if (use === undefined) continue;
      used = Math.max(used, use.used);
      // Only the base checkpoint's step tells how fast the key group changes now; an older last step: it did not change since.
      share = Math.max(share ?? 0, checkpointOfSharedPath(use.lastPath) === context.baseCheckpointId ? use.lastStep : 0);
    }
    if (share !== undefined) {
      // A chain whose steps use share s of its budget is rewritten every floor(1 / s) + 2 checkpoints
      // (a full block, then steps while the budget is not passed, then one that passes it).
      if (share > 0) rewritesPerCheckpoint += 1 / (Math.floor(1 / share) + 2);
      measured += 1;
    }
    if (decision === 'delta' && used > 0) candidates.push({ keyGroup, used });
  }
  if (measured === 0 || !context.hasBase || context.forceFull || context.baseCheckpointId === undefined) return decisions;
  // Chains just written whole have no step to measure: they are taken to change as the others do.
  const due = Math.round((rewritesPerCheckpoint / measured) * withChains);
  const early = due - whole;
  if (early <= 0) return decisions;
  candidates.sort((a, b) => b.used - a.used || a.keyGroup - b.keyGroup);
  for (const { keyGroup } of candidates.slice(0, early)) decisions.set(keyGroup, 'full');
  return decisions;
}
