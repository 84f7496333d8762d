/**
 * Writes a whole snapshot from state held in memory, laid out as a job at the operators'
 * parallelism would write it: one data file per operator subtask, holding that subtask's key
 * groups and operator-state partitions. Used by the demo, the fixture generator, tests and
 * benchmarks; the engine drives SnapshotWriter and DataFileWriter itself.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import { keyGroupFor, rangeForSubtask } from './key-groups.ts';
import type { SnapshotMetadata } from './model.ts';
import { operatorIdFromUid, toHex } from './murmur3.ts';
import { type KeyedStateInfo, type OperatorInfo, type OperatorStateInfo, type SnapshotInfo, SnapshotWriter } from './snapshot-writer.ts';

export interface KeyedStateContent extends KeyedStateInfo {
  readonly entries: Iterable<readonly [unknown, unknown]>;
}

export interface OperatorStateContent extends OperatorStateInfo {
  /** One array per subtask: elements for `list`, `[key, value]` pairs for `broadcast`. */
  readonly partitions: readonly (readonly unknown[])[];
}

export interface OperatorContent extends OperatorInfo {
  readonly keyedStates?: readonly KeyedStateContent[];
  readonly operatorStates?: readonly OperatorStateContent[];
}

export interface SnapshotContent {
  readonly info: SnapshotInfo;
  readonly operators: readonly OperatorContent[];
}

export async function writeSnapshot(store: ObjectStore, content: SnapshotContent): Promise<SnapshotMetadata> {
  const writer = new SnapshotWriter(store, content.info);
  try {
    for (const op of content.operators) {
      writer.addOperator(op);
      const grouped = (op.keyedStates ?? []).map((state) => ({ state, groups: groupByKeyGroup(state.entries, op.maxParallelism) }));
      const tag = toHex(op.id ?? operatorIdFromUid(op.uid)).slice(0, 12);
      for (let subtask = 0; subtask < op.parallelism; subtask++) {
        const { start, end } = rangeForSubtask(subtask, op.parallelism, op.maxParallelism);
        const hasKeyed = grouped.some(({ groups }) => [...groups.keys()].some((g) => g >= start && g <= end));
        const hasOperator = (op.operatorStates ?? []).some((s) => (s.partitions[subtask]?.length ?? 0) > 0);
        for (const { state } of grouped) writer.addKeyedState(op.uid, state, []);
        if (!hasKeyed && !hasOperator) {
          for (const state of op.operatorStates ?? []) writer.addOperatorState(op.uid, state, subtask, null);
          continue;
        }
        const file = await writer.openDataFile(tag, subtask);
        for (const { state, groups } of grouped) {
          const blocks = [];
          for (let g = start; g <= end; g++) {
            const entries = groups.get(g);
            if (entries === undefined) continue;
            const block = await file.writeKeyGroup(`${op.uid}/${state.name}`, state.kind, g, op.maxParallelism, entries);
            if (block !== null) blocks.push({ ...block, keyGroup: g });
          }
          writer.addKeyedState(op.uid, state, blocks);
        }
        for (const state of op.operatorStates ?? []) {
          const items = state.partitions[subtask] ?? [];
          const label = `${op.uid}/${state.name}`;
          const block =
            state.kind === 'broadcast'
              ? await file.writeBroadcastPartition(label, items as readonly (readonly [unknown, unknown])[])
              : await file.writeListPartition(label, items);
          writer.addOperatorState(op.uid, state, subtask, block);
        }
        await writer.closeDataFile(file);
      }
    }
    return await writer.finish();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
}

function groupByKeyGroup(entries: Iterable<readonly [unknown, unknown]>, maxParallelism: number): Map<number, (readonly [unknown, unknown])[]> {
  const groups = new Map<number, (readonly [unknown, unknown])[]>();
  for (const entry of entries) {
    const g = keyGroupFor(entry[0], maxParallelism);
    const list = groups.get(g);
    if (list === undefined) groups.set(g, [entry]);
    else list.push(entry);
  }
  return groups;
}
