/**
 * How state keys and values appear in JSON output (`inspect --entries`, `diff --json`) and how a
 * key is typed on the command line (`inspect --key`). JSON has no bytes, bigints, dates or
 * non-finite numbers, so those become one-property tagged objects; documented in README.md.
 */
import { UsageError } from '../errors.ts';
import { InvalidKeyError, encodeCanonicalKey } from './canonical-key.ts';
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

/**
 * Parses a key typed as JSON, turning the tagged objects `toJson` prints back into what they stand
 * for, so that a key copied from `--keys` finds its entry. A one-key object with a tag's name is
 * that tag (as in the output, FORMAT.md section 7), so a malformed one is refused rather than
 * looked up as a plain object that no key equals; so is a value that cannot be a key.
 */
export function keyFromJsonText(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--key '${text}' is not valid JSON (a string key needs quotes: --key '"user-1"')`);
  }
  const refuse = (problem: string): never => {
    throw new UsageError(`--key '${text}': ${problem}`);
  };
  const key = fromJson(parsed, refuse);
  // A bigint, a time or a map reads back fine but is no key (FORMAT.md 5.2): say so, not "not found".
  try {
    encodeCanonicalKey(key);
  } catch (err) {
    if (err instanceof InvalidKeyError) refuse(err.message);
    throw err;
  }
  return key;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** As `toISOString` prints (the time part and the offset optional, as `Date` reads ISO-8601). */
const ISO_8601 = /^[+-]?\d{4,6}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function fromJson(value: unknown, refuse: (problem: string) => never): unknown {
  if (Array.isArray(value)) return value.map((v) => fromJson(v, refuse));
  if (!isPlainMap(value)) return value;
  const keys = Object.keys(value);
  const [tag] = keys;
  if (keys.length === 1 && tag !== undefined && Object.hasOwn(TAGS, tag)) return TAGS[tag as keyof typeof TAGS](value[tag], refuse);
  return Object.fromEntries(keys.map((k) => [k, fromJson(value[k], refuse)]));
}

const TAGS = {
  $bytes(text: unknown, refuse: (problem: string) => never): Buffer {
    const bytes = typeof text === 'string' && BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
    // Buffer skips what is not base64; a text that does not come back the same was not all base64.
    if (bytes === undefined || bytes.toString('base64').replace(/=+$/, '') !== (text as string).replace(/=+$/, '')) {
      refuse(`${JSON.stringify(text)} is not base64: bytes are {"$bytes": "<base64>"}, e.g. {"$bytes": "AAEC/w=="}`);
    }
    return bytes;
  },
  $bigint(text: unknown, refuse: (problem: string) => never): bigint {
    if (typeof text !== 'string' || !/^-?\d+$/.test(text)) refuse(`${JSON.stringify(text)} is not a whole number: integers are {"$bigint": "<decimal digits>"}, e.g. {"$bigint": "9007199254740993"}`);
    return BigInt(text);
  },
  $date(text: unknown, refuse: (problem: string) => never): Date {
    const ms = typeof text === 'string' && ISO_8601.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(ms)) refuse(`${JSON.stringify(text)} is not an ISO-8601 time: timestamps are {"$date": "<ISO-8601>"}, e.g. {"$date": "2026-01-01T00:00:00.000Z"}`);
    return new Date(ms);
  },
  $number(text: unknown, refuse: (problem: string) => never): number {
    if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return Number(text);
    refuse(`${JSON.stringify(text)} is not one of "NaN", "Infinity", "-Infinity" (finite numbers are typed as they are, e.g. --key 42)`);
  },
  $map(pairs: unknown, refuse: (problem: string) => never): Map<unknown, unknown> {
    if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && p.length === 2)) {
      refuse(`${JSON.stringify(pairs)} is not a list of [key, value] pairs: maps are {"$map": [[key, value], ...]}`);
    }
    return new Map((pairs as [unknown, unknown][]).map(([k, v]) => [fromJson(k, refuse), fromJson(v, refuse)]));
  },
} as const;
