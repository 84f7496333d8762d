/**
 * Format version 3 (FORMAT.md, incremental checkpoints): written only for a snapshot with shared
 * files or blocks that are not full; FILE entries with `shared`/`written`, seven uints per KGIX
 * block, key groups' chains replayed by the reader, shared files read from the checkpoint root.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../../test/support/temp-dir.ts';
import { FormatError, InternalError, UserError } from '../../errors.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { encodeCanonicalKey } from '../canonical-key.ts';
import { crc32 } from '../crc32.ts';
import { keyGroupFor } from '../key-groups.ts';
import { decodeMetadata } from '../metadata-readers.ts';
import type { KeyGroupBlock, SnapshotMetadata } from '../model.ts';
import { type KeyedBlock, SnapshotWriter } from '../snapshot-writer.ts';
import { encodeMetadataSections, encodeMetadataV1 } from '../v1/encode-metadata.ts';
import { encodeMetadataV2 } from '../v2/encode-metadata.ts';
import { verifySnapshot } from '../verify-snapshot.ts';
import { writeIncrementalCheckpoint } from '../write-incremental-checkpoint.ts';
import { rekeySnapshot } from '../rekey-snapshot.ts';
import { SnapshotReader } from '../snapshot-reader.ts';
import { encodeMetadataV3 } from './encode-metadata.ts';

const dirs = tempDirForFile();
const JOB = 'abcdef0123456789abcdef0123456789';
const MAXP = 4;
const latin1 = (key: unknown): string => Buffer.from(encodeCanonicalKey(key)).toString('latin1');
/** Keys `k0`.. grouped by key group of MAXP. */
const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
const inGroup = (g: number): string[] => KEYS.filter((k) => keyGroupFor(k, MAXP) === g);

type Step = { kind: 'full' | 'upserts'; entries: [string, unknown][] } | { kind: 'deletions'; keys: string[] };

/** A snapshot in one data file of its own directory holding `chains` (per key group, steps in order). */
async function writeChains(dir: string, chains: ReadonlyMap<number, readonly Step[]>): Promise<{ store: LocalObjectStore; metadata: SnapshotMetadata; bytes: Buffer }> {
  const store = new LocalObjectStore(dir);
  const writer = new SnapshotWriter(store, { kind: 'checkpoint', jobId: JOB, jobName: 'chains', checkpointId: 1, createdAt: 0 });
  writer.addOperator({ uid: 'op', parallelism: 1, maxParallelism: MAXP });
  const file = await writer.openDataFile('op', 0);
  const blocks: KeyedBlock[] = [];
  for (const [g, steps] of chains) {
    for (const step of steps) {
      const block =
        step.kind === 'deletions'
          ? await file.writeCanonicalDeletions('op/v', g, MAXP, step.keys.map(latin1))
          : await file.writeCanonicalKeyGroup('op/v', 'value', g, MAXP, step.entries.map(([k]) => latin1(k)), step.entries.map(([, v]) => v));
      if (block !== null) blocks.push({ ...block, keyGroup: g, kind: step.kind });
    }
  }
  writer.addKeyedState('op', { name: 'v', kind: 'value' }, blocks);
  await writer.closeDataFile(file);
  const metadata = await writer.finish();
  return { store, metadata, bytes: await readFile(join(dir, '_metadata')) };
}

async function readAll(reader: SnapshotReader, name = 'v', uid = 'op'): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for await (const batch of reader.readKeyed(uid, name)) batch.keys.forEach((k, i) => out.set(k as string, batch.values[i]));
  return out;
}

const g0 = 0;
const [a, b, c] = inGroup(g0) as [string, string, string];
const [d] = inGroup(1) as [string];

describe('format version 3', () => {
  it('is written for delta blocks; only full blocks and no shared file stay version 1, byte for byte', async () => {
    const full = await writeChains(dirs.next(), new Map([[g0, [{ kind: 'full', entries: [[a, 1]] }]]]));
    expect(full.bytes.readUInt16BE(8)).toBe(1);
    expect(encodeMetadataV1(full.metadata).equals(full.bytes)).toBe(true);
    const delta = await writeChains(dirs.next(), new Map([[g0, [{ kind: 'full', entries: [[a, 1], [b, 2]] }, { kind: 'upserts', entries: [[a, 3]] }, { kind: 'deletions', keys: [b] }]]]));
    expect(delta.bytes.readUInt16BE(8)).toBe(3);
    expect(delta.bytes.readUInt32BE(12)).toBe(0); // no shared file: no feature bit
    expect(delta.metadata.operators[0]!.keyedStates[0]!.blocks.map((x) => x.kind)).toEqual(['full', 'upserts', 'deletions']);
    expect(delta.metadata.files).toEqual([{ path: expect.any(String), size: expect.any(Number), shared: false, written: true }]);
    // Round trip: the decoded metadata encodes to the same bytes.
    expect(encodeMetadataV3(delta.metadata).equals(delta.bytes)).toBe(true);
    expect(await readAll(await SnapshotReader.open(delta.store))).toEqual(new Map([[a, 3]]));
    expect((await verifySnapshot(delta.store)).valid).toBe(true);
  });

  it('keeps the given order within a key group and sorts key groups stably', async () => {
    const r = await writeChains(dirs.next(), new Map<number, Step[]>([[1, [{ kind: 'full', entries: [[d, 1]] }, { kind: 'deletions', keys: [d] }, { kind: 'upserts', entries: [[d, 2]] }]], [g0, [{ kind: 'upserts', entries: [[a, 1]] }]]]));
    expect(r.metadata.operators[0]!.keyedStates[0]!.blocks.map((x) => [x.keyGroup, x.kind])).toEqual([[0, 'upserts'], [1, 'full'], [1, 'deletions'], [1, 'upserts']]);
    const reader = await SnapshotReader.open(r.store);
    expect(await readAll(reader)).toEqual(new Map<string, unknown>([[a, 1], [d, 2]]));
    expect(await reader.lookup('op', 'v', d)).toEqual({ keyGroup: 1, value: 2 });
    expect(await reader.lookup('op', 'v', b)).toBeUndefined();
  });

  it('a chain that replays to nothing yields nothing', async () => {
    const r = await writeChains(dirs.next(), new Map([[g0, [{ kind: 'full', entries: [[a, 1]] }, { kind: 'deletions', keys: [a] }]]]));
    expect([...(await readAll(await SnapshotReader.open(r.store)))]).toEqual([]);
  });

  describe('the writer refuses a chain that breaks the rules', () => {
    const cases: [string, Step[], RegExp][] = [
      ['a full block after another block', [{ kind: 'upserts', entries: [[a, 1]] }, { kind: 'full', entries: [[b, 1]] }], /key group 0 has a full block after another block/],
      ['two full blocks', [{ kind: 'full', entries: [[a, 1]] }, { kind: 'full', entries: [[b, 1]] }], /at most one full block, first/],
    ];
    it.each(cases)('%s', async (_name, steps, message) => {
      const err = await writeChains(dirs.next(), new Map([[g0, steps]])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InternalError);
      expect((err as Error).message).toMatch(message);
    });

    it('blocks of a shared file that overlap or run past it', () => {
      const meta = sharedMeta([{ keyGroup: 0, file: 0, offset: 16, length: 20, entries: 1, crc: 0, kind: 'full' }, { keyGroup: 1, file: 0, offset: 30, length: 20, entries: 1, crc: 0, kind: 'full' }]);
      expect(() => encodeMetadataV3(meta)).toThrow(/blocks of a shared file must not overlap/);
      const past = sharedMeta([{ keyGroup: 0, file: 0, offset: 16, length: 200, entries: 1, crc: 0, kind: 'full' }]);
      expect(() => encodeMetadataV3(past)).toThrow(/blocks end at 216 but the file size is 100/);
    });

    it('key groups out of order', () => {
      const meta = sharedMeta([{ keyGroup: 1, file: 0, offset: 16, length: 20, entries: 1, crc: 0, kind: 'full' }, { keyGroup: 0, file: 0, offset: 36, length: 20, entries: 1, crc: 0, kind: 'upserts' }]);
      expect(() => encodeMetadataV3(meta)).toThrow(/key groups decrease at 0/);
    });
  });

  describe('the reader refuses', () => {
    const good = sharedMeta([
      { keyGroup: 0, file: 0, offset: 16, length: 20, entries: 1, crc: 0, kind: 'full' },
      { keyGroup: 0, file: 0, offset: 36, length: 20, entries: 1, crc: 0, kind: 'deletions' },
    ]);
    const bad = (
      meta: SnapshotMetadata,
      options: { features?: number; file?: (f: SnapshotMetadata['files'][number]) => Record<string, string | number | boolean>; block?: (b: KeyGroupBlock) => number[] } = {},
    ): Buffer =>
      encodeMetadataSections(meta, 2, {
        version: 3,
        requiredFeatures: options.features ?? 2,
        file: options.file ?? ((f) => ({ path: f.path, size: f.size, shared: f.shared ?? false, written: f.written ?? true })),
        block: options.block ?? ((b) => [b.keyGroup, b.file, b.offset, b.length, b.entries, b.crc, ['full', 'upserts', 'deletions'].indexOf(b.kind ?? 'full')]),
      });
    it('reads the good one', () => {
      expect(decodeMetadata(bad(good), 'm').operators[0]!.keyedStates[0]!.blocks.map((x) => x.kind)).toEqual(['full', 'deletions']);
    });
    const cases: [string, () => Buffer, RegExp][] = [
      ['an unknown block kind', () => bad(good, { block: (x) => [x.keyGroup, x.file, x.offset, x.length, x.entries, x.crc, 3] }), /block kind 3 is not 0 \(full\), 1 \(upserts\) or 2 \(deletions\)/],
      ['six uints per block', () => bad(good, { block: (x) => [x.keyGroup, x.file, x.offset, x.length, x.entries, x.crc] }), /expected a flat array of 7 numbers per block/],
      ['a shared file without feature bit 1', () => bad(good, { features: 0 }), /some files are shared but the header lacks required feature bit 1/],
      ['feature bit 1 without a shared file', () => bad({ ...good, files: [{ ...good.files[0]!, shared: false, written: true }], operators: [] } as SnapshotMetadata), /required feature bit 1 is set but no file is shared/],
      ['a file without `shared`', () => bad(good, { file: (f) => ({ path: f.path, size: f.size, written: true }) }), /files\[0\]\.shared: missing/],
      ['`written` that is not a bool', () => bad(good, { file: (f) => ({ path: f.path, size: f.size, shared: true, written: 1 }) }), /files\[0\]\.written: expected a bool/],
      ['a snapshot-directory file not written', () => bad({ ...good, files: [{ ...good.files[0]!, shared: false, written: false }] } as SnapshotMetadata, { features: 0 }), /copied \(shared: false, written: false\) but the header lacks required feature bit 2/],
      ['a full block after a deletions block', () => bad(good, { block: (x) => [x.keyGroup, x.file, x.offset, x.length, x.entries, x.crc, x.kind === 'full' ? 2 : 0] }), /full block after another block/],
      ['an untiled file of the snapshot directory', () => bad({ ...good, files: [{ path: 'x.tsfs', size: 100, shared: false, written: true }] } as SnapshotMetadata, { features: 0 }), /blocks end at 56 but the file size is 100/],
      ['a path leaving the root', () => bad({ ...good, files: [{ ...good.files[0]!, path: '../x.tsfs' }] } as SnapshotMetadata), /escapes the snapshot directory/],
    ];
    it.each(cases)('%s', (_name, bytes, message) => {
      expect(() => decodeMetadata(bytes(), 'm')).toThrow(message);
      expect(() => decodeMetadata(bytes(), 'm')).toThrow(FormatError);
    });

    it('version 2 readers keep refusing required feature bit 1', () => {
      const v2 = Buffer.from(encodeMetadataV2({ ...good, files: [], operators: [] }));
      v2.writeUInt32BE(2, 12);
      v2.writeUInt32BE(crc32(v2.subarray(0, 20)), 20);
      expect(() => decodeMetadata(v2, 'm')).toThrow(/unknown required features 0x00000002: written by a newer tsflink/);
    });
  });

  describe('shared files', () => {
    it('are read from the checkpoint root, two directories above the snapshot', async () => {
      const root = dirs.next('root');
      const rootStore = new LocalObjectStore(root);
      const cp = (checkpointId: number, values: [string, number][]) => ({ jobId: JOB, jobName: 'j', checkpointId, createdAt: 0, operators: [{ uid: 'op', parallelism: 1, maxParallelism: MAXP, keyedStates: [{ name: 'v', kind: 'value' as const, entries: values }] }] });
      const first = await writeIncrementalCheckpoint(rootStore, new LocalObjectStore(join(root, JOB, 'chk-1')), cp(1, [[a, 1], [b, 2], [d, 3]]));
      const second = await writeIncrementalCheckpoint(rootStore, new LocalObjectStore(join(root, JOB, 'chk-2')), cp(2, [[a, 1], [b, 20]]), first.base);
      expect(second.metadata.formatVersion).toBe(3);
      expect(second.metadata.files.map((f) => [f.path, f.shared, f.written])).toEqual([
        [`${JOB}/shared/${second.metadata.files[0]!.path.split('/').at(-1)}`, true, true],
        [first.metadata.files[0]!.path, true, false],
      ]);
      expect(second.metadata.stats.bytes).toBe(second.metadata.files[0]!.size);
      const reader = await SnapshotReader.open(new LocalObjectStore(join(root, JOB, 'chk-2')));
      expect(await readAll(reader)).toEqual(new Map([[a, 1], [b, 20]]));
      expect(reader.describeFile(1)).toBe(join(root, first.metadata.files[0]!.path));
      // Through a store that cannot reach its root: a one-line error saying where to open it.
      const bytes = await readFile(join(root, JOB, 'chk-2', '_metadata'));
      const plain: ObjectStore = { ...new LocalObjectStore(join(root, JOB, 'chk-2')), location: 'x', describe: (k: string) => k, get: async () => bytes } as unknown as ObjectStore;
      const blind = SnapshotReader.fromMetadataBytes(plain, bytes);
      await expect(readAll(blind)).rejects.toThrow(UserError);
      // An explicit root wins.
      const explicit = SnapshotReader.fromMetadataBytes(plain, bytes, { root: rootStore });
      expect(explicit.storeForFile(1)).toBe(rootStore);
    });

    it('a store stays inside its root: storeAbove makes a new store, never a path with ..', () => {
      const store = new LocalObjectStore('/a/b/c');
      expect(store.storeAbove(2)?.location).toBe('/a');
      expect(new LocalObjectStore('/a').storeAbove(2)).toBeUndefined();
      expect(() => store.describe('../x')).toThrow();
    });
  });

  it('property: random chains replay to what a map given the same steps holds', async () => {
    const key = fc.constantFrom(...inGroup(0).slice(0, 5), ...inGroup(1).slice(0, 3));
    const step = fc.oneof(
      fc.record({ kind: fc.constant('upserts' as const), entries: fc.uniqueArray(fc.tuple(key, fc.integer()), { minLength: 1, maxLength: 5, selector: ([k]) => k }) }),
      fc.record({ kind: fc.constant('deletions' as const), keys: fc.uniqueArray(key, { minLength: 1, maxLength: 4 }) }),
    );
    const chain = fc.tuple(fc.boolean(), fc.uniqueArray(fc.tuple(key, fc.integer()), { minLength: 1, maxLength: 5, selector: ([k]) => k }), fc.array(step, { maxLength: 5 }));
    await fc.assert(
      fc.asyncProperty(fc.array(chain, { minLength: 1, maxLength: 3 }), async (steps) => {
        const expected = new Map<string, unknown>();
        const chains = new Map<number, Step[]>();
        for (const [withFull, fullEntries, rest] of steps) {
          const all: Step[] = [...(withFull ? [{ kind: 'full' as const, entries: fullEntries }] : []), ...rest];
          // Each key group gets the steps whose keys are in it; the chain of a group is its own.
          for (const g of [0, 1]) {
            const mine = all
              .map((s): Step | undefined => {
                if (s.kind === 'deletions') {
                  const keys = s.keys.filter((k) => keyGroupFor(k, MAXP) === g);
                  return keys.length === 0 ? undefined : { kind: 'deletions', keys };
                }
                const entries = s.entries.filter(([k]) => keyGroupFor(k, MAXP) === g);
                return entries.length === 0 ? undefined : { kind: s.kind, entries };
              })
              .filter((s) => s !== undefined);
            const existing = chains.get(g) ?? [];
            // Only the very first step of a group may be full.
            chains.set(g, [...existing, ...mine.map((s, i): Step => (s.kind === 'full' && (existing.length > 0 || i > 0) ? { ...s, kind: 'upserts' } : s))]);
          }
        }
        for (const g of [0, 1]) {
          for (const s of chains.get(g)!) {
            if (s.kind === 'deletions') for (const k of s.keys) expected.delete(k);
            else for (const [k, v] of s.entries) expected.set(k, v);
          }
        }
        const nonEmpty = new Map([...chains].filter(([, s]) => s.length > 0));
        if (nonEmpty.size === 0) return;
        const r = await writeChains(dirs.next('p'), nonEmpty);
        const got = await readAll(await SnapshotReader.open(r.store));
        expect(new Map([...got].sort())).toEqual(new Map([...expected].sort()));
        expect((await verifySnapshot(r.store)).valid).toBe(true);
        // rekey replays the same chains on the bytes into full blocks of a self-contained savepoint.
        const target = new LocalObjectStore(dirs.next('rk'));
        const rekeyed = await rekeySnapshot(await SnapshotReader.open(r.store), target, { maxParallelism: 8, memoryBytes: 1 << 20, spill: new LocalObjectStore(dirs.next('spill')) });
        expect(rekeyed.metadata.formatVersion).toBe(1);
        const again = await readAll(await SnapshotReader.open(target));
        expect(new Map([...again].sort())).toEqual(new Map([...expected].sort()));
      }),
      { numRuns: 40 },
    );
  });

  it('property: checkpoints written as deltas over the previous one read back as the whole state', async () => {
    const content = fc.dictionary(fc.constantFrom(...KEYS.slice(0, 12)), fc.oneof(fc.integer(), fc.string({ maxLength: 3 })), { maxKeys: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(content, { minLength: 1, maxLength: 4 }), async (states) => {
        const root = dirs.next('inc');
        const rootStore = new LocalObjectStore(root);
        let base: Awaited<ReturnType<typeof writeIncrementalCheckpoint>>['base'] | undefined;
        for (const [i, state] of states.entries()) {
          const id = i + 1;
          const cp = { jobId: JOB, jobName: 'j', checkpointId: id, createdAt: 0, operators: [{ uid: 'op', parallelism: 2, maxParallelism: MAXP, keyedStates: [{ name: 'v', kind: 'value' as const, entries: Object.entries(state) }] }] };
          const snapshot = new LocalObjectStore(join(root, JOB, `chk-${id}`));
          base = (await writeIncrementalCheckpoint(rootStore, snapshot, cp, base)).base;
          expect(Object.fromEntries(await readAll(await SnapshotReader.open(snapshot)))).toEqual(state);
        }
      }),
      { numRuns: 25 },
    );
  });
});

/** Metadata of one operator with one keyed state whose blocks lie in one shared file of 100 bytes. */
function sharedMeta(blocks: KeyGroupBlock[]): SnapshotMetadata {
  return {
    formatVersion: 3,
    kind: 'checkpoint',
    type: 'canonical',
    jobId: JOB,
    jobName: 'x',
    checkpointId: 1,
    createdAt: 0,
    engine: 'tsflink',
    stats: { bytes: 0, entries: 0, durations: {} },
    files: [{ path: `${JOB}/shared/f.tsfs`, size: 100, shared: true, written: false }],
    operators: [
      {
        uid: 'op',
        id: new Uint8Array(16),
        name: 'op',
        parallelism: 1,
        maxParallelism: MAXP,
        keyedStates: [
          { name: 'v', kind: 'value', schemaVersion: 1, ttl: null, entries: blocks.reduce((n, x) => n + x.entries, 0), bytes: blocks.reduce((n, x) => n + x.length, 0), blocks },
        ],
        operatorStates: [],
      },
    ],
  };
}
