import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import {
  checkParallelism,
  defaultMaxParallelism,
  keyGroupFor,
  keyGroupForBytes,
  MAX_MAX_PARALLELISM,
  rangeForSubtask,
  subtaskFor,
} from './key-groups.ts';
import { murmur3_32, toHex } from './murmur3.ts';

/** murmurhash3js-revisited ships no types; this is the part of it the tests use. */
const reference = createRequire(import.meta.url)('murmurhash3js-revisited') as {
  x86: { hash32(bytes: Uint8Array, seed?: number): number };
};

const arbMaxP = fc.integer({ min: 1, max: MAX_MAX_PARALLELISM });
const arbPair = arbMaxP.chain((maxP) => fc.tuple(fc.integer({ min: 1, max: maxP }), fc.constant(maxP)));
const arbKey = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.double(),
  fc.boolean(),
  fc.uint8Array({ maxLength: 20 }),
  fc.array(fc.oneof(fc.string(), fc.integer())),
  fc.dictionary(fc.string().filter((s) => s !== '__proto__'), fc.integer()),
);

/**
 * Checks that the ranges of p subtasks tile [0, maxP - 1] in order and agree with subtaskFor.
 * Plain comparisons in the loops: expect() per key group is too slow for maxP = 32768.
 */
function checkTiling(p: number, maxP: number): void {
  const where = `p ${p}, maxP ${maxP}`;
  let next = 0;
  for (let i = 0; i < p; i++) {
    const { start, end } = rangeForSubtask(i, p, maxP);
    if (start !== next) expect.fail(`${where}: subtask ${i} starts at ${start}, not ${next}`);
    if (end < start) expect.fail(`${where}: subtask ${i} owns no key group`);
    for (let g = start; g <= end; g++) {
      if (subtaskFor(g, p, maxP) !== i) expect.fail(`${where}: key group ${g} is not owned by subtask ${i}`);
    }
    next = end + 1;
  }
  expect(next, where).toBe(maxP);
}

describe('rangeForSubtask and subtaskFor', () => {
  it('match Flink for a worked example', () => {
    expect([0, 1, 2].map((i) => rangeForSubtask(i, 3, 128))).toEqual([
      { start: 0, end: 42 },
      { start: 43, end: 85 },
      { start: 86, end: 127 },
    ]);
    expect(rangeForSubtask(0, 1, MAX_MAX_PARALLELISM)).toEqual({ start: 0, end: 32767 });
    expect(rangeForSubtask(5, 128, 128)).toEqual({ start: 5, end: 5 });
  });

  it('give every key group exactly one owner, in contiguous ordered ranges (all maxP <= 64)', () => {
    for (let maxP = 1; maxP <= 64; maxP++) for (let p = 1; p <= maxP; p++) checkTiling(p, maxP);
  });

  it('give every key group exactly one owner for sampled maxP up to 32768 and p <= maxP', () => {
    fc.assert(
      fc.property(arbPair, ([p, maxP]) => checkTiling(p, maxP)),
      { numRuns: 300 },
    );
    for (const [p, maxP] of [[1, 32768], [32768, 32768], [32767, 32768], [3, 32768], [1000, 32767]] as const) {
      checkTiling(p, maxP);
    }
  });

  it('refuse a subtask index outside [0, p)', () => {
    expect(() => rangeForSubtask(3, 3, 128)).toThrow(UserError);
    expect(() => rangeForSubtask(-1, 3, 128)).toThrow(UserError);
    expect(() => rangeForSubtask(0.5, 3, 128)).toThrow(UserError);
    expect(() => rangeForSubtask(0, 129, 128)).toThrow(UserError);
  });
});

describe('keyGroupFor', () => {
  it('is murmur3_32 of the canonical bytes modulo maxP, always in [0, maxP)', () => {
    fc.assert(
      fc.property(arbKey, arbMaxP, (key, maxP) => {
        const bytes = encodeCanonicalKey(key);
        const g = keyGroupFor(key, maxP);
        expect(Number.isInteger(g) && g >= 0 && g < maxP).toBe(true);
        expect(g).toBe(keyGroupForBytes(bytes, maxP));
        expect(g).toBe(reference.x86.hash32(bytes, 0) % maxP);
      }),
      { numRuns: 1000 },
    );
  });

  it('does not depend on parallelism: rescaling moves whole key groups', () => {
    fc.assert(
      fc.property(fc.array(arbKey, { minLength: 1, maxLength: 30 }), arbPair, arbPair, (keys, [p1, maxP], [p2]) => {
        const p2Capped = Math.min(p2, maxP);
        const byGroup = new Map<number, [number, number]>();
        for (const key of keys) {
          const g = keyGroupFor(key, maxP);
          const owners: [number, number] = [subtaskFor(g, p1, maxP), subtaskFor(g, p2Capped, maxP)];
          const { start, end } = rangeForSubtask(owners[0], p1, maxP);
          expect(g >= start && g <= end).toBe(true);
          // Keys sharing a group share its owner under every parallelism.
          const seen = byGroup.get(g);
          if (seen !== undefined) expect(owners).toEqual(seen);
          byGroup.set(g, owners);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('throws InvalidKeyError for an invalid key', () => {
    expect(() => keyGroupFor([undefined], 128)).toThrow(/invalid key: undefined at key\[0\]/);
  });
});

describe('golden test vectors (docs/FORMAT.md)', () => {
  // [key, canonical bytes, murmur3_32 seed 0, key group for maxP 128, for maxP 32768]
  const vectors: [unknown, string, number, number, number][] = [
    ['', 'a0', 0x18602035, 53, 8245],
    ['hello', 'a568656c6c6f', 0x2a627ea2, 34, 32418],
    ['user-42', 'a7757365722d3432', 0x90f2ed96, 22, 28054],
    ['€uro ✓', 'aae282ac75726f20e29c93', 0x0035f921, 33, 31009],
    [0, '00', 0x514e28b7, 55, 10423],
    [42, '2a', 0x14336e1c, 28, 28188],
    [-1, 'ff', 0xfd6cf10d, 13, 28941],
    [300, 'cd012c', 0x65ae4db2, 50, 19890],
    [1.5, 'cb3ff8000000000000', 0x94ebc4e8, 104, 17640],
    [2 ** 53, 'cb4340000000000000', 0x49e7b4d5, 85, 13525],
    [true, 'c3', 0x29de8a53, 83, 2643],
    [false, 'c2', 0x1024e5c2, 66, 26050],
    [Uint8Array.of(0x00, 0xff), 'c40200ff', 0x4b31773a, 58, 30522],
    [[1, 'a'], '9201a161', 0x1f705809, 9, 22537],
    [{ b: 1, a: [true] }, '82a16191c3a16201', 0x13cbb19c, 28, 12700],
  ];
  it.each(vectors)('%o', (key, bytesHex, hash, group128, group32768) => {
    const bytes = encodeCanonicalKey(key);
    expect(toHex(bytes)).toBe(bytesHex);
    expect(murmur3_32(bytes)).toBe(hash);
    expect(reference.x86.hash32(bytes, 0)).toBe(hash);
    expect(keyGroupFor(key, 128)).toBe(group128);
    expect(keyGroupFor(key, 32768)).toBe(group32768);
    expect(keyGroupForBytes(bytes, 128)).toBe(hash % 128);
  });
});

describe('defaultMaxParallelism', () => {
  it.each([
    [1, 128],
    [85, 128],
    [86, 256],
    [100, 256],
    [171, 256],
    [172, 512],
    [1000, 2048],
    [21845, 32768],
    [21846, 32768],
    [32768, 32768],
    [100_000, 32768],
  ])('is %i -> %i', (p, expected) => {
    expect(defaultMaxParallelism(p)).toBe(expected);
  });

  it('refuses a parallelism that is not a positive integer', () => {
    for (const p of [0, -1, 1.5, NaN, Infinity]) expect(() => defaultMaxParallelism(p)).toThrow(UserError);
  });
});

describe('checkParallelism', () => {
  it('accepts integers with 1 <= p <= maxP <= 32768', () => {
    for (const [p, maxP] of [[1, 1], [1, 128], [128, 128], [32768, 32768], [3, 32768]] as const) {
      expect(() => checkParallelism(p, maxP)).not.toThrow();
    }
  });

  it.each([
    [0, 128, /parallelism must be a positive integer, got 0/],
    [1.5, 128, /parallelism must be a positive integer, got 1.5/],
    [129, 128, /parallelism 129 exceeds max parallelism 128/],
    [1, 0, /max parallelism must be an integer from 1 to 32768, got 0/],
    [1, 32769, /max parallelism must be an integer from 1 to 32768, got 32769/],
    [1, NaN, /max parallelism must be an integer from 1 to 32768, got NaN/],
    [NaN, 128, /parallelism must be a positive integer, got NaN/],
  ])('refuses p=%s maxP=%s', (p, maxP, message) => {
    expect(() => checkParallelism(p, maxP)).toThrow(UserError);
    expect(() => checkParallelism(p, maxP)).toThrow(message);
  });
});
