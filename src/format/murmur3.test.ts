import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { murmur3_128, murmur3_32, murmur3_32Latin1, operatorIdFromUid, toHex } from './murmur3.ts';

/** murmurhash3js-revisited ships no types; this is the part of it the tests use. */
interface MurmurReference {
  x86: { hash32(bytes: Uint8Array, seed?: number): number };
  /** h1 then h2, each as 16 big-endian hex digits. */
  x64: { hash128(bytes: Uint8Array, seed?: number): string };
}
const reference = createRequire(import.meta.url)('murmurhash3js-revisited') as MurmurReference;

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Guava's byte order: h1 and h2 each as 8 little-endian bytes. */
function guavaHex(h1: bigint, h2: bigint): string {
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(h1, 0);
  out.writeBigUInt64LE(h2, 8);
  return out.toString('hex');
}

/** The reference's big-endian h1‖h2 hex, reordered to Guava's bytes. */
function referenceGuavaHex(bytes: Uint8Array, seed: number): string {
  const hex = reference.x64.hash128(bytes, seed);
  return guavaHex(BigInt(`0x${hex.slice(0, 16)}`), BigInt(`0x${hex.slice(16)}`));
}

/**
 * smhasher's VerificationTest (also Guava's HashTestUtils.verifyHashFunction): hash the keys
 * {}, {0}, {0,1}, ... {0..254} with seed 256 - length, hash the concatenated results with seed 0
 * and read the first 4 bytes little-endian.
 */
function verification(hash: (bytes: Uint8Array, seed: number) => Uint8Array, hashBytes: number): number {
  const key = new Uint8Array(256);
  const hashes = new Uint8Array(hashBytes * 256);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    hashes.set(hash(key.subarray(0, i), 256 - i), i * hashBytes);
  }
  return Buffer.from(hash(hashes, 0)).readUInt32LE(0);
}

function le32(n: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(n);
  return out;
}

describe('murmur3_32', () => {
  it.each([
    ['', 0x00000000],
    ['hello', 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0x2e4ff723],
  ])('hashes %j with seed 0 to the known value', (input, expected) => {
    expect(murmur3_32(ascii(input))).toBe(expected);
    expect(reference.x86.hash32(ascii(input), 0)).toBe(expected);
  });

  it('passes the smhasher verification test (0xB0F57EE3)', () => {
    expect(verification((b, seed) => le32(murmur3_32(b, seed)), 4)).toBe(0xb0f57ee3);
  });

  it('returns an unsigned 32-bit integer', () => {
    // A hash with the top bit set, which int32 arithmetic would make negative.
    expect(murmur3_32(Uint8Array.of(0xff))).toBe(0xfd6cf10d);
    expect(reference.x86.hash32(Uint8Array.of(0xff), 0)).toBe(0xfd6cf10d);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const x = murmur3_32(bytes);
        return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
      }),
    );
  });

  it('agrees with the reference for every length 0..64 and any seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat({ max: 0xffffffff }), (bytes, seed) => {
        expect(murmur3_32(bytes, seed)).toBe(reference.x86.hash32(bytes, seed));
        expect(murmur3_32(bytes)).toBe(reference.x86.hash32(bytes, 0));
      }),
      { numRuns: 2000 },
    );
    for (let len = 0; len <= 64; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
      expect(murmur3_32(bytes), `length ${len}`).toBe(reference.x86.hash32(bytes, 0));
    }
  });

  it('reads a view from its own offset, not from the start of the buffer', () => {
    const whole = ascii('xxhelloyy');
    expect(murmur3_32(whole.subarray(2, 7))).toBe(0x248bfa47);
  });
});

describe('murmur3_32Latin1', () => {
  it('hashes a one-char-per-byte string as murmur3_32 hashes the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer(), (bytes, seed) => {
        expect(murmur3_32Latin1(Buffer.from(bytes).toString('latin1'), seed)).toBe(murmur3_32(bytes, seed));
      }),
    );
  });
});

describe('murmur3_128', () => {
  // Guava's Murmur3Hash128Test.testKnownValues: (seed, h1, h2, ASCII input).
  const guava: [number, bigint, bigint, string][] = [
    [0, 0x629942693e10f867n, 0x92db0b82baeb5347n, 'hell'],
    [1, 0xa78ddff5adae8d10n, 0x128900ef20900135n, 'hello'],
    [2, 0x8a486b23f422e826n, 0xf962a2c58947765fn, 'hello '],
    [3, 0x2ea59f466f6bed8cn, 0xc610990acc428a17n, 'hello w'],
    [4, 0x79f6305a386c572cn, 0x46305aed3483b94en, 'hello wo'],
    [5, 0xc2219d213ec1f1b5n, 0xa1d8e2e0a52785bdn, 'hello wor'],
    [0, 0xe34bbc7bbc071b6cn, 0x7a433ca9c49a9347n, 'The quick brown fox jumps over the lazy dog'],
    [0, 0x658ca970ff85269an, 0x43fee3eaa68e5c3en, 'The quick brown fox jumps over the lazy cog'],
  ];
  it.each(guava)('matches Guava for seed %i', (seed, h1, h2, input) => {
    expect(toHex(murmur3_128(ascii(input), seed))).toBe(guavaHex(h1, h2));
    expect(referenceGuavaHex(ascii(input), seed)).toBe(guavaHex(h1, h2));
  });

  it('passes the smhasher verification test (0x6384BA69, as Guava checks)', () => {
    expect(verification(murmur3_128, 16)).toBe(0x6384ba69);
  });

  it('agrees with the reference for every tail length and seeds below 2^31', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat({ max: 0x7fffffff }), (bytes, seed) => {
        expect(toHex(murmur3_128(bytes, seed))).toBe(referenceGuavaHex(bytes, seed));
        expect(toHex(murmur3_128(bytes))).toBe(referenceGuavaHex(bytes, 0));
      }),
      { numRuns: 1000 },
    );
    for (let len = 0; len <= 64; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 91 + 7 * len) & 0xff);
      expect(toHex(murmur3_128(bytes)), `length ${len}`).toBe(referenceGuavaHex(bytes, 0));
    }
  });

  it('hashes the empty input with seed 0 to zero, as the algorithm does', () => {
    expect(toHex(murmur3_128(new Uint8Array(0)))).toBe('0'.repeat(32));
  });
});

describe('operatorIdFromUid', () => {
  it('is murmur3_128 with seed 0 of the UTF-8 uid', () => {
    expect(operatorIdFromUid('hell')).toEqual(murmur3_128(ascii('hell'), 0));
    expect(toHex(operatorIdFromUid('The quick brown fox jumps over the lazy dog'))).toBe(
      guavaHex(0xe34bbc7bbc071b6cn, 0x7a433ca9c49a9347n),
    );
    expect(operatorIdFromUid('€uro ✓')).toEqual(murmur3_128(Buffer.from('€uro ✓', 'utf8'), 0));
  });

  it.each([
    ['source', 'e5a72f353fc1e6bbf3bd96a41384998c'],
    ['orders-window', '5b8cd590563c2c865162e78b49abaf02'],
    ['sink', '2e588ce1c86a9d46e2e85186773ce4fd'],
  ])('gives %j the id %s', (uid, hex) => {
    const id = operatorIdFromUid(uid);
    expect(id).toHaveLength(16);
    expect(toHex(id)).toBe(hex);
    expect(referenceGuavaHex(Buffer.from(uid, 'utf8'), 0)).toBe(hex);
  });

  it('refuses a uid with a lone surrogate, which Java would encode differently', () => {
    expect(() => operatorIdFromUid('op\ud800')).toThrow(UserError);
    expect(() => operatorIdFromUid('\udc00')).toThrow(/lone surrogate/);
  });
});

describe('toHex', () => {
  it('writes lowercase hex of exactly the view', () => {
    expect(toHex(Uint8Array.of(0x00, 0x0f, 0xab, 0xff))).toBe('000fabff');
    expect(toHex(Uint8Array.of(1, 2, 3, 4).subarray(1, 3))).toBe('0203');
    expect(toHex(new Uint8Array(0))).toBe('');
  });
});
