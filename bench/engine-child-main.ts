/** The child side of bench/engine-child.ts: one warm-up and one measured runEngine, figures sent over IPC. */
import { type ChildEngineOptions, type ChildEngineRun, keyGeneratorFor } from './engine-child.ts';
import { runEngine } from './engine.ts';

const send = (m: { ok: true; run: ChildEngineRun } | { ok: false; error: string }): Promise<void> =>
  new Promise((resolve, reject) => process.send!(m, undefined, undefined, (err) => (err ? reject(err) : resolve())));

try {
  const o = JSON.parse(process.argv[2]!) as ChildEngineOptions;
  const base = { keys: o.keys, checkpointMs: o.checkpointMs, yieldMs: 0, root: o.root, backend: o.backend, incremental: o.incremental, generate: keyGeneratorFor(o.distribution) };
  if (o.warmupRecords > 0) await runEngine({ ...base, records: Math.min(o.records, o.warmupRecords) });
  const r = await runEngine({ ...base, records: o.records, expect: o.expect, markAt: o.markAt });
  await send({
    ok: true,
    run: { seconds: r.seconds, checkpoints: r.checkpoints, completed: r.completed, unread: r.unread, sinkGaps: { maxGapMs: r.sinkGaps.maxGapMs, long: r.sinkGaps.long }, afterMarkSeconds: r.afterMarkSeconds, afterMarkThreadNs: r.afterMarkThreadNs, runQueueNs: r.runQueueNs },
  });
} catch (err) {
  await send({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
