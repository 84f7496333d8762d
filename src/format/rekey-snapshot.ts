/**
 * `flink rekey`: a snapshot's state under another max parallelism, as a new canonical savepoint.
 * Flink can change an operator's max parallelism only through a State Processor API job; here
 * every keyed entry (timers too) is filed under its key group for the new max parallelism, its
 * key and value bytes copied as they are, and operator state is copied block by block. The result
 * is verified as `flink verify` does before its `_metadata` is published, so a target that has a
 * `_metadata` is always complete and valid.
 */
import { FormatError, UserError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { DataFileWriter, RawEntry, WrittenBlock } from './data-file-writer.ts';
import { shuffleCost, shuffleToKeyGroups, type ShuffleStats } from './key-group-shuffle.ts';
import { MAX_MAX_PARALLELISM } from './key-groups.ts';
import type { BlockRef, KeyedStateMeta, SnapshotMetadata } from './model.ts';
import { ScanError, readArrayHeader, scanValue } from './msgpack-scan.ts';
import { toHex } from './murmur3.ts';
import { METADATA_FILE } from './snapshot-paths.ts';
import { type SnapshotReader, keyGroupChains } from './snapshot-reader.ts';
import { SnapshotWriter } from './snapshot-writer.ts';
import { type VerifyReport, verifySnapshot } from './verify-snapshot.ts';

export interface RekeyOptions {
  readonly maxParallelism: number;
  /** Budget for entries held in memory; larger states spill to `spill`. */
  readonly memoryBytes: number;
  /** An empty temporary store for spill runs. */
  readonly spill: ObjectStore;
  /** Entries written and source bytes read so far. */
  readonly onProgress?: (entries: number, bytes: number) => void;
  /** Called once the data is written, before it is verified. */
  readonly onVerify?: () => void;
  /** Entries and bytes checked so far while verifying. */
  readonly onVerifyProgress?: (entries: number, bytes: number) => void;
}

export interface RekeyResult {
  readonly metadata: SnapshotMetadata;
  /** The source's max parallelisms, ascending, each once. */
  readonly from: readonly number[];
  readonly keyedEntries: number;
  readonly operatorStateEntries: number;
  readonly stats: ShuffleStats;
  readonly verify: VerifyReport;
}

/** What rekeying `source` to `maxParallelism` would break, as the one-line message, or undefined. */
export function rekeyProblem(source: SnapshotMetadata, maxParallelism: number): string | undefined {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > MAX_MAX_PARALLELISM) {
    return `--max-parallelism must be an integer from 1 to ${MAX_MAX_PARALLELISM}, got ${maxParallelism}`;
  }
  // Flink's rule: every operator needs at least one key group per subtask (parallelism <= max parallelism).
  const tooWide = source.operators.find((op) => op.parallelism > maxParallelism);
  if (tooWide !== undefined) {
    return `operator '${tooWide.uid}' was written at parallelism ${tooWide.parallelism}, more than max parallelism ${maxParallelism} allows; give --max-parallelism ${tooWide.parallelism} or more`;
  }
  return undefined;
}

/**
 * Why rekey refuses a target that exists, in one line. One with objects but no `_metadata` is
 * named as what it most likely is, the unfinished output of an earlier run (an S3 target, or a
 * local one from before rekey wrote through a partial directory), so the user knows to remove it.
 */
export async function existingTargetMessage(target: ObjectStore, name: string = target.location): Promise<string> {
  let objects = false;
  for await (const _object of target.list('')) {
    objects = true;
    break;
  }
  if (objects && (await target.stat(METADATA_FILE)) === undefined) {
    return `${name}: already exists, holding files but no ${METADATA_FILE}: the unfinished output of an earlier run that was interrupted (or another directory); rekey never overwrites: remove it or give a new target directory`;
  }
  return `${name}: already exists; rekey never overwrites: give a new target directory`;
}

export async function rekeySnapshot(source: SnapshotReader, target: ObjectStore, options: RekeyOptions): Promise<RekeyResult> {
  const meta = source.metadata;
  const M = options.maxParallelism;
  const problem = rekeyProblem(meta, M);
  if (problem !== undefined) throw new UserError(problem);
  for await (const _existing of target.list('')) throw new UserError(await existingTargetMessage(target));
  const stats: ShuffleStats = { peakBufferedBytes: 0, spilledBytes: 0, spillRuns: 0 };
  let entriesWritten = 0;
  let bytesRead = 0;
  const report = (): void => options.onProgress?.(entriesWritten, bytesRead);
  const previousOnFrame = source.onFrame;
  source.onFrame = (_items, bytes) => {
    bytesRead += bytes;
    report();
  };
  let keyedEntries = 0;
  let operatorStateEntries = 0;
  const writer = new SnapshotWriter(target, { kind: 'savepoint', type: 'canonical', jobId: meta.jobId, jobName: meta.jobName, checkpointId: meta.checkpointId, createdAt: meta.createdAt });
  let verify: VerifyReport | undefined;
  try {
    for (const op of meta.operators) {
      // Every operator gets M, not only those with keyed state: a job that sets its max
      // parallelism to M must find M recorded for each operator it restores (Flink checks all).
      writer.addOperator({ uid: op.uid, id: op.id, name: op.name, parallelism: op.parallelism, maxParallelism: M, ...(op.stateBackend === undefined ? {} : { stateBackend: op.stateBackend }) });
      let file: DataFileWriter | undefined;
      const dataFile = async (): Promise<DataFileWriter> => (file ??= await writer.openDataFile(toHex(op.id).slice(0, 12), 0));
      for (const state of op.keyedStates) {
        const blocks: (WrittenBlock & { keyGroup: number })[] = [];
        const label = `${op.uid}/${state.name}`;
        const sink = async (keyGroup: number, entries: Iterable<RawEntry> | AsyncIterable<RawEntry>): Promise<void> => {
          const block = await (await dataFile()).writeRawKeyGroup(label, keyGroup, M, entries);
          if (block === null) return;
          blocks.push({ ...block, keyGroup });
          entriesWritten += block.entries;
          keyedEntries += block.entries;
          report();
        };
        if (state.blocks.length > 0) {
          await shuffleToKeyGroups(rawEntries(source, state), { maxParallelism: M, memoryBytes: options.memoryBytes, inputBytes: state.bytes, inputEntries: state.entries, spill: options.spill, stats }, sink);
        }
        // A version 1 `ttl` map declares a TTL over values without timestamps (FORMAT.md 3.5):
        // written as such it would claim the TTL layout of version 2, so it is dropped, as the
        // engine restores that state anyway (without TTL).
        const ttl = state.ttlLayout === true ? state.ttl : null;
        writer.addKeyedState(op.uid, { name: state.name, kind: state.kind, schemaVersion: state.schemaVersion, ttl }, blocks);
      }
      for (const state of op.operatorStates) {
        const info = { name: state.name, kind: state.kind, mode: state.mode, schemaVersion: state.schemaVersion };
        for (const [subtask, partition] of state.partitions.entries()) {
          const block = partition === null ? null : await (await dataFile()).writeFrames(source.blockFrames(partition));
          writer.addOperatorState(op.uid, info, subtask, block);
          entriesWritten += block?.entries ?? 0;
          operatorStateEntries += block?.entries ?? 0;
          report();
        }
      }
      if (file !== undefined) await writer.closeDataFile(file);
    }
    options.onVerify?.();
    const metadata = await writer.finish({}, async (bytes) => {
      verify = await verifySnapshot(withMetadata(target, bytes), { onProgress: options.onVerifyProgress });
      if (!verify.valid) {
        const first = verify.problems[0]!;
        throw new FormatError(first.file, first.offset, `the rekeyed savepoint does not verify, so it was not written: ${first.message}`);
      }
    });
    const from = [...new Set(meta.operators.map((op) => op.maxParallelism))].sort((a, b) => a - b);
    return { metadata, from, keyedEntries, operatorStateEntries, stats, verify: verify! };
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  } finally {
    source.onFrame = previousOnFrame;
  }
}

/**
 * The entries of a keyed state as the bytes of its frames, key by key: nothing is decoded. A key
 * group's chain (version 3) is replayed on the bytes as SnapshotReader does (FORMAT.md 6): its
 * deltas held as the keys they touch, its full block streamed without them, then the deltas'
 * survivors; so the output is self-contained and full.
 */
async function* rawEntries(reader: SnapshotReader, state: KeyedStateMeta): AsyncGenerator<RawEntry> {
  for (const chain of keyGroupChains(state.blocks)) {
    const head = chain[0]!.kind === undefined || chain[0]!.kind === 'full' ? chain[0] : undefined;
    const touched = new Map<string, RawEntry | null>();
    for (const block of chain.slice(head === undefined ? 0 : 1)) {
      if (block.kind === 'deletions') {
        for await (const key of rawDeletedKeys(reader, block)) touched.set(Buffer.from(key).toString('latin1'), null);
      } else {
        // Copies: a frame's views die with the frame, the map outlives it.
        for await (const e of rawBlockEntries(reader, block)) touched.set(Buffer.from(e.key).toString('latin1'), { key: Uint8Array.from(e.key), value: Uint8Array.from(e.value) });
      }
    }
    if (head !== undefined) {
      for await (const e of rawBlockEntries(reader, head)) {
        if (touched.size === 0 || !touched.has(Buffer.from(e.key).toString('latin1'))) yield e;
      }
    }
    for (const e of touched.values()) if (e !== null) yield e;
  }
}

/** The keys of a deletions block: one array of canonical keys per frame. */
async function* rawDeletedKeys(reader: SnapshotReader, block: BlockRef): AsyncGenerator<Uint8Array> {
  const where = reader.describeFile(block.file);
  for await (const frame of reader.blockFrames(block)) {
    const payload = frame.payload;
    try {
      const keys = readArrayHeader(payload, 0);
      if (keys.count !== frame.count) throw new ScanError(0, `frame should hold ${frame.count} keys, holds ${keys.count}`);
      let position = keys.next;
      for (let i = 0; i < frame.count; i++) {
        const end = scanValue(payload, position);
        yield payload.subarray(position, end);
        position = end;
      }
      if (position !== payload.length) throw new ScanError(position, `${payload.length - position} bytes after the frame's keys`);
    } catch (err) {
      throw asFormatError(err, where, frame.offset);
    }
  }
}

async function* rawBlockEntries(reader: SnapshotReader, block: BlockRef): AsyncGenerator<RawEntry> {
  const where = reader.describeFile(block.file);
  for await (const frame of reader.blockFrames(block)) {
    const payload = frame.payload;
    let keyStarts: Uint32Array;
    let position: number;
    try {
      const keys = readArrayHeader(payload, 0);
      if (keys.count !== frame.count) throw new ScanError(0, `frame should hold ${frame.count} keys, holds ${keys.count}`);
      keyStarts = new Uint32Array(frame.count + 1);
      position = keys.next;
      for (let i = 0; i < frame.count; i++) {
        keyStarts[i] = position;
        position = scanValue(payload, position);
      }
      keyStarts[frame.count] = position;
      const values = readArrayHeader(payload, position);
      if (values.count !== frame.count) throw new ScanError(position, `frame should hold ${frame.count} values, holds ${values.count}`);
      position = values.next;
    } catch (err) {
      throw asFormatError(err, where, frame.offset);
    }
    for (let i = 0; i < frame.count; i++) {
      let end: number;
      try {
        end = scanValue(payload, position);
      } catch (err) {
        throw asFormatError(err, where, frame.offset);
      }
      yield { key: payload.subarray(keyStarts[i]!, keyStarts[i + 1]!), value: payload.subarray(position, end) };
      position = end;
    }
    if (position !== payload.length) throw new FormatError(where, frame.offset, `${payload.length - position} bytes after the frame's arrays`);
  }
}

function asFormatError(err: unknown, where: string, frameOffset: number): unknown {
  return err instanceof ScanError ? new FormatError(where, frameOffset + 12 + err.offset, err.message) : err;
}

/** `store` as it will be once `_metadata` holds `bytes`, without writing them. */
function withMetadata(store: ObjectStore, bytes: Uint8Array): ObjectStore {
  return {
    location: store.location,
    describe: (key) => store.describe(key),
    stat: async (key) => (key === METADATA_FILE ? { key, size: bytes.length } : store.stat(key)),
    get: async (key) => (key === METADATA_FILE ? bytes : store.get(key)),
    getRange: async (key, offset, length) => (key === METADATA_FILE ? bytes.subarray(offset, offset + length) : store.getRange(key, offset, length)),
    createWriter: (key) => store.createWriter(key),
    publish: (key, value) => store.publish(key, value),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
  };
}
