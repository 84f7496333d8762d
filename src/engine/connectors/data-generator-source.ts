/**
 * A seeded, deterministic data generator (Flink's DataGeneratorSource): record i is
 * `generate(i, random_i)` whatever the parallelism, so runs with and without failures, or at
 * different parallelisms, produce the same records. Bounded (`count`) or unbounded, optionally
 * rate-limited. Each split produces the indices `start, start + stride, ...`; its state is the
 * next index, so a restore continues exactly where the checkpoint was taken.
 *
 * `endWhen` holds a bounded source open after its last record: a test or script that must send
 * a command (savepoint, stop, cancel, a kill) to a job that is still running releases it
 * afterwards, however fast or slow the machine is. It changes neither the records nor the
 * checkpointed positions, so a held source replays exactly as one that is not.
 */
import { UserError } from '../../errors.ts';
import type { PollResult, Source, SourceReader, SourceRecord } from '../api/source.ts';

export interface DataGeneratorOptions<T> {
  /** Number of records; omit for an unbounded source. */
  readonly count?: number;
  readonly seed?: number;
  /** Records per second over all subtasks; omit for as fast as possible. */
  readonly recordsPerSecond?: number;
  /** Number of splits (fixed for the life of the job's state); default 16. */
  readonly splits?: number;
  /**
   * Record `index`. `random` is seeded by the source's seed and the index, so record i is the same
   * whoever generates it; it is one function reused for every record, valid during the call only.
   */
  readonly generate: (index: number, random: () => number) => T;
  /** Event time of a record, if the job uses event time. */
  readonly timestampOf?: (value: T, index: number) => number;
  /**
   * After its last record a bounded source stays open (no end of input, so no final watermark
   * and no final checkpoint) until this returns true; asked about every HELD_POLL_MS.
   */
  readonly endWhen?: () => boolean;
  /**
   * Once this returns true, `recordsPerSecond` no longer holds records back: the rest come as fast
   * as possible. A rate that spreads a held source's input over the commands or kills a test sends
   * serves nothing once they have happened (the release); asked at each poll until it says true.
   */
  readonly unthrottledWhen?: () => boolean;
}

/** How often a held source asks `endWhen` again; also the longest it delays mail meanwhile. */
const HELD_POLL_MS = 10;

interface GeneratorSplit {
  readonly id: number;
  readonly stride: number;
  next: number;
}

export class DataGeneratorSource<T> implements Source<T> {
  readonly bounded: boolean;

  constructor(readonly options: DataGeneratorOptions<T>) {
    const { count, splits = 16, recordsPerSecond } = options;
    if (count !== undefined && (!Number.isSafeInteger(count) || count < 0)) throw new UserError(`data generator: count ${count} is not a whole number >= 0`);
    if (!Number.isSafeInteger(splits) || splits < 1) throw new UserError(`data generator: splits ${splits} is not a whole number >= 1`);
    if (recordsPerSecond !== undefined && !(recordsPerSecond > 0)) throw new UserError(`data generator: recordsPerSecond must be > 0`);
    if (options.endWhen !== undefined && count === undefined) throw new UserError('data generator: endWhen holds a bounded source open; an unbounded one (no count) never ends anyway');
    if (options.unthrottledWhen !== undefined && recordsPerSecond === undefined) throw new UserError('data generator: unthrottledWhen lifts recordsPerSecond, and none is set: leave unthrottledWhen out');
    this.bounded = count !== undefined;
  }

  createSplits(): unknown[] {
    const stride = this.options.splits ?? 16;
    return Array.from({ length: stride }, (_, id) => ({ id, stride, next: id }));
  }

  createReader(context: { readonly parallelism: number }): SourceReader<T> {
    return new GeneratorReader(this.options, context.parallelism);
  }
}

class GeneratorReader<T> implements SourceReader<T> {
  readonly #splits: GeneratorSplit[] = [];
  #cursor = 0;
  readonly #perSecond: number | undefined;
  readonly #random = new Mulberry32();
  #started = 0;
  #emitted = 0;
  #unthrottled = false;

  constructor(
    private readonly options: DataGeneratorOptions<T>,
    parallelism: number,
  ) {
    this.#perSecond = options.recordsPerSecond === undefined ? undefined : options.recordsPerSecond / parallelism;
  }

  addSplits(splits: readonly unknown[]): void {
    for (const s of splits) {
      const split = s as GeneratorSplit;
      if (typeof split?.id !== 'number' || typeof split.stride !== 'number' || typeof split.next !== 'number') {
        throw new UserError(`data generator: restored split state ${JSON.stringify(s)} is not a generator split`);
      }
      this.#splits.push({ id: split.id, stride: split.stride, next: split.next });
    }
    this.#splits.sort((a, b) => a.id - b.id);
  }

  async poll(max: number): Promise<PollResult<T>> {
    const count = this.options.count ?? Number.POSITIVE_INFINITY;
    let budget = max;
    if (this.#perSecond !== undefined && !this.#unthrottled && this.options.unthrottledWhen?.() === true) this.#unthrottled = true;
    if (this.#perSecond !== undefined && !this.#unthrottled) {
      if (this.#started === 0) this.#started = Date.now();
      const allowed = Math.floor(((Date.now() - this.#started) / 1000) * this.#perSecond) - this.#emitted;
      if (allowed <= 0) {
        await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(1000 / this.#perSecond!))));
        return { records: [], done: false };
      }
      budget = Math.min(budget, allowed);
    }
    const records: SourceRecord<T>[] = [];
    const splits = this.#splits;
    const { generate, timestampOf } = this.options;
    const seed = this.options.seed ?? 0;
    const random = this.#random;
    // Round-robin over splits keeps the output order independent of how splits were assigned.
    for (let tries = 0; records.length < budget && tries < splits.length; ) {
      const split = splits[this.#cursor % splits.length]!;
      this.#cursor += 1;
      if (split.next >= count) {
        tries += 1;
        continue;
      }
      tries = 0;
      const index = split.next;
      split.next += split.stride;
      // The sequence mulberry32(seed ^ imul(index + 1, 0x9e3779b1)) gives, without a new closure.
      random.seed(seed ^ Math.imul(index + 1, 0x9e3779b1));
      const value = generate(index, random.next);
      records.push({ value, timestamp: timestampOf === undefined ? null : (timestampOf(value, index) ?? null) });
    }
    this.#emitted += records.length;
    const done = this.#splits.every((s) => s.next >= count);
    const { endWhen } = this.options;
    if (done && endWhen !== undefined && !endWhen()) {
      if (records.length === 0) await new Promise((r) => setTimeout(r, HELD_POLL_MS));
      return { records, done: false };
    }
    return { records, done };
  }

  snapshotSplits(): unknown[] {
    return this.#splits.map((s) => ({ id: s.id, stride: s.stride, next: s.next }));
  }
}

/** A small, fast, seeded PRNG: the same seed gives the same sequence everywhere. */
export function mulberry32(seed: number): () => number {
  const generator = new Mulberry32();
  generator.seed(seed);
  return generator.next;
}

/**
 * mulberry32 as one object whose seed can be set again: the generator source reseeds it for
 * every record instead of allocating a closure per record.
 */
class Mulberry32 {
  #a = 0;

  seed(seed: number): void {
    this.#a = seed >>> 0;
  }

  readonly next = (): number => {
    const a = (this.#a + 0x6d2b79f5) >>> 0;
    this.#a = a;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
