/**
 * Sample state shaped like the seed example (per-user order totals in event-time windows, with a
 * source that remembers its offsets and a two-phase-commit sink with pending transactions), for
 * the demo and the fixture generator until the engine writes real savepoints.
 */
import { mulberry32 } from '../src/engine/connectors/data-generator-source.ts';
import type { SnapshotContent } from '../src/format/write-snapshot.ts';

export const SAMPLE_JOB_ID = '3fa2c1d4e5f60718293a4b5c6d7e8f90';

/** A deterministic pseudo-random sequence, so samples are the same on every run. */
export const seeded = mulberry32;

/** Order totals after `orders` orders from `users` users; `later` adds a dedup operator. */
export function orderTotals(options: { checkpointId: number; orders: number; users: number; later?: boolean; createdAt?: number }): SnapshotContent {
  const random = seeded(7);
  const totals = new Map<string, { count: number; sum: number; last: number }>();
  const base = Date.UTC(2026, 10, 21, 9, 0, 0);
  for (let i = 0; i < options.orders; i++) {
    const user = `user-${Math.floor(random() * options.users)}`;
    const amount = Math.round(random() * 10_000) / 100;
    const t = totals.get(user) ?? { count: 0, sum: 0, last: 0 };
    totals.set(user, { count: t.count + 1, sum: Math.round((t.sum + amount) * 100) / 100, last: base + i * 1000 });
  }
  const windowEnd = base + 10 * 60 * 1000;
  return {
    info: {
      kind: 'savepoint',
      jobId: SAMPLE_JOB_ID,
      jobName: 'order-totals',
      checkpointId: options.checkpointId,
      createdAt: options.createdAt ?? base + options.orders * 1000,
    },
    operators: [
      {
        uid: 'orders-source',
        name: 'Orders file source',
        parallelism: 2,
        maxParallelism: 128,
        operatorStates: [
          { name: 'splits', kind: 'list', mode: 'split', partitions: [[{ file: 'orders-0.csv', offset: options.orders * 21 }], [{ file: 'orders-1.csv', offset: options.orders * 19 }]] },
        ],
      },
      {
        uid: 'orders-window',
        name: 'Per-user totals (10 min windows)',
        parallelism: 2,
        maxParallelism: 128,
        keyedStates: [
          { name: 'totals', kind: 'aggregating', schemaVersion: 1, entries: totals.entries() },
          { name: 'window-timers', kind: 'timers', entries: [...totals.keys()].map((u) => [u, [[0, windowEnd]]] as const) },
        ],
      },
      ...(options.later === true
        ? [{ uid: 'dedup', name: 'Drop repeated orders', parallelism: 2, maxParallelism: 128, keyedStates: [{ name: 'seen', kind: 'value' as const, ttl: { ttlMs: 3_600_000, update: 'OnCreateAndWrite' as const, visibility: 'NeverReturnExpired' as const }, entries: [...totals.keys()].map((u) => [u, [true, BigInt(base)]] as const) }] }] // under TTL: [value, lastAccess] (FORMAT.md 5.4)
        : []),
      {
        uid: 'totals-sink',
        name: 'Exactly-once file sink',
        parallelism: 2,
        maxParallelism: 128,
        operatorStates: [
          { name: 'pending-transactions', kind: 'list', mode: 'split', partitions: [[{ checkpointId: options.checkpointId, file: `part-0-${options.checkpointId}.inprogress` }], []] },
        ],
      },
    ],
  };
}
