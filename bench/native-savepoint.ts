/**
 * `npm run bench -- native-savepoint`: the time to take a native savepoint (`--type native`) of
 * a job with incremental checkpoints against a canonical one of the same state, per keyed state
 * backend, on local disk, in the same run.
 *
 * The job (keyed count of bench/engine.ts, parallelism 1) sets NSP_KEYS (1M) keys, takes a
 * checkpoint, updates NSP_CHANGE (1%) of the keys, takes a second checkpoint (a delta), updates
 * another 1% and holds. Then savepoints are taken, native and canonical alternately, NSP_REPS (3)
 * rounds after one warm-up round, each timed from trigger to completion (JobClient.triggerSavepoint).
 * A native savepoint writes what changed since the last checkpoint and hard-links the shared files
 * its chains refer to; a canonical one writes every entry. Reported: median seconds of each, the
 * ratio native / canonical per round (median, range), and the bytes each wrote (links cost none).
 *
 * Environment: NSP_BACKENDS (default hashmap,rocksdb,lmdb), NSP_KEYS, NSP_CHANGE, NSP_REPS.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StreamExecutionEnvironment } from '../src/engine/api/environment.ts';
import { KEYED_STATE_BACKENDS } from '../src/engine/state/create-keyed-state-backend.ts';
import type { BuiltStateBackendType } from '../src/engine/state/state-backend-type.ts';
import { decodeMetadata } from '../src/format/metadata-readers.ts';
import { countPerKey } from './engine.ts';
import { CountingSink, PhaseGate, type PhasePlan, PhasedSource, phaseLength } from './phased-source.ts';
import { bytes, duration, interleave, num, range, ratios, table } from './stats.ts';

const KEYS = Number(process.env.NSP_KEYS ?? 1_000_000);
const CHANGE = Number(process.env.NSP_CHANGE ?? 0.01);
const REPS = Number(process.env.NSP_REPS ?? 3);
const BACKENDS = (process.env.NSP_BACKENDS ?? 'hashmap,rocksdb,lmdb').split(',').filter((s) => s !== '') as BuiltStateBackendType[];
for (const b of BACKENDS) if (!Object.hasOwn(KEYED_STATE_BACKENDS, b)) throw new Error(`NSP_BACKENDS: '${b}' is not a keyed state backend`);
if (!Number.isSafeInteger(KEYS) || KEYS < 1 || !(CHANGE > 0 && CHANGE <= 1) || !Number.isSafeInteger(REPS) || REPS < 1) throw new Error('NSP_KEYS and NSP_REPS must be whole numbers >= 1, NSP_CHANGE a fraction in (0, 1]');

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const changed = Math.max(1, Math.round(KEYS * CHANGE));
/** Phase 0 sets every key; phases 1 and 2 update `changed` keys each, picked pseudo-randomly. */
const PLAN: PhasePlan = { keys: KEYS, changed };

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

interface Row {
  readonly backend: BuiltStateBackendType;
  readonly seconds: Record<'native' | 'canonical', number[]>;
  readonly written: Record<'native' | 'canonical', number>;
  readonly total: Record<'native' | 'canonical', number>;
}

async function measure(backend: BuiltStateBackendType, root: string): Promise<Row> {
  const dir = await mkdtemp(join(root, `${backend}-`));
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env.setStateBackend(backend);
  env.configureCheckpointing({ interval: 3_600_000, mode: 'EXACTLY_ONCE', dir: join(dir, 'checkpoints'), numRetained: 10, incremental: true });
  const gate = new PhaseGate();
  const sink = new CountingSink();
  env.fromSource(new PhasedSource(gate, PLAN), 'phases').uid('phases').keyBy((k) => k).process(countPerKey).uid('count').sinkTo(() => sink).uid('sink');
  const client = env.executeAsync(`bench native savepoint ${backend}`);
  const written = { native: 0, canonical: 0 };
  const total = { native: 0, canonical: 0 };
  try {
    let expected = 0;
    for (const phase of [0, 1, 2]) {
      void gate.release(phase);
      expected += phaseLength(PLAN, phase);
      await until(() => sink.records === expected);
      // A base, then a delta on it; phase 2's changes are what a savepoint's delta holds.
      if (phase < 2) await client.triggerCheckpoint();
    }
    const savepoint = (type: 'native' | 'canonical') => async (): Promise<number> => {
      const started = performance.now();
      const location = await client.triggerSavepoint(join(dir, `savepoints-${type}`), { type });
      const seconds = (performance.now() - started) / 1000;
      const m = decodeMetadata(await readFile(join(location, '_metadata')), location);
      if (m.type !== type) throw new Error(`a ${type} savepoint came out ${m.type}`);
      written[type] = m.files.filter((f) => f.written !== false).reduce((n, f) => n + f.size, 0);
      total[type] = m.files.reduce((n, f) => n + f.size, 0);
      await rm(location, { recursive: true, force: true });
      return seconds;
    };
    const seconds = await interleave({ native: savepoint('native'), canonical: savepoint('canonical') }, { reps: REPS });
    return { backend, seconds, written, total };
  } finally {
    gate.finish();
    await client.result.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  say(`native-savepoint: ${num(KEYS)} keys, ${num(changed)} changed since the last checkpoint, ${REPS} rounds after a warm-up; ${cpus().length} cores, load ${loadavg().map((l) => num(l)).join(' ')}`);
  const root = await mkdtemp(join(tmpdir(), 'tsflink-bench-native-'));
  const rows: string[][] = [['backend', 'native', 'canonical', 'native / canonical (median, range)', 'native wrote (of total)', 'canonical wrote']];
  try {
    for (const backend of BACKENDS) {
      const r = await measure(backend, root);
      const n = range(r.seconds.native);
      const c = range(r.seconds.canonical);
      const q = range(ratios(r.seconds.native, r.seconds.canonical));
      rows.push([backend, duration(n.median), duration(c.median), `${num(q.median)}x (${num(q.min)}-${num(q.max)})`, `${bytes(r.written.native)} (of ${bytes(r.total.native)})`, bytes(r.written.canonical)]);
      say(`  ${backend}: done`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  say(table(rows));
}
