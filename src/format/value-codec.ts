/**
 * Encoding of state values as standard MessagePack (docs/FORMAT.md 1 and 5.2). msgpackr does the
 * work; the options below keep it inside the standard (no records, no msgpackr extension types)
 * and `standardValueProblem` refuses the JS types msgpackr would write as its own extensions.
 */
import { Packr, Unpackr } from 'msgpackr';

export function createValuePackr(): Packr {
  return new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
}

export function createValueUnpackr(): Unpackr {
  // msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run time.
  return new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });
}

const MAX_DEPTH = 64;

/**
 * Why `value` cannot be stored as standard MessagePack, or undefined if it can. Allowed: null,
 * undefined (stored as nil), booleans, numbers, bigints within 64 bits, strings, Uint8Array,
 * Date, arrays and plain objects of these.
 */
export function standardValueProblem(value: unknown, depth = 0): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return undefined;
    case 'bigint':
      return value >= -(2n ** 63n) && value < 2n ** 64n ? undefined : 'a bigint outside 64 bits';
    case 'object': {
      if (value === null) return undefined;
      if (depth >= MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH} levels (or a cycle)`;
      if (Array.isArray(value)) {
        for (const item of value) {
          const problem = standardValueProblem(item, depth + 1);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        for (const key in value) {
          const problem = standardValueProblem((value as Record<string, unknown>)[key], depth + 1);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      if (value instanceof Uint8Array || value instanceof Date) return undefined;
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `a ${name} (store arrays or plain objects instead)`;
    }
    default:
      return `a ${typeof value}`;
  }
}
