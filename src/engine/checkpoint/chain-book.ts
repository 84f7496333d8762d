/**
 * One operator's chains in one subtask across checkpoints: the base (the chains of the last
 * confirmed checkpoint, which the next checkpoint builds on) and the chains of checkpoints
 * acknowledged and not yet confirmed or aborted. Deltas are only ever taken against the base, so
 * a checkpoint never refers to blocks of one that has not completed.
 */
import type { SnapshotMetadata } from '../../format/model.ts';
import type { KeyGroupRange } from '../state/current-key.ts';
import type { ChainBlock, KeyGroupChain, OperatorChains, StateChains } from './keyed-chain.ts';

export interface ChainBase {
  readonly checkpointId: number;
  readonly chains: OperatorChains;
}

export class ChainBook {
  #base: ChainBase | undefined;
  readonly #pending = new Map<number, OperatorChains>();
  /**
   * A completion newer than the base that came before this subtask recorded the checkpoint's
   * chains: the recording makes it the base when it comes. Today the write records before it
   * acknowledges, so a completion cannot overtake it; a book that depended on that would drop
   * its base (and write the next checkpoint whole) the day an acknowledgement leaves earlier.
   */
  #confirmedAhead: number | undefined;
  /** Told each time the base moves to a completed checkpoint (the subtask: `backend.confirmChanges`). */
  readonly #onConfirmed: ((checkpointId: number) => void) | undefined;

  constructor(base?: ChainBase, onConfirmed?: (checkpointId: number) => void) {
    this.#base = base;
    this.#onConfirmed = onConfirmed;
  }

  /**
   * A book whose base is the checkpoint the subtask restored from, when its chains can be built
   * on (see `chainsFromMetadata`); undefined chains: no base, the first checkpoint is full.
   */
  static fromRestore(restoredId: number, chains: OperatorChains | undefined, onConfirmed?: (checkpointId: number) => void): ChainBook {
    return new ChainBook(chains === undefined ? undefined : { checkpointId: restoredId, chains }, onConfirmed);
  }

  /** What the next checkpoint builds on; undefined: it writes every key group whole. */
  get base(): ChainBase | undefined {
    return this.#base;
  }

  /** Checkpoint ids acknowledged and neither confirmed nor aborted yet, ascending. */
  get pendingIds(): number[] {
    return [...this.#pending.keys()].sort((a, b) => a - b);
  }

  /**
   * The subtask wrote `checkpointId` with these complete chains. Returns whether they became
   * the base at once (its completion came first, see `confirm`).
   */
  record(checkpointId: number, chains: OperatorChains): boolean {
    if (this.#base !== undefined && checkpointId <= this.#base.checkpointId) return false; // older than the base: never a base
    if (this.#confirmedAhead !== undefined) {
      if (checkpointId < this.#confirmedAhead) return false; // subsumed by a completion already known
      if (checkpointId === this.#confirmedAhead) {
        this.#confirmedAhead = undefined;
        this.#moveBase(checkpointId, chains);
        return true;
      }
    }
    this.#pending.set(checkpointId, chains);
    return false;
  }

  /**
   * `checkpointId` completed: its chains become the base if this subtask recorded them, and
   * every pending checkpoint up to it is dropped (subsumed). Returns whether the base moved to
   * it now. A completion newer than the base without recorded chains leaves no base until they
   * are recorded (`record` then moves the base): the old base's checkpoint is no longer retained
   * once subsumed, so its files may go, and a delta on them would fail every checkpoint.
   */
  confirm(checkpointId: number): boolean {
    const chains = this.#pending.get(checkpointId);
    for (const id of [...this.#pending.keys()]) if (id <= checkpointId) this.#pending.delete(id);
    if (this.#base !== undefined && checkpointId <= this.#base.checkpointId) return false; // late news
    if (this.#confirmedAhead !== undefined && checkpointId < this.#confirmedAhead) return false; // late news too
    if (chains === undefined) {
      this.#base = undefined;
      this.#confirmedAhead = checkpointId;
      return false;
    }
    this.#confirmedAhead = undefined;
    this.#moveBase(checkpointId, chains);
    return true;
  }

  /** `checkpointId` failed or was aborted: nobody refers to its blocks. */
  abort(checkpointId: number): void {
    this.#pending.delete(checkpointId);
    if (this.#confirmedAhead === checkpointId) this.#confirmedAhead = undefined;
  }

  /** The next checkpoint starts over (a layout the chains cannot follow, a restore from elsewhere). */
  clearBase(): void {
    this.#base = undefined;
    this.#confirmedAhead = undefined;
  }

  #moveBase(checkpointId: number, chains: OperatorChains): void {
    this.#base = { checkpointId, chains };
    this.#onConfirmed?.(checkpointId);
  }
}

/** Only the key groups a subtask owns: after rescaling, a subtask builds on its own groups' chains alone. */
export function restrictChains(chains: OperatorChains, range: KeyGroupRange): OperatorChains {
  const out = new Map<string, StateChains>();
  for (const [name, state] of chains) {
    const kept = new Map<number, KeyGroupChain>();
    for (const [keyGroup, chain] of state.chains) if (keyGroup >= range.start && keyGroup <= range.end) kept.set(keyGroup, chain);
    out.set(name, { layout: state.layout, chains: kept });
  }
  return out;
}

/**
 * The chains of operator `uid`'s keyed states in `range` as a restored snapshot lists them, to
 * build the next checkpoint on; undefined when they cannot be built on: a savepoint, or some
 * block of one of those chains in a file that is not shared (a version 1/2 snapshot, or a
 * version 3 one written into its own directory: that directory goes with its checkpoint, and a
 * chain referring to it would outlive it). An operator the snapshot does not list has no state:
 * an empty base.
 */
export function chainsFromMetadata(metadata: SnapshotMetadata, uid: string, range: KeyGroupRange): OperatorChains | undefined {
  if (metadata.kind !== 'checkpoint') return undefined;
  const out = new Map<string, StateChains>();
  const operator = metadata.operators.find((op) => op.uid === uid);
  if (operator === undefined) return out;
  for (const state of operator.keyedStates) {
    const chains = new Map<number, ChainBlock[]>();
    for (const block of state.blocks) {
      if (block.keyGroup < range.start || block.keyGroup > range.end) continue;
      const file = metadata.files[block.file];
      if (file === undefined || file.shared !== true) return undefined;
      let chain = chains.get(block.keyGroup);
      if (chain === undefined) chains.set(block.keyGroup, (chain = []));
      chain.push({ path: file.path, fileSize: file.size, offset: block.offset, length: block.length, entries: block.entries, crc: block.crc, kind: block.kind ?? 'full' });
    }
    out.set(state.name, { layout: { kind: state.kind, schemaVersion: state.schemaVersion, ttlLayout: state.ttlLayout ?? false }, chains });
  }
  return out;
}
