/**
 * Reading a version 3 checkpoint whose key groups are chains against reading the same state as
 * full blocks, in the same run: `npm run bench -- replay`. Environment: MEASURE_KEYS (default
 * 200000), MEASURE_REPS (default 5).
 *
 * A keyed value state of MEASURE_KEYS keys (max parallelism 128, one subtask) is written as an
 * incremental checkpoint chk-1 (full blocks in a shared file); then 10% of the keys are updated
 * and 5% deleted, and chk-2 is written as deltas (each key group: chk-1's full block, an upserts
 * and a deletions block). Measured: SnapshotReader.readKeyed over every key group of each,
 * best of REPS; the baseline is chk-1 (frame-at-a-time streaming).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotReader } from '../src/format/snapshot-reader.ts';
import { writeIncrementalCheckpoint } from '../src/format/write-incremental-checkpoint.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';

const KEYS = Number(process.env.MEASURE_KEYS ?? 200_000);
const REPS = Number(process.env.MEASURE_REPS ?? 5);
const JOB = 'be0c4e3a000000000000000000000003';

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-replay-'));
  try {
    const state = new Map<string, unknown>(Array.from({ length: KEYS }, (_, i) => [`key-${i}`, { n: i, s: 'x'.repeat(20) }]));
    const checkpoint = (id: number) => ({
      jobId: JOB,
      jobName: 'bench-replay',
      checkpointId: id,
      createdAt: 0,
      operators: [{ uid: 'op', parallelism: 1, maxParallelism: 128, keyedStates: [{ name: 'v', kind: 'value' as const, entries: [...state] }] }],
    });
    const rootStore = new LocalObjectStore(root);
    const dir = (id: number): LocalObjectStore => new LocalObjectStore(join(root, JOB, `chk-${id}`));
    const first = await writeIncrementalCheckpoint(rootStore, dir(1), checkpoint(1));
    for (let i = 0; i < KEYS; i += 10) state.set(`key-${i}`, { n: -i });
    for (let i = 5; i < KEYS; i += 20) state.delete(`key-${i}`);
    await writeIncrementalCheckpoint(rootStore, dir(2), checkpoint(2), first.base);
    const readOnce = async (id: number): Promise<{ ms: number; entries: number }> => {
      const reader = await SnapshotReader.open(dir(id));
      const started = performance.now();
      let entries = 0;
      for await (const batch of reader.readKeyed('op', 'v')) entries += batch.keys.length;
      return { ms: performance.now() - started, entries };
    };
    // Interleaved, so a busy machine slows both alike; best of REPS each.
    let full = { ms: Infinity, entries: 0 };
    let chains = { ms: Infinity, entries: 0 };
    for (let r = 0; r < REPS; r++) {
      const a = await readOnce(1);
      const b = await readOnce(2);
      if (a.ms < full.ms) full = a;
      if (b.ms < chains.ms) chains = b;
    }
    console.log(`replay: ${KEYS} keys, best of ${REPS}`);
    console.log(`  full blocks (baseline):          ${full.entries} entries in ${full.ms.toFixed(0)} ms`);
    console.log(`  chains (full + upserts + deletions): ${chains.entries} entries in ${chains.ms.toFixed(0)} ms (${(chains.ms / full.ms).toFixed(2)}x the baseline)`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
