/**
 * The restore of bench/incremental.ts alone, for profiling and quick A/B checks, over checkpoints
 * that a run with INC_KEEP kept:
 *
 *   INC_KEEP=/tmp/keep INC_SECTIONS=restore npm run bench -- incremental
 *   node --import tsx [--cpu-prof --cpu-prof-dir=DIR] bench/profile-restore.ts /tmp/keep/rocksdb [chain|full|both] [REPS=3]
 *
 * Prints, per round, the wall time and this process's CPU time of restoring the chain checkpoint
 * and the full one of the same state; with one of them named, only that one (for a profile of it
 * alone), after a warm-up of it. Medians and the chain / full ratio at the end.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { restoreOnce } from './incremental.ts';

const [dir, which = 'both', repsArg] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: profile-restore.ts KEPT_DIR/<backend> [chain|full|both] [REPS]\n');
  process.exit(2);
}
const backend = basename(dir) as BuiltStateBackendType;
const at = JSON.parse(await readFile(join(dir, 'restore.json'), 'utf8')) as { chain: string; full: string };
const reps = Number(repsArg ?? 3);
const cases = which === 'both' ? (['chain', 'full'] as const) : ([which as 'chain' | 'full'] as const);
const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = await mkdtemp(join(tmpdir(), 'tsflink-profile-restore-'));
try {
  for (const c of cases) await restoreOnce(backend, at[c], work); // warm-up
  const wall: Record<string, number[]> = { chain: [], full: [] };
  const cpu: Record<string, number[]> = { chain: [], full: [] };
  for (let r = 0; r < reps; r++) {
    for (const c of cases) {
      const before = cpuMs();
      const { seconds, entries } = await restoreOnce(backend, at[c], work);
      const used = cpuMs() - before;
      wall[c]!.push(seconds * 1000);
      cpu[c]!.push(used);
      console.log(`${backend} ${c}: ${entries} entries, ${(seconds * 1000).toFixed(0)} ms wall, ${used.toFixed(0)} ms CPU`);
    }
  }
  for (const c of cases) console.log(`${backend} ${c}: median ${median(wall[c]!).toFixed(0)} ms wall, ${median(cpu[c]!).toFixed(0)} ms CPU`);
  if (which === 'both') {
    console.log(`${backend} chain / full: ${(median(wall.chain!) / median(wall.full!)).toFixed(2)}x wall, ${(median(cpu.chain!) / median(cpu.full!)).toFixed(2)}x CPU`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
