/**
 * The replay of key groups' chains (FORMAT.md version 3; chain-replay.ts through SnapshotReader),
 * which tells keys apart by decoded string or canonical bytes and updates the full block in
 * place: against a Map given the same steps in order, for keys of every canonical kind, keys
 * repeated inside a block, and blocks of several frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDirForFile } from '../../test/support/temp-dir.ts';
import { LocalObjectStore } from '../storage/local-store.ts';
import { encodeCanonicalKey } from './canonical-key.ts';
import { ChainReplay, type ReplayOrder } from './chain-replay.ts';
import { keyGroupFor } from './key-groups.ts';
import { type KeyedBlock, SnapshotWriter } from './snapshot-writer.ts';
import { SnapshotReader } from './snapshot-reader.ts';

const dirs = tempDirForFile();
const MAXP = 2;
const id = (key: unknown): string => Buffer.from(encodeCanonicalKey(key)).toString('latin1');

type Step = { kind: 'full' | 'upserts'; entries: [unknown, unknown][] } | { kind: 'deletions'; keys: unknown[] };

/** A snapshot holding one chain per key group (the steps whose keys fall in it, in order); returns its directory's store. */
async function write(steps: readonly Step[]): Promise<LocalObjectStore> {
  const store = new LocalObjectStore(dirs.next());
  const writer = new SnapshotWriter(store, { kind: 'checkpoint', jobId: 'abcdef0123456789abcdef0123456789', jobName: 'replay', checkpointId: 1, createdAt: 0 });
  writer.addOperator({ uid: 'op', parallelism: 1, maxParallelism: MAXP });
  const file = await writer.openDataFile('op', 0);
  const blocks: KeyedBlock[] = [];
  for (let g = 0; g < MAXP; g++) {
    for (const step of steps) {
      const mine = (key: unknown): boolean => keyGroupFor(key, MAXP) === g;
      const block =
        step.kind === 'deletions'
          ? await file.writeCanonicalDeletions('op/v', g, MAXP, step.keys.filter(mine).map(id))
          : await file.writeCanonicalKeyGroup('op/v', 'value', g, MAXP, step.entries.filter(([k]) => mine(k)).map(([k]) => id(k)), step.entries.filter(([k]) => mine(k)).map(([, v]) => v));
      if (block !== null) blocks.push({ ...block, keyGroup: g, kind: step.kind });
    }
  }
  writer.addKeyedState('op', { name: 'v', kind: 'value' }, blocks);
  await writer.closeDataFile(file);
  await writer.finish();
  return store;
}

/** What a map holds after the steps in order, by canonical key. */
function model(steps: readonly Step[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const step of steps) {
    if (step.kind === 'deletions') for (const k of step.keys) out.delete(id(k));
    else for (const [k, v] of step.entries) out.set(id(k), v);
  }
  return out;
}

/**
 * The entries in the order the reader yields them, key group by key group: `listed` as FORMAT.md 7
 * says (the full block's untouched entries in file order, then what the deltas leave set in the
 * order first named), `inPlace` with the full block's updated keys where they stand.
 */
function ordered(steps: readonly Step[], order: ReplayOrder): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let g = 0; g < MAXP; g++) {
    const mine = (k: unknown): boolean => keyGroupFor(k, MAXP) === g;
    const head = steps[0]?.kind === 'full' ? steps[0].entries.filter(([k]) => mine(k)) : [];
    const touched = new Map<string, { value: unknown } | null>(); // Map.set keeps a key's first place
    for (const step of steps.slice(steps[0]?.kind === 'full' ? 1 : 0)) {
      if (step.kind === 'deletions') for (const k of step.keys.filter(mine)) touched.set(id(k), null);
      else for (const [k, v] of step.entries.filter(([k]) => mine(k))) touched.set(id(k), { value: v });
    }
    const placed = new Set<string>();
    for (const [k, v] of head) {
      const t = touched.get(id(k));
      if (t === undefined) out.push([id(k), v]);
      else if (t !== null && order === 'inPlace') {
        out.push([id(k), t.value]);
        placed.add(id(k));
      }
    }
    for (const [k, t] of touched) if (t !== null && !placed.has(k)) out.push([k, t.value]);
  }
  return out;
}

/** Every entry read, in order, by canonical key. */
async function read(store: LocalObjectStore, order: ReplayOrder): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for await (const batch of (await SnapshotReader.open(store)).readKeyed('op', 'v', undefined, order)) batch.keys.forEach((k, i) => out.push([id(k), batch.values[i]]));
  return out;
}

const sorted = (m: Iterable<[string, unknown]>): [string, unknown][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

// Keys of every canonical kind, among them a string and bytes of the same UTF-8 and numbers that only their encoding tells apart.
const KEYS: unknown[] = ['a', 'b', 'ü', 'x'.repeat(40), '', 0, 1, -1, 2.5, 2 ** 40, true, false, ['a', 1], { n: 1, s: 'a' }, {}, [], Uint8Array.from([0x61]), Uint8Array.from([1, 2])];

describe('chain replay', () => {
  it('property: any chain of full, upserts and deletions blocks replays to what a map given the same steps holds, in either order', async () => {
    const key = fc.constantFrom(...KEYS);
    const entries = fc.array(fc.tuple(key, fc.integer()), { minLength: 1, maxLength: 8 });
    const step = fc.oneof(
      fc.record({ kind: fc.constant('upserts' as const), entries }),
      fc.record({ kind: fc.constant('deletions' as const), keys: fc.array(key, { minLength: 1, maxLength: 6 }) }),
    );
    const chain = fc.tuple(fc.option(entries, { nil: undefined }), fc.array(step, { maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(chain, async ([full, rest]) => {
        // The full block holds each key once (a state's entries); deltas may repeat a key.
        const first: Step[] = full === undefined ? [] : [{ kind: 'full', entries: [...new Map(full.map(([k, v]) => [id(k), [k, v] as [unknown, unknown]])).values()] }];
        const steps = [...first, ...rest];
        const store = await write(steps);
        for (const order of ['listed', 'inPlace'] as const) {
          const got = await read(store, order);
          expect(sorted(got)).toEqual(sorted(model(steps)));
          expect(got).toEqual(ordered(steps, order));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('blocks of several frames: the newest frame of a block wins, a key deleted and set again is set', async () => {
    const n = 70_000; // past one frame's 65,536 items
    const keys = Array.from({ length: n }, (_, i) => `user-${i}`);
    const steps: Step[] = [
      { kind: 'full', entries: keys.map((k, i) => [k, i]) },
      // user-0..9 twice in one block, in its first and its last frame: the second counts.
      { kind: 'upserts', entries: [...keys.slice(0, 10).map((k): [unknown, unknown] => [k, 'first']), ...keys.slice(10, n).map((k): [unknown, unknown] => [k, -1]), ...keys.slice(0, 10).map((k): [unknown, unknown] => [k, 'second'])] },
      { kind: 'deletions', keys: keys.slice(10, 20_010) },
      { kind: 'upserts', entries: keys.slice(15, 25).map((k) => [k, 'back']) },
    ];
    const store = await write(steps);
    expect(await read(store, 'listed')).toEqual(ordered(steps, 'listed'));
    const got = new Map(await read(store, 'inPlace'));
    expect(got.size).toBe(n - 20_000 + 10);
    expect(sorted(got)).toEqual(sorted(model(steps)));
    expect(got.get(id('user-5'))).toBe('second');
    expect(got.get(id('user-20'))).toBe('back');
    expect(got.has(id('user-30'))).toBe(false);
    expect(got.get(id('user-30000'))).toBe(-1);
  });

  it('in place, an updated key keeps its place in the full block (store order), added keys come after it', () => {
    const replay = new ChainReplay('inPlace');
    const ids = (keys: readonly unknown[]) => () => keys.map(id);
    const d1 = ['c', [1], 'a'];
    replay.delta(d1, ['c1', 'one', 'a1'], ids(d1));
    const d2 = ['b', 'x', [1]];
    replay.delta(d2, undefined, ids(d2));
    const d3 = ['x', [2], 'c'];
    replay.delta(d3, ['x3', 'two', 'c3'], ids(d3));
    const keys: unknown[] = ['a', 'b', [1], 'c', 'd'];
    const values: unknown[] = ['a0', 'b0', 'one0', 'c0', 'd0'];
    replay.full(keys, values, ids([...keys]));
    expect([keys, values]).toEqual([['a', 'c', 'd'], ['a1', 'c3', 'd0']]);
    expect([...replay.rest(1)]).toEqual([{ keys: ['x'], values: ['x3'] }, { keys: [[2]], values: ['two'] }]);
  });
});
