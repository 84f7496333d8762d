import { describe, expect, it } from 'vitest';
import type { DataFileMeta, KeyGroupBlock, SnapshotMetadata } from '../../format/model.ts';
import { ChainBook, chainsFromMetadata, restrictChains } from './chain-book.ts';
import { chainTotals, type OperatorChains, referencedFiles } from './keyed-chain.ts';

const LAYOUT = { kind: 'value', schemaVersion: 1, ttlLayout: false } as const;
const chainsOf = (tag: number): OperatorChains => new Map([['s', { layout: LAYOUT, chains: new Map([[0, [{ path: `j/shared/${tag}`, fileSize: 100, offset: 16, length: 10, entries: 1, crc: tag, kind: 'full' as const }]]]) }]]);

describe('ChainBook', () => {
  it('builds on the last confirmed checkpoint only', () => {
    const book = new ChainBook();
    expect(book.base).toBeUndefined();
    book.record(1, chainsOf(1));
    expect(book.base).toBeUndefined(); // acknowledged is not completed
    expect(book.confirm(1)).toBe(true);
    expect(book.base).toEqual({ checkpointId: 1, chains: chainsOf(1) });
    book.record(2, chainsOf(2));
    book.record(3, chainsOf(3));
    book.abort(2);
    expect(book.pendingIds).toEqual([3]);
    expect(book.confirm(3)).toBe(true);
    expect(book.base).toEqual({ checkpointId: 3, chains: chainsOf(3) });
  });

  it('a completion subsumes the pending checkpoints before it; older news changes nothing', () => {
    const book = new ChainBook();
    for (const id of [1, 2, 3]) book.record(id, chainsOf(id));
    expect(book.confirm(2)).toBe(true);
    expect(book.pendingIds).toEqual([3]);
    expect(book.confirm(1)).toBe(false);
    book.record(1, chainsOf(1)); // a late acknowledgement of a checkpoint older than the base
    expect(book.pendingIds).toEqual([3]);
    expect(book.base?.checkpointId).toBe(2);
    expect(book.confirm(5)).toBe(false); // completed without this subtask's chains: 2's files may go, so nothing to build on
    expect(book.pendingIds).toEqual([]);
    expect(book.base).toBeUndefined();
  });

  it('a completion that comes before its chains are recorded moves the base once they are', () => {
    const moved: number[] = [];
    const book = new ChainBook(undefined, (id) => moved.push(id));
    book.record(1, chainsOf(1));
    expect(book.confirm(1)).toBe(true);
    expect(moved).toEqual([1]);
    expect(book.confirm(2)).toBe(false); // not recorded yet: 1 is subsumed, nothing to build on meanwhile
    expect(book.base).toBeUndefined();
    book.record(1, chainsOf(1)); // older than the completion: never a base
    expect(book.base).toBeUndefined();
    expect(book.record(2, chainsOf(2))).toBe(true);
    expect(book.base).toEqual({ checkpointId: 2, chains: chainsOf(2) });
    expect(moved).toEqual([1, 2]);
    expect(book.record(3, chainsOf(3))).toBe(false); // the usual order again: pending until confirmed
    expect(book.confirm(4)).toBe(false);
    expect(book.confirm(3)).toBe(false); // late news: 4 completed
    expect(book.record(3, chainsOf(3))).toBe(false);
    book.abort(4); // 4 will never be recorded
    expect(book.record(4, chainsOf(4))).toBe(false);
    expect(book.base).toBeUndefined();
    expect(moved).toEqual([1, 2]);
  });

  it('starts from a restore when its chains can be built on', () => {
    expect(ChainBook.fromRestore(7, chainsOf(7)).base).toEqual({ checkpointId: 7, chains: chainsOf(7) });
    expect(ChainBook.fromRestore(7, undefined).base).toBeUndefined();
  });
});

function metadata(kind: 'checkpoint' | 'savepoint', files: DataFileMeta[], blocks: KeyGroupBlock[]): SnapshotMetadata {
  return {
    formatVersion: 3,
    kind,
    type: 'canonical',
    jobId: 'j',
    jobName: 'job',
    checkpointId: 4,
    createdAt: 0,
    engine: 'test',
    stats: { bytes: 0, entries: 0, durations: {} },
    files,
    operators: [
      {
        uid: 'op',
        id: new Uint8Array(16),
        name: 'op',
        parallelism: 2,
        maxParallelism: 8,
        keyedStates: [{ name: 's', kind: 'map', schemaVersion: 2, ttl: null, entries: 0, bytes: 0, blocks }],
        operatorStates: [],
      },
    ],
  };
}

const ref = (keyGroup: number, file: number, offset: number, kind?: KeyGroupBlock['kind']): KeyGroupBlock => ({ keyGroup, file, offset, length: 10, entries: 2, crc: offset, ...(kind === undefined ? {} : { kind }) });

describe('chainsFromMetadata', () => {
  const shared: DataFileMeta[] = [
    { path: 'j/shared/a.tsfs', size: 500, shared: true, written: false },
    { path: 'j/shared/b.tsfs', size: 300, shared: true },
  ];
  const blocks = [ref(1, 0, 16), ref(1, 1, 16, 'upserts'), ref(1, 1, 26, 'deletions'), ref(5, 0, 26)];

  it('gives the chains of the key groups in range, naming files by their root-relative paths', () => {
    const chains = chainsFromMetadata(metadata('checkpoint', shared, blocks), 'op', { start: 0, end: 3 })!;
    expect(chains.get('s')!.layout).toEqual({ kind: 'map', schemaVersion: 2, ttlLayout: false });
    expect([...chains.get('s')!.chains.keys()]).toEqual([1]);
    expect(chains.get('s')!.chains.get(1)).toEqual([
      { path: 'j/shared/a.tsfs', fileSize: 500, offset: 16, length: 10, entries: 2, crc: 16, kind: 'full' },
      { path: 'j/shared/b.tsfs', fileSize: 300, offset: 16, length: 10, entries: 2, crc: 16, kind: 'upserts' },
      { path: 'j/shared/b.tsfs', fileSize: 300, offset: 26, length: 10, entries: 2, crc: 26, kind: 'deletions' },
    ]);
    expect(chainTotals(chains.get('s')!.chains)).toEqual({ entries: 6, bytes: 30 });
    expect(referencedFiles(chains)).toEqual(new Map([['j/shared/a.tsfs', 500], ['j/shared/b.tsfs', 300]]));
    expect([...chainsFromMetadata(metadata('checkpoint', shared, blocks), 'op', { start: 4, end: 7 })!.get('s')!.chains.keys()]).toEqual([5]);
  });

  it('refuses a savepoint and chains in a file of the snapshot directory', () => {
    expect(chainsFromMetadata(metadata('savepoint', shared, blocks), 'op', { start: 0, end: 7 })).toBeUndefined();
    const own: DataFileMeta[] = [shared[0]!, { path: 'op-0.tsfs', size: 300 }];
    expect(chainsFromMetadata(metadata('checkpoint', own, blocks), 'op', { start: 0, end: 7 })).toBeUndefined();
    // Only the key groups this subtask builds on matter: a non-shared file elsewhere does not refuse them.
    expect(chainsFromMetadata(metadata('checkpoint', own, [ref(5, 0, 26), ref(1, 1, 16)]), 'op', { start: 4, end: 7 })).toBeDefined();
  });

  it('an operator the snapshot does not list starts from empty chains', () => {
    expect(chainsFromMetadata(metadata('checkpoint', shared, blocks), 'other', { start: 0, end: 7 })).toEqual(new Map());
  });

  it('restrictChains keeps only the key groups a subtask owns', () => {
    const chains = chainsFromMetadata(metadata('checkpoint', shared, blocks), 'op', { start: 0, end: 7 })!;
    expect([...restrictChains(chains, { start: 4, end: 7 }).get('s')!.chains.keys()]).toEqual([5]);
  });
});
