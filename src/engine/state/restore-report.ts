/**
 * What `flink run -s` would do with a snapshot, as data, for `flink plan-restore`: which
 * operators match, start empty or are dropped, what becomes of each state, which key groups and
 * how many bytes each new subtask reads, and every problem that would stop the restore. Pure,
 * and built from the same steps as planRestore (matchOperators, planOperator), so it cannot
 * disagree with it; unlike planRestore it does not stop at the first problem.
 */
import { UserError } from '../../errors.ts';
import type { KeyedStateKind, OperatorMeta, OperatorStateKind, SnapshotMetadata } from '../../format/model.ts';
import { type NewOperatorSpec, type OperatorRestorePlan, hasState, matchOperators, nonRestoredStateError, planOperator } from './restore-plan.ts';

export type OperatorFate =
  /** In both: its state is restored. */
  | 'matched'
  /** Only in the job: starts empty. */
  | 'new'
  /** Only in the snapshot, with state: needs --allowNonRestoredState, and its state is lost. */
  | 'dropped'
  /** Only in the snapshot, without state: nothing to lose (Flink skips it too). */
  | 'skipped';

export type MaxParallelismVerdict =
  /** Same in snapshot and job. */
  | 'same'
  /** The job's is the default, so it runs with the snapshot's (as Flink does). */
  | 'adopted'
  /** The job sets another one: the key groups cannot be mapped. */
  | 'mismatch'
  /** The snapshot's is lower than the job's parallelism. */
  | 'below-parallelism';

export interface OperatorReport {
  /** The job's uid, or the snapshot's for a dropped or skipped operator. */
  readonly uid: string;
  readonly name: string | null;
  readonly fate: OperatorFate;
  /** The uid in the snapshot (differs from `uid` when matched by operator id); null for a new operator. */
  readonly snapshotUid: string | null;
  readonly matchedBy: 'uid' | 'id' | null;
  readonly parallelism: { readonly snapshot: number | null; readonly job: number | null };
  readonly maxParallelism: {
    readonly snapshot: number | null;
    readonly job: number | null;
    /** What the restored job runs with; null when it cannot run. */
    readonly effective: number | null;
    readonly verdict: MaxParallelismVerdict | null;
  };
  /** Why this operator stops the restore (the message a restore gives), or null. */
  readonly problem: string | null;
}

/**
 * `migrated`: the job declares a newer schema version with a migrate hook, so each value is
 * migrated when the state is declared; `schema-changed`: another version without one, or an older
 * one, which the job refuses when it opens (StateMigrationException).
 */
export type StateFate = 'kept' | 'dropped' | 'kind-changed' | 'schema-changed' | 'migrated' | 'new';

export interface StateReport {
  readonly operator: string;
  readonly scope: 'keyed' | 'operator';
  readonly name: string;
  /** As written in the snapshot (null for a state only the job declares). */
  readonly kind: KeyedStateKind | OperatorStateKind | null;
  readonly schemaVersion: number | null;
  /** As the job declares it, when it declares it before running (null: not known). */
  readonly declaredKind: KeyedStateKind | OperatorStateKind | null;
  readonly declaredSchemaVersion: number | null;
  readonly entries: number;
  readonly bytes: number;
  readonly fate: StateFate;
}

export interface SubtaskReport {
  readonly operator: string;
  readonly subtask: number;
  /** Inclusive; null for an operator whose plan failed. */
  readonly keyGroups: { readonly start: number; readonly end: number } | null;
  /** Key groups of the range that hold keyed state in the snapshot (one block per state each). */
  readonly keyedBlocks: number;
  readonly keyedBytes: number;
  /** Operator state partitions this subtask reads (a partition that is split is read whole). */
  readonly operatorPartitions: number;
  readonly operatorBytes: number;
}

export interface RestoreReport {
  readonly location: string;
  readonly snapshot: { readonly kind: string; readonly checkpointId: number; readonly jobId: string; readonly jobName: string; readonly formatVersion: number };
  readonly allowNonRestoredState: boolean;
  readonly operators: readonly OperatorReport[];
  readonly states: readonly StateReport[];
  readonly subtasks: readonly SubtaskReport[];
  /** Every problem, in the order a restore meets them: the first is the one it reports. */
  readonly problems: readonly string[];
}

export interface RestoreReportInput {
  readonly location: string;
  readonly metadata: SnapshotMetadata;
  readonly operators: readonly (NewOperatorSpec & { readonly name?: string })[];
  readonly allowNonRestoredState: boolean;
}

export function restoreReport(input: RestoreReportInput): RestoreReport {
  const { location, metadata } = input;
  const { matched, unmatched } = matchOperators(input.operators, metadata);
  const operators: OperatorReport[] = [];
  const states: StateReport[] = [];
  const subtasks: SubtaskReport[] = [];

  const leftOver: OperatorReport[] = [];
  for (const old of unmatched) {
    const dropped = hasState(old);
    const problem = dropped && !input.allowNonRestoredState ? nonRestoredStateError(location, old.uid).message : null;
    leftOver.push({
      uid: old.uid,
      name: old.name,
      fate: dropped ? 'dropped' : 'skipped',
      snapshotUid: old.uid,
      matchedBy: null,
      parallelism: { snapshot: old.parallelism, job: null },
      maxParallelism: { snapshot: old.maxParallelism, job: null, effective: null, verdict: null },
      problem,
    });
    states.push(...snapshotStates(old, 'dropped'));
  }

  for (const op of input.operators) {
    const old = matched.get(op);
    let plan: OperatorRestorePlan | undefined;
    let problem: string | null = null;
    try {
      plan = planOperator(op, old, location);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      problem = err.message;
    }
    operators.push({
      uid: op.uid,
      name: op.name ?? null,
      fate: old === undefined ? 'new' : 'matched',
      snapshotUid: old?.uid ?? null,
      matchedBy: old === undefined ? null : old.uid === op.uid ? 'uid' : 'id',
      parallelism: { snapshot: old?.parallelism ?? null, job: op.parallelism },
      maxParallelism: {
        snapshot: old?.maxParallelism ?? null,
        job: op.maxParallelism,
        effective: plan?.maxParallelism ?? null,
        verdict: old === undefined ? null : maxParallelismVerdict(op, old),
      },
      problem,
    });
    if (old !== undefined) states.push(...matchedStates(op, old));
    else states.push(...declaredOnly(op));
    for (const s of plan?.subtasks ?? []) {
      const blocks = s.keyedStates.flatMap((k) => k.blocks);
      const partitions = s.operatorStates.flatMap((o) => o.slices.map((slice) => slice.block));
      subtasks.push({
        operator: op.uid,
        subtask: s.subtask,
        keyGroups: s.keyGroupRange,
        keyedBlocks: blocks.length,
        keyedBytes: sum(blocks.map((b) => b.length)),
        operatorPartitions: partitions.length,
        operatorBytes: sum(partitions.map((b) => b.length)),
      });
    }
  }

  return {
    location,
    snapshot: { kind: metadata.kind, checkpointId: metadata.checkpointId, jobId: metadata.jobId, jobName: metadata.jobName, formatVersion: metadata.formatVersion },
    allowNonRestoredState: input.allowNonRestoredState,
    operators: [...operators, ...leftOver],
    states,
    subtasks,
    // planRestore meets dropped operators before the job's own (see its order).
    problems: [...leftOver.flatMap((o) => (o.problem === null ? [] : [o.problem])), ...operators.flatMap((o) => (o.problem === null ? [] : [o.problem]))],
  };
}

function maxParallelismVerdict(op: NewOperatorSpec, old: OperatorMeta): MaxParallelismVerdict {
  if (old.maxParallelism < op.parallelism) return 'below-parallelism';
  if (old.maxParallelism === op.maxParallelism) return 'same';
  return op.maxParallelismConfigured === false ? 'adopted' : 'mismatch';
}

function snapshotStates(old: OperatorMeta, fate: StateFate): StateReport[] {
  return [
    ...old.keyedStates.map((s) => ({ operator: old.uid, scope: 'keyed' as const, name: s.name, kind: s.kind, schemaVersion: s.schemaVersion, declaredKind: null, declaredSchemaVersion: null, entries: s.entries, bytes: s.bytes, fate })),
    ...old.operatorStates.map((s) => ({ operator: old.uid, scope: 'operator' as const, name: s.name, kind: s.kind, schemaVersion: s.schemaVersion, declaredKind: null, declaredSchemaVersion: null, entries: s.entries, bytes: s.bytes, fate })),
  ];
}

/** The snapshot's states of a matched operator, compared with what the job declares (when it does before running). */
function matchedStates(op: NewOperatorSpec, old: OperatorMeta): StateReport[] {
  const out: StateReport[] = [];
  const compare = (
    scope: 'keyed' | 'operator',
    s: { name: string; kind: KeyedStateKind | OperatorStateKind; schemaVersion: number; entries: number; bytes: number },
    declared: { kind: KeyedStateKind | OperatorStateKind; schemaVersion?: number; migrates?: boolean } | undefined,
  ): void => {
    const declaredSchemaVersion = declared?.schemaVersion ?? null;
    const schemaFate = (v: number): StateFate => (v > s.schemaVersion && declared?.migrates === true ? 'migrated' : 'schema-changed');
    const fate: StateFate =
      declared === undefined ? 'kept' : declared.kind !== s.kind ? 'kind-changed' : declaredSchemaVersion !== null && declaredSchemaVersion !== s.schemaVersion ? schemaFate(declaredSchemaVersion) : 'kept';
    out.push({ operator: op.uid, scope, name: s.name, kind: s.kind, schemaVersion: s.schemaVersion, declaredKind: declared?.kind ?? null, declaredSchemaVersion, entries: s.entries, bytes: s.bytes, fate });
  };
  for (const s of old.keyedStates) compare('keyed', s, op.keyedStates?.find((d) => d.name === s.name));
  for (const s of old.operatorStates) compare('operator', s, op.operatorStates?.find((d) => d.name === s.name));
  for (const d of op.keyedStates ?? []) if (!old.keyedStates.some((s) => s.name === d.name)) out.push(declaredState(op.uid, 'keyed', d));
  for (const d of op.operatorStates ?? []) if (!old.operatorStates.some((s) => s.name === d.name)) out.push(declaredState(op.uid, 'operator', d));
  return out;
}

function declaredOnly(op: NewOperatorSpec): StateReport[] {
  return [...(op.keyedStates ?? []).map((d) => declaredState(op.uid, 'keyed', d)), ...(op.operatorStates ?? []).map((d) => declaredState(op.uid, 'operator', d))];
}

function declaredState(operator: string, scope: 'keyed' | 'operator', d: { name: string; kind: KeyedStateKind | OperatorStateKind; schemaVersion?: number }): StateReport {
  return { operator, scope, name: d.name, kind: null, schemaVersion: null, declaredKind: d.kind, declaredSchemaVersion: d.schemaVersion ?? null, entries: 0, bytes: 0, fate: 'new' };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
