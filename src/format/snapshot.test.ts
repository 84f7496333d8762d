import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import { keyGroupFor } from './key-groups.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { DataFileWriter } from './data-file-writer.ts';
import { writeSnapshot } from './write-snapshot.ts';
import { SnapshotWriter } from './snapshot-writer.ts';

const dirs = tempDirForFile();
const freshStore = (): LocalObjectStore => new LocalObjectStore(dirs.next('s'));
const JOB = '00112233445566778899aabbccddeeff';
const keyId = (k: unknown): string => Buffer.from(encodeCanonicalKey(k)).toString('hex');

async function readAll(reader: SnapshotReader, uid: string, name: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for await (const batch of reader.readKeyed(uid, name)) {
    batch.keys.forEach((k, i) => {
      expect(keyGroupFor(k, reader.operator(uid).maxParallelism)).toBe(batch.keyGroup);
      out.set(keyId(k), batch.values[i]);
    });
  }
  return out;
}

const keyArb = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.uint8Array({ maxLength: 8 }), fc.tuple(fc.string({ maxLength: 4 }), fc.nat()));
const valueArb = fc.oneof(
  fc.constant(null),
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.record({ count: fc.nat(), sum: fc.double({ noNaN: true, noDefaultInfinity: true }), tags: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }) }),
  fc.array(fc.integer(), { maxLength: 5 }),
);

describe('snapshot round trip', () => {
  it('reads back exactly what was written, for any keys, values and parallelism', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => keyId(k), maxLength: 200 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(1, 4, 128, 32768),
        async (entries, parallelism, maxP) => {
          const maxParallelism = Math.max(maxP, parallelism);
          const store = freshStore();
          await writeSnapshot(store, {
            info: { kind: 'savepoint', jobId: JOB, jobName: 'prop', checkpointId: 1 },
            operators: [{ uid: 'op', parallelism, maxParallelism, keyedStates: [{ name: 's', kind: 'value', entries }] }],
          });
          const reader = await SnapshotReader.open(store);
          const back = await readAll(reader, 'op', 's');
          expect(back.size).toBe(entries.length);
          for (const [k, v] of entries) expect(back.get(keyId(k))).toEqual(v === undefined ? null : v);
          expect(reader.metadata.operators[0]!.keyedStates[0]!.entries).toBe(entries.length);
        },
      ),
      { numRuns: 40, seed: 42 },
    );
  });

  it('streams a state larger than one frame and one read chunk, and finds single keys', async () => {
    const store = freshStore();
    const big = 'x'.repeat(2000);
    const entries = Array.from({ length: 5000 }, (_, i) => [`key-${i}`, { i, big }] as const);
    await writeSnapshot(store, {
      info: { kind: 'checkpoint', jobId: JOB, jobName: 'big', checkpointId: 9 },
      operators: [{ uid: 'op', parallelism: 1, maxParallelism: 4, keyedStates: [{ name: 's', kind: 'value', entries }] }],
    });
    const reader = await SnapshotReader.open(store);
    let frames = 0;
    for await (const batch of reader.readKeyed('op', 's')) frames += batch.keys.length > 0 ? 1 : 0;
    expect(frames).toBeGreaterThan(4 * 2); // several frames in each of the 4 key groups
    expect((await readAll(reader, 'op', 's')).size).toBe(5000);
    expect(await reader.lookup('op', 's', 'key-4321')).toEqual({ keyGroup: keyGroupFor('key-4321', 4), value: { i: 4321, big } });
    expect(await reader.lookup('op', 's', 'absent')).toBeUndefined();
  });

  it('reads only _metadata to open, and one block (plus a header) to look up a key', async () => {
    const inner = freshStore();
    await writeSnapshot(inner, {
      info: { kind: 'savepoint', jobId: JOB, jobName: 'lookup', checkpointId: 1 },
      operators: [{ uid: 'op', parallelism: 1, maxParallelism: 128, keyedStates: [{ name: 's', kind: 'value', entries: Array.from({ length: 2000 }, (_, i) => [`k${i}`, i] as const) }] }],
    });
    const reads: string[] = [];
    const counting: ObjectStore = {
      location: inner.location,
      describe: (k) => inner.describe(k),
      stat: (k) => inner.stat(k),
      get: (k) => (reads.push(`get ${k}`), inner.get(k)),
      getRange: (k, o, l) => (reads.push(`range ${o}+${l}`), inner.getRange(k, o, l)),
      createWriter: (k) => inner.createWriter(k),
      publish: (k, b) => inner.publish(k, b),
      list: (p) => inner.list(p),
      delete: (k) => inner.delete(k),
    };
    const reader = await SnapshotReader.open(counting);
    expect(reads).toEqual(['get _metadata']);
    const group = keyGroupFor('k777', 128);
    const block = reader.keyedState('op', 's').blocks.find((b) => b.keyGroup === group)!;
    expect(await reader.lookup('op', 's', 'k777')).toEqual({ keyGroup: group, value: 777 });
    expect(reads).toEqual(['get _metadata', 'range 0+16', `range ${block.offset}+${block.length}`]);
  });

  it('keeps operator state partitions per subtask, with their modes', async () => {
    const store = freshStore();
    await writeSnapshot(store, {
      info: { kind: 'savepoint', jobId: JOB, jobName: 'ops', checkpointId: 2 },
      operators: [
        {
          uid: 'src',
          parallelism: 3,
          maxParallelism: 128,
          operatorStates: [
            { name: 'offsets', kind: 'list', mode: 'split', partitions: [[1, 2], [], [3]] },
            { name: 'rules', kind: 'broadcast', mode: 'broadcast', partitions: [[['a', 1]], [['a', 1]], [['a', 1]]] },
          ],
        },
      ],
    });
    const reader = await SnapshotReader.open(store);
    const offsets = [];
    for await (const b of reader.readOperatorState('src', 'offsets')) offsets.push([b.subtask, b.values]);
    expect(offsets).toEqual([[0, [1, 2]], [2, [3]]]);
    const meta = reader.metadata.operators[0]!.operatorStates;
    expect(meta.map((s) => [s.name, s.mode, s.partitions.map((p) => p?.entries ?? 0)])).toEqual([
      ['offsets', 'split', [2, 0, 1]],
      ['rules', 'broadcast', [1, 1, 1]],
    ]);
    const rules = [];
    for await (const b of reader.readOperatorState('src', 'rules')) rules.push([b.subtask, b.keys, b.values]);
    expect(rules).toEqual([[0, ['a'], [1]], [1, ['a'], [1]], [2, ['a'], [1]]]);
  });

  it('refuses values that are not standard MessagePack, naming the state', async () => {
    const store = freshStore();
    const file = await DataFileWriter.create(store, 'f.tsfs');
    await expect(file.writeKeyGroup('op/s', 'value', keyGroupFor('k', 128), 128, [['k', new Set([1])]])).rejects.toThrow(/op\/s: cannot store a state value that is a Set/);
    await file.abort();
  });

  it('refuses a key filed under the wrong key group', async () => {
    const store = freshStore();
    const file = await DataFileWriter.create(store, 'f.tsfs');
    const wrong = (keyGroupFor('k', 128) + 1) % 128;
    await expect(file.writeKeyGroup('op/s', 'value', wrong, 128, [['k', 1]])).rejects.toThrow(/filed under key group/);
    await file.abort();
  });

  it('writes keys given as canonical bytes exactly as it writes the keys themselves', async () => {
    const latin1 = (k: unknown): string => Buffer.from(encodeCanonicalKey(k)).toString('latin1');
    const long = 'x'.repeat(100); // past the short-key loop
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.oneof(keyArb, fc.constant(long)), valueArb), { maxLength: 40 }), async (pairs) => {
        const group = 5;
        const entries = [...new Map(pairs.filter(([k]) => keyGroupFor(k, 8) === group).map(([k, v]) => [keyId(k), [k, v] as const])).values()];
        const store = freshStore();
        const a = await DataFileWriter.create(store, 'a.tsfs');
        const b = await DataFileWriter.create(store, 'b.tsfs');
        const blockA = await a.writeKeyGroup('op/s', 'value', group, 8, entries);
        const blockB = await b.writeCanonicalKeyGroup('op/s', 'value', group, 8, entries.map(([k]) => latin1(k)), entries.map(([, v]) => v));
        expect(blockB === null ? null : { ...blockB, path: 'a.tsfs' }).toEqual(blockA);
        await a.close();
        await b.close();
        expect(Buffer.from(await store.get('b.tsfs')).equals(Buffer.from(await store.get('a.tsfs')))).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses a canonical key filed under the wrong key group', async () => {
    const store = freshStore();
    const file = await DataFileWriter.create(store, 'f.tsfs');
    const wrong = (keyGroupFor('k', 128) + 1) % 128;
    const key = Buffer.from(encodeCanonicalKey('k')).toString('latin1');
    await expect(file.writeCanonicalKeyGroup('op/s', 'value', wrong, 128, [key], [1])).rejects.toThrow(/filed under key group/);
    await file.abort();
  });

  it('publishes nothing before finish: an unfinished snapshot is not a snapshot', async () => {
    const store = freshStore();
    const writer = new SnapshotWriter(store, { kind: 'savepoint', jobId: JOB, jobName: 'x', checkpointId: 1 });
    writer.addOperator({ uid: 'op', parallelism: 1, maxParallelism: 128 });
    const file = await writer.openDataFile('op', 0);
    await file.writeListPartition('op/l', [1, 2, 3]);
    await writer.closeDataFile(file);
    await expect(SnapshotReader.open(store)).rejects.toThrow(/not a snapshot \(no _metadata/);
    await writer.abort();
    const left = [];
    for await (const o of store.list('')) left.push(o.key);
    expect(left).toEqual([]);
  });
});
