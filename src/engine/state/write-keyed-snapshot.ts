/**
 * Writes a keyed snapshot of any backend (KeyedStateSnapshot) into a subtask's data file, key
 * group by key group, while the subtask keeps processing. Values a backend hands out as stored
 * MessagePack (`CapturedEntries.packed`: the on-disk backends' value-like states without TTL)
 * go into the file without being decoded and packed again, which was most of what writing a
 * snapshot of those backends cost.
 */
import { InternalError } from '../../errors.ts';
import type { DataFileWriter, WrittenBlock } from '../../format/data-file-writer.ts';
import type { KeyedStateInfo } from '../../format/snapshot-writer.ts';
import type { KeyedStateSnapshot } from './keyed-state-backend.ts';
import { toSnapshotValues } from './state-value-layout.ts';
import { type SnapshotTtlLayout, ttlValueForSnapshot } from './ttl/ttl-states.ts';

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
export async function writeKeyedSnapshot(snapshot: KeyedStateSnapshot, writer: DataFileWriter, operatorUid: string, ttl?: SnapshotTtlLayout): Promise<KeyedStateBlocks[]> {
  try {
    const blocks: KeyedBlock[][] = snapshot.states.map(() => []);
    const labels = snapshot.states.map((info) => `${operatorUid}/${info.name}`);
    const { start, end } = snapshot.keyGroupRange;
    let sliceStart = performance.now();
    for (let keyGroup = start; keyGroup <= end; keyGroup++) {
      // Read and encoded off this thread where the backend can (lmdb's snapshot thread): the same frames, so the same file.
      const encoded = await snapshot.takeKeyGroupFrames?.(keyGroup, labels, writer.frameLimit);
      if (encoded !== undefined) {
        for (let i = 0; i < snapshot.states.length; i++) {
          const block = await writer.writeFrames(encoded.states[i] ?? []);
          if (block !== null) blocks[i]!.push({ ...block, keyGroup });
        }
        writer.continueFrameLimit(encoded.frameLimit);
      }
      const captured = encoded !== undefined ? [] : await snapshot.takeKeyGroup(keyGroup, { packed: true });
      for (let i = 0; i < captured.length; i++) {
        const { info, keys: allKeys, values: stored, packed } = captured[i]!;
        if (allKeys.length === 0) continue;
        if (packed !== undefined) {
          if (info.ttl !== null) throw new InternalError(`${labels[i]}: packed values of a state with TTL, which needs them laid out`);
          const block = await writer.writeCanonicalPackedKeyGroup(labels[i]!, info.kind, keyGroup, snapshot.maxParallelism, allKeys, packed);
          if (block !== null) blocks[i]!.push({ ...block, keyGroup });
          continue;
        }
        let keys = allKeys;
        let values = toSnapshotValues(info.kind, stored);
        if (info.ttl !== null) ({ keys, values } = ttlLayout(info.kind, keys, values, ttl?.now ?? Date.now(), ttl?.expireIn.get(info.name)));
        if (keys.length === 0) continue;
        const block = await writer.writeCanonicalKeyGroup(labels[i]!, info.kind, keyGroup, snapshot.maxParallelism, keys, values);
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

/**
 * A TTL state's values as FORMAT.md 5.4 writes them; with `cleanupFullSnapshot` (`ttlMs` given)
 * without what has expired by `now`, and without keys that have nothing left (Flink's
 * TtlStateSnapshotTransformer).
 */
function ttlLayout(kind: KeyedStateInfo['kind'], keys: readonly string[], values: readonly unknown[], now: number, ttlMs: number | undefined): { keys: readonly string[]; values: readonly unknown[] } {
  const outKeys: string[] = [];
  const outValues: unknown[] = [];
  for (let i = 0; i < keys.length; i++) {
    const value = ttlValueForSnapshot(kind, values[i], now, ttlMs);
    if (value === undefined) continue;
    outKeys.push(keys[i]!);
    outValues.push(value);
  }
  return { keys: outKeys, values: outValues };
}
