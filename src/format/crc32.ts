import zlib from 'node:zlib';

/**
 * CRC-32 (IEEE, as zlib) of `bytes`, continuing from `previous`. Node's built-in is native and
 * runs at several GB/s, so checksumming every block costs little next to encoding it.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return zlib.crc32(bytes, previous) >>> 0;
}
