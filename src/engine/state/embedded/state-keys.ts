/**
 * Where keyed state lives in an EmbeddedStore: one store key per (key group, key, state, user key)
 *
 *   | key group: 2 bytes, big-endian | canonical key bytes | state id: 2 bytes, big-endian | user key |
 *
 * Key group first, so the key groups a subtask owns are one contiguous range of the store (a
 * snapshot or a rescale reads ranges, as Flink's RocksDB backend does with its key-group prefix);
 * 2 bytes hold every key group, since max parallelism is at most 32768. The user key (canonical
 * bytes of a MapState key, or what a backend chooses for other states) is empty for states with
 * one entry per key. State ids are small numbers the backend gives its states in this store: the
 * store is a working copy, so they need not outlive it.
 *
 * Why a prefix range is exact: a canonical key is one complete MessagePack value, and such a value
 * is never a proper prefix of another (parsing is deterministic, so the longer one would have to
 * end where the shorter ends). Hence a store key starts with `group | key | state` exactly when it
 * was made from that group, key and state, and the range [prefix, the prefix's upper bound) holds
 * those store keys and no others: nothing from another key can sort inside it. The upper bound of
 * a prefix is the smallest byte string above every string that starts with it (drop trailing 0xff
 * bytes, add one to the last); a prefix is never all 0xff, as key groups are below 0x8000.
 */
import { InternalError } from '../../../errors.ts';
import { MAX_MAX_PARALLELISM } from '../../../format/key-groups.ts';
import { scanValue } from '../../../format/msgpack-scan.ts';

/** A store range: start <= key < end. */
export interface StoreRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

export interface StateKeyParts {
  readonly keyGroup: number;
  /** Canonical key bytes (src/format/canonical-key.ts). */
  readonly key: Uint8Array;
  readonly stateId: number;
  /** Empty for states with one entry per key. */
  readonly userKey: Uint8Array;
}

export const MAX_STATE_ID = 0xffff;

/** The store key of one entry. `key` must be canonical key bytes; `userKey` may be empty. */
export function stateKey(keyGroup: number, key: Uint8Array, stateId: number, userKey: Uint8Array = EMPTY): Uint8Array {
  checkKeyGroup(keyGroup);
  checkStateId(stateId);
  if (key.length === 0) throw new InternalError('a canonical key is never empty');
  const out = new Uint8Array(2 + key.length + 2 + userKey.length);
  writeU16(out, 0, keyGroup);
  out.set(key, 2);
  writeU16(out, 2 + key.length, stateId);
  out.set(userKey, 4 + key.length);
  return out;
}

/** Splits a store key made by stateKey back into its parts (views into `storeKey`). */
export function parseStateKey(storeKey: Uint8Array): StateKeyParts {
  if (storeKey.length < 5) throw new InternalError(`a state key of ${storeKey.length} bytes is too short`);
  const keyEnd = canonicalKeyEnd(storeKey, 2);
  if (keyEnd + 2 > storeKey.length) throw new InternalError('a state key ends before its state id');
  return {
    keyGroup: readU16(storeKey, 0),
    key: storeKey.subarray(2, keyEnd),
    stateId: readU16(storeKey, keyEnd),
    userKey: storeKey.subarray(keyEnd + 2),
  };
}

/**
 * Where the canonical key that starts at `offset` ends: short strings and small integers (nearly
 * every key) directly, anything else by scanning the MessagePack value. Per entry read by a
 * snapshot, so it avoids scanValue's allocations for the common keys.
 */
export function canonicalKeyEnd(bytes: Uint8Array, offset: number): number {
  const b = bytes[offset]!;
  if (b <= 0x7f || b >= 0xe0) return offset + 1; // fixint
  if (b >= 0xa0 && b <= 0xbf) return offset + 1 + (b & 0x1f); // fixstr
  if (b === 0xd9) return offset + 2 + bytes[offset + 1]!; // str8
  return scanValue(bytes, offset);
}

/** Every entry of one key group. */
export function keyGroupRange(keyGroup: number): StoreRange {
  return keyGroupsRange(keyGroup, keyGroup);
}

/** Every entry of key groups first..last, both included (as rangeForSubtask gives them). */
export function keyGroupsRange(first: number, last: number): StoreRange {
  checkKeyGroup(first);
  checkKeyGroup(last);
  if (first > last) throw new InternalError(`key group range ${first}..${last} is empty`);
  const start = new Uint8Array(2);
  const end = new Uint8Array(2);
  writeU16(start, 0, first);
  // last + 1 <= 32768 = 0x8000: still two bytes.
  writeU16(end, 0, last + 1);
  return { start, end };
}

/** Every entry of one key in one state: a MapState's entries of one key, in user-key byte order. */
export function keyStateRange(keyGroup: number, key: Uint8Array, stateId: number): StoreRange {
  const start = stateKey(keyGroup, key, stateId);
  return { start, end: prefixEnd(start) };
}

/** The smallest byte string greater than every string that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) throw new InternalError('a prefix of only 0xff bytes has no upper bound');
  // Uint8Array's slice copies; a Buffer's would be a view, and the increment would change `prefix`.
  const end = Uint8Array.prototype.slice.call(prefix, 0, n);
  end[n - 1]! += 1;
  return end;
}

const EMPTY = new Uint8Array(0);

function checkKeyGroup(keyGroup: number): void {
  if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= MAX_MAX_PARALLELISM) {
    throw new InternalError(`key group ${keyGroup} is not an integer in [0, ${MAX_MAX_PARALLELISM - 1}]`);
  }
}

function checkStateId(stateId: number): void {
  if (!Number.isInteger(stateId) || stateId < 0 || stateId > MAX_STATE_ID) {
    throw new InternalError(`state id ${stateId} is not an integer in [0, ${MAX_STATE_ID}]`);
  }
}

function writeU16(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 8;
  out[at + 1] = n & 0xff;
}

function readU16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}
