/**
 * `npm run bench -- pause`: the processing thread's pause for a keyed snapshot on each backend,
 * and the record loop's throughput between snapshots (prints, asserts nothing).
 * Environment: PAUSE_BACKENDS (default hashmap,lmdb,rocksdb), PAUSE_KEYS (default
 * 100000,1000000), PAUSE_UPDATES (records between two snapshots, default 200000), PAUSE_REPS
 * (default 5).
 *
 * One subtask owning 128 key groups, one value state `user-<i>` -> {count, sum, last}, loaded
 * first. Then each rep: PAUSE_UPDATES records on random keys (value(), change, update()), timed;
 * `backend.snapshot()`, timed: what the barrier holds the thread for (for lmdb and rocksdb the
 * write-back cache's flush and the store snapshot); then the snapshot written to a local file by
 * writeKeyedSnapshot (the asynchronous part), timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataFileWriter } from '../src/format/data-file-writer.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { KEYED_STATE_BACKENDS } from '../src/engine/state/create-keyed-state-backend.ts';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { writeKeyedSnapshot } from '../src/engine/state/write-keyed-snapshot.ts';
import { valueState } from '../src/engine/state/index.ts';

interface Acc {
  count: number;
  sum: number;
  last: number;
}

const BACKENDS = (process.env.PAUSE_BACKENDS ?? 'hashmap,lmdb,rocksdb').split(',') as BuiltStateBackendType[];
const KEY_COUNTS = (process.env.PAUSE_KEYS ?? '100000,1000000').split(',').map(Number);
const UPDATES = Number(process.env.PAUSE_UPDATES ?? 200_000);
const REPS = Number(process.env.PAUSE_REPS ?? 5);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (xs: readonly number[], digits = 1): string => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsflink-pause-'));
  const files = new LocalObjectStore(join(dir, 'snapshots'));
  console.log(`keyed snapshot pause: ${UPDATES} records between snapshots, ${REPS} reps, medians (min-max)`);
  try {
    for (const keys of KEY_COUNTS) {
      for (const type of BACKENDS) {
        const backend = KEYED_STATE_BACKENDS[type]({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128, owner: 'pause bench', localDir: dir });
        const state = backend.getState(valueState<Acc>('acc'));
        let t = performance.now();
        for (let i = 0; i < keys; i++) {
          backend.setCurrentKey(`user-${i}`);
          state.update({ count: 1, sum: i, last: i });
        }
        const loadS = (performance.now() - t) / 1000;
        let seed = 12345;
        const pauses: number[] = [];
        const rates: number[] = [];
        const writes: number[] = [];
        for (let r = 0; r < REPS; r++) {
          t = performance.now();
          for (let i = 0; i < UPDATES; i++) {
            seed = (seed * 1103515245 + 12345) & 0x7fffffff;
            backend.setCurrentKey(`user-${seed % keys}`);
            const acc = state.value()!;
            acc.count += 1;
            acc.sum += i;
            acc.last = i;
            state.update(acc);
          }
          rates.push(UPDATES / ((performance.now() - t) / 1000));
          t = performance.now();
          const snapshot = backend.snapshot();
          pauses.push(performance.now() - t);
          const file = await DataFileWriter.create(files, `${type}-${keys}-${r}.tsfs`);
          t = performance.now();
          await writeKeyedSnapshot(snapshot, file, 'pause');
          await file.close();
          writes.push((performance.now() - t) / 1000);
        }
        await backend.dispose();
        console.log(
          `${String(keys).padStart(8)} keys ${type.padEnd(8)} load ${(keys / loadS / 1000).toFixed(0)}k/s | records ${fmt(rates.map((x) => x / 1000), 0)}k/s | ` +
            `pause ${fmt(pauses, 2)} ms | write ${fmt(writes, 2)} s`,
        );
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
