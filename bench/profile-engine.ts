/**
 * The engine benchmark's pipeline (bench/engine.ts) alone, for profiling and quick A/B checks:
 *
 *   node --import tsx [--cpu-prof --cpu-prof-dir=DIR] bench/profile-engine.ts
 *
 * Prints, per run, records/s and the process CPU time per record of the engine (and of its
 * processing thread alone, on Linux) against the bare loop. On a shared machine CPU time per record moves much less than wall-clock throughput
 * (other processes take turns on the cores; they do not add to this process's CPU time).
 * Environment: N (records, default 1M), K (keys, default 100k), CP=0 (no checkpoints), CP_MS (the
 * checkpoint interval, default 1000), REPS (2),
 * BACKEND (hashmap, rocksdb or lmdb; default the environment's), INC=1 (incremental
 * checkpoints), DIST=hot (as bench/incremental.ts's INC_DIST=hot: every key once, then the rest
 * on HOT (0.01) of the keys). Also printed: the same after the first K records (with DIST=hot,
 * the steady state once every key exists), and with PHASES (record counts, as `1000000,2000000`)
 * the processing thread's run time per record between them (Linux), so that a run's phases can be
 * told apart: while the keys are first written, while the checkpoints of that phase finish, after.
 * The kernel brings a running thread's run time up to date at its scheduler ticks, so a reading
 * may lag by a tick (a few ms): phases of a second or more, not of a few thousand records.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { type Phase, bareLoop, keyGenerator, processingThreadNs, runEngine } from './engine.ts';
import { count, cpuNs } from './stats.ts';

const records = Number(process.env.N ?? 1_000_000);
const keys = Number(process.env.K ?? 100_000);
const checkpointMs = process.env.CP === '0' ? null : Number(process.env.CP_MS ?? 1000);
const backend = process.env.BACKEND === undefined || process.env.BACKEND === '' ? undefined : (process.env.BACKEND as BuiltStateBackendType);
const incremental = process.env.INC === '1';
const hot = Math.max(1, Math.round(keys * Number(process.env.HOT ?? 0.01)));
const generate = process.env.DIST === 'hot' ? (i: number): string => (i < keys ? `k${i}` : `k${fmix32(i) % hot}`) : keyGenerator(keys);
const mainThreadNs = processingThreadNs;
const phaseMarks = (process.env.PHASES ?? '').split(',').filter((p) => p !== '').map(Number);
if (phaseMarks.some((m) => !Number.isSafeInteger(m) || m <= 1 || m >= records)) throw new Error(`PHASES must be record counts above 1 and below N (${records}), got '${process.env.PHASES}'`);

function phaseLine(phases: readonly Phase[]): string {
  const out: string[] = [];
  for (let i = 1; i < phases.length; i++) {
    const [a, b] = [phases[i - 1]!, phases[i]!];
    const n = b.records - a.records;
    out.push(`records ${a.records === 1 ? 0 : count(a.records)}-${count(b.records)}: ${((b.threadNs - a.threadNs) / n).toFixed(0)} ns run, ${(((b.at - a.at) * 1e6) / n).toFixed(0)} ns wall`);
  }
  return out.join('; ');
}

const root = await mkdtemp(join(tmpdir(), 'tsflink-profile-'));
try {
  const expect = bareLoop(records, keys, generate);
  const base = { keys, checkpointMs, yieldMs: 0, root, backend, incremental, generate };
  await runEngine({ ...base, records: Math.min(records, 200_000) }); // warm-up
  for (let i = 0; i < Number(process.env.REPS ?? 2); i++) {
    let t = cpuNs();
    const m = mainThreadNs();
    const run = await runEngine({ ...base, records, expect, markAt: Math.min(keys, records), phaseMarks: phaseMarks.length === 0 ? [] : [1, ...phaseMarks, records] });
    const engineNs = (cpuNs() - t) / records;
    const mainNs = (mainThreadNs() - m) / records;
    t = cpuNs();
    const loop = bareLoop(records, keys, generate);
    const loopNs = (cpuNs() - t) / records;
    const checkpoints = run.checkpoints.map((c) => `${c.ackMs.toFixed(0)}/${c.syncMs.toFixed(0)}`).join(', ');
    process.stdout.write(
      `engine ${(records / run.seconds / 1e6).toFixed(3)}M/s (${run.seconds.toFixed(2)} s), loop ${(records / loop.seconds / 1e6).toFixed(3)}M/s; ` +
        `CPU per record: engine ${engineNs.toFixed(0)} ns (processing thread ${mainNs.toFixed(0)} ns), loop ${loopNs.toFixed(0)} ns, ratio ${(loopNs / engineNs).toFixed(3)}; ` +
        `after the first ${keys} records: processing thread ${(run.afterMarkThreadNs / (records - keys)).toFixed(0)} ns per record, ${((records - keys) / run.afterMarkSeconds / 1e6).toFixed(3)}M/s; ` +
        `${run.completed} checkpoints (ms to ack/sync: ${checkpoints}), sink max gap ${run.sinkGaps.maxGapMs.toFixed(1)} ms\n`,
    );
    if (run.phases.length > 1) process.stdout.write(`processing thread per record, by phase: ${phaseLine(run.phases)}\n`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
