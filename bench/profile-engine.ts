/**
 * The engine benchmark's pipeline (bench/engine.ts) alone, for profiling and quick A/B checks:
 *
 *   node --import tsx [--cpu-prof --cpu-prof-dir=DIR] bench/profile-engine.ts
 *
 * Prints, per run, records/s and the process CPU time per record of the engine against the bare
 * loop. On a shared machine CPU time per record moves much less than wall-clock throughput
 * (other processes take turns on the cores; they do not add to this process's CPU time).
 * Environment: N (records, default 1M), K (keys, default 100k), CP=0 (no checkpoints), INC=1
 * (incremental checkpoints), REPS (2); BENCH_STATE_BACKEND picks the backend (bench/engine.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareLoop, runEngine } from './engine.ts';

const records = Number(process.env.N ?? 1_000_000);
const keys = Number(process.env.K ?? 100_000);
const checkpointMs = process.env.CP === '0' ? null : 1000;
const incremental = process.env.INC === '1';
const cpuNs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
};

const root = await mkdtemp(join(tmpdir(), 'tsflink-profile-'));
try {
  const expect = bareLoop(records, keys);
  await runEngine({ records: Math.min(records, 200_000), keys, checkpointMs, yieldMs: 0, root, incremental }); // warm-up
  for (let i = 0; i < Number(process.env.REPS ?? 2); i++) {
    let t = cpuNs();
    const run = await runEngine({ records, keys, checkpointMs, yieldMs: 0, root, expect, incremental });
    const engineNs = (cpuNs() - t) / records;
    t = cpuNs();
    const loop = bareLoop(records, keys);
    const loopNs = (cpuNs() - t) / records;
    const checkpoints = run.checkpoints.map((c) => c.ackMs.toFixed(0)).join(', ');
    process.stdout.write(
      `engine ${(records / run.seconds / 1e6).toFixed(3)}M/s, loop ${(records / loop.seconds / 1e6).toFixed(3)}M/s; ` +
        `CPU per record: engine ${engineNs.toFixed(0)} ns, loop ${loopNs.toFixed(0)} ns, ratio ${(loopNs / engineNs).toFixed(3)}; ` +
        `${run.completed} checkpoints (ms to ack: ${checkpoints}), sink max gap ${run.sinkGaps.maxGapMs.toFixed(1)} ms\n`,
    );
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
