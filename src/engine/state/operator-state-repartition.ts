/**
 * Redistribution of operator state on restore, as Flink's RoundRobinOperatorStateRepartitioner.
 * Pure: works on the partitions' element counts from `_metadata`, reads nothing.
 *
 * - split: unchanged parallelism keeps every partition where it was (Flink returns the old
 *   assignment as is). Otherwise all partitions are concatenated in old subtask order and cut
 *   into newP contiguous runs whose lengths differ by at most one; the first `total mod newP`
 *   runs are one longer. Like Flink, the subtask that gets the first run rotates from one split
 *   state to the next (in the order the states are listed), so the longer runs of several states
 *   do not all land on subtask 0.
 * - union: every new subtask gets every partition.
 * - broadcast: new subtask i gets old subtask (i mod oldP)'s partition.
 */
import { InternalError } from '../../errors.ts';
import type { BlockRef, OperatorStateMeta } from '../../format/model.ts';

/** Elements [from, to) of the partition old subtask `oldSubtask` wrote. */
export interface PartitionSlice {
  readonly oldSubtask: number;
  readonly block: BlockRef;
  readonly from: number;
  readonly to: number;
}

/** For each state (in the given order), for each new subtask, the slices it gets. */
export function repartitionOperatorStates(states: readonly OperatorStateMeta[], oldParallelism: number, newParallelism: number): PartitionSlice[][][] {
  let splitStart = 0;
  return states.map((state) => {
    if (state.partitions.length !== oldParallelism) {
      throw new InternalError(`operator state '${state.name}' has ${state.partitions.length} partitions for parallelism ${oldParallelism}`);
    }
    switch (state.mode) {
      case 'union':
        return Array.from({ length: newParallelism }, () => wholePartitions(state.partitions, (i) => i >= 0));
      case 'broadcast':
        return Array.from({ length: newParallelism }, (_, i) => wholePartitions(state.partitions, (old) => old === i % oldParallelism));
      case 'split': {
        if (newParallelism === oldParallelism) {
          return Array.from({ length: newParallelism }, (_, i) => wholePartitions(state.partitions, (old) => old === i));
        }
        const { slices, nextStart } = splitEvenly(state.partitions, newParallelism, splitStart);
        splitStart = nextStart;
        return slices;
      }
    }
  });
}

function wholePartitions(partitions: readonly (BlockRef | null)[], wanted: (oldSubtask: number) => boolean): PartitionSlice[] {
  const out: PartitionSlice[] = [];
  partitions.forEach((block, oldSubtask) => {
    if (block !== null && wanted(oldSubtask)) out.push({ oldSubtask, block, from: 0, to: block.entries });
  });
  return out;
}

/** Flink's repartitionSplitState over elements instead of offsets. */
function splitEvenly(
  partitions: readonly (BlockRef | null)[],
  newParallelism: number,
  start: number,
): { slices: PartitionSlice[][]; nextStart: number } {
  const slices: PartitionSlice[][] = Array.from({ length: newParallelism }, () => []);
  const total = partitions.reduce((n, p) => n + (p?.entries ?? 0), 0);
  const base = Math.floor(total / newParallelism);
  let remainder = total % newParallelism;
  let nextStart = start;
  let oldSubtask = 0;
  let offset = 0; // elements of partitions[oldSubtask] already dealt
  for (let i = 0; i < newParallelism; i++) {
    const target = (i + start) % newParallelism;
    let count = base;
    if (remainder > 0) {
      count++;
      remainder--;
    } else if (remainder === 0) {
      // The first subtask without an extra element starts the next state's round.
      nextStart = target;
      remainder--;
    }
    while (count > 0) {
      const block = partitions[oldSubtask];
      if (block === undefined) throw new InternalError('operator state split ran out of elements');
      if (block === null || offset === block.entries) {
        oldSubtask++;
        offset = 0;
        continue;
      }
      const taken = Math.min(block.entries - offset, count);
      slices[target]!.push({ oldSubtask, block, from: offset, to: offset + taken });
      offset += taken;
      count -= taken;
    }
  }
  return { slices, nextStart };
}
