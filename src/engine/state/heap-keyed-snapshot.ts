/**
 * A keyed-state snapshot taken at a barrier and written afterwards while the subtask keeps
 * processing. It copies nothing when taken: it pins the backend's key groups, and the backend
 * preserves any entry a pinned key group changes (state-table.ts). The writer takes one key
 * group at a time and unpins it once written, so the cost of the snapshot to processing shrinks
 * as the write progresses and ends with it.
 */
import { InternalError } from '../../errors.ts';
import type { DataFileWriter, WrittenBlock } from '../../format/data-file-writer.ts';
import type { KeyedStateInfo } from '../../format/snapshot-writer.ts';
import type { KeyGroupRange } from './current-key.ts';
import type { RegisteredStateInfo } from './state-descriptors.ts';
import type { CapturedEntries, PinHolder, SnapshotPins, StateTable } from './state-table.ts';
import { toSnapshotValues } from './state-value-layout.ts';

export type KeyedBlock = WrittenBlock & { readonly keyGroup: number };

/** One state's blocks, ready for `SnapshotWriter.addKeyedState(uid, info, blocks)`. */
export interface KeyedStateBlocks {
  readonly info: KeyedStateInfo;
  readonly blocks: readonly KeyedBlock[];
}

/** One state's entries of one key group, as of the snapshot. */
export interface CapturedKeyGroup extends CapturedEntries {
  readonly info: RegisteredStateInfo;
}

export class HeapKeyedSnapshot {
  /** The states as registered when the snapshot was taken, in `_metadata` order. */
  readonly states: readonly RegisteredStateInfo[];
  /** Keyed entries over all states when the snapshot was taken. */
  readonly entries: number;
  readonly #tables: readonly StateTable[];
  readonly #pins: SnapshotPins;
  readonly #holder: PinHolder;
  readonly #taken: Uint8Array;
  #released = false;

  constructor(
    readonly keyGroupRange: KeyGroupRange,
    readonly maxParallelism: number,
    tables: readonly StateTable[],
    pins: SnapshotPins,
    holder: PinHolder,
  ) {
    this.#tables = tables;
    this.states = tables.map((t) => t.info);
    this.entries = tables.reduce((n, t) => n + t.size, 0);
    this.#pins = pins;
    this.#holder = holder;
    this.#taken = new Uint8Array(keyGroupRange.end - keyGroupRange.start + 1);
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Every state's entries of `keyGroup` as of the snapshot, once per key group. The key group
   * stays pinned (its entries unmutated) until `releaseKeyGroup`, so the entries can be written
   * asynchronously.
   */
  takeKeyGroup(keyGroup: number): CapturedKeyGroup[] {
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    const index = keyGroup - this.keyGroupRange.start;
    if (this.#taken[index] !== 0) throw new InternalError(`key group ${keyGroup} taken twice from one snapshot`);
    this.#taken[index] = 1;
    return this.#tables.map((table, i) => ({ info: this.states[i]!, ...table.capture(this.#holder, index) }));
  }

  /** Key group written: changes to it need no preserving for this snapshot any more. */
  releaseKeyGroup(keyGroup: number): void {
    if (this.#released) return;
    const index = keyGroup - this.keyGroupRange.start;
    this.#pins.release(this.#holder, index);
    for (const table of this.#tables) table.dropPreserved(this.#holder, index);
  }

  /** Done (written, or the checkpoint was abandoned); idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#pins.releaseAll(this.#holder);
    for (const table of this.#tables) table.dropPreserved(this.#holder);
  }
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
export async function writeKeyedSnapshot(snapshot: HeapKeyedSnapshot, writer: DataFileWriter, operatorUid: string): Promise<KeyedStateBlocks[]> {
  try {
    const blocks: KeyedBlock[][] = snapshot.states.map(() => []);
    const labels = snapshot.states.map((info) => `${operatorUid}/${info.name}`);
    const { start, end } = snapshot.keyGroupRange;
    let sliceStart = performance.now();
    for (let keyGroup = start; keyGroup <= end; keyGroup++) {
      const captured = snapshot.takeKeyGroup(keyGroup);
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
