/**
 * Format version 2 (FORMAT.md, Version history): written only for a snapshot with a keyed state
 * under TTL, whose values are then [value, lastAccess] pairs; the same bytes as version 1 apart
 * from the header's version; `stateBackend` recorded per operator; verify checks the TTL layout.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smallSnapshot } from '../../../test/support/small-snapshot.ts';
import { tempDirForFile } from '../../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { diffSnapshots } from '../diff-snapshots.ts';
import { decodeMetadata } from '../metadata-readers.ts';
import { SnapshotReader } from '../snapshot-reader.ts';
import { readableTtlValue } from '../ttl-layout.ts';
import { encodeMetadataV1 } from '../v1/encode-metadata.ts';
import { verifySnapshot } from '../verify-snapshot.ts';
import { type SnapshotContent, writeSnapshot } from '../write-snapshot.ts';
import { encodeMetadataV2 } from './encode-metadata.ts';

const dirs = tempDirForFile();
const TTL = { ttlMs: 60_000, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } as const;
const AT = 1_795_262_400_000n;

function withTtl(values: 'pairs' | 'plain', stateBackend?: string): SnapshotContent {
  const content = smallSnapshot();
  const [counts, ...rest] = content.operators;
  const [first, second] = counts!.keyedStates!;
  const entries = ['a', 'b', 'c'].map((k, i) => [k, values === 'pairs' ? [i, AT] : i] as const);
  return { ...content, operators: [{ ...counts!, ...(stateBackend === undefined ? {} : { stateBackend }), keyedStates: [{ ...first!, ttl: TTL, entries }, second!] }, ...rest] };
}

async function write(content: SnapshotContent): Promise<{ store: LocalObjectStore; metadata: Buffer }> {
  const dir = dirs.next('v2');
  const store = new LocalObjectStore(dir);
  await writeSnapshot(store, content);
  return { store, metadata: await readFile(join(dir, '_metadata')) };
}

describe('format version 2', () => {
  it('is written only for state under TTL; without it the snapshot stays version 1', async () => {
    const plain = await write(smallSnapshot());
    expect(plain.metadata.readUInt16BE(8)).toBe(1);
    const ttl = await write(withTtl('pairs'));
    expect(ttl.metadata.readUInt16BE(8)).toBe(2);
    const meta = decodeMetadata(ttl.metadata, '_metadata');
    expect(meta.formatVersion).toBe(2);
    expect(meta.operators[0]!.keyedStates.map((s) => [s.name, s.ttlLayout ?? false])).toEqual([
      ['count', true],
      ['items', false],
    ]);
    // The same bytes as version 1 but for the version field (and so the header CRC).
    const v1 = encodeMetadataV1(meta);
    const v2 = encodeMetadataV2(meta);
    expect(v2.equals(ttl.metadata)).toBe(true);
    expect(v1.subarray(24).equals(v2.subarray(24))).toBe(true);
    expect(v1.subarray(0, 8).equals(v2.subarray(0, 8))).toBe(true);
    expect(decodeMetadata(v1, '_metadata').operators[0]!.keyedStates[0]!.ttlLayout).toBeUndefined();
  });

  it('keeps data files at header version 1 under either metadata version', async () => {
    const { store } = await write(withTtl('pairs'));
    const reader = decodeMetadata(await readFile(join(store.location.replace(/^file:/, ''), '_metadata')), '_metadata');
    for (const f of reader.files) expect(Buffer.from(await store.getRange(f.path, 8, 2)).readUInt16BE(0)).toBe(1);
    expect((await verifySnapshot(store)).valid).toBe(true);
  });

  it('records the state backend: always in version 2, in version 1 only when not hashmap', async () => {
    const v2 = decodeMetadata((await write(withTtl('pairs', 'hashmap'))).metadata, '_metadata');
    expect(v2.operators[0]!.stateBackend).toBe('hashmap');
    const content = smallSnapshot();
    const hashmapV1 = await write({ ...content, operators: content.operators.map((op) => ({ ...op, stateBackend: 'hashmap' })) });
    const meta = decodeMetadata(hashmapV1.metadata, '_metadata');
    expect(meta.operators[0]!.stateBackend).toBeUndefined();
    // Byte for byte as before the key existed.
    expect(encodeMetadataV1({ ...meta, operators: meta.operators.map((op) => ({ ...op, stateBackend: 'hashmap' })) }).equals(hashmapV1.metadata)).toBe(true);
    const rocks = await write({ ...content, operators: content.operators.map((op) => ({ ...op, stateBackend: 'rocksdb' })) });
    expect(rocks.metadata.readUInt16BE(8)).toBe(1);
    expect(decodeMetadata(rocks.metadata, '_metadata').operators[0]!.stateBackend).toBe('rocksdb');
  });

  it('diff compares the backend where both snapshots record one', async () => {
    const content = smallSnapshot();
    const on = async (stateBackend: string | undefined): Promise<SnapshotReader> =>
      SnapshotReader.open((await write({ ...content, operators: content.operators.map((op) => (stateBackend === undefined ? op : { ...op, stateBackend })) })).store);
    const [rocks, lmdb, unknown] = await Promise.all([on('rocksdb'), on('lmdb'), on(undefined)]);
    const changed = await diffSnapshots(rocks, lmdb);
    expect(changed.operators[0]!.changes).toEqual([{ field: 'stateBackend', a: 'rocksdb', b: 'lmdb' }]);
    expect((await diffSnapshots(rocks, unknown)).operators).toEqual([]);
  });

  it('verify reports a state under TTL whose values are not [value, lastAccess] pairs', async () => {
    const { store } = await write(withTtl('plain'));
    const report = await verifySnapshot(store);
    expect(report.valid).toBe(false);
    expect(report.problems[0]!.message).toMatch(/a value state value under TTL must be \[value, lastAccess\] with lastAccess a uint \(counts\/count key group \d+\)/);
  });

  it('shows TTL values readably for inspect', () => {
    expect(readableTtlValue('value', [{ a: 1 }, 1_795_262_400_000])).toEqual({ value: { a: 1 }, lastAccess: '2026-11-21T12:00:00.000Z' });
    expect(readableTtlValue('list', [[1, 0]])).toEqual([{ value: 1, lastAccess: '1970-01-01T00:00:00.000Z' }]);
    expect(readableTtlValue('map', [['k', [true, 1000]]])).toEqual([['k', { value: true, lastAccess: '1970-01-01T00:00:01.000Z' }]]);
    expect(readableTtlValue('value', 5)).toBe(5); // off the layout: as it is (verify reports it)
  });
});
