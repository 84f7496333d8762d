/**
 * `npm run bench -- incremental`: what incremental checkpoints (issue 13) cost and save, per
 * keyed state backend, each figure beside its baseline measured in the same run.
 *
 * 1. Overhead (P2): the keyed count of bench/engine.ts (DataGeneratorSource -> keyBy ->
 *    ValueState<number> count -> counting sink, parallelism 1) at INC_KEYS (1M) keys,
 *    INC_RECORDS (4M) records a run, three cases interleaved: checkpointing off (the
 *    baseline), full checkpoints every INC_INTERVAL_MS (1 s), incremental checkpoints every
 *    INC_INTERVAL_MS. Overhead = 1 - (records/s with checkpoints) / (records/s without), per
 *    round. Targets: incremental <= 15% on hashmap, <= 5% on rocksdb and lmdb. The fraction of
 *    keys that changed between two checkpoints is computed from the records each barrier
 *    followed: with keys spread uniformly at about a million records a second, most keys change
 *    every interval and a delta is nearly the whole state. INC_DIST also has a second key
 *    distribution: every key once, then all further records on INC_HOT (1%) of the keys.
 *    Beside the whole run, the same overhead over the records after the first INC_KEYS, timed
 *    at the sink: with hot keys, the steady state once all INC_KEYS keys exist, without the
 *    phase that loads them (whose checkpoints write every new key once and rewrite key groups
 *    whose deltas outgrow their full blocks). Runs long enough for it: INC_RECORDS=10000000.
 *    And the same as the processing thread's CPU time per record (Linux), which a busy machine
 *    moves much less than throughput: the pipeline runs on that one thread. Each run is a child
 *    process of its own, after a warm-up run of 200k records there (bench/engine-child.ts: in one
 *    process each case ran slower after runs of the other); INC_IN_PROCESS=1 runs them all here.
 * 2. Size (P5): a job whose source emits in phases and whose checkpoints the bench triggers
 *    (JobClient.triggerCheckpoint) after each phase: phase 0 sets every one of INC_KEYS keys,
 *    each later phase updates INC_CHANGE (1%) of them, picked pseudo-randomly. The incremental run
 *    has INC_STEPS (20) such phases and then a `--full` checkpoint of the same state; the baseline
 *    run, incremental off, has phase 0 and one phase of changes. Reported: bytes written by the
 *    first incremental checkpoint after 1% changed, against the full checkpoint of the same state
 *    (target <= 3%), bytes per changed entry; the steady state over the phases (the chain policy,
 *    src/engine/checkpoint/chain-policy.ts, also rewrites some key groups whole each checkpoint,
 *    each at its turn, so chains stay bounded); and the bytes the last checkpoint refers to (REST
 *    state_size).
 * 3. Restore: the last incremental checkpoint of 2 (chains of a full block and deltas) against
 *    the `--full` checkpoint taken right after it (the same state), each restored into a fresh
 *    backend of the same type (open, plan, load every key group), INC_RESTORE_REPS (3) rounds
 *    interleaved after a warm-up. Target: chain <= 1.5x full. Beside the wall times, the
 *    process's CPU time per restore (all threads), which moves much less than wall time on a
 *    shared machine. Restoring a chain from local copies against s3rver is measured by
 *    `MEASURE_INCREMENTAL=5 npm run bench -- local-recovery`.
 * 4. Pauses: the processing thread's longest pause for a checkpoint (each subtask's synchronous
 *    part, `durations.sync`), and the longest gap between records at the sink during one, from the
 *    runs of 1; for 2's triggered checkpoints the synchronous part alone.
 *
 * Environment: INC_BACKENDS (default hashmap,rocksdb,lmdb), INC_SECTIONS (default
 * overhead,size,restore; pauses come with overhead and size), INC_KEYS, INC_RECORDS, INC_REPS
 * (default 1 round, no warm-up: each run is several seconds), INC_INTERVAL_MS, INC_DIST (uniform;
 * uniform,hot: both, the default), INC_FULL=0 (overhead without the full-checkpoints case), INC_HOT, INC_CHANGE, INC_STEPS, INC_RESTORE_REPS, INC_KEEP (a
 * directory to copy the restored checkpoints into, per backend, for bench/profile-restore.ts).
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StreamExecutionEnvironment } from '../src/engine/api/environment.ts';
import { KEYED_STATE_BACKENDS } from '../src/engine/state/create-keyed-state-backend.ts';
import { EmbeddedKeyedStateBackend } from '../src/engine/state/embedded/embedded-keyed-state-backend.ts';
import { OpeningStore } from '../src/engine/state/embedded/opening-store.ts';
import { planRestore } from '../src/engine/state/restore-plan.ts';
import { restoreKeyedState } from '../src/engine/state/restore-state.ts';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { openSnapshot } from '../src/open-snapshot.ts';
import { type CheckpointInfo, bareLoop, countPerKey, readCheckpoint, runEngine } from './engine.ts';
import { type KeyDistribution, keyGeneratorFor, runEngineInChild } from './engine-child.ts';
import { CountingSink, PhaseGate, type PhasePlan, PhasedSource, phaseKey as planPhaseKey, phaseLength as planPhaseLength } from './phased-source.ts';
import { bold, bytes, collectGarbage, count, duration, green, interleave, medianInterval, num, range, ratios, red, table } from './stats.ts';

function whole(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a whole number >= 1, got '${raw}'`);
  return n;
}

function fraction(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0 && n <= 1)) throw new Error(`${name} must be a fraction in (0, 1], got '${raw}'`);
  return n;
}

const list = (name: string, fallback: string): string[] => (process.env[name] ?? fallback).split(',').filter((s) => s !== '');

const KEYS = whole('INC_KEYS', 1_000_000);
const RECORDS = whole('INC_RECORDS', 4_000_000);
const REPS = whole('INC_REPS', 1);
const INTERVAL = whole('INC_INTERVAL_MS', 1000);
const HOT = fraction('INC_HOT', 0.01);
const CHANGE = fraction('INC_CHANGE', 0.01);
const STEPS = whole('INC_STEPS', 20);
const RESTORE_REPS = whole('INC_RESTORE_REPS', 3);
const WITH_FULL = process.env.INC_FULL !== '0';
const DISTS = list('INC_DIST', 'uniform,hot') as ('uniform' | 'hot')[];
const SECTIONS = new Set(list('INC_SECTIONS', 'overhead,size,restore'));
const KEEP = process.env.INC_KEEP === undefined || process.env.INC_KEEP === '' ? undefined : process.env.INC_KEEP;
const BACKENDS = list('INC_BACKENDS', 'hashmap,rocksdb,lmdb') as BuiltStateBackendType[];
/** INC_IN_PROCESS=1: the overhead runs in this process, one after another, as before (see bench/engine-child.ts for why not by default). */
const IN_PROCESS = process.env.INC_IN_PROCESS === '1';
/** Records of the warm-up run each child makes before its measured run (bench/engine-child.ts). */
const CHILD_WARMUP_RECORDS = 200_000;

for (const b of BACKENDS) if (!Object.hasOwn(KEYED_STATE_BACKENDS, b)) throw new Error(`INC_BACKENDS: '${b}' is not a keyed state backend (${Object.keys(KEYED_STATE_BACKENDS).join(', ')})`);
for (const d of DISTS) if (d !== 'uniform' && d !== 'hot') throw new Error(`INC_DIST: '${d}' is not uniform or hot`);

const ON_DISK_TARGET = 0.05;
const HEAP_TARGET = 0.15;
const SIZE_TARGET = 0.03;
const RESTORE_TARGET = 1.5;

const ms = (x: number): string => duration(x / 1000);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const verdict = (ok: boolean, what: string): string => (ok ? green('ok') : red(bold(what)));
/**
 * A target's verdict on the rounds' overheads, by the 95% interval of their median (stats.ts): ok
 * when it lies at or below the target, ABOVE TARGET when above, UNDECIDED when it straddles it.
 * Rounds of the same code spread by up to 30% (issue 13), so a median alone over a few rounds
 * said ok or above by chance; below 6 rounds there is no 95% interval and the median decides, as
 * the cell says.
 */
const targetVerdict = (overheads: readonly number[], target: number): string => {
  const i = medianInterval(overheads);
  if (i === undefined) return `${verdict(range(overheads).median <= target, 'ABOVE TARGET')} (median of ${overheads.length} rounds; 6 or more give a 95% interval)`;
  if (i.high <= target) return green('ok');
  if (i.low > target) return red(bold('ABOVE TARGET'));
  return bold('UNDECIDED');
};
/** The 95% interval of the rounds' median, for a cell: '' below 6 rounds. */
const interval = (overheads: readonly number[]): string => {
  const i = medianInterval(overheads);
  return i === undefined ? '' : `95% interval of the median ${pct(i.low)} to ${pct(i.high)}; `;
};
const load = (): string => loadavg().map((l) => num(l)).join(' ');
const say = (line: string): void => void process.stdout.write(`${line}\n`);

function distributionOf(dist: 'uniform' | 'hot'): KeyDistribution {
  return dist === 'uniform' ? { kind: 'uniform', keys: KEYS } : { kind: 'hot', keys: KEYS, hot: Math.max(1, Math.round(KEYS * HOT)) };
}

function generatorOf(dist: 'uniform' | 'hot'): (index: number) => string {
  return keyGeneratorFor(distributionOf(dist));
}

// ---------------------------------------------------------------------------------------------
// 1. Overhead

interface OverheadRow {
  readonly backend: BuiltStateBackendType;
  readonly dist: 'uniform' | 'hot';
  readonly seconds: Record<'off' | 'full' | 'incremental', number[]>;
  /** Per run, the seconds of the records after the first KEYS: the steady state once every key exists (hot), in the same order as `seconds`. */
  readonly steady: Record<'off' | 'full' | 'incremental', number[]>;
  /** The processing thread's CPU time over the same records, ns. */
  readonly steadyCpu: Record<'off' | 'full' | 'incremental', number[]>;
  /** Per run, what the processing thread waited on the run queue, ns (processingThreadRunQueueNs): the machine's share of a round's overhead. */
  readonly queued: Record<'off' | 'full' | 'incremental', number[]>;
  readonly checkpoints: Record<'full' | 'incremental', CheckpointInfo[][]>;
  readonly gaps: Record<'full' | 'incremental', number[]>;
}

/** Distinct keys among records [from, to) over the run's key count: the fraction that changed. */
function changedFraction(generate: (i: number) => string, from: number, to: number): number {
  const seen = new Set<string>();
  for (let i = from; i < to; i++) seen.add(generate(i));
  return seen.size / KEYS;
}

/** Between consecutive checkpoints of a run (by the records each barrier followed), after the first. */
function changedPerInterval(generate: (i: number) => string, checkpoints: readonly CheckpointInfo[]): number[] {
  const marks = checkpoints.map((c) => c.recordsAtBarrier).filter((r) => Number.isFinite(r)).sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = 1; i < marks.length; i++) out.push(changedFraction(generate, marks[i - 1]!, marks[i]!));
  return out;
}

async function overhead(backend: BuiltStateBackendType, dist: 'uniform' | 'hot', root: string): Promise<OverheadRow> {
  const generate = generatorOf(dist);
  const expect = bareLoop(RECORDS, KEYS, generate);
  const checkpoints: OverheadRow['checkpoints'] = { full: [], incremental: [] };
  const gaps: OverheadRow['gaps'] = { full: [], incremental: [] };
  const steady: OverheadRow['steady'] = { off: [], full: [], incremental: [] };
  const steadyCpu: OverheadRow['steadyCpu'] = { off: [], full: [], incremental: [] };
  const queued: OverheadRow['queued'] = { off: [], full: [], incremental: [] };
  // One run, in a child process of its own unless INC_IN_PROCESS=1 (bench/engine-child.ts).
  const runOnce = (checkpointMs: number | null, incremental: boolean) =>
    IN_PROCESS
      ? runEngine({ records: RECORDS, keys: KEYS, checkpointMs, yieldMs: 0, root, expect, backend, incremental, generate, markAt: KEYS })
      : runEngineInChild({ records: RECORDS, keys: KEYS, checkpointMs, root, expect, backend, incremental, distribution: distributionOf(dist), markAt: KEYS, warmupRecords: CHILD_WARMUP_RECORDS });
  const withCheckpoints = (mode: 'full' | 'incremental') => async (): Promise<number> => {
    const r = await runOnce(INTERVAL, mode === 'incremental');
    steady[mode].push(r.afterMarkSeconds);
    steadyCpu[mode].push(r.afterMarkThreadNs);
    queued[mode].push(r.runQueueNs);
    if (r.unread.length > 0) throw new Error(`${backend} ${mode}: ${r.unread.join('; ')}`);
    checkpoints[mode].push([...r.checkpoints].sort((a, b) => a.id - b.id));
    for (const c of r.checkpoints) {
      const end = c.triggeredAt + c.ackMs + c.metadataMs;
      let longest = 0;
      for (const [at, gap] of r.sinkGaps.long) if (at - gap < end && at > c.triggeredAt) longest = Math.max(longest, gap);
      gaps[mode].push(longest);
    }
    return r.seconds;
  };
  const measured: Partial<Record<'off' | 'full' | 'incremental', number[]>> = await interleave<'off' | 'full' | 'incremental'>(
    {
      off: async () => {
        const r = await runOnce(null, false);
        steady.off.push(r.afterMarkSeconds);
        steadyCpu.off.push(r.afterMarkThreadNs);
        queued.off.push(r.runQueueNs);
        return r.seconds;
      },
      // Full checkpoints take minutes per run at 10M records on rocksdb: INC_FULL=0 leaves them out.
      ...(WITH_FULL ? { full: withCheckpoints('full') } : {}),
      incremental: withCheckpoints('incremental'),
    } as Record<'off' | 'full' | 'incremental', () => Promise<number>>,
    { reps: REPS, warmup: 0, progress: (round) => process.stderr.isTTY && process.stderr.write(`\roverhead ${backend} ${dist}: round ${round + 1}/${REPS}  \r`) },
  );
  const seconds = { off: measured.off ?? [], full: measured.full ?? [], incremental: measured.incremental ?? [] };
  return { backend, dist, seconds, steady, steadyCpu, queued, checkpoints, gaps };
}

function overheadTable(rows: readonly OverheadRow[]): string {
  const out: string[][] = [['backend', 'keys', 'off (baseline)', 'full: overhead', 'incremental: overhead', 'target', `incremental: overhead after the first ${count(KEYS)} records (off, incr.)`, 'same, processing-thread CPU per record (off, incr.)', 'processing thread on the run queue per round, off / incr.', 'checkpoints full / incr.', 'written per checkpoint after the first, full / incr. (median)', 'keys changed per interval']];
  for (const r of rows) {
    const rate = (s: readonly number[]): string => `${count(RECORDS / range(s).median)}/s`;
    // Overhead per round: 1 - rate(case) / rate(off) = 1 - off seconds / case seconds.
    const cost = (s: readonly number[]): number[] => ratios(r.seconds.off, s).map((x) => 1 - x);
    const full = r.seconds.full.length === 0 ? { median: Number.NaN } : range(cost(r.seconds.full));
    const incRounds = cost(r.seconds.incremental);
    const inc = range(incRounds);
    const later = RECORDS - KEYS;
    const steadyRounds = ratios(r.steady.off, r.steady.incremental).map((x) => 1 - x);
    const steadyCost = range(steadyRounds);
    const steadyRate = (s: readonly number[]): string => `${count(later / range(s).median)}/s`;
    const cpuRounds = ratios(r.steadyCpu.off, r.steadyCpu.incremental).map((x) => 1 - x);
    const cpuCost = range(cpuRounds);
    const perRecord = (ns: readonly number[]): string => `${Math.round(range(ns).median / later)} ns`;
    const target = r.backend === 'hashmap' ? HEAP_TARGET : ON_DISK_TARGET;
    const after = (runs: readonly CheckpointInfo[][]): string => {
      const xs = runs.flatMap((cs) => cs.slice(1).map((c) => c.writtenBytes));
      return xs.length === 0 ? '-' : bytes(range(xs).median);
    };
    const counts = (runs: readonly CheckpointInfo[][]): string => runs.map((cs) => cs.length).join('/');
    const changed = r.checkpoints.incremental.flatMap((cs) => changedPerInterval(generatorOf(r.dist), cs));
    const ch = changed.length === 0 ? '-' : `${pct(range(changed).median)} (${pct(range(changed).min)}-${pct(range(changed).max)})`;
    out.push([
      r.backend,
      `${count(KEYS)} ${r.dist}`,
      rate(r.seconds.off),
      r.seconds.full.length === 0 ? "(INC_FULL=0)" : `${pct(full.median)} (${rate(r.seconds.full)})`,
      // Each round's own overhead beside the median: the rates are medians over rounds taken apart, so their ratio can differ from it.
      `${pct(inc.median)} (${rate(r.seconds.incremental)}; ${interval(incRounds)}rounds ${incRounds.map(pct).join(', ')})`,
      `<= ${pct(target)} ${targetVerdict(incRounds, target)}`,
      later > 0 && Number.isFinite(steadyCost.median) ? `${pct(steadyCost.median)} ${targetVerdict(steadyRounds, target)} (${interval(steadyRounds)}${steadyRate(r.steady.off)}, ${steadyRate(r.steady.incremental)})` : '-',
      later > 0 && Number.isFinite(cpuCost.median) ? `${pct(cpuCost.median)} (${perRecord(r.steadyCpu.off)}, ${perRecord(r.steadyCpu.incremental)}; ${interval(cpuRounds)}rounds ${cpuRounds.map(pct).join(', ')})` : '-',
      r.queued.off.every(Number.isFinite) ? r.queued.off.map((q, i) => `${duration(q / 1e9)} / ${duration((r.queued.incremental[i] ?? Number.NaN) / 1e9)}`).join(', ') : '-',
      `${counts(r.checkpoints.full)} / ${counts(r.checkpoints.incremental)}`,
      `${after(r.checkpoints.full)} / ${after(r.checkpoints.incremental)}`,
      ch,
    ]);
  }
  return table(out);
}

function pauseTable(rows: readonly OverheadRow[], phased: readonly SizeRow[]): string {
  const out: string[][] = [['backend', 'checkpoints', 'sync part: median, max', 'longest sink gap during a checkpoint: median, max']];
  for (const r of rows) {
    for (const mode of ['full', 'incremental'] as const) {
      const sync = r.checkpoints[mode].flat().map((c) => c.syncMs);
      if (sync.length === 0) continue;
      const g = range(r.gaps[mode]);
      out.push([r.backend, `${mode}, ${r.dist} keys, every ${INTERVAL} ms`, `${ms(range(sync).median)}, ${ms(range(sync).max)}`, `${ms(g.median)}, ${ms(g.max)}`]);
    }
  }
  for (const p of phased) {
    const sync = p.incremental.slice(2, -1).map((c) => c.syncMs);
    if (sync.length > 0) out.push([p.backend, `incremental, triggered after ${pct(CHANGE)} changed`, `${ms(range(sync).median)}, ${ms(range(sync).max)}`, '(no records flow then)']);
  }
  return table(out);
}

// ---------------------------------------------------------------------------------------------
// 2. Size: a phased source and triggered checkpoints

/** Phase 0 sets every key; phase j >= 1 updates CHANGE of them, picked pseudo-randomly. */
const PLAN: PhasePlan = { keys: KEYS, changed: Math.max(1, Math.round(KEYS * CHANGE)) };
const phaseLength = (phase: number): number => planPhaseLength(PLAN, phase);
const phaseKey = (phase: number, t: number): string => planPhaseKey(PLAN, phase, t);

function distinctInPhase(phase: number): number {
  const seen = new Set<string>();
  for (let t = 0; t < phaseLength(phase); t++) seen.add(phaseKey(phase, t));
  return seen.size;
}


interface PhasedRun {
  readonly checkpoints: CheckpointInfo[];
  /** Wall time from trigger to completion, per checkpoint. */
  readonly times: number[];
  /** Where the kept copy of the job's checkpoint directory lies, and its checkpoints' ids. */
  readonly kept: string;
  readonly ids: number[];
}

async function phasedRun(backend: BuiltStateBackendType, root: string, incremental: boolean, phases: number, thenFull: boolean): Promise<PhasedRun> {
  const dir = await mkdtemp(join(root, `phased-${backend}-${incremental ? 'inc' : 'full'}-`));
  const checkpointsDir = join(dir, 'checkpoints');
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env.setStateBackend(backend);
  // Checkpoints are triggered by the bench after each phase; the interval only has to be long.
  env.configureCheckpointing({ interval: 3_600_000, mode: 'EXACTLY_ONCE', dir: checkpointsDir, numRetained: 100_000, incremental });
  const gate = new PhaseGate();
  const sink = new CountingSink();
  env.fromSource(new PhasedSource(gate, PLAN), 'phases').uid('phases').keyBy((k) => k).process(countPerKey).uid('count').sinkTo(() => sink).uid('sink');
  const client = env.executeAsync('bench incremental phases');
  const checkpoints: CheckpointInfo[] = [];
  const times: number[] = [];
  const ids: number[] = [];
  const none = new Map<number, number>();
  const take = async (full: boolean): Promise<void> => {
    const started = performance.now();
    const location = await client.triggerCheckpoint(full);
    times.push(performance.now() - started);
    const id = Number(/chk-(\d+)$/.exec(location)?.[1]);
    ids.push(id);
    checkpoints.push(await readCheckpoint(id, location, none, none));
  };
  try {
    let expected = 0;
    for (let p = 0; p <= phases; p++) {
      await gate.release(p);
      expected += phaseLength(p);
      await take(false);
      if (sink.records !== expected) throw new Error(`phase ${p}: the sink saw ${sink.records} records at the checkpoint, expected ${expected}`);
    }
    if (thenFull) await take(true);
    // The engine deletes a finished job's checkpoints: keep a copy (shared files included) to restore.
    const kept = join(root, `kept-${backend}-${incremental ? 'inc' : 'full'}`);
    await cp(join(checkpointsDir, client.jobId), join(kept, client.jobId), { recursive: true });
    gate.finish();
    await client.result;
    return { checkpoints, times, kept: join(kept, client.jobId), ids };
  } finally {
    gate.finish();
    await client.result.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

interface SizeRow {
  readonly backend: BuiltStateBackendType;
  /** Per phase 0..STEPS, then the --full one. */
  readonly incremental: CheckpointInfo[];
  readonly incrementalTimes: number[];
  /** Phase 0 and phase 1, incremental off. */
  readonly baseline: CheckpointInfo[];
  readonly baselineTimes: number[];
  readonly changed: number[];
  readonly kept: PhasedRun;
}

async function size(backend: BuiltStateBackendType, root: string): Promise<SizeRow> {
  const baseline = await phasedRun(backend, root, false, 1, false);
  await rm(baseline.kept, { recursive: true, force: true });
  const incremental = await phasedRun(backend, root, true, STEPS, true);
  const changed = Array.from({ length: STEPS + 1 }, (_, p) => distinctInPhase(p));
  return { backend, incremental: incremental.checkpoints, incrementalTimes: incremental.times, baseline: baseline.checkpoints, baselineTimes: baseline.times, changed, kept: incremental };
}

function sizeTable(rows: readonly SizeRow[]): string {
  const out: string[][] = [
    [
      'backend',
      'full checkpoint (incr. off, after phase 1)',
      `first incremental after ${pct(CHANGE)} changed`,
      'incr. / full',
      'target',
      'per changed entry',
      `steady state, phases 2-${STEPS}: median (max)`,
      'steady / full',
      'last: refers to (state_size)',
      '--full in the same run',
      'checkpoint time full / first incr.',
    ],
  ];
  for (const r of rows) {
    const full = r.baseline[1]!.writtenBytes;
    const first = r.incremental[1]!.writtenBytes;
    const steady = r.incremental.slice(2, STEPS + 1).map((c) => c.writtenBytes);
    const steadyChanged = r.changed.slice(2);
    const s = range(steady.length > 0 ? steady : [Number.NaN]);
    const last = r.incremental[STEPS]!;
    const forced = r.incremental[STEPS + 1]!;
    out.push([
      r.backend,
      bytes(full),
      `${bytes(first)} (${count(r.changed[1]!)} keys)`,
      pct(first / full),
      `<= ${pct(SIZE_TARGET)} ${verdict(first / full <= SIZE_TARGET, 'ABOVE TARGET')}`,
      `${num(first / r.changed[1]!)} B (steady ${num(s.median / range(steadyChanged).median)} B)`,
      `${bytes(s.median)} (${bytes(s.max)})`,
      pct(s.median / full),
      `${bytes(last.stateBytes)} (${num(last.stateBytes / forced.writtenBytes)}x the --full)`,
      bytes(forced.writtenBytes),
      `${ms(r.baselineTimes[1]!)} / ${ms(r.incrementalTimes[1]!)}`,
    ]);
  }
  return table(out);
}

// ---------------------------------------------------------------------------------------------
// 3. Restore

export async function restoreOnce(backend: BuiltStateBackendType, location: string, root: string): Promise<{ seconds: number; cpuSeconds: number; entries: number }> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const reader = await openSnapshot(location);
  const operator = reader.metadata.operators.find((o) => o.uid === 'count');
  if (operator === undefined) throw new Error(`${location}: no operator 'count'`);
  const plan = planRestore({
    location,
    metadata: reader.metadata,
    operators: [{ uid: 'count', parallelism: 1, maxParallelism: operator.maxParallelism, maxParallelismConfigured: true }],
    // The source's and the sink's state are not restored here: only the keyed count is timed.
    allowNonRestoredState: true,
  });
  let entries = 0;
  const subtask = plan.operators[0]!.subtasks[0]!;
  const state = KEYED_STATE_BACKENDS[backend]({ keyGroupRange: subtask.keyGroupRange, maxParallelism: operator.maxParallelism, owner: 'bench restore', localDir: root });
  try {
    if (state instanceof EmbeddedKeyedStateBackend && state.store instanceof OpeningStore) await state.store.ready();
    entries = await restoreKeyedState(reader, subtask, state);
    const cpu = process.cpuUsage(cpuBefore);
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, entries };
  } finally {
    await state.dispose();
  }
}

interface RestoreRow {
  readonly backend: BuiltStateBackendType;
  readonly chain: number[];
  readonly full: number[];
  /** The process's CPU time (all its threads) per restore, rounds as in chain and full. */
  readonly cpu: { chain: number[]; full: number[] };
  readonly entries: { chain: number; full: number };
}

async function restore(row: SizeRow, root: string): Promise<RestoreRow> {
  const { kept, ids } = row.kept;
  const chainAt = join(kept, `chk-${ids[STEPS]!}`);
  const fullAt = join(kept, `chk-${ids[STEPS + 1]!}`);
  if (KEEP !== undefined) {
    // For bench/profile-restore.ts: the job's checkpoints (shared files included) and which is which.
    const to = join(KEEP, row.backend);
    await cp(kept, join(to, basename(kept)), { recursive: true });
    await writeFile(join(to, 'restore.json'), JSON.stringify({ chain: join(to, basename(kept), `chk-${ids[STEPS]!}`), full: join(to, basename(kept), `chk-${ids[STEPS + 1]!}`) }));
  }
  const entries = { chain: 0, full: 0 };
  const cpu = { chain: [] as number[], full: [] as number[] };
  const samples = await interleave(
    {
      chain: async () => {
        const r = await restoreOnce(row.backend, chainAt, root);
        entries.chain = r.entries;
        cpu.chain.push(r.cpuSeconds);
        return r.seconds;
      },
      full: async () => {
        const r = await restoreOnce(row.backend, fullAt, root);
        entries.full = r.entries;
        cpu.full.push(r.cpuSeconds);
        return r.seconds;
      },
    },
    { reps: RESTORE_REPS, warmup: 1 },
  );
  // The warm-up round's CPU times go as its wall times do.
  return { backend: row.backend, ...samples, cpu: { chain: cpu.chain.slice(1), full: cpu.full.slice(1) }, entries };
}

function restoreTable(rows: readonly RestoreRow[]): string {
  const out: string[][] = [['backend', 'full checkpoint (baseline)', 'chain: full blocks + deltas', 'chain / full', 'target', 'CPU time full / chain', 'CPU chain / full', 'entries restored: chain / full']];
  for (const r of rows) {
    const ratio = range(ratios(r.chain, r.full));
    const cpuRatio = range(ratios(r.cpu.chain, r.cpu.full));
    out.push([
      r.backend,
      `${ms(range(r.full).median * 1000)} (${ms(range(r.full).min * 1000)}-${ms(range(r.full).max * 1000)})`,
      `${ms(range(r.chain).median * 1000)} (${ms(range(r.chain).min * 1000)}-${ms(range(r.chain).max * 1000)})`,
      `${num(ratio.median)}x (${num(ratio.min)}-${num(ratio.max)})`,
      `<= ${RESTORE_TARGET}x ${verdict(ratio.median <= RESTORE_TARGET, 'ABOVE TARGET')}`,
      `${ms(range(r.cpu.full).median * 1000)} / ${ms(range(r.cpu.chain).median * 1000)}`,
      `${num(cpuRatio.median)}x (${num(cpuRatio.min)}-${num(cpuRatio.max)})`,
      `${count(r.entries.chain)} / ${count(r.entries.full)}`,
    ]);
  }
  return table(out);
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-incremental-'));
  const started = performance.now();
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  say(bold('incremental checkpoints: overhead, size, restore and pauses against full checkpoints and no checkpoints, per backend'));
  say(`node ${process.version}, ${cpus().length} x ${cpu}; temp dir ${root}; load average at the start ${load()}`);
  try {
    const overheads: OverheadRow[] = [];
    if (SECTIONS.has('overhead')) {
      for (const dist of DISTS) for (const b of BACKENDS) overheads.push(await overhead(b, dist, root));
      say('');
      say(
        `1. overhead (P2): keyed count, ${count(KEYS)} keys, ${count(RECORDS)} records a run, EXACTLY_ONCE checkpoints every ${INTERVAL} ms to local disk; ` +
          `${REPS} round(s), cases interleaved; overhead = 1 - rate / rate with checkpointing off, median per round (load average ${load()})`,
      );
      if (DISTS.includes('hot')) say(`   hot: every key once, then every record on ${pct(HOT)} of the keys`);
      say(overheadTable(overheads));
    }
    const sizes: SizeRow[] = [];
    if (SECTIONS.has('size') || SECTIONS.has('restore')) {
      for (const b of BACKENDS) sizes.push(await size(b, root));
      say('');
      say(
        `2. size (P5): phase 0 sets ${count(KEYS)} keys, then ${STEPS} phases each update ${pct(CHANGE)} of them (about ${count(phaseLength(1))} records, ` +
          `${count(range(sizes[0]?.changed.slice(1) ?? [0]).median)} distinct keys); one triggered checkpoint per phase; bytes written (REST checkpointed_size) (load average ${load()})`,
      );
      say(sizeTable(sizes));
    }
    if (SECTIONS.has('restore')) {
      const restores: RestoreRow[] = [];
      for (const s of sizes) restores.push(await restore(s, root));
      say('');
      say(
        `3. restore: the checkpoint after phase ${STEPS} (chains) against the --full checkpoint of the same state, into a fresh backend of the same type, ` +
          `parallelism 1; ${RESTORE_REPS} rounds after a warm-up, interleaved; median (min-max) (load average ${load()})`,
      );
      say(restoreTable(restores));
      say('   local recovery against s3rver, with chains: MEASURE_INCREMENTAL=5 npm run bench -- local-recovery');
    }
    if (overheads.length > 0 || sizes.length > 0) {
      say('');
      say('4. processing-thread pauses for a checkpoint (durations.sync, the longest over the subtasks)');
      say(pauseTable(overheads, sizes));
    }
    say('');
    say(`load average at the end ${load()}; total ${duration((performance.now() - started) / 1000)}`);
  } finally {
    collectGarbage();
    await rm(root, { recursive: true, force: true });
  }
}
