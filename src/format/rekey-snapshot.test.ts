import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { FormatError, UserError } from '../errors.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import { keyGroupFor } from './key-groups.ts';
import { rekeySnapshot } from './rekey-snapshot.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { SnapshotWriter } from './snapshot-writer.ts';
import { verifySnapshot } from './verify-snapshot.ts';
import { type SnapshotContent, writeSnapshot } from './write-snapshot.ts';

const dirs = tempDirForFile('tsflink-rekey-');
const JOB = '00112233445566778899aabbccddeeff';

const key = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.uint8Array({ maxLength: 4 }),
  fc.tuple(fc.string({ maxLength: 3 }), fc.nat()),
  fc.record({ b: fc.nat(), a: fc.string({ maxLength: 3 }) }),
);
const canonical = (k: unknown): string => Buffer.from(encodeCanonicalKey(k)).toString('hex');

/** Every entry of every state, keyed by operator, state and canonical key (or element index). */
async function contents(store: ObjectStore): Promise<Map<string, unknown>> {
  const reader = await SnapshotReader.open(store);
  const out = new Map<string, unknown>();
  for (const op of reader.metadata.operators) {
    for (const s of op.keyedStates) {
      for await (const batch of reader.readKeyed(op.uid, s.name)) {
        batch.keys.forEach((k, i) => {
          expect(batch.keyGroup).toBe(keyGroupFor(k, op.maxParallelism));
          out.set(`${op.uid}/${s.name}/${canonical(k)}`, batch.values[i]);
        });
      }
    }
    for (const s of op.operatorStates) {
      let i = 0;
      for await (const batch of reader.readOperatorState(op.uid, s.name)) {
        batch.values.forEach((v, j) => out.set(`${op.uid}/${s.name}/${batch.subtask}/${i++}`, batch.keys === undefined ? v : [batch.keys[j], v]));
      }
    }
  }
  return out;
}

async function rekey(source: ObjectStore, maxParallelism: number, memoryBytes = 1 << 20): Promise<{ target: LocalObjectStore; result: Awaited<ReturnType<typeof rekeySnapshot>> }> {
  const target = new LocalObjectStore(dirs.next('target'));
  const result = await rekeySnapshot(await SnapshotReader.open(source), target, { maxParallelism, memoryBytes, spill: new LocalObjectStore(dirs.next('spill')) });
  return { target, result };
}

function content(entries: readonly (readonly [unknown, unknown])[], maxParallelism: number, parallelism: number): SnapshotContent {
  return {
    info: { kind: 'checkpoint', jobId: JOB, jobName: 'rekey', checkpointId: 3, createdAt: Date.UTC(2026, 0, 1) },
    operators: [
      {
        uid: 'op',
        parallelism,
        maxParallelism,
        keyedStates: [
          { name: 'v', kind: 'value', entries },
          { name: 't', kind: 'timers', entries: entries.map(([k], i) => [k, [[0, 1_795_262_400_000 + i], [1, i]]] as const) },
          { name: 'm', kind: 'map', entries: entries.map(([k], i) => [k, [[i * 2 ** 33, 'x'], ['y', i]]] as const) },
        ],
        operatorStates: [{ name: 'offsets', kind: 'list', mode: 'split', partitions: Array.from({ length: parallelism }, (_, i) => [i, `s${i}`]) }],
      },
    ],
  };
}

describe('rekeySnapshot', () => {
  it('keeps every key and value, each in its key group of the new max parallelism', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(key, fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.double()))), { selector: ([k]) => canonical(k), maxLength: 60 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 4 }),
        async (entries, oldMax, newMax, p) => {
          const parallelism = Math.min(p, oldMax, newMax);
          const source = new LocalObjectStore(dirs.next('source'));
          await writeSnapshot(source, content(entries, oldMax, parallelism));
          const { target, result } = await rekey(source, newMax);
          expect(result.verify.valid).toBe(true);
          expect(result.keyedEntries).toBe(entries.length * 3);
          const meta = (await SnapshotReader.open(target)).metadata;
          expect(meta.kind).toBe('savepoint');
          expect(meta.type).toBe('canonical');
          expect(meta.operators.map((o) => [o.uid, o.parallelism, o.maxParallelism])).toEqual([['op', parallelism, newMax]]);
          expect(await contents(target)).toEqual(await contents(source));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('holds no more than its memory budget, spilling a state larger than it, also with uneven runs', async () => {
    const entries = Array.from({ length: 30_000 }, (_, i) => [`user-${i}`, { count: i, note: 'x'.repeat(i % 40) }] as const);
    const source = new LocalObjectStore(dirs.next('large'));
    await writeSnapshot(source, { info: { kind: 'savepoint', jobId: JOB, jobName: 'large', checkpointId: 1 }, operators: [{ uid: 'op', parallelism: 2, maxParallelism: 128, keyedStates: [{ name: 'v', kind: 'value', entries }] }] });
    const stateBytes = (await SnapshotReader.open(source)).metadata.operators[0]!.keyedStates[0]!.bytes;
    const budget = 64 * 1024;
    expect(stateBytes).toBeGreaterThan(20 * budget);
    const expected = await contents(source);
    // 256 groups: more runs than the budget's buffers allow, so runs are split again; 2: each
    // run is one key group larger than the budget, streamed from its file.
    for (const maxParallelism of [256, 2]) {
      const { target, result } = await rekey(source, maxParallelism, budget);
      expect(result.stats.spilledBytes).toBeGreaterThan(stateBytes);
      // 8 runs at first (the most whose buffers fit in half the budget), split again for 256.
      if (maxParallelism === 256) expect(result.stats.spillRuns).toBeGreaterThan(8);
      else expect(result.stats.spillRuns).toBe(2);
      expect(result.stats.peakBufferedBytes).toBeGreaterThan(0);
      expect(result.stats.peakBufferedBytes).toBeLessThanOrEqual(budget);
      expect(await contents(target)).toEqual(expected);
    }
    const inMemory = await rekey(source, 256, 64 * 1024 * 1024);
    expect(inMemory.result.stats.spilledBytes).toBe(0);
    expect(await contents(inMemory.target)).toEqual(expected);
  });

  it('refuses a target that holds anything, and a max parallelism below an operator parallelism', async () => {
    const source = new LocalObjectStore(dirs.next('small'));
    await writeSnapshot(source, content([['a', 1]], 128, 4));
    const { target } = await rekey(source, 64);
    await expect(rekeySnapshot(await SnapshotReader.open(source), target, { maxParallelism: 64, memoryBytes: 1 << 20, spill: new LocalObjectStore(dirs.next('spill')) })).rejects.toThrow(
      /: already exists; rekey never overwrites: give a new target directory$/,
    );
    await expect(rekey(source, 3)).rejects.toThrow(new UserError("operator 'op' was written at parallelism 4, more than max parallelism 3 allows; give --max-parallelism 4 or more"));
    await expect(rekey(source, 0)).rejects.toThrow(/--max-parallelism must be an integer from 1 to 32768, got 0/);
  });

  it('publishes nothing when the result does not verify', async () => {
    // A key in a non-canonical form (int8 for 5): readable, but `flink verify` reports it.
    const source = new LocalObjectStore(dirs.next('odd'));
    const writer = new SnapshotWriter(source, { kind: 'savepoint', jobId: JOB, jobName: 'odd', checkpointId: 1 });
    writer.addOperator({ uid: 'op', parallelism: 1, maxParallelism: 8 });
    const file = await writer.openDataFile('op', 0);
    const key = Uint8Array.of(0xd0, 0x05);
    const { keyGroupForBytes } = await import('./key-groups.ts');
    const group = keyGroupForBytes(key, 8);
    const block = await file.writeRawKeyGroup('op/v', group, 8, [{ key, value: Uint8Array.of(0x01) }]);
    await writer.closeDataFile(file);
    writer.addKeyedState('op', { name: 'v', kind: 'value' }, [{ ...block!, keyGroup: group }]);
    await writer.finish();
    expect((await verifySnapshot(source)).valid).toBe(false);

    const dir = dirs.next('refused');
    const target = new LocalObjectStore(dir);
    const error = await rekeySnapshot(await SnapshotReader.open(source), target, { maxParallelism: 16, memoryBytes: 1 << 20, spill: new LocalObjectStore(dirs.next('spill')) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).problem).toMatch(/^the rekeyed savepoint does not verify, so it was not written: key is not in canonical encoding/);
    const left: string[] = [];
    for await (const info of target.list('')) left.push(info.key);
    expect(left).toEqual([]);
  });
});
