/**
 * How long the pipeline pauses for a keyed snapshot, and what the copy-on-write costs while the
 * snapshot is written: `npm run bench -- state` (prints, asserts
 * nothing). Environment: MEASURE_KEYS (default 1000000), MEASURE_REPS (default 5).
 *
 * State: one value state, keys `user-<i>` -> {count, sum, last}, one subtask owning all 128 key
 * groups. Measured, each REPS times:
 * 1. pause: `backend.snapshot()` alone (what the barrier waits for), against an eager shallow
 *    copy of every key group's Map (the simplest alternative that isolates the structure);
 * 2. write: writeKeyedSnapshot to a local file alone, and while records keep updating random
 *    keys (value(), mutate, update(), batches of 2000 between the writer's I/O turns); the CPU
 *    time per record inside the record loop, against the same loop with no snapshot pending.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DataFileWriter } from '../src/format/data-file-writer.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { HeapKeyedStateBackend } from '../src/engine/state/heap-keyed-state-backend.ts';
import { writeKeyedSnapshot } from '../src/engine/state/write-keyed-snapshot.ts';
import { type ValueState, valueState } from '../src/engine/state/index.ts';

interface Acc {
  count: number;
  sum: number;
  last: number;
}

const KEYS = Number(process.env.MEASURE_KEYS ?? 1_000_000);
const REPS = Number(process.env.MEASURE_REPS ?? 5);
const BATCH = 2000;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (xs: readonly number[], unit = 'ms', digits = 3): string =>
  `median ${median(xs).toFixed(digits)} ${unit} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;

let seed = 12345;
function nextKey(): string {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return `user-${seed % KEYS}`;
}

function processBatch(backend: HeapKeyedStateBackend, state: ValueState<Acc>, n: number): void {
  for (let i = 0; i < n; i++) {
    backend.setCurrentKey(nextKey());
    const acc = state.value();
    if (acc === undefined) state.update({ count: 1, sum: i, last: i });
    else {
      // Mutated, then written back: handles hand out copies (keyed-state-handles.ts).
      acc.count += 1;
      acc.sum += i;
      acc.last = i;
      state.update(acc);
    }
  }
}

export async function run(): Promise<void> {
  const backend = new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128 });
  const state = backend.getState(valueState<Acc>('acc'));
  let t = performance.now();
  for (let i = 0; i < KEYS; i++) {
    backend.setCurrentKey(`user-${i}`);
    state.update({ count: 1, sum: i, last: i });
  }
  console.log(`${KEYS} keys loaded in ${((performance.now() - t) / 1000).toFixed(2)} s`);

  // The simplest alternative for comparison: a shallow copy of every key group's Map at the barrier.
  const plain = Array.from({ length: 128 }, () => new Map<string, Acc>());
  for (let i = 0; i < KEYS; i++) plain[i % 128]!.set(`user-${i}`, { count: 1, sum: i, last: i });
  const pauses: number[] = [];
  const eager: number[] = [];
  for (let r = 0; r < REPS; r++) {
    t = performance.now();
    const snapshot = backend.snapshot();
    pauses.push(performance.now() - t);
    snapshot.release();
    t = performance.now();
    const copies = plain.map((m) => new Map(m));
    eager.push(performance.now() - t);
    if (copies.length !== 128) throw new Error('unexpected');
  }
  plain.length = 0;
  console.log(`snapshot() pause:                 ${fmt(pauses)}`);
  console.log(`eager shallow copy of all Maps:   ${fmt(eager, 'ms', 1)}`);

  const dir = await mkdtemp(join(tmpdir(), 'tsflink-measure-'));
  const store = new LocalObjectStore(dir);
  const writeAlone: number[] = [];
  const writeShared: number[] = [];
  const nsDuring: number[] = [];
  const nsWithout: number[] = [];
  const recordsDuring: number[] = [];
  // Time spent inside the record loop only: the writer shares the thread, so wall-clock
  // throughput would mostly measure the writer; this isolates what copy-on-write adds per record.
  const timedBatch = (): number => {
    const start = performance.now();
    processBatch(backend, state, BATCH);
    return performance.now() - start;
  };
  try {
    for (let r = 0; r < REPS; r++) {
      let file = await DataFileWriter.create(store, `alone-${r}.tsfs`);
      t = performance.now();
      await writeKeyedSnapshot(backend.snapshot(), file, 'measure');
      await file.close();
      writeAlone.push((performance.now() - t) / 1000);

      let busy = 0;
      let records = 0;
      t = performance.now();
      while (performance.now() - t < 1000) {
        busy += timedBatch();
        records += BATCH;
        await nextTurn();
      }
      nsWithout.push((busy * 1e6) / records);

      file = await DataFileWriter.create(store, `shared-${r}.tsfs`);
      const snapshot = backend.snapshot();
      let done = false;
      busy = 0;
      records = 0;
      t = performance.now();
      const writing = writeKeyedSnapshot(snapshot, file, 'measure').then(async (blocks) => {
        await file.close();
        done = true;
        return blocks;
      });
      while (!done) {
        busy += timedBatch();
        records += BATCH;
        await nextTurn();
      }
      const blocks = await writing;
      writeShared.push((performance.now() - t) / 1000);
      nsDuring.push((busy * 1e6) / records);
      recordsDuring.push(records);
      if (blocks[0]!.blocks.reduce((n, b) => n + b.entries, 0) !== KEYS) throw new Error('snapshot lost entries');
      for (const name of [`alone-${r}.tsfs`, `shared-${r}.tsfs`]) await store.delete(name);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`async write, nothing else running:      ${fmt(writeAlone, 's', 2)}`);
  console.log(`async write, records processed between: ${fmt(writeShared, 's', 2)}; ${fmt(recordsDuring, 'records', 0)} processed meanwhile`);
  console.log(`record loop CPU while a snapshot is written: ${fmt(nsDuring, 'ns/record', 0)}`);
  console.log(`record loop CPU with no snapshot pending:    ${fmt(nsWithout, 'ns/record', 0)}`);
}

