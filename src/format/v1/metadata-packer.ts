/**
 * The MessagePack writer of `_metadata` payloads. msgpackr writes a number of 2^32 or more as a
 * float64 even when it is an integer, so a timestamp or a large offset would break the `uint`
 * type of FORMAT.md section 3; this writer writes every integer as a MessagePack int in its
 * shortest form, whatever its size, and only non-integers as float64. Metadata is kilobytes, so
 * a plain recursive writer is fast enough.
 */
import { InternalError } from '../../errors.ts';

const TWO_32 = 0x1_0000_0000;
const TWO_64 = 2 ** 64;

export type MetadataValue = null | boolean | number | string | Uint8Array | readonly MetadataValue[] | { readonly [key: string]: MetadataValue };

export function packMetadata(value: MetadataValue): Buffer {
  const out: number[] = [];
  write(value, out, 'payload');
  return Buffer.from(out);
}

function write(value: MetadataValue, out: number[], path: string): void {
  if (value === null) return void out.push(0xc0);
  switch (typeof value) {
    case 'boolean':
      return void out.push(value ? 0xc3 : 0xc2);
    case 'number':
      return writeNumber(value, out, path);
    case 'string':
      return writeString(value, out);
    default:
      break;
  }
  if (value instanceof Uint8Array) {
    header(value.length, out, 0, -1, 0xc4, 0xc5);
    for (const b of value) out.push(b);
    return;
  }
  if (Array.isArray(value)) {
    const items = value as readonly MetadataValue[];
    header(items.length, out, 0x90, 15, 0, 0xdc);
    items.forEach((item, i) => write(item, out, `${path}[${i}]`));
    return;
  }
  const map = value as { readonly [key: string]: MetadataValue };
  const keys = Object.keys(map);
  header(keys.length, out, 0x80, 15, 0, 0xde);
  for (const key of keys) {
    writeString(key, out);
    write(map[key]!, out, `${path}.${key}`); // key comes from Object.keys(map)
  }
}

function writeNumber(n: number, out: number[], path: string): void {
  if (Number.isInteger(n) && Math.abs(n) < TWO_64) {
    if (n >= 0) {
      if (n < 0x80) out.push(n);
      else if (n < 0x100) out.push(0xcc, n);
      else if (n < 0x10000) bigEndian(out, 0xcd, n, 2);
      else if (n < TWO_32) bigEndian(out, 0xce, n, 4);
      else uint64(out, n);
      return;
    }
    if (n >= -32) out.push(n & 0xff);
    else if (n >= -0x80) bigEndian(out, 0xd0, n, 1);
    else if (n >= -0x8000) bigEndian(out, 0xd1, n, 2);
    else if (n >= -0x8000_0000) bigEndian(out, 0xd2, n, 4);
    else {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0xd3;
      bytes.writeBigInt64BE(BigInt(n), 1);
      out.push(...bytes);
    }
    return;
  }
  if (!Number.isFinite(n)) throw new InternalError(`metadata ${path}: ${n} is not a number a reader can use`);
  const bytes = Buffer.alloc(9);
  bytes[0] = 0xcb;
  bytes.writeDoubleBE(n, 1);
  out.push(...bytes);
}

function uint64(out: number[], n: number): void {
  const bytes = Buffer.alloc(9);
  bytes[0] = 0xcf;
  bytes.writeBigUInt64BE(BigInt(n), 1);
  out.push(...bytes);
}

function bigEndian(out: number[], tag: number, x: number, width: number): void {
  out.push(tag);
  for (let shift = 8 * (width - 1); shift >= 0; shift -= 8) out.push((x >>> shift) & 0xff);
}

function writeString(s: string, out: number[]): void {
  const bytes = Buffer.from(s, 'utf8');
  header(bytes.length, out, 0xa0, 31, 0xd9, 0xda);
  for (const b of bytes) out.push(b);
}

/** The shortest header for `len`: fix form up to fixMax, then 8-bit (if b8), 16-bit (b16), 32-bit (b16 + 1). */
function header(len: number, out: number[], fix: number, fixMax: number, b8: number, b16: number): void {
  if (len <= fixMax) out.push(fix | len);
  else if (b8 !== 0 && len <= 0xff) out.push(b8, len);
  else if (len <= 0xffff) bigEndian(out, b16, len, 2);
  else bigEndian(out, b16 + 1, len, 4);
}
