/**
 * `npm run bench -- engine`: a keyed count through the whole engine (public API only) against a
 * bare JS loop, and what checkpoints cost it.
 *
 * Pipeline, parallelism 1: DataGeneratorSource (record i = key `k<fmix32(i) mod K>`, seeded
 * pseudo-random keys) -> keyBy(key) -> process(ValueState<number> count, emits the new count)
 * -> a counting sink (records, sum of the counts as a checksum, and arrival times every
 * GAP_SAMPLE records for the longest pause).
 *
 * 1. throughput at BENCH_KEYS (100k) keys with EXACTLY_ONCE checkpoints every BENCH_INTERVAL_MS
 *    (1 s) to a temp dir, against a bare loop that generates the same records and sums them
 *    into a Map<string, number> (target: engine >= 50% of the loop's records/s).
 * 2. the same at BENCH_KEYS_LARGE (1M) keys, checkpoints on against off (target: <= 5% slower);
 *    the bare loop at 1M keys alongside, for scale.
 * 3. the checkpoints of those runs, read back from their `_metadata` (SnapshotReader): how many,
 *    duration (trigger -> every ack, and the `_metadata` write), size on disk; and the longest
 *    pause of the pipeline: the largest gap between records reaching the sink (and between two
 *    source polls), with checkpoints (split into gaps overlapping a checkpoint and the rest) and
 *    without.
 *
 * The source is the DataGeneratorSource behind a thin Source wrapper that times the gaps between
 * polls and, with BENCH_YIELD_MS > 0, also yields to the event loop (setImmediate) when that many
 * ms have passed since its last yield. The engine runs every subtask in one thread on promise
 * continuations; unless something in it yields to the event loop now and then, no timer fires
 * during a run and no checkpoint is ever triggered (LocalChannel.send yields every 8 batches for
 * this). Default 0: the engine alone; with BENCH_YIELD_MS > 0 a last check runs the plain source
 * with checkpoints for about three intervals and counts the completed ones.
 *
 * The sums are checked: the engine's sink sees sum over keys of c(c+1)/2, computed from the
 * baseline's Map, so both sides provably processed the same records.
 *
 * Environment: BENCH_RECORDS (records per run at 100k keys, default 1M; the spec figure is 10M),
 * BENCH_RECORDS_LARGE (at 1M keys, default 1M), BENCH_REPS (default 3), BENCH_KEYS,
 * BENCH_KEYS_LARGE, BENCH_INTERVAL_MS, BENCH_YIELD_MS, BENCH_STATE_BACKEND (hashmap, rocksdb, lmdb).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StreamExecutionEnvironment } from '../src/engine/api/environment.ts';
import type { KeyedProcessFunction } from '../src/engine/api/keyed-process.ts';
import type { RuntimeContext } from '../src/engine/api/runtime-context.ts';
import type { PollResult, Source, SourceReader } from '../src/engine/api/source.ts';
import { DataGeneratorSource } from '../src/engine/connectors/data-generator-source.ts';
import type { SinkFunction } from '../src/engine/runtime/operators.ts';
import type { ValueState } from '../src/engine/state/keyed-state-handles.ts';
import { type BuiltStateBackendType, parseStateBackendChoice } from '../src/engine/state/state-backend-type.ts';
import { checkpointDirName } from '../src/format/snapshot-paths.ts';
import { SnapshotReader } from '../src/format/snapshot-reader.ts';
import { LocalObjectStore } from '../src/storage/local-store.ts';
import { type Range, bold, bytes, collectGarbage, count, duration, green, interleave, num, range, ratios, red, table } from './stats.ts';
import { fmix32 } from '../src/format/murmur3.ts';

/** The sink reads the clock once every this many records (performance.now() costs ~75 ns here). */
const GAP_SAMPLE = 32;
/** BENCH_STATE_BACKEND: the keyed state backend the engine runs use (hashmap by default). */
const STATE_BACKEND = parseStateBackendChoice('BENCH_STATE_BACKEND', process.env.BENCH_STATE_BACKEND ?? 'hashmap');

/** Gaps at least this long are kept with their time, to tell checkpoint pauses from the rest. */
const GAP_KEEP_MS = 2;
/** Gaps counted as long pauses in the report. */
const LONG_PAUSE_MS = 50;

function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a whole number >= 0, got '${raw}'`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// The records

export function keyGenerator(keys: number): (index: number) => string {
  return (index) => `k${fmix32(index) % keys}`;
}

// ---------------------------------------------------------------------------------------------
// The baseline: a bare loop

export interface LoopResult {
  readonly seconds: number;
  readonly distinctKeys: number;
  /** Sum over keys of c(c+1)/2: what the engine's sink adds up from the running counts. */
  readonly checksum: number;
}

/** `generate`: the key of record i (default: the uniform `k<fmix32(i) mod keys>`). */
export function bareLoop(records: number, keys: number, generate: (index: number) => string = keyGenerator(keys)): LoopResult {
  const start = performance.now();
  const counts = new Map<string, number>();
  for (let i = 0; i < records; i++) {
    const key = generate(i);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const seconds = (performance.now() - start) / 1000;
  let checksum = 0;
  for (const c of counts.values()) checksum += (c * (c + 1)) / 2;
  return { seconds, distinctKeys: counts.size, checksum };
}

// ---------------------------------------------------------------------------------------------
// The engine pipeline

/** Arrival times at a point of the pipeline: the largest gap, and the long gaps with their end. */
class GapTracker {
  #last = -1;
  maxGapMs = 0;
  /** [end of the gap, epoch ms; gap ms] for gaps >= GAP_KEEP_MS. */
  readonly long: [number, number][] = [];

  mark(now: number): void {
    if (this.#last >= 0) {
      const gap = now - this.#last;
      if (gap > this.maxGapMs) this.maxGapMs = gap;
      if (gap >= GAP_KEEP_MS) this.long.push([performance.timeOrigin + now, gap]);
    }
    this.#last = now;
  }

  /** The gap before the next mark starts now (time spent by the benchmark itself). */
  restart(now: number): void {
    this.#last = now;
  }
}

/**
 * Counts records, adds up the running counts (a checksum) and samples arrival times. As a
 * CheckpointListener it also reads each completed checkpoint's `_metadata` when told of it: the
 * engine deletes every checkpoint when a job finishes (retention NO_EXTERNALIZED_CHECKPOINTS, and
 * FINISHED discards under every retention), so they cannot be read after `execute` returns.
 */
class CountingSink implements SinkFunction<number> {
  records = 0;
  sum = 0;
  readonly gaps = new GapTracker();
  readonly reads: Promise<CheckpointInfo | string>[] = [];
  /** Checkpoint id -> when its barrier reached this chain (epoch ms): snapshotState runs there. */
  readonly barrierAt = new Map<number, number>();
  /** Checkpoint id -> records this sink had seen when the barrier came: the checkpoint holds their state. */
  readonly barrierRecords = new Map<number, number>();
  /** performance.now() when the sink had seen `markAt` records, and when it had seen the last one. */
  markedAt = Number.NaN;
  lastAt = Number.NaN;
  /** processingThreadNs() at the same two moments. */
  markedCpu = Number.NaN;
  lastCpu = Number.NaN;
  /** At each of `phaseMarks` records: the record count, the processing thread's run time (ns) and performance.now(). */
  readonly phases: Phase[] = [];
  #phaseMarks: readonly number[];
  #nextPhase = 0;
  #jobId = '';

  constructor(
    private readonly checkpointsDir: string | null,
    private readonly markAt = -1,
    private readonly total = -1,
    private readonly onMark?: () => void,
    phaseMarks: readonly number[] = [],
  ) {
    this.#phaseMarks = [...phaseMarks].sort((a, b) => a - b);
  }

  open(context: RuntimeContext): void {
    this.#jobId = context.jobId;
  }

  invoke(value: number): void {
    this.sum += value;
    if ((++this.records & (GAP_SAMPLE - 1)) === 0) this.gaps.mark(performance.now());
    if (this.records === this.#phaseMarks[this.#nextPhase]) {
      this.#nextPhase++;
      this.phases.push({ records: this.records, threadNs: processingThreadRunNs(), at: performance.now() });
    }
    if (this.records === this.markAt) {
      this.markedAt = performance.now();
      this.markedCpu = processingThreadNs();
      this.onMark?.();
    }
    if (this.records === this.total) {
      this.lastAt = performance.now();
      this.lastCpu = processingThreadNs();
    }
  }

  snapshotState(context: { readonly checkpointId: number }): void {
    this.barrierAt.set(context.checkpointId, performance.timeOrigin + performance.now());
    this.barrierRecords.set(context.checkpointId, this.records);
  }

  notifyCheckpointComplete(checkpointId: number): void {
    if (this.checkpointsDir === null) return;
    const location = join(this.checkpointsDir, this.#jobId, checkpointDirName(checkpointId));
    // Not awaited: the pipeline goes on while the few kilobytes are read.
    this.reads.push(readCheckpoint(checkpointId, location, this.barrierAt, this.barrierRecords).catch((err: unknown) => `checkpoint ${checkpointId}: ${err instanceof Error ? err.message : String(err)}`));
  }
}

export async function readCheckpoint(id: number, location: string, barrierAt: ReadonlyMap<number, number>, barrierRecords: ReadonlyMap<number, number>): Promise<CheckpointInfo> {
  const store = new LocalObjectStore(location);
  const reader = await SnapshotReader.open(store);
  const { stats, createdAt, files } = reader.metadata;
  // Version 3: a checkpoint refers to shared files earlier ones wrote (FORMAT.md 3.4).
  let writtenBytes = 0;
  let stateBytes = 0;
  for (const f of files) {
    stateBytes += f.size;
    if (f.written !== false) writtenBytes += f.size;
  }
  let diskBytes = 0;
  for await (const info of store.list('')) diskBytes += info.size;
  return {
    id,
    triggeredAt: createdAt,
    barrierMs: (barrierAt.get(id) ?? Number.NaN) - createdAt,
    ackMs: stats.durations.async ?? Number.NaN,
    syncMs: stats.durations.sync ?? Number.NaN,
    metadataMs: stats.durations.total ?? Number.NaN,
    dataBytes: stats.bytes,
    metadataBytes: reader.metadataSize,
    diskBytes,
    entries: stats.entries,
    writtenBytes,
    stateBytes,
    recordsAtBarrier: barrierRecords.get(id) ?? Number.NaN,
  };
}

/** The keyed count every engine benchmark runs: a ValueState<number> per key, emitting the new count. */
export function countPerKey(): KeyedProcessFunction<string, string, number> {
  let state!: ValueState<number>;
  return {
    open(context) {
      state = context.getState<number>({ kind: 'value', name: 'count' });
    },
    processElement(_key, _context, out) {
      const next = (state.value() ?? 0) + 1;
      state.update(next);
      out.collect(next);
    },
  };
}

/**
 * The source as given, also recording the gaps between polls; with `everyMs` > 0 it yields to
 * the event loop (setImmediate) at most every `everyMs` between polls, so timers and I/O
 * callbacks get to run even if the engine never yields (its own yields are then not measured).
 */
class YieldingSource<T> implements Source<T> {
  readonly bounded: boolean;
  readonly gaps = new GapTracker();

  constructor(
    private readonly inner: Source<T>,
    private readonly everyMs: number,
  ) {
    this.bounded = inner.bounded;
  }

  createSplits(parallelism: number): unknown[] {
    return this.inner.createSplits(parallelism);
  }

  createReader(context: { readonly subtaskIndex: number; readonly parallelism: number }): SourceReader<T> {
    const reader = this.inner.createReader(context);
    const gaps = this.gaps;
    const everyMs = this.everyMs;
    let lastYield = performance.now();
    return {
      addSplits: (splits) => reader.addSplits(splits),
      snapshotSplits: () => reader.snapshotSplits(),
      close: async () => reader.close?.(),
      async poll(max: number): Promise<PollResult<T>> {
        let now = performance.now();
        gaps.mark(now);
        if (everyMs > 0 && now - lastYield >= everyMs) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = now = performance.now();
          gaps.restart(now);
        }
        return reader.poll(max);
      },
    };
  }
}

export interface CheckpointInfo {
  readonly id: number;
  readonly triggeredAt: number;
  /** Trigger to the barrier reaching the keyed operator's chain (through the source's mailbox and the channel). */
  readonly barrierMs: number;
  /** Trigger to the last subtask's acknowledgement (barrier travel + snapshot + async write). */
  readonly ackMs: number;
  /** Writing `_metadata` after the last ack. */
  readonly metadataMs: number;
  /** The longest synchronous part of any subtask: how long the barrier held its processing thread (`durations.sync`). */
  readonly syncMs: number;
  readonly dataBytes: number;
  readonly metadataBytes: number;
  readonly diskBytes: number;
  readonly entries: number;
  /** Bytes of the data files this checkpoint wrote (REST checkpointed_size). */
  readonly writtenBytes: number;
  /** Bytes of every data file it refers to, written or not (REST state_size). */
  readonly stateBytes: number;
  /** Records the sink had seen at the barrier. */
  readonly recordsAtBarrier: number;
}

/** A point of a run, as the sink saw it (EngineOptions.phaseMarks). */
export interface Phase {
  readonly records: number;
  /** processingThreadRunNs() then. */
  readonly threadNs: number;
  /** performance.now() then. */
  readonly at: number;
}

export interface EngineRun {
  readonly seconds: number;
  /** Read back from disk when the sink was notified. */
  readonly checkpoints: readonly CheckpointInfo[];
  /** Completed while the job ran, as the engine counts them. */
  readonly completed: number;
  /** Checkpoints notified but not readable (deleted before the read got to them). */
  readonly unread: readonly string[];
  readonly sinkGaps: GapTracker;
  readonly pollGaps: GapTracker;
  /** With `markAt`: from the sink's `markAt`-th record to its last (NaN without). */
  readonly afterMarkSeconds: number;
  /** The processing thread's CPU time over the same records, in ns (NaN without `markAt` or off Linux). */
  readonly afterMarkThreadNs: number;
  /** What the processing thread waited on the run queue over the whole run, in ns (processingThreadRunQueueNs). */
  readonly runQueueNs: number;
  /** At each of `phaseMarks` the sink reached, in order. */
  readonly phases: readonly Phase[];
}

/**
 * CPU time of the calling thread's process's main thread (Linux: /proc/self/task/<pid>/stat, in
 * clock ticks of 10 ms), without the stores' and the garbage collector's background threads; NaN
 * elsewhere. At parallelism 1 in process the pipeline runs on that thread, so on a busy machine
 * this moves much less than wall-clock time: other processes take turns on the cores, they do
 * not add to this thread's CPU time.
 */
export function processingThreadNs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000_000;
  } catch {
    return Number.NaN;
  }
}

/**
 * Time the process's main thread waited on the kernel's run queue (Linux:
 * /proc/self/task/<pid>/schedstat, its second field, in ns): runnable, but another thread had
 * the core. On two cores a run's throughput drops by that much whatever its own work costs, so
 * the bench prints it beside each overhead (issue 13: 0.3 s over a 6M-record run with
 * checkpointing off on an idle machine, several seconds on a busy one). NaN elsewhere.
 */
export function processingThreadRunQueueNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return Number.NaN;
  }
}

/** Time the process's main thread has run on a core (Linux: the same file's first field, in ns, finer than processingThreadNs's ticks); NaN elsewhere. */
export function processingThreadRunNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

export interface EngineOptions {
  readonly records: number;
  readonly keys: number;
  readonly checkpointMs: number | null;
  readonly yieldMs: number;
  readonly root: string;
  /** The bare loop's result for the same records, to check the sink's sum against. */
  readonly expect?: LoopResult;
  /** `env.setStateBackend(...)`; default: the environment's (hashmap). */
  readonly backend?: BuiltStateBackendType;
  /** execution.checkpointing.incremental (default off). */
  readonly incremental?: boolean;
  /** The key of record i (default: the uniform `k<fmix32(i) mod keys>`). */
  readonly generate?: (index: number) => string;
  /**
   * Also time the records after the first `markAt` (afterMarkSeconds), from the sink's view: with
   * parallelism 1 it sees them in source order, so this times a later phase of the source alone
   * (bench incremental: the steady state once every key exists).
   */
  readonly markAt?: number;
  /** Called on the processing thread when the sink has seen `markAt` records (bench/profile-allocations.ts starts sampling there). */
  readonly onMark?: () => void;
  /** Record counts at which the sink also reads the processing thread's run time (EngineRun.phases), to tell a run's phases apart. */
  readonly phaseMarks?: readonly number[];
}

let runSerial = 0;

export async function runEngine(options: EngineOptions): Promise<EngineRun> {
  const dir = await mkdtemp(join(options.root, `run-${runSerial++}-`));
  try {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
    env.setStateBackend(options.backend ?? STATE_BACKEND);
    const checkpointsDir = options.checkpointMs === null ? null : join(dir, 'checkpoints');
    if (checkpointsDir !== null) {
      // Every completed checkpoint is kept while the job runs (not only the latest), so the sink
      // can read each one after it is notified.
      env.configureCheckpointing({ interval: options.checkpointMs!, mode: 'EXACTLY_ONCE', dir: checkpointsDir, numRetained: 100_000, incremental: options.incremental === true });
    }
    const generate = options.generate ?? keyGenerator(options.keys);
    const generator = new DataGeneratorSource<string>({ count: options.records, seed: 1, generate: (index) => generate(index) });
    const source = new YieldingSource(generator, options.yieldMs);
    const sink = new CountingSink(checkpointsDir, options.markAt ?? -1, options.records, options.onMark, options.phaseMarks);
    env
      .fromSource(source, 'generator')
      .uid('generator')
      .keyBy((key) => key)
      .process(countPerKey)
      .uid('count')
      .sinkTo(() => sink)
      .uid('sink');
    const start = performance.now();
    const queuedBefore = processingThreadRunQueueNs();
    const result = await env.execute('bench keyed count');
    const seconds = (performance.now() - start) / 1000;
    const runQueueNs = processingThreadRunQueueNs() - queuedBefore;

    if (sink.records !== options.records) throw new Error(`engine: the sink saw ${sink.records} records, the source made ${options.records}`);
    if (options.expect !== undefined && sink.sum !== options.expect.checksum) {
      throw new Error(`engine: sink checksum ${sink.sum} differs from the bare loop's ${options.expect.checksum}: not the same records or counts`);
    }
    const checkpoints: CheckpointInfo[] = [];
    const unread: string[] = [];
    for (const r of await Promise.all(sink.reads)) {
      if (typeof r === 'string') unread.push(r);
      else checkpoints.push(r);
    }
    const afterMarkSeconds = (sink.lastAt - sink.markedAt) / 1000;
    return { seconds, checkpoints, completed: result.checkpoints, unread, sinkGaps: sink.gaps, pollGaps: source.gaps, afterMarkSeconds, afterMarkThreadNs: sink.lastCpu - sink.markedCpu, runQueueNs, phases: sink.phases };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting helpers

function progress(label: string, reps: number): (round: number) => void {
  return (round) => {
    if (!process.stderr.isTTY) return;
    process.stderr.write(`\r${label}: run ${round + 1}/${reps}   `);
    if (round === reps - 1) process.stderr.write('\r\x1b[K');
  };
}

function note(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
}

function verdict(ok: boolean): string {
  return ok ? green('ok') : red(bold('BELOW TARGET'));
}

function rate(r: number): string {
  return `${count(r)}/s`;
}

/** median (min-max) of records/s over runs, from run times. */
function rates(records: number, seconds: readonly number[]): string {
  const r = range(seconds.map((s) => records / s));
  return `${rate(r.median)} (${rate(r.min)}-${rate(r.max)})`;
}

function spanOf(r: Range, fmt: (x: number) => string): string {
  return `${fmt(r.median)} (${fmt(r.min)}-${fmt(r.max)})`;
}

const ms = (x: number): string => duration(x / 1000);
const ratioText = (x: number): string => x.toFixed(3);

interface GapSplit {
  readonly during: number;
  readonly outside: number;
}

/** Largest kept gap overlapping some checkpoint's [trigger, completion] window, and the largest other. */
function splitGaps(gaps: GapTracker, checkpoints: readonly CheckpointInfo[]): GapSplit {
  let during = 0;
  let outside = 0;
  for (const [end, gap] of gaps.long) {
    const start = end - gap;
    const overlaps = checkpoints.some((c) => start < c.triggeredAt + c.ackMs + c.metadataMs && end > c.triggeredAt);
    if (overlaps) during = Math.max(during, gap);
    else outside = Math.max(outside, gap);
  }
  return { during, outside };
}

function checkpointRows(label: string, runs: readonly EngineRun[]): string[][] {
  const all = runs.flatMap((r) => r.checkpoints);
  const perRun = runs.map((r) => r.completed);
  const expected = runs.map((r) => r.seconds);
  const read = all.length;
  const unread = runs.flatMap((r) => r.unread);
  const readNote = unread.length === 0 ? '' : `; ${unread.length} not readable: ${unread[0]}`;
  if (all.length === 0) {
    return [[`  ${label}`, `${perRun.join('/')} checkpoints completed per run (runs of ${expected.map((s) => num(s)).join('/')} s)`, red(bold('NO CHECKPOINTS'))]];
  }
  const total = range(all.map((c) => c.ackMs + c.metadataMs));
  const ack = range(all.map((c) => c.ackMs));
  const barrier = range(all.map((c) => c.barrierMs));
  const meta = range(all.map((c) => c.metadataMs));
  const sync = range(all.map((c) => c.syncMs));
  const largest = all.reduce((a, b) => (b.diskBytes > a.diskBytes ? b : a));
  const sizes = range(all.map((c) => c.diskBytes));
  return [
    [`  ${label}`, `completed per run ${perRun.join(', ')} (runs of ${expected.map((s) => num(s)).join(', ')} s); ${read} read back${readNote}`],
    [
      '',
      `duration median ${ms(total.median)}, max ${ms(total.max)}: trigger -> barrier at the keyed chain ${ms(barrier.median)} median / ${ms(barrier.max)} max, ` +
        `-> last ack ${ms(ack.median)} / ${ms(ack.max)} (from the trigger), _metadata ${ms(meta.median)} / ${ms(meta.max)}`,
    ],
    ['', `synchronous part (the processing thread held at the barrier, durations.sync) median ${ms(sync.median)}, max ${ms(sync.max)}`],
    [
      '',
      `size on disk median ${bytes(sizes.median)}, largest ${bytes(largest.diskBytes)} = ${count(largest.entries)} entries ` +
        `(data ${bytes(largest.dataBytes)}, _metadata ${bytes(largest.metadataBytes)}; ${num(largest.dataBytes / Math.max(1, largest.entries))} B/entry)`,
    ],
  ];
}

function gapRow(label: string, runs: readonly EngineRun[], withCheckpoints: boolean): string[] {
  const sink = range(runs.map((r) => r.sinkGaps.maxGapMs));
  const poll = range(runs.map((r) => r.pollGaps.maxGapMs));
  const longPerSecond = range(runs.map((r) => r.sinkGaps.long.filter(([, gap]) => gap >= LONG_PAUSE_MS).length / r.seconds));
  const cells = [`  ${label}`, `sink max gap ${spanOf(sink, ms)}`, `source poll max gap ${spanOf(poll, ms)}`, `sink gaps >= ${LONG_PAUSE_MS} ms: ${num(longPerSecond.median)}/s`];
  if (withCheckpoints) {
    const splits = runs.map((r) => splitGaps(r.sinkGaps, r.checkpoints));
    cells.push(`sink: during a checkpoint ${ms(range(splits.map((s) => s.during)).median)}, outside ${ms(range(splits.map((s) => s.outside)).median)} (medians of per-run max)`);
  }
  return cells;
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  const records = positiveIntFromEnv('BENCH_RECORDS', 1_000_000);
  const recordsLarge = positiveIntFromEnv('BENCH_RECORDS_LARGE', 1_000_000);
  const reps = Math.max(1, positiveIntFromEnv('BENCH_REPS', 3));
  const keys = positiveIntFromEnv('BENCH_KEYS', 100_000);
  const keysLarge = positiveIntFromEnv('BENCH_KEYS_LARGE', 1_000_000);
  const interval = positiveIntFromEnv('BENCH_INTERVAL_MS', 1000);
  const yieldMs = positiveIntFromEnv('BENCH_YIELD_MS', 0);
  const verbose = process.env.BENCH_VERBOSE === '1';
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-engine-'));
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  try {
    // Warm-up (not recorded): the bare loops also give the checksums the engine runs must match.
    note('warm-up');
    const expectSmall = bareLoop(records, keys);
    const expectLarge = bareLoop(recordsLarge, keysLarge);
    const warm = Math.min(records, 200_000);
    await runEngine({ records: warm, keys, checkpointMs: interval, yieldMs, root });
    await runEngine({ records: warm, keys, checkpointMs: null, yieldMs, root });
    note('');

    // 1. 100k keys, checkpoints on, against the bare loop.
    const small: EngineRun[] = [];
    const part1 = await interleave(
      {
        engine: async () => {
          const r = await runEngine({ records, keys, checkpointMs: interval, yieldMs, root, expect: expectSmall });
          small.push(r);
          return r.seconds;
        },
        baseline: async () => {
          const r = bareLoop(records, keys);
          if (r.checksum !== expectSmall.checksum) throw new Error('bare loop: checksum changed between runs');
          return r.seconds;
        },
      },
      { reps, warmup: 0, progress: progress(`1. ${count(keys)} keys`, reps) },
    );

    // 2. 1M keys, checkpoints on against off, with the bare loop for scale.
    const largeOn: EngineRun[] = [];
    const largeOff: EngineRun[] = [];
    const part2 = await interleave(
      {
        checkpoints: async () => {
          const r = await runEngine({ records: recordsLarge, keys: keysLarge, checkpointMs: interval, yieldMs, root, expect: expectLarge });
          largeOn.push(r);
          return r.seconds;
        },
        none: async () => {
          const r = await runEngine({ records: recordsLarge, keys: keysLarge, checkpointMs: null, yieldMs, root, expect: expectLarge });
          largeOff.push(r);
          return r.seconds;
        },
        baseline: async () => bareLoop(recordsLarge, keysLarge).seconds,
      },
      { reps, warmup: 0, progress: progress(`2. ${count(keysLarge)} keys`, reps) },
    );

    // The plain source (no yielding) with checkpoints for about three intervals.
    let plain: { records: number; run: EngineRun } | undefined;
    if (yieldMs > 0) {
      note('plain-source check');
      collectGarbage();
      const engineRate = records / range(part1.engine).median;
      const n = Math.max(10_000, Math.min(records, Math.round((engineRate * 3.2 * interval) / 1000)));
      plain = { records: n, run: await runEngine({ records: n, keys, checkpointMs: interval, yieldMs: 0, root }) };
      note('');
    }

    // Report.
    const r1 = range(ratios(part1.baseline, part1.engine));
    const overhead = range(ratios(part2.checkpoints, part2.none).map((x) => x - 1));
    const r2 = range(ratios(part2.baseline, part2.checkpoints));
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const lines = [
      bold(`engine benchmark: keyed count, DataGeneratorSource -> keyBy -> process (ValueState<number>) -> counting sink, parallelism 1`),
      `node ${process.version}, ${process.platform} ${process.arch}, ${cpus().length} x ${cpu}; temp dir ${root}`,
      `records per run: ${count(records)} at ${count(keys)} keys, ${count(recordsLarge)} at ${count(keysLarge)} keys (spec: 10M; BENCH_RECORDS, BENCH_RECORDS_LARGE); ` +
        `keys k<fmix32(i) mod K> (${count(expectSmall.distinctKeys)} and ${count(expectLarge.distinctKeys)} distinct)`,
      `${reps} runs after a warm-up, cases interleaved, GC before each run; median (min-max); ratios are per round; ` +
        `EXACTLY_ONCE checkpoints every ${interval} ms to local disk, all retained (no deletes during the run)`,
      `baseline: for i < N { k = key(i); map.set(k, (map.get(k) ?? 0) + 1) } into a Map<string, number>; the engine's sink checksum equals the loop's in every run`,
      yieldMs > 0
        ? `source: DataGeneratorSource wrapped to yield to the event loop (setImmediate) every ${yieldMs} ms between polls (BENCH_YIELD_MS); the plain-source check below runs without`
        : `source: the DataGeneratorSource as is (a pass-through wrapper times the gaps between polls); the engine yields to the event loop by itself`,
      '',
      table([
        [
          `1. ${count(keys)} keys, checkpoints`,
          `engine ${rates(records, part1.engine)}`,
          `bare loop ${rates(records, part1.baseline)}`,
          `ratio ${spanOf(r1, ratioText)} (target >= 0.50)`,
          verdict(r1.median >= 0.5),
        ],
        [
          `2. ${count(keysLarge)} keys`,
          `checkpoints ${rates(recordsLarge, part2.checkpoints)}`,
          `none ${rates(recordsLarge, part2.none)}`,
          `overhead ${spanOf(overhead, (x) => `${(x * 100).toFixed(1)}%`)} (target <= 5%)`,
          verdict(overhead.median <= 0.05),
        ],
        ['', `bare loop ${rates(recordsLarge, part2.baseline)}`, `engine with checkpoints / loop ${spanOf(r2, ratioText)}`],
      ]),
      '',
      '3. checkpoints (from each completed checkpoint\'s _metadata and its files on disk):',
      table([...checkpointRows(`${count(keys)} keys`, small), ...checkpointRows(`${count(keysLarge)} keys`, largeOn)]),
      `   longest pause (sampled every ${GAP_SAMPLE} records at the sink; median (min-max) of each run's max):`,
      table([
        gapRow(`${count(keys)} keys, checkpoints`, small, true),
        gapRow(`${count(keysLarge)} keys, checkpoints`, largeOn, true),
        gapRow(`${count(keysLarge)} keys, none`, largeOff, false),
      ]),
    ];
    if (plain !== undefined) {
      const got = plain.run.completed;
      const possible = Math.floor((plain.run.seconds * 1000) / interval);
      lines.push(
        '',
        `plain-source check: ${count(plain.records)} records from an unwrapped DataGeneratorSource, checkpoints every ${interval} ms: ` +
          `${got} checkpoint(s) completed in ${num(plain.run.seconds)} s (${possible} intervals elapsed) ` +
          (got === 0 && possible >= 2 ? red(bold('NO CHECKPOINTS: nothing yields to the event loop, the trigger timer never fires')) : green('ok')),
      );
    }
    if (verbose) {
      lines.push('', 'every checkpoint (BENCH_VERBOSE=1): run, id, entries, size, trigger -> barrier, -> ack, _metadata');
      const runsOf: [string, EngineRun[]][] = [[`${count(keys)} keys`, small], [`${count(keysLarge)} keys`, largeOn]];
      for (const [label, runs] of runsOf) {
        runs.forEach((r, i) => {
          for (const c of r.checkpoints) {
            lines.push(`  ${label} run ${i + 1}: chk-${c.id} ${count(c.entries)} entries ${bytes(c.diskBytes)}, barrier ${ms(c.barrierMs)}, ack ${ms(c.ackMs)}, _metadata ${ms(c.metadataMs)}`);
          }
        });
      }
    }
    lines.push(
      `load average (1 min) ${num(loadBefore)} at the start, ${num(loadavg()[0]!)} at the end, on ${cpus().length} cores (other processes skew absolute figures; ratios less so)`,
      `total benchmark time ${duration((performance.now() - started) / 1000)}`,
    );
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
