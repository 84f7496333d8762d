/**
 * The MessagePack scalars most state values are (integers within 32 bits, doubles, booleans,
 * nil), decoded straight from their bytes and encoded byte for byte as `createValuePackr()`
 * encodes them. msgpackr's `unpack` attaches a new DataView to every Uint8Array it has not read
 * before, and the on-disk backends read each value once, right after it was written: on their
 * record path (the keyed count, lmdb, hot keys) those DataViews were 30% of the processing
 * thread's allocations, about 200 bytes a record (V8's sampling heap profiler, 3.4 GB over 5M
 * records); its `pack` allocated 136 bytes a record, this about 95 (the view). Anything else,
 * and bytes with more or less than one value, is left to msgpackr (`NOT_SCALAR`, undefined),
 * which decodes, encodes or refuses it as before.
 */
export const NOT_SCALAR: unique symbol = Symbol('not a scalar');

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encoded values are views of a slab of this size, as msgpackr's are of its 8 KB buffer; a plain
 * Uint8Array, whose views V8 makes in about half the time of a Buffer's (30 against 55 ns).
 */
const SLAB_BYTES = 8192;
let slab = new Uint8Array(SLAB_BYTES);
let slabAt = 0;

function view(length: number): Uint8Array {
  if (slabAt + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabAt = 0;
  }
  const start = slabAt;
  slabAt += length;
  return slab.subarray(start, slabAt);
}

/**
 * `value` as `createValuePackr()` packs it (useRecords false: positive integers below 128 are one
 * byte; undefined is nil), for numbers other than NaN, booleans, null and undefined; else
 * undefined. NaN is left to msgpackr: its bits are whatever the engine's NaN has.
 */
export function encodeScalar(value: unknown): Uint8Array | undefined {
  if (typeof value === 'number') {
    if (value >>> 0 === value) {
      if (value < 0x80) {
        const out = view(1);
        out[0] = value;
        return out;
      }
      if (value < 0x100) {
        const out = view(2);
        out[0] = 0xcc;
        out[1] = value;
        return out;
      }
      if (value < 0x10000) {
        const out = view(3);
        out[0] = 0xcd;
        out[1] = value >>> 8;
        out[2] = value & 0xff;
        return out;
      }
      const out = view(5);
      out[0] = 0xce;
      out[1] = value >>> 24;
      out[2] = (value >>> 16) & 0xff;
      out[3] = (value >>> 8) & 0xff;
      out[4] = value & 0xff;
      return out;
    }
    if (value >> 0 === value) {
      if (value >= -0x20) {
        const out = view(1);
        out[0] = 0x100 + value;
        return out;
      }
      if (value >= -0x80) {
        const out = view(2);
        out[0] = 0xd0;
        out[1] = value + 0x100;
        return out;
      }
      if (value >= -0x8000) {
        const out = view(3);
        out[0] = 0xd1;
        out[1] = (value >> 8) & 0xff;
        out[2] = value & 0xff;
        return out;
      }
      const out = view(5);
      out[0] = 0xd2;
      out[1] = (value >>> 24) & 0xff;
      out[2] = (value >>> 16) & 0xff;
      out[3] = (value >>> 8) & 0xff;
      out[4] = value & 0xff;
      return out;
    }
    if (value !== value) return undefined;
    f64[0] = value;
    const out = view(9);
    out[0] = 0xcb;
    for (let i = 0; i < 8; i++) out[1 + i] = f64Bytes[LITTLE_ENDIAN ? 7 - i : i]!;
    return out;
  }
  if (value === null || value === undefined) {
    const out = view(1);
    out[0] = 0xc0;
    return out;
  }
  if (typeof value === 'boolean') {
    const out = view(1);
    out[0] = value ? 0xc3 : 0xc2;
    return out;
  }
  return undefined;
}

/** `bytes` as msgpackr decodes them when they are one scalar of the kinds above; else NOT_SCALAR. */
export function decodeScalar(bytes: Uint8Array): number | boolean | null | typeof NOT_SCALAR {
  const length = bytes.length;
  const b = bytes[0];
  if (b === undefined) return NOT_SCALAR;
  if (b <= 0x7f) return length === 1 ? b : NOT_SCALAR;
  if (b >= 0xe0) return length === 1 ? b - 0x100 : NOT_SCALAR;
  switch (b) {
    case 0xc0:
      return length === 1 ? null : NOT_SCALAR;
    case 0xc2:
      return length === 1 ? false : NOT_SCALAR;
    case 0xc3:
      return length === 1 ? true : NOT_SCALAR;
    case 0xcc:
      return length === 2 ? bytes[1]! : NOT_SCALAR;
    case 0xcd:
      return length === 3 ? (bytes[1]! << 8) | bytes[2]! : NOT_SCALAR;
    case 0xce:
      return length === 5 ? ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0 : NOT_SCALAR;
    case 0xd0:
      return length === 2 ? (bytes[1]! << 24) >> 24 : NOT_SCALAR;
    case 0xd1:
      return length === 3 ? (((bytes[1]! << 8) | bytes[2]!) << 16) >> 16 : NOT_SCALAR;
    case 0xd2:
      return length === 5 ? (bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]! : NOT_SCALAR;
    case 0xcb:
      if (length !== 9) return NOT_SCALAR;
      for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN ? 7 - i : i] = bytes[1 + i]!;
      return f64[0]!;
    default:
      return NOT_SCALAR;
  }
}
