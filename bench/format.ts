/**
 * `npm run bench -- format`: the snapshot format against plain msgpackr + a file, on local disk.
 *
 * 1. write: a savepoint of N entries `user-<i>` -> {count, sum, last}, grouped by key group before
 *    the clock starts (maxParallelism 128, parallelism 1), written as the engine writes it
 *    (SnapshotWriter, DataFileWriter.writeKeyGroup per key group, closeDataFile, finish), against
 *    msgpackr packing the same entries as one array of [key, value] pairs + write + fsync. The
 *    baseline gets the very same tuples in the same (key-group) order: visiting 1M objects in
 *    allocation order instead is about twice as fast on this machine from memory locality alone
 *    (every object a cache miss otherwise), which would measure the heap layout, not the format.
 * 2. read: SnapshotReader.open + readKeyed into a Map, against reading the baseline file +
 *    unpack + the same Map. Both read warm files (the page cache cannot be dropped here).
 * 3. inspect: SnapshotReader.open + summarize() of the N-entry savepoint against a 1k-entry one.
 *
 * Each measurement and its baseline run interleaved, after one warm-up round, REPS times.
 * Environment: BENCH_ENTRIES (default 1000000), BENCH_REPS (default 6).
 */
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { keyGroupFor } from '../src/format/key-groups.ts';
import { SnapshotReader } from '../src/format/snapshot-reader.ts';
import { SnapshotWriter } from '../src/format/snapshot-writer.ts';
import { summarize } from '../src/format/summary.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import {
  type Range,
  bold,
  bytes,
  count,
  duration,
  green,
  interleave,
  mbPerSecond,
  num,
  range,
  ratios,
  red,
  table,
  timed,
} from './stats.ts';

export interface Value {
  count: number;
  sum: number;
  last: number;
}
export type Entry = readonly [string, Value];

const MAX_PARALLELISM = 128;
const UID = 'counts';
const STATE = 'totals';
const JOB_ID = '0123456789abcdef0123456789abcdef';
const INSPECT_SMALL = 1000;
const INSPECT_LOOPS = 100;

export function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

/** Deterministic: a small int, a fraction (float64) and a millisecond timestamp (beyond 32 bits). */
export function makeEntries(n: number): Entry[] {
  const out: Entry[] = new Array<Entry>(n);
  for (let i = 0; i < n; i++) {
    out[i] = [`user-${i}`, { count: (i % 97) + 1, sum: i * 2.5 + 0.25, last: 1_700_000_000_000 + i * 13 }];
  }
  return out;
}

/** Entries by key group, as a subtask holds them when a checkpoint starts. */
export function groupByKeyGroup(entries: readonly Entry[]): Entry[][] {
  const groups: Entry[][] = Array.from({ length: MAX_PARALLELISM }, () => []);
  for (const entry of entries) groups[keyGroupFor(entry[0], MAX_PARALLELISM)]!.push(entry);
  return groups;
}

/** A savepoint of one operator, one keyed `value` state, parallelism 1: what the engine writes. */
export async function writeSavepoint(dir: string, groups: readonly (readonly Entry[])[]): Promise<void> {
  const store = new LocalObjectStore(dir);
  const writer = new SnapshotWriter(store, { kind: 'savepoint', jobId: JOB_ID, jobName: 'bench', checkpointId: 1 });
  writer.addOperator({ uid: UID, parallelism: 1, maxParallelism: MAX_PARALLELISM });
  const file = await writer.openDataFile('bench', 0);
  const blocks = [];
  for (let g = 0; g < groups.length; g++) {
    const entries = groups[g]!;
    if (entries.length === 0) continue;
    const block = await file.writeKeyGroup(`${UID}/${STATE}`, 'value', g, MAX_PARALLELISM, entries);
    if (block !== null) blocks.push({ ...block, keyGroup: g });
  }
  await writer.closeDataFile(file);
  writer.addKeyedState(UID, { name: STATE, kind: 'value' }, blocks);
  await writer.finish();
}

export async function readSavepoint(dir: string): Promise<Map<string, Value>> {
  const reader = await SnapshotReader.open(new LocalObjectStore(dir));
  const map = new Map<string, Value>();
  for await (const { keys, values } of reader.readKeyed(UID, STATE)) {
    for (let i = 0; i < keys.length; i++) map.set(keys[i] as string, values[i] as Value);
  }
  return map;
}

const basePackr = new Packr({ useRecords: false });

export async function writeBaseline(path: string, pairs: readonly Entry[]): Promise<void> {
  const encoded = basePackr.pack(pairs);
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(encoded);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function readBaseline(path: string): Promise<Map<string, Value>> {
  const pairs = basePackr.unpack(await readFile(path)) as Entry[];
  const map = new Map<string, Value>();
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    map.set(pair[0], pair[1]);
  }
  return map;
}

async function directorySize(dir: string): Promise<{ total: number; metadata: number }> {
  const store = new LocalObjectStore(dir);
  let total = 0;
  let metadata = 0;
  for await (const info of store.list('')) {
    total += info.size;
    if (info.key === '_metadata') metadata = info.size;
  }
  return { total, metadata };
}

/** Throws unless `map` holds exactly the generated entries (checked on a sample of keys). */
export function check(map: Map<string, Value>, entries: readonly Entry[], what: string): void {
  if (map.size !== entries.length) throw new Error(`${what}: read ${map.size} entries, wrote ${entries.length}`);
  const step = Math.max(1, Math.floor(entries.length / 997));
  for (let i = 0; i < entries.length; i += step) {
    const [key, want] = entries[i]!;
    const got = map.get(key);
    if (got === undefined || got.count !== want.count || got.sum !== want.sum || got.last !== want.last) {
      throw new Error(`${what}: entry ${key} read back as ${JSON.stringify(got)}, wrote ${JSON.stringify(want)}`);
    }
  }
}

export function progress(label: string, reps: number): (round: number) => void {
  return (round) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${label}: ${round < 0 ? 'warm-up' : `run ${round + 1}/${reps}`}   `);
    if (process.stderr.isTTY && round === reps - 1) process.stderr.write('\r\x1b[K');
  };
}

function verdict(ok: boolean): string {
  return ok ? green('ok') : red(bold('BELOW TARGET'));
}

function span(r: Range, fmt: (x: number) => string): string {
  return `${fmt(r.min)}-${fmt(r.max)}`;
}

export async function run(): Promise<void> {
  const n = positiveIntFromEnv('BENCH_ENTRIES', 1_000_000);
  const reps = positiveIntFromEnv('BENCH_REPS', 6);
  const label = `${count(n)} entries`;
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-format-'));
  const started = performance.now();
  try {
    const entries = makeEntries(n);
    const groups = groupByKeyGroup(entries);
    const pairs = groups.flat(); // the baseline's input: the same tuples, in the order we write them
    const gcNote = typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'global.gc' : 'v8 flag at run time';

    // 1. write. Every run writes a fresh directory / file; the previous run's is removed after
    // the next one is written (outside the timing), so only the last of each is left to read.
    let serial = 0;
    let oursDir = '';
    let baseFile = '';
    const written = await interleave(
      {
        ours: async () => {
          const dir = join(root, `savepoint-${serial++}`);
          const seconds = await timed(() => writeSavepoint(dir, groups));
          if (oursDir !== '') await rm(oursDir, { recursive: true, force: true });
          oursDir = dir;
          return seconds;
        },
        baseline: async () => {
          const file = join(root, `baseline-${serial++}.msgpack`);
          const seconds = await timed(() => writeBaseline(file, pairs));
          if (baseFile !== '') await rm(baseFile, { force: true });
          baseFile = file;
          return seconds;
        },
      },
      { reps, progress: progress('write', reps) },
    );
    const oursSize = await directorySize(oursDir);
    const baseSize = (await stat(baseFile)).size;

    // 2. read, warm: both files were just written and sit in the page cache.
    const read = await interleave(
      {
        ours: async () => {
          let map: Map<string, Value> | undefined;
          const seconds = await timed(async () => (map = await readSavepoint(oursDir)));
          check(map!, entries, 'savepoint read');
          return seconds;
        },
        baseline: async () => {
          let map: Map<string, Value> | undefined;
          const seconds = await timed(async () => (map = await readBaseline(baseFile)));
          check(map!, entries, 'baseline read');
          return seconds;
        },
      },
      { reps, progress: progress('read', reps) },
    );

    // 3. inspect: metadata only, so the time should not grow with the state.
    const smallDir = join(root, 'savepoint-small');
    const small = makeEntries(INSPECT_SMALL);
    await writeSavepoint(smallDir, groupByKeyGroup(small));
    const smallSize = await directorySize(smallDir);
    const inspectOnce = async (dir: string): Promise<number> => {
      const store = new LocalObjectStore(dir);
      const seconds = await timed(async () => {
        for (let i = 0; i < INSPECT_LOOPS; i++) summarize(await SnapshotReader.open(store));
      });
      return seconds / INSPECT_LOOPS;
    };
    const inspected = await interleave(
      { large: () => inspectOnce(oursDir), small: () => inspectOnce(smallDir) },
      { reps, progress: progress('inspect', reps) },
    );

    // Report.
    const w = { ours: range(written.ours), base: range(written.baseline), ratio: range(ratios(written.baseline, written.ours)) };
    const r = { ours: range(read.ours), base: range(read.baseline), ratio: range(ratios(read.baseline, read.ours)) };
    const ins = { large: range(inspected.large), small: range(inspected.small), ratio: range(ratios(inspected.large, inspected.small)) };
    const rate = (byteCount: number, s: number): string => `${mbPerSecond(byteCount, s)} ${count(n / s)} entries/s`;
    const rows: string[][] = [
      [
        `write ${label}`,
        `ours ${rate(oursSize.total, w.ours.median)}`,
        `baseline ${rate(baseSize, w.base.median)}`,
        `ratio ${w.ratio.median.toFixed(2)} (target >= 0.50)`,
        verdict(w.ratio.median >= 0.5),
      ],
      [
        `read ${label}`,
        `ours ${rate(oursSize.total, r.ours.median)}`,
        `baseline ${rate(baseSize, r.base.median)}`,
        `ratio ${r.ratio.median.toFixed(2)} (target >= 0.50)`,
        verdict(r.ratio.median >= 0.5),
      ],
      [
        'inspect',
        `${label} ${duration(ins.large.median)}`,
        `${count(INSPECT_SMALL)} entries ${duration(ins.small.median)}`,
        `ratio ${ins.ratio.median.toFixed(2)} (target <= 2.00)`,
        verdict(ins.ratio.median <= 2),
      ],
    ];
    const t = (x: number): string => duration(x);
    const ranges: string[][] = [
      ['write', `ours ${span(w.ours, t)}`, `baseline ${span(w.base, t)}`, `ratio ${span(w.ratio, (x) => x.toFixed(2))}`],
      ['read', `ours ${span(r.ours, t)}`, `baseline ${span(r.base, t)}`, `ratio ${span(r.ratio, (x) => x.toFixed(2))}`],
      ['inspect', `${label} ${span(ins.large, t)}`, `${count(INSPECT_SMALL)} entries ${span(ins.small, t)}`, `ratio ${span(ins.ratio, (x) => x.toFixed(2))}`],
    ];
    const medians: string[][] = [
      ['write', `ours ${t(w.ours.median)}`, `baseline ${t(w.base.median)}`],
      ['read', `ours ${t(r.ours.median)}`, `baseline ${t(r.base.median)}`],
    ];
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      bold(`format benchmark: ${n.toLocaleString('en-US')} entries 'user-<i>' -> {count, sum, last}, maxParallelism ${MAX_PARALLELISM}, parallelism 1`),
      `node ${process.version}, ${process.platform} ${process.arch}, ${cpus().length} x ${cpu}; temp dir ${root}`,
      `${reps} runs after 1 warm-up, ours and baseline interleaved, GC before each run (${gcNote}); figures are medians; ratio = baseline time / our time per round (= our entries/s over baseline's)`,
      `baseline: msgpackr new Packr({ useRecords: false }) of one array of [key, value] pairs (the same tuples, in the same key-group order), writeFile + fsync; read: readFile + unpack + Map.set per pair`,
      `reads are of warm files (just written, in the page cache; caches cannot be dropped without root), for both sides`,
      '',
      table(rows),
      '',
      'median times:',
      table(medians.map((row) => ['  ' + row[0]!, ...row.slice(1)])),
      'min-max over the runs:',
      table(ranges.map((row) => ['  ' + row[0]!, ...row.slice(1)])),
      '',
      `sizes: ours ${bytes(oursSize.total)} (data ${bytes(oursSize.total - oursSize.metadata)} + _metadata ${bytes(oursSize.metadata)}), ` +
        `baseline ${bytes(baseSize)}, ours/baseline ${num(oursSize.total / baseSize)}; ` +
        `${count(INSPECT_SMALL)}-entry savepoint ${bytes(smallSize.total)} (_metadata ${bytes(smallSize.metadata)})`,
      `total benchmark time ${duration((performance.now() - started) / 1000)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
