import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { createValuePackr } from './value-codec.ts';
import { verifySnapshot } from './verify-snapshot.ts';
import { writeSnapshot } from './write-snapshot.ts';

const dirs = tempDirForFile();

const userKey = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', minLength: 20, maxLength: 300 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.boolean(),
  fc.uint8Array({ maxLength: 4 }),
  fc.tuple(fc.string({ maxLength: 3 }), fc.maxSafeNat()),
  fc.record({ b: fc.nat(), a: fc.string() }),
);

describe('DataFileWriter: map state values', () => {
  it('writes every user key in canonical encoding, whichever path a frame takes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.string({ maxLength: 6 }), fc.uniqueArray(fc.tuple(userKey, fc.oneof(fc.integer(), fc.string(), fc.constant(null))), { selector: ([k]) => Buffer.from(encodeCanonicalKey(k)).toString('hex'), maxLength: 6 })), {
          selector: ([k]) => k,
          maxLength: 20,
        }).map((entries) => entries.filter(([, pairs]) => pairs.length > 0)),
        async (entries) => {
          const store = new LocalObjectStore(dirs.next('m'));
          await writeSnapshot(store, {
            info: { kind: 'savepoint', jobId: '00112233445566778899aabbccddeeff', jobName: 'map', checkpointId: 1 },
            operators: [{ uid: 'op', parallelism: 1, maxParallelism: 4, keyedStates: [{ name: 'm', kind: 'map', entries }] }],
          });
          expect((await verifySnapshot(store)).problems).toEqual([]);
          const byKey = (pairs: unknown): unknown => (pairs as [unknown, unknown][]).map(([k, v]) => [Buffer.from(encodeCanonicalKey(k)).toString('hex'), v]);
          const read = new Map<string, unknown>();
          for await (const batch of (await SnapshotReader.open(store)).readKeyed('op', 'm')) batch.keys.forEach((k, i) => read.set(k as string, byKey(batch.values[i])));
          expect(read).toEqual(new Map(entries.map(([k, pairs]) => [k, byKey(pairs)])));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('relies on msgpackr writing well-formed strings exactly as their canonical encoding', () => {
    const packr = createValuePackr();
    const lengths = [0, 1, 31, 32, 255, 256, 65535, 65536];
    const strings = ['a', 'é', '€', '😀'].flatMap((ch) => lengths.flatMap((n) => [ch.repeat(Math.ceil(n / ch.length)), ch.repeat(Math.max(0, Math.floor(n / Buffer.byteLength(ch))))]));
    for (const s of strings) expect(Buffer.from(packr.pack(s)).equals(Buffer.from(encodeCanonicalKey(s))), `${JSON.stringify(s.slice(0, 3))} x ${s.length}`).toBe(true);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 200 })), (s) => {
        expect(Buffer.from(packr.pack(s)).equals(Buffer.from(encodeCanonicalKey(s)))).toBe(true);
      }),
    );
  });
});
