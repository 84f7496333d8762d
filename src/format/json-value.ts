/**
 * How state keys and values appear in JSON output (`inspect --entries`, `diff --json`) and how a
 * key is typed on the command line (`inspect --key`). JSON has no bytes, bigints, dates or
 * non-finite numbers, so those become one-property tagged objects; documented in README.md.
 */
import { UsageError } from '../errors.ts';
import { isPlainMap } from './fields.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function toJson(value: unknown): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? 0 : value;
      return { $number: String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'undefined':
      return null;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
      if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() };
      if (Array.isArray(value)) return value.map(toJson);
      if (value instanceof Map) return { $map: [...value.entries()].map(([k, v]) => [toJson(k), toJson(v)]) };
      const out: { [key: string]: Json } = {};
      for (const [k, v] of Object.entries(value)) {
        // Assigning '__proto__' would set the prototype instead of adding the key.
        if (k === '__proto__') Object.defineProperty(out, k, { value: toJson(v), enumerable: true, writable: true, configurable: true });
        else out[k] = toJson(v);
      }
      return out;
    }
    default:
      return String(value);
  }
}

/** Parses a key typed as JSON, turning `{"$bytes": "<base64>"}` back into bytes. */
export function keyFromJsonText(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--key '${text}' is not valid JSON (a string key needs quotes: --key '"user-1"')`);
  }
  return fromJson(parsed);
}

function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (isPlainMap(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof value.$bytes === 'string') return Buffer.from(value.$bytes, 'base64');
    if (keys.length === 1 && keys[0] === '$number' && typeof value.$number === 'string') return Number(value.$number);
    return Object.fromEntries(keys.map((k) => [k, fromJson(value[k])]));
  }
  return value;
}
