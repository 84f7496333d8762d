/**
 * What an Apache Flink `_metadata` holds, as the reader returns it (versions 2 to 6). Each handle
 * keeps its tag and the offset of that tag in `_metadata`, so any report can point at the bytes.
 * Layouts: Flink's MetadataV2V3SerializerBase and MetadataV{2..6}Serializer.
 */

/** The four bytes every Flink `_metadata` starts with (Checkpoints.HEADER_MAGIC_NUMBER). */
export const FLINK_METADATA_MAGIC = 0x4960672d;

/** Inclusive; `end < start` is Flink's empty range (numKeyGroups 0). */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

interface HandleBase {
  readonly tag: number;
  /** Offset of the tag byte in `_metadata`. */
  readonly at: number;
}

/** A leaf that points at bytes. */
export type StreamHandle =
  | (HandleBase & { readonly kind: 'inline'; readonly name: string; readonly size: number })
  | (HandleBase & { readonly kind: 'file'; readonly path: string; readonly size: number })
  | (HandleBase & { readonly kind: 'relative'; readonly path: string; readonly size: number })
  | (HandleBase & { readonly kind: 'key-groups'; readonly range: KeyGroupRange; readonly size: number; readonly delegate: StreamHandle | null })
  | (HandleBase & {
      readonly kind: 'segment';
      readonly path: string;
      readonly startPos: number;
      readonly size: number;
      readonly scope: 'exclusive' | 'shared';
      readonly logicalFileId: string;
    })
  | (HandleBase & { readonly kind: 'empty-segment'; readonly size: 0 });

export interface NamedStreamHandle {
  readonly name: string;
  readonly handle: StreamHandle | null;
}

export type KeyedHandle =
  | (HandleBase & {
      /** Tag 3 (checkpoint, before 1.15), 12 (checkpoint) or 7 (canonical savepoint). */
      readonly kind: 'key-groups' | 'savepoint-key-groups';
      readonly range: KeyGroupRange;
      readonly size: number;
      readonly delegate: StreamHandle | null;
      readonly stateHandleId?: string;
    })
  | (HandleBase & {
      /** RocksDB native snapshots: tag 5, or 11 with checkpointedSize and stateHandleId. */
      readonly kind: 'incremental';
      readonly checkpointId: number;
      readonly backendId: string;
      readonly range: KeyGroupRange;
      readonly size: number;
      readonly checkpointedSize?: number;
      readonly metaState: StreamHandle | null;
      readonly shared: readonly NamedStreamHandle[];
      readonly private: readonly NamedStreamHandle[];
      readonly stateHandleId?: string;
    })
  | (HandleBase & {
      /** Changelog state backend: tag 8, or 14 with its own checkpoint id. */
      readonly kind: 'changelog';
      readonly range: KeyGroupRange;
      readonly size: number;
      readonly checkpointedSize: number;
      readonly materialized: readonly KeyedHandle[];
      readonly nonMaterialized: readonly KeyedHandle[];
      readonly materializationId: number;
      readonly checkpointId: number;
      readonly stateHandleId: string;
    })
  | (HandleBase & {
      readonly kind: 'changelog-inline';
      readonly range: KeyGroupRange;
      readonly size: number;
      readonly from: number;
      readonly to: number;
      readonly changes: number;
      readonly stateHandleId: string;
    })
  | (HandleBase & {
      /** Tag 10, or 13 with a storage identifier. */
      readonly kind: 'changelog-file';
      readonly range: KeyGroupRange;
      readonly size: number;
      readonly checkpointedSize: number;
      readonly handles: readonly { readonly offset: number; readonly handle: StreamHandle | null }[];
      readonly stateHandleId: string;
      readonly storageIdentifier: string;
    });

/** OperatorStateHandle.Mode, by ordinal. */
export const DISTRIBUTION_MODES = ['SPLIT_DISTRIBUTE', 'UNION', 'BROADCAST'] as const;
export type DistributionMode = (typeof DISTRIBUTION_MODES)[number];

export interface OperatorStateEntry {
  readonly name: string;
  readonly mode: DistributionMode;
  /** Elements (list state) or entries (broadcast state) of this subtask: one offset each. */
  readonly offsets: number;
}

export interface OperatorHandle extends HandleBase {
  /** Tag 4, or 17 (file merging, 1.20+). */
  readonly kind: 'operator-stream' | 'file-merging-operator-stream';
  readonly states: readonly OperatorStateEntry[];
  readonly size: number;
  readonly delegate: StreamHandle | null;
  readonly taskOwnedDirectory?: string;
  readonly sharedDirectory?: string;
}

/** Unaligned-checkpoint in-flight data of one channel (or, version 6, merged channels). */
export interface ChannelHandle {
  readonly at: number;
  readonly kind: 'input-channel' | 'result-subpartition' | 'merged-input-channels' | 'merged-result-subpartitions';
  readonly subtask: number;
  /** (gate, channel) or (partition, subpartition); absent for merged handles. */
  readonly channel?: readonly [number, number];
  readonly size: number;
  readonly delegate: StreamHandle | null;
}

export interface SubtaskState {
  readonly index: number;
  /** Stored with a negative index (Flink 1.14+): the subtask had finished; no state follows. */
  readonly finished: boolean;
  /** Version 2 only: state of Flink 1.1's `Checkpointed` interface (current Flink refuses it). */
  readonly legacy: readonly (StreamHandle | null)[];
  readonly managedOperatorState: OperatorHandle | null;
  readonly rawOperatorState: OperatorHandle | null;
  readonly managedKeyedState: KeyedHandle | null;
  readonly rawKeyedState: KeyedHandle | null;
  readonly inputChannels: readonly ChannelHandle[];
  readonly resultSubpartitions: readonly ChannelHandle[];
  /** Version 7: the earlier checkpoint this subtask's state was reused from (regional checkpoints). */
  readonly refCheckpointId?: number;
}

export interface FlinkOperatorState {
  readonly at: number;
  /** 32 hex digits: the 16 id bytes as stored (lower part, then upper part). */
  readonly id: string;
  /** Versions 5 and 6 store them; absent when the job set none (or before version 5). */
  readonly name?: string;
  readonly uid?: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly coordinatorState: StreamHandle | null;
  /** Stored as subtask count -1: every subtask had finished (Flink 1.14+). */
  readonly fullyFinished: boolean;
  readonly subtasks: readonly SubtaskState[];
}

export interface MasterState {
  readonly name: string;
  readonly version: number;
  readonly size: number;
}

export interface CheckpointProperties {
  readonly kind: 'checkpoint' | 'savepoint';
  /** SnapshotType.getName(): "Checkpoint", "Full Checkpoint", "Savepoint", "Suspend Savepoint", "Terminate Savepoint". */
  readonly name: string;
  /** Savepoints: CANONICAL or NATIVE. */
  readonly formatType?: string;
  /** Savepoints: NONE, SUSPEND or TERMINATE. */
  readonly postCheckpointAction?: string;
  /** Checkpoints: FORWARD_BACKWARD, FORWARD or NO_SHARING. */
  readonly sharingFilesStrategy?: string;
  readonly forced: boolean;
  readonly unclaimed: boolean;
  readonly discard: Readonly<Record<'cancelled' | 'failed' | 'finished' | 'subsumed' | 'suspended', boolean>>;
}

export interface FlinkSnapshotMetadata {
  readonly version: number;
  readonly checkpointId: number;
  readonly masterStates: readonly MasterState[];
  readonly operators: readonly FlinkOperatorState[];
  /**
   * Version 4 and later. `null`: the file stores a null there (the State Processor API writes
   * that); undefined: versions 2 and 3, which have no properties.
   */
  readonly properties?: CheckpointProperties | null;
  readonly metadataBytes: number;
}
