/**
 * Restore time with local recovery against without it, in the same run: `npm run bench --
 * local-recovery`. Environment: MEASURE_KEYS (default 100000), MEASURE_REPS (default 5),
 * MEASURE_INCREMENTAL (default 0: a full checkpoint; n > 0: a chain of n incremental checkpoints,
 * the first full, each later one changing 1% of the keys, restored from the last: its keyed
 * blocks lie in n shared files, copied locally as the engine's subtasks copy them).
 *
 * One checkpoint of a keyed value state (`user-<i>` -> {count, sum, last}, parallelism 2, max
 * parallelism 128) is written to s3rver through the engine's local-copy tee, so it also has local
 * copies. A restore is what a restart does before processing: choose the restore point (check
 * the checkpoint: chooseRestoreCheckpoint), open it, and load every subtask's key groups into a
 * fresh heap backend (restoreKeyedState). Measured REPS times, the two interleaved: from s3rver
 * (local recovery off) and from the local copies (on; `_metadata` still read from s3rver), and
 * from s3rver reading block by block (readPlanning off: one request per block,
 * as before read-plan.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseRestoreCheckpoint } from '../src/engine/checkpoint/choose-restore-checkpoint.ts';
import { type LocalRecovery, localCheckpointDir, localRecoveryOf, localRootOf, readLocalFirst } from '../src/engine/checkpoint/local-recovery.ts';
import { HeapKeyedStateBackend } from '../src/engine/state/heap-keyed-state-backend.ts';
import { planRestore } from '../src/engine/state/restore-plan.ts';
import { restoreKeyedState } from '../src/engine/state/restore-state.ts';
import { type IncrementalBase, writeIncrementalCheckpoint } from '../src/format/write-incremental-checkpoint.ts';
import { readPlanning } from '../src/format/read-plan.ts';
import { writeSnapshot } from '../src/format/write-snapshot.ts';
import { openSnapshot } from '../src/open-snapshot.ts';
import { LocalCopyTeeStore } from '../src/storage/local-copy-tee.ts';
import type { OpenStoreOptions } from '../src/storage/open-store.ts';
import { openStore } from '../src/storage/open-store.ts';
import { startS3Server } from '../test/support/s3-server.ts';
import { collectGarbage, timed } from './stats.ts';

const KEYS = Number(process.env.MEASURE_KEYS ?? 100_000);
const REPS = Number(process.env.MEASURE_REPS ?? 5);
const STEPS = Number(process.env.MEASURE_INCREMENTAL ?? 0);
const PARALLELISM = 2;
const MAX_PARALLELISM = 128;
const UID = 'counts';
const JOB = 'b0c41ba1000000000000000000000000';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The restart's restore work; returns the entries loaded. */
async function restore(id: number, location: string, storeOptions: OpenStoreOptions, local: LocalRecovery | undefined, coalesce = true): Promise<number> {
  readPlanning.enabled = coalesce; // the check (verify) and the reader alike
  const { chosen } = await chooseRestoreCheckpoint([{ id, location }], storeOptions, local);
  if (chosen === undefined) throw new Error('no checkpoint chosen');
  const opened = await openSnapshot(location, storeOptions);
  const reader = local === undefined ? opened : readLocalFirst(opened, location, local);
  const plan = planRestore({
    location,
    metadata: reader.metadata,
    operators: [{ uid: UID, parallelism: PARALLELISM, maxParallelism: MAX_PARALLELISM, maxParallelismConfigured: true }],
    allowNonRestoredState: false,
  });
  let entries = 0;
  for (const subtask of plan.operators[0]!.subtasks) {
    const backend = new HeapKeyedStateBackend({ keyGroupRange: subtask.keyGroupRange, maxParallelism: MAX_PARALLELISM });
    entries += await restoreKeyedState(reader, subtask, backend);
  }
  return entries;
}

export async function run(): Promise<void> {
  const s3 = await startS3Server();
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-local-'));
  try {
    await s3.createBucket('bench');
    const storeOptions: OpenStoreOptions = { s3Endpoint: s3.endpoint, s3PathStyle: true, s3Credentials: s3.credentials };
    const local = localRecoveryOf({ localBackup: true, localRootDir: root }, JOB)!;
    const id = Math.max(1, STEPS);
    const location = `s3://bench/checkpoints/${JOB}/chk-${id}`;
    const entries = Array.from({ length: KEYS }, (_, i) => [`user-${i}`, { count: i % 17, sum: i * 3, last: i }] as const);
    if (STEPS === 0) {
      await writeSnapshot(new LocalCopyTeeStore(await openStore(location, storeOptions), localCheckpointDir(local, 1)), {
        info: { kind: 'checkpoint', jobId: JOB, jobName: 'bench', checkpointId: 1 },
        operators: [{ uid: UID, parallelism: PARALLELISM, maxParallelism: MAX_PARALLELISM, keyedStates: [{ name: 'acc', kind: 'value', entries }] }],
      });
    } else {
      // Shared files are teed to `<local root>/<jobId>/shared/`; `_metadata` is never copied.
      const root = new LocalCopyTeeStore(await openStore('s3://bench/checkpoints', storeOptions), localRootOf(local));
      let base: IncrementalBase | undefined;
      for (let n = 1; n <= STEPS; n++) {
        // Checkpoint n > 1 changes 1% of the keys (a different 1% each time).
        for (let i = (n * 7919) % 100; n > 1 && i < KEYS; i += 100) entries[i] = [`user-${i}`, { count: n, sum: i * n, last: i }];
        const cp = { jobId: JOB, jobName: 'bench', checkpointId: n, createdAt: n, operators: [{ uid: UID, parallelism: PARALLELISM, maxParallelism: MAX_PARALLELISM, keyedStates: [{ name: 'acc', kind: 'value' as const, entries }] }] };
        base = (await writeIncrementalCheckpoint(root, await openStore(`s3://bench/checkpoints/${JOB}/chk-${n}`, storeOptions), cp, base)).base;
      }
    }
    const fromS3: number[] = [];
    const fromLocal: number[] = [];
    const blockByBlock: number[] = [];
    for (let r = 0; r < REPS + 1; r++) {
      // The first round warms both paths up (module loading, SDK connections) and is not counted.
      for (const [times, via, coalesce] of [
        [fromS3, undefined, true],
        [fromLocal, local, true],
        [blockByBlock, undefined, false],
      ] as const) {
        collectGarbage();
        let loaded = 0;
        const seconds = await timed(async () => (loaded = await restore(id, location, storeOptions, via, coalesce)));
        if (loaded !== KEYS) throw new Error(`restored ${loaded} entries, expected ${KEYS}`);
        if (r > 0) times.push(seconds * 1000);
      }
    }
    const range = (xs: number[]): string => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
    const what = STEPS === 0 ? 'a full checkpoint' : `an incremental chain of ${STEPS} checkpoints (1% of keys changed per step)`;
    console.log(`local recovery: restore of ${KEYS} keys from ${what} (parallelism ${PARALLELISM}, check + open + load), ${REPS} interleaved runs`);
    console.log(`  from s3rver (baseline):   ${range(fromS3)}`);
    console.log(`  from local copies:        ${range(fromLocal)}`);
    console.log(`  from s3rver, a request per block (before read-plan.ts): ${range(blockByBlock)}`);
    console.log(`  s3rver coalesced / per block: ${(median(fromS3) / median(blockByBlock)).toFixed(2)}x the time`);
    console.log(`  local / s3rver: ${(median(fromLocal) / median(fromS3)).toFixed(2)}x the time (${(median(fromS3) / median(fromLocal)).toFixed(1)}x faster)`);
  } finally {
    await s3.stop();
    await rm(root, { recursive: true, force: true });
  }
}
