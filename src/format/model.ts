/**
 * The decoded content of a snapshot's `_metadata`, independent of the version it was read from.
 * Field meanings are in docs/FORMAT.md section 3.
 */

export type SnapshotKind = 'savepoint' | 'checkpoint';
export type SnapshotType = 'canonical' | 'native';
export type KeyedStateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating' | 'timers';
export type OperatorStateKind = 'list' | 'broadcast';
export type DistributionMode = 'split' | 'union' | 'broadcast';

export const KEYED_STATE_KINDS: readonly KeyedStateKind[] = ['value', 'list', 'map', 'reducing', 'aggregating', 'timers'];
export const OPERATOR_STATE_KINDS: readonly OperatorStateKind[] = ['list', 'broadcast'];
export const DISTRIBUTION_MODES: readonly DistributionMode[] = ['split', 'union', 'broadcast'];
export const TTL_UPDATE_TYPES = ['OnCreateAndWrite', 'OnReadAndWrite'] as const;
export const TTL_VISIBILITIES = ['NeverReturnExpired', 'ReturnExpiredIfNotCleanedUp'] as const;

export interface TtlConfig {
  readonly ttlMs: number;
  readonly update: (typeof TTL_UPDATE_TYPES)[number];
  readonly visibility: (typeof TTL_VISIBILITIES)[number];
}

/** Where one block's bytes are: a file of the snapshot and a range in it. */
export interface BlockRef {
  readonly file: number;
  readonly offset: number;
  readonly length: number;
  readonly entries: number;
  readonly crc: number;
}

/**
 * What a keyed block holds (FORMAT.md 3.6): `full`, every entry of its key group (the only kind
 * before version 3); in version 3 a key group's blocks form a chain, replayed in order: at most one
 * `full` block first, then `upserts` (entries written since the previous step: set) and
 * `deletions` (keys removed since the previous step: delete).
 */
export type KeyedBlockKind = 'full' | 'upserts' | 'deletions';

export interface KeyGroupBlock extends BlockRef {
  readonly keyGroup: number;
  /** Absent: `full`. */
  readonly kind?: KeyedBlockKind;
}

export interface KeyedStateMeta {
  readonly name: string;
  readonly kind: KeyedStateKind;
  readonly schemaVersion: number;
  readonly ttl: TtlConfig | null;
  /**
   * Whether the values carry a last-access timestamp (FORMAT.md 5.4): version 2 and `ttl` a map.
   * Never in version 1, where `ttl` is a declaration only. Absent means false.
   */
  readonly ttlLayout?: boolean;
  readonly entries: number;
  readonly bytes: number;
  /** Sorted by key group; empty key groups are absent. */
  readonly blocks: readonly KeyGroupBlock[];
}

export interface OperatorStateMeta {
  readonly name: string;
  readonly kind: OperatorStateKind;
  readonly mode: DistributionMode;
  readonly schemaVersion: number;
  /** Index = subtask of the writing job; null where that subtask had no elements. */
  readonly partitions: readonly (BlockRef | null)[];
  readonly entries: number;
  readonly bytes: number;
}

export interface OperatorMeta {
  readonly uid: string;
  /** 16 bytes; see `operatorIdFromUid`. */
  readonly id: Uint8Array;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /**
   * The keyed state backend the operator's keyed state was written from (`hashmap`, `rocksdb`,
   * `lmdb`), when the writer recorded it (FORMAT.md 3.5): undefined when not recorded.
   */
  readonly stateBackend?: string;
  readonly keyedStates: readonly KeyedStateMeta[];
  readonly operatorStates: readonly OperatorStateMeta[];
}

export interface DataFileMeta {
  /** Relative to the snapshot directory; with `shared`, relative to the checkpoint root (FORMAT.md 3.4). */
  readonly path: string;
  readonly size: number;
  /**
   * Version 3: the file lies in the job's `shared/` directory, outside the snapshot directory,
   * and other checkpoints may refer to it; `path` is relative to the checkpoint root (the
   * snapshot directory's grandparent, `<root>/<jobId>/chk-<n>`), e.g. `<jobId>/shared/<name>`.
   * Absent: false.
   */
  readonly shared?: boolean;
  /** Version 3: written for this snapshot (false: written by an earlier checkpoint and referred to). Absent: true. */
  readonly written?: boolean;
}

export interface SnapshotStats {
  readonly bytes: number;
  readonly entries: number;
  /** Phase name -> milliseconds. */
  readonly durations: Readonly<Record<string, number>>;
}

export interface SnapshotMetadata {
  readonly formatVersion: number;
  readonly kind: SnapshotKind;
  readonly type: SnapshotType;
  readonly jobId: string;
  readonly jobName: string;
  readonly checkpointId: number;
  readonly createdAt: number;
  readonly engine: string;
  readonly stats: SnapshotStats;
  readonly files: readonly DataFileMeta[];
  readonly operators: readonly OperatorMeta[];
}
