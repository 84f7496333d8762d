/**
 * Writes a keyed snapshot of any backend (KeyedStateSnapshot) into a subtask's data file, key
 * group by key group, while the subtask keeps processing.
 */
import type { DataFileWriter, WrittenBlock } from '../../format/data-file-writer.ts';
import type { KeyedStateInfo } from '../../format/snapshot-writer.ts';
import type { KeyedStateSnapshot } from './keyed-state-backend.ts';
import { toSnapshotValues } from './state-value-layout.ts';

export type KeyedBlock = WrittenBlock & { readonly keyGroup: number };

/** One state's blocks, ready for `SnapshotWriter.addKeyedState(uid, info, blocks)`. */
export interface KeyedStateBlocks {
  readonly info: KeyedStateInfo;
  readonly blocks: readonly KeyedBlock[];
}

/**
 * The asynchronous write shares the thread with processing: after this long it yields to the
 * event loop (between key groups), so records keep flowing during a checkpoint instead of
 * stopping until the writer's next I/O (every MiB written: 100-150 ms of pause in the engine
 * benchmark, against 20-60 ms with these slices, as much as pauses without checkpoints).
 */
const WRITE_SLICE_MS = 4;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Writes the snapshot into `writer` key group by key group (all states of one key group, then
 * the next, so each is unpinned as early as possible) and releases it. Every state is listed,
 * also one without entries, so `_metadata` keeps the states the operator declared. Keys are
 * written from their key strings, which are their canonical bytes: no key is encoded again.
 */
export async function writeKeyedSnapshot(snapshot: KeyedStateSnapshot, writer: DataFileWriter, operatorUid: string): Promise<KeyedStateBlocks[]> {
  try {
    const blocks: KeyedBlock[][] = snapshot.states.map(() => []);
    const labels = snapshot.states.map((info) => `${operatorUid}/${info.name}`);
    const { start, end } = snapshot.keyGroupRange;
    let sliceStart = performance.now();
    for (let keyGroup = start; keyGroup <= end; keyGroup++) {
      const captured = await snapshot.takeKeyGroup(keyGroup);
      for (let i = 0; i < captured.length; i++) {
        const { info, keys, values } = captured[i]!;
        if (keys.length === 0) continue;
        const block = await writer.writeCanonicalKeyGroup(labels[i]!, info.kind, keyGroup, snapshot.maxParallelism, keys, toSnapshotValues(info.kind, values));
        if (block !== null) blocks[i]!.push({ ...block, keyGroup });
      }
      snapshot.releaseKeyGroup(keyGroup);
      if (performance.now() - sliceStart >= WRITE_SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    return snapshot.states.map((info, i) => ({ info: { ...info }, blocks: blocks[i]! }));
  } finally {
    snapshot.release();
  }
}
