/**
 * Encoding of state values as standard MessagePack (docs/FORMAT.md 1 and 5.2). msgpackr does the
 * work; the options below keep it inside the standard (no records, no msgpackr extension types)
 * and `standardValueProblem` refuses the JS types msgpackr would write as its own extensions.
 */
import { Packr, Unpackr } from 'msgpackr';
import { mapsHaveStringKeysOnly } from './string-keyed.ts';

const PROTO = Buffer.from('__proto__');

export function createValuePackr(): Packr {
  return new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
}

/** Decodes state values; see `keysAsData` for how maps come out. */
export interface ValueDecoder {
  /** The MessagePack values of `bytes`, back to back. */
  unpackMultiple(bytes: Uint8Array): unknown[];
}

export function createValueUnpackr(): ValueDecoder {
  // mapsAsObjects would rename a '__proto__' key and turn other keys into strings (1 and '1'
  // would collide, an array key throws): maps come out as Maps and keysAsData decides.
  // msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run time.
  const careful = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'auto' as 'number' });
  // Maps cost three to four times as much to decode as objects: when every key is a string and
  // none is '__proto__' (nearly always), msgpackr's object path gives the same result.
  const fast = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });
  return {
    unpackMultiple(bytes: Uint8Array): unknown[] {
      // A Buffer already (the embedded stores hand out Buffers): making another view costs more than the checks.
      const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (buffer.indexOf(PROTO) === -1 && mapsHaveStringKeysOnly(bytes)) return fast.unpackMultiple(bytes) as unknown[];
      const values = careful.unpackMultiple(bytes) as unknown[];
      for (let i = 0; i < values.length; i++) values[i] = keysAsData(values[i]);
      return values;
    },
  };
}

/**
 * Keys are data (FORMAT.md 5.2): a map whose keys are all strings becomes a plain object with
 * every key an own property, '__proto__', 'constructor' and 'toString' included; a map with any
 * other key stays a Map, so no key is renamed, merged or dropped.
 */
export function keysAsData(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = keysAsData(value[i]);
    return value;
  }
  if (!(value instanceof Map)) return value; // bytes, dates
  const map = value as Map<unknown, unknown>;
  let stringKeys = true;
  for (const key of map.keys()) {
    if (typeof key !== 'string') {
      stringKeys = false;
      break;
    }
  }
  if (!stringKeys) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of map) out.set(keysAsData(k), keysAsData(v));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of map as Map<string, unknown>) {
    // Assigning '__proto__' would set the prototype instead of adding the key.
    if (k === '__proto__') Object.defineProperty(out, k, { value: keysAsData(v), enumerable: true, writable: true, configurable: true });
    else out[k] = keysAsData(v);
  }
  return out;
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
