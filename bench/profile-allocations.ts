/**
 * Where the engine benchmark's pipeline (bench/engine.ts, as bench/profile-engine.ts runs it)
 * allocates, per record, once every key exists:
 *
 *   node --import tsx bench/profile-allocations.ts
 *
 * After a warm-up run, one run with V8's sampling heap profiler (the inspector's
 * HeapProfiler.startSampling, objects the garbage collectors freed included) from the sink's K-th
 * record to its last, then the bytes allocated per record in all and the top allocation sites
 * (function, file, and the callers above it). Sampling, so a site's figure is an estimate; the
 * total is within a few percent. Environment as profile-engine: N (records, default 6M), K (keys,
 * default 1M), CP=0 (no checkpoints), INC=1, BACKEND, DIST=hot (default here), HOT; TOP (sites,
 * default 15), DEPTH (frames per site, default 3), MINOR=0 (leave out what the young-generation GC
 * freed: what survived to be promoted), OUT (also write the .heapprofile there, for DevTools).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { fmix32 } from '../src/format/murmur3.ts';
import { keyGenerator, runEngine } from './engine.ts';

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

const records = Number(process.env.N ?? 6_000_000);
const keys = Number(process.env.K ?? 1_000_000);
const checkpointMs = process.env.CP === '0' ? null : Number(process.env.CP_MS ?? 1000);
const backend = process.env.BACKEND === undefined || process.env.BACKEND === '' ? undefined : (process.env.BACKEND as BuiltStateBackendType);
const hot = Math.max(1, Math.round(keys * Number(process.env.HOT ?? 0.01)));
const generate = process.env.DIST === 'uniform' ? keyGenerator(keys) : (i: number): string => (i < keys ? `k${i}` : `k${fmix32(i) % hot}`);
const top = Number(process.env.TOP ?? 15);
const depth = Number(process.env.DEPTH ?? 3);

const root = await mkdtemp(join(tmpdir(), 'tsflink-allocations-'));
const session = new Session();
session.connect();
try {
  const base = { keys, checkpointMs, yieldMs: 0, root, backend, incremental: process.env.INC === '1', generate };
  await runEngine({ ...base, records: Math.min(records, 200_000) }); // warm-up
  await session.post('HeapProfiler.enable');
  let sampling: Promise<unknown> | undefined;
  const onMark = (): void => {
    sampling = session.post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.MINOR !== '0' });
  };
  const markAt = Math.min(keys, records - 1);
  await runEngine({ ...base, records, markAt, onMark });
  if (sampling === undefined) throw new Error(`the sink never saw record ${markAt}`);
  await sampling;
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
  if (process.env.OUT !== undefined) await writeFile(process.env.OUT, JSON.stringify(profile));
  const sites = new Map<string, number>();
  let total = 0;
  const walk = (node: ProfileNode, stack: readonly string[]): void => {
    // No line: tsx hands V8 each module as one line.
    const frame = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').pop() ?? ''}`;
    const here = [frame, ...stack];
    total += node.selfSize;
    if (node.selfSize > 0) {
      const site = here.slice(0, depth).join(' < ');
      sites.set(site, (sites.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(profile.head, []);
  const measured = records - markAt;
  const perRecord = (bytes: number): string => `${(bytes / measured).toFixed(0).padStart(5)} B/record`;
  process.stdout.write(
    `${backend ?? 'default backend'}, ${checkpointMs === null ? 'checkpointing off' : `checkpoints every ${checkpointMs} ms${process.env.INC === '1' ? ', incremental' : ''}`}, ` +
      `${measured} records after the first ${markAt}: ${(total / 1e6).toFixed(0)} MB allocated, ${perRecord(total).trim()}\n`,
  );
  for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${perRecord(bytes)}  ${site}\n`);
} finally {
  session.disconnect();
  await rm(root, { recursive: true, force: true });
}
