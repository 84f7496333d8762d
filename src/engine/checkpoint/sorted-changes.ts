/**
 * What the chain rewrite thread does with a record of writes (chain-rewrite-thread-main.ts) and a
 * base chain's blocks, as sorted arrays rather than Maps.
 *
 * A record's changes (`packLayers`: maps applied in turn, a key maybe more than once, key groups
 * interleaved) are grouped by key group with a counting sort; a group's are deduplicated (the last
 * change of a key wins) and sorted by store key when it is written (`lastChangesInOrder`), by a
 * few of each key's characters packed into a number, not by comparing the keys. The thread before
 * filled 128 Maps at once, a random one per change (issue 13: 335k changes of a loading record in
 * 196 ms, about 585 ns each); `npm run bench -- rewrite` compares.
 *
 * A full block is its base chain replayed with the changes over it. The blocks hold their keys
 * in store order, so each step is a linear merge; where a block's keys are not ascending (never
 * written so, but not the thread's to assume), the thread replays its blocks through a Map and
 * sorts, as before (`fullContent`, chain-rewrite-thread-main.ts).
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
  // Store keys sort as the canonical keys in them do within one state (canonical keys are self-delimiting).
  for (const i of lastChangesInOrder(storeKeys, order, first, end)) {
    const storeKey = storeKeys[i]!;
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

/** Bits of a double's 53-bit integer range. */
const EXACT_BITS = 53;
/** Changes tying on their packed characters that are sorted by comparing keys; a longer run by the characters after, where its keys have more. */
const INSERTION_RUN = 24;

/**
 * The indexes `order[first]` up to `order[end]` (changes in record order) of each distinct key's
 * last change, in ascending key order. The keys are latin1 strings (store keys) that agree on
 * their first `shared` characters (a key group's two bytes).
 *
 * Sorting the keys as strings was most of the thread's work on a loading record (issue 13: 325 of
 * 403 ms for 400k changes; about 12 string comparisons per change at 3,000 changes a key group).
 * Here each change is a double: the few characters of its key after those all keys share, as a
 * number, above its position in the group. A typed array sorts those natively, with no string
 * comparison. Changes whose numbers tie on those characters (the same key changed again, or keys
 * alike that far) are sorted in their run, stably, so the last change of a key is the last of its
 * streak: a long run by the characters after, as here, a short one by comparing its keys.
 */
export function lastChangesInOrder(keys: readonly string[], order: Int32Array, first: number, end: number, shared = 2): Int32Array {
  return lastChanges(keys, order, first, end, shared, 0);
}

/**
 * Runs sorted by the characters after theirs, one within another, at most: keys alike for longer
 * (keys that are each other's prefixes, growing a few characters at a time) would each take a
 * pass over the rest, quadratic in their number (16,000 such keys: 4.3 s, against 0.26 s for a
 * string sort), so a run nested this deep is sorted by comparing its keys.
 */
const MAX_NESTED_RUNS = 3;

function lastChanges(keys: readonly string[], order: Int32Array, first: number, end: number, shared: number, depth: number): Int32Array {
  const n = end - first;
  if (n <= 1) return order.slice(first, end);
  const from = commonLength(keys, order, first, end, shared);
  const indexBits = 32 - Math.clz32(n - 1);
  const chars = Math.floor((EXACT_BITS - indexBits) / 8);
  const scale = 2 ** indexBits;
  const packed = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const key = keys[order[first + j]!]!;
    let prefix = 0;
    // A missing character counts as 0: a key that is a prefix of another never packs above it.
    for (let c = from; c < from + chars; c++) {
      const code = c < key.length ? key.charCodeAt(c) : 0;
      // Not latin1: a character would not fit its byte, and the numbers would not order as the keys.
      if (code > 0xff) return lastChangesByString(keys, order, first, end);
      prefix = prefix * 256 + code;
    }
    packed[j] = prefix * scale + j;
  }
  packed.sort();
  const out = new Int32Array(n);
  let written = 0;
  for (let s = 0; s < n; ) {
    const prefix = Math.floor(packed[s]! / scale);
    let e = s + 1;
    while (e < n && Math.floor(packed[e]! / scale) === prefix) e++;
    if (e - s === 1) out[written++] = order[first + (packed[s]! - prefix * scale)]!;
    else if (e - s === 2) {
      // Mostly a key changed twice (a hot key in two layers): no run to sort.
      const a = order[first + (packed[s]! - prefix * scale)]!;
      const b = order[first + (packed[s + 1]! - prefix * scale)]!;
      const x = keys[a]!;
      const y = keys[b]!;
      if (x === y) out[written++] = b;
      else if (x < y) {
        out[written++] = a;
        out[written++] = b;
      } else {
        out[written++] = b;
        out[written++] = a;
      }
    } else {
      // Ascending positions: the run's changes in record order.
      const run: number[] = [];
      let longest = 0;
      for (let k = s; k < e; k++) {
        const index = order[first + (packed[k]! - prefix * scale)]!;
        run.push(index);
        longest = Math.max(longest, keys[index]!.length);
      }
      if (run.length > INSERTION_RUN && from + chars < longest && depth < MAX_NESTED_RUNS) {
        for (const index of lastChanges(keys, Int32Array.from(run), 0, run.length, from + chars, depth + 1)) out[written++] = index;
      } else {
        sortByKey(run, keys);
        for (let k = 0; k < run.length; k++) if (k + 1 === run.length || keys[run[k]!] !== keys[run[k + 1]!]) out[written++] = run[k]!;
      }
    }
    s = e;
  }
  return out.subarray(0, written);
}

/** Where the keys of changes `order[first..end)` stop agreeing, knowing they agree on `from` characters. */
function commonLength(keys: readonly string[], order: Int32Array, first: number, end: number, from: number): number {
  const head = keys[order[first]!]!;
  let length = head.length;
  for (let j = first + 1; j < end && length > from; j++) {
    const key = keys[order[j]!]!;
    let c = from;
    const limit = Math.min(length, key.length);
    while (c < limit && key.charCodeAt(c) === head.charCodeAt(c)) c++;
    length = c;
  }
  return Math.max(length, from);
}

/** Sorts change indexes by their keys, stably. */
function sortByKey(run: number[], keys: readonly string[]): void {
  if (run.length > INSERTION_RUN) {
    // Keys alike to their ends (mostly one key changed again and again), or past MAX_NESTED_RUNS.
    run.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    return;
  }
  for (let k = 1; k < run.length; k++) {
    const index = run[k]!;
    const key = keys[index]!;
    let at = k;
    while (at > 0 && keys[run[at - 1]!]! > key) {
      run[at] = run[at - 1]!;
      at--;
    }
    run[at] = index;
  }
}

/** As lastChangesInOrder, through a Map of the keys and a string sort. */
function lastChangesByString(keys: readonly string[], order: Int32Array, first: number, end: number): Int32Array {
  const last = new Map<string, number>();
  for (let j = first; j < end; j++) last.set(keys[order[j]!]!, order[j]!);
  return Int32Array.from([...last.keys()].sort(), (key) => last.get(key)!);
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
