/**
 * Regroups the entries of one keyed state by their key group under a new max parallelism, in
 * bounded memory, for `flink rekey`.
 *
 * Why this shape: an entry's new key group is murmur3 of its key mod M (FORMAT.md 5.3), so the
 * entries of one old key group scatter over all new ones, while the new snapshot must hold each
 * new key group as one block, in ascending order. A state that fits in the memory budget is
 * regrouped in memory (one read, a counting sort). A larger one is a one-level distribution sort:
 * one read of the old state appends each entry to the spill run of its range of new key groups
 * (K runs, K from the state's size in the metadata, so each run should fit in memory), then each
 * run is read back, counting-sorted in memory and written. That reads and writes the state twice,
 * whatever its size; the alternative, one pass over the whole old state per memory-sized range of
 * new groups, reads it size/budget times. A run that still does not fit (keys that hash unevenly)
 * is split again the same way, and a run of a single key group, which needs no sorting, is
 * streamed from its file: no budget is ever exceeded by more than one entry.
 */
import { InternalError } from '../errors.ts';
import type { ObjectStore, ObjectWriter } from '../storage/object-store.ts';
import { ByteSink } from './byte-sink.ts';
import type { Entries, RawEntry } from './data-file-writer.ts';
import { keyGroupForBytes, rangeForSubtask } from './key-groups.ts';

/** Bytes a spill record adds to its key and value: key group, key length, value length. */
const RECORD_HEADER = 12;
/** Bytes per entry held besides its record while a run is sorted: its offset and its place. */
const SORT_BYTES_PER_ENTRY = 8;
const MIN_SPILL_BUFFER = 4 * 1024;
const MAX_READ_CHUNK = 4 * 1024 * 1024;

export interface ShuffleStats {
  /** Most bytes of entries held in memory at once (records, sort arrays, spill buffers). */
  peakBufferedBytes: number;
  /** Bytes written to spill runs (0 when the state was regrouped in memory). */
  spilledBytes: number;
  spillRuns: number;
}

export interface ShuffleOptions {
  readonly maxParallelism: number;
  /** The budget for entries held in memory. */
  readonly memoryBytes: number;
  /** An upper bound of the entries' key and value bytes (a state's block bytes are one). */
  readonly inputBytes: number;
  readonly inputEntries: number;
  /** Where spill runs go (a temporary directory); every run is deleted once read. */
  readonly spill: ObjectStore;
  readonly stats: ShuffleStats;
}

/** Receives each non-empty new key group once, in ascending order, with its entries. */
export type GroupSink = (keyGroup: number, entries: Entries<RawEntry>) => Promise<void>;

interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

interface Run {
  readonly key: string;
  readonly range: KeyGroupRange;
  bytes: number;
  count: number;
}

/** Bytes of memory a run of `bytes` and `count` records needs to be sorted. */
function sortCost(bytes: number, count: number): number {
  return bytes + SORT_BYTES_PER_ENTRY * count;
}

export function shuffleCost(inputBytes: number, inputEntries: number): number {
  return sortCost(inputBytes + RECORD_HEADER * inputEntries, inputEntries);
}

export async function shuffleToKeyGroups(input: AsyncIterable<RawEntry>, options: ShuffleOptions, sink: GroupSink): Promise<void> {
  const { maxParallelism, memoryBytes, stats } = options;
  const all = { start: 0, end: maxParallelism - 1 };
  const cost = shuffleCost(options.inputBytes, options.inputEntries);
  const withGroups = withKeyGroups(input, maxParallelism);
  if (cost <= memoryBytes) {
    // Sized by the estimate, an upper bound, so it never grows past it.
    const capacity = Math.max(1024, cost - SORT_BYTES_PER_ENTRY * options.inputEntries);
    const records = new ByteSink(capacity);
    let count = 0;
    for await (const r of withGroups) {
      appendRecord(records, r.group, r.key, r.value);
      count += 1;
    }
    note(stats, sortCost(Math.max(capacity, records.length), count));
    await emitSorted(records.view(), count, all, sink);
    return;
  }
  const shuffler = new Shuffler(options);
  for (const run of await shuffler.distribute(withGroups, all, runsFor(cost, memoryBytes, all))) await shuffler.drain(run, sink);
}

class Shuffler {
  #serial = 0;

  constructor(private readonly options: ShuffleOptions) {}

  /** Appends every record to the run of its key group's part of `range`; returns the runs. */
  async distribute(records: AsyncIterable<SpillRecord>, range: KeyGroupRange, wanted: number, fromRun = false): Promise<Run[]> {
    const { memoryBytes, spill, stats } = this.options;
    const size = range.end - range.start + 1;
    // Each run buffers its appends: the buffers together take at most half the budget.
    const count = Math.max(1, Math.min(size, wanted, Math.floor(memoryBytes / (2 * MIN_SPILL_BUFFER))));
    const bufferBytes = Math.max(MIN_SPILL_BUFFER, Math.floor(memoryBytes / (2 * count)));
    // Splitting a run also holds its read chunk (#read).
    note(stats, count * bufferBytes + (fromRun ? this.#chunkBytes() : 0));
    const runs: { run: Run; buffer: ByteSink; writer: ObjectWriter }[] = [];
    const bucketOf = new Uint32Array(size);
    try {
      for (let i = 0; i < count; i++) {
        const part = rangeForSubtask(i, count, size);
        const run: Run = { key: `run-${this.#serial++}.spill`, range: { start: range.start + part.start, end: range.start + part.end }, bytes: 0, count: 0 };
        runs.push({ run, buffer: new ByteSink(bufferBytes), writer: await spill.createWriter(run.key) });
        bucketOf.fill(i, part.start, part.end + 1);
        stats.spillRuns += 1;
      }
      for await (const r of records) {
        const target = runs[bucketOf[r.group - range.start]!]!;
        appendRecord(target.buffer, r.group, r.key, r.value);
        target.run.count += 1;
        if (target.buffer.length >= bufferBytes) await flush(target);
      }
      for (const target of runs) {
        await flush(target);
        await target.writer.close();
      }
    } catch (err) {
      for (const target of runs) await target.writer.abort().catch(() => undefined);
      throw err;
    }
    return runs.map((r) => r.run);

    async function flush(target: { run: Run; buffer: ByteSink; writer: ObjectWriter }): Promise<void> {
      if (target.buffer.length === 0) return;
      await target.writer.write(target.buffer.view());
      target.run.bytes += target.buffer.length;
      stats.spilledBytes += target.buffer.length;
      target.buffer.clear();
    }
  }

  /** Writes the key groups of one run to `sink` and deletes the run. */
  async drain(run: Run, sink: GroupSink): Promise<void> {
    const { spill, memoryBytes, stats } = this.options;
    try {
      if (run.count === 0) return;
      if (run.range.start === run.range.end) {
        await sink(run.range.start, this.#streamGroup(run));
      } else if (sortCost(run.bytes, run.count) <= memoryBytes) {
        const bytes = await spill.getRange(run.key, 0, run.bytes);
        if (bytes.length !== run.bytes) throw new InternalError(`spill run ${spill.describe(run.key)} is ${bytes.length} bytes, ${run.bytes} were written`);
        note(stats, sortCost(bytes.length, run.count));
        await emitSorted(bytes, run.count, run.range, sink);
      } else {
        const parts = await this.distribute(this.#read(run), run.range, Math.max(2, runsFor(sortCost(run.bytes, run.count), memoryBytes, run.range)), true);
        await spill.delete(run.key);
        for (const part of parts) await this.drain(part, sink);
      }
    } finally {
      await spill.delete(run.key);
    }
  }

  async *#streamGroup(run: Run): AsyncGenerator<RawEntry> {
    for await (const r of this.#read(run)) {
      if (r.group !== run.range.start) throw new InternalError(`spill run of key group ${run.range.start} holds key group ${r.group}`);
      yield r;
    }
  }

  #chunkBytes(): number {
    return Math.max(MIN_SPILL_BUFFER, Math.min(MAX_READ_CHUNK, Math.floor(this.options.memoryBytes / 4)));
  }

  /** The records of a run, read in chunks: at most a chunk and one record in memory. */
  async *#read(run: Run): AsyncGenerator<SpillRecord> {
    const { spill, stats } = this.options;
    const chunkBytes = this.#chunkBytes();
    let buffered: Buffer = Buffer.alloc(0);
    let offset = 0;
    while (offset < run.bytes || buffered.length > 0) {
      const header = buffered.length >= RECORD_HEADER ? RECORD_HEADER + buffered.readUInt32BE(4) + buffered.readUInt32BE(8) : RECORD_HEADER;
      if (buffered.length < header) {
        if (offset >= run.bytes) throw new InternalError(`spill run ${spill.describe(run.key)} ends inside a record`);
        const chunk = await spill.getRange(run.key, offset, Math.max(chunkBytes, header - buffered.length));
        if (chunk.length === 0) throw new InternalError(`spill run ${spill.describe(run.key)} is shorter than written`);
        offset += chunk.length;
        buffered = buffered.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.concat([buffered, chunk]);
        note(stats, buffered.length);
        continue;
      }
      const keyLength = buffered.readUInt32BE(4);
      yield {
        group: buffered.readUInt32BE(0),
        key: buffered.subarray(RECORD_HEADER, RECORD_HEADER + keyLength),
        value: buffered.subarray(RECORD_HEADER + keyLength, header),
      };
      buffered = buffered.subarray(header);
    }
  }
}

interface SpillRecord extends RawEntry {
  readonly group: number;
}

async function* withKeyGroups(input: AsyncIterable<RawEntry>, maxParallelism: number): AsyncGenerator<SpillRecord> {
  for await (const entry of input) yield { group: keyGroupForBytes(entry.key, maxParallelism), key: entry.key, value: entry.value };
}

/** How many runs make each about a fifth under the budget, for keys that hash a little unevenly. */
function runsFor(cost: number, memoryBytes: number, range: KeyGroupRange): number {
  return Math.min(range.end - range.start + 1, Math.max(1, Math.ceil((cost * 1.25) / memoryBytes)));
}

function appendRecord(out: ByteSink, group: number, key: Uint8Array, value: Uint8Array): void {
  const buffer = out.reserve(RECORD_HEADER + key.length + value.length);
  let at = out.length;
  buffer.writeUInt32BE(group, at);
  buffer.writeUInt32BE(key.length, at + 4);
  buffer.writeUInt32BE(value.length, at + 8);
  at += RECORD_HEADER;
  buffer.set(key, at);
  buffer.set(value, at + key.length);
  out.advance(RECORD_HEADER + key.length + value.length);
}

/**
 * A counting sort of the `count` records in `bytes` by key group (stable: entries of one group
 * keep their order), then each group to `sink` in ascending order.
 */
async function emitSorted(bytes: Uint8Array, count: number, range: KeyGroupRange, sink: GroupSink): Promise<void> {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const offsets = new Uint32Array(count);
  const size = range.end - range.start + 1;
  const starts = new Uint32Array(size + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    const group = view.readUInt32BE(at);
    if (group < range.start || group > range.end) throw new InternalError(`record of key group ${group} in a run of ${range.start}-${range.end}`);
    starts[group - range.start + 1]! += 1;
    at += RECORD_HEADER + view.readUInt32BE(at + 4) + view.readUInt32BE(at + 8);
  }
  if (at !== view.length) throw new InternalError(`${count} records end at ${at} of ${view.length} bytes`);
  for (let g = 1; g <= size; g++) starts[g]! += starts[g - 1]!;
  const order = new Uint32Array(count);
  const next = starts.slice(0, size);
  for (let i = 0; i < count; i++) order[next[view.readUInt32BE(offsets[i]!) - range.start]!++] = offsets[i]!;
  for (let g = 0; g < size; g++) {
    const from = starts[g]!;
    const to = starts[g + 1]!;
    if (from === to) continue;
    await sink(range.start + g, entriesAt(view, order, from, to));
  }
}

function* entriesAt(view: Buffer, order: Uint32Array, from: number, to: number): Generator<RawEntry> {
  for (let i = from; i < to; i++) {
    const at = order[i]!;
    const keyEnd = at + RECORD_HEADER + view.readUInt32BE(at + 4);
    yield { key: view.subarray(at + RECORD_HEADER, keyEnd), value: view.subarray(keyEnd, keyEnd + view.readUInt32BE(at + 8)) };
  }
}

function note(stats: ShuffleStats, bytes: number): void {
  if (bytes > stats.peakBufferedBytes) stats.peakBufferedBytes = bytes;
}
