/**
 * For tests that write an on-disk backend's snapshots two ways and compare the files (the lmdb
 * snapshot thread, the chain rewrite thread): random operations on a value and a reducing state,
 * with values the data file writer writes as stored and values it must decode and pack again.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { DataFileWriter } from '../../../format/data-file-writer.ts';
import type { ObjectStore } from '../../../storage/object-store.ts';
import type { ChainBook } from '../../checkpoint/chain-book.ts';
import type { KeyedStateSnapshot } from '../keyed-state-backend.ts';
import { reducingState, valueState } from '../state-descriptors.ts';
import { completeChains, type IncrementalKeyedOptions, writeIncrementalKeyedSnapshot } from '../write-incremental-keyed-snapshot.ts';
import type { EmbeddedKeyedStateBackend } from './embedded-keyed-state-backend.ts';

export type ValueOp = { op: 'v'; key: number; value: unknown } | { op: 'r'; key: number; n: number } | { op: 'clear'; key: number };

const key = fc.integer({ min: 0, max: 300 });

export const valueOpArb: fc.Arbitrary<ValueOp> = fc.oneof(
  // A bigint, a lone surrogate, NaN and a Map are packed again; the rest go as stored.
  { arbitrary: fc.record({ op: fc.constant('v' as const), key, value: fc.oneof(fc.integer(), fc.string({ maxLength: 30 }), fc.double(), fc.constantFrom(5n, '\uD800x', NaN, new Map([['b', 1]])), fc.array(fc.integer(), { maxLength: 5 })) }), weight: 4 },
  fc.record({ op: fc.constant('r' as const), key, n: fc.integer({ min: -100, max: 100 }) }),
  fc.record({ op: fc.constant('clear' as const), key }),
);

export function applyValueOp(b: EmbeddedKeyedStateBackend, op: ValueOp): void {
  b.setCurrentKey(op.key);
  switch (op.op) {
    case 'v':
      return b.getState(valueState<unknown>('v')).update(op.value);
    case 'r':
      return b.getState(reducingState<number>('r', (x, y) => x + y)).add(op.n);
    case 'clear':
      return b.getState(valueState<unknown>('v')).clear();
  }
}

/**
 * Checkpoint `id` of two backends that went through the same operations, written by
 * writeIncrementalKeyedSnapshot into the same path of each one's store with `options(i)` added,
 * recorded in each one's book and confirmed: the results and the files must be the same.
 */
export async function checkpointBothWays(
  id: number,
  sides: readonly { readonly backend: EmbeddedKeyedStateBackend; readonly snapshot: KeyedStateSnapshot; readonly store: ObjectStore; readonly book: ChainBook }[],
  options: (side: number) => Partial<IncrementalKeyedOptions>,
): Promise<void> {
  const sharedPath = `job/shared/op-${id}.tsfs`;
  const results = [];
  for (let i = 0; i < sides.length; i++) {
    const { backend, snapshot, store, book } = sides[i]!;
    const writer = await DataFileWriter.create(store, sharedPath);
    const result = await writeIncrementalKeyedSnapshot(snapshot, writer, { operatorUid: 'op', sharedPath, base: book.base, checkpointId: id, ...options(i) });
    const size = (await writer.close()).size;
    results.push(result);
    book.record(id, completeChains(result, size));
    if (book.confirm(id)) backend.confirmChanges!(id);
  }
  expect(results[1]).toEqual(results[0]);
  const files = await Promise.all(sides.map((s) => s.store.get(sharedPath)));
  expect(Buffer.from(files[1]!).equals(Buffer.from(files[0]!))).toBe(true);
}
