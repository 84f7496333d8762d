/**
 * A timer queue kept in the on-disk backend's store (Flink's RocksDB timer service,
 * `state.backend.rocksdb.timer-service.factory: ROCKSDB`): one store entry per timer, ordered by
 * timestamp, so the timers of a subtask need not fit in memory.
 *
 *   | 0xff | state id (u16 BE) | domain | timestamp (8 bytes, order-preserving) | canonical key |
 *
 * The leading 0xff keeps timers outside every key-group range (state keys start with a key group
 * below 0x8000), so snapshots and rescaling never see them: the queue is an index for firing, and
 * the timers themselves stay in the `_timers` keyed state, which snapshots write and restores
 * read (the timer service rebuilds the queue from it on open). Ties fire in key byte order.
 *
 * Adds and removes are batched in memory (an in-memory heap of added timers, a set of removed
 * store keys) and written when there are BATCH of them; the store's first timer is read through a
 * store snapshot and remembered until it is polled or removed.
 */
import { decodeCanonicalKey } from '../../../format/canonical-key.ts';
import { type QueuedTimer, type TimerQueue, TimerHeap } from '../../runtime/timer-heap.ts';
import type { EmbeddedStore } from './embedded-store.ts';
import { latin1Between, latin1ToBytes } from './memory-store.ts';
import { u16Chars } from './state-context.ts';

const BATCH = 2048;
const EMPTY = new Uint8Array(0);

type Head = Pick<QueuedTimer<unknown>, 'timestamp' | 'key' | 'keyId'> & { readonly storeKey: string };

export class StoreTimerQueue implements TimerQueue<unknown> {
  #prefixText: string | undefined;
  #added = new TimerHeap<unknown>();
  readonly #removed = new Set<string>();
  /** The store's earliest timer not removed; undefined: not read yet; null: none. */
  #head: Head | null | undefined;
  #size = 0;

  constructor(
    private readonly store: () => EmbeddedStore,
    /** Asked on first use: registering the timers' state then, not before, keeps it out of snapshots of operators that set no timer. */
    private readonly stateId: () => number,
    private readonly domain: number,
    private readonly batchSize: number = BATCH,
  ) {}

  get #prefix(): string {
    this.#prefixText ??= String.fromCharCode(0xff) + u16Chars(this.stateId()) + String.fromCharCode(this.domain);
    return this.#prefixText;
  }

  get size(): number {
    return this.#size;
  }

  /** The timer service deduplicates (each key's timers are in keyed state): `add` is for new ones. */
  add(timestamp: number, key: unknown, keyId: string): boolean {
    const storeKey = this.#storeKey(timestamp, keyId);
    if (this.#removed.delete(storeKey)) {
      // Removed but not yet deleted from the store: it is there again.
      this.#head = undefined;
    } else if (!this.#added.add(timestamp, key, keyId)) return false;
    this.#size++;
    this.#maybeWrite();
    return true;
  }

  remove(timestamp: number, keyId: string): boolean {
    if (!this.#added.remove(timestamp, keyId)) {
      const storeKey = this.#storeKey(timestamp, keyId);
      if (this.#removed.has(storeKey)) return false;
      this.#removed.add(storeKey);
      if (this.#head !== null && this.#head?.storeKey === storeKey) this.#head = undefined;
    }
    this.#size--;
    this.#maybeWrite();
    return true;
  }

  peek(): Pick<QueuedTimer<unknown>, 'timestamp' | 'key' | 'keyId'> | undefined {
    const added = this.#added.peek();
    const stored = this.#storeHead();
    if (stored === null) return added;
    if (added === undefined) return stored;
    if (stored.timestamp !== added.timestamp) return stored.timestamp < added.timestamp ? stored : added;
    return stored.keyId <= added.keyId ? stored : added;
  }

  poll(): Pick<QueuedTimer<unknown>, 'timestamp' | 'key' | 'keyId'> | undefined {
    const head = this.peek();
    if (head === undefined) return undefined;
    this.remove(head.timestamp, head.keyId);
    return head;
  }

  #storeHead(): Head | null {
    if (this.#head !== undefined) return this.#head;
    if (this.#size === 0) return (this.#head = null); // nothing queued: no store read, no state registered
    const start = latin1ToBytes(this.#prefix);
    const end = start.slice();
    end[end.length - 1]! += 1;
    const snapshot = this.store().snapshot();
    let head: Head | null = null;
    try {
      for (const [key] of snapshot.range(start, end)) {
        const storeKey = latin1Between(key, 0, key.length);
        if (this.#removed.has(storeKey)) continue;
        const keyBytes = key.subarray(start.length + 8);
        head = { timestamp: decodeTimestamp(key, start.length), key: decodeCanonicalKey(keyBytes), keyId: latin1Between(key, start.length + 8, key.length), storeKey };
        break;
      }
    } finally {
      snapshot.release();
    }
    this.#head = head;
    return head;
  }

  #maybeWrite(): void {
    if (this.#added.size + this.#removed.size < this.batchSize) return;
    const added = this.#added;
    this.store().batch((w) => {
      for (const storeKey of this.#removed) w.delete(latin1ToBytes(storeKey));
      for (let t = added.poll(); t !== undefined; t = added.poll()) w.put(latin1ToBytes(this.#storeKey(t.timestamp, t.keyId)), EMPTY);
    });
    this.#added = new TimerHeap();
    this.#removed.clear();
    this.#head = undefined;
  }

  #storeKey(timestamp: number, keyId: string): string {
    return this.#prefix + encodeTimestamp(timestamp) + keyId;
  }
}

const scratch = new DataView(new ArrayBuffer(8));

/** A float64 as 8 chars that sort as the numbers do: sign bit flipped, or every bit for negatives. */
function encodeTimestamp(timestamp: number): string {
  scratch.setFloat64(0, timestamp === 0 ? 0 : timestamp); // -0 sorts as 0
  const negative = (scratch.getUint8(0) & 0x80) !== 0;
  let out = '';
  for (let i = 0; i < 8; i++) {
    const b = scratch.getUint8(i);
    out += String.fromCharCode(negative ? ~b & 0xff : i === 0 ? b ^ 0x80 : b);
  }
  return out;
}

function decodeTimestamp(bytes: Uint8Array, at: number): number {
  const negative = (bytes[at]! & 0x80) === 0;
  for (let i = 0; i < 8; i++) {
    const b = bytes[at + i]!;
    scratch.setUint8(i, negative ? ~b & 0xff : i === 0 ? b ^ 0x80 : b);
  }
  return scratch.getFloat64(0);
}
