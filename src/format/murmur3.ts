/**
 * MurmurHash3 (Austin Appleby's smhasher reference), in the two variants tsflink needs:
 * x86_32 picks the key group of every record, x64_128 derives operator ids the way Flink does.
 */
import { UserError } from '../errors.ts';

const C1_32 = 0xcc9e2d51;
const C2_32 = 0x1b873593;

/** The mix of one 4-byte block (or the tail) before it enters the hash state. */
function mixBlock(k: number): number {
  k = Math.imul(k, C1_32);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2_32);
}

/** murmur3's 32-bit finalizer (fmix32): also a cheap, well-spread int -> uint32 map for benchmarks. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3_x86_32 of `bytes`, as an unsigned 32-bit integer. Runs once per record, so it
 * stays allocation-free and in int32 arithmetic (Math.imul and `| 0` keep V8 on small ints).
 */
export function murmur3_32(bytes: Uint8Array, seed = 0): number {
  const len = bytes.length;
  const blockEnd = len & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h ^= mixBlock(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Written as ifs rather than a falling-through switch, which noFallthroughCasesInSwitch forbids.
  const rest = len & 3;
  if (rest !== 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[i + 2]! << 16;
    if (rest >= 2) k ^= bytes[i + 1]! << 8;
    k ^= bytes[i]!;
    h ^= mixBlock(k);
  }
  return fmix32(h ^ len);
}

/**
 * murmur3_32 of bytes held as a string with one char per byte (latin1, every char < 256), the
 * form in which the engine keeps canonical keys: hashing it directly spares a byte copy per key.
 */
export function murmur3_32Latin1(bytes: string, seed = 0): number {
  const len = bytes.length;
  const blockEnd = len & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < blockEnd; i += 4) {
    let k = bytes.charCodeAt(i) | (bytes.charCodeAt(i + 1) << 8) | (bytes.charCodeAt(i + 2) << 16) | (bytes.charCodeAt(i + 3) << 24);
    h ^= mixBlock(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = 0;
    if (rest === 3) k ^= bytes.charCodeAt(i + 2) << 16;
    if (rest >= 2) k ^= bytes.charCodeAt(i + 1) << 8;
    k ^= bytes.charCodeAt(i);
    h ^= mixBlock(k);
  }
  return fmix32(h ^ len);
}

const MASK64 = (1n << 64n) - 1n;
const C1_64 = 0x87c37b91114253d5n;
const C2_64 = 0x4cf5ad432745937fn;

function rotl64(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function mixK1(k: bigint): bigint {
  return (rotl64((k * C1_64) & MASK64, 31n) * C2_64) & MASK64;
}

function mixK2(k: bigint): bigint {
  return (rotl64((k * C2_64) & MASK64, 33n) * C1_64) & MASK64;
}

function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK64;
  k ^= k >> 33n;
  return k;
}

/** Little-endian unsigned integer of bytes[from, to), at most 8 bytes. */
function readLE(bytes: Uint8Array, from: number, to: number): bigint {
  let v = 0n;
  for (let j = to - 1; j >= from; j--) v = (v << 8n) | BigInt(bytes[j]!);
  return v;
}

function writeLE(out: Uint8Array, at: number, v: bigint): void {
  for (let j = 0; j < 8; j++) {
    out[at + j] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * MurmurHash3_x64_128 as Guava's `Hashing.murmur3_128(seed).hashBytes(bytes).asBytes()`: h1 then
 * h2, each as 8 little-endian bytes. Like Guava (whose seed is a Java int widened to long), the
 * seed is taken as a signed 32-bit integer and sign-extended; smhasher zero-extends instead, so
 * the two agree only for seeds in [0, 2^31). BigInt is fine here: it runs once per operator.
 */
export function murmur3_128(bytes: Uint8Array, seed = 0): Uint8Array {
  const len = bytes.length;
  const blockEnd = len - (len & 15);
  let h1 = BigInt.asUintN(64, BigInt(seed | 0));
  let h2 = h1;
  let i = 0;
  for (; i < blockEnd; i += 16) {
    h1 ^= mixK1(readLE(bytes, i, i + 8));
    h1 = rotl64(h1, 27n);
    h1 = (h1 + h2) & MASK64;
    h1 = (h1 * 5n + 0x52dce729n) & MASK64;
    h2 ^= mixK2(readLE(bytes, i + 8, i + 16));
    h2 = rotl64(h2, 31n);
    h2 = (h2 + h1) & MASK64;
    h2 = (h2 * 5n + 0x38495ab5n) & MASK64;
  }
  // The tail: up to 8 bytes go to k1 and the rest to k2; mixing a zero k is a no-op.
  if (len > i) {
    h1 ^= mixK1(readLE(bytes, i, Math.min(i + 8, len)));
    if (len > i + 8) h2 ^= mixK2(readLE(bytes, i + 8, len));
  }
  const bigLen = BigInt(len);
  h1 ^= bigLen;
  h2 ^= bigLen;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  const out = new Uint8Array(16);
  writeLE(out, 0, h1);
  writeLE(out, 8, h2);
  return out;
}

const utf8 = new TextEncoder();

interface WellFormed {
  isWellFormed(): boolean;
}

/**
 * The 16-byte operator id Flink derives from a user-given uid (StreamGraphHasherV2 hashes the
 * UTF-8 uid with murmur3_128, seed 0), so savepoints name operators exactly as Flink would.
 */
export function operatorIdFromUid(uid: string): Uint8Array {
  // TextEncoder would turn a lone surrogate into U+FFFD where Java writes '?': the ids would
  // silently differ from Flink's, so such a uid is refused. (isWellFormed is ES2024, in Node 20.)
  if (!(uid as unknown as WellFormed).isWellFormed()) {
    throw new UserError(`operator uid ${JSON.stringify(uid)} contains a lone surrogate; uids must be valid Unicode`);
  }
  return murmur3_128(utf8.encode(uid), 0);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
