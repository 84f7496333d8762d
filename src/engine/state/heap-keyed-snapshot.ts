/**
 * A keyed-state snapshot taken at a barrier and written afterwards while the subtask keeps
 * processing. It copies nothing when taken: it pins the backend's key groups, and the backend
 * preserves any entry a pinned key group changes (state-table.ts). The writer takes one key
 * group at a time and unpins it once written, so the cost of the snapshot to processing shrinks
 * as the write progresses and ends with it.
 */
import { InternalError } from '../../errors.ts';
import type { KeyGroupRange } from './current-key.ts';
import type { ChangeBases } from './change-tracking.ts';
import type { CapturedChanges, CapturedKeyGroup, KeyedStateSnapshot } from './keyed-state-backend.ts';
import type { RegisteredStateInfo } from './state-descriptors.ts';
import type { PinHolder, SnapshotPins, StateTable } from './state-table.ts';

export class HeapKeyedSnapshot implements KeyedStateSnapshot {
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
    /** With change tracking: the backend's bases (undefined: changes are not tracked). */
    private readonly bases?: ChangeBases,
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

  /**
   * Every state's changes in `keyGroup` since checkpoint `baseCheckpointId`, as of the snapshot,
   * instead of `takeKeyGroup`; undefined (and the key group not taken) when changes are not
   * tracked or that checkpoint is no base any more (state-table.ts, change-tracking.ts).
   */
  takeKeyGroupChanges(keyGroup: number, baseCheckpointId: number): CapturedChanges[] | undefined {
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    const seq = this.bases?.seqOf(baseCheckpointId);
    if (seq === undefined || seq >= this.#holder.version) return undefined;
    const index = keyGroup - this.keyGroupRange.start;
    if (this.#taken[index] !== 0) throw new InternalError(`key group ${keyGroup} taken twice from one snapshot`);
    const changes = this.#tables.map((table) => table.captureChanges(this.#holder, index, seq));
    if (changes.some((c) => c === undefined)) return undefined;
    this.#taken[index] = 1;
    return changes.map((c, i) => ({ info: this.states[i]!, ...c! }));
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
    this.bases?.released();
  }
}
