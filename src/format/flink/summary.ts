/**
 * The `inspect --json` document of an Apache Flink snapshot: what `_metadata` holds, per operator
 * and per subtask, with every handle's kind, key groups, size and place (inline or a file), and
 * file checks where the caller made them. Adding fields is compatible; renaming is not.
 */
import { operatorIdFromUid, toHex } from '../murmur3.ts';
import { type FileRef, type FileStatus, type Leaves, keyedLeaves, operatorLeaves, streamLeaves } from './file-refs.ts';
import type { ChannelHandle, FlinkOperatorState, FlinkSnapshotMetadata, KeyGroupRange, KeyedHandle, OperatorHandle, StreamHandle, SubtaskState } from './model.ts';

export const WRITTEN_BY: Readonly<Record<number, string>> = {
  2: 'Flink 1.3 to 1.10',
  3: 'Flink 1.11 to 1.15',
  4: 'Flink 1.16 to 1.20',
  5: 'Flink 2.0',
  6: 'Flink 2.1',
  7: 'a Flink after 2.1, with regional checkpoints',
};

export interface HandleSummary {
  readonly slot: 'managed operator' | 'raw operator' | 'managed keyed' | 'raw keyed' | 'legacy' | 'input channel' | 'result subpartition';
  readonly kind: string;
  readonly tag: number;
  /** Offset of the handle's tag byte in `_metadata`. */
  readonly offset: number;
  readonly keyGroups?: KeyGroupRange;
  readonly bytes: number;
  readonly inlineBytes: number;
  readonly files: readonly FileSummary[];
  /** Operator state handles: the states this subtask holds, with their distribution mode. */
  readonly states?: readonly { readonly name: string; readonly mode: string; readonly offsets: number }[];
}

export interface FileSummary {
  readonly path: string;
  readonly bytes: number;
  readonly relative: boolean;
  /** Where the file is: the relative path joined to the snapshot directory. */
  readonly resolved?: string;
  readonly status?: FileStatus;
}

export interface SubtaskSummary {
  readonly index: number;
  readonly finished: boolean;
  readonly bytes: number;
  readonly channelStateBytes: number;
  /** Metadata version 7: the checkpoint this subtask's state was reused from. */
  readonly refCheckpointId?: number;
  readonly handles: readonly HandleSummary[];
}

export interface FlinkOperatorSummary {
  readonly id: string;
  readonly uid: string | null;
  /** `stored` (versions 5 and 6), `--uid` (its murmur3_128 is this id), or null. */
  readonly uidFrom: 'stored' | '--uid' | null;
  readonly name: string | null;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly fullyFinished: boolean;
  readonly coordinatorStateBytes: number;
  readonly bytes: number;
  readonly operatorStates: readonly { readonly name: string; readonly mode: string }[];
  readonly hasKeyedState: boolean;
  readonly subtasks: readonly SubtaskSummary[];
}

export interface FlinkSnapshotSummary {
  readonly location: string;
  readonly writer: 'Apache Flink';
  readonly metadataVersion: number;
  readonly writtenBy: string;
  readonly checkpointId: number;
  /** From the properties (version 4+); null where not recorded or stored as null. */
  readonly kind: 'checkpoint' | 'savepoint' | null;
  readonly type: 'canonical' | 'native' | null;
  /** Absent before version 4; null when stored as null. */
  readonly properties?: FlinkSnapshotMetadata['properties'];
  readonly metadataBytes: number;
  readonly bytes: number;
  readonly inlineBytes: number;
  readonly files: { readonly relative: number; readonly absolute: number; readonly problems: number };
  readonly masterStates: FlinkSnapshotMetadata['masterStates'];
  readonly operators: readonly FlinkOperatorSummary[];
  /** `--uid` names whose id is no operator's. */
  readonly unmatchedUids: readonly { readonly uid: string; readonly id: string }[];
}

export interface SummaryOptions {
  readonly location: string;
  readonly uids?: readonly string[];
  /** Keyed by stored path; from checkRelativeFiles. */
  readonly fileStatus?: ReadonlyMap<string, FileStatus>;
  /** Joins a relative path to the snapshot directory, for display. */
  readonly resolve?: (relativePath: string) => string;
  /** Only operators whose id or uid is this. */
  readonly operator?: string;
}

/** Every file any handle of the snapshot points at (duplicates included). */
export function allFileRefs(m: FlinkSnapshotMetadata): FileRef[] {
  const out: Leaves = { inlineBytes: 0, files: [] };
  for (const op of m.operators) {
    for (const st of op.subtasks) for (const h of handlesOf(st)) leavesOf(h, out);
  }
  return out.files;
}

type AnyHandle = { slot: HandleSummary['slot'] } & ({ op: OperatorHandle } | { keyed: KeyedHandle } | { stream: StreamHandle } | { channel: ChannelHandle });

function handlesOf(st: SubtaskState): AnyHandle[] {
  const out: AnyHandle[] = [];
  for (const h of st.legacy) if (h !== null) out.push({ slot: 'legacy', stream: h });
  if (st.managedOperatorState !== null) out.push({ slot: 'managed operator', op: st.managedOperatorState });
  if (st.rawOperatorState !== null) out.push({ slot: 'raw operator', op: st.rawOperatorState });
  if (st.managedKeyedState !== null) out.push({ slot: 'managed keyed', keyed: st.managedKeyedState });
  if (st.rawKeyedState !== null) out.push({ slot: 'raw keyed', keyed: st.rawKeyedState });
  for (const c of st.inputChannels) out.push({ slot: 'input channel', channel: c });
  for (const c of st.resultSubpartitions) out.push({ slot: 'result subpartition', channel: c });
  return out;
}

function leavesOf(h: AnyHandle, out: Leaves): Leaves {
  if ('op' in h) return operatorLeaves(h.op, out);
  if ('keyed' in h) return keyedLeaves(h.keyed, out);
  if ('stream' in h) return streamLeaves(h.stream, out);
  return streamLeaves(h.channel.delegate, out);
}

function summarizeHandle(h: AnyHandle, options: SummaryOptions): HandleSummary {
  const leaves = leavesOf(h, { inlineBytes: 0, files: [] });
  const files = leaves.files.map((f): FileSummary => {
    const status = options.fileStatus?.get(f.path);
    const resolved = f.relative && options.resolve !== undefined ? options.resolve(f.path) : undefined;
    return { path: f.path, bytes: f.size, relative: f.relative, ...(resolved === undefined ? {} : { resolved }), ...(status === undefined ? {} : { status }) };
  });
  const where = { inlineBytes: leaves.inlineBytes, files };
  if ('op' in h) {
    const states = h.op.states.map((s) => ({ name: s.name, mode: s.mode, offsets: s.offsets }));
    return { slot: h.slot, kind: h.op.kind, tag: h.op.tag, offset: h.op.at, bytes: h.op.size, ...where, states };
  }
  if ('keyed' in h) return { slot: h.slot, kind: h.keyed.kind, tag: h.keyed.tag, offset: h.keyed.at, keyGroups: h.keyed.range, bytes: h.keyed.size, ...where };
  if ('stream' in h) return { slot: h.slot, kind: h.stream.kind, tag: h.stream.tag, offset: h.stream.at, bytes: h.stream.size, ...where };
  // Channel handles carry no tag of their own before version 6: the delegate's is shown.
  return { slot: h.slot, kind: h.channel.kind, tag: h.channel.delegate?.tag ?? 0, offset: h.channel.at, bytes: h.channel.size, ...where };
}

function summarizeOperator(op: FlinkOperatorState, uidById: ReadonlyMap<string, string>, options: SummaryOptions): FlinkOperatorSummary {
  const given = uidById.get(op.id);
  const uid = op.uid ?? given ?? null;
  const subtasks = op.subtasks.map((st): SubtaskSummary => {
    const handles = handlesOf(st).map((h) => summarizeHandle(h, options));
    const channel = handles.filter((h) => h.slot === 'input channel' || h.slot === 'result subpartition').reduce((n, h) => n + h.bytes, 0);
    const ref = st.refCheckpointId === undefined ? {} : { refCheckpointId: st.refCheckpointId };
    return { index: st.index, finished: st.finished, bytes: handles.reduce((n, h) => n + h.bytes, 0), channelStateBytes: channel, ...ref, handles };
  });
  const modes = new Map<string, string>();
  for (const st of op.subtasks) {
    for (const h of [st.managedOperatorState, st.rawOperatorState]) for (const s of h?.states ?? []) modes.set(s.name, s.mode);
  }
  const coordinator = op.coordinatorState?.size ?? 0;
  return {
    id: op.id,
    uid,
    uidFrom: op.uid !== undefined ? 'stored' : given !== undefined ? '--uid' : null,
    name: op.name ?? null,
    parallelism: op.parallelism,
    maxParallelism: op.maxParallelism,
    fullyFinished: op.fullyFinished,
    coordinatorStateBytes: coordinator,
    bytes: coordinator + subtasks.reduce((n, s) => n + s.bytes, 0),
    operatorStates: [...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, mode]) => ({ name, mode })),
    hasKeyedState: op.subtasks.some((st) => st.managedKeyedState !== null || st.rawKeyedState !== null),
    subtasks: [...subtasks].sort((a, b) => a.index - b.index),
  };
}

export function summarizeFlink(m: FlinkSnapshotMetadata, options: SummaryOptions): FlinkSnapshotSummary {
  const uidById = new Map<string, string>();
  for (const uid of options.uids ?? []) uidById.set(toHex(operatorIdFromUid(uid)), uid);
  const all = m.operators.map((op) => summarizeOperator(op, uidById, options));
  const operators = all.filter((op) => options.operator === undefined || op.id === options.operator || op.uid === options.operator);
  const unmatchedUids = [...uidById].filter(([id]) => !m.operators.some((op) => op.id === id)).map(([id, uid]) => ({ uid, id }));
  const refs = allFileRefs(m);
  const distinct = new Map(refs.map((f) => [f.path, f]));
  const relative = [...distinct.values()].filter((f) => f.relative).length;
  const problems = [...distinct.keys()].filter((p) => {
    const s = options.fileStatus?.get(p);
    return s !== undefined && s !== 'ok' && s !== 'not checked';
  }).length;
  const p = m.properties;
  const inlineBytes = all.reduce((n, op) => n + op.coordinatorStateBytes + op.subtasks.reduce((k, st) => k + st.handles.reduce((j, h) => j + h.inlineBytes, 0), 0), 0);
  return {
    location: options.location,
    writer: 'Apache Flink',
    metadataVersion: m.version,
    writtenBy: WRITTEN_BY[m.version] ?? 'Flink',
    checkpointId: m.checkpointId,
    kind: p?.kind ?? null,
    // A checkpoint is in the backend's own (native) format; only savepoints record a choice.
    type: p === undefined || p === null ? null : p.kind === 'checkpoint' ? 'native' : p.formatType === 'CANONICAL' ? 'canonical' : p.formatType === 'NATIVE' ? 'native' : null,
    ...(p === undefined ? {} : { properties: p }),
    metadataBytes: m.metadataBytes,
    bytes: all.reduce((n, op) => n + op.bytes, 0),
    inlineBytes,
    files: { relative, absolute: distinct.size - relative, problems },
    masterStates: m.masterStates,
    operators,
    unmatchedUids,
  };
}
