/**
 * `npm run bench -- changes`: what change tracking (incremental checkpoints, change-tracking.ts)
 * costs the processing thread, per backend: the same read-modify-writes with tracking off (the
 * baseline, measured in the same run) and on. Prints figures, asserts nothing.
 *
 * One subtask owning all 128 key groups, CHANGES_KEYS (default 100k) keys visited in a seeded
 * pseudo-random order, CHANGES_RECORDS (default 1M) `setCurrentKey; value(); update()` per run;
 * every CHANGES_EVERY (default 200k) records a snapshot for checkpoint n is taken, released and
 * checkpoint n confirmed, in both cases, so the tracked keys stay bounded as in a job.
 * CHANGES_BACKENDS (default `hashmap,rocksdb`), CHANGES_REPS (default 5) rounds after a warm-up,
 * cases interleaved; medians (min-max) and per-round ratios on / off.
 */
import { performance } from 'node:perf_hooks';
import { KEYED_STATE_BACKENDS } from '../src/engine/state/create-keyed-state-backend.ts';
import { OpeningStore } from '../src/engine/state/embedded/opening-store.ts';
import { EmbeddedKeyedStateBackend } from '../src/engine/state/embedded/embedded-keyed-state-backend.ts';
import type { KeyedStateBackend } from '../src/engine/state/keyed-state-backend.ts';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { valueState } from '../src/engine/state/state-descriptors.ts';
import { bold, count, interleave, num, range, ratios, table } from './stats.ts';

const KEYS = Number(process.env.CHANGES_KEYS ?? 100_000);
const RECORDS = Number(process.env.CHANGES_RECORDS ?? 1_000_000);
const EVERY = Number(process.env.CHANGES_EVERY ?? 200_000);
const REPS = Number(process.env.CHANGES_REPS ?? 5);
const BACKENDS = (process.env.CHANGES_BACKENDS ?? 'hashmap,rocksdb').split(',') as BuiltStateBackendType[];

function keySequence(): string[] {
  const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
  let seed = 12345;
  return Array.from({ length: RECORDS }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return keys[seed % KEYS]!;
  });
}

async function newBackend(type: BuiltStateBackendType): Promise<KeyedStateBackend> {
  const backend = KEYED_STATE_BACKENDS[type]({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128, owner: 'bench' });
  if (backend instanceof EmbeddedKeyedStateBackend && backend.store instanceof OpeningStore) await backend.store.ready();
  return backend;
}

async function countRun(type: BuiltStateBackendType, sequence: readonly string[], track: boolean): Promise<number> {
  const backend = await newBackend(type);
  try {
    if (track) backend.trackChanges!(undefined);
    const state = backend.getState(valueState<number>('count'));
    let checkpoint = 0;
    const start = performance.now();
    for (let i = 0; i < sequence.length; i++) {
      backend.setCurrentKey(sequence[i]!);
      state.update((state.value() ?? 0) + 1);
      if ((i + 1) % EVERY === 0) {
        checkpoint++;
        backend.snapshot({ checkpointId: checkpoint }).release();
        backend.confirmChanges?.(checkpoint);
      }
    }
    return (performance.now() - start) / 1000;
  } finally {
    await backend.dispose();
  }
}

export async function run(): Promise<void> {
  const sequence = keySequence();
  console.log(bold('change tracking: the processing-thread cost of recording changed keys (incremental checkpoints)'));
  console.log(
    `${count(RECORDS)} read-modify-writes of a ValueState<number> over ${count(KEYS)} keys per run, a snapshot + confirm every ${count(EVERY)}, ` +
      `${REPS} rounds after a warm-up, cases interleaved; records/s median (min-max)`,
  );
  const rows: string[][] = [['backend', 'tracking off (baseline)', 'tracking on', 'on / off']];
  for (const type of BACKENDS) {
    const samples = await interleave({ off: () => countRun(type, sequence, false), on: () => countRun(type, sequence, true) }, { reps: REPS });
    const rate = (seconds: readonly number[]): string => {
      const r = range(seconds.map((s) => RECORDS / s));
      return `${count(r.median)}/s (${count(r.min)}/s-${count(r.max)}/s)`;
    };
    // Throughput ratio on/off = off seconds / on seconds.
    const r = range(ratios(samples.off, samples.on));
    rows.push([type, rate(samples.off), rate(samples.on), `${num(r.median)} (${num(r.min)}-${num(r.max)})`]);
  }
  console.log(table(rows));
}
