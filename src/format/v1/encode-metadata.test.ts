import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE_FORMAT_VERSION } from '../layout.ts';
import type { SnapshotMetadata } from '../model.ts';
import { decodeMetadataV1 } from './decode-metadata.ts';
import { encodeMetadataV1 } from './encode-metadata.ts';

/** A number in a MessagePack value: where it is and the first byte of its encoding. */
interface NumberAt {
  readonly path: string;
  readonly first: number;
}

/** Walks standard MessagePack (the subset metadata uses) and lists every number with its path. */
function numbersIn(bytes: Uint8Array): NumberAt[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: NumberAt[] = [];
  let pos = 0;
  /** Reads a big-endian length of `width` bytes. */
  const length = (width: 1 | 2 | 4): number => {
    pos += width;
    return width === 1 ? view.getUint8(pos - 1) : width === 2 ? view.getUint16(pos - 2) : view.getUint32(pos - 4);
  };
  const value = (path: string): unknown => {
    const b = bytes[pos++]!;
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xca && b <= 0xd3)) {
      found.push({ path, first: b });
      pos += b >= 0xca && b <= 0xd3 ? [4, 8, 1, 2, 4, 8, 1, 2, 4, 8][b - 0xca]! : 0;
      return undefined;
    }
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    if (b === 0xd9 || b === 0xda || b === 0xdb) return str(length(b === 0xd9 ? 1 : b === 0xda ? 2 : 4));
    if (b === 0xc0 || b === 0xc2 || b === 0xc3) return undefined;
    if (b === 0xc4) return void (pos += 1 + view.getUint8(pos));
    if ((b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd) {
      const n = b <= 0x9f ? b & 0x0f : length(b === 0xdc ? 2 : 4);
      for (let i = 0; i < n; i++) value(`${path}[]`);
      return undefined;
    }
    if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) {
      const n = b <= 0x8f ? b & 0x0f : length(b === 0xde ? 2 : 4);
      for (let i = 0; i < n; i++) {
        const key = value(path) as string;
        value(`${path}.${key}`);
      }
      return undefined;
    }
    throw new Error(`unexpected byte 0x${b.toString(16)} at ${pos - 1}`);
  };
  const str = (n: number): string => {
    pos += n;
    return Buffer.from(bytes.subarray(pos - n, pos)).toString('utf8');
  };
  while (pos < bytes.length) value('');
  return found;
}

/** The numbers of each section payload of an encoded `_metadata`. */
function metadataNumbers(file: Uint8Array): NumberAt[] {
  const view = Buffer.from(file);
  const out: NumberAt[] = [];
  for (let offset = 24; offset < view.length; ) {
    const tag = view.toString('latin1', offset, offset + 4);
    const length = view.readUInt32BE(offset + 4);
    for (const n of numbersIn(view.subarray(offset + 8, offset + 8 + length))) out.push({ path: `${tag}${n.path}`, first: n.first });
    offset += 12 + length;
  }
  return out;
}

const isInt = (first: number): boolean => first <= 0x7f || first >= 0xe0 || (first >= 0xcc && first <= 0xd3);

const uint = fc.oneof(fc.nat(), fc.integer({ min: 2 ** 32 - 2, max: 2 ** 32 + 2 }), fc.maxSafeNat());
const block = fc.record({ file: uint, offset: uint, length: uint, entries: uint, crc: fc.nat({ max: 0xffffffff }) });
const metadataArb: fc.Arbitrary<Omit<SnapshotMetadata, 'formatVersion'>> = fc.record({
  kind: fc.constantFrom('savepoint' as const, 'checkpoint' as const),
  type: fc.constantFrom('canonical' as const, 'native' as const),
  jobId: fc.constant('00112233445566778899aabbccddeeff'),
  jobName: fc.string(),
  checkpointId: uint,
  createdAt: uint,
  engine: fc.constant('tsflink test'),
  stats: fc.record({ bytes: uint, entries: uint, durations: fc.dictionary(fc.string({ minLength: 1 }), fc.double({ min: 0, max: 1e9, noNaN: true })) }),
  files: fc.array(fc.record({ path: fc.constant('a.tsfs'), size: uint }), { maxLength: 3 }),
  operators: fc.array(
    fc.record({
      uid: fc.string(),
      id: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      name: fc.string(),
      parallelism: uint,
      maxParallelism: uint,
      keyedStates: fc.array(
        fc.record({
          name: fc.string(),
          kind: fc.constant('value' as const),
          schemaVersion: uint,
          ttl: fc.option(fc.record({ ttlMs: uint, update: fc.constant('OnCreateAndWrite' as const), visibility: fc.constant('NeverReturnExpired' as const) })),
          entries: uint,
          bytes: uint,
          blocks: fc.array(fc.record({ keyGroup: uint, file: uint, offset: uint, length: uint, entries: uint, crc: fc.nat({ max: 0xffffffff }) }), { maxLength: 3 }),
        }),
        { maxLength: 2 },
      ),
      operatorStates: fc.array(
        fc.record({
          name: fc.string(),
          kind: fc.constant('list' as const),
          mode: fc.constant('split' as const),
          schemaVersion: uint,
          partitions: fc.array(fc.option(block), { maxLength: 3 }),
          entries: uint,
          bytes: uint,
        }),
        { maxLength: 2 },
      ),
    }),
    { maxLength: 2 },
  ),
});

describe('_metadata writer', () => {
  it('writes every uint field as a MessagePack integer, also at 2^32 and beyond', () => {
    fc.assert(
      fc.property(metadataArb, (meta) => {
        const numbers = metadataNumbers(encodeMetadataV1(meta));
        // Every number of version 1 metadata is a uint, except the informational phase durations.
        const notInt = numbers.filter((n) => !n.path.startsWith('SNAP.stats.durations.') && !isInt(n.first));
        expect(notInt).toEqual([]);
      }),
    );
  });

  it('writes createdAt of a current date as uint64 (cf), which the reader reads back', () => {
    const createdAt = Date.UTC(2026, 11, 2, 17, 40); // above 2^32: msgpackr would write a float64
    const meta = { kind: 'savepoint', type: 'canonical', jobId: '00112233445566778899aabbccddeeff', jobName: 'j', checkpointId: 2 ** 33, createdAt, engine: 'e', stats: { bytes: 0, entries: 0, durations: { total: 1.5 } }, files: [], operators: [] } as const;
    const bytes = encodeMetadataV1(meta);
    expect(metadataNumbers(bytes).map((n) => [n.path, n.first.toString(16)])).toEqual([
      ['SNAP.checkpointId', 'cf'],
      ['SNAP.createdAt', 'cf'],
      ['SNAP.stats.bytes', '0'],
      ['SNAP.stats.entries', '0'],
      ['SNAP.stats.durations.total', 'cb'],
    ]);
    expect(decodeMetadataV1(bytes, '_metadata')).toEqual({ formatVersion: BASE_FORMAT_VERSION, ...meta, stats: { ...meta.stats } });
  });

  it('leaves the float64 createdAt of files already written readable (fixtures of version 1)', () => {
    const bytes = readFileSync(new URL('../../../fixtures/savepoints/v1/all-kinds/_metadata', import.meta.url));
    expect(metadataNumbers(bytes).find((n) => n.path === 'SNAP.createdAt')?.first.toString(16)).toBe('cb');
    expect(decodeMetadataV1(bytes, '_metadata').createdAt).toBe(Date.UTC(2026, 10, 21, 12));
  });
});
