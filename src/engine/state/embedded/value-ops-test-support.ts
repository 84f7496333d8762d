/**
 * For tests that write an on-disk backend's snapshots two ways and compare the files (the lmdb
 * snapshot thread, the chain rewrite thread): random operations on a value and a reducing state,
 * with values the data file writer writes as stored and values it must decode and pack again.
 */
import fc from 'fast-check';
import { reducingState, valueState } from '../state-descriptors.ts';
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
