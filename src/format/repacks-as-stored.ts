/**
 * Whether a state value's stored MessagePack bytes can go into a snapshot as they are.
 *
 * The on-disk backends keep values as `createValuePackr()` wrote them, and the data file writer
 * packs a frame's values with the same options, an array being its header and then each element
 * as msgpackr writes it alone. Decoding each stored value only to pack it again (most of what
 * writing a checkpoint cost on those backends) gives the same bytes whenever the value comes
 * back from the decoder as something msgpackr packs exactly as before and `standardValueProblem`
 * accepts. `repacksAsStored` tells that from the bytes alone; bytes it does not accept are
 * decoded and written the usual way (data-file-writer.ts), so its answer only has to be right
 * when it says yes. It says no to:
 * - 64-bit ints (a bigint within 2^53 comes back as a number, which packs shorter), float32,
 *   NaN (its bit pattern), and every int or float that is not in the one form msgpackr picks
 *   for its value;
 * - strings that are not well-formed UTF-8 (a lone surrogate msgpackr wrote as three bytes
 *   comes back as U+FFFD) or start with a byte order mark (TextDecoder drops it), and string
 *   headers longer than needed;
 * - maps with a key that is not a string, is '__proto__', or starts with a digit (an object puts
 *   integer-like keys first, so a map written from a Map could come back reordered);
 * - ext types other than msgpackr's timestamps for Dates within 1970..2106 (-1, 4 or 8 bytes,
 *   in the form msgpackr writes them);
 * - nesting as deep as value-codec.ts's MAX_DEPTH, where standardValueProblem refuses.
 * Maps with a duplicate key are not looked for: msgpackr writes none, from an object or a Map.
 */
import { isUtf8 } from 'node:buffer';

/** value-codec.ts's MAX_DEPTH: a container (or bytes, or a Date) this deep is refused. */
const MAX_DEPTH = 64;

const remaining: number[] = [];
const isMap: boolean[] = [];

export function repacksAsStored(bytes: Uint8Array): boolean {
  const end = bytes.length;
  if (end === 1) {
    // Most state values (counters, flags): a fixint, nil, a boolean, or an empty map, array or string.
    const b = bytes[0]!;
    return b <= 0x80 || b >= 0xe0 || b === 0x90 || b === 0xa0 || b === 0xc0 || b === 0xc2 || b === 0xc3;
  }
  // Per open container: items still to read, and whether it is a map (even count left = a key next).
  remaining[0] = 1;
  isMap[0] = false;
  let depth = 0;
  let pos = 0;
  while (depth > 0 || remaining[0]! > 0) {
    if (pos >= end) return false;
    const keyNext = isMap[depth] === true && (remaining[depth]! & 1) === 0;
    remaining[depth]! -= 1;
    const b = bytes[pos++]!;
    let count = -1; // items of a container started here
    let map = false;
    if (keyNext && !(b >= 0xa0 && b <= 0xbf) && b !== 0xd9 && b !== 0xda && b !== 0xdb) return false;
    if (b <= 0x7f || b >= 0xe0) {
      // fixint
    } else if (b <= 0x8f) {
      count = (b & 0x0f) * 2;
      map = true;
    } else if (b <= 0x9f) {
      count = b & 0x0f;
    } else if (b <= 0xbf) {
      const n = b & 0x1f;
      if (!stringOk(bytes, pos, n, keyNext)) return false;
      pos += n;
    } else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break;
        case 0xc4:
        case 0xd9: {
          const n = bytes[pos] ?? 0;
          if (n < (b === 0xd9 ? 0x20 : 0) || (b === 0xc4 && depth >= MAX_DEPTH)) return false;
          if (b === 0xd9 && !stringOk(bytes, pos + 1, n, keyNext)) return false;
          pos += 1 + n;
          break;
        }
        case 0xc5:
        case 0xda: {
          const n = u16(bytes, pos);
          if (n < 0x100 || (b === 0xc5 && depth >= MAX_DEPTH)) return false;
          if (b === 0xda && !stringOk(bytes, pos + 2, n, keyNext)) return false;
          pos += 2 + n;
          break;
        }
        case 0xc6:
        case 0xdb: {
          const n = u32(bytes, pos);
          if (n < 0x10000 || (b === 0xc6 && depth >= MAX_DEPTH)) return false;
          if (b === 0xdb && !stringOk(bytes, pos + 4, n, keyNext)) return false;
          pos += 4 + n;
          break;
        }
        case 0xcb: {
          if (pos + 8 > end) return false;
          for (let i = 0; i < 8; i++) float64Bytes[i] = bytes[pos + i]!;
          const x = float64.getFloat64(0);
          // msgpackr writes a number that is an int32 or a uint32 (-0 too) as an int.
          if (Number.isNaN(x) || x >>> 0 === x || x >> 0 === x) return false;
          pos += 8;
          break;
        }
        case 0xcc:
          if ((bytes[pos] ?? 0) < 0x80) return false;
          pos += 1;
          break;
        case 0xcd:
          if (u16(bytes, pos) < 0x100) return false;
          pos += 2;
          break;
        case 0xce:
          if (u32(bytes, pos) < 0x10000) return false;
          pos += 4;
          break;
        case 0xd0:
          if ((bytes[pos] ?? 0) >= 0xe0 || (bytes[pos] ?? 0) < 0x80) return false; // -0x80..-0x21
          pos += 1;
          break;
        case 0xd1: {
          const x = (u16(bytes, pos) << 16) >> 16;
          if (x >= -0x80) return false;
          pos += 2;
          break;
        }
        case 0xd2: {
          const x = u32(bytes, pos) | 0;
          if (x >= -0x8000) return false;
          pos += 4;
          break;
        }
        case 0xd6: // timestamp 32: any seconds in [0, 2^32) come back to this form
          if (bytes[pos] !== 0xff || depth >= MAX_DEPTH) return false;
          pos += 5;
          break;
        case 0xd7: {
          // timestamp 64 as msgpackr writes it: whole milliseconds, not zero, seconds below 2^32
          if (bytes[pos] !== 0xff || depth >= MAX_DEPTH || pos + 9 > end) return false;
          const high = u32(bytes, pos + 1);
          const nanos = high >>> 2;
          if ((high & 3) !== 0 || nanos === 0 || nanos >= 1_000_000_000 || nanos % 1_000_000 !== 0) return false;
          pos += 9;
          break;
        }
        case 0xdc:
          count = u16(bytes, pos);
          if (count < 0x10) return false;
          pos += 2;
          break;
        case 0xdd:
          count = u32(bytes, pos);
          if (count < 0x10000) return false;
          pos += 4;
          break;
        case 0xde:
          count = u16(bytes, pos) * 2;
          if (count < 0x20) return false;
          pos += 2;
          map = true;
          break;
        case 0xdf:
          count = u32(bytes, pos) * 2;
          if (count < 0x20000) return false;
          pos += 4;
          map = true;
          break;
        default:
          // 0xc1, other ext types, float32, 64-bit ints
          return false;
      }
    }
    if (count >= 0) {
      if (depth >= MAX_DEPTH) return false;
      if (count > 0) {
        depth += 1;
        remaining[depth] = count;
        isMap[depth] = map;
        continue;
      }
    }
    while (depth > 0 && remaining[depth] === 0) depth -= 1;
  }
  return pos === end;
}

/** The string of `n` bytes at `at`: well-formed UTF-8, no byte order mark first; a map key also no '__proto__' and no leading digit. */
function stringOk(bytes: Uint8Array, at: number, n: number, key: boolean): boolean {
  if (at + n > bytes.length) return false;
  if (n === 0) return true;
  const first = bytes[at]!;
  if (key) {
    if (first >= 0x30 && first <= 0x39) return false;
    if (n === 9 && first === 0x5f && isProto(bytes, at)) return false;
  }
  if (first === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf) return false;
  // Short strings (most keys) are nearly always ASCII: a loop costs less than a call into C++.
  if (n <= 32) {
    let ascii = true;
    for (let i = at; i < at + n; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return true;
  }
  return isUtf8(bytes.subarray(at, at + n));
}

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // '__proto__'

function isProto(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 9; i++) if (bytes[at + i] !== PROTO[i]) return false;
  return true;
}

const float64Bytes = new Uint8Array(8);
const float64 = new DataView(float64Bytes.buffer);

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

function u32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) >>> 0) + (((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0));
}
