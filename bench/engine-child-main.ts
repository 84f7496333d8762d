/** The child side of bench/engine-child.ts: one warm-up and one measured runEngine, figures sent over IPC. */
import { fmix32 } from '../src/format/murmur3.ts';
import type { ChildEngineOptions, ChildEngineRun, KeyDistribution } from './engine-child.ts';
import { keyGenerator, runEngine } from './engine.ts';

function generatorOf(d: KeyDistribution): (index: number) => string {
  if (d.kind === 'uniform') return keyGenerator(d.keys);
  const { keys, hot } = d;
  return (i) => (i < keys ? `k${i}` : `k${fmix32(i) % hot}`);
}

const send = (m: { ok: true; run: ChildEngineRun } | { ok: false; error: string }): Promise<void> =>
  new Promise((resolve, reject) => process.send!(m, undefined, undefined, (err) => (err ? reject(err) : resolve())));

try {
  const o = JSON.parse(process.argv[2]!) as ChildEngineOptions;
  const base = { keys: o.keys, checkpointMs: o.checkpointMs, yieldMs: 0, root: o.root, backend: o.backend, incremental: o.incremental, generate: generatorOf(o.distribution) };
  if (o.warmupRecords > 0) await runEngine({ ...base, records: Math.min(o.records, o.warmupRecords) });
  const r = await runEngine({ ...base, records: o.records, expect: o.expect, markAt: o.markAt });
  await send({
    ok: true,
    run: { seconds: r.seconds, checkpoints: r.checkpoints, completed: r.completed, unread: r.unread, sinkGaps: { maxGapMs: r.sinkGaps.maxGapMs, long: r.sinkGaps.long }, afterMarkSeconds: r.afterMarkSeconds, afterMarkThreadNs: r.afterMarkThreadNs },
  });
} catch (err) {
  await send({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
