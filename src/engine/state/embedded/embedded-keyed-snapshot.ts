/**
 * A keyed snapshot of the on-disk backend: a store snapshot taken at the barrier with the write-back
 * cache's changes not yet in the store laid over it (frozen at the barrier, write-back-cache.ts),
 * read key group by key group while processing goes on. Each key
 * group is one contiguous store range (state-keys.ts); its entries come sorted by key, then state
 * id, then user key, so each key's value of each state is assembled from consecutive entries, in
 * the in-memory layout state-value-layout.ts gives (a UserMap for map state, an array for list
 * state), and write-keyed-snapshot.ts writes today's format unchanged.
 */
import { InternalError } from '../../../errors.ts';
import { decodeCanonicalKey } from '../../../format/canonical-key.ts';
import type { KeyGroupRange } from '../current-key.ts';
import type { CapturedKeyGroup, KeyedStateSnapshot } from '../keyed-state-backend.ts';
import type { RegisteredStateInfo } from '../state-descriptors.ts';
import type { UserMap } from '../state-value-layout.ts';
import type { StoreSnapshot } from './embedded-store.ts';
import type { ValueCodec } from './state-context.ts';
import { latin1Between, latin1ToBytes } from './memory-store.ts';
import type { Changes } from './write-back-cache.ts';
import { canonicalKeyEnd, keyGroupRange } from './state-keys.ts';

export class EmbeddedKeyedSnapshot implements KeyedStateSnapshot {
  #entries = 0;
  #released = false;
  readonly #taken: Uint8Array;
  /** The frozen changes by key group, each sorted by key: built on the first take, off the barrier. */
  #overlay: Map<number, [string, Uint8Array | null][]> | undefined;

  constructor(
    readonly keyGroupRange: KeyGroupRange,
    readonly maxParallelism: number,
    /** In state id order: `states[id]`. */
    readonly states: readonly RegisteredStateInfo[],
    private readonly snapshot: StoreSnapshot,
    /** Oldest first: a later one's value of a key wins. */
    private readonly changes: readonly Changes[],
    private readonly codec: ValueCodec,
    private readonly onRelease: (s: EmbeddedKeyedSnapshot) => void,
  ) {
    this.#taken = new Uint8Array(keyGroupRange.end - keyGroupRange.start + 1);
  }

  /**
   * Keyed entries (key and state pairs) read so far: counting them when the snapshot is taken
   * would read the whole store on the processing thread, so they are counted as key groups are
   * taken, and the figure is complete once all have been (as writeKeyedSnapshot does).
   */
  get entries(): number {
    return this.#entries;
  }

  get released(): boolean {
    return this.#released;
  }

  takeKeyGroup(keyGroup: number): CapturedKeyGroup[] {
    if (this.#released) throw new InternalError('keyed snapshot read after it was released');
    const index = keyGroup - this.keyGroupRange.start;
    if (index < 0 || index >= this.#taken.length) throw new InternalError(`key group ${keyGroup} is not in this snapshot's range`);
    if (this.#taken[index] !== 0) throw new InternalError(`key group ${keyGroup} taken twice from one snapshot`);
    this.#taken[index] = 1;
    const keys: string[][] = this.states.map(() => []);
    const values: unknown[][] = this.states.map(() => []);
    const { start, end } = keyGroupRange(keyGroup);
    let lastKey = '';
    let lastId = -1;
    /** The list or map being assembled for (lastKey, lastId). */
    let open: unknown[] | UserMap | undefined;
    for (const [storeKey, value] of this.#merged(keyGroup, start, end)) {
      const keyEnd = canonicalKeyEnd(storeKey, 2);
      const id = (storeKey[keyEnd]! << 8) | storeKey[keyEnd + 1]!;
      const info = this.states[id];
      if (info === undefined) throw new InternalError(`keyed snapshot: a store entry of state id ${id}, which is not registered`);
      const key = latin1Between(storeKey, 2, keyEnd);
      const suffixLength = storeKey.length - keyEnd - 2;
      if (key !== lastKey || id !== lastId) {
        lastKey = key;
        lastId = id;
        open = undefined;
        if (info.kind === 'list' || info.kind === 'map') {
          open = info.kind === 'list' ? [] : new Map();
          keys[id]!.push(key);
          values[id]!.push(open);
        }
      }
      switch (info.kind) {
        case 'list':
          // The entry at the prefix itself is the count; the elements follow in sequence order.
          if (suffixLength > 0) (open as unknown[]).push(this.codec.decode(value));
          break;
        case 'map':
          (open as UserMap).set(latin1Between(storeKey, keyEnd + 2, storeKey.length), [decodeCanonicalKey(storeKey.subarray(keyEnd + 2)), this.codec.decode(value)]);
          break;
        default:
          keys[id]!.push(key);
          values[id]!.push(this.codec.decode(value));
      }
    }
    for (const k of keys) this.#entries += k.length;
    return this.states.map((info, i) => ({ info, keys: keys[i]!, values: values[i]! }));
  }

  /** The store snapshot's entries of the key group with the frozen changes over them, in key order. */
  *#merged(keyGroup: number, start: Uint8Array, end: Uint8Array): Generator<readonly [Uint8Array, Uint8Array]> {
    const overlay = this.#overlayOf(keyGroup);
    let i = 0;
    for (const entry of this.snapshot.range(start, end)) {
      if (i < overlay.length) {
        const key = latin1Between(entry[0], 0, entry[0].length);
        for (; i < overlay.length && overlay[i]![0] < key; i++) {
          const [k, v] = overlay[i]!;
          if (v !== null) yield [latin1ToBytes(k), v];
        }
        if (i < overlay.length && overlay[i]![0] === key) {
          const v = overlay[i++]![1];
          if (v !== null) yield [entry[0], v];
          continue;
        }
      }
      yield entry;
    }
    for (; i < overlay.length; i++) {
      const [k, v] = overlay[i]!;
      if (v !== null) yield [latin1ToBytes(k), v];
    }
  }

  #overlayOf(keyGroup: number): [string, Uint8Array | null][] {
    if (this.#overlay === undefined) {
      const latest = new Map<string, Uint8Array | null>();
      for (const changes of this.changes) for (const [k, v] of changes) latest.set(k, v);
      this.#overlay = new Map();
      for (const [k, v] of latest) {
        const group = (k.charCodeAt(0) << 8) | k.charCodeAt(1);
        let list = this.#overlay.get(group);
        if (list === undefined) this.#overlay.set(group, (list = []));
        list.push([k, v]);
      }
      for (const list of this.#overlay.values()) list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
    return this.#overlay.get(keyGroup) ?? [];
  }

  /** Nothing is held per key group: the store snapshot is released with the whole. */
  releaseKeyGroup(_keyGroup: number): void {}

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.snapshot.release();
    this.onRelease(this);
  }
}
