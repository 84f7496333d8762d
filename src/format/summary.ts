/**
 * The `inspect --json` document: a stable, documented view of a snapshot's metadata
 * (README.md, "inspect --json"). Adding fields is compatible; renaming or removing is not.
 */
import type { SnapshotReader } from './snapshot-reader.ts';
import { toHex } from './murmur3.ts';
import type { BlockRef, DataFileMeta, TtlConfig } from './model.ts';
import type { FileProblem } from './check-files.ts';

/**
 * Version 3 only (incremental checkpoints, FORMAT.md 7): of the bytes, those in data files this
 * snapshot wrote and those in files an earlier checkpoint wrote that it refers to.
 */
export interface WrittenAndReferred {
  readonly writtenBytes?: number;
  readonly referredBytes?: number;
}

export interface StateSummary extends WrittenAndReferred {
  readonly name: string;
  readonly scope: 'keyed' | 'operator';
  readonly kind: string;
  readonly mode?: string;
  readonly schemaVersion: number;
  readonly ttl?: TtlConfig | null;
  readonly entries: number;
  readonly bytes: number;
  /** Keyed: key groups with blocks (a chain may still replay to nothing). */
  readonly keyGroups?: number;
  /** Keyed, version 3: blocks in all chains (full, upserts, deletions). */
  readonly blocks?: number;
  /** Operator state: elements per subtask of the writing job. */
  readonly partitions?: number[];
}

export interface OperatorSummary extends WrittenAndReferred {
  readonly uid: string;
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** The keyed state backend, when the snapshot records it (FORMAT.md 3.5); absent otherwise. */
  readonly stateBackend?: string;
  readonly entries: number;
  readonly bytes: number;
  readonly states: StateSummary[];
}

export interface SnapshotSummary extends WrittenAndReferred {
  readonly location: string;
  readonly formatVersion: number;
  readonly kind: string;
  readonly type: string;
  readonly jobId: string;
  readonly jobName: string;
  readonly checkpointId: number;
  readonly createdAt: string;
  readonly engine: string;
  readonly totalBytes: number;
  readonly metadataBytes: number;
  readonly entries: number;
  readonly files: number;
  /** Version 3: data files written by this snapshot and referred to (written earlier). */
  readonly writtenFiles?: number;
  readonly referredFiles?: number;
  readonly durations: Readonly<Record<string, number>>;
  readonly operators: OperatorSummary[];
  /** Data files missing or of another size than recorded (`flink inspect` stats them); absent when there are none. */
  readonly fileProblems?: FileProblem[];
}

export function summarize(reader: SnapshotReader, filter: { operator?: string; state?: string } = {}): SnapshotSummary {
  const m = reader.metadata;
  const v3 = m.formatVersion >= 3;
  const split = (blocks: readonly BlockRef[]): WrittenAndReferred => (v3 ? splitBytes(blocks, m.files) : {});
  const operators = m.operators
    .filter((op) => filter.operator === undefined || op.uid === filter.operator)
    .map((op): OperatorSummary => {
      const states: StateSummary[] = [
        ...op.keyedStates.map((s): StateSummary => ({
          name: s.name,
          scope: 'keyed',
          kind: s.kind,
          schemaVersion: s.schemaVersion,
          ttl: s.ttl,
          entries: s.entries,
          bytes: s.bytes,
          keyGroups: new Set(s.blocks.map((b) => b.keyGroup)).size,
          ...(v3 ? { blocks: s.blocks.length } : {}),
          ...split(s.blocks),
        })),
        ...op.operatorStates.map((s): StateSummary => ({
          name: s.name,
          scope: 'operator',
          kind: s.kind,
          mode: s.mode,
          schemaVersion: s.schemaVersion,
          entries: s.entries,
          bytes: s.bytes,
          partitions: s.partitions.map((p) => p?.entries ?? 0),
          ...split(s.partitions.filter((p) => p !== null)),
        })),
      ].filter((s) => filter.state === undefined || s.name === filter.state);
      return {
        uid: op.uid,
        id: toHex(op.id),
        name: op.name,
        parallelism: op.parallelism,
        maxParallelism: op.maxParallelism,
        ...(op.stateBackend === undefined ? {} : { stateBackend: op.stateBackend }),
        entries: states.reduce((n, s) => n + s.entries, 0),
        bytes: states.reduce((n, s) => n + s.bytes, 0),
        ...(v3 ? { writtenBytes: states.reduce((n, s) => n + (s.writtenBytes ?? 0), 0), referredBytes: states.reduce((n, s) => n + (s.referredBytes ?? 0), 0) } : {}),
        states,
      };
    });
  return {
    location: reader.store.location,
    formatVersion: m.formatVersion,
    kind: m.kind,
    type: m.type,
    jobId: m.jobId,
    jobName: m.jobName,
    checkpointId: m.checkpointId,
    createdAt: new Date(m.createdAt).toISOString(),
    engine: m.engine,
    totalBytes: reader.metadataSize + m.files.reduce((n, f) => n + f.size, 0),
    metadataBytes: reader.metadataSize,
    entries: m.stats.entries,
    files: m.files.length,
    ...(v3 ? fileTotals(m.files) : {}),
    durations: m.stats.durations,
    operators,
  };
}

function splitBytes(blocks: readonly BlockRef[], files: readonly DataFileMeta[]): WrittenAndReferred {
  let writtenBytes = 0;
  let referredBytes = 0;
  for (const b of blocks) {
    if (files[b.file]?.written === false) referredBytes += b.length;
    else writtenBytes += b.length;
  }
  return { writtenBytes, referredBytes };
}

function fileTotals(files: readonly DataFileMeta[]): Required<WrittenAndReferred> & { writtenFiles: number; referredFiles: number } {
  const written = files.filter((f) => f.written !== false);
  const referred = files.filter((f) => f.written === false);
  return {
    writtenBytes: written.reduce((n, f) => n + f.size, 0),
    referredBytes: referred.reduce((n, f) => n + f.size, 0),
    writtenFiles: written.length,
    referredFiles: referred.length,
  };
}
