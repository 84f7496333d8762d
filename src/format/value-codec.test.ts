import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { toJson } from './json-value.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { mapsHaveStringKeysOnly } from './string-keyed.ts';
import { createValuePackr, createValueUnpackr } from './value-codec.ts';
import { writeSnapshot } from './write-snapshot.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
const decode = (bytes: Uint8Array): unknown => createValueUnpackr().unpackMultiple(bytes)[0];

/** Own keys in order, with values, as JSON text: compares without any prototype magic. */
const ownJson = (value: unknown): string => JSON.stringify(value);

describe('state values: keys are data', () => {
  // JSON.parse makes '__proto__' an own property, as a user's parsed input would.
  const tricky = JSON.parse('{"__proto__": 1, "constructor": "c", "toString": "t", "hasOwnProperty": 0, "nested": {"__proto__": {"a": [1]}}}') as object;

  it('round-trips __proto__, constructor and toString keys through a snapshot, in every kind of block', async () => {
    const store = new LocalObjectStore(`${root.path}/proto`);
    await writeSnapshot(store, {
      info: { kind: 'savepoint', jobId: '00112233445566778899aabbccddeeff', jobName: 'keys', checkpointId: 1 },
      operators: [
        {
          uid: 'op',
          parallelism: 1,
          maxParallelism: 8,
          keyedStates: [
            { name: 'value', kind: 'value', entries: [['k', tricky]] },
            { name: 'map', kind: 'map', entries: [['k', [['user', tricky]]]] },
          ],
          operatorStates: [
            { name: 'list', kind: 'list', mode: 'split', partitions: [[tricky]] },
            { name: 'rules', kind: 'broadcast', mode: 'broadcast', partitions: [[['r', tricky]]] },
          ],
        },
      ],
    });
    const reader = await SnapshotReader.open(store);
    const read: unknown[] = [];
    for await (const batch of reader.readKeyed('op', 'value')) read.push(...batch.values);
    for await (const batch of reader.readKeyed('op', 'map')) read.push(...batch.values.map((v) => (v as [string, unknown][])[0]![1]));
    for await (const batch of reader.readOperatorState('op', 'list')) read.push(...batch.values);
    for await (const batch of reader.readOperatorState('op', 'rules')) read.push(...batch.values);
    expect(read).toHaveLength(4);
    for (const value of read) {
      expect(ownJson(value)).toBe(ownJson(tricky));
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value as object, '__proto__')).toBe(true);
      expect(ownJson(toJson(value))).toBe('{"__proto__":1,"constructor":"c","toString":"t","hasOwnProperty":0,"nested":{"__proto__":{"a":[1]}}}');
    }
  });

  it('decodes a map with any non-string key as a Map, keeping every key as written', () => {
    // {1: "a"}, {[1, 2]: "b"}, {1: "a", "1": "b"}, {nil: 0, true: 1}
    expect(decode(hex('81 01 a161'))).toEqual(new Map([[1, 'a']]));
    expect(decode(hex('81 920102 a162'))).toEqual(new Map([[[1, 2], 'b']]));
    expect(decode(hex('82 01 a161 a131 a162'))).toEqual(new Map<unknown, string>([[1, 'a'], ['1', 'b']]));
    expect(decode(hex('82 c0 00 c3 01'))).toEqual(new Map<unknown, number>([[null, 0], [true, 1]]));
    // Inside a string-keyed map, which stays an object.
    expect(decode(hex('81 a178 81 01 a161'))).toEqual({ x: new Map([[1, 'a']]) });
    expect(toJson(decode(hex('81 920102 a162')))).toEqual({ $map: [[[1, 2], 'b']] });
  });

  it('decodes integers in [-2^53, 2^53] as numbers and any other int 64 as a bigint', () => {
    expect(decode(hex('cf 0020000000000000'))).toBe(2 ** 53);
    expect(decode(hex('cf 0020000000000001'))).toBe(2n ** 53n + 1n);
    expect(decode(hex('d3 ffe0000000000000'))).toBe(-(2 ** 53));
    expect(decode(hex('d3 ffdfffffffffffff'))).toBe(-(2n ** 53n) - 1n);
    expect(decode(hex('cf ffffffffffffffff'))).toBe(2n ** 64n - 1n);
  });

  it('writes numbers in values as FORMAT.md 5.2 says: ints within [-2^31, 2^32), float64 otherwise', () => {
    const packr = createValuePackr();
    const first = (n: number): string => Buffer.from(packr.pack(n)).subarray(0, 1).toString('hex');
    expect([2 ** 32 - 1, 2 ** 32, -(2 ** 31), -(2 ** 31) - 1, 1.5, 5, -0].map(first)).toEqual(['ce', 'cb', 'd2', 'cb', 'cb', '05', '00']);
  });

  it('finds exactly the values whose maps have a non-string key', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: true });
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 4 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value')), fc.array(fc.tuple(fc.oneof(fc.string(), leaf, fc.array(leaf, { maxLength: 2 })), tie('value')), { maxLength: 4 }).map((pairs) => new Map(pairs))),
    }));
    const stringKeyed = (v: unknown): boolean =>
      v instanceof Map ? [...v.keys()].every((k) => typeof k === 'string') && [...v.values()].every(stringKeyed) : Array.isArray(v) ? v.every(stringKeyed) : true;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 3 }), (values) => {
        const bytes = Buffer.concat(values.map((v) => packr.pack(v)));
        expect(mapsHaveStringKeysOnly(bytes)).toBe(values.every(stringKeyed));
      }),
      { numRuns: 500 },
    );
    expect(mapsHaveStringKeysOnly(hex('92 01'))).toBe(false); // truncated
    expect(mapsHaveStringKeysOnly(hex('01 c1'))).toBe(false);
  });
});
