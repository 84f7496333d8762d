/**
 * The MessagePack scalars most state values are (integers within 32 bits, doubles, booleans,
 * nil), decoded straight from their bytes. msgpackr's `unpack` attaches a new DataView to every
 * Uint8Array it has not read before, and the on-disk backends read each value once, right after
 * it was written: on their record path (the keyed count, lmdb, hot keys) those DataViews were 30%
 * of the processing thread's allocations, about 200 bytes a record (V8's sampling heap profiler,
 * 3.4 GB over 5M records). Anything else, and bytes with more or less than one value, is left to
 * msgpackr (`NOT_SCALAR`), which decodes or refuses it as before.
 */
export const NOT_SCALAR: unique symbol = Symbol('not a scalar');

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
