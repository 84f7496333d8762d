/**
 * `npm run bench -- backends`: the keyed count of `bench/engine.ts` (DataGeneratorSource -> keyBy
 * -> ValueState<number> count -> counting sink, parallelism 1, EXACTLY_ONCE checkpoints every
 * BENCH_INTERVAL_MS = 1 s) on every keyed state backend that KEYED_STATE_BACKENDS holds, so an
 * on-disk backend is measured the moment it is registered there. For each backend, measured in
 * the same run, interleaved, GC before each run:
 * 1. at BENCH_KEYS (100k) keys: the engine's records/s beside the bare Map loop (bench/engine.ts
 *    `bareLoop`) and beside the backend's raw loop: the store's own synchronous get + put per
 *    record over the same keys in the same order (bench/stores.ts `storeGetPut`, over
 *    BENCH_RAW_OPS operations, default BENCH_KEYS); for `hashmap` the raw loop is the Map loop.
 *    Targets (issue 11): hashmap as bench/engine.ts has it; an on-disk backend >= 0.50 of its raw
 *    loop.
 * 2. BENCH_BACKENDS_LARGE=1 adds the same at BENCH_KEYS_HUGE (10M) keys with
 *    BENCH_RECORDS_HUGE records (default 10M), BENCH_REPS_HUGE runs (default 1).
 * 3. the processing-thread pause per checkpoint at BENCH_KEYS_LARGE (1M) keys
 *    (BENCH_RECORDS_LARGE records, default 1M): the synchronous part of each checkpoint as the
 *    engine measures it (each subtask's `checkpoint_duration.sync`; `_metadata`'s
 *    `durations.sync` is the longest over the subtasks), read back from every completed
 *    checkpoint; beside it the longest gap between records at the sink during a checkpoint.
 *    Target: <= 20 ms on the on-disk backends.
 * 4. BENCH_BACKENDS_LARGE=1 also runs larger than memory at full scale (issue 11): a cluster
 *    started for it, the job of test/support/many-keys-job.ts with BENCH_LTM_KEYS (10M) keys,
 *    each seen twice, in a worker limited to BENCH_LTM_HEAP_MB (256) MB
 *    (`taskmanager.memory.task.heap.size`), through `flink run`, once per backend: `hashmap` must
 *    fail with the one line naming the backend, an on-disk backend finish with every key kept.
 *
 * Environment: BENCH_BACKENDS (comma-separated, default every registered one), BENCH_RECORDS
 * (default 1M), BENCH_REPS (default 3), BENCH_KEYS, BENCH_KEYS_LARGE, BENCH_RECORDS_LARGE,
 * BENCH_RAW_OPS, BENCH_INTERVAL_MS, BENCH_BACKENDS_LARGE, BENCH_KEYS_HUGE, BENCH_RECORDS_HUGE,
 * BENCH_REPS_HUGE, BENCH_LTM_KEYS, BENCH_LTM_HEAP_MB.
 */
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYED_STATE_BACKENDS } from '../src/engine/state/create-keyed-state-backend.ts';
import type { EmbeddedStore } from '../src/engine/state/embedded/embedded-store.ts';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { bareLoop, runEngine } from './engine.ts';
import { type Range, bold, count, duration, green, interleave, num, range, ratios, red, table } from './stats.ts';
import { STORES, makeKeys, storeBatches, storeGetPut } from './stores.ts';
import { manyKeysJobSource } from '../test/support/many-keys-job.ts';
import { ROOT, runFlink } from '../test/support/run-flink.ts';

function wholeNumberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a whole number >= 1, got '${raw}'`);
  return n;
}

/**
 * A backend's raw baseline: the loop its store runs per record without the engine. Returns
 * seconds for `ops` operations. `hashmap` keeps state in Maps, so its raw loop is the Map loop.
 */
interface RawLoop {
  readonly label: string;
  readonly ops: number;
  run(): Promise<number>;
  close(): Promise<void>;
}

async function openRawLoop(backend: BuiltStateBackendType, root: string, keys: number, records: number, rawOps: number): Promise<RawLoop> {
  if (backend === 'hashmap') {
    return { label: 'Map get+set (the bare loop)', ops: records, run: async () => bareLoop(records, keys).seconds, close: async () => undefined };
  }
  // An on-disk backend: the store of the same name, as bench/stores.ts measures it.
  const open = (STORES as Readonly<Record<string, (typeof STORES)[string]>>)[backend];
  if (open === undefined) throw new Error(`backend '${backend}' is registered but bench/stores.ts has no store of that name for its raw loop`);
  const keySet = makeKeys(keys, rawOps);
  const store: EmbeddedStore = await open(join(root, `raw-${backend}-${keys}`));
  storeBatches(store, keySet, 0); // preloaded, as a job's steady state
  return { label: `${store.kind} get+put (sync, one each)`, ops: rawOps, run: async () => storeGetPut(store, keySet), close: () => store.destroy() };
}

interface ThroughputRow {
  readonly backend: string;
  readonly keys: number;
  readonly records: number;
  readonly engine: number[];
  readonly bare: number[];
  readonly raw: number[];
  readonly rawLabel: string;
  readonly rawOps: number;
  readonly checkpoints: number[];
}

async function throughput(backend: BuiltStateBackendType, root: string, keys: number, records: number, rawOps: number, reps: number, interval: number): Promise<ThroughputRow> {
  const expect = bareLoop(records, keys);
  const raw = await openRawLoop(backend, root, keys, records, rawOps);
  const checkpoints: number[] = [];
  try {
    const samples = await interleave(
      {
        engine: async () => {
          const r = await runEngine({ records, keys, checkpointMs: interval, yieldMs: 0, root, expect, backend });
          checkpoints.push(r.completed);
          return r.seconds;
        },
        bare: async () => bareLoop(records, keys).seconds,
        raw: () => raw.run(),
      },
      { reps, warmup: 1, progress: progress(`${backend} at ${count(keys)} keys`, reps) },
    );
    return { backend, keys, records, ...samples, rawLabel: raw.label, rawOps: raw.ops, checkpoints: checkpoints.slice(-reps) };
  } finally {
    await raw.close();
  }
}

interface PauseRow {
  readonly backend: string;
  readonly keys: number;
  readonly records: number;
  readonly sync: number[];
  readonly during: number[];
  readonly entries: number;
  readonly perRun: number[];
}

async function pauses(backend: BuiltStateBackendType, root: string, keys: number, records: number, reps: number, interval: number): Promise<PauseRow> {
  const expect = bareLoop(records, keys);
  const sync: number[] = [];
  const during: number[] = [];
  const perRun: number[] = [];
  let entries = 0;
  await interleave(
    {
      engine: async () => {
        const r = await runEngine({ records, keys, checkpointMs: interval, yieldMs: 0, root, expect, backend });
        perRun.push(r.checkpoints.length);
        for (const c of r.checkpoints) {
          sync.push(c.syncMs);
          entries = Math.max(entries, c.entries);
          // The longest sink gap that overlaps this checkpoint's trigger -> completion window.
          const end = c.triggeredAt + c.ackMs + c.metadataMs;
          let longest = 0;
          for (const [at, gap] of r.sinkGaps.long) if (at - gap < end && at > c.triggeredAt) longest = Math.max(longest, gap);
          during.push(longest);
        }
        return r.seconds;
      },
    },
    { reps, warmup: 0, progress: progress(`${backend} pauses at ${count(keys)} keys`, reps) },
  );
  return { backend, keys, records, sync, during, entries, perRun };
}

interface LargerThanMemoryRow {
  readonly backend: string;
  readonly code: number;
  /** The failure line, or the job's output. */
  readonly outcome: string;
  readonly seconds: number;
  readonly ok: boolean;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Section 4: the many-keys job through a real cluster and `flink run`, once per backend. */
async function largerThanMemory(backends: readonly BuiltStateBackendType[], root: string, keys: number, heapMb: number): Promise<LargerThanMemoryRow[]> {
  const dir = await mkdtemp(join(root, 'ltm-'));
  const defines = ['-D', `rest.port=${await freePort()}`, '-D', `process.jobmanager.working-dir=${join(dir, 'jm')}`];
  // The heap is the TaskManager's, set where it starts: one slot gets all of it.
  const clusterDefines = [...defines, '-D', 'taskmanager.numberOfTaskSlots=1', '-D', `taskmanager.memory.task.heap.size=${heapMb}m`];
  const job = join(dir, 'many-keys.mts');
  await writeFile(job, manyKeysJobSource(join(ROOT, 'src', 'index.ts')));
  const started = await runFlink(['cluster', 'start', ...clusterDefines], { cwd: dir });
  if (started.code !== 0) throw new Error(`flink cluster start failed: ${started.stderr}`);
  const rows: LargerThanMemoryRow[] = [];
  try {
    for (const backend of backends) {
      if (process.stderr.isTTY) process.stderr.write(`\rlarger than memory: ${backend} ...   `);
      const out = join(dir, `out-${backend}`);
      const start = performance.now();
      const result = await runFlink(
        ['run', ...defines, '-D', 'restart-strategy.type=none', '-D', `state.backend.type=${backend}`, job, String(keys), out, '0'],
        { cwd: dir },
      );
      const seconds = (performance.now() - start) / 1000;
      const failure = /failed: (.*)$/mu.exec(result.stderr)?.[1];
      const output = await readFile(out, 'utf8').catch(() => '');
      const outcome = result.code === 0 ? output.trim() : (failure ?? result.stderr.trim().split('\n').at(-1) ?? '');
      const ok = backend === 'hashmap' ? result.code === 1 && /ran out of memory .*state\.backend\.type: hashmap/u.test(outcome) : result.code === 0 && output === `keys seen twice: ${keys}\n`;
      rows.push({ backend, code: result.code, outcome, seconds, ok });
    }
  } finally {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    await runFlink(['cluster', 'stop', ...defines], { cwd: dir });
  }
  return rows;
}

function progress(label: string, reps: number): (round: number) => void {
  return (round) => {
    if (!process.stderr.isTTY) return;
    process.stderr.write(`\r${label}: run ${round + 1}/${reps}   `);
    if (round === reps - 1) process.stderr.write('\r\x1b[K');
  };
}

const rate = (ops: number, seconds: readonly number[]): string => {
  const r = range(seconds.map((s) => ops / s));
  return `${count(r.median)}/s (${count(r.min)}-${count(r.max)})`;
};
const span = (r: Range, fmt: (x: number) => string): string => `${fmt(r.median)} (${fmt(r.min)}-${fmt(r.max)})`;
const ratio = (x: number): string => x.toFixed(3);
const ms = (x: number): string => duration(x / 1000);
const load = (): string => loadavg().map((l) => num(l)).join(' ');

function throughputRows(rows: readonly ThroughputRow[]): string[][] {
  return [
    ['backend', 'keys', 'engine (checkpoints)', 'bare Map loop', 'raw loop', 'engine / Map', 'engine / raw', 'target'],
    ...rows.map((r) => {
      // Per-round ratios of rates: rate = ops / seconds.
      const vsBare = range(ratios(r.bare, r.engine));
      const vsRaw = range(r.engine.map((s, i) => r.records / s / (r.rawOps / r.raw[i]!)));
      const onDisk = r.backend !== 'hashmap';
      const target = onDisk ? `engine / raw >= 0.50 ${vsRaw.median >= 0.5 ? green('ok') : red(bold('BELOW TARGET'))}` : 'as bench/engine.ts (same loop)';
      return [
        r.backend,
        count(r.keys),
        `${rate(r.records, r.engine)}; ${r.checkpoints.join('/')} checkpoints`,
        rate(r.records, r.bare),
        `${rate(r.rawOps, r.raw)} ${r.rawLabel}`,
        span(vsBare, ratio),
        span(vsRaw, ratio),
        target,
      ];
    }),
  ];
}

export async function run(): Promise<void> {
  const registered = Object.keys(KEYED_STATE_BACKENDS) as BuiltStateBackendType[];
  const chosen = (process.env.BENCH_BACKENDS ?? registered.join(',')).split(',').filter((n) => n !== '');
  for (const n of chosen) if (!registered.includes(n as BuiltStateBackendType)) throw new Error(`BENCH_BACKENDS: '${n}' is not registered in KEYED_STATE_BACKENDS (registered: ${registered.join(', ')})`);
  const backends = chosen as BuiltStateBackendType[];
  const records = wholeNumberFromEnv('BENCH_RECORDS', 1_000_000);
  const reps = wholeNumberFromEnv('BENCH_REPS', 3);
  const keys = wholeNumberFromEnv('BENCH_KEYS', 100_000);
  const rawOps = wholeNumberFromEnv('BENCH_RAW_OPS', keys);
  const keysLarge = wholeNumberFromEnv('BENCH_KEYS_LARGE', 1_000_000);
  const recordsLarge = wholeNumberFromEnv('BENCH_RECORDS_LARGE', 1_000_000);
  const interval = wholeNumberFromEnv('BENCH_INTERVAL_MS', 1000);
  const huge = process.env.BENCH_BACKENDS_LARGE === '1';
  const keysHuge = wholeNumberFromEnv('BENCH_KEYS_HUGE', 10_000_000);
  const recordsHuge = wholeNumberFromEnv('BENCH_RECORDS_HUGE', 10_000_000);
  const repsHuge = wholeNumberFromEnv('BENCH_REPS_HUGE', 1);
  const ltmKeys = wholeNumberFromEnv('BENCH_LTM_KEYS', 10_000_000);
  const ltmHeapMb = wholeNumberFromEnv('BENCH_LTM_HEAP_MB', 256);

  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-backends-'));
  const started = performance.now();
  const loadBefore = load();
  try {
    const small: ThroughputRow[] = [];
    for (const b of backends) small.push(await throughput(b, root, keys, records, rawOps, reps, interval));
    const loadSmall = load();
    const large: ThroughputRow[] = [];
    if (huge) for (const b of backends) large.push(await throughput(b, root, keysHuge, recordsHuge, Math.min(rawOps * 10, recordsHuge), repsHuge, interval));
    const loadLarge = huge ? load() : '';
    const paused: PauseRow[] = [];
    for (const b of backends) paused.push(await pauses(b, root, keysLarge, recordsLarge, reps, interval));
    const loadPauses = load();
    const ltm = huge ? await largerThanMemory(backends, root, ltmKeys, ltmHeapMb) : [];
    const loadLtm = huge ? load() : '';

    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      bold('backends benchmark: keyed count (DataGeneratorSource -> keyBy -> ValueState<number> -> counting sink), parallelism 1, on every registered keyed state backend'),
      `node ${process.version}, ${process.platform} ${process.arch}, ${cpus().length} x ${cpu}; temp dir ${root}`,
      `backends: ${backends.join(', ')} (registered in KEYED_STATE_BACKENDS: ${registered.join(', ')}); EXACTLY_ONCE checkpoints every ${interval} ms to local disk; ` +
        `keys k<fmix32(i) mod K>; ${reps} runs after a warm-up, cases interleaved, GC before each; median (min-max); ratios per round`,
      `raw loop: hashmap -> the bare Map loop itself; an on-disk backend -> its store's synchronous get + put per record (bench/stores.ts), ${count(rawOps)} operations a run, keys preloaded`,
      `load average (1, 5, 15 min) at the start: ${loadBefore}`,
      '',
      `1. throughput at ${count(keys)} keys, ${count(records)} records a run (load average after: ${loadSmall})`,
      table(throughputRows(small)),
    ];
    if (huge) lines.push('', `2. throughput at ${count(keysHuge)} keys, ${count(recordsHuge)} records, ${repsHuge} run(s) (load average after: ${loadLarge})`, table(throughputRows(large)));
    else lines.push('', `2. (BENCH_BACKENDS_LARGE=1 adds ${count(keysHuge)} keys, ${count(recordsHuge)} records)`);
    lines.push(
      '',
      `3. processing-thread pause per checkpoint at ${count(keysLarge)} keys, ${count(recordsLarge)} records a run (load average after: ${loadPauses})`,
      table([
        ['backend', 'checkpoints per run', 'largest', 'sync part (durations.sync)', 'longest sink gap during a checkpoint', 'target'],
        ...paused.map((p) => {
          if (p.sync.length === 0) return [p.backend, p.perRun.join('/'), '', red(bold('NO CHECKPOINTS')), '', ''];
          const sync = range(p.sync);
          const onDisk = p.backend !== 'hashmap';
          return [
            p.backend,
            p.perRun.join('/'),
            `${count(p.entries)} entries`,
            `median ${ms(sync.median)}, max ${ms(sync.max)}`,
            `median ${ms(range(p.during).median)}, max ${ms(range(p.during).max)}`,
            onDisk ? `<= 20 ms ${sync.max <= 20 ? green('ok') : red(bold('ABOVE TARGET'))}` : '(heap: O(1) version pin)',
          ];
        }),
      ]),
      '',
      huge
        ? `4. larger than memory: ${count(ltmKeys)} keys (each seen twice, the state a count) in a worker with a ${ltmHeapMb} MB heap, through flink run (load average after: ${loadLtm})\n` +
            table([
              ['backend', 'expected', 'exit', 'outcome', 'time', ''],
              ...ltm.map((r) => [r.backend, r.backend === 'hashmap' ? 'fails in one line' : 'finishes, every key kept', String(r.code), r.outcome, duration(r.seconds), r.ok ? green('ok') : red(bold('NOT AS EXPECTED'))]),
            ])
        : `4. (BENCH_BACKENDS_LARGE=1 adds larger than memory: ${count(ltmKeys)} keys in a ${ltmHeapMb} MB worker through flink run)`,
      '',
      `load average (1, 5, 15 min) at the end: ${load()}, on ${cpus().length} cores (other processes skew absolute figures; ratios less so)`,
      `total benchmark time ${duration((performance.now() - started) / 1000)}`,
    );
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
