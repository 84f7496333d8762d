/**
 * Walks MessagePack bytes without decoding them, to prove they use only the standard types of
 * docs/FORMAT.md section 1 (no application extension types, no reserved byte). `flink verify`
 * uses it so that a snapshot it passes can be read by any MessagePack library.
 */
export class ScanError extends Error {
  constructor(
    readonly offset: number,
    problem: string,
  ) {
    super(problem);
  }
}

const MAX_DEPTH = 512;

/** Returns the offset after the value that starts at `offset`. */
export function scanValue(bytes: Uint8Array, offset: number, depth = 0): number {
  return scanAt(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset, depth);
}

/**
 * Where each of `count` values back to back from `offset` starts, and where the last ends (at
 * index `count`): one walk, one DataView, for a frame's keys array.
 */
export function valueBounds(bytes: Uint8Array, offset: number, count: number): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bounds = new Uint32Array(count + 1);
  let position = offset;
  for (let i = 0; i < count; i++) {
    bounds[i] = position;
    position = scanAt(bytes, view, position, 0);
  }
  bounds[count] = position;
  return bounds;
}

// Module-level helpers, not closures: this runs per value of every frame (`flink verify`,
// `flink rekey`), and closures made per call cost more than the walk itself (under tsx, each is
// also named through Object.defineProperty).
function need(bytes: Uint8Array, at: number, n: number): void {
  if (at + n > bytes.length) throw new ScanError(at, 'value runs past the end of its frame');
}

function skipFrom(bytes: Uint8Array, start: number, length: number): number {
  need(bytes, start, length);
  return start + length;
}

function scanItems(bytes: Uint8Array, view: DataView, count: number, start: number, depth: number): number {
  let pos = start;
  for (let i = 0; i < count; i++) pos = scanAt(bytes, view, pos, depth + 1);
  return pos;
}

function scanAt(bytes: Uint8Array, view: DataView, offset: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new ScanError(offset, 'nesting too deep');
  need(bytes, offset, 1);
  const b = bytes[offset]!;
  const at = offset + 1;
  if (b <= 0x7f || b >= 0xe0) return at; // fixints
  if (b <= 0x8f) return scanItems(bytes, view, (b & 0x0f) * 2, at, depth); // fixmap
  if (b <= 0x9f) return scanItems(bytes, view, b & 0x0f, at, depth); // fixarray
  if (b <= 0xbf) return skipFrom(bytes, at, b & 0x1f); // fixstr
  switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return at;
    case 0xc1: throw new ScanError(offset, 'reserved byte 0xc1');
    case 0xc4: case 0xd9: need(bytes, at, 1); return skipFrom(bytes, at + 1, view.getUint8(at));
    case 0xc5: case 0xda: need(bytes, at, 2); return skipFrom(bytes, at + 2, view.getUint16(at));
    case 0xc6: case 0xdb: need(bytes, at, 4); return skipFrom(bytes, at + 4, view.getUint32(at));
    case 0xc7: case 0xc8: case 0xc9: {
      const size = b === 0xc7 ? 1 : b === 0xc8 ? 2 : 4;
      need(bytes, at, size + 1);
      const length = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at) : view.getUint32(at);
      checkExt(view.getInt8(at + size), length, offset);
      return skipFrom(bytes, at + size + 1, length);
    }
    case 0xca: return skipFrom(bytes, at, 4);
    case 0xcb: return skipFrom(bytes, at, 8);
    case 0xcc: case 0xd0: return skipFrom(bytes, at, 1);
    case 0xcd: case 0xd1: return skipFrom(bytes, at, 2);
    case 0xce: case 0xd2: return skipFrom(bytes, at, 4);
    case 0xcf: case 0xd3: return skipFrom(bytes, at, 8);
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
      const length = 1 << (b - 0xd4);
      need(bytes, at, 1);
      checkExt(view.getInt8(at), length, offset);
      return skipFrom(bytes, at + 1, length);
    }
    case 0xdc: need(bytes, at, 2); return scanItems(bytes, view, view.getUint16(at), at + 2, depth);
    case 0xdd: need(bytes, at, 4); return scanItems(bytes, view, view.getUint32(at), at + 4, depth);
    case 0xde: need(bytes, at, 2); return scanItems(bytes, view, view.getUint16(at) * 2, at + 2, depth);
    case 0xdf: need(bytes, at, 4); return scanItems(bytes, view, view.getUint32(at) * 2, at + 4, depth);
    default: throw new ScanError(offset, `unexpected byte 0x${b.toString(16)}`);
  }
}

function checkExt(type: number, length: number, offset: number): void {
  if (type !== -1) throw new ScanError(offset, `extension type ${type} is not standard MessagePack (only the timestamp, -1, is)`);
  if (length !== 4 && length !== 8 && length !== 12) throw new ScanError(offset, `timestamp of ${length} bytes`);
}

/** The element count of the array header at `offset` and the offset after it; throws if there is none. */
export function readArrayHeader(bytes: Uint8Array, offset: number): { count: number; next: number } {
  const b = bytes[offset];
  if (b !== undefined && b >= 0x90 && b <= 0x9f) return { count: b & 0x0f, next: offset + 1 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b === 0xdc && offset + 3 <= bytes.length) return { count: view.getUint16(offset + 1), next: offset + 3 };
  if (b === 0xdd && offset + 5 <= bytes.length) return { count: view.getUint32(offset + 1), next: offset + 5 };
  throw new ScanError(offset, 'expected an array');
}
