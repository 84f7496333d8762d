/**
 * The `inspect --json` document: a stable, documented view of a snapshot's metadata
 * (README.md, "inspect --json"). Adding fields is compatible; renaming or removing is not.
 */
import type { SnapshotReader } from './snapshot-reader.ts';
import { toHex } from './murmur3.ts';
import type { TtlConfig } from './model.ts';

export interface StateSummary {
  readonly name: string;
  readonly scope: 'keyed' | 'operator';
  readonly kind: string;
  readonly mode?: string;
  readonly schemaVersion: number;
  readonly ttl?: TtlConfig | null;
  readonly entries: number;
  readonly bytes: number;
  /** Keyed: non-empty key groups. */
  readonly keyGroups?: number;
  /** Operator state: elements per subtask of the writing job. */
  readonly partitions?: number[];
}

export interface OperatorSummary {
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

export interface SnapshotSummary {
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
  readonly durations: Readonly<Record<string, number>>;
  readonly operators: OperatorSummary[];
}

export function summarize(reader: SnapshotReader, filter: { operator?: string; state?: string } = {}): SnapshotSummary {
  const m = reader.metadata;
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
          keyGroups: s.blocks.length,
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
    durations: m.stats.durations,
    operators,
  };
}
