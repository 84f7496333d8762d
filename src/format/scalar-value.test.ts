import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeScalar, encodeScalar, NOT_SCALAR } from './scalar-value.ts';
import { createValuePackr } from './value-codec.ts';

// As the on-disk backends' codec decodes a value that is no map or array (state-context.ts).
const msgpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', copyBuffers: true });
const unpacked = (bytes: Uint8Array): { value: unknown } | 'throws' => {
  try {
    return { value: msgpackr.unpack(bytes) };
  } catch {
    return 'throws';
  }
};

describe('decodeScalar', () => {
  it('decodes what the value packer writes for numbers, booleans and null as msgpackr does', () => {
    const packr = createValuePackr();
    const scalar = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
      fc.integer({ min: -300, max: 70_000 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 0.5),
    );
    fc.assert(
      fc.property(scalar, (value) => {
        const bytes = packr.pack(value);
        const decoded = decodeScalar(bytes);
        const expected = unpacked(bytes);
        if (decoded === NOT_SCALAR) return; // left to msgpackr
        expect(expected).not.toBe('throws');
        expect(Object.is(decoded, (expected as { value: unknown }).value)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes every integer within 32 bits and every double the packer writes, leaving none to msgpackr', () => {
    const packr = createValuePackr();
    // Larger integers within 2^53 are written as doubles. (-0 is written as the integer 0.)
    for (const value of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), 2 ** 40, 1.5, NaN, 1e300, -Infinity, true, false, null]) {
      expect(Object.is(decodeScalar(packr.pack(value)), value)).toBe(true);
    }
  });

  it('on any bytes, either gives what msgpackr gives or leaves them to it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 10 }), fc.constantFrom(0xcc, 0xcd, 0xce, 0xd0, 0xd1, 0xd2, 0xcb, 0xc0, 0xc2, 0xc3, 0x05, 0xf0), (tail, head) => {
        for (const bytes of [tail, Uint8Array.of(head, ...tail)]) {
          const decoded = decodeScalar(bytes);
          if (decoded === NOT_SCALAR) continue;
          const expected = unpacked(bytes);
          expect(expected).not.toBe('throws');
          expect(Object.is(decoded, (expected as { value: unknown }).value)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves strings, containers, 64-bit integers, binary and empty bytes to msgpackr', () => {
    const packr = createValuePackr();
    for (const value of ['a', [1], { a: 1 }, 2n ** 40n, -(2n ** 40n), Uint8Array.of(1)]) expect(decodeScalar(packr.pack(value))).toBe(NOT_SCALAR);
    expect(decodeScalar(new Uint8Array(0))).toBe(NOT_SCALAR);
  });

  it('encodes numbers, booleans, null and undefined byte for byte as the value packer does, and nothing else', () => {
    const packr = createValuePackr();
    const anything = fc.oneof(
      fc.integer({ min: -(2 ** 31) - 10, max: 2 ** 32 + 10 }),
      fc.integer({ min: -300, max: 70_000 }),
      fc.double(),
      fc.boolean(),
      fc.constantFrom(null, undefined, -0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 2n, 'a', [1], { a: 1 }, new Uint8Array(2)),
    );
    fc.assert(
      fc.property(fc.array(anything, { maxLength: 20 }), (values) => {
        // Several in a row: each is a view of its own bytes, unchanged by the next.
        const encoded = values.map((v) => [v, encodeScalar(v)] as const);
        for (const [value, bytes] of encoded) {
          const expected = packr.pack(value);
          if (bytes === undefined) {
            expect(typeof value === 'number' ? Number.isNaN(value) : !['boolean', 'undefined'].includes(typeof value) && value !== null).toBe(true);
            continue;
          }
          expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
          const decoded = decodeScalar(bytes);
          expect(Object.is(decoded, value === undefined ? null : Object.is(value, -0) ? 0 : value)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('starts a new slab when one is full, leaving the values already handed out as they were', () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? i * 1.5 : i % 3 === 1 ? -i * 100_000 : i));
    const encoded = values.map((v) => encodeScalar(v)!);
    expect(new Set(encoded.map((b) => b.buffer)).size).toBeGreaterThan(1);
    for (let i = 0; i < values.length; i++) expect(decodeScalar(encoded[i]!)).toBe(values[i]);
  });
});
