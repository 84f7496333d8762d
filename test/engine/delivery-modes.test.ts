/**
 * The three delivery modes under one failure schedule, each held to what it promises.
 *
 * The job: seeded events `{ id, user }` (each id once) from a source at parallelism 2 -> keyBy(user)
 * -> a per-user sequence number in keyed state (1, 2, 3, ... per user) -> one line per event,
 * `<id> <user> <seq> <attempt>`, into a sink. Every user's events come from one split, so they
 * reach the keyed operator over one channel in id order, and a failure-free run gives every id the
 * same sequence number whatever the timing (the reference run checks that). Source subtask 1 polls
 * in bursts, so its barriers trail subtask 0's and an AT_LEAST_ONCE snapshot, which does not wait,
 * can count records from after the barrier.
 *
 * The failure schedule, the same in every mode: subtask 0 of a pass-through map behind the keyed
 * operator throws once, in attempt 0, at its record FAIL_AT (drawn from SEED) or, when the job
 * checkpoints, at the first record after that at which a checkpoint has completed and more than
 * PAST_BARRIER records have passed since its latest barrier (so the sink has written records that
 * a restore must replay; the sources hold half-way until a checkpoint completed, so that moment
 * comes however slow the machine). A fixed-delay strategy restarts the job.
 *
 * Figures, against the failure-free run: lost = ids with no line, duplicated = extra lines of an
 * id, mismatched = ids with a line whose sequence number differs. Each mode's run also records
 * where the restart began (each split's restored position, from the source's restored state) and
 * each user's restored count (its state at the user's first record after the restart), from which
 * duplicated and mismatched are predicted exactly:
 * - duplicated = ids written in attempt 0 that lie at or after the restored position (replayed);
 * - mismatched = every replayed id of a user whose restored count is not the number of its ids
 *   before the restored position (a snapshot that holds records from after its barrier).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamExecutionEnvironment } from '../../src/engine/api/environment.ts';
import type { CheckpointListener, CheckpointedFunction, MapFunction } from '../../src/engine/api/functions.ts';
import type { KeyedProcessFunction } from '../../src/engine/api/keyed-process.ts';
import type { Source, SourceReader } from '../../src/engine/api/source.ts';
import type { CheckpointingMode } from '../../src/engine/checkpoint/checkpoint-config.ts';
import { DataGeneratorSource, mulberry32 } from '../../src/engine/connectors/data-generator-source.ts';
import { FileSink } from '../../src/engine/connectors/file-sink.ts';
import { PrintSink } from '../../src/engine/connectors/print-sink.ts';
import type { JobResult } from '../../src/engine/runtime/local-executor.ts';
import type { ValueState } from '../../src/engine/state/keyed-state-handles.ts';
import { valueState } from '../../src/engine/state/state-descriptors.ts';
import { tempDir } from '../support/temp-dir.ts';

const SEED = 2718;
const RECORDS = 20_000;
const SPLITS = 16;
const USERS_PER_SPLIT = 4;
/** Records per second over both source subtasks: the run lasts about 2 s, time for ~20 checkpoints. */
const RATE = 10_000;
const CHECKPOINT_INTERVAL = 100;
/** Source subtask 1 waits this long before each poll: the slow channel. */
const SLOW_POLL_MS = 20;
/** Subtask 0 of the failing map throws at this record of attempt 0 (or the first allowed one after it). */
const FAIL_AT = 1_000 + Math.floor(mulberry32(SEED)() * 1_000);
/** ... once more than this many records passed it since its latest checkpoint barrier. */
const PAST_BARRIER = 100;
/**
 * With checkpoints, each source reader of attempt 0 holds after this many records until a
 * checkpoint completed: however slow checkpoints are on a loaded machine, the failure comes
 * before the input ends.
 */
const HOLD_AT = RECORDS / 4;

interface Event {
  readonly id: number;
  readonly user: string;
}
interface Line {
  readonly id: number;
  readonly user: string;
  readonly seq: number;
  readonly attempt: number;
}

/** What a run observed from inside the job; shared by the per-subtask copies of its functions. */
interface Probe {
  /** Split id -> the position its reader started from, in the latest attempt. */
  readonly startAt: Map<number, number>;
  /** Attempt -> user -> the user's count in keyed state when its first record of that attempt came. */
  readonly countAtStart: Map<number, Map<string, number>>;
  /** A checkpoint completed (in any attempt). */
  checkpointed: boolean;
  failure?: { readonly record: number; readonly pastBarrier: number };
}

type ModeName = 'EXACTLY_ONCE' | 'AT_LEAST_ONCE' | 'NONE';

interface RunSpec {
  readonly mode: ModeName | 'reference';
  /** null: checkpointing off. */
  readonly checkpointing: CheckpointingMode | null;
  readonly sink: 'file' | 'print';
  readonly fail: boolean;
  readonly throttle: boolean;
}

interface Figures {
  readonly mode: ModeName;
  readonly attempts: number;
  readonly checkpoints: number;
  /** Record of attempt 0 at which subtask 0 failed, and how many it passed since its latest barrier. */
  readonly failedAt: number;
  readonly pastBarrier: number;
  /** Records the source read again after the restart (RECORDS when it started over). */
  readonly replayed: number;
  /** Visible lines (committed ones for the FileSink), and those of them written by attempt 0. */
  readonly lines: number;
  readonly linesOfAttempt0: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly mismatched: number;
  /** The largest number of lines of one id. */
  readonly maxCopies: number;
  readonly predictedDuplicated: number;
  readonly predictedMismatched: number;
  /** Restored keyed state against the restored source position, summed over users. */
  readonly stateAhead: number;
  readonly stateBehind: number;
  /** Users whose count restarted from 0 although attempt 0 had counted some of their records. */
  readonly usersReset: number;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
/** The failure-free run: id -> its line. */
let reference: Map<number, Line>;
const reports: Figures[] = [];

beforeAll(async () => {
  dir = await tempDir();
  const { lines } = await runJob({ mode: 'reference', checkpointing: null, sink: 'print', fail: false, throttle: false });
  reference = new Map(lines.map((l) => [l.id, l]));
});
afterAll(async () => {
  if (reports.length > 0) {
    console.log(`delivery modes, one failure schedule (seed ${SEED}, ${RECORDS} records, fail at record ${FAIL_AT} of subtask 0, > ${PAST_BARRIER} past a barrier):`);
    console.table(reports.map(summary));
  }
  await dir.remove();
});

function userOf(id: number, random: () => number): string {
  return `u${id % SPLITS}-${Math.floor(random() * USERS_PER_SPLIT)}`;
}

/**
 * The generator, throttled, with subtask 1 polling late; it notes where each split starts, and
 * with `hold` it waits for a checkpoint (see HOLD_AT) until the failure happened.
 */
function eventSource(probe: Probe, throttle: boolean, hold: boolean): Source<Event> {
  const generator = new DataGeneratorSource<Event>({
    count: RECORDS,
    splits: SPLITS,
    seed: SEED,
    ...(throttle ? { recordsPerSecond: RATE } : {}),
    generate: (id, random) => ({ id, user: userOf(id, random) }),
  });
  return {
    bounded: true,
    createSplits: () => generator.createSplits(),
    createReader(context): SourceReader<Event> {
      const reader = generator.createReader(context);
      let emitted = 0;
      return {
        addSplits(splits) {
          for (const split of splits as readonly { id: number; next: number }[]) probe.startAt.set(split.id, split.next);
          reader.addSplits(splits);
        },
        async poll(max) {
          if (throttle && context.subtaskIndex === 1) await new Promise((r) => setTimeout(r, SLOW_POLL_MS));
          let budget = max;
          if (hold && probe.failure === undefined && !probe.checkpointed) budget = Math.min(budget, HOLD_AT - emitted);
          if (budget <= 0) {
            await new Promise((r) => setTimeout(r, 2));
            return { records: [], done: false };
          }
          const result = await reader.poll(budget);
          emitted += result.records.length;
          return result;
        },
        snapshotSplits: () => reader.snapshotSplits(),
      };
    },
  };
}

/** Per user: a running count in keyed state; one line per event. */
function sequenceNumbers(probe: Probe): () => KeyedProcessFunction<string, Event, Line> {
  return () => {
    let count!: ValueState<number>;
    let attempt = 0;
    return {
      open(ctx) {
        count = ctx.getState(valueState<number>('seq'));
        attempt = ctx.attemptNumber;
      },
      processElement(event, _ctx, out) {
        const before = count.value() ?? 0;
        let atStart = probe.countAtStart.get(attempt);
        if (atStart === undefined) probe.countAtStart.set(attempt, (atStart = new Map()));
        if (!atStart.has(event.user)) atStart.set(event.user, before);
        count.update(before + 1);
        out.collect({ id: event.id, user: event.user, seq: before + 1, attempt });
      },
    };
  };
}

type FailingMap = MapFunction<Line, Line> & Partial<CheckpointedFunction> & CheckpointListener & { attempt: number; subtask: number; seen: number; pastBarrier: number; completed: boolean };

/** The schedule (see the top of the file); its counters live in each subtask's copy of the object. */
function failureSchedule(probe: Probe, checkpointing: boolean): FailingMap {
  return {
    attempt: 0,
    subtask: 0,
    seen: 0,
    pastBarrier: 0,
    completed: false,
    open(ctx) {
      this.attempt = ctx.attemptNumber;
      this.subtask = ctx.subtaskIndex;
    },
    snapshotState() {
      this.pastBarrier = 0;
    },
    notifyCheckpointComplete() {
      this.completed = true;
      probe.checkpointed = true;
    },
    map(line) {
      this.seen += 1;
      this.pastBarrier += 1;
      if (this.attempt === 0 && this.subtask === 0 && this.seen >= FAIL_AT && (!checkpointing || (this.completed && this.pastBarrier > PAST_BARRIER))) {
        this.attempt = -1; // once
        probe.failure = { record: this.seen, pastBarrier: this.pastBarrier - 1 };
        throw new Error(`injected failure at record ${this.seen} of subtask 0`);
      }
      return line;
    },
  };
}

const encode = (l: Line): string => `${l.id} ${l.user} ${l.seq} ${l.attempt}`;

function decode(text: string): Line {
  const [id, user, seq, attempt] = text.split(' ');
  return { id: Number(id), user: user!, seq: Number(seq), attempt: Number(attempt) };
}

async function runJob(spec: RunSpec): Promise<{ lines: Line[]; result: JobResult; probe: Probe }> {
  const probe: Probe = { startAt: new Map(), countAtStart: new Map(), checkpointed: false };
  const base = join(dir.path, spec.mode);
  const env = StreamExecutionEnvironment.getExecutionEnvironment()
    .setParallelism(2)
    .setRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 10 });
  if (spec.checkpointing !== null) {
    // Failed checkpoints are tolerated, so the injected failure is the only restart.
    env.configureCheckpointing({ interval: CHECKPOINT_INTERVAL, mode: spec.checkpointing, dir: join(base, 'checkpoints'), tolerableFailures: 100 });
  }
  await mkdir(base, { recursive: true });
  const printed = join(base, 'printed.txt');
  const stream = spec.sink === 'print' ? createWriteStream(printed, { flags: 'a' }) : undefined;
  const failing = env
    .fromSource(eventSource(probe, spec.throttle, spec.fail && spec.checkpointing !== null), 'events')
    .uid('events')
    .keyBy((e) => e.user)
    .process(sequenceNumbers(probe))
    .uid('sequence-numbers')
    .map(spec.fail ? failureSchedule(probe, spec.checkpointing !== null) : (l: Line) => l)
    .uid('failure-schedule');
  if (stream !== undefined) failing.sinkTo(new PrintSink<Line>({ identifier: 'out', out: stream, format: encode })).uid('sink');
  else failing.sinkTo(FileSink.forRowFormat<Line>(join(base, 'out'), { encoder: encode })).uid('sink');
  let result: JobResult;
  try {
    result = await env.execute(`delivery modes: ${spec.mode}`);
  } finally {
    stream?.end();
    if (stream !== undefined) await finished(stream);
  }
  let texts: string[];
  if (spec.sink === 'print') {
    // PrintSink at parallelism 2 prefixes `out:<subtask+1>> `.
    texts = (await readFile(printed, 'utf8')).split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf('> ') + 2));
  } else {
    const out = join(base, 'out');
    const names = await readdir(out);
    expect(names.filter((n) => n.startsWith('.')), 'no in-progress or pending files are left').toEqual([]);
    const files = await Promise.all(names.filter((n) => n.startsWith('part-')).map((n) => readFile(join(out, n), 'utf8')));
    texts = files.flatMap((t) => t.split('\n').filter((l) => l !== ''));
  }
  return { lines: texts.map(decode), result, probe };
}

/** Runs the schedule in one mode and measures its output against the failure-free run. */
async function runMode(mode: ModeName): Promise<Figures> {
  const spec: RunSpec =
    mode === 'EXACTLY_ONCE'
      ? { mode, checkpointing: 'EXACTLY_ONCE', sink: 'file', fail: true, throttle: true }
      : mode === 'AT_LEAST_ONCE'
        ? { mode, checkpointing: 'AT_LEAST_ONCE', sink: 'print', fail: true, throttle: true }
        : { mode, checkpointing: null, sink: 'print', fail: true, throttle: true };
  const { lines, result, probe } = await runJob(spec);

  const copies = new Map<number, number>();
  const mismatchedIds = new Set<number>();
  const strangers: string[] = [];
  for (const line of lines) {
    const expected = reference.get(line.id);
    if (expected === undefined || expected.user !== line.user) strangers.push(encode(line));
    copies.set(line.id, (copies.get(line.id) ?? 0) + 1);
    if (line.seq !== expected?.seq) mismatchedIds.add(line.id);
  }
  expect(strangers, 'lines of ids the input does not have').toEqual([]);
  let lost = 0;
  let duplicated = 0;
  for (const id of reference.keys()) {
    const n = copies.get(id) ?? 0;
    if (n === 0) lost += 1;
    else duplicated += n - 1;
  }

  // Where the last attempt began: replayed ids, and each user's ids before that point.
  const replayed = (id: number): boolean => id >= (probe.startAt.get(id % SPLITS) ?? 0);
  const before = new Map<string, number>();
  const replayedOf = new Map<string, number>();
  for (const { id, user } of reference.values()) {
    if (replayed(id)) replayedOf.set(user, (replayedOf.get(user) ?? 0) + 1);
    else before.set(user, (before.get(user) ?? 0) + 1);
  }
  const last = result.attempts - 1;
  let stateAhead = 0;
  let stateBehind = 0;
  let predictedMismatched = 0;
  for (const [user, restored] of probe.countAtStart.get(last) ?? new Map<string, number>()) {
    const wanted = before.get(user) ?? 0;
    stateAhead += Math.max(0, restored - wanted);
    stateBehind += Math.max(0, wanted - restored);
    if (restored !== wanted) predictedMismatched += replayedOf.get(user) ?? 0;
  }
  const ofAttempt0 = lines.filter((l) => l.attempt === 0);
  const countedInAttempt0 = new Set(ofAttempt0.map((l) => l.user));
  const usersReset = [...(probe.countAtStart.get(last) ?? new Map<string, number>())].filter(([user, restored]) => restored === 0 && countedInAttempt0.has(user)).length;

  const figures: Figures = {
    mode,
    attempts: result.attempts,
    checkpoints: result.checkpoints,
    failedAt: probe.failure?.record ?? -1,
    pastBarrier: probe.failure?.pastBarrier ?? -1,
    replayed: [...reference.keys()].filter(replayed).length,
    lines: lines.length,
    linesOfAttempt0: ofAttempt0.length,
    lost,
    duplicated,
    mismatched: mismatchedIds.size,
    maxCopies: Math.max(0, ...copies.values()),
    predictedDuplicated: new Set(ofAttempt0.filter((l) => replayed(l.id)).map((l) => l.id)).size,
    predictedMismatched,
    stateAhead,
    stateBehind,
    usersReset,
  };
  reports.push(figures);
  const where = figures.checkpoints === 0 ? 'no checkpoint' : `${figures.pastBarrier} records past its latest barrier`;
  console.log(
    `${mode}: lost ${lost}, duplicated ${duplicated}, mismatched ${mismatchedIds.size} ` +
      `(${figures.attempts} attempts, ${figures.checkpoints} checkpoints, failed at record ${figures.failedAt} of subtask 0 with ${where}, ` +
      `${figures.replayed} of ${RECORDS} records read again, restored state ${figures.stateAhead} records ahead of the source)`,
  );
  return figures;
}

function summary(f: Figures): Record<string, string | number> {
  return {
    mode: f.mode,
    attempts: f.attempts,
    checkpoints: f.checkpoints,
    'failed at': f.checkpoints === 0 ? `${f.failedAt}` : `${f.failedAt} (barrier +${f.pastBarrier})`,
    replayed: f.replayed,
    lines: f.lines,
    lost: f.lost,
    duplicated: f.duplicated,
    mismatched: f.mismatched,
    'state ahead': f.stateAhead,
    'users reset': f.usersReset,
  };
}

describe('delivery modes under one failure schedule', () => {
  it('the failure-free run gives every id one line and every user the numbers 1..n in id order', () => {
    expect(reference.size).toBe(RECORDS);
    const byUser = new Map<string, Line[]>();
    for (const line of reference.values()) byUser.set(line.user, [...(byUser.get(line.user) ?? []), line]);
    expect(byUser.size).toBe(SPLITS * USERS_PER_SPLIT);
    for (const [user, lines] of byUser) {
      lines.sort((a, b) => a.id - b.id);
      expect(lines.map((l) => l.seq), user).toEqual(lines.map((_, i) => i + 1));
    }
  });

  it('EXACTLY_ONCE (aligned barriers, two-phase-commit FileSink): nothing lost, doubled or miscounted', async () => {
    const f = await runMode('EXACTLY_ONCE');
    expect(f.attempts).toBe(2);
    expect(f.checkpoints).toBeGreaterThan(0);
    expect(f.failedAt).toBeGreaterThanOrEqual(FAIL_AT);
    expect(f.pastBarrier).toBeGreaterThanOrEqual(PAST_BARRIER); // written, uncommitted, to be replayed
    expect(f.replayed).toBeLessThan(RECORDS); // restored from a checkpoint, not from the start
    expect({ lost: f.lost, duplicated: f.duplicated, mismatched: f.mismatched }).toEqual({ lost: 0, duplicated: 0, mismatched: 0 });
    expect(f.lines).toBe(RECORDS);
    // Aligned: the restored count of every user is exactly its records before the restored position.
    expect({ ahead: f.stateAhead, behind: f.stateBehind }).toEqual({ ahead: 0, behind: 0 });
  });

  it('AT_LEAST_ONCE (no alignment, PrintSink): nothing lost; what was printed past the restored checkpoint is printed again', async () => {
    const f = await runMode('AT_LEAST_ONCE');
    expect(f.attempts).toBe(2);
    expect(f.checkpoints).toBeGreaterThan(0);
    expect(f.failedAt).toBeGreaterThanOrEqual(FAIL_AT);
    expect(f.replayed).toBeLessThan(RECORDS);
    expect(f.lost).toBe(0);
    // The lines printed past the failing subtask's latest barrier are all replayed: > 0 by schedule.
    expect(f.pastBarrier).toBeGreaterThanOrEqual(PAST_BARRIER);
    expect(f.duplicated).toBeGreaterThanOrEqual(PAST_BARRIER);
    // Exactly the ids printed by attempt 0 at or after the restored position, once more each.
    expect(f.duplicated).toBe(f.predictedDuplicated);
    expect(f.maxCopies).toBe(2);
    // The restored state never misses a record before the position; it may hold some after it,
    // which the replay counts again: exactly those users' replayed ids are miscounted.
    expect(f.stateBehind).toBe(0);
    expect(f.mismatched).toBe(f.predictedMismatched);
    expect(f.mismatched > 0).toBe(f.stateAhead > 0);
  });

  it('checkpointing off (fixed-delay restart): starts over with empty state, so everything printed before the failure is printed twice', async () => {
    const f = await runMode('NONE');
    expect(f.attempts).toBe(2);
    expect(f.checkpoints).toBe(0);
    expect(f.failedAt).toBe(FAIL_AT); // no checkpoint to wait for
    expect(f.replayed).toBe(RECORDS); // the source starts over
    expect(f.lost).toBe(0);
    // Every line of attempt 0 (at least the FAIL_AT - 1 of the failing subtask) comes again.
    expect(f.linesOfAttempt0).toBeGreaterThanOrEqual(FAIL_AT - 1);
    expect(f.duplicated).toBe(f.linesOfAttempt0);
    expect(f.duplicated).toBe(f.predictedDuplicated);
    expect(f.maxCopies).toBe(2);
    // The counts restart from 0 for every user attempt 0 had counted; with the input starting over
    // too, they are counted up to the same numbers: no mismatch (a source that resumed where it
    // was, e.g. from offsets committed outside the job, would miscount instead).
    expect(f.usersReset).toBeGreaterThan(0);
    expect({ ahead: f.stateAhead, behind: f.stateBehind }).toEqual({ ahead: 0, behind: 0 });
    expect(f.mismatched).toBe(0);
  });
});
