import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, encodeCanonicalKey } from '../../../format/canonical-key.ts';
import { type StoreRange, keyGroupRange, keyGroupsRange, keyStateRange, parseStateKey, prefixEnd, stateKey } from './state-keys.ts';

const inRange = (key: Uint8Array, range: StoreRange): boolean => compareBytes(key, range.start) >= 0 && compareBytes(key, range.end) < 0;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean => bytes.length >= prefix.length && prefix.every((x, i) => bytes[i] === x);

// Keys that are prefixes of one another as text or numbers, and whose encodings share bytes.
const tricky: unknown[] = ['', 'a', 'ab', 'a\u0000', 'a\uffff', 'x'.repeat(31), 'x'.repeat(32), 0, 1, 127, 128, 255, 256, -1, -32, -33, 1.5, true, false, [], [1], [1, 2], [[1]], {}, { a: 1 }, { a: 1, b: 2 }, Uint8Array.of(), Uint8Array.of(0xff)];

const leaf = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', '\u00ff', '\uffff'), maxLength: 40 }),
  fc.integer({ min: -300, max: 70000 }),
  fc.maxSafeInteger(),
  fc.double({ noDefaultInfinity: false }),
  fc.boolean(),
  fc.uint8Array({ maxLength: 4 }),
  fc.constantFrom(...tricky),
);
const { tree } = fc.letrec<{ tree: unknown }>((go) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(go('tree'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), go('tree'), { maxKeys: 3 })),
}));
const canonicalKey = tree.map((k) => encodeCanonicalKey(k));

/** A few keys, groups and states, so that pairs drawn from them are often equal or related. */
const world = fc.record({
  keys: fc.array(canonicalKey, { minLength: 1, maxLength: 6 }),
  groups: fc.array(fc.constantFrom(0, 1, 0xff, 0x100, 0x1ff, 32766, 32767), { minLength: 1, maxLength: 3 }),
  states: fc.array(fc.constantFrom(0, 1, 0xff, 0x100, 0xffff), { minLength: 1, maxLength: 3 }),
});
const pick = <T,>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
const entryArb = (w: { keys: Uint8Array[]; groups: number[]; states: number[] }) =>
  fc.record({ k: fc.nat(), g: fc.nat(), s: fc.nat(), user: fc.oneof(fc.constant(new Uint8Array(0)), canonicalKey, fc.uint8Array({ maxLength: 3 })) }).map(({ k, g, s, user }) => ({
    key: pick(w.keys, k),
    keyGroup: pick(w.groups, g),
    stateId: pick(w.states, s),
    userKey: user,
  }));

describe('state keys', () => {
  it('no canonical key encoding is a proper prefix of another', () => {
    fc.assert(
      fc.property(canonicalKey, canonicalKey, (a, b) => {
        if (a.length !== b.length) expect(startsWith(b, a) || startsWith(a, b)).toBe(false);
      }),
      { numRuns: 3000, seed: 11 },
    );
    const encoded = tricky.map((k) => encodeCanonicalKey(k));
    for (const a of encoded) for (const b of encoded) if (a.length < b.length) expect(startsWith(b, a), `${hex(a)} / ${hex(b)}`).toBe(false);
  });

  it('parses back into the parts it was made of', () => {
    fc.assert(
      fc.property(world.chain((w) => entryArb(w)), (e) => {
        const parts = parseStateKey(stateKey(e.keyGroup, e.key, e.stateId, e.userKey));
        expect({ ...parts, key: hex(parts.key), userKey: hex(parts.userKey) }).toEqual({ keyGroup: e.keyGroup, key: hex(e.key), stateId: e.stateId, userKey: hex(e.userKey) });
      }),
      { numRuns: 1000, seed: 12 },
    );
  });

  it('a key-state range holds exactly the entries of that key group, key and state', () => {
    fc.assert(
      fc.property(
        world.chain((w) => fc.tuple(entryArb(w), fc.array(entryArb(w), { minLength: 1, maxLength: 20 }))),
        ([target, others]) => {
          const range = keyStateRange(target.keyGroup, target.key, target.stateId);
          for (const e of [target, ...others]) {
            const same = e.keyGroup === target.keyGroup && hex(e.key) === hex(target.key) && e.stateId === target.stateId;
            expect(inRange(stateKey(e.keyGroup, e.key, e.stateId, e.userKey), range)).toBe(same);
          }
        },
      ),
      { numRuns: 1000, seed: 13 },
    );
  });

  it('a key-group range holds exactly the entries of its key groups', () => {
    fc.assert(
      fc.property(
        world.chain((w) => fc.tuple(fc.array(entryArb(w), { minLength: 1, maxLength: 20 }), fc.nat(32767), fc.nat(32767))),
        ([entries, a, b]) => {
          const [first, last] = a <= b ? [a, b] : [b, a];
          const range = keyGroupsRange(first, last);
          const one = keyGroupRange(first);
          for (const e of entries) {
            const key = stateKey(e.keyGroup, e.key, e.stateId, e.userKey);
            expect(inRange(key, range)).toBe(e.keyGroup >= first && e.keyGroup <= last);
            expect(inRange(key, one)).toBe(e.keyGroup === first);
          }
        },
      ),
      { numRuns: 1000, seed: 14 },
    );
  });

  it('sorts by key group first, so sorted store keys keep each key group together', () => {
    fc.assert(
      fc.property(world.chain((w) => fc.array(entryArb(w), { maxLength: 30 })), (entries) => {
        const sorted = entries.map((e) => stateKey(e.keyGroup, e.key, e.stateId, e.userKey)).sort(compareBytes);
        const groups = sorted.map((k) => parseStateKey(k).keyGroup);
        expect(groups).toEqual([...groups].sort((x, y) => x - y));
      }),
      { numRuns: 500, seed: 15 },
    );
  });

  it('prefixEnd bounds exactly the strings that start with the prefix', () => {
    const bytes = fc.array(fc.constantFrom(0, 1, 0xfe, 0xff), { maxLength: 5 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(bytes.filter((p) => p.some((x) => x !== 0xff)), bytes, (prefix, x) => {
        const candidate = Uint8Array.from([...prefix.subarray(0, x[0] === undefined ? prefix.length : x[0] % (prefix.length + 1)), ...x]);
        expect(inRange(candidate, { start: prefix, end: prefixEnd(prefix) })).toBe(startsWith(candidate, prefix));
      }),
      { numRuns: 3000, seed: 16 },
    );
    expect(hex(prefixEnd(Uint8Array.of(1, 0xff, 0xff)))).toBe('02');
  });

  it('refuses key groups, state ids and keys out of range', () => {
    const key = encodeCanonicalKey('k');
    expect(() => stateKey(32768, key, 0)).toThrow(/key group 32768/);
    expect(() => stateKey(-1, key, 0)).toThrow(/key group -1/);
    expect(() => stateKey(0, key, 0x10000)).toThrow(/state id 65536/);
    expect(() => stateKey(0, new Uint8Array(0), 0)).toThrow(/never empty/);
    expect(() => keyGroupsRange(5, 4)).toThrow(/empty/);
    expect(hex(keyGroupsRange(0, 32767).end)).toBe('8000');
  });
});
