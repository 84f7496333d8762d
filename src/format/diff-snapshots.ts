/**
 * Compares two snapshots: operators and states added, removed or changed, and optionally their
 * entries. Returns data; `flink diff` prints it. Header fields (job id, checkpoint id, time) are
 * reported but do not make two snapshots different: state does.
 */
import { encodeCanonicalKey } from './canonical-key.ts';
import { type Json, toJson } from './json-value.ts';
import type { OperatorMeta } from './model.ts';
import type { SnapshotReader } from './snapshot-reader.ts';
import { type StateSummary, summarize } from './summary.ts';

export interface FieldChange {
  readonly field: string;
  readonly a: Json;
  readonly b: Json;
}

export interface StateDiff {
  readonly name: string;
  readonly scope: 'keyed' | 'operator';
  readonly status: 'added' | 'removed' | 'changed';
  readonly kind: string;
  readonly changes: FieldChange[];
  /**
   * Keyed states compared by replayed content (either snapshot format version 3): how many keys
   * were added, removed and changed, so that equal key counts on both sides still say what
   * differs. Absent where the content is the same or was not replayed.
   */
  readonly content?: ContentDiff;
}

export interface ContentDiff {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
}

export interface OperatorDiff {
  readonly uid: string;
  readonly status: 'added' | 'removed' | 'changed';
  readonly changes: FieldChange[];
  readonly states: StateDiff[];
}

export interface EntryDiff {
  readonly operator: string;
  readonly state: string;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  /** At most `limit` examples of each. */
  readonly samples: { added: { key: Json; value: Json }[]; removed: { key: Json; value: Json }[]; changed: { key: Json; a: Json; b: Json }[] };
}

export interface SnapshotDiff {
  readonly equal: boolean;
  readonly header: FieldChange[];
  readonly operators: OperatorDiff[];
  readonly entries?: EntryDiff[];
}

export async function diffSnapshots(a: SnapshotReader, b: SnapshotReader, options: { entries?: boolean; limit?: number } = {}): Promise<SnapshotDiff> {
  const sa = summarize(a);
  const sb = summarize(b);
  const header = changes(
    { kind: sa.kind, type: sa.type, jobId: sa.jobId, jobName: sa.jobName, checkpointId: sa.checkpointId, createdAt: sa.createdAt, formatVersion: sa.formatVersion },
    { kind: sb.kind, type: sb.type, jobId: sb.jobId, jobName: sb.jobName, checkpointId: sb.checkpointId, createdAt: sb.createdAt, formatVersion: sb.formatVersion },
  );
  const operators: OperatorDiff[] = [];
  const inB = new Map(sb.operators.map((op) => [op.uid, op]));
  // A version 3 keyed state's entries and bytes count every block of its chains, not what they
  // replay to: such states are compared by their replayed content instead.
  const replay = sa.formatVersion >= 3 || sb.formatVersion >= 3;
  for (const opA of sa.operators) {
    const opB = inB.get(opA.uid);
    if (opB === undefined) {
      operators.push({ uid: opA.uid, status: 'removed', changes: [], states: [] });
      continue;
    }
    // The backend is compared only where both record it (FORMAT.md 3.5: absent means not recorded).
    const backends = opA.stateBackend !== undefined && opB.stateBackend !== undefined;
    const pick = (op: typeof opA): Record<string, Json> => ({
      id: op.id,
      name: op.name,
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      ...(backends ? { stateBackend: op.stateBackend ?? null } : {}),
    });
    const states = diffStates(opA.states, opB.states, replay);
    if (replay) {
      for (const d of await diffReplayed(a, b, opA.uid, opA.states, opB.states)) {
        const at = states.findIndex((s) => s.scope === 'keyed' && s.name === d.name && s.status === 'changed');
        const same = states[at];
        if (same === undefined) states.push(d);
        else states[at] = { ...same, changes: [...same.changes, ...d.changes], ...(d.content === undefined ? {} : { content: d.content }) };
      }
    }
    const fieldChanges = changes(pick(opA), pick(opB));
    if (fieldChanges.length > 0 || states.length > 0) operators.push({ uid: opA.uid, status: 'changed', changes: fieldChanges, states });
  }
  const inA = new Set(sa.operators.map((op) => op.uid));
  for (const opB of sb.operators) {
    if (!inA.has(opB.uid)) operators.push({ uid: opB.uid, status: 'added', changes: [], states: [] });
  }

  let entries: EntryDiff[] | undefined;
  if (options.entries === true) {
    entries = [];
    for (const opA of a.metadata.operators) {
      const opB = b.metadata.operators.find((o) => o.uid === opA.uid);
      if (opB === undefined) continue;
      for (const state of [...opA.keyedStates, ...opA.operatorStates]) {
        const other = [...opB.keyedStates, ...opB.operatorStates].find((s) => s.name === state.name);
        if (other === undefined || ('blocks' in state) !== ('blocks' in other)) continue;
        const [ma, mb] = await Promise.all([loadState(a, opA, state.name), loadState(b, opB, state.name)]);
        const diff = compareMaps(ma, mb, options.limit ?? Infinity);
        if (diff.added + diff.removed + diff.changed > 0) entries.push({ operator: opA.uid, state: state.name, ...diff });
      }
    }
  }
  const equal = operators.length === 0 && (entries === undefined || entries.length === 0);
  return entries === undefined ? { equal, header, operators } : { equal, header, operators, entries };
}

/**
 * Keyed states in both, compared by replayed content: where it differs, the keys added, removed
 * and changed, and a change `replayedEntries` only where the key counts differ (equal counts would
 * read as a change from a value to itself).
 */
async function diffReplayed(a: SnapshotReader, b: SnapshotReader, uid: string, statesA: readonly StateSummary[], statesB: readonly StateSummary[]): Promise<StateDiff[]> {
  const out: StateDiff[] = [];
  const opA = a.operator(uid);
  const opB = b.operator(uid);
  for (const sa of statesA) {
    if (sa.scope !== 'keyed' || !statesB.some((sb) => sb.scope === 'keyed' && sb.name === sa.name)) continue;
    const [ma, mb] = await Promise.all([loadState(a, opA, sa.name), loadState(b, opB, sa.name)]);
    const diff = compareMaps(ma, mb, 0);
    if (diff.added + diff.removed + diff.changed === 0) continue;
    const counts = ma.size === mb.size ? [] : [{ field: 'replayedEntries', a: ma.size, b: mb.size }];
    out.push({ name: sa.name, scope: 'keyed', status: 'changed', kind: sa.kind, changes: counts, content: { added: diff.added, removed: diff.removed, changed: diff.changed } });
  }
  return out;
}

function diffStates(a: readonly StateSummary[], b: readonly StateSummary[], replay: boolean): StateDiff[] {
  const out: StateDiff[] = [];
  const id = (s: StateSummary): string => `${s.scope}:${s.name}`;
  const inB = new Map(b.map((s) => [id(s), s]));
  const pick = (s: StateSummary): Record<string, Json> => ({
    kind: s.kind,
    mode: s.mode ?? null,
    schemaVersion: s.schemaVersion,
    ttl: s.ttl === undefined || s.ttl === null ? null : { ...s.ttl },
    ...(replay && s.scope === 'keyed' ? {} : { entries: s.entries, bytes: s.bytes }),
  });
  for (const sa of a) {
    const sb = inB.get(id(sa));
    if (sb === undefined) out.push({ name: sa.name, scope: sa.scope, status: 'removed', kind: sa.kind, changes: [] });
    else {
      const fieldChanges = changes(pick(sa), pick(sb));
      if (fieldChanges.length > 0) out.push({ name: sa.name, scope: sa.scope, status: 'changed', kind: sb.kind, changes: fieldChanges });
    }
  }
  const inA = new Set(a.map(id));
  for (const sb of b) if (!inA.has(id(sb))) out.push({ name: sb.name, scope: sb.scope, status: 'added', kind: sb.kind, changes: [] });
  return out;
}

function changes(a: Record<string, Json>, b: Record<string, Json>): FieldChange[] {
  return Object.keys(a)
    .filter((field) => stableStringify(a[field] ?? null) !== stableStringify(b[field] ?? null))
    .map((field) => ({ field, a: a[field] ?? null, b: b[field] ?? null }));
}

type Loaded = Map<string, { key: Json; value: Json; text: string }>;

/**
 * One state as identity -> value. Keyed and broadcast entries are identified by their canonical
 * key; list elements by their own content, with a counter so duplicates compare as a multiset.
 */
async function loadState(reader: SnapshotReader, op: OperatorMeta, name: string): Promise<Loaded> {
  const out: Loaded = new Map();
  const add = (id: string, key: Json, value: unknown): void => {
    const json = toJson(value);
    out.set(id, { key, value: json, text: stableStringify(json) });
  };
  if (op.keyedStates.some((s) => s.name === name)) {
    for await (const batch of reader.readKeyed(op.uid, name)) {
      batch.keys.forEach((k, i) => add(Buffer.from(encodeCanonicalKey(k)).toString('latin1'), toJson(k), batch.values[i]));
    }
    return out;
  }
  const seen = new Map<string, number>();
  for await (const batch of reader.readOperatorState(op.uid, name)) {
    batch.values.forEach((v, i) => {
      if (batch.keys !== undefined) {
        add(Buffer.from(encodeCanonicalKey(batch.keys[i])).toString('latin1'), toJson(batch.keys[i]), v);
        return;
      }
      const text = stableStringify(toJson(v));
      const n = (seen.get(text) ?? 0) + 1;
      seen.set(text, n);
      add(`${text}#${n}`, null, v);
    });
  }
  return out;
}

function compareMaps(a: Loaded, b: Loaded, limit: number): Omit<EntryDiff, 'operator' | 'state'> {
  const result = { added: 0, removed: 0, changed: 0, samples: { added: [] as EntryDiff['samples']['added'], removed: [] as EntryDiff['samples']['removed'], changed: [] as EntryDiff['samples']['changed'] } };
  for (const [id, ea] of a) {
    const eb = b.get(id);
    if (eb === undefined) {
      result.removed += 1;
      if (result.samples.removed.length < limit) result.samples.removed.push({ key: ea.key, value: ea.value });
    } else if (ea.text !== eb.text) {
      result.changed += 1;
      if (result.samples.changed.length < limit) result.samples.changed.push({ key: ea.key, a: ea.value, b: eb.value });
    }
  }
  for (const [id, eb] of b) {
    if (a.has(id)) continue;
    result.added += 1;
    if (result.samples.added.length < limit) result.samples.added.push({ key: eb.key, value: eb.value });
  }
  return result;
}

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
export function stableStringify(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(value[k] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
