import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import { DataFileWriter } from './data-file-writer.ts';
import { repacksAsStored } from './repacks-as-stored.ts';
import { createValuePackr, createValueUnpackr } from './value-codec.ts';

const dirs = tempDirForFile();
const packr = createValuePackr();
const unpackr = createValueUnpackr();

/** What an on-disk backend stores for `value`: createValuePackr's bytes, copied out of its buffer. */
const stored = (value: unknown): Uint8Array => Uint8Array.prototype.slice.call(packr.pack(value));
/** How the on-disk backends decode stored bytes (state-context.ts's valueCodecOf). */
const decoded = (bytes: Uint8Array): unknown => unpackr.unpackMultiple(Uint8Array.prototype.slice.call(bytes))[0];

const { value: arbValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'xsmall', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object'), tie('map')),
  leaf: fc.oneof(
    fc.integer(),
    fc.integer({ min: -0x8000_0000 * 4, max: 0x1_0000_0000 * 4 }),
    fc.maxSafeInteger(),
    fc.double(),
    fc.constantFrom(0, -0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, 2 ** 32, -(2 ** 31) - 1, NaN, Infinity, -Infinity),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.string(),
    fc.string({ unit: 'binary', maxLength: 80 }), // lone surrogates
    fc.string({ unit: 'grapheme', minLength: 20, maxLength: 300 }),
    fc.constantFrom('\uFEFFbom', '\uFEFF'.repeat(40), 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(33_000)),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 300 }),
    fc.date({ noInvalidDate: false }),
    fc.integer({ min: -2, max: 2 ** 32 + 2 }).chain((s) => fc.integer({ min: 0, max: 999 }).map((ms) => new Date(s * 1000 + ms))),
  ),
  array: fc.array(tie('value'), { maxLength: 18 }),
  object: fc.dictionary(fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('__proto__', '1', '01', 'constructor')), tie('value'), { maxKeys: 18 }),
  // A Map with string keys packs as a map in insertion order, which an object would reorder.
  map: fc.uniqueArray(fc.tuple(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('2', '10')), tie('value')), { selector: ([k]) => k, maxLength: 5 }).map((pairs) => new Map(pairs)),
}));

/** Canonical key strings (latin1) of distinct keys; with maxParallelism 1 all are in key group 0. */
const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

const keysFor = (n: number): string[] => Array.from({ length: n }, (_, i) => Buffer.from(encodeCanonicalKey(`key-${i}`)).toString('latin1'));

async function fileOf(write: (w: DataFileWriter) => Promise<unknown>): Promise<{ bytes?: Buffer; error?: unknown }> {
  const store = new LocalObjectStore(dirs.next('f'));
  const writer = await DataFileWriter.create(store, 'data.tsfs');
  try {
    await write(writer);
  } catch (error) {
    await writer.abort();
    return { error };
  }
  await writer.close();
  return { bytes: Buffer.from(await store.get('data.tsfs')) };
}

describe('DataFileWriter.writeCanonicalPackedKeyGroup', () => {
  it('writes the file writeCanonicalKeyGroup writes for the decoded values, over several frames', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 700 }).chain((n) => fc.array(arbValue, { minLength: n, maxLength: n })), fc.constantFrom<'value' | 'reducing' | 'aggregating'>('value', 'reducing', 'aggregating'), async (values, kind) => {
        const keys = keysFor(values.length);
        const packed = values.map(stored);
        const expected = await fileOf(async (w) => {
          await w.writeCanonicalKeyGroup('op/s', kind, 0, 1, keys, packed.map(decoded));
          await w.writeCanonicalKeyGroup('op/s', kind, 0, 1, keys, packed.map(decoded)); // a second block: frame limits carry over
        });
        const actual = await fileOf(async (w) => {
          await w.writeCanonicalPackedKeyGroup('op/s', kind, 0, 1, keys, packed);
          await w.writeCanonicalPackedKeyGroup('op/s', kind, 0, 1, keys, packed);
        });
        expect(actual.error).toEqual(expected.error);
        expect(actual.bytes?.equals(expected.bytes!)).toBe(expected.bytes === undefined ? undefined : true);
      }),
      { numRuns: 40 },
    );
  });

  it('writes stored bytes it vouches for unchanged, and repacking their decoding gives them back', () => {
    fc.assert(
      fc.property(arbValue, (value) => {
        const bytes = stored(value);
        if (repacksAsStored(bytes)) expect(Buffer.from(packr.pack(decoded(bytes))).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // The common values take the fast path (no decode).
    const accepted = [0, 0x7f, -32, {}, [], '', false, 1, -5, 1.5, 2 ** 40, 'abc', 'é€😀', true, null, { a: 1, b: [1, 'x'] }, new Uint8Array(3), new Date(1_700_000_000_000), new Date(1_700_000_000_123)];
    accepted.forEach((v, i) => expect(repacksAsStored(stored(v)), `accepted[${i}]`).toBe(true));
    const refused = [5n, NaN, '\uD800', '\uFEFFx', { 1: 'a' }, JSON.parse('{"__proto__": 1}') as unknown, new Date(-1), new Date(NaN), new Map([[1, 'a']]), nested(65)];
    refused.forEach((v, i) => expect(repacksAsStored(stored(v)), `refused[${i}]`).toBe(false));
    expect(repacksAsStored(stored(nested(64)))).toBe(true);
    for (const b of [0xc1, 0xc4, 0xcc, 0xd9, 0x81, 0x91, 0xa1]) expect(repacksAsStored(Uint8Array.of(b)), b.toString(16)).toBe(false);
    // Ints of one and two bytes: accepted at the edges of the form msgpackr picks, refused one step past them (a shorter form).
    for (const v of [0x80, 0xff, 0x100, 0xffff, -0x21, -0x80, -0x81, -0x8000]) expect(repacksAsStored(stored(v)), String(v)).toBe(true);
    const longer = [Uint8Array.of(0xcc, 0x7f), Uint8Array.of(0xcd, 0x00, 0xff), Uint8Array.of(0xd0, 0xe0), Uint8Array.of(0xd0, 0x7f), Uint8Array.of(0xd1, 0xff, 0x80), Uint8Array.of(0xd1, 0x00, 0x80)];
    longer.forEach((bytes, i) => expect(repacksAsStored(bytes), `longer[${i}]`).toBe(false));
  });

  it.each([
    ['a map with int keys', stored(new Map([[1, 'a']])), /cannot store a state value that is a Map/],
    ['an ext type other than -1', Uint8Array.of(0xd4, 0x05, 0x00), undefined],
    ['nesting too deep', stored(nested(65)), /nesting deeper than 64 levels/],
    ['a bigint that decodes as a number (accepted)', stored(5n), undefined],
    ['a bigint that decodes as a bigint (accepted)', stored(2n ** 63n), undefined],
  ])('refuses or accepts %s as the value path does', async (_name, bytes, message) => {
    const keys = keysFor(300);
    const packed = keys.map((_, i) => (i === 290 ? bytes : stored(i)));
    const expected = await fileOf((w) => w.writeCanonicalKeyGroup('op/s', 'value', 0, 1, keys, packed.map(decoded)));
    const actual = await fileOf((w) => w.writeCanonicalPackedKeyGroup('op/s', 'value', 0, 1, keys, packed));
    expect(actual.error).toEqual(expected.error);
    if (message !== undefined) expect(String(actual.error)).toMatch(message);
    if (expected.bytes !== undefined) expect(actual.bytes?.equals(expected.bytes)).toBe(true);
  });

  it('checks that each key is in the key group', async () => {
    const keys = keysFor(20);
    const { error } = await fileOf((w) => w.writeCanonicalPackedKeyGroup('op/s', 'value', 0, 128, keys, keys.map(() => stored(1))));
    expect(String(error)).toMatch(/op\/s: a key of key group \d+ was filed under key group 0/);
  });
});

