/**
 * Small savepoints for the schema evolution CLI tests, written as the engine writes them: the
 * `user-totals` window state of order-totals.ts (`window-contents`, window end -> accumulator) at a
 * chosen schema version, and a `dedup` operator whose states change between versions. Their
 * entries are fixed, so `flink diff --schema` and `plan-restore` print the same on every run.
 */
import { HeapKeyedStateBackend } from '../../src/engine/state/heap-keyed-state-backend.ts';
import { writeOperatorSnapshots } from '../../src/engine/state/snapshot-test-support.ts';
import { mapState, valueState } from '../../src/engine/state/state-descriptors.ts';
import { LocalObjectStore } from '../../src/storage/local-store.ts';

const MAX_P = 128;

/**
 * Writes a savepoint to `dir`: window accumulators at `windowVersion` (version 1:
 * `{ orders, totalCents }`, later ones also `largestCents`); with `dedupV2`, `dedup` has lost
 * its `legacy` state and gained `order-count`.
 */
export async function writeSchemaSavepoint(dir: string, windowVersion: number, dedupV2: boolean): Promise<void> {
  const windows = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
  const contents = windows.getState(mapState<number, object>('window-contents', { schemaVersion: windowVersion, ...(windowVersion > 1 ? { migrate: (o) => o as object } : {}) }));
  const dedup = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: MAX_P - 1 }, maxParallelism: MAX_P });
  const last = dedup.getState(valueState<string>('last-order-id'));
  const legacy = dedupV2 ? undefined : dedup.getState(valueState<number>('legacy'));
  const count = dedupV2 ? dedup.getState(valueState<number>('order-count')) : undefined;
  for (let u = 1; u <= 3; u++) {
    const user = `user-${u}`;
    windows.setCurrentKey(user);
    const sum = { orders: u, totalCents: 1000 * u };
    contents.put(1_704_067_800_000, windowVersion === 1 ? sum : { ...sum, largestCents: 1000 });
    dedup.setCurrentKey(user);
    last.update(`s0000${u}`);
    legacy?.update(u);
    count?.update(u);
  }
  await writeOperatorSnapshots(new LocalObjectStore(dir), [
    { uid: 'dedup', maxParallelism: MAX_P, subtasks: [{ keyed: dedup.snapshot() }] },
    { uid: 'user-totals', maxParallelism: MAX_P, subtasks: [{ keyed: windows.snapshot() }] },
  ]);
}
