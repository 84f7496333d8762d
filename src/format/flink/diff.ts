/**
 * Compares two snapshots of which at least one is Apache Flink's, operator by operator id (the
 * one thing both writers share: tsflink derives ids from uids as Flink does). Compared: presence,
 * parallelism, max parallelism, operator state names and distribution modes, whether there is
 * keyed state; uid and name where both sides record them; state bytes between two Flink
 * snapshots. Header fields are reported but, as in the tsflink diff, do not make a difference.
 */
import type { Json } from '../json-value.ts';
import type { SnapshotMetadata } from '../model.ts';
import { toHex } from '../murmur3.ts';
import { type FieldChange, stableStringify } from '../diff-snapshots.ts';
import type { FlinkSnapshotMetadata } from './model.ts';
import { summarizeFlink } from './summary.ts';

export interface OperatorView {
  readonly id: string;
  readonly uid: string | null;
  readonly name: string | null;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** State name -> distribution mode, as tsflink names them: split, union, broadcast. */
  readonly operatorStates: ReadonlyMap<string, string>;
  readonly keyedState: boolean;
  /** Flink snapshots only: state bytes (tsflink's encoding differs, so never compared across). */
  readonly bytes?: number;
}

export interface SnapshotView {
  readonly location: string;
  readonly writer: 'Apache Flink' | 'tsflink';
  readonly version: number;
  readonly checkpointId: number;
  readonly kind: string | null;
  readonly type: string | null;
  readonly operators: readonly OperatorView[];
}

const MODES: Readonly<Record<string, string>> = { SPLIT_DISTRIBUTE: 'split', UNION: 'union', BROADCAST: 'broadcast' };

/** `uids`: names for operators whose id is their murmur3_128 (as `inspect --uid`). */
export function viewOfFlink(m: FlinkSnapshotMetadata, location: string, uids: readonly string[] = []): SnapshotView {
  const s = summarizeFlink(m, { location, uids });
  return {
    location,
    writer: 'Apache Flink',
    version: m.version,
    checkpointId: m.checkpointId,
    kind: s.kind,
    type: s.type,
    operators: s.operators.map((op) => ({
      id: op.id,
      uid: op.uid,
      name: op.name,
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      operatorStates: new Map(op.operatorStates.map((st) => [st.name, MODES[st.mode] ?? st.mode])),
      keyedState: op.hasKeyedState,
      bytes: op.bytes,
    })),
  };
}

export function viewOfTsflink(m: SnapshotMetadata, location: string): SnapshotView {
  return {
    location,
    writer: 'tsflink',
    version: m.formatVersion,
    checkpointId: m.checkpointId,
    kind: m.kind,
    type: m.type,
    operators: m.operators.map((op) => ({
      id: toHex(op.id),
      uid: op.uid,
      name: op.name,
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      operatorStates: new Map(op.operatorStates.map((st) => [st.name, st.mode])),
      keyedState: op.keyedStates.length > 0,
    })),
  };
}

export interface OperatorStateDiff {
  readonly name: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly mode: string;
  readonly changes: FieldChange[];
}

export interface CrossOperatorDiff {
  readonly id: string;
  /** From whichever side records it. */
  readonly uid: string | null;
  readonly status: 'added' | 'removed' | 'changed';
  readonly changes: FieldChange[];
  readonly states: OperatorStateDiff[];
}

export interface CrossSnapshotDiff {
  readonly equal: boolean;
  readonly header: FieldChange[];
  readonly operators: CrossOperatorDiff[];
}

function changes(a: Record<string, Json>, b: Record<string, Json>): FieldChange[] {
  return Object.keys(a)
    .filter((f) => stableStringify(a[f] ?? null) !== stableStringify(b[f] ?? null))
    .map((f) => ({ field: f, a: a[f] ?? null, b: b[f] ?? null }));
}

export function diffViews(a: SnapshotView, b: SnapshotView): CrossSnapshotDiff {
  const head = (v: SnapshotView): Record<string, Json> => ({ writer: v.writer, version: v.version, checkpointId: v.checkpointId, kind: v.kind, type: v.type });
  const header = changes(head(a), head(b));
  const operators: CrossOperatorDiff[] = [];
  const inB = new Map(b.operators.map((op) => [op.id, op]));
  for (const opA of a.operators) {
    const opB = inB.get(opA.id);
    if (opB === undefined) {
      operators.push({ id: opA.id, uid: opA.uid, status: 'removed', changes: [], states: [] });
      continue;
    }
    const both = <T>(x: T | null | undefined, y: T | null | undefined): boolean => x !== null && x !== undefined && y !== null && y !== undefined;
    const pick = (op: OperatorView): Record<string, Json> => ({
      ...(both(opA.uid, opB.uid) ? { uid: op.uid } : {}),
      ...(both(opA.name, opB.name) ? { name: op.name } : {}),
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      keyedState: op.keyedState,
      ...(both(opA.bytes, opB.bytes) ? { bytes: op.bytes ?? null } : {}),
    });
    const states: OperatorStateDiff[] = [];
    for (const [name, mode] of opA.operatorStates) {
      const other = opB.operatorStates.get(name);
      if (other === undefined) states.push({ name, status: 'removed', mode, changes: [] });
      else if (other !== mode) states.push({ name, status: 'changed', mode: other, changes: [{ field: 'mode', a: mode, b: other }] });
    }
    for (const [name, mode] of opB.operatorStates) if (!opA.operatorStates.has(name)) states.push({ name, status: 'added', mode, changes: [] });
    const fieldChanges = changes(pick(opA), pick(opB));
    if (fieldChanges.length > 0 || states.length > 0) operators.push({ id: opA.id, uid: opA.uid ?? opB.uid, status: 'changed', changes: fieldChanges, states });
  }
  const inA = new Set(a.operators.map((op) => op.id));
  for (const opB of b.operators) if (!inA.has(opB.id)) operators.push({ id: opB.id, uid: opB.uid, status: 'added', changes: [], states: [] });
  return { equal: operators.length === 0, header, operators };
}
