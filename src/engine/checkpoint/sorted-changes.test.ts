import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packLayers } from '../state/embedded/overlay-transfer.ts';
import { changesOfGroup, deleteSorted, groupChanges, isAscending, lastChangesInOrder, upsertSorted } from './sorted-changes.ts';

const u16 = (n: number): string => String.fromCharCode(n >> 8, n & 0xff);
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\x00', '\xff'), maxLength: 3 }).map((k) => `\xa1${k}`);
const changeArb = fc.record({ group: fc.constantFrom(0, 1, 300, 32767), key: keyArb, state: fc.nat(2), value: fc.option(fc.uint8Array({ maxLength: 3 }), { nil: null }) });
const bytes = (v: Uint8Array | null): number[] | null => (v === null ? null : [...v]);

describe('groupChanges and changesOfGroup', () => {
  it('give each key group its last change of every key, per state and in store order, as a Map applied layer by layer does', () => {
    fc.assert(
      fc.property(fc.array(fc.array(changeArb, { maxLength: 30 }), { maxLength: 4 }), (layers) => {
        const maps = layers.map((layer) => new Map(layer.map((c) => [u16(c.group) + c.key + u16(c.state), c.value] as const)));
        const expected = new Map<string, Uint8Array | null>();
        for (const m of maps) for (const [k, v] of m) expected.set(k, v);
        const grouped = groupChanges(packLayers(maps));
        for (const group of [0, 1, 2, 300, 32767]) {
          const got = changesOfGroup(grouped, group, 3);
          for (let state = 0; state < 3; state++) {
            const mine = [...expected].filter(([k]) => k.startsWith(u16(group)) && k.endsWith(u16(state))).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
            const upserts = mine.filter(([, v]) => v !== null);
            expect(got.keys[state]).toEqual(upserts.map(([k]) => k.slice(2, -2)));
            expect(got.values[state]!.map(bytes)).toEqual(upserts.map(([, v]) => bytes(v)));
            expect(got.deletions[state]).toEqual(mine.filter(([, v]) => v === null).map(([k]) => k.slice(2, -2)));
          }
        }
      }),
    );
  });

  it('refuses a change of a state id past the states', () => {
    const grouped = groupChanges(packLayers([new Map([[`${u16(5)}\xa1k${u16(2)}`, new Uint8Array([1])]])]));
    expect(() => changesOfGroup(grouped, 5, 2)).toThrow('a recorded change of state id 2, past the 2 states');
  });
});

describe('lastChangesInOrder', () => {
  /** Each key's last change, in ascending key order, through a Map and a string sort. */
  const reference = (keys: readonly string[], order: Int32Array, first: number, end: number): number[] => {
    const last = new Map<string, number>();
    for (let j = first; j < end; j++) last.set(keys[order[j]!]!, order[j]!);
    return [...last.keys()].sort().map((k) => last.get(k)!);
  };
  // Keys alike for long stretches (a shared head, then few letters) tie on the packed characters in
  // runs past the insertion sort's, and the rest of them decides; some differ only in length or in
  // trailing zeros; a few have a letter that is not latin1.
  const letters = fc.constantFrom('\x00', 'a', 'b', '\xff', '\x00', 'a', 'b', '\xff', '\u0101');
  const keyArb = fc
    .tuple(fc.constantFrom('', '\xa9user-0000', '\x00\x00\x00\x00\x00\x00'), fc.string({ unit: letters, maxLength: 12 }))
    .map(([head, tail]) => `\x00\x07${head}${tail}`);

  it('gives the index of every key\'s last change, in key order, as a Map and a string sort do', () => {
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 400 }), fc.nat(4), (keys, skip) => {
        const order = Int32Array.from(keys.keys());
        const first = Math.min(skip, keys.length);
        expect([...lastChangesInOrder(keys, order, first, keys.length)]).toEqual(reference(keys, order, first, keys.length));
      }),
      { numRuns: 300 },
    );
  });

  it('orders a key with a letter past latin1 as a string compare does', () => {
    // Packed as a byte, U+0101 would carry into the letter before it: 'a' then U+0101 would pack above 'b' then 0.
    const keys = ['\x00\x07b\x00', '\x00\x07a\u0101', '\x00\x07a\xff'];
    expect([...lastChangesInOrder(keys, Int32Array.from(keys.keys()), 0, keys.length)]).toEqual([2, 1, 0]);
  });

  it('sorts a run of keys that tie on every packed character by the characters after, many times over', () => {
    // 2,000 keys sharing their first 12 characters, in an order unlike theirs, each written three times.
    const keys = Array.from({ length: 6_000 }, (_, i) => `\x00\x07${'p'.repeat(10)}${String((i * 7919) % 2_000).padStart(6, '0')}`);
    const order = Int32Array.from(keys.keys());
    expect([...lastChangesInOrder(keys, order, 0, keys.length)]).toEqual(reference(keys, order, 0, keys.length));
  });

  it('sorts keys that are each other\'s prefixes, past the runs it nests', () => {
    const keys = Array.from({ length: 600 }, (_, i) => `\x00\x07${'a'.repeat(((i * 7919) % 300) + 1)}`);
    const order = Int32Array.from(keys.keys());
    expect([...lastChangesInOrder(keys, order, 0, keys.length)]).toEqual(reference(keys, order, 0, keys.length));
  });
});

describe('upsertSorted and deleteSorted', () => {
  const entriesArb = fc.uniqueArray(keyArb).map((keys) => {
    const sorted = keys.sort();
    return { keys: sorted, values: sorted.map((k) => new Uint8Array([k.length])) };
  });
  it('merge ascending entries as a Map with the upserts set and the deletions removed, then sorted, does', () => {
    fc.assert(
      fc.property(entriesArb, entriesArb, fc.uniqueArray(keyArb), (base, upserts, deleted) => {
        const map = new Map(base.keys.map((k, i) => [k, base.values[i]!]));
        upserts.keys.forEach((k, i) => map.set(k, upserts.values[i]!));
        for (const k of deleted) map.delete(k);
        const got = deleteSorted(upsertSorted(base, upserts), deleted.sort());
        expect(got.keys).toEqual([...map.keys()].sort());
        expect(got.values).toEqual(got.keys.map((k) => map.get(k)));
        expect(isAscending(got.keys)).toBe(true);
      }),
    );
  });

  it('isAscending is false for a repeated or a descending key', () => {
    expect([isAscending(['a', 'b']), isAscending(['a', 'a']), isAscending(['b', 'a']), isAscending([])]).toEqual([true, false, false, true]);
  });
});
