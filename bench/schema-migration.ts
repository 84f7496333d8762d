/**
 * `npm run bench -- migration`: what a state schema migration costs when a restored state is first
 * declared (schema-migration.ts), beside the restore of the same state in the same run (the
 * baseline: reading nothing, just loading the key groups into the backend). Prints figures,
 * asserts nothing.
 *
 * One subtask owning all 128 key groups, MIGRATION_KEYS (default 100k) keys of a value state
 * `{ orders, totalCents }` at schema version 1, migrated to version 2 (a field added) on each
 * backend. MIGRATION_REPS (default 3) rounds after a warm-up; medians (min-max).
 */
import { performance } from 'node:perf_hooks';
import { KEYED_STATE_BACKENDS } from '../src/engine/state/create-keyed-state-backend.ts';
import type { KeyedStateBackend } from '../src/engine/state/keyed-state-backend.ts';
import { valueState } from '../src/engine/state/state-descriptors.ts';
import { bold, count, interleave, num, range, ratios, table } from './stats.ts';

const KEYS = Number(process.env.MIGRATION_KEYS ?? 100_000);
const REPS = Number(process.env.MIGRATION_REPS ?? 3);
const RANGE = { start: 0, end: 127 };

type V1 = { orders: number; totalCents: number };
const INFO = { name: 'sum', kind: 'value' as const, schemaVersion: 1, ttl: null };

/** The snapshot of one state, as restore-state.ts hands it to a backend: key group -> keys and values. */
function snapshotOf(): Map<number, { keys: string[]; values: V1[] }> {
  const source = KEYED_STATE_BACKENDS.hashmap({ keyGroupRange: RANGE, maxParallelism: 128 });
  const out = new Map<number, { keys: string[]; values: V1[] }>();
  for (let i = 0; i < KEYS; i++) {
    const key = `user-${i}`;
    source.setCurrentKey(key);
    const g = source.getCurrentKeyGroup();
    let batch = out.get(g);
    if (batch === undefined) out.set(g, (batch = { keys: [], values: [] }));
    batch.keys.push(key);
    batch.values.push({ orders: i % 7, totalCents: i });
  }
  return out;
}

async function restored(type: keyof typeof KEYED_STATE_BACKENDS, snapshot: Map<number, { keys: string[]; values: V1[] }>): Promise<{ backend: KeyedStateBackend; seconds: number }> {
  const backend = KEYED_STATE_BACKENDS[type]({ keyGroupRange: RANGE, maxParallelism: 128, owner: 'bench' });
  const start = performance.now();
  backend.registerRestoredState(INFO);
  for (const [g, { keys, values }] of snapshot) backend.restoreKeyGroup(INFO, g, keys, values, 'bench');
  return { backend, seconds: (performance.now() - start) / 1000 };
}

export async function run(): Promise<void> {
  const snapshot = snapshotOf();
  console.log(bold('state schema migration: migrating every value of a restored state once, beside restoring it'));
  console.log(`${count(KEYS)} keys of a value state, ${REPS} rounds after a warm-up; seconds median (min-max)`);
  const rows: string[][] = [['backend', 'restore (baseline)', 'migration', 'migration / restore', 'values/s migrated']];
  for (const type of Object.keys(KEYED_STATE_BACKENDS) as (keyof typeof KEYED_STATE_BACKENDS)[]) {
    const samples = await interleave(
      {
        restore: async () => {
          const { backend, seconds } = await restored(type, snapshot);
          await backend.dispose();
          return seconds;
        },
        migrate: async () => {
          const { backend } = await restored(type, snapshot);
          const start = performance.now();
          backend.getState(valueState<V1 & { largestCents: number }>('sum', { schemaVersion: 2, migrate: (old) => ({ ...(old as V1), largestCents: 0 }) }));
          const seconds = (performance.now() - start) / 1000;
          await backend.dispose();
          return seconds;
        },
      },
      { reps: REPS },
    );
    const show = (s: number[]): string => {
      const r = range(s);
      return `${num(r.median)} (${num(r.min)}-${num(r.max)})`;
    };
    const ratio = range(ratios(samples.migrate, samples.restore));
    rows.push([type, show(samples.restore), show(samples.migrate), `${num(ratio.median)} (${num(ratio.min)}-${num(ratio.max)})`, count(KEYS / range(samples.migrate).median)]);
  }
  console.log(table(rows));
}
