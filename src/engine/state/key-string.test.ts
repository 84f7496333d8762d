import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError, encodeCanonicalKey } from '../../format/canonical-key.ts';
import { keyGroupFor } from '../../format/key-groups.ts';
import { bytesToKeyString, keyGroupOfKeyString, keyStringOf } from './key-string.ts';

const keyArb = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.uint8Array({ maxLength: 8 }), fc.tuple(fc.string({ maxLength: 4 }), fc.nat()));

describe('keyStringOf', () => {
  it('is the canonical key bytes as latin1, also on the short-ASCII fast path', () => {
    fc.assert(
      fc.property(keyArb, (key) => {
        expect(keyStringOf(key)).toBe(bytesToKeyString(encodeCanonicalKey(key)));
      }),
    );
    for (const key of ['', 'k', 'x'.repeat(31), 'x'.repeat(32), 'caf\u00e9', '\u{1f600}']) {
      expect(keyStringOf(key)).toBe(bytesToKeyString(encodeCanonicalKey(key)));
    }
  });

  it('gives the key group the format computes from the canonical bytes', () => {
    fc.assert(
      fc.property(keyArb, fc.integer({ min: 1, max: 32768 }), (key, maxP) => {
        expect(keyGroupOfKeyString(keyStringOf(key), maxP)).toBe(keyGroupFor(key, maxP));
      }),
    );
  });

  it('refuses what is not a key', () => {
    expect(() => keyStringOf(null)).toThrow(InvalidKeyError);
    expect(() => keyStringOf('\ud800')).toThrow(InvalidKeyError);
  });
});
