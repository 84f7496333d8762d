/**
 * Canonical key bytes: the one encoding of a keyed-state key that is hashed (to pick its key
 * group) and stored. It is a deterministic subset of standard MessagePack (shortest integer
 * forms, maps sorted by the UTF-8 bytes of their keys, one NaN), so any language can compute the
 * same bytes and so the same key group. See docs/FORMAT.md.
 */
import { Unpackr } from 'msgpackr';
import { UserError } from '../errors.ts';

/** A key that has no canonical encoding, or bytes that are not one. */
export class InvalidKeyError extends UserError {
  override readonly name: string = 'InvalidKeyError';
}

const ALLOWED = 'keys may be strings, numbers, booleans, Uint8Array, arrays and plain objects of these';
const MAX_DEPTH = 32;
const LONE_SURROGATE = 'a string with a lone surrogate (not valid Unicode)';
const TWO_32 = 0x1_0000_0000;

/**
 * Thrown inside the encoder and turned into an InvalidKeyError at the top. Each enclosing
 * container appends its path segment on the way out, so the happy path never builds a path.
 */
class KeyFault {
  readonly path: (string | number)[] = [];
  constructor(readonly what: string) {}
}

interface WellFormed {
  isWellFormed(): boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function formatPath(reversed: (string | number)[]): string {
  let out = 'key';
  for (let i = reversed.length - 1; i >= 0; i--) {
    const s = reversed[i]!;
    out += typeof s === 'number' ? `[${s}]` : IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Fix-up so UTF-16 code units compare in code point (= UTF-8 byte) order, as ICU does. */
function codePointOrder(c: number): number {
  return c < 0xd800 ? c : c >= 0xe000 ? c - 0x800 : c + 0x2000;
}

/** Orders property names by their UTF-8 bytes without encoding them. */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

/**
 * Encodes keys into one reusable, growing buffer. `encode` returns a view into that buffer,
 * valid until the next call: this is the per-record path, so it allocates nothing but that view.
 */
export class CanonicalKeyEncoder {
  private buf: Buffer = Buffer.allocUnsafe(256);
  /** `buf` as a plain Uint8Array: its subarray is cheaper to make than a Buffer's. */
  private bytes = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  private pos = 0;
  /** The containers enclosing the value being written, to find cycles and excess depth. */
  private readonly ancestors: object[] = [];

  encode(key: unknown): Uint8Array {
    this.pos = 0;
    // Only after an error is anything left here; setting length anyway costs as much as the encoding.
    if (this.ancestors.length !== 0) this.ancestors.length = 0;
    try {
      this.write(key);
    } catch (err) {
      if (err instanceof KeyFault) {
        throw new InvalidKeyError(`invalid key: ${err.what} at ${formatPath(err.path)}; ${ALLOWED}`);
      }
      throw err;
    }
    return this.bytes.subarray(0, this.pos);
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.bytes = new Uint8Array(grown.buffer, grown.byteOffset, grown.length);
  }

  private write(value: unknown): void {
    switch (typeof value) {
      case 'string':
        return this.writeString(value);
      case 'number':
        return this.writeNumber(value);
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = value ? 0xc3 : 0xc2;
        return;
      case 'object':
        if (value === null) throw new KeyFault('null');
        return this.writeObject(value);
      case 'undefined':
        throw new KeyFault('undefined');
      default:
        throw new KeyFault(`a ${typeof value}`);
    }
  }

  private writeNumber(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    const p = this.pos;
    if (!Number.isSafeInteger(n)) {
      // One NaN bit pattern: NaNs from typed arrays or other runtimes may carry payloads.
      if (Number.isNaN(n)) buf.set(CANONICAL_NAN, p);
      else (buf[p] = 0xcb), buf.writeDoubleBE(n, p + 1);
      this.pos = p + 9;
    } else if (n >= 0 ? n < 0x80 : n >= -32) {
      buf[p] = n & 0xff; // the fixints; -0 is stored as 0
      this.pos = p + 1;
    } else if (n >= 0) {
      this.pos =
        n < 0x100 ? put(buf, p, 0xcc, n, 1)
        : n < 0x10000 ? put(buf, p, 0xcd, n, 2)
        : n < TWO_32 ? put(buf, p, 0xce, n, 4)
        : put64(buf, p, 0xcf, n);
    } else {
      this.pos =
        n >= -0x80 ? put(buf, p, 0xd0, n, 1)
        : n >= -0x8000 ? put(buf, p, 0xd1, n, 2)
        : n >= -0x8000_0000 ? put(buf, p, 0xd2, n, 4)
        : put64(buf, p, 0xd3, n);
    }
  }

  private writeString(s: string): void {
    const n = s.length;
    // Short strings: encoding by hand beats a call into C++, and finds lone surrogates on the way.
    if (n < 32) {
      const reserved = strHeaderSize(3 * n); // UTF-8 takes at most 3 bytes per UTF-16 unit
      this.ensure(reserved + 3 * n);
      const buf = this.buf;
      const start = this.pos;
      let p = start + reserved;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x80) {
          buf[p++] = c;
        } else if (c < 0x800) {
          buf[p++] = 0xc0 | (c >> 6);
          buf[p++] = 0x80 | (c & 0x3f);
        } else if (c < 0xd800 || c > 0xdfff) {
          buf[p++] = 0xe0 | (c >> 12);
          buf[p++] = 0x80 | ((c >> 6) & 0x3f);
          buf[p++] = 0x80 | (c & 0x3f);
        } else {
          const d = c <= 0xdbff && i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (d < 0xdc00 || d > 0xdfff) throw new KeyFault(LONE_SURROGATE);
          i++;
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          buf[p++] = 0xf0 | (cp >> 18);
          buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
          buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
          buf[p++] = 0x80 | (cp & 0x3f);
        }
      }
      return this.finishString(start, reserved, p - start - reserved);
    }
    // Buffer#write would silently replace a lone surrogate with U+FFFD.
    if (!(s as unknown as WellFormed).isWellFormed()) throw new KeyFault(LONE_SURROGATE);
    // Reserve the header the worst case needs, write in place, then slide the bytes back if the
    // real length takes a shorter header: no separate pass to measure the string first.
    const reserved = strHeaderSize(3 * n);
    this.ensure(reserved + 3 * n);
    const start = this.pos;
    this.finishString(start, reserved, this.buf.write(s, start + reserved, 'utf8'));
  }

  /** Given `len` bytes written after a `reserved`-byte gap at `start`, closes up and writes the header. */
  private finishString(start: number, reserved: number, len: number): void {
    const size = strHeaderSize(len);
    if (size !== reserved) this.buf.copyWithin(start + size, start + reserved, start + reserved + len);
    this.writeHeader(len, 0xa0, 31, 0xd9, 0xda);
    this.pos += len;
  }

  /**
   * Writes the shortest header for `len` (bytes or elements): the fix form when len <= fixMax,
   * then the 8-bit form if the type has one (b8 !== 0), then 16-bit (b16) and 32-bit (b16 + 1).
   */
  private writeHeader(len: number, fix: number, fixMax: number, b8: number, b16: number): void {
    const buf = this.buf;
    const p = this.pos;
    if (len <= fixMax) {
      buf[p] = fix | len;
      this.pos = p + 1;
    } else {
      this.pos =
        b8 !== 0 && len <= 0xff ? put(buf, p, b8, len, 1)
        : len <= 0xffff ? put(buf, p, b16, len, 2)
        : put(buf, p, b16 + 1, len, 4);
    }
  }

  private writeObject(value: object): void {
    if (value instanceof Uint8Array) {
      const len = value.length;
      this.ensure(5 + len);
      this.writeHeader(len, 0, -1, 0xc4, 0xc5);
      this.buf.set(value, this.pos);
      this.pos += len;
      return;
    }
    const ancestors = this.ancestors;
    if (ancestors.includes(value)) throw new KeyFault('a cycle (a value that contains itself)');
    if (ancestors.length >= MAX_DEPTH) throw new KeyFault(`nesting deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      const n = value.length;
      this.ensure(5);
      this.writeHeader(n, 0x90, 15, 0, 0xdc);
      ancestors.push(value);
      let i = 0;
      try {
        for (; i < n; i++) this.write(value[i]);
      } catch (err) {
        if (err instanceof KeyFault) err.path.push(i);
        throw err;
      }
      ancestors.pop();
      return;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const ctor: unknown = (value as { constructor?: unknown }).constructor;
      throw new KeyFault(typeof ctor === 'function' && ctor.name !== '' ? `an instance of ${ctor.name}` : 'not a plain object');
    }
    if (Object.getOwnPropertySymbols(value).length !== 0) throw new KeyFault('an object with symbol keys');
    const names = Object.keys(value).sort(compareUtf8);
    this.ensure(5);
    this.writeHeader(names.length, 0x80, 15, 0, 0xde);
    ancestors.push(value);
    const record = value as Record<string, unknown>;
    let name = '';
    try {
      for (name of names) {
        // msgpackr decodes a "__proto__" entry as "__proto_", so such a key could not round-trip.
        if (name === '__proto__') throw new KeyFault('a property named __proto__');
        this.writeString(name);
        this.write(record[name]);
      }
    } catch (err) {
      if (err instanceof KeyFault) err.path.push(name);
      throw err;
    }
    ancestors.pop();
  }
}

function strHeaderSize(len: number): number {
  return len <= 31 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;
}

const CANONICAL_NAN = Uint8Array.of(0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0);

/** Writes `tag`, then the low `width` bytes of x (in [-2^31, 2^32)) big-endian. Returns the end. */
function put(buf: Buffer, p: number, tag: number, x: number, width: number): number {
  buf[p++] = tag;
  for (let shift = 8 * (width - 1); shift >= 0; shift -= 8) buf[p++] = (x >>> shift) & 0xff;
  return p;
}

function put64(buf: Buffer, p: number, tag: number, n: number): number {
  // Two's complement in two halves: floor keeps the low half in [0, 2^32) for negative n too.
  const high = Math.floor(n / TWO_32);
  put(buf, p, tag, high, 4);
  buf.writeUInt32BE(n - high * TWO_32, p + 5);
  return p + 9;
}

/** The canonical bytes of `key`, in a fresh array the caller may keep. */
export function encodeCanonicalKey(key: unknown): Uint8Array {
  return sharedEncoder.encode(key).slice();
}

const sharedEncoder = new CanonicalKeyEncoder();
const checkEncoder = new CanonicalKeyEncoder();

// msgpackr's typings lag its options: 'auto' (numbers within 2^53, else bigint) exists at run
// time. copyBuffers: a decoded Uint8Array must not alias the input, often an encoder's scratch.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', copyBuffers: true });

/**
 * Decodes canonical key bytes, refusing any that are not canonical (valid MessagePack in another
 * form would hash to another key group, so accepting it would misplace state).
 */
export function decodeCanonicalKey(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InvalidKeyError(`not a canonical key: not valid MessagePack (${why})`, undefined, { cause: err });
  }
  let again: Uint8Array;
  try {
    again = checkEncoder.encode(value);
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err;
    throw new InvalidKeyError(`not a canonical key: the bytes decode to something that is not a key (${err.message})`);
  }
  if (!bytesEqual(again, bytes)) {
    throw new InvalidKeyError(
      'not a canonical key: valid MessagePack but not in canonical form (a longer-than-needed ' +
        'integer, string or length header, float for an integer, unsorted or duplicate map keys, or trailing bytes)',
    );
  }
  return value;
}

/** Unsigned lexicographic order; a proper prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
