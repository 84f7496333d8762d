/**
 * How each kind of keyed state keeps a key's value in memory, and how that maps to the value
 * layout of FORMAT.md 5.2. Only map state differs: in memory a Map from the user key's canonical
 * string to its `[userKey, userValue]` pair (so lookups compare canonical bytes), in a snapshot an
 * array of those pairs.
 */
import type { KeyedStateKind } from '../../format/model.ts';
import { keyStringOf } from './key-string.ts';

export type UserMapPair = [userKey: unknown, userValue: unknown];
export type UserMap = Map<string, UserMapPair>;

/** The value as FORMAT.md 5.2 lays it out for `kind`. */
export function toSnapshotValue(kind: KeyedStateKind, stored: unknown): unknown {
  return kind === 'map' ? Array.from((stored as UserMap).values()) : stored;
}

/** `toSnapshotValue` of each value; the array itself when `kind` stores values as they are laid out. */
export function toSnapshotValues(kind: KeyedStateKind, stored: readonly unknown[]): readonly unknown[] {
  return kind === 'map' ? stored.map((v) => toSnapshotValue(kind, v)) : stored;
}

/**
 * The in-memory value for a value read from a snapshot, or a description of why it does not fit
 * `kind` (the caller names the file and offset).
 */
export function fromSnapshotValue(kind: KeyedStateKind, value: unknown): { value: unknown } | { problem: string } {
  switch (kind) {
    case 'map': {
      if (!Array.isArray(value)) return { problem: 'a map state value must be an array of [userKey, userValue] pairs' };
      const map: UserMap = new Map();
      for (const pair of value as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2) return { problem: 'a map state value must be an array of [userKey, userValue] pairs' };
        const key = keyStringOf(pair[0]);
        if (map.has(key)) return { problem: 'a map state value holds the same user key twice' };
        map.set(key, [pair[0], pair[1]]);
      }
      return { value: map };
    }
    case 'list':
    case 'timers':
      return Array.isArray(value) ? { value } : { problem: `a ${kind} state value must be an array` };
    case 'value':
    case 'reducing':
    case 'aggregating':
      return { value };
  }
}
