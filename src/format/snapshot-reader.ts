/**
 * Opens a snapshot by reading `_metadata` alone (kilobytes, whatever the state's size), then reads
 * state block by block on demand: one operator, one state, a range of key groups, or one key.
 */
import { FormatError, UserError } from '../errors.ts';
import { ObjectNotFoundError, type ObjectStore } from '../storage/object-store.ts';
import { type Frame, checkHeaderBytes, readFrames } from './block-reader.ts';
import { bytesEqual, encodeCanonicalKey } from './canonical-key.ts';
import { crc32 } from './crc32.ts';
import { ChainReplay, type ReplayOrder } from './chain-replay.ts';
import { keyGroupForBytes } from './key-groups.ts';
import { DATA_HEADER_SIZE, DATA_MAGIC, FRAME_HEADER_SIZE, dataFileVersionFor } from './layout.ts';
import { decodeMetadata } from './metadata-readers.ts';
import type { BlockRef, KeyGroupBlock, KeyedStateMeta, OperatorMeta, OperatorStateMeta, SnapshotMetadata } from './model.ts';
import { ScanError, readArrayHeader, valueBounds } from './msgpack-scan.ts';
import { type WantedBytes, limitsForFiles, planReads, readPlanning } from './read-plan.ts';
import { type ByteFetch, RangeSource } from './range-source.ts';
import { METADATA_FILE } from './snapshot-paths.ts';
import { createValueUnpackr } from './value-codec.ts';

export interface KeyedBatch {
  readonly keyGroup: number;
  readonly keys: unknown[];
  readonly values: unknown[];
}

export interface OperatorStateBatch {
  readonly subtask: number;
  /** Present for broadcast state. */
  readonly keys?: unknown[];
  readonly values: unknown[];
}

export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

/** The bytes of a snapshot's `_metadata`, or a UserError saying the directory is no snapshot. */
export async function readMetadataFile(store: ObjectStore): Promise<Uint8Array> {
  try {
    return await store.get(METADATA_FILE);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) {
      const inside = await snapshotsInside(store);
      if (inside !== undefined) throw new UserError(`${store.location}: not a snapshot (no ${METADATA_FILE}) but ${inside}`);
      throw new UserError(`${store.location}: not a snapshot (no ${METADATA_FILE}; an unfinished snapshot has none either)`);
    }
    throw err;
  }
}

/** Objects listed at most when looking for snapshots inside a directory that is none (a bucket's root may hold millions). */
const MAX_LISTED = 100_000;
const CHECKPOINT_NAME = /^chk-(\d+)$/u;

/**
 * What a directory without `_metadata` holds when it holds snapshots one or two levels down, in
 * words that name the one to give instead: a job's checkpoint directory (`<dir>/<jobId>`, the
 * usual mistake, as `flink list` and the logs name the job's directory), a checkpoint directory
 * (`<dir>`, checkpoints of jobs under it), or a directory of savepoints; undefined otherwise.
 */
async function snapshotsInside(store: ObjectStore): Promise<string | undefined> {
  const checkpoints: { job: string; id: number }[] = [];
  const others: string[] = [];
  let listed = 0;
  try {
    for await (const { key } of store.list('')) {
      if (++listed > MAX_LISTED) break;
      const parts = key.split('/');
      if (parts.at(-1) !== METADATA_FILE || parts.length > 3 || parts.length < 2) continue;
      const id = CHECKPOINT_NAME.exec(parts.at(-2)!)?.[1];
      if (id !== undefined) checkpoints.push({ job: parts.length === 3 ? parts[0]! : '', id: Number(id) });
      else if (parts.length === 2) others.push(parts[0]!);
    }
  } catch {
    return undefined; // the plain message is still true; a listing problem is not what the user asked about
  }
  const newest = (job: string): string => {
    const id = Math.max(...checkpoints.filter((c) => c.job === job).map((c) => c.id));
    return store.describe(job === '' ? `chk-${id}` : `${job}/chk-${id}`);
  };
  if (checkpoints.some((c) => c.job === '')) return `a job's checkpoint directory; its newest checkpoint is ${newest('')} (give that)`;
  const jobs = [...new Set(checkpoints.map((c) => c.job))].sort();
  if (jobs.length === 1) return `a checkpoint directory; its newest checkpoint is ${newest(jobs[0]!)} (give that)`;
  if (jobs.length > 1) return `a checkpoint directory with checkpoints of ${jobs.length} jobs (<jobId>/chk-<n>), e.g. ${newest(jobs[0]!)}; give one of them`;
  if (others.length === 1) return `a directory holding one snapshot, ${store.describe(others[0]!)} (give that)`;
  if (others.length > 1) return `a directory of ${others.length} snapshots, e.g. ${store.describe(others.sort()[0]!)}; give one of them`;
  return undefined;
}

export interface SnapshotReaderOptions {
  /**
   * The checkpoint root, against which a version 3 snapshot's shared files are read (FORMAT.md
   * 3.4). Default: the directory two above the snapshot's (`<root>/<jobId>/chk-<n>`), through
   * `store.storeAbove(2)`, made only when a shared file is read.
   */
  readonly root?: ObjectStore;
}

/** Entries a replayed key group yields per batch, so a caller gets bounded arrays. */
const REPLAY_BATCH = 65_536;

export class SnapshotReader {
  readonly #checkedHeaders = new Map<number, Promise<void>>();
  #root: ObjectStore | undefined;
  readonly #unpackr = createValueUnpackr();
  /** Told of every frame read (its items and bytes, header included), for a progress line. */
  onFrame: ((items: number, bytes: number) => void) | undefined;
  /**
   * Whether a read of many blocks (a key-group range, an operator state) fetches nearby blocks of
   * a file as one range (read-plan.ts). Off: one request per block, as before (for benchmarks).
   */
  coalesceReads = readPlanning.enabled;

  private constructor(
    readonly store: ObjectStore,
    readonly metadata: SnapshotMetadata,
    /** Size of `_metadata` in bytes. */
    readonly metadataSize: number,
    readonly options: SnapshotReaderOptions,
  ) {
    this.#root = options.root;
  }

  /** Reads and checks `_metadata`; `store` is rooted at the snapshot directory. */
  static async open(store: ObjectStore, options: SnapshotReaderOptions = {}): Promise<SnapshotReader> {
    return SnapshotReader.fromMetadataBytes(store, await readMetadataFile(store), options);
  }

  /** A reader over `_metadata` bytes already read from `store` (so a caller that looked first reads it once). */
  static fromMetadataBytes(store: ObjectStore, bytes: Uint8Array, options: SnapshotReaderOptions = {}): SnapshotReader {
    return new SnapshotReader(store, decodeMetadata(bytes, store.describe(METADATA_FILE)), bytes.length, options);
  }

  /** The same snapshot read through another store over the same objects (local recovery reads copies first). */
  readingThrough(store: ObjectStore): SnapshotReader {
    const reader = new SnapshotReader(store, this.metadata, this.metadataSize, this.options);
    reader.coalesceReads = this.coalesceReads;
    return reader;
  }

  /** The store file `index` of the file table is read through: the snapshot's, or the checkpoint root for a shared file. */
  storeForFile(index: number): ObjectStore {
    const file = this.metadata.files[index];
    if (file?.shared !== true) return this.store;
    this.#root ??= this.store.storeAbove?.(2);
    if (this.#root === undefined) {
      throw new UserError(`${this.store.location}: the snapshot refers to shared files under its checkpoint root (two directories up), which cannot be read from here; open the snapshot at <root>/<jobId>/chk-<n>`);
    }
    return this.#root;
  }

  /** Where file `index` of the file table is, for messages. */
  describeFile(index: number): string {
    const file = this.metadata.files[index]!;
    return this.storeForFile(index).describe(file.path);
  }

  operator(uid: string): OperatorMeta {
    const op = this.metadata.operators.find((o) => o.uid === uid);
    if (op === undefined) {
      const known = this.metadata.operators.map((o) => o.uid).join(', ') || 'none';
      throw new UserError(`no operator '${uid}' in ${this.store.location} (operators: ${known})`);
    }
    return op;
  }

  keyedState(uid: string, name: string): KeyedStateMeta {
    const op = this.operator(uid);
    const state = op.keyedStates.find((s) => s.name === name);
    if (state === undefined) throw new UserError(`operator '${uid}' has no keyed state '${name}'`);
    return state;
  }

  /**
   * Entries of one keyed state, optionally only key groups in `range`: each key group's chain
   * replayed (FORMAT.md 6; chain-replay.ts). A full block streams a frame at a time; only a
   * chain's deltas (its upserts and deletions blocks) are held in memory. `order`: a chain's
   * entries as FORMAT.md 7 lists them (`listed`, the default), or with updated keys in their full
   * block's place (`inPlace`, for a restore: the store order an on-disk backend loads fastest).
   */
  async *readKeyed(uid: string, name: string, range?: KeyGroupRange, order: ReplayOrder = 'listed'): AsyncGenerator<KeyedBatch> {
    const chains = [...keyGroupChains(this.keyedState(uid, name).blocks, range)];
    const source = this.planReads(chains.flat());
    for (const chain of chains) yield* this.#replay(chain, source, order);
  }

  /**
   * A RangeSource for reading `blocks` (and the headers of their files not yet checked) in few
   * requests, to pass to blockFrames; undefined when there is nothing to gain or coalescing is off.
   */
  planReads(blocks: readonly BlockRef[]): RangeSource | undefined {
    if (!this.coalesceReads || blocks.length < 2) return undefined;
    const wanted: WantedBytes[] = [...blocks];
    const files = new Set(blocks.map((b) => b.file));
    for (const file of files) {
      if (!this.#checkedHeaders.has(file)) wanted.push({ file, offset: 0, length: DATA_HEADER_SIZE });
    }
    const source = new RangeSource(planReads(wanted, limitsForFiles(files.size)));
    for (const file of files) source.prefetch(file, this.storeForFile(file), this.metadata.files[file]!.path);
    return source;
  }

  /** One key group's chain: its deltas read into a ChainReplay, then its full block streamed through it, then the rest. */
  async *#replay(chain: readonly KeyGroupBlock[], source: RangeSource | undefined, order: ReplayOrder): AsyncGenerator<KeyedBatch> {
    const keyGroup = chain[0]!.keyGroup;
    const head = chain[0]!.kind === undefined || chain[0]!.kind === 'full' ? chain[0] : undefined;
    const replay = new ChainReplay(order, chain.reduce((n, b) => n + (b === head ? 0 : b.entries), 0));
    for (let b = head === undefined ? 0 : 1; b < chain.length; b++) {
      const block = chain[b]!;
      const deletions = block.kind === 'deletions';
      for await (const frame of this.blockFrames(block, source)) {
        const [keys, values] = this.#decodeFrame(block, frame, deletions ? 1 : 2);
        replay.delta(keys, deletions ? undefined : values, () => this.#keyIds(block, frame, keys.length));
      }
    }
    if (head !== undefined) {
      for await (const frame of this.blockFrames(head, source)) {
        const [keys, values] = this.#decodeFrame(head, frame, 2);
        replay.full(keys, values, () => this.#keyIds(head, frame, keys.length));
        if (keys.length > 0) yield { keyGroup, keys, values };
      }
    }
    for (const { keys, values } of replay.rest(REPLAY_BATCH)) yield { keyGroup, keys, values };
  }

  /** The value of one key, reading only its key group (its chain, replayed, in version 3); undefined when absent. */
  async lookup(uid: string, name: string, key: unknown): Promise<{ keyGroup: number; value: unknown } | undefined> {
    const op = this.operator(uid);
    const wanted = encodeCanonicalKey(key);
    const keyGroup = keyGroupForBytes(wanted, op.maxParallelism);
    for await (const batch of this.readKeyed(uid, name, { start: keyGroup, end: keyGroup })) {
      for (let i = 0; i < batch.keys.length; i++) {
        if (bytesEqual(encodeCanonicalKey(batch.keys[i]), wanted)) return { keyGroup, value: batch.values[i] };
      }
    }
    return undefined;
  }

  /** Elements (list) or entries (broadcast) of an operator state, partition by partition. */
  async *readOperatorState(uid: string, name: string): AsyncGenerator<OperatorStateBatch> {
    const state: OperatorStateMeta | undefined = this.operator(uid).operatorStates.find((s) => s.name === name);
    if (state === undefined) throw new UserError(`operator '${uid}' has no operator state '${name}'`);
    const source = this.planReads(state.partitions.filter((b) => b !== null));
    for (const [subtask, block] of state.partitions.entries()) {
      if (block === null) continue;
      for await (const frame of this.blockFrames(block, source)) {
        if (state.kind === 'broadcast') {
          const [keys, values] = this.#decodeFrame(block, frame, 2);
          yield { subtask, keys, values };
        } else {
          const [values] = this.#decodeFrame(block, frame, 1);
          yield { subtask, values };
        }
      }
    }
  }

  /** The frames of a block, undecoded, after checking its data file's header once; through `source` (planReads) if given. */
  async *blockFrames(block: BlockRef, source?: RangeSource): AsyncGenerator<Frame> {
    const file = this.metadata.files[block.file]!; // the metadata reader checked every file index
    const store = this.storeForFile(block.file);
    const fetch = source?.fetcher(block.file, store, file.path);
    await this.#checkHeader(block.file, file.path, fetch);
    for await (const frame of readFrames(store, file.path, block, fetch)) {
      this.onFrame?.(frame.count, FRAME_HEADER_SIZE + frame.payload.length);
      yield frame;
    }
  }


  #checkHeader(index: number, path: string, fetch: ByteFetch | undefined): Promise<void> {
    let checked = this.#checkedHeaders.get(index);
    if (checked === undefined) {
      const store = this.storeForFile(index);
      checked = checkHeaderBytes(store, path, fetch ?? ((offset, length) => store.getRange(path, offset, length)), (bytes) => checkDataHeader(bytes, store.describe(path), this.metadata.formatVersion));
      this.#checkedHeaders.set(index, checked);
    }
    return checked;
  }

  /** The canonical bytes (latin1) of each key of a frame's keys array, the first value of every keyed payload. */
  #keyIds(block: BlockRef, frame: Frame, count: number): string[] {
    let bounds: Uint32Array;
    try {
      bounds = valueBounds(frame.payload, readArrayHeader(frame.payload, 0).next, count);
    } catch (err) {
      if (err instanceof ScanError) throw new FormatError(this.describeFile(block.file), frame.offset + FRAME_HEADER_SIZE + err.offset, err.message);
      throw err;
    }
    const ids: string[] = new Array<string>(count);
    for (let i = 0; i < count; i++) ids[i] = frame.payload.toString('latin1', bounds[i]!, bounds[i + 1]!);
    return ids;
  }

  /** Decodes a frame's payload into `arrays` arrays of `frame.count` items each. */
  #decodeFrame(block: BlockRef, frame: Frame, arrays: 1 | 2): [unknown[], unknown[]] {
    let decoded: unknown[];
    try {
      decoded = this.#unpackr.unpackMultiple(frame.payload) as unknown[];
    } catch (err) {
      throw new FormatError(this.describeFile(block.file), frame.offset, `frame is not valid MessagePack (${err instanceof Error ? err.message : String(err)})`);
    }
    if (decoded.length !== arrays || !decoded.every((a) => Array.isArray(a) && a.length === frame.count)) {
      throw new FormatError(this.describeFile(block.file), frame.offset, `frame should hold ${arrays} array(s) of ${frame.count} items`);
    }
    return decoded as [unknown[], unknown[]];
  }
}

/** A keyed state's blocks grouped into key groups' chains (consecutive in the index), within `range`. */
export function* keyGroupChains(blocks: readonly KeyGroupBlock[], range?: KeyGroupRange): Generator<KeyGroupBlock[]> {
  let chain: KeyGroupBlock[] = [];
  for (const block of blocks) {
    if (range !== undefined && (block.keyGroup < range.start || block.keyGroup > range.end)) continue;
    if (chain.length > 0 && chain[0]!.keyGroup !== block.keyGroup) {
      yield chain;
      chain = [];
    }
    chain.push(block);
  }
  if (chain.length > 0) yield chain;
}

/** `metadataVersion`: the version of the `_metadata` listing the file (its data file version: dataFileVersionFor). */
export function checkDataHeader(bytes: Uint8Array, where: string, metadataVersion: number): void {
  const expectedVersion = dataFileVersionFor(metadataVersion);
  if (bytes.length < DATA_HEADER_SIZE) throw new FormatError(where, bytes.length, 'truncated data file header');
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, DATA_HEADER_SIZE);
  if (!header.subarray(0, 8).equals(DATA_MAGIC)) throw new FormatError(where, 0, 'not a tsflink data file (wrong magic bytes)');
  if (header.readUInt32BE(12) !== crc32(header.subarray(0, 12))) throw new FormatError(where, 12, 'data file header checksum mismatch');
  const version = header.readUInt16BE(8);
  if (version !== expectedVersion) throw new FormatError(where, 8, `data file format version ${version} does not match its metadata`);
  if (header.readUInt16BE(10) !== 0) throw new FormatError(where, 10, 'data file header flags must be 0');
}
