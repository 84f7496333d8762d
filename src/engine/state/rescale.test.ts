/**
 * End to end through real files: p1 subtasks snapshot their state, the real SnapshotWriter
 * writes it, and p2 subtasks restore it following a RestorePlan. Nothing may be lost,
 * duplicated, changed, or land on a subtask that does not own its key group.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { encodeCanonicalKey } from '../../format/canonical-key.ts';
import { keyGroupFor, rangeForSubtask, subtaskFor } from '../../format/key-groups.ts';
import { SnapshotReader } from '../../format/snapshot-reader.ts';
import { verifySnapshot } from '../../format/verify-snapshot.ts';
import { LocalObjectStore } from '../../storage/local-store.ts';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.ts';
import { OperatorStateStore } from './operator-state-store.ts';
import { planRestore } from './restore-plan.ts';
import { restoreKeyedState, restoreOperatorState } from './restore-state.ts';
import { writeOperatorSnapshots } from './snapshot-test-support.ts';
import { listState, mapState, valueState } from './state-descriptors.ts';

let root: Awaited<ReturnType<typeof tempDir>>;
let counter = 0;
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await root.remove();
});
const freshStore = (): LocalObjectStore => new LocalObjectStore(`${root.path}/r${counter++}`);
const keyId = (k: unknown): string => Buffer.from(encodeCanonicalKey(k)).toString('hex');

const keyArb = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.tuple(fc.string({ maxLength: 4 }), fc.nat()));
const valueArb = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)),
  fc.record({ count: fc.nat(), sum: fc.integer(), last: fc.string({ maxLength: 5 }) }),
  fc.array(fc.integer(), { maxLength: 4 }),
);

interface Case {
  readonly entries: readonly (readonly [unknown, unknown])[];
  readonly elements: readonly number[];
  readonly maxP: number;
  readonly p1: number;
  readonly p2: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    entries: fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => keyId(k), maxLength: 120 }),
    elements: fc.array(fc.nat(), { maxLength: 30 }),
    maxP: fc.constantFrom(1, 3, 8, 128),
    a: fc.nat(),
    b: fc.nat(),
  })
  .map(({ entries, elements, maxP, a, b }) => ({ entries, elements, maxP, p1: 1 + (a % Math.min(maxP, 5)), p2: 1 + (b % Math.min(maxP, 5)) }));

async function roundTrip({ entries, elements, maxP, p1, p2 }: Case) {
  // The old job: p1 subtasks, each fed only the keys of its key groups.
  const snapshots = Array.from({ length: p1 }, (_, i) => {
    const backend = new HeapKeyedStateBackend({ keyGroupRange: rangeForSubtask(i, p1, maxP), maxParallelism: maxP });
    const value = backend.getState(valueState<unknown>('value'));
    const byKey = backend.getState(mapState<string, unknown>('map'));
    const seen = backend.getState(listState<number>('list'));
    for (const [key, v] of entries) {
      if (subtaskFor(keyGroupFor(key, maxP), p1, maxP) !== i) continue;
      backend.setCurrentKey(key);
      value.update(v);
      byKey.put('v', v);
      seen.add(1);
      seen.add(2);
    }
    const operator = new OperatorStateStore();
    const split = operator.getListState<number>('split');
    const union = operator.getUnionListState<number>('union');
    elements.forEach((e, n) => n % p1 === i && split.add(e));
    union.add(i);
    return { keyed: backend.snapshot(), operator: operator.snapshot() };
  });
  const store = freshStore();
  await writeOperatorSnapshots(store, [{ uid: 'op', maxParallelism: maxP, subtasks: snapshots }]);
  const report = await verifySnapshot(store);
  expect(report.problems).toEqual([]);

  // The new job: p2 subtasks restore by plan.
  const reader = await SnapshotReader.open(store);
  const plan = planRestore({
    location: store.location,
    metadata: reader.metadata,
    operators: [{ uid: 'op', parallelism: p2, maxParallelism: maxP }],
    allowNonRestoredState: false,
  });
  const restored = [];
  for (const sub of plan.operators[0]!.subtasks) {
    const backend = new HeapKeyedStateBackend({ keyGroupRange: sub.keyGroupRange, maxParallelism: maxP });
    const operator = new OperatorStateStore();
    await restoreKeyedState(reader, sub, backend);
    await restoreOperatorState(reader, sub, operator);
    restored.push({ backend, operator, range: sub.keyGroupRange });
  }
  return restored;
}

describe('rescaling keyed and operator state through a real snapshot', () => {
  it('restores exactly the same state at any parallelism, each key on the subtask owning its key group', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const restored = await roundTrip(c);
        const values = new Map<string, unknown>();
        for (const { backend, range } of restored) {
          const value = backend.getState(valueState<unknown>('value'));
          const byKey = backend.getState(mapState<string, unknown>('map'));
          const seen = backend.getState(listState<number>('list'));
          for (const key of [...backend.keys('value')]) {
            const group = keyGroupFor(key, c.maxP);
            expect(group).toBeGreaterThanOrEqual(range.start);
            expect(group).toBeLessThanOrEqual(range.end);
            backend.setCurrentKey(key);
            expect(values.has(keyId(key))).toBe(false);
            values.set(keyId(key), value.value());
            expect(byKey.get('v')).toEqual(value.value());
            expect([...seen.get()]).toEqual([1, 2]);
          }
          expect(backend.size('map')).toBe(backend.size('value'));
        }
        expect(values).toEqual(new Map(c.entries.map(([k, v]) => [keyId(k), v])));

        const split = restored.flatMap(({ operator }) => [...operator.getListState<number>('split').get()]);
        expect(split.sort((a, b) => a - b)).toEqual([...c.elements].sort((a, b) => a - b));
        for (const { operator } of restored) {
          expect([...operator.getUnionListState<number>('union').get()]).toEqual(Array.from({ length: c.p1 }, (_, i) => i));
        }
      }),
      { numRuns: 30, seed: 20240601 },
    );
  });
});
