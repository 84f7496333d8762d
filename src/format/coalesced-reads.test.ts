import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { rangeForSubtask } from './key-groups.ts';
import { SnapshotReader } from './snapshot-reader.ts';
import { type IncrementalBase, writeIncrementalCheckpoint } from './write-incremental-checkpoint.ts';
import { writeSnapshot } from './write-snapshot.ts';

const dirs = tempDirForFile();
const JOB = '00112233445566778899aabbccddeeff';
const PARALLELISM = 2;
const MAX_PARALLELISM = 128;

/** A real local store that counts its ranged reads (and those of the store above it, where shared files are). */
function counting(store: ObjectStore, count = { ranged: 0 }): { store: ObjectStore; ranged: () => number } {
  const wrapped: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
    getRange(key: string, offset: number, length: number) {
      count.ranged += 1;
      return store.getRange(key, offset, length);
    },
    storeAbove(levels: number) {
      const above = store.storeAbove?.(levels);
      return above === undefined ? undefined : counting(above, count).store;
    },
  });
  return { store: wrapped, ranged: () => count.ranged };
}

async function writeFixture(dir: string): Promise<void> {
  const entries = (n: number, tag: string): [unknown, unknown][] => Array.from({ length: n }, (_, i) => [`${tag}-${i}`, { count: i, tag }]);
  await writeSnapshot(new LocalObjectStore(dir), {
    info: { kind: 'checkpoint', jobId: JOB, jobName: 'coalesce', checkpointId: 1 },
    operators: [
      {
        uid: 'op',
        parallelism: PARALLELISM,
        maxParallelism: MAX_PARALLELISM,
        keyedStates: [
          { name: 'a', kind: 'value', entries: entries(5000, 'a') },
          { name: 'b', kind: 'value', entries: entries(3000, 'b') },
        ],
        operatorStates: [{ name: 'offsets', kind: 'list', mode: 'split', partitions: [[1, 2, 3], [4, 5]] }],
      },
    ],
  });
}

/** Every subtask's key groups of every keyed state, then the operator state, as a restore reads them; with the requests made. */
async function restoreAll(dir: string, coalesce: boolean): Promise<{ read: unknown[]; requests: number; files: number }> {
  const { store, ranged } = counting(new LocalObjectStore(dir));
  const reader = await SnapshotReader.open(store);
  reader.coalesceReads = coalesce;
  const read: unknown[] = [];
  for (let subtask = 0; subtask < PARALLELISM; subtask++) {
    for (const name of ['a', 'b']) {
      for await (const batch of reader.readKeyed('op', name, rangeForSubtask(subtask, PARALLELISM, MAX_PARALLELISM))) read.push(batch);
    }
  }
  for await (const batch of reader.readOperatorState('op', 'offsets')) read.push(batch);
  return { read, requests: ranged(), files: reader.metadata.files.length };
}

describe('coalesced reads', () => {
  it('restores 128 key groups in O(files) requests instead of O(blocks), with the same entries', async () => {
    const dir = dirs.next('full');
    await writeFixture(dir);
    const before = await restoreAll(dir, false);
    const after = await restoreAll(dir, true);
    expect(after.read).toEqual(before.read);
    expect(before.files).toBe(PARALLELISM);
    // Block by block: a header per file, a block per (state, key group), a partition per subtask.
    expect(before.requests).toBe(PARALLELISM + 2 * MAX_PARALLELISM + PARALLELISM);
    // Coalesced: per file, one range per keyed state (the header rides on the first), and each
    // partition alone (one per file).
    expect(after.requests).toBe(PARALLELISM * 2 + PARALLELISM);
  });

  it('reports a damaged byte with the same message as block by block', async () => {
    const dir = dirs.next('damaged');
    await writeFixture(dir);
    const reader = await SnapshotReader.open(new LocalObjectStore(dir));
    const block = reader.keyedState('op', 'b').blocks[40]!;
    const path = join(dir, reader.metadata.files[block.file]!.path);
    const bytes = await readFile(path);
    bytes[block.offset + Math.floor(block.length / 2)]! ^= 0xff;
    await writeFile(path, bytes);
    const failure = async (coalesce: boolean): Promise<string> => {
      try {
        await restoreAll(dir, coalesce);
      } catch (err) {
        return String(err);
      }
      return 'no error';
    };
    const message = await failure(false);
    expect(message).toMatch(/checksum mismatch/);
    expect(await failure(true)).toBe(message);
  });

  it('reports a truncated data file as block by block', async () => {
    const dir = dirs.next('truncated');
    await writeFixture(dir);
    const reader = await SnapshotReader.open(new LocalObjectStore(dir));
    const block = reader.keyedState('op', 'a').blocks[20]!;
    const path = join(dir, reader.metadata.files[block.file]!.path);
    await writeFile(path, (await readFile(path)).subarray(0, block.offset + 5));
    const failure = async (coalesce: boolean): Promise<string> => restoreAll(dir, coalesce).then(() => 'no error', (err: unknown) => String(err));
    const message = await failure(false);
    expect(message).toMatch(/truncated/);
    expect(await failure(true)).toBe(message);
  });

  it('replays incremental chains in one request per file and subtask, with the same entries', async () => {
    const dir = dirs.next('chain');
    const entries: [unknown, unknown][] = Array.from({ length: 4000 }, (_, i) => [`k-${i}`, i]);
    let base: IncrementalBase | undefined;
    for (let n = 1; n <= 4; n++) {
      for (let i = n; n > 1 && i < entries.length; i += 10) entries[i] = [`k-${i}`, i * n];
      const cp = { jobId: JOB, jobName: 'chain', checkpointId: n, createdAt: n, operators: [{ uid: 'op', parallelism: PARALLELISM, maxParallelism: MAX_PARALLELISM, keyedStates: [{ name: 's', kind: 'value' as const, entries }] }] };
      base = (await writeIncrementalCheckpoint(new LocalObjectStore(dir), new LocalObjectStore(join(dir, JOB, `chk-${n}`)), cp, base)).base;
    }
    const read = async (coalesce: boolean): Promise<{ read: unknown[]; requests: number; filesPerSubtask: number }> => {
      const { store, ranged } = counting(new LocalObjectStore(join(dir, JOB, 'chk-4')));
      const reader = await SnapshotReader.open(store);
      reader.coalesceReads = coalesce;
      const out: unknown[] = [];
      let filesPerSubtask = 0;
      for (let subtask = 0; subtask < PARALLELISM; subtask++) {
        const range = rangeForSubtask(subtask, PARALLELISM, MAX_PARALLELISM);
        filesPerSubtask += new Set(reader.keyedState('op', 's').blocks.filter((b) => b.keyGroup >= range.start && b.keyGroup <= range.end).map((b) => b.file)).size;
        for await (const batch of reader.readKeyed('op', 's', range)) out.push(batch);
      }
      return { read: out, requests: ranged(), filesPerSubtask };
    };
    const before = await read(false);
    const after = await read(true);
    expect(after.read).toEqual(before.read);
    expect(before.requests).toBeGreaterThan(3 * MAX_PARALLELISM); // a full block and up to 3 deltas per key group
    expect(after.requests).toBe(after.filesPerSubtask);

    // The first range of every file is asked for at once, before any has come back: a chain's
    // steps lie in different files, and waiting for them one after another adds up (most of all
    // from S3, where each request is a round trip).
    const pending: (() => void)[] = [];
    let open = false;
    const local = new LocalObjectStore(dir);
    const gated: ObjectStore = Object.assign(Object.create(local) as ObjectStore, {
      async getRange(key: string, offset: number, length: number) {
        if (!open) await new Promise<void>((resolve) => pending.push(resolve));
        return local.getRange(key, offset, length);
      },
    });
    const reader = await SnapshotReader.open(new LocalObjectStore(join(dir, JOB, 'chk-4')), { root: gated });
    const range = rangeForSubtask(0, PARALLELISM, MAX_PARALLELISM);
    const files = new Set(reader.keyedState('op', 's').blocks.filter((b) => b.keyGroup >= range.start && b.keyGroup <= range.end).map((b) => b.file));
    expect(files.size).toBeGreaterThan(2);
    const batches = reader.readKeyed('op', 's', range);
    const first = batches.next();
    await new Promise(setImmediate); // nothing comes back until released, however long this waits
    expect(pending.length).toBe(files.size);
    open = true;
    for (const resolve of pending) resolve();
    const gatedRead: unknown[] = [];
    for (let b = await first; b.done !== true; b = await batches.next()) gatedRead.push(b.value);
    expect(gatedRead).toEqual(after.read.filter((x) => (x as { keyGroup: number }).keyGroup <= range.end));
  });
});
