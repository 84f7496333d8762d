/**
 * Copied files (FORMAT.md 3.4, version 3 with required feature bit 2): a native savepoint of an
 * incremental job holds copies of the shared files its chains refer to, listed `shared: false,
 * written: false`. They need not be tiled (they hold blocks nobody refers to any more), but their
 * referred blocks must lie inside them without overlap, the bit must match, and `verify` still
 * finds damage in them. The savepoint reads with the job's checkpoints deleted.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../../test/support/temp-dir.ts';
import { FormatError } from '../../errors.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { COPIED_FILES_FEATURE } from '../layout.ts';
import { decodeMetadata } from '../metadata-readers.ts';
import type { KeyGroupBlock, SnapshotMetadata } from '../model.ts';
import { SnapshotReader } from '../snapshot-reader.ts';
import { encodeMetadataSections } from '../v1/encode-metadata.ts';
import { verifySnapshot } from '../verify-snapshot.ts';
import { writeIncrementalCheckpoint } from '../write-incremental-checkpoint.ts';
import { writeNativeSavepointOf } from '../write-native-savepoint.ts';

const dirs = tempDirForFile();
const JOB = 'abcdef0123456789abcdef0123456789';
const MAXP = 4;

async function readAll(reader: SnapshotReader): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for await (const batch of reader.readKeyed('op', 'v')) batch.keys.forEach((k, i) => out.set(k as string, batch.values[i]));
  return out;
}

/** Two incremental checkpoints (a base and a delta on it), and a native savepoint of the second. */
async function nativeSavepoint(): Promise<{ root: string; savepoint: string; metadata: SnapshotMetadata }> {
  const root = dirs.next('root');
  const rootStore = new LocalObjectStore(root);
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  const cp = (checkpointId: number, values: [string, number][]) => ({ jobId: JOB, jobName: 'j', checkpointId, createdAt: 0, operators: [{ uid: 'op', parallelism: 2, maxParallelism: MAXP, keyedStates: [{ name: 'v', kind: 'value' as const, entries: values }] }] });
  const first = await writeIncrementalCheckpoint(rootStore, new LocalObjectStore(join(root, JOB, 'chk-1')), cp(1, keys.map((k, i): [string, number] => [k, i])));
  // k0 changes, k1 goes: deltas on the first checkpoint's full blocks.
  await writeIncrementalCheckpoint(rootStore, new LocalObjectStore(join(root, JOB, 'chk-2')), cp(2, [...keys.slice(2).map((k, i): [string, number] => [k, i + 2]), ['k0', 100]]), first.base);
  const savepoint = dirs.next('savepoint');
  const metadata = await writeNativeSavepointOf(new LocalObjectStore(join(root, JOB, 'chk-2')), new LocalObjectStore(savepoint), { checkpointId: 3 });
  return { root, savepoint, metadata };
}

describe('copied files (native savepoints)', () => {
  it('a native savepoint lists copies of the shared files, sets feature bit 2, and reads with the checkpoints gone', async () => {
    const { root, savepoint, metadata } = await nativeSavepoint();
    expect(metadata.kind).toBe('savepoint');
    expect(metadata.type).toBe('native');
    expect(metadata.files.length).toBeGreaterThan(1);
    for (const f of metadata.files) expect([f.path.startsWith('shared/'), f.shared, f.written]).toEqual([true, false, false]);
    const bytes = await readFile(join(savepoint, '_metadata'));
    expect(bytes.readUInt16BE(8)).toBe(3);
    expect(bytes.readUInt32BE(12)).toBe(COPIED_FILES_FEATURE);
    expect(metadata.operators[0]!.keyedStates[0]!.blocks.some((b) => b.kind !== 'full')).toBe(true);
    await rm(root, { recursive: true });
    const expected = new Map<string, unknown>([['k0', 100], ...Array.from({ length: 18 }, (_, i) => [`k${i + 2}`, i + 2] as [string, number])]);
    expect(await readAll(await SnapshotReader.open(new LocalObjectStore(savepoint)))).toEqual(expected);
    const report = await verifySnapshot(new LocalObjectStore(savepoint));
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('verify finds a damaged byte in a block of a copied file, naming the file', async () => {
    const { savepoint, metadata } = await nativeSavepoint();
    const block = metadata.operators[0]!.keyedStates[0]!.blocks[0]!;
    const file = metadata.files[block.file]!;
    const path = join(savepoint, file.path);
    // A hard-linked copy shares its bytes with the checkpoint's file: write a new file, as damage on another disk would.
    const data = Buffer.from(await readFile(path));
    data[block.offset + block.length - 1]! ^= 0xff;
    await rm(path);
    await writeFile(path, data);
    const report = await verifySnapshot(new LocalObjectStore(savepoint));
    expect(report.valid).toBe(false);
    expect(report.problems.map((p) => p.file)).toContain(path);
  });

  it('verify reports a missing copied file', async () => {
    const { savepoint, metadata } = await nativeSavepoint();
    await rm(join(savepoint, metadata.files[0]!.path));
    const report = await verifySnapshot(new LocalObjectStore(savepoint));
    expect(report.problems.map((p) => p.message)).toContain('missing (referenced by _metadata)');
  });

  describe('the reader accepts copied files only as specified', () => {
    const copied = (blocks: KeyGroupBlock[], size = 100): SnapshotMetadata => ({
      formatVersion: 3,
      kind: 'savepoint',
      type: 'native',
      jobId: JOB,
      jobName: 'x',
      checkpointId: 1,
      createdAt: 0,
      engine: 'tsflink',
      stats: { bytes: 0, entries: 0, durations: {} },
      files: [{ path: 'shared/f.tsfs', size, shared: false, written: false }],
      operators: [
        {
          uid: 'op',
          id: new Uint8Array(16),
          name: 'op',
          parallelism: 1,
          maxParallelism: MAXP,
          keyedStates: [{ name: 'v', kind: 'value', schemaVersion: 1, ttl: null, entries: blocks.reduce((n, x) => n + x.entries, 0), bytes: blocks.reduce((n, x) => n + x.length, 0), blocks }],
          operatorStates: [],
        },
      ],
    });
    const encode = (meta: SnapshotMetadata, features = COPIED_FILES_FEATURE): Buffer =>
      encodeMetadataSections(meta, 2, {
        version: 3,
        requiredFeatures: features,
        file: (f) => ({ path: f.path, size: f.size, shared: f.shared ?? false, written: f.written ?? true }),
        block: (b) => [b.keyGroup, b.file, b.offset, b.length, b.entries, b.crc, ['full', 'upserts', 'deletions'].indexOf(b.kind ?? 'full')],
      });
    const block = (offset: number, length: number, keyGroup = 0): KeyGroupBlock => ({ keyGroup, file: 0, offset, length, entries: 1, crc: 0, kind: 'full' });

    it('with gaps (blocks nobody refers to any more): accepted', () => {
      const read = decodeMetadata(encode(copied([block(30, 20), block(60, 20, 1)])), 'm');
      expect(read.files).toEqual([{ path: 'shared/f.tsfs', size: 100, shared: false, written: false }]);
    });

    const cases: [string, () => Buffer, RegExp][] = [
      ['a copied file without feature bit 2', () => encode(copied([block(16, 20)]), 0), /copied \(shared: false, written: false\) but the header lacks required feature bit 2/],
      ['feature bit 2 without a copied file', () => encode({ ...copied([block(16, 84)]), files: [{ path: 'shared/f.tsfs', size: 100, shared: false, written: true }] }), /required feature bit 2 is set but no file of the snapshot directory is copied/],
      ['overlapping blocks in a copied file', () => encode(copied([block(16, 20), block(30, 20, 1)])), /blocks of a copied file must not overlap/],
      ['a block past the end of a copied file', () => encode(copied([block(16, 200)])), /blocks end at 216 but the file size is 100/],
      ['a block inside the data file header', () => encode(copied([block(8, 20)])), /starts at 8, expected at least 16/],
    ];
    it.each(cases)('refuses %s', (_name, bytes, message) => {
      expect(() => decodeMetadata(bytes(), 'm')).toThrow(message);
      expect(() => decodeMetadata(bytes(), 'm')).toThrow(FormatError);
    });
  });
});
