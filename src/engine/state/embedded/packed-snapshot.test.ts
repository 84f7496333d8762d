/**
 * The on-disk backends hand out value-like states' stored bytes (`CapturedEntries.packed`) and
 * the snapshot writers write them without decoding: every file, full checkpoints, incremental
 * deltas and savepoints, must come out byte for byte as when each value is decoded the way the
 * backend decodes it and written by `writeCanonicalKeyGroup`, as before.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/temp-dir.ts';
import { DataFileWriter } from '../../../format/data-file-writer.ts';
import { createValuePackr, createValueUnpackr } from '../../../format/value-codec.ts';
import { LocalObjectStore } from '../../../storage/local-store.ts';
import { ChainBook } from '../../checkpoint/chain-book.ts';
import type { CapturedChanges, CapturedEntries, CapturedKeyGroup, KeyedStateBackend, KeyedStateSnapshot } from '../keyed-state-backend.ts';
import { listState, mapState, reducingState, valueState } from '../state-descriptors.ts';
import { StateTtlConfig } from '../ttl/state-ttl-config.ts';
import { completeChains, writeIncrementalKeyedSnapshot } from '../write-incremental-keyed-snapshot.ts';
import { writeKeyedSnapshot } from '../write-keyed-snapshot.ts';
import { createEmbeddedKeyedStateBackend } from './create-embedded-backend.ts';
import { valueCodecOf } from './state-context.ts';

const MAX_P = 8;
const codec = valueCodecOf(createValuePackr(), createValueUnpackr());

const value = fc.oneof(
  // Stored bytes that decode to something packing differently: they must take the decoding path.
  fc.constantFrom(5n, -7n, '\uD800x', '\uFEFFbom', NaN, new Map([['b', 1], ['2', 2]]), { '1': 'a', b: [1n] }, new Date(-1500)),
  fc.integer(),
  fc.double(),
  fc.integer({ min: 2 ** 32, max: 2 ** 40 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 40, maxLength: 200 }),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.date(),
  fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('1', '__proto__')), fc.oneof(fc.integer(), fc.string(), fc.array(fc.double(), { maxLength: 3 })), { maxKeys: 5 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 20 }),
);

type Op = { op: 'v'; key: number; value: unknown } | { op: 'r'; key: number; n: number } | { op: 'm'; key: number; user: string; n: number } | { op: 'l'; key: number; n: number } | { op: 't'; key: number; n: number } | { op: 'clear'; key: number };

const key = fc.integer({ min: 0, max: 60 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('v' as const), key, value }), weight: 4 },
  fc.record({ op: fc.constant('r' as const), key, n: fc.integer({ min: -100, max: 100 }) }),
  fc.record({ op: fc.constant('m' as const), key, user: fc.constantFrom('a', 'b', 'c'), n: fc.integer() }),
  fc.record({ op: fc.constant('l' as const), key, n: fc.integer() }),
  fc.record({ op: fc.constant('t' as const), key, n: fc.integer() }),
  fc.record({ op: fc.constant('clear' as const), key }),
);

function apply(b: KeyedStateBackend, op: Op): void {
  b.setCurrentKey(op.key);
  const v = b.getState(valueState<unknown>('v'));
  switch (op.op) {
    case 'v':
      return v.update(op.value);
    case 'r':
      return b.getState(reducingState<number>('r', (x, y) => x + y)).add(op.n);
    case 'm':
      return b.getState(mapState<string, number>('m')).put(op.user, op.n);
    case 'l':
      return b.getState(listState<number>('l')).add(op.n);
    case 't':
      return b.getState(valueState<number>('t', { ttl: StateTtlConfig.newBuilder(3_600_000).build() })).update(op.n);
    case 'clear':
      return v.clear();
  }
}

/**
 * One snapshot seen two ways: `packed` hands out what the backend gives the writers, `decoded`
 * the same entries with every packed value decoded as the backend decodes it (the path before).
 * Each key group is taken from the backend once; `release` releases it.
 */
/** Packed values handed out over all runs, in whole key groups and in deltas: both paths must be taken. */
const seen = { full: 0, delta: 0 };

function twoWays(snapshot: KeyedStateSnapshot): { packed: KeyedStateSnapshot; decoded: KeyedStateSnapshot; packedStates: Set<string>; release(): void } {
  const whole = new Map<number, Promise<readonly CapturedKeyGroup[]>>();
  const changes = new Map<number, Promise<readonly CapturedChanges[] | undefined>>();
  const packedStates = new Set<string>();
  const note = (name: string, e: CapturedEntries): void => {
    if (e.packed !== undefined) {
      expect(e.values).toEqual([]);
      expect(e.packed).toHaveLength(e.keys.length);
      packedStates.add(name);
    }
  };
  const decode = (e: CapturedEntries): CapturedEntries => (e.packed === undefined ? e : { keys: e.keys, values: e.packed.map((p) => codec.decode(p)) });
  const take = (g: number): Promise<readonly CapturedKeyGroup[]> => {
    if (!whole.has(g)) whole.set(g, Promise.resolve(snapshot.takeKeyGroup(g, { packed: true })).then((c) => (c.forEach((s) => (note(s.info.name, s), (seen.full += s.packed?.length ?? 0))), c)));
    return whole.get(g)!;
  };
  const takeChanges = (g: number, base: number): Promise<readonly CapturedChanges[] | undefined> => {
    if (!changes.has(g)) changes.set(g, Promise.resolve(snapshot.takeKeyGroupChanges!(g, base, { packed: true })).then((c) => (c?.forEach((s) => (note(s.info.name, s.upserts), (seen.delta += s.upserts.packed?.length ?? 0))), c)));
    return changes.get(g)!;
  };
  const facade = (decoded: boolean): KeyedStateSnapshot => ({
    keyGroupRange: snapshot.keyGroupRange,
    maxParallelism: snapshot.maxParallelism,
    states: snapshot.states,
    get entries() {
      return snapshot.entries;
    },
    released: false,
    takeKeyGroup: async (g) => {
      const c = await take(g);
      return decoded ? c.map((s) => ({ info: s.info, ...decode(s) })) : c;
    },
    takeKeyGroupChanges: async (g, base) => {
      const c = await takeChanges(g, base);
      return decoded ? c?.map((s) => ({ ...s, upserts: decode(s.upserts) })) : c;
    },
    releaseKeyGroup: () => {},
    release: () => {},
  });
  return { packed: facade(false), decoded: facade(true), packedStates, release: () => snapshot.release() };
}

describe.each(['lmdb', 'rocksdb'] as const)('snapshots of %s with packed values', (kind) => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runs = 0;
  beforeAll(async () => {
    dir = await tempDir(`tsflink-${kind}-packed-test-`);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('write full checkpoints, deltas and savepoints byte for byte as decoding every value does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 120 }), { minLength: 1, maxLength: 4 }), async (rounds) => {
        const run = runs++;
        const b = createEmbeddedKeyedStateBackend(kind, { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes: 4096 });
        const packedStore = new LocalObjectStore(`${dir.path}/run-${run}/packed`);
        const decodedStore = new LocalObjectStore(`${dir.path}/run-${run}/decoded`);
        const book = new ChainBook();
        const sameFiles = async (path: string): Promise<void> => {
          expect(Buffer.from(await packedStore.get(path)).equals(Buffer.from(await decodedStore.get(path)))).toBe(true);
        };
        try {
          b.trackChanges!(undefined);
          for (let id = 1; id <= rounds.length; id++) {
            for (const op of rounds[id - 1]!) apply(b, op);
            const ways = twoWays(b.snapshot({ checkpointId: id }));
            const sharedPath = `job/shared/op-${id}.tsfs`;
            const options = { operatorUid: 'op', sharedPath, base: book.base, checkpointId: id };
            const [packedWriter, decodedWriter] = [await DataFileWriter.create(packedStore, sharedPath), await DataFileWriter.create(decodedStore, sharedPath)];
            try {
              const result = await writeIncrementalKeyedSnapshot(ways.packed, packedWriter, options);
              expect(await writeIncrementalKeyedSnapshot(ways.decoded, decodedWriter, options)).toEqual(result);
              for (const name of ways.packedStates) expect(['v', 'r']).toContain(name); // never map, list or TTL state
              const size = (await packedWriter.close()).size;
              await decodedWriter.close();
              await sameFiles(sharedPath);
              book.record(id, completeChains(result, size));
              if (book.confirm(id)) b.confirmChanges!(id);
            } finally {
              ways.release();
            }
          }
          // A savepoint (writeKeyedSnapshot) of the state now.
          const ways = twoWays(b.snapshot());
          const [packedWriter, decodedWriter] = [await DataFileWriter.create(packedStore, 'sp.tsfs'), await DataFileWriter.create(decodedStore, 'sp.tsfs')];
          try {
            const blocks = await writeKeyedSnapshot(ways.packed, packedWriter, 'op');
            expect(await writeKeyedSnapshot(ways.decoded, decodedWriter, 'op')).toEqual(blocks);
            await packedWriter.close();
            await decodedWriter.close();
            await sameFiles('sp.tsfs');
            const valueLike = b.states().filter((s) => s.name === 'v' || s.name === 'r').map((s) => s.name);
            expect([...ways.packedStates].sort()).toEqual(valueLike.sort());
          } finally {
            ways.release();
          }
        } finally {
          await b.dispose();
        }
      }),
      { numRuns: 25 },
    );
    expect(seen.full).toBeGreaterThan(0);
    expect(seen.delta).toBeGreaterThan(0);
  });
});
