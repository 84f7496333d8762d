/**
 * `npm run bench -- handles`: what Flink's handle contract costs on the heap backend (handles
 * copy objects on the way out and in; keyed-state-handles.ts). Prints figures, asserts nothing.
 *
 * One subtask owning all 128 key groups, HANDLES_KEYS (default 100k) keys `user-<i>` visited in
 * a seeded pseudo-random order, HANDLES_RECORDS (default 1M) read-modify-writes per run, each:
 * setCurrentKey, value(), a new value, update(). Four cases, interleaved, HANDLES_REPS (default 5)
 * rounds after a warm-up, medians (min-max) and per-round ratios:
 * - number, user handle: a count (primitives are never copied: should match the engine handle);
 * - number, engine handle: the same without the contract's copies (what every handle cost before);
 * - object {count, sum, last}, user handle: value() copies, mutate the copy, update() copies;
 * - object, engine handle: mutate the stored object, update() stores it (the old aliasing cost).
 */
import { performance } from 'node:perf_hooks';
import { HeapKeyedStateBackend } from '../src/engine/state/heap-keyed-state-backend.ts';
import type { StateAccess } from '../src/engine/state/keyed-state-backend.ts';
import { valueState } from '../src/engine/state/state-descriptors.ts';
import { bold, count, interleave, num, range, ratios, table } from './stats.ts';

interface Acc {
  count: number;
  sum: number;
  last: number;
}

const KEYS = Number(process.env.HANDLES_KEYS ?? 100_000);
const RECORDS = Number(process.env.HANDLES_RECORDS ?? 1_000_000);
const REPS = Number(process.env.HANDLES_REPS ?? 5);

/** The same key sequence for every case: keys are made once, outside the timing. */
function keySequence(): string[] {
  const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);
  let seed = 12345;
  return Array.from({ length: RECORDS }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return keys[seed % KEYS]!;
  });
}

function newBackend(): HeapKeyedStateBackend {
  return new HeapKeyedStateBackend({ keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128 });
}

function countNumbers(sequence: readonly string[], access: StateAccess): number {
  const backend = newBackend();
  const state = backend.getState(valueState<number>('count'), access);
  const start = performance.now();
  for (const key of sequence) {
    backend.setCurrentKey(key);
    state.update((state.value() ?? 0) + 1);
  }
  return (performance.now() - start) / 1000;
}

function foldObjects(sequence: readonly string[], access: StateAccess): number {
  const backend = newBackend();
  const state = backend.getState(valueState<Acc>('acc'), access);
  const start = performance.now();
  for (let i = 0; i < sequence.length; i++) {
    backend.setCurrentKey(sequence[i]!);
    const acc = state.value();
    if (acc === undefined) state.update({ count: 1, sum: i, last: i });
    else {
      acc.count += 1;
      acc.sum += i;
      acc.last = i;
      state.update(acc);
    }
  }
  return (performance.now() - start) / 1000;
}

export async function run(): Promise<void> {
  const sequence = keySequence();
  console.log(bold('state handles: the cost of copying in and out (Flink\'s handle contract) on the heap backend'));
  console.log(`${count(RECORDS)} read-modify-writes over ${count(KEYS)} keys per run, ${REPS} rounds after a warm-up, cases interleaved; records/s median (min-max)`);
  const samples = await interleave(
    {
      numberUser: async () => countNumbers(sequence, 'user'),
      numberEngine: async () => countNumbers(sequence, 'engine'),
      objectUser: async () => foldObjects(sequence, 'user'),
      objectEngine: async () => foldObjects(sequence, 'engine'),
    },
    { reps: REPS },
  );
  const rate = (seconds: readonly number[]): string => {
    const r = range(seconds.map((s) => RECORDS / s));
    return `${count(r.median)}/s (${count(r.min)}/s-${count(r.max)}/s)`;
  };
  const ratio = (a: readonly number[], b: readonly number[]): string => {
    // Throughput ratio user/engine = engine seconds / user seconds.
    const r = range(ratios(b, a));
    return `${num(r.median)} (${num(r.min)}-${num(r.max)})`;
  };
  console.log(
    table([
      ['value', 'user handle (copies)', 'engine handle (no copies)', 'user / engine'],
      ['number', rate(samples.numberUser), rate(samples.numberEngine), ratio(samples.numberUser, samples.numberEngine)],
      ['{count, sum, last}', rate(samples.objectUser), rate(samples.objectEngine), ratio(samples.objectUser, samples.objectEngine)],
    ]),
  );
}
