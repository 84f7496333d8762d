/**
 * What the chain rewrite thread does with a record of writes (chain-rewrite-thread-main.ts) and a
 * base chain's blocks, as sorted arrays rather than Maps.
 *
 * A record's changes (`packLayers`: maps applied in turn, a key maybe more than once, key groups
 * interleaved) are grouped by key group with a counting sort; a group's are deduplicated (the last
 * change of a key wins) and sorted by store key when it is written, through a Map of that group's
 * keys alone. The thread before filled 128 Maps at once, a random one per change (issue 13: 335k
 * changes of a loading record in 196 ms, about 585 ns each); `npm run bench -- rewrite` compares.
 *
 * A full block is its base chain replayed with the changes over it. The blocks hold their keys
 * in store order, so each step is a linear merge; a block whose keys are not ascending (never
 * written so, but not the thread's to assume) makes `replaySorted` answer undefined, and the
 * caller replays through a Map and sorts, as before.
 */
import { InternalError } from '../../errors.ts';
import type { PackedOverlay } from '../state/embedded/overlay-transfer.ts';

/** Keys in ascending (store) order, each once, with their values. */
export interface SortedEntries {
  readonly keys: string[];
  readonly values: Uint8Array[];
}

export interface GroupedChanges {
  readonly changes: PackedOverlay;
  /** Where change i's value starts in `changes.bytes`; -1: deleted. */
  readonly starts: Int32Array;
  /** Change indexes by key group, in record order within a group. */
  readonly order: Int32Array;
  /** Key group g's changes are `order[from[g]]` up to `order[from[g + 1]]`. */
  readonly from: Int32Array;
}

const GROUPS = 1 << 16;

export function groupChanges(changes: PackedOverlay): GroupedChanges {
  const { keys } = changes;
  const count = keys.length;
  const groups = new Uint16Array(count);
  const from = new Int32Array(GROUPS + 1);
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    // A store key starts with its key group's two bytes (state-keys.ts).
    const group = (key.charCodeAt(0) << 8) | key.charCodeAt(1);
    groups[i] = group;
    from[group + 1]! += 1;
  }
  for (let g = 1; g <= GROUPS; g++) from[g]! += from[g - 1]!;
  const next = from.slice(0, GROUPS);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[next[groups[i]!]!++] = i;
  return { changes, starts: valueStarts(changes.lengths), order, from };
}

/** Where each value of a packed overlay starts in its bytes (`PackedOverlay.lengths`); -1: deleted. */
export function valueStarts(lengths: Int32Array): Int32Array {
  const starts = new Int32Array(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i]!;
    if (length < 0) starts[i] = -1;
    else {
      starts[i] = at;
      at += length;
    }
  }
  return starts;
}

/** Key group `keyGroup`'s changes per state id: upserted canonical keys in store order with their values, and deleted keys. */
export function changesOfGroup(grouped: GroupedChanges, keyGroup: number, stateCount: number): { keys: string[][]; values: Uint8Array[][]; deletions: string[][] } {
  const keys: string[][] = Array.from({ length: stateCount }, () => []);
  const values: Uint8Array[][] = Array.from({ length: stateCount }, () => []);
  const deletions: string[][] = Array.from({ length: stateCount }, () => []);
  const { order, from, starts } = grouped;
  const { keys: storeKeys, lengths, bytes } = grouped.changes;
  const first = from[keyGroup]!;
  const end = from[keyGroup + 1]!;
  if (first === end) return { keys, values, deletions };
  // A Map of the group's keys alone (a later change of a key replaces an earlier one), then its
  // keys sorted natively: 1.2 to 1.5 times as fast as sorting the indexes with a comparator of
  // their keys (the records of `npm run bench -- rewrite`, measured with both).
  const last = new Map<string, number>();
  for (let j = first; j < end; j++) last.set(storeKeys[order[j]!]!, order[j]!);
  // Store keys sort as the canonical keys in them do within one state (canonical keys are self-delimiting).
  for (const storeKey of [...last.keys()].sort()) {
    const i = last.get(storeKey)!;
    const id = (storeKey.charCodeAt(storeKey.length - 2) << 8) | storeKey.charCodeAt(storeKey.length - 1);
    if (id >= stateCount) throw new InternalError(`a recorded change of state id ${id}, past the ${stateCount} states`);
    const key = storeKey.slice(2, -2);
    const start = starts[i]!;
    if (start < 0) deletions[id]!.push(key);
    else {
      keys[id]!.push(key);
      values[id]!.push(bytes.subarray(start, start + lengths[i]!));
    }
  }
  return { keys, values, deletions };
}

export function isAscending(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false;
  return true;
}

/** `base` with `upserts` over it (an upsert's value wins); both ascending. */
export function upsertSorted(base: SortedEntries, upserts: SortedEntries): SortedEntries {
  if (upserts.keys.length === 0) return base;
  if (base.keys.length === 0) return upserts;
  const keys: string[] = [];
  const values: Uint8Array[] = [];
  const [a, av, b, bv] = [base.keys, base.values, upserts.keys, upserts.values];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x < y) {
      keys.push(x);
      values.push(av[i++]!);
    } else {
      if (x === y) i++;
      keys.push(y);
      values.push(bv[j++]!);
    }
  }
  for (; i < a.length; i++) {
    keys.push(a[i]!);
    values.push(av[i]!);
  }
  for (; j < b.length; j++) {
    keys.push(b[j]!);
    values.push(bv[j]!);
  }
  return { keys, values };
}

/** `base` without `deleted`; both ascending. */
export function deleteSorted(base: SortedEntries, deleted: readonly string[]): SortedEntries {
  if (deleted.length === 0 || base.keys.length === 0) return base;
  const keys: string[] = [];
  const values: Uint8Array[] = [];
  let j = 0;
  for (let i = 0; i < base.keys.length; i++) {
    const key = base.keys[i]!;
    while (j < deleted.length && deleted[j]! < key) j++;
    if (j < deleted.length && deleted[j] === key) continue;
    keys.push(key);
    values.push(base.values[i]!);
  }
  return { keys, values };
}
