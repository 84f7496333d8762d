/**
 * Key groups, as Apache Flink's KeyGroupRangeAssignment: every key hashes to one of maxP key
 * groups, and each of the p subtasks owns one contiguous range of them. A key's group depends on
 * maxP only, so rescaling (changing p) moves whole key groups between subtasks, never single keys.
 * Unlike Flink, the hash is murmur3_32 of the key's canonical bytes, not of a Java hashCode().
 */
import { UserError } from '../errors.ts';
import { CanonicalKeyEncoder } from './canonical-key.ts';
import { murmur3_32 } from './murmur3.ts';

/** Flink's upper bound: key group ids must fit in 15 bits. */
export const MAX_MAX_PARALLELISM = 32768;
const MIN_DEFAULT_MAX_PARALLELISM = 128;

function roundUpToPowerOfTwo(x: number): number {
  let power = 1;
  while (power < x) power *= 2;
  return power;
}

/** The max parallelism Flink picks when none is set: room for rescaling to about 1.5 × p. */
export function defaultMaxParallelism(p: number): number {
  if (!Number.isSafeInteger(p) || p < 1) throw new UserError(`parallelism must be a positive integer, got ${p}`);
  const rounded = roundUpToPowerOfTwo(p + Math.floor(p / 2));
  return Math.min(Math.max(rounded, MIN_DEFAULT_MAX_PARALLELISM), MAX_MAX_PARALLELISM);
}

/** The key group of a key already in canonical form. The hash is unsigned, so this is in [0, maxP). */
export function keyGroupForBytes(canonical: Uint8Array, maxP: number): number {
  return murmur3_32(canonical, 0) % maxP;
}

const encoder = new CanonicalKeyEncoder();

/** The key group of a key; throws InvalidKeyError if it is not a valid key. */
export function keyGroupFor(key: unknown, maxP: number): number {
  return keyGroupForBytes(encoder.encode(key), maxP);
}

/**
 * The key groups subtask `i` of `p` owns, inclusive at both ends. Integer forms of
 * ceil(i·maxP/p) and ((i+1)·maxP − 1)/p, exact because i·maxP stays far below 2^53.
 */
export function rangeForSubtask(i: number, p: number, maxP: number): { start: number; end: number } {
  checkParallelism(p, maxP);
  if (!Number.isInteger(i) || i < 0 || i >= p) {
    throw new UserError(`subtask index must be an integer in [0, ${p - 1}] for parallelism ${p}, got ${i}`);
  }
  return {
    start: Math.floor((i * maxP + p - 1) / p),
    end: Math.floor(((i + 1) * maxP - 1) / p),
  };
}

/** The subtask that owns `keyGroup`; the inverse of rangeForSubtask. Unchecked: per record. */
export function subtaskFor(keyGroup: number, p: number, maxP: number): number {
  return Math.floor((keyGroup * p) / maxP);
}

/** Throws UserError unless p and maxP are integers with 1 <= p <= maxP <= 32768. */
export function checkParallelism(p: number, maxP: number): void {
  if (!Number.isInteger(maxP) || maxP < 1 || maxP > MAX_MAX_PARALLELISM) {
    throw new UserError(`max parallelism must be an integer from 1 to ${MAX_MAX_PARALLELISM}, got ${maxP}`);
  }
  if (!Number.isInteger(p) || p < 1) throw new UserError(`parallelism must be a positive integer, got ${p}`);
  if (p > maxP) {
    throw new UserError(`parallelism ${p} exceeds max parallelism ${maxP}: each subtask needs at least one key group`);
  }
}
