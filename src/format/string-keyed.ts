/**
 * Quick structural passes over MessagePack bytes, without decoding them.
 *
 * `mapsHaveStringKeysOnly` tells whether every map in them is keyed by strings only. The value
 * decoder uses it to decode the common case (objects with string keys) with msgpackr's fast
 * object path, and everything else through Maps, so that no key is renamed or converted
 * (value-codec.ts). Bytes it cannot walk answer false: the careful path then decodes them and
 * reports what is wrong.
 */
export function mapsHaveStringKeysOnly(bytes: Uint8Array): boolean {
  return walk(bytes, 0, Infinity, true) === bytes.length;
}

/**
 * The offset just after the one MessagePack value that starts at `start`, which the caller knows
 * to be well formed (bytes msgpackr has just written).
 */
export function valueEnd(bytes: Uint8Array, start: number): number {
  return walk(bytes, start, 1, false);
}

/**
 * Walks `values` values from `start` (Infinity: to the end of `bytes`) and returns the offset after
 * them, or -1 when `stringKeys` is set and a map has a key that is not a string, or the bytes are
 * not MessagePack.
 */
const remaining: number[] = [];
const isMap: boolean[] = [];

function walk(bytes: Uint8Array, start: number, values: number, stringKeys: boolean): number {
  const end = bytes.length;
  // Per open container: items still to read, and whether it is a map (even count left = a key
  // next). Reused: this runs once per map state user value when a snapshot is written.
  remaining[0] = values;
  isMap[0] = false;
  let depth = 0;
  let pos = start;
  while (pos < end && (depth > 0 || remaining[0]! > 0)) {
    if (stringKeys && isMap[depth] === true && (remaining[depth]! & 1) === 0) {
      const k = bytes[pos]!;
      if (!((k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb)) return -1;
    }
    remaining[depth]! -= 1;
    const b = bytes[pos++]!;
    let count = -1; // items of a container started here
    let map = false;
    if (b <= 0x7f || b >= 0xe0) {
      // fixint
    } else if (b <= 0x8f) {
      count = (b & 0x0f) * 2;
      map = true;
    } else if (b <= 0x9f) {
      count = b & 0x0f;
    } else if (b <= 0xbf) {
      pos += b & 0x1f;
    } else {
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break;
        case 0xc4: case 0xd9: pos += 1 + (bytes[pos] ?? 0); break;
        case 0xc5: case 0xda: pos += 2 + u16(bytes, pos); break;
        case 0xc6: case 0xdb: pos += 4 + u32(bytes, pos); break;
        case 0xc7: pos += 2 + (bytes[pos] ?? 0); break;
        case 0xc8: pos += 3 + u16(bytes, pos); break;
        case 0xc9: pos += 5 + u32(bytes, pos); break;
        case 0xca: pos += 4; break;
        case 0xcb: pos += 8; break;
        case 0xcc: case 0xd0: pos += 1; break;
        case 0xcd: case 0xd1: pos += 2; break;
        case 0xce: case 0xd2: pos += 4; break;
        case 0xcf: case 0xd3: pos += 8; break;
        case 0xd4: pos += 2; break;
        case 0xd5: pos += 3; break;
        case 0xd6: pos += 5; break;
        case 0xd7: pos += 9; break;
        case 0xd8: pos += 17; break;
        case 0xdc: count = u16(bytes, pos); pos += 2; break;
        case 0xdd: count = u32(bytes, pos); pos += 4; break;
        case 0xde: count = u16(bytes, pos) * 2; pos += 2; map = true; break;
        case 0xdf: count = u32(bytes, pos) * 2; pos += 4; map = true; break;
        default: return -1; // 0xc1: never used
      }
    }
    if (count > 0) {
      depth += 1;
      remaining[depth] = count;
      isMap[depth] = map;
    } else {
      while (depth > 0 && remaining[depth] === 0) depth -= 1;
    }
  }
  if (depth !== 0 || pos > end) return -1;
  return remaining[0] === Infinity || remaining[0] === 0 ? pos : -1;
}

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

function u32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) >>> 0) + (((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0));
}
