import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../../test/support/temp-dir.ts';
import { DataFileWriter } from '../../format/data-file-writer.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { ChainBook } from '../checkpoint/chain-book.ts';
import { DEFAULT_CHAIN_LIMITS } from '../checkpoint/chain-policy.ts';
import { deltaSteps, type OperatorChains } from '../checkpoint/keyed-chain.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import { expectedContent, replayChains } from './incremental-replay-test-support.ts';
import { keyGroupOfKeyString, keyStringOf } from './key-string.ts';
import type { UserMap } from './state-value-layout.ts';
import { listState, mapState, valueState } from './state-descriptors.ts';
import { stateInfo, TrackedStateDouble } from './tracked-state-double.ts';
import { writeKeyedSnapshot } from './write-keyed-snapshot.ts';
import { completeChains, type IncrementalKeyedResult, writeIncrementalKeyedSnapshot } from './write-incremental-keyed-snapshot.ts';

const dirs = tempDirForFile('tsflink-chains-');
const MAX_P = 8;
const JOB = 'job0';
const NOW = 1_000;
const TTL_MS = 100;
const STATES = [stateInfo('v', 'value'), stateInfo('l', 'list'), stateInfo('m', 'map'), stateInfo('t', 'value', TTL_MS)];
const TTL = { now: NOW, expireIn: new Map([['t', TTL_MS]]) };
const key = (n: number): string => keyStringOf(`k${n}`);
const LIVE = 2_000; // lastAccess + TTL_MS > NOW
const EXPIRED = 0;

function mapValue(n: number): UserMap {
  return new Map([[keyStringOf(`u${n}`), [`u${n}`, n]]]);
}

interface Harness {
  readonly store: LocalObjectStore;
  readonly backend: TrackedStateDouble;
  readonly book: ChainBook;
}

function harness(): Harness {
  return { store: new LocalObjectStore(dirs.next()), backend: new TrackedStateDouble(STATES, { start: 0, end: MAX_P - 1 }, MAX_P), book: new ChainBook() };
}

/** One checkpoint as the subtask will take it: snapshot, write into a new shared file, close, complete, record. */
async function checkpoint(h: Harness, id: number, forceFull = false): Promise<{ result: IncrementalKeyedResult; chains: OperatorChains }> {
  const sharedPath = `${JOB}/shared/op-${id}.tsfs`;
  const writer = await DataFileWriter.create(h.store, sharedPath);
  const snapshot = h.backend.snapshot(id);
  const result = await writeIncrementalKeyedSnapshot(snapshot, writer, { operatorUid: 'op', sharedPath, base: h.book.base, forceFull, checkpointId: id, ttl: TTL });
  expect(snapshot.released).toBe(true);
  expect(snapshot.releasedGroups).toEqual([...Array(MAX_P).keys()]);
  const file = await writer.close();
  const chains = completeChains(result, file.size);
  h.book.record(id, chains);
  return { result, chains };
}

function confirm(h: Harness, id: number): void {
  if (h.book.confirm(id)) h.backend.confirmChanges(id);
}

async function expectReplays(h: Harness, chains: OperatorChains, data: Map<string, Map<string, unknown>>): Promise<void> {
  expect(await replayChains(h.store, chains)).toEqual(expectedContent(STATES, data, NOW, TTL.expireIn));
}

const copy = (data: Map<string, Map<string, unknown>>): Map<string, Map<string, unknown>> => new Map([...data].map(([n, m]) => [n, new Map(m)]));

describe('writeIncrementalKeyedSnapshot', () => {
  it('writes every key group whole without a base, then only the changes, and both replay to the content', async () => {
    const h = harness();
    for (let n = 0; n < 20; n++) {
      h.backend.put('v', key(n), n);
      h.backend.put('l', key(n), [n, n + 1]);
      h.backend.put('m', key(n), mapValue(n));
      h.backend.put('t', key(n), [n, LIVE]);
    }
    const first = await checkpoint(h, 1);
    expect(first.result.deltaKeyGroups).toBe(0);
    expect(first.result.states.flatMap((s) => s.written.map((b) => b.kind))).toEqual(expect.arrayContaining(['full']));
    expect(first.result.states.every((s) => s.written.every((b) => b.kind === 'full'))).toBe(true);
    await expectReplays(h, first.chains, h.backend.data);
    confirm(h, 1);

    h.backend.put('v', key(3), 'three');
    h.backend.delete('l', key(4));
    h.backend.put('t', key(5), [5, EXPIRED]); // expired under cleanupFullSnapshot: must not survive a restore
    const second = await checkpoint(h, 2);
    expect(second.result.fullKeyGroups).toBe(0);
    expect(second.result.deltaKeyGroups).toBe(MAX_P);
    const written = second.result.states.flatMap((s) => s.written.map((b) => `${s.info.name}/${b.kind}/${b.keyGroup}`));
    expect(written.sort()).toEqual(
      [`v/upserts/${keyGroupOfKeyString(key(3), MAX_P)}`, `l/deletions/${keyGroupOfKeyString(key(4), MAX_P)}`, `t/deletions/${keyGroupOfKeyString(key(5), MAX_P)}`].sort(),
    );
    // Unchanged key groups refer to checkpoint 1's file only.
    const vChain = second.chains.get('v')!.chains.get(keyGroupOfKeyString(key(3), MAX_P))!;
    expect(vChain.map((b) => [b.path, b.kind])).toEqual([
      [`${JOB}/shared/op-1.tsfs`, 'full'],
      [`${JOB}/shared/op-2.tsfs`, 'upserts'],
    ]);
    await expectReplays(h, second.chains, h.backend.data);
    expect(await replayChains(h.store, second.chains)).not.toEqual(await replayChains(h.store, first.chains));
  });

  it('writes whole when forced, when the backend cannot tell, and when a state changed its layout', async () => {
    const h = harness();
    for (let n = 0; n < 10; n++) h.backend.put('v', key(n), n);
    await checkpoint(h, 1);
    confirm(h, 1);
    h.backend.put('v', key(1), 'x');
    const forced = await checkpoint(h, 2, true);
    expect(forced.result.deltaKeyGroups).toBe(0);
    await expectReplays(h, forced.chains, h.backend.data);
    confirm(h, 2);

    h.backend.cannotTell = true;
    h.backend.delete('v', key(2));
    const fallback = await checkpoint(h, 3);
    expect(fallback.result.deltaKeyGroups).toBe(0);
    expect([...fallback.chains.get('v')!.chains.values()].map((chain) => chain.map((b) => b.kind))).toEqual(Array(fallback.chains.get('v')!.chains.size).fill(['full']));
    await expectReplays(h, fallback.chains, h.backend.data);

    const b = new TrackedStateDouble([{ ...STATES[0]!, schemaVersion: 2 }], { start: 0, end: MAX_P - 1 }, MAX_P);
    const migrated = await writeIncrementalKeyedSnapshot(b.snapshot(4), await DataFileWriter.create(h.store, `${JOB}/shared/x.tsfs`), {
      operatorUid: 'op',
      sharedPath: `${JOB}/shared/x.tsfs`,
      base: { checkpointId: 3, chains: fallback.chains },
    });
    expect(migrated.deltaKeyGroups).toBe(0);
  });

  it('an aborted checkpoint is not built on: the next one takes its changes again from the confirmed base', async () => {
    const h = harness();
    for (let n = 0; n < 10; n++) h.backend.put('v', key(n), n);
    await checkpoint(h, 1);
    confirm(h, 1);
    h.backend.put('v', key(1), 'one');
    await checkpoint(h, 2);
    h.book.abort(2);
    h.backend.put('v', key(2), 'two');
    const third = await checkpoint(h, 3);
    for (const chain of third.chains.get('v')!.chains.values()) expect(chain.some((b) => b.path.endsWith('op-2.tsfs'))).toBe(false);
    await expectReplays(h, third.chains, h.backend.data);
  });
});

describe('with the heap backend', () => {
  it('without a base writes every key group whole, the same entries as a full snapshot', async () => {
    const b = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
    const value = b.getState(valueState<number>('v'));
    const list = b.getState(listState<string>('l'));
    const map = b.getState(mapState<string, number>('m'));
    for (let n = 0; n < 30; n++) {
      b.setCurrentKey(`k${n}`);
      value.update(n);
      list.add(`e${n}`);
      map.put(`u${n}`, n);
    }
    const store = new LocalObjectStore(dirs.next());
    const sharedPath = `${JOB}/shared/heap.tsfs`;
    const writer = await DataFileWriter.create(store, sharedPath);
    const result = await writeIncrementalKeyedSnapshot(b.snapshot(), writer, { operatorUid: 'op', sharedPath, base: undefined });
    const chains = completeChains(result, (await writer.close()).size);
    expect(result.deltaKeyGroups).toBe(0);

    const fullWriter = await DataFileWriter.create(store, 'full.tsfs');
    const full = await writeKeyedSnapshot(b.snapshot(), fullWriter, 'op');
    const fullSize = (await fullWriter.close()).size;
    const fullChains: OperatorChains = new Map(
      full.map(({ info, blocks }) => [
        info.name,
        { layout: { kind: info.kind, schemaVersion: 1, ttlLayout: false }, chains: new Map(blocks.map((bl) => [bl.keyGroup, [{ ...bl, path: 'full.tsfs', fileSize: fullSize, kind: 'full' as const }]])) },
      ]),
    );
    const content = await replayChains(store, chains);
    expect(content).toEqual(await replayChains(store, fullChains));
    expect(content.get('m')!.size).toBe(30);
  });
});

describe('a completion that arrives before the subtask recorded the checkpoint', () => {
  /** Checkpoint `id` of `b` written into its own shared file; the chains are returned, not recorded. */
  async function write(b: HeapKeyedStateBackend, store: LocalObjectStore, book: ChainBook, id: number): Promise<{ result: IncrementalKeyedResult; chains: OperatorChains; bytes: number }> {
    const sharedPath = `${JOB}/shared/early-${id}.tsfs`;
    const writer = await DataFileWriter.create(store, sharedPath);
    const result = await writeIncrementalKeyedSnapshot(b.snapshot({ checkpointId: id }), writer, { operatorUid: 'op', sharedPath, base: book.base, checkpointId: id });
    const file = await writer.close();
    return { result, chains: completeChains(result, file.size), bytes: file.size };
  }

  it('still becomes the base once recorded: the next checkpoint writes only the change', async () => {
    const b = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
    b.trackChanges(undefined);
    const book = new ChainBook(undefined, (id) => b.confirmChanges(id));
    const value = b.getState(valueState<number>('v'));
    for (let n = 0; n < 200; n++) {
      b.setCurrentKey(`k${n}`);
      value.update(n);
    }
    const store = new LocalObjectStore(dirs.next());
    const first = await write(b, store, book, 1);
    // The old ordering: the notification of checkpoint 1 reaches the book before its chains do.
    expect(book.confirm(1)).toBe(false);
    expect(book.base).toBeUndefined();
    expect(book.record(1, first.chains)).toBe(true);
    expect(book.base?.checkpointId).toBe(1);

    b.setCurrentKey('k7');
    value.update(-7);
    const second = await write(b, store, book, 2);
    expect(second.result.fullKeyGroups).toBe(0);
    const kinds = second.result.states.flatMap((s) => s.written.map((w) => `${w.kind}/${w.keyGroup}`));
    expect(kinds).toEqual([`upserts/${keyGroupOfKeyString(keyStringOf('k7'), MAX_P)}`]);
    expect(second.bytes).toBeLessThan(first.bytes / 4);
    const data = new Map([['v', new Map(Array.from({ length: 200 }, (_, n) => [keyStringOf(`k${n}`), n === 7 ? -7 : n] as const))]]);
    expect(await replayChains(store, second.chains)).toEqual(expectedContent([stateInfo('v', 'value')], data, NOW, new Map()));
  });
});

type Step =
  | { readonly t: 'put'; readonly key: number; readonly value: number; readonly live: boolean }
  | { readonly t: 'delete'; readonly state: number; readonly key: number }
  | { readonly t: 'checkpoint'; readonly full: boolean; readonly outcome: 'confirm' | 'abort' | 'pending' };

const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), key: fc.nat(10), value: fc.nat(1000), live: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('delete' as const), state: fc.nat(STATES.length - 1), key: fc.nat(10) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('checkpoint' as const), full: fc.nat(4).map((n) => n === 0), outcome: fc.constantFrom('confirm' as const, 'confirm' as const, 'abort' as const, 'pending' as const) }) },
);

describe('chains across checkpoints (property)', () => {
  it('every acknowledged chain replays to the content of its snapshot, within the step bound', async () => {
    const written = { full: 0, delta: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(arbStep, { minLength: 5, maxLength: 80 }), async (steps) => {
        const h = harness();
        let id = 0;
        const confirmed = new Set<string>();
        for (const step of steps) {
          if (step.t === 'put') {
            // Every state at once: more keys touched again across checkpoints, where chains can go wrong.
            h.backend.put('v', key(step.key), step.value);
            h.backend.put('l', key(step.key), [step.value]);
            h.backend.put('m', key(step.key), mapValue(step.value));
            h.backend.put('t', key(step.key), [step.value, step.live ? LIVE : EXPIRED]);
          } else if (step.t === 'delete') h.backend.delete(STATES[step.state]!.name, key(step.key));
          else {
            id += 1;
            const truth = copy(h.backend.data);
            const { result, chains } = await checkpoint(h, id, step.full);
            written.full += result.fullKeyGroups;
            written.delta += result.deltaKeyGroups;
            await expectReplays(h, chains, truth);
            // Only its own file and confirmed checkpoints' files: the coordinator deletes an aborted one's, and a pending one may yet be aborted.
            const own = `${JOB}/shared/op-${id}.tsfs`;
            for (const state of chains.values()) for (const chain of state.chains.values()) for (const b of chain) expect(b.path === own || confirmed.has(b.path)).toBe(true);
            for (const state of chains.values()) for (const chain of state.chains.values()) expect(deltaSteps(chain)).toBeLessThanOrEqual(DEFAULT_CHAIN_LIMITS.maxDeltaSteps);
            if (step.outcome === 'confirm') {
              confirm(h, id);
              confirmed.add(own);
            }
            else if (step.outcome === 'abort') h.book.abort(id);
          }
        }
      }),
      { numRuns: 100 },
    );
    // The runs took both paths, or the property says little.
    expect(written.full).toBeGreaterThan(0);
    expect(written.delta).toBeGreaterThan(0);
  });
});
