import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it, vi } from 'vitest';
import { BatchBuilder, BatchReader, READ_RECORD, decodeBatch, encodeBatch } from './element-codec.ts';
import type { StreamElement } from './stream-element.ts';

// What every value became when whole batches went through msgpackr (the codec before values
// were written directly): the oracle the direct encoding must match value for value.
const oraclePackr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const oracleUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });
function viaMsgpackr(value: unknown): unknown {
  // Unpacked from a plain Uint8Array copy, as batches were: binary values then read back as Uint8Array.
  return oracleUnpackr.unpack(new Uint8Array(oraclePackr.pack(value)));
}
function roundTrips(value: unknown): boolean {
  try {
    viaMsgpackr(value);
    return true;
  } catch {
    // A bigint beyond 64 bits, a Map with object keys: the batch fails to encode or decode,
    // before and now.
    return false;
  }
}

const asciiString = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  asciiString,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 4 }), // lone surrogates
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), Number.NaN, Infinity, -Infinity, 1e-300),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  // No typed arrays: msgpackr 2.1.3 packs some with stray bytes (the same before and now).
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true }),
);
const timestampArb = fc.oneof(fc.constant(null), fc.double(), fc.integer(), fc.constantFrom(-0, 1_700_000_000_000, Infinity, -Infinity));

type Input = { kind: 'keyed'; value: unknown; timestamp: number | null; keyGroup: number } | StreamElement;
const elementArb: fc.Arbitrary<Input> = fc.oneof(
  fc.record({ kind: fc.constant('record' as const), value: valueArb, timestamp: timestampArb }),
  fc.record({ kind: fc.constant('keyed' as const), value: valueArb, timestamp: timestampArb, keyGroup: fc.oneof(fc.integer({ min: 0, max: 32767 }), fc.constant(2 ** 32 - 1)) }),
  fc.record({ kind: fc.constant('watermark' as const), timestamp: fc.oneof(fc.double(), fc.integer()) }),
  fc.record({ kind: fc.constant('barrier' as const), barrier: fc.record({ checkpointId: fc.nat(), savepoint: fc.boolean() }) }),
  fc.record({ kind: fc.constant('cancel-barrier' as const), checkpointId: fc.nat() }),
  fc.constant({ kind: 'end-of-input' as const }),
);

describe('element batches', () => {
  it('round-trips every kind of element in order', () => {
    const elements: StreamElement[] = [
      { kind: 'record', value: { a: [1, 'x'] }, timestamp: 5 },
      { kind: 'watermark', timestamp: 4 },
      { kind: 'barrier', barrier: { checkpointId: 3, savepoint: true } },
      { kind: 'record', value: null, timestamp: null },
      { kind: 'cancel-barrier', checkpointId: 4 },
      { kind: 'end-of-input' },
    ];
    expect(decodeBatch(encodeBatch(elements))).toEqual(elements);
  });

  it('carries the key group of a record routed by key, and -1 for the others', () => {
    const builder = new BatchBuilder();
    builder.addRecord('k', 7, 93);
    builder.addRecord('j', null, -1);
    builder.add({ kind: 'watermark', timestamp: 1 });
    expect(builder.elements).toBe(3);
    const bytes = builder.encode();
    expect(builder.elements).toBe(0);
    const reader = new BatchReader();
    reader.load(bytes);
    expect(reader.read()).toBe(READ_RECORD);
    expect([reader.value, reader.timestamp, reader.keyGroup]).toEqual(['k', 7, 93]);
    expect(reader.read()).toBe(READ_RECORD);
    expect([reader.value, reader.timestamp, reader.keyGroup]).toEqual(['j', null, -1]);
    expect(reader.read()).toEqual({ kind: 'watermark', timestamp: 1 });
    expect(reader.hasNext).toBe(false);
  });

  it('reads back every element as whole-batch msgpackr did, with one builder and reader reused across batches', () => {
    const builder = new BatchBuilder();
    const reader = new BatchReader();
    fc.assert(
      fc.property(fc.array(elementArb, { maxLength: 40 }), (inputs) => {
        fc.pre(inputs.every((e) => (e.kind !== 'record' && e.kind !== 'keyed') || roundTrips(e.value)));
        for (const e of inputs) {
          if (e.kind === 'keyed') builder.addRecord(e.value, e.timestamp, e.keyGroup);
          else builder.add(e);
        }
        expect(builder.elements).toBe(inputs.length);
        reader.load(builder.encode());
        for (const e of inputs) {
          expect(reader.hasNext).toBe(true);
          const got = reader.read();
          if (e.kind === 'record' || e.kind === 'keyed') {
            expect(got).toBe(READ_RECORD);
            expect(reader.value).toStrictEqual(viaMsgpackr(e.value));
            expect(reader.timestamp).toStrictEqual(viaMsgpackr(e.timestamp));
            expect(reader.keyGroup).toBe(e.kind === 'keyed' ? e.keyGroup : -1);
          } else if (e.kind === 'barrier') {
            expect(got).toStrictEqual({ kind: 'barrier', barrier: { checkpointId: e.barrier.checkpointId, savepoint: e.barrier.savepoint } });
          } else {
            expect(got).toStrictEqual(viaMsgpackr(e));
          }
        }
        expect(reader.hasNext).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a batch in a fresh process (module instance) without the batches before it', async () => {
    const objects = (n: number): StreamElement[] => Array.from({ length: n }, (_, i) => ({ kind: 'record', value: { user: `u${i}`, amount: i / 3, tags: [{ a: i }] }, timestamp: i }));
    encodeBatch(objects(3)); // the shapes are seen here first
    const second = encodeBatch(objects(5));
    vi.resetModules();
    const fresh = (await import('./element-codec.ts')) as typeof import('./element-codec.ts');
    expect(fresh.decodeBatch).not.toBe(decodeBatch);
    expect(fresh.decodeBatch(second)).toStrictEqual(objects(5));
  });

  it('reads objects with awkward keys as whole-batch msgpackr did', () => {
    const awkward = [{ constructor: 1, toString: 'x', '': null, '0': 1, 'a.b': [undefined] }, Object.create(null), {}, [{}, { a: {} }]];
    const elements: StreamElement[] = awkward.map((value, i) => ({ kind: 'record', value, timestamp: i }));
    expect(decodeBatch(encodeBatch(elements)).map((e) => (e.kind === 'record' ? e.value : e))).toStrictEqual(awkward.map(viaMsgpackr));
  });

  it('keeps a __proto__ key as data (msgpackr alone renames it), with the rest of its batch read as before', () => {
    const proto = (): unknown => JSON.parse('{"a": 2, "__proto__": {"x": 1, "__proto__": [3]}}');
    const others: unknown[] = [{ constructor: 1, toString: 'x', '': null, '0': 1, 'a.b': [undefined] }, {}, [{}, { a: {} }], 'text', 7.5];
    const elements: StreamElement[] = [proto(), ...others].map((value, i) => ({ kind: 'record', value, timestamp: i }));
    const values = decodeBatch(encodeBatch(elements)).map((e) => (e.kind === 'record' ? e.value : e));
    expect(values).toStrictEqual([proto(), ...others.map(viaMsgpackr)]);
    const first = values[0] as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(['a', '__proto__']);
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(Object.keys(first.__proto__ as object)).toEqual(['x', '__proto__']);
  });

  it('handles batches larger than the initial buffer, and long strings', () => {
    const long = 'x'.repeat(100_000);
    const elements: StreamElement[] = Array.from({ length: 600 }, (_, i) => ({ kind: 'record', value: i % 3 === 0 ? long : `k${i}é`, timestamp: i }));
    expect(decodeBatch(encodeBatch(elements))).toStrictEqual(elements);
    expect(decodeBatch(encodeBatch(elements.slice(0, 2)))).toStrictEqual(elements.slice(0, 2));
  });

  it('rejects a corrupt batch', () => {
    const bytes = encodeBatch([{ kind: 'record', value: 'abc', timestamp: null }]);
    bytes[4] = 99;
    expect(() => decodeBatch(bytes)).toThrow(/unknown tag 99/);
    expect(() => decodeBatch(new Uint8Array(2))).toThrow(/corrupt element batch/);
  });
});
