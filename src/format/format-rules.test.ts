/**
 * The rules FORMAT.md states for the corners a reader written from it must decide: required
 * metadata keys, section tag classes, data file versions, empty data files, repeated paths, bytes
 * after a frame's arrays, values under TTL, and the JSON view of `inspect`.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { readEverything } from '../../test/support/read-everything.ts';
import { smallSnapshot } from '../../test/support/small-snapshot.ts';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { FormatError } from '../errors.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { crc32 } from './crc32.ts';
import { toJson } from './json-value.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { summarize } from './summary.ts';
import { decodeMetadataV1 } from './v1/decode-metadata.ts';
import { encodeMetadataV1 } from './v1/encode-metadata.ts';
import { type MetadataValue, packMetadata } from './v1/metadata-packer.ts';
import { createValueUnpackr } from './value-codec.ts';
import { verifySnapshot } from './verify-snapshot.ts';
import { writeSnapshot } from './write-snapshot.ts';

const dirs = tempDirForFile();

/**
 * The small snapshot, with a TTL declared on its first keyed state over plain values, in a fresh
 * directory: a version 1 file as another writer (or an early one) may have written it. Today's
 * writer would write a TTL state as version 2 (with timestamps), so `_metadata` is rewritten as
 * version 1 here.
 */
async function small(): Promise<{ dir: string; store: LocalObjectStore; metadata: Buffer }> {
  const dir = dirs.next('s');
  const store = new LocalObjectStore(dir);
  const content = smallSnapshot();
  const [counts, ...rest] = content.operators;
  const [first, ...states] = counts!.keyedStates!;
  const ttl = { ttlMs: 60_000, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' } as const;
  const written = await writeSnapshot(store, { ...content, operators: [{ ...counts!, keyedStates: [{ ...first!, ttl }, ...states] }, ...rest] });
  await writeFile(join(dir, '_metadata'), encodeMetadataV1(written));
  return { dir, store, metadata: await readFile(join(dir, '_metadata')) };
}

interface Section {
  readonly tag: string;
  readonly payload: Buffer;
}

function sectionsOf(metadata: Buffer): Section[] {
  const out: Section[] = [];
  for (let at = 24; at < metadata.length; ) {
    const length = metadata.readUInt32BE(at + 4);
    out.push({ tag: metadata.toString('latin1', at, at + 4), payload: metadata.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

function withSections(metadata: Buffer, sections: readonly Section[]): Buffer {
  return Buffer.concat([
    metadata.subarray(0, 24),
    ...sections.map(({ tag, payload }) => {
      const out = Buffer.alloc(12 + payload.length);
      out.write(tag, 0, 'latin1');
      out.writeUInt32BE(payload.length, 4);
      payload.copy(out, 8);
      out.writeUInt32BE(crc32(out.subarray(0, 8 + payload.length)), 8 + payload.length);
      return out;
    }),
  ]);
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });

/** `metadata` with `edit` applied to the decoded payload of section `tag`. */
function editSection(metadata: Buffer, tag: string, edit: (value: Record<string, unknown> & unknown[]) => void): Buffer {
  return withSections(
    metadata,
    sectionsOf(metadata).map((s) => {
      if (s.tag !== tag) return s;
      const value = unpackr.unpack(s.payload) as Record<string, unknown> & unknown[];
      edit(value);
      return { tag, payload: packMetadata(value as unknown as MetadataValue) };
    }),
  );
}

function decodeError(bytes: Buffer): FormatError {
  try {
    decodeMetadataV1(bytes, '_metadata');
  } catch (err) {
    if (err instanceof FormatError) return err;
    throw err;
  }
  throw new Error('decoded without an error');
}

type Obj = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): Obj => path.reduce<unknown>((v, k) => (v as Obj)[k], value) as Obj;

describe('FORMAT.md 1: required metadata keys', () => {
  // [section, path to the map inside its payload, key, the field as the reader names it]
  const required: [string, (string | number)[], string, string][] = [
    ...['kind', 'type', 'jobId', 'jobName', 'checkpointId', 'createdAt', 'engine', 'stats'].map((k): [string, (string | number)[], string, string] => ['SNAP', [], k, `snapshot.${k}`]),
    ...['bytes', 'entries', 'durations'].map((k): [string, (string | number)[], string, string] => ['SNAP', ['stats'], k, `snapshot.stats.${k}`]),
    ...['path', 'size'].map((k): [string, (string | number)[], string, string] => ['FILE', [0], k, `files[0].${k}`]),
    ...['uid', 'id', 'name', 'parallelism', 'maxParallelism', 'keyedStates', 'operatorStates'].map((k): [string, (string | number)[], string, string] => ['OPER', [0], k, `operators[0].${k}`]),
    ...['name', 'kind', 'schemaVersion', 'entries', 'bytes'].map((k): [string, (string | number)[], string, string] => ['OPER', [0, 'keyedStates', 0], k, `operators[0].keyedStates[0].${k}`]),
    ...['ttlMs', 'update', 'visibility'].map((k): [string, (string | number)[], string, string] => ['OPER', [0, 'keyedStates', 0, 'ttl'], k, `operators[0].keyedStates[0].ttl.${k}`]),
    ...['name', 'kind', 'mode', 'schemaVersion', 'partitions', 'entries', 'bytes'].map((k): [string, (string | number)[], string, string] => ['OPER', [0, 'operatorStates', 0], k, `operators[0].operatorStates[0].${k}`]),
  ];

  it.each(required)('%s %j: without %s the file is corrupt, naming %s', async (tag, path, key, field) => {
    const { metadata } = await small();
    const error = decodeError(editSection(metadata, tag, (v) => delete at(v, ...path)[key]));
    expect(error.kind).toBe('corrupt');
    expect(error.problem).toBe(`section '${tag}': ${field}: missing`);
  });

  it('accepts a keyed state without ttl, as nil', async () => {
    const { metadata } = await small();
    const meta = decodeMetadataV1(editSection(metadata, 'OPER', (v) => delete at(v, 0, 'keyedStates', 0).ttl), '_metadata');
    expect(meta.operators[0]!.keyedStates[0]!.ttl).toBe(null);
  });
});

describe('FORMAT.md 1 and 3.2: what version 1 readers keep accepting', () => {
  it('reads a uint written as a float holding an integer (0.1.0 wrote createdAt as float64)', async () => {
    const { metadata } = await small();
    const float64 = Buffer.from('cb4200000000000000', 'hex'); // 2^33
    const float32 = Buffer.from('ca40e00000', 'hex'); // 7
    const sections = sectionsOf(metadata).map((s) => {
      if (s.tag !== 'SNAP') return s;
      const createdAt = Buffer.from('a9637265617465644174', 'hex'); // "createdAt"
      const checkpointId = Buffer.from('ac636865636b706f696e744964', 'hex'); // "checkpointId"
      const a = s.payload.indexOf(createdAt) + createdAt.length;
      const b = s.payload.indexOf(checkpointId) + checkpointId.length;
      expect(s.payload.subarray(b, b + 1).toString('hex')).toBe('04');
      expect(s.payload[a]).toBe(0xcf);
      const [first, second] = a < b ? [[a, 9, float64], [b, 1, float32]] as const : [[b, 1, float32], [a, 9, float64]] as const;
      return { tag: s.tag, payload: Buffer.concat([s.payload.subarray(0, first[0]), first[2], s.payload.subarray(first[0] + first[1], second[0]), second[2], s.payload.subarray(second[0] + second[1])]) };
    });
    const meta = decodeMetadataV1(withSections(metadata, sections), '_metadata');
    expect([meta.createdAt, meta.checkpointId]).toEqual([2 ** 33, 7]);
  });

  it('ignores a payload in the END section', async () => {
    const { metadata } = await small();
    const sections = sectionsOf(metadata);
    expect(sections.at(-1)).toEqual({ tag: 'END ', payload: Buffer.alloc(0) });
    const bytes = withSections(metadata, [...sections.slice(0, -1), { tag: 'END ', payload: Buffer.from('c0', 'hex') }]);
    expect(decodeMetadataV1(bytes, '_metadata').jobName).toBe('small');
  });
});

describe('FORMAT.md 3.2: section tags are classed by their first byte', () => {
  const insertBeforeEnd = (metadata: Buffer, tag: string): Buffer => {
    const sections = sectionsOf(metadata);
    return withSections(metadata, [...sections.slice(0, -1), { tag, payload: Buffer.from([0xc0]) }, sections.at(-1)!]);
  };

  it.each(['xtra', 'a   ', 'z\u00ff\u0000 '])('skips the unknown ancillary section %j', async (tag) => {
    const { metadata } = await small();
    expect(decodeMetadataV1(insertBeforeEnd(metadata, tag), '_metadata').jobName).toBe('small');
  });

  it.each(['Xtra', '1abc', ' abc', '\u00e1bcd', '\u0000abc', '{abc', '`abc'])('refuses the unknown critical section %j as unsupported', async (tag) => {
    const { metadata } = await small();
    const error = decodeError(insertBeforeEnd(metadata, tag));
    expect(error.kind).toBe('unsupported');
    expect(error.problem).toMatch(/^unknown critical section '.{4}': written by a newer tsflink; upgrade to read it$/);
  });
});

describe('FORMAT.md 3.4 and 4: data files', () => {
  it('refuses a path listed twice', async () => {
    const { metadata } = await small();
    const error = decodeError(editSection(metadata, 'FILE', (files) => files.push({ ...(files[0] as Obj) })));
    expect(error.problem).toMatch(/^section 'FILE': files\[\d+\]\.path: '.+' listed twice$/);
  });

  it('accepts a data file with no blocks: its 16-byte header alone', async () => {
    const { dir, store, metadata } = await small();
    const name = (await readdir(dir)).find((n) => n !== '_metadata')!;
    await writeFile(join(dir, 'empty.tsfs'), (await readFile(join(dir, name))).subarray(0, 16));
    await writeFile(join(dir, '_metadata'), editSection(metadata, 'FILE', (files) => files.push({ path: 'empty.tsfs', size: 16 })));
    expect((await verifySnapshot(store)).problems).toEqual([]);
    expect((await SnapshotReader.open(store)).metadata.files.at(-1)).toEqual({ path: 'empty.tsfs', size: 16 });
  });

  it('finds a data file of another format version than its metadata corrupt', async () => {
    const { dir, store } = await small();
    const name = (await readdir(dir)).find((n) => n !== '_metadata')!;
    const data = await readFile(join(dir, name));
    data.writeUInt16BE(2, 8);
    data.writeUInt32BE(crc32(data.subarray(0, 12)), 12);
    await writeFile(join(dir, name), data);
    const report = await verifySnapshot(store);
    expect(report.problems).toEqual([{ file: store.describe(name), offset: 8, message: 'data file format version 2 does not match its metadata' }]);
    const error = await readEverything(store).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).kind).toBe('corrupt');
  });

  it('finds bytes after the arrays of a frame corrupt, even a whole MessagePack value', async () => {
    // One list element, the string "ab" (a2 61 62): as the string "a" (a1 61) it leaves 62, a
    // fixint, after the frame's array.
    const dir = dirs.next('s');
    const store = new LocalObjectStore(dir);
    await writeSnapshot(store, {
      info: { kind: 'savepoint', jobId: '00112233445566778899aabbccddeeff', jobName: 'trailing', checkpointId: 1 },
      operators: [{ uid: 'op', parallelism: 1, maxParallelism: 8, operatorStates: [{ name: 'l', kind: 'list', mode: 'split', partitions: [['ab']] }] }],
    });
    const name = (await readdir(dir)).find((n) => n !== '_metadata')!;
    const data = await readFile(join(dir, name));
    expect(data.subarray(28).toString('hex')).toBe('91a26162');
    data[29] = 0xa1;
    data.writeUInt32BE(crc32(data.subarray(28), crc32(data.subarray(16, 24))), 24);
    await writeFile(join(dir, name), data);
    const metadata = await readFile(join(dir, '_metadata'));
    const meta = decodeMetadataV1(metadata, '_metadata');
    const op = meta.operators[0]!;
    const state = op.operatorStates[0]!;
    const partitions = [{ ...state.partitions[0]!, crc: crc32(data.subarray(16)) }];
    await writeFile(join(dir, '_metadata'), encodeMetadataV1({ ...meta, operators: [{ ...op, operatorStates: [{ ...state, partitions }] }] }));

    expect((await verifySnapshot(store)).problems).toEqual([{ file: store.describe(name), offset: 31, message: "1 bytes after the frame's arrays (op/l subtask 0)" }]);
    await expect(readEverything(store)).rejects.toThrow(`${store.describe(name)} at offset 16: frame should hold 1 array(s) of 1 items`);
  });
});

describe('FORMAT.md 5.2: pairs of map and timers values', () => {
  it('writes map user keys and timer timestamps of 2^32 and more as ints, not float64', async () => {
    const end = Date.UTC(2026, 11, 2, 18);
    const dir = dirs.next('s');
    const store = new LocalObjectStore(dir);
    await writeSnapshot(store, {
      info: { kind: 'savepoint', jobId: '00112233445566778899aabbccddeeff', jobName: 'pairs', checkpointId: 1 },
      operators: [
        {
          uid: 'op',
          parallelism: 1,
          maxParallelism: 1,
          keyedStates: [
            { name: 'timers', kind: 'timers', entries: [['k', [[0, end], [1, 2 ** 40]]]] },
            { name: 'windows', kind: 'map', entries: [['k', [[end, { n: 1 }], [-(2 ** 40), 'negative'], ['s', 1.5]]]] },
          ],
        },
      ],
    });
    const name = (await readdir(dir)).find((n) => n !== '_metadata')!;
    const data = await readFile(join(dir, name));
    const endHex = Buffer.from(BigInt(end).toString(16).padStart(16, '0'), 'hex').toString('hex');
    const timers = `91 92 92 00 cf${endHex} 92 01 cf0000010000000000`.replace(/ /g, '');
    const windows = `91 93 92 cf${endHex} 81a16e01 92 d3ffffff0000000000 a86e65676174697665 92 a173 cb3ff8000000000000`.replace(/ /g, '');
    expect(data.toString('hex')).toContain(timers);
    expect(data.toString('hex')).toContain(windows);
    expect((await verifySnapshot(store)).problems).toEqual([]);
    const reader = await SnapshotReader.open(store);
    for await (const batch of reader.readKeyed('op', 'timers')) expect(batch.values).toEqual([[[0, end], [1, 2 ** 40]]]);
  });
});

describe('FORMAT.md 5.2: verify checks map user keys', () => {
  it('reports a user key that appears twice in one value', async () => {
    const dir = dirs.next('s');
    const store = new LocalObjectStore(dir);
    await writeSnapshot(store, {
      info: { kind: 'savepoint', jobId: '00112233445566778899aabbccddeeff', jobName: 'twice', checkpointId: 1 },
      operators: [{ uid: 'op', parallelism: 1, maxParallelism: 1, keyedStates: [{ name: 'm', kind: 'map', entries: [['k', [['a', 1], ['b', 2]]]] }] }],
    });
    const name = (await readdir(dir)).find((n) => n !== '_metadata')!;
    const data = await readFile(join(dir, name));
    const at = data.indexOf(Buffer.from('92a16202', 'hex'));
    data[at + 2] = 0x61; // the second key 'b' becomes 'a'
    data.writeUInt32BE(crc32(data.subarray(28), crc32(data.subarray(16, 24))), 24);
    await writeFile(join(dir, name), data);
    const meta = decodeMetadataV1(await readFile(join(dir, '_metadata')), '_metadata');
    const op = meta.operators[0]!;
    const state = op.keyedStates[0]!;
    const blocks = [{ ...state.blocks[0]!, crc: crc32(data.subarray(16)) }];
    await writeFile(join(dir, '_metadata'), encodeMetadataV1({ ...meta, operators: [{ ...op, keyedStates: [{ ...state, blocks }] }] }));
    expect((await verifySnapshot(store)).problems).toEqual([{ file: store.describe(name), offset: at + 1, message: 'map state user key appears twice in one value (op/m key group 0)' }]);
  });
});

describe('FORMAT.md 3.5: values under TTL in version 1', () => {
  it('are laid out as without TTL: no timestamp with the value', async () => {
    const { store } = await small();
    const reader = await SnapshotReader.open(store);
    expect(reader.metadata.formatVersion).toBe(1);
    expect(reader.keyedState('counts', 'count').ttlLayout).toBeUndefined();
    expect(reader.keyedState('counts', 'count').ttl).toEqual({ ttlMs: 60_000, update: 'OnCreateAndWrite', visibility: 'NeverReturnExpired' });
    const values: unknown[] = [];
    for await (const batch of reader.readKeyed('counts', 'count')) values.push(...batch.values);
    expect(values.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('FORMAT.md 7: the JSON view of inspect', () => {
  it('takes entries from SNAP.stats, totalBytes from _metadata and FILE sizes, and shows nil partitions as 0', async () => {
    const { dir, store, metadata } = await small();
    await writeFile(join(dir, '_metadata'), editSection(metadata, 'SNAP', (snap) => (at(snap, 'stats').entries = 999)));
    const reader = await SnapshotReader.open(store);
    const summary = summarize(reader);
    expect(summary.entries).toBe(999);
    expect(summary.operators.reduce((n, op) => n + op.entries, 0)).toBe(12);
    expect(summary.totalBytes).toBe(reader.metadataSize + reader.metadata.files.reduce((n, f) => n + f.size, 0));
    expect(summary.operators.map((op) => op.states.map((s) => [s.scope, s.name, s.partitions ?? s.keyGroups]))).toEqual([
      [['keyed', 'count', 5], ['keyed', 'items', 2], ['operator', 'offsets', [1, 2]]],
      [['operator', 'rules', [1]]],
    ]);
  });

  it('prints string-keyed maps with index-like keys first, then the others in file order', () => {
    // {"b": 1, "2": 2, "a": 3}
    const value = createValueUnpackr().unpackMultiple(Buffer.from('83a16201a13202a16103', 'hex'))[0];
    expect(JSON.stringify(toJson(value))).toBe('{"2":2,"b":1,"a":3}');
  });
});
