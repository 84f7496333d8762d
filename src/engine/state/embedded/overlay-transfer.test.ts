/**
 * The overlay's crossing to the lmdb snapshot thread (overlay-transfer.ts): what arrives is the
 * overlay that left, the message carries its values' bytes and not the buffers they are views
 * into, and the transfer leaves the sender's values (the write-back cache's) intact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { overlayTransferList, packChanges, packOverlay, unpackOverlay } from './overlay-transfer.ts';

/** Values as the cache holds them: views into one shared 8 KiB buffer, as msgpackr packs them. */
const overlayArb = fc
  .array(fc.tuple(fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 }), fc.option(fc.tuple(fc.nat(8000), fc.nat(40)), { nil: null })), { maxLength: 60 })
  .map((entries) => {
    const shared = new Uint8Array(8192);
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 31 + 7) & 0xff;
    const overlay = entries.map(([key, at]) => [key, at === null ? null : shared.subarray(at[0], Math.min(at[0] + at[1], shared.length))] as [string, Uint8Array | null]);
    return { overlay, shared };
  });

describe('overlay transfer', () => {
  it('arrives as it left, carries only its values, and leaves the sender its buffers', () => {
    fc.assert(
      fc.property(overlayArb, ({ overlay, shared }) => {
        const before = overlay.map(([k, v]) => [k, v === null ? null : Array.from(v)]);
        const packed = packOverlay(overlay);
        const sent = structuredClone(packed, { transfer: overlayTransferList(packed) });
        const arrived = unpackOverlay(sent).map(([k, v]) => [k, v === null ? null : Array.from(v)]);
        expect(arrived).toEqual(before);
        expect(sent.bytes.buffer.byteLength).toBe(overlay.reduce((n, [, v]) => n + (v?.length ?? 0), 0));
        // The cache's values are views into buffers it keeps using: never detached.
        expect(shared.buffer.byteLength).toBe(8192);
        expect(overlay.map(([k, v]) => [k, v === null ? null : Array.from(v)])).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  it('packs upserts and deletions given apart as packOverlay packs them as pairs, values short and long', () => {
    fc.assert(
      fc.property(overlayArb, ({ overlay }) => {
        const upserts = overlay.filter((e): e is [string, Uint8Array] => e[1] !== null);
        const deleted = overlay.filter(([, v]) => v === null).map(([k]) => k);
        const packed = packChanges(
          upserts.map(([k]) => k),
          upserts.map(([, v]) => v),
          deleted,
        );
        const expected = packOverlay([...upserts, ...deleted.map((k) => [k, null] as const)]);
        expect({ keys: [...packed.keys], lengths: [...packed.lengths], bytes: [...packed.bytes] }).toEqual({ keys: [...expected.keys], lengths: [...expected.lengths], bytes: [...expected.bytes] });
        // Its own buffers, safe to transfer: never the values' shared one.
        expect(packed.bytes.buffer.byteLength).toBe(upserts.reduce((n, [, v]) => n + v.length, 0));
      }),
      { numRuns: 200 },
    );
  });

  it('an empty overlay and one of deletions only cross as well', () => {
    for (const overlay of [[], [['a', null] as [string, null], ['b', null] as [string, null]]]) {
      const packed = packOverlay(overlay);
      expect(unpackOverlay(structuredClone(packed, { transfer: overlayTransferList(packed) }))).toEqual(overlay);
    }
  });
});
