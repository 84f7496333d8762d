/**
 * Assembles a snapshot: data files written by DataFileWriter (one per subtask), then `_metadata`,
 * published last and atomically so that a snapshot exists only once it is complete
 * (docs/FORMAT.md section 2).
 */
import { InternalError, UserError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { DataFileWriter, type WrittenBlock, type WrittenFile } from './data-file-writer.ts';
import { ENGINE } from './layout.ts';
import { decodeMetadata } from './metadata-readers.ts';
import type {
  DataFileMeta,
  DistributionMode,
  KeyGroupBlock,
  KeyedBlockKind,
  KeyedStateKind,
  KeyedStateMeta,
  OperatorMeta,
  OperatorStateKind,
  OperatorStateMeta,
  SnapshotKind,
  SnapshotMetadata,
  SnapshotType,
  TtlConfig,
} from './model.ts';
import { operatorIdFromUid } from './murmur3.ts';
import { METADATA_FILE, dataFilePath } from './snapshot-paths.ts';
import { encodeMetadataV1 } from './v1/encode-metadata.ts';
import { encodeMetadataV2 } from './v2/encode-metadata.ts';
import { checkChains } from './v3/chain-rules.ts';
import { encodeMetadataV3 } from './v3/encode-metadata.ts';

export interface SnapshotInfo {
  readonly kind: SnapshotKind;
  readonly type?: SnapshotType;
  readonly jobId: string;
  readonly jobName: string;
  readonly checkpointId: number;
  readonly createdAt?: number;
}

export interface OperatorInfo {
  readonly uid: string;
  readonly name?: string;
  /** Defaults to murmur3_128 of the uid, as Flink derives it. */
  readonly id?: Uint8Array;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** The keyed state backend its keyed state comes from (`hashmap`, `rocksdb`, `lmdb`), if known. */
  readonly stateBackend?: string;
}

export interface KeyedStateInfo {
  readonly name: string;
  readonly kind: KeyedStateKind;
  readonly schemaVersion?: number;
  /**
   * A map makes the snapshot version 2 and declares the state's values to be in the TTL layout
   * (FORMAT.md 5.4): the caller writes them so.
   */
  readonly ttl?: TtlConfig | null;
}

export interface OperatorStateInfo {
  readonly name: string;
  readonly kind: OperatorStateKind;
  readonly mode: DistributionMode;
  readonly schemaVersion?: number;
}

/**
 * A keyed block to list: `kind` absent means `full`. Blocks of one key group form its chain in
 * the order given (FORMAT.md 3.6): at most one full block, first; then upserts and deletions.
 */
export type KeyedBlock = WrittenBlock & { readonly keyGroup: number; readonly kind?: KeyedBlockKind };

/** How a data file written elsewhere belongs to the snapshot (FORMAT.md 3.4, version 3). */
export interface AddedFileOptions {
  /** The file lies in `<root>/<jobId>/shared/`: its path is relative to the checkpoint root. Default false. */
  readonly shared?: boolean;
  /**
   * False: an earlier checkpoint wrote it and this one refers to it. Not shared and not written:
   * copied (or hard-linked) into the snapshot directory from an earlier checkpoint's shared file
   * (a native savepoint, FORMAT.md 3.4). Default true.
   */
  readonly written?: boolean;
}

interface OperatorDraft {
  readonly info: OperatorInfo;
  readonly keyed: Map<string, { info: KeyedStateInfo; blocks: KeyedBlock[] }>;
  readonly operator: Map<string, { info: OperatorStateInfo; partitions: (WrittenBlock | null)[] }>;
}

export class SnapshotWriter {
  readonly #operators = new Map<string, OperatorDraft>();
  readonly #files: DataFileMeta[] = [];
  readonly #open = new Set<DataFileWriter>();
  readonly #started = Date.now();
  #finished = false;

  constructor(
    readonly store: ObjectStore,
    readonly info: SnapshotInfo,
  ) {
    if (!/^[0-9a-f]{32}$/.test(info.jobId)) throw new UserError(`job id '${info.jobId}' is not 32 lowercase hex digits`);
  }

  /** A new data file; `tag` makes its name readable (an operator id prefix, say). */
  async openDataFile(tag: string, subtask: number): Promise<DataFileWriter> {
    const writer = await DataFileWriter.create(this.store, dataFilePath(tag, subtask));
    this.#open.add(writer);
    return writer;
  }

  async closeDataFile(writer: DataFileWriter): Promise<WrittenFile> {
    const file = await writer.close();
    this.#open.delete(writer);
    this.#files.push(file);
    return file;
  }

  /**
   * A data file written and closed elsewhere (by a subtask), whose blocks are added separately.
   * `shared` or `written: false` make the snapshot version 3; a shared file's path is relative to
   * the checkpoint root (`<jobId>/shared/<name>`), the snapshot directory's grandparent.
   */
  addFile(file: WrittenFile, options: AddedFileOptions = {}): void {
    if (this.#files.some((f) => f.path === file.path)) throw new InternalError(`data file ${file.path} added twice`);
    const shared = options.shared ?? false;
    const written = options.written ?? true;
    this.#files.push(shared || !written ? { path: file.path, size: file.size, shared, written } : { path: file.path, size: file.size });
  }

  addOperator(info: OperatorInfo): void {
    if (this.#operators.has(info.uid)) throw new InternalError(`operator '${info.uid}' added twice`);
    this.#operators.set(info.uid, { info, keyed: new Map(), operator: new Map() });
  }

  addKeyedState(uid: string, info: KeyedStateInfo, blocks: readonly KeyedBlock[]): void {
    const op = this.#operator(uid);
    const state = op.keyed.get(info.name) ?? { info, blocks: [] };
    state.blocks.push(...blocks);
    op.keyed.set(info.name, state);
  }

  addOperatorState(uid: string, info: OperatorStateInfo, subtask: number, block: WrittenBlock | null): void {
    const op = this.#operator(uid);
    const state = op.operator.get(info.name) ?? { info, partitions: Array<WrittenBlock | null>(op.info.parallelism).fill(null) };
    if (subtask < 0 || subtask >= op.info.parallelism) throw new InternalError(`subtask ${subtask} out of range for '${uid}'`);
    state.partitions[subtask] = block;
    op.operator.set(info.name, state);
  }

  /**
   * Builds and checks the metadata, then publishes `_metadata`. Call after every data file closed.
   * `beforePublish` sees the `_metadata` bytes first and may refuse them by throwing (then nothing
   * is published): `flink rekey` verifies its output there, so no unverified snapshot ever exists.
   */
  async finish(durations: Record<string, number> = {}, beforePublish?: (metadata: Uint8Array) => Promise<void>): Promise<SnapshotMetadata> {
    if (this.#open.size > 0) throw new InternalError(`${this.#open.size} data file(s) still open`);
    if (this.#finished) throw new InternalError('snapshot already finished');
    this.#finished = true;
    const fileIndex = new Map(this.#files.map((f, i) => [f.path, i]));
    const ref = <B extends WrittenBlock>(b: B): Omit<B, 'path'> & { file: number } => {
      const file = fileIndex.get(b.path);
      if (file === undefined) throw new InternalError(`block refers to unclosed file ${b.path}`);
      const { path: _path, ...rest } = b;
      return { ...rest, file };
    };
    const operators: OperatorMeta[] = [...this.#operators.values()].map(({ info, keyed, operator }) => ({
      uid: info.uid,
      id: info.id ?? operatorIdFromUid(info.uid),
      name: info.name ?? info.uid,
      parallelism: info.parallelism,
      maxParallelism: info.maxParallelism,
      ...(info.stateBackend === undefined ? {} : { stateBackend: info.stateBackend }),
      keyedStates: [...keyed.values()].map(({ info: s, blocks }): KeyedStateMeta => {
        // Stable: a key group's chain keeps the order its blocks were added in.
        const sorted: KeyGroupBlock[] = blocks.map(ref).sort((a, b) => a.keyGroup - b.keyGroup);
        return {
          name: s.name,
          kind: s.kind,
          schemaVersion: s.schemaVersion ?? 1,
          ttl: s.ttl === undefined || s.ttl === null ? null : { ttlMs: s.ttl.ttlMs, update: s.ttl.update, visibility: s.ttl.visibility },
          entries: sum(sorted, 'entries'),
          bytes: sum(sorted, 'length'),
          blocks: sorted,
        };
      }),
      operatorStates: [...operator.values()].map(({ info: s, partitions }): OperatorStateMeta => {
        const refs = partitions.map((p) => (p === null ? null : ref(p)));
        const present = refs.filter((p) => p !== null);
        return {
          name: s.name,
          kind: s.kind,
          mode: s.mode,
          schemaVersion: s.schemaVersion ?? 1,
          partitions: refs,
          entries: sum(present, 'entries'),
          bytes: sum(present, 'length'),
        };
      }),
    }));
    const entries = operators.reduce(
      (n, op) => n + sum(op.keyedStates, 'entries') + sum(op.operatorStates, 'entries'),
      0,
    );
    const meta = {
      kind: this.info.kind,
      type: this.info.type ?? 'canonical',
      jobId: this.info.jobId,
      jobName: this.info.jobName,
      checkpointId: this.info.checkpointId,
      createdAt: this.info.createdAt ?? this.#started,
      engine: ENGINE,
      stats: { bytes: sum(this.#files.filter((f) => f.written !== false), 'size'), entries, durations: { total: Date.now() - this.#started, ...durations } },
      files: this.#files,
      operators,
    };
    // Version 2 only when needed: a snapshot without TTL state stays version 1, byte for byte.
    const underTtl = operators.some((op) => op.keyedStates.some((s) => s.ttl !== null));
    // Chains are checked whatever the version: two full blocks of a key group are a bug upstream.
    for (const op of operators) {
      for (const s of op.keyedStates) {
        checkChains(s.blocks, `operator '${op.uid}' state '${s.name}'`, (problem) => {
          throw new InternalError(`refusing to write the snapshot: ${problem}`);
        });
      }
    }
    // Version 3 only for an incremental snapshot: shared or copied files, or blocks that are not full.
    const incremental = this.#files.some((f) => f.shared === true || f.written === false) || operators.some((op) => op.keyedStates.some((s) => s.blocks.some((b) => (b.kind ?? 'full') !== 'full')));
    const bytes = incremental ? encodeMetadataV3(meta) : underTtl ? encodeMetadataV2(meta) : encodeMetadataV1(meta);
    // Never publish metadata our own reader would refuse: decode it once before it becomes visible.
    const checked = decodeMetadata(bytes, this.store.describe(METADATA_FILE));
    await beforePublish?.(bytes);
    await this.store.publish(METADATA_FILE, bytes);
    return checked;
  }

  /** Removes data files of an unfinished snapshot (its `_metadata` was never published). */
  async abort(): Promise<void> {
    for (const writer of this.#open) await writer.abort();
    this.#open.clear();
    // Shared files are not this store's (they lie under the checkpoint root); their owner deletes them.
    for (const file of this.#files) if (file.shared !== true) await this.store.delete(file.path);
  }

  #operator(uid: string): OperatorDraft {
    const op = this.#operators.get(uid);
    if (op === undefined) throw new InternalError(`operator '${uid}' was not added`);
    return op;
  }
}

function sum<K extends string>(items: readonly { readonly [P in K]: number }[], key: K): number {
  return items.reduce((n, item) => n + item[key], 0);
}
