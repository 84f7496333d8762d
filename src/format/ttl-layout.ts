/**
 * The value layout of a keyed state under TTL (docs/FORMAT.md 5.4, format version 2): every
 * value, list element and map user value is a 2-element array `[value, lastAccess]`, where
 * `lastAccess` is the processing time (ms since the epoch) of the last access that counted
 * (Flink's TtlValue). Pure: checks and readable views for readers, verify and inspect.
 */
import type { KeyedStateKind, KeyedStateMeta } from './model.ts';

/** Whether a state's values carry timestamps: version 2 and a `ttl` map (version 1 never does). */
export function hasTtlLayout(state: Pick<KeyedStateMeta, 'ttlLayout'>): boolean {
  return state.ttlLayout === true;
}

function isTimestamp(x: unknown): boolean {
  return (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) || (typeof x === 'bigint' && x >= 0n);
}

function isTtlPair(x: unknown): x is [unknown, number] {
  return Array.isArray(x) && x.length === 2 && isTimestamp(x[1]);
}

/** Why `value` (as decoded) does not follow the TTL layout of `kind`, or undefined. */
export function ttlLayoutProblem(kind: KeyedStateKind, value: unknown): string | undefined {
  switch (kind) {
    case 'value':
    case 'reducing':
    case 'aggregating':
      return isTtlPair(value) ? undefined : `a ${kind} state value under TTL must be [value, lastAccess] with lastAccess a uint`;
    case 'list':
      return Array.isArray(value) && value.every(isTtlPair) ? undefined : 'a list state value under TTL must be an array of [element, lastAccess] pairs with lastAccess a uint';
    case 'map':
      return Array.isArray(value) && value.every((p) => Array.isArray(p) && p.length === 2 && isTtlPair(p[1]))
        ? undefined
        : 'a map state value under TTL must be an array of [userKey, [userValue, lastAccess]] with lastAccess a uint';
    case 'timers':
      return 'timers state cannot be under TTL';
  }
}

/** `{ value, lastAccess }` with lastAccess as an ISO-8601 UTC string: how `inspect` prints a TTL pair. */
function readablePair(pair: unknown): unknown {
  if (!isTtlPair(pair)) return pair;
  const ms = Number(pair[1]);
  const date = new Date(ms);
  return { value: pair[0], lastAccess: Number.isNaN(date.getTime()) ? ms : date.toISOString() };
}

/**
 * The value of a state under TTL as `inspect` shows it (FORMAT.md 7): each `[value, lastAccess]`
 * pair becomes `{ "value": ..., "lastAccess": "<ISO-8601>" }` (a list's elements and a map's
 * user values each); anything off the layout is shown as it is (`verify` reports it).
 */
export function readableTtlValue(kind: KeyedStateKind, value: unknown): unknown {
  if (ttlLayoutProblem(kind, value) !== undefined) return value;
  switch (kind) {
    case 'list':
      return (value as unknown[]).map(readablePair);
    case 'map':
      return (value as [unknown, unknown][]).map(([k, v]) => [k, readablePair(v)]);
    default:
      return readablePair(value);
  }
}
