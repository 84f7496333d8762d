/**
 * Performs one subtask's part of a RestorePlan: reads exactly the planned blocks through the
 * SnapshotReader's store and loads them into the subtask's keyed backend and operator store.
 */
import { FormatError, InternalError } from '../../errors.ts';
import type { BlockRef } from '../../format/model.ts';
import type { RangeSource } from '../../format/range-source.ts';
import type { SnapshotReader } from '../../format/snapshot-reader.ts';
import { ttlLayoutProblem } from '../../format/ttl-layout.ts';
import { createValueUnpackr } from '../../format/value-codec.ts';
import type { KeyedStateBackend } from './keyed-state-backend.ts';
import type { OperatorStateStore } from './operator-state-store.ts';
import type { SubtaskRestorePlan } from './restore-plan.ts';

/** Loads the planned key groups of every keyed state; returns the number of entries read. */
export async function restoreKeyedState(reader: SnapshotReader, plan: SubtaskRestorePlan, backend: KeyedStateBackend): Promise<number> {
  const { start, end } = plan.keyGroupRange;
  if (backend.keyGroupRange.start !== start || backend.keyGroupRange.end !== end || backend.maxParallelism !== plan.maxParallelism) {
    throw new InternalError(
      `${backend.owner}: backend owns key groups [${backend.keyGroupRange.start}, ${backend.keyGroupRange.end}] of ` +
        `${backend.maxParallelism}, the restore plan is for [${start}, ${end}] of ${plan.maxParallelism}`,
    );
  }
  if (plan.snapshotUid === null) return 0;
  let entries = 0;
  for (const state of plan.keyedStates) {
    const info = { name: state.name, kind: state.kind, schemaVersion: state.schemaVersion, ttl: state.ttl };
    backend.registerRestoredState(info);
    if (state.blocks.length === 0) continue;
    const planned = new Map(state.blocks.map((b) => [b.keyGroup, b]));
    // One ranged read over the subtask's key groups visits exactly the planned blocks; a chain's
    // updated keys in their full block's place, the order an on-disk store loads fastest.
    for await (const batch of reader.readKeyed(plan.snapshotUid, state.name, plan.keyGroupRange, 'inPlace')) {
      const block = planned.get(batch.keyGroup);
      if (block === undefined) throw new InternalError(`restore read key group ${batch.keyGroup} of '${state.name}', which was not planned`);
      if (info.ttl !== null) {
        // Checked here, for every backend: a backend stores TTL pairs as ordinary values.
        for (const value of batch.values) {
          const problem = ttlLayoutProblem(info.kind, value);
          if (problem !== undefined) throw new FormatError(describeFile(reader, block), block.offset, `state '${state.name}': ${problem}`);
        }
      }
      backend.restoreKeyGroup(info, batch.keyGroup, batch.keys, batch.values, describeFile(reader, block));
      entries += batch.keys.length;
    }
  }
  return entries;
}

/** Loads the planned elements of every operator state; returns the number of elements read. */
export async function restoreOperatorState(reader: SnapshotReader, plan: SubtaskRestorePlan, store: OperatorStateStore): Promise<number> {
  if (plan.snapshotUid === null) return 0;
  // One plan for every partition read, so nearby partitions of a file come in one request.
  const blocks = new PartitionReader(reader, reader.planReads(plan.operatorStates.flatMap((s) => s.slices.map((slice) => slice.block))));
  let elements = 0;
  for (const state of plan.operatorStates) {
    const info = { name: state.name, kind: state.kind, mode: state.mode, schemaVersion: state.schemaVersion };
    if (state.kind === 'broadcast') {
      store.getBroadcastState(state.name, info);
      for (const slice of state.slices) {
        for await (const { keys, values } of blocks.read(slice.block, 2)) {
          store.restoreBroadcast(info, keys, values);
          elements += keys.length;
        }
      }
      continue;
    }
    store.restoreList(info, []);
    for (const slice of state.slices) {
      let index = 0; // of the next element of this partition
      for await (const { values } of blocks.read(slice.block, 1)) {
        const from = Math.max(slice.from - index, 0);
        const to = Math.min(slice.to - index, values.length);
        if (from < to) {
          store.restoreList(info, values.slice(from, to));
          elements += to - from;
        }
        index += values.length;
        if (index >= slice.to) break;
      }
    }
  }
  return elements;
}

function describeFile(reader: SnapshotReader, block: BlockRef): string {
  return reader.describeFile(block.file);
}

/**
 * Reads single operator-state partitions. SnapshotReader.readOperatorState reads every
 * partition of a state; a SPLIT restore needs only some, so this reads one block at a time with
 * the same checks (data file header once per file, every frame's CRC before use).
 */
class PartitionReader {
  readonly #unpackr = createValueUnpackr();

  constructor(
    readonly reader: SnapshotReader,
    readonly source: RangeSource | undefined,
  ) {}

  async *read(block: BlockRef, arrays: 1 | 2): AsyncGenerator<{ keys: unknown[]; values: unknown[] }> {
    // Through the reader: it checks each data file's header once and finds a shared file
    // (an incremental checkpoint's, FORMAT.md version 3) under the checkpoint root.
    const where = this.reader.describeFile(block.file);
    for await (const frame of this.reader.blockFrames(block, this.source)) {
      let decoded: unknown[];
      try {
        decoded = this.#unpackr.unpackMultiple(frame.payload) as unknown[];
      } catch (err) {
        throw new FormatError(where, frame.offset, `frame is not valid MessagePack (${err instanceof Error ? err.message : String(err)})`);
      }
      if (decoded.length !== arrays || !decoded.every((a) => Array.isArray(a) && a.length === frame.count)) {
        throw new FormatError(where, frame.offset, `frame should hold ${arrays} array(s) of ${frame.count} items`);
      }
      const [first, second] = decoded as [unknown[], unknown[] | undefined];
      yield arrays === 2 ? { keys: first, values: second! } : { keys: [], values: first };
    }
  }
}
