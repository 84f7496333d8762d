/**
 * Which subtasks a pointwise edge (forward, rescale) connects, as Flink's
 * EdgeManagerBuildUtil.connectPointwise: at equal parallelism subtask i to subtask i; with fewer
 * downstream subtasks, each takes a contiguous run of upstream ones; with more, each upstream
 * subtask feeds a contiguous run of downstream ones. Every other edge connects every pair.
 */
import type { Partitioning } from '../api/stream-graph.ts';

export function isPointwise(partitioning: Partitioning): boolean {
  return partitioning.kind === 'forward' || partitioning.kind === 'rescale';
}

/** The downstream subtasks upstream subtask `index` sends to, in order. */
export function pointwiseTargets(upstream: number, downstream: number, index: number): number[] {
  if (upstream === downstream) return [index];
  if (upstream > downstream) {
    for (let target = 0; target < downstream; target++) {
      const start = Math.floor((target * upstream) / downstream);
      const end = Math.floor(((target + 1) * upstream) / downstream);
      if (index >= start && index < end) return [target];
    }
    return [];
  }
  const start = Math.floor((index * downstream + upstream - 1) / upstream);
  const end = Math.floor(((index + 1) * downstream + upstream - 1) / upstream);
  return range(start, end);
}

/** The upstream subtasks downstream subtask `index` reads from, in order. */
export function pointwiseSources(upstream: number, downstream: number, index: number): number[] {
  return range(0, upstream).filter((u) => pointwiseTargets(upstream, downstream, u).includes(index));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}
