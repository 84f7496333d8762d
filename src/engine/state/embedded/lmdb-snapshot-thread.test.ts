/**
 * The lmdb snapshot thread reads and encodes the key groups a snapshot takes whole (incremental
 * checkpoints' rewrites, full checkpoints and savepoints):
 * the files must be byte for byte those the processing thread writes, also when the state changes
 * and goes to the store after the snapshot, and a read the thread began must never see a write
 * made after the snapshot it belongs to.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/temp-dir.ts';
import { UserError } from '../../../errors.ts';
import { DataFileWriter } from '../../../format/data-file-writer.ts';
import { createValuePackr, createValueUnpackr } from '../../../format/value-codec.ts';
import { LocalObjectStore } from '../../../storage/local-store.ts';
import { ChainBook } from '../../checkpoint/chain-book.ts';
import { valueState } from '../state-descriptors.ts';
import { completeChains, writeIncrementalKeyedSnapshot } from '../write-incremental-keyed-snapshot.ts';
import { writeKeyedSnapshot } from '../write-keyed-snapshot.ts';
import { createEmbeddedKeyedStateBackend } from './create-embedded-backend.ts';
import type { EmbeddedKeyedStateBackend } from './embedded-keyed-state-backend.ts';
import type { StoreSnapshot } from './embedded-store.ts';
import { openLmdbStoreSync } from './lmdb-store.ts';
import { lmdbSnapshotThread } from './lmdb-snapshot-thread.ts';
import { stateKey } from './state-keys.ts';
import { applyValueOp, checkpointBothWays, valueOpArb } from './value-ops-test-support.ts';

const MAX_P = 8;

/** A value msgpackr packs and the format refuses. */
function tooDeep(): unknown {
  let v: unknown = 1;
  for (let i = 0; i < 70; i++) v = [v];
  return v;
}


describe('the lmdb snapshot thread', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runs = 0;
  beforeAll(async () => {
    dir = await tempDir('tsflink-lmdb-thread-test-');
    // Started by a first snapshot, as in a job; the cases below must not race its start.
    const store = openLmdbStoreSync(`${dir.path}/warm-up`);
    store.snapshotInThread!()?.release();
    expect(await lmdbSnapshotThread().whenReady).toBe(true);
    await store.destroy();
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('writes incremental checkpoints and savepoints byte for byte as the processing thread does, with writes after each snapshot', async () => {
    let inThread = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ before: fc.array(valueOpArb, { minLength: 1, maxLength: 150 }), after: fc.array(valueOpArb, { maxLength: 150 }), full: fc.boolean() }), { minLength: 1, maxLength: 5 }), async (rounds) => {
        const run = runs++;
        // A small cache writes much of the state to the store, also between a snapshot and the
        // thread's read (which then does not begin: the processing thread reads); a large one
        // writes none of it then, so every snapshot of those runs is read on the thread.
        const cacheBytes = run % 2 === 0 ? 2048 : 8 << 20;
        const options = (thread: boolean) => ({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, cacheBytes, snapshotThread: thread });
        const backends = [createEmbeddedKeyedStateBackend('lmdb', options(true)), createEmbeddedKeyedStateBackend('lmdb', options(false))] as const;
        const stores = [new LocalObjectStore(`${dir.path}/run-${run}/thread`), new LocalObjectStore(`${dir.path}/run-${run}/here`)];
        const books = [new ChainBook(), new ChainBook()];
        try {
          for (const b of backends) b.trackChanges!(undefined);
          for (let id = 1; id <= rounds.length; id++) {
            const round = rounds[id - 1]!;
            for (const op of round.before) for (const b of backends) applyValueOp(b, op);
            const snapshots = backends.map((b) => b.snapshot({ checkpointId: id }));
            // Once the thread began its read (or could not), change the state before the snapshot is written.
            const began = await snapshots[0]!.threadReadBegun;
            if (cacheBytes > 2048) expect(began).toBe(true);
            for (const op of round.after) for (const b of backends) applyValueOp(b, op);
            await checkpointBothWays(
              id,
              backends.map((backend, i) => ({ backend, snapshot: snapshots[i]!, store: stores[i]!, book: books[i]! })),
              () => ({ forceFull: round.full }),
            );
          }
          // A savepoint or full checkpoint (writeKeyedSnapshot) of the state now.
          const snapshots = backends.map((b) => b.snapshot());
          if (cacheBytes > 2048) expect(await snapshots[0]!.threadReadBegun).toBe(true);
          const blocks = [];
          for (let i = 0; i < 2; i++) {
            const writer = await DataFileWriter.create(stores[i]!, 'sp.tsfs');
            blocks.push(await writeKeyedSnapshot(snapshots[i]!, writer, 'op'));
            await writer.close();
          }
          expect(blocks[0]).toEqual(blocks[1]);
          expect(Buffer.from(await stores[0]!.get('sp.tsfs')).equals(Buffer.from(await stores[1]!.get('sp.tsfs')))).toBe(true);
          expect(backends[1].keyGroupsEncodedInThread).toBe(0);
          inThread += backends[0].keyGroupsEncodedInThread;
        } finally {
          for (const b of backends) await b.dispose();
        }
      }),
      { numRuns: 30 },
    );
    // The first checkpoint and the savepoint of every run take each of the 8 key groups whole: on the thread in every run with the large cache.
    expect(inThread).toBeGreaterThanOrEqual(15 * 2 * MAX_P);
  });

  it('takes a key group whole on the thread when many of its keys changed, within the records of writes or beyond them, a delta when few did', async () => {
    // 12,000 keys over 8 key groups: all of them changed is over WHOLE_ON_THREAD_MIN_CHANGES in every group, 100 of them in none.
    for (const [changed, beyondRecords] of [[100, true], [12_000, true], [100, false], [12_000, false]] as const) {
      const options = (thread: boolean) => ({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, snapshotThread: thread });
      const backends = [createEmbeddedKeyedStateBackend('lmdb', options(true)), createEmbeddedKeyedStateBackend('lmdb', options(false))] as const;
      const stores = [new LocalObjectStore(`${dir.path}/whole-${changed}-${beyondRecords}/thread`), new LocalObjectStore(`${dir.path}/whole-${changed}-${beyondRecords}/here`)];
      const books = [new ChainBook(), new ChainBook()];
      const set = (b: EmbeddedKeyedStateBackend, n: number, value: number) => {
        for (let k = 0; k < n; k++) {
          b.setCurrentKey(k);
          b.getState(valueState<number>('v')).update(value);
        }
      };
      const checkpoint = async (id: number, forceFull: (i: number) => boolean) => {
        const snapshots = backends.map((b) => b.snapshot({ checkpointId: id }));
        expect(await snapshots[0]!.threadReadBegun).toBe(true);
        const sharedPath = `job/shared/op-${id}.tsfs`;
        const results = [];
        for (let i = 0; i < 2; i++) {
          const writer = await DataFileWriter.create(stores[i]!, sharedPath);
          const result = await writeIncrementalKeyedSnapshot(snapshots[i]!, writer, { operatorUid: 'op', sharedPath, base: books[i]!.base, checkpointId: id, forceFull: forceFull(i) });
          books[i]!.record(id, completeChains(result, (await writer.close()).size));
          results.push(result);
        }
        expect(results[0]).toEqual(results[1]);
        expect(Buffer.from(await stores[0]!.get(sharedPath)).equals(Buffer.from(await stores[1]!.get(sharedPath)))).toBe(true);
        return results[0]!;
      };
      try {
        for (const b of backends) b.trackChanges!(undefined);
        for (const b of backends) set(b, 12_000, 0);
        await checkpoint(1, () => false);
        for (let i = 0; i < 2; i++) if (books[i]!.confirm(1)) backends[i]!.confirmChanges!(1);
        // Three checkpoints never confirmed: the next delta since checkpoint 1 spans four intervals, one more than the records of writes keep.
        if (beyondRecords) for (let id = 2; id <= 4; id++) for (const b of backends) b.snapshot({ checkpointId: id }).release();
        for (const b of backends) set(b, changed, 1);
        const inThread = backends[0].keyGroupsEncodedInThread;
        // The processing thread's delta reads each changed key from the store, or from the records; taken whole, the group is what a full checkpoint writes there.
        const result = await checkpoint(5, (i) => i === 1 && changed > 100);
        expect(result.fullKeyGroups).toBe(changed > 100 ? MAX_P : 0);
        expect(backends[0].keyGroupsEncodedInThread - inThread).toBe(changed > 100 ? MAX_P : 0);
      } finally {
        for (const b of backends) await b.dispose();
      }
    }
  });

  it('a read the thread began never sees a write made after its snapshot', async () => {
    const store = openLmdbStoreSync(`${dir.path}/isolation`);
    const outcomes = { began: 0, missed: 0 };
    const unpackr = createValueUnpackr();
    // Fixint canonical keys, all in key group 0 at max parallelism 1, its whole range, and what a snapshot holds there.
    const at = (i: number) => stateKey(0, Uint8Array.of(i), 0);
    const group = [Uint8Array.of(0, 0), Uint8Array.of(0, 1)] as const;
    const valuesIn = (snapshot: StoreSnapshot) => [...snapshot.range(...group)].map(([, v]) => unpackr.unpackMultiple(Buffer.from(v))[0]);
    try {
      for (let round = 0; round < 40; round++) {
        store.put(at(round % 20), createValuePackr().pack(round));
        const here = store.snapshot();
        const read = store.snapshotInThread!()!;
        // At once, or after the thread began: either way it must read what `here` holds, or decline.
        // Nothing was written since the snapshot: the thread always begins.
        if (round % 2 === 1) expect(await read.begun).toBe(true);
        store.put(at(round % 20), createValuePackr().pack(-1));
        store.put(at(40), createValuePackr().pack(-2));
        const began = await read.begun;
        outcomes[began ? 'began' : 'missed'] += 1;
        if (began) {
          const encoded = await read.readKeyGroup({ keyGroup: 0, maxParallelism: 1, overlay: [], states: [{ label: 'op/v', kind: 'value' }], frameLimit: 256 });
          const values = encoded.states[0]!.flatMap((f) => (unpackr.unpackMultiple(Buffer.from(f.payload)) as unknown[][])[1]!);
          expect(values).toEqual(valuesIn(here));
          expect(encoded.entries).toBe(values.length);
        }
        read.release();
        here.release();
      }
    } finally {
      await store.destroy();
    }
    expect(outcomes.began + outcomes.missed).toBe(40);
    expect(outcomes.began).toBeGreaterThanOrEqual(20);
  });

  it('fails a read of a value the format refuses with a UserError', async () => {
    const store = openLmdbStoreSync(`${dir.path}/refused`);
    try {
      store.put(stateKey(0, Uint8Array.of(1), 0), createValuePackr().pack(tooDeep()));
      store.snapshot().release();
      const read = store.snapshotInThread!()!;
      expect(await read.begun).toBe(true);
      const failure = await read.readKeyGroup({ keyGroup: 0, maxParallelism: 1, overlay: [], states: [{ label: 'op/v', kind: 'value' }], frameLimit: 256 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as Error).message).toBe('op/v: cannot store a state value that is nesting deeper than 64 levels (or a cycle)');
      read.release();
    } finally {
      await store.destroy();
    }
  });

  it('refuses a value the format refuses with the message the processing thread gives', async () => {
    const errors: string[] = [];
    for (const thread of [true, false]) {
      const b = createEmbeddedKeyedStateBackend('lmdb', { keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P, localDir: dir.path, snapshotThread: thread });
      try {
        b.trackChanges!(undefined);
        b.setCurrentKey('k');
        b.getState(valueState<unknown>('v')).update(tooDeep());
        const snapshot = b.snapshot({ checkpointId: 1 });
        expect(await snapshot.threadReadBegun).toBe(thread);
        const writer = await DataFileWriter.create(new LocalObjectStore(`${dir.path}/refusal-${thread}`), 'x.tsfs');
        const failure = await writeIncrementalKeyedSnapshot(snapshot, writer, { operatorUid: 'op', sharedPath: 'x.tsfs', base: undefined, checkpointId: 1 }).catch((e: unknown) => e);
        await writer.abort();
        expect(failure).toBeInstanceOf(UserError);
        errors.push((failure as Error).message);
      } finally {
        await b.dispose();
      }
    }
    expect(errors[0]).toBe(errors[1]);
    expect(errors[0]).toMatch(/op\/v: cannot store a state value that is nesting deeper than 64 levels/);
  });
});
