/**
 * Which state each subtask of a new job restores from a snapshot, as Flink's
 * Checkpoints.loadAndValidateCheckpoint + StateAssignmentOperation. Pure: a function of the new
 * job's operators and the snapshot's `_metadata`, so it is computed once (by the coordinator)
 * and tested without files.
 *
 * - Operators are matched by uid, else by operator id (an explicitly set id).
 * - Keyed state: subtask i of p gets every block whose key group lies in rangeForSubtask(i, p,
 *   maxP); rescaling moves whole key groups, never rewrites them.
 * - Operator state: see operator-state-repartition.ts.
 * - A snapshot operator with state that the new job lacks is an error unless
 *   allowNonRestoredState; one without any state is skipped either way (as Flink does).
 * - New operators, and states the snapshot lacks, start empty.
 *
 * Its errors exit with 1, as Flink's CLI does when a job cannot be restored.
 */
import { UserError } from '../../errors.ts';
import { bytesEqual } from '../../format/canonical-key.ts';
import { checkParallelism, rangeForSubtask } from '../../format/key-groups.ts';
import type {
  DistributionMode,
  KeyGroupBlock,
  KeyedStateKind,
  OperatorMeta,
  OperatorStateKind,
  OperatorStateMeta,
  SnapshotMetadata,
  TtlConfig,
} from '../../format/model.ts';
import { operatorIdFromUid } from '../../format/murmur3.ts';
import type { KeyGroupRange } from './current-key.ts';
import { type PartitionSlice, repartitionOperatorStates } from './operator-state-repartition.ts';

/** An operator of the job being started, with the states it declares (when known). */
export interface NewOperatorSpec {
  readonly uid: string;
  /** An explicitly set operator id; defaults to the one derived from the uid. */
  readonly id?: Uint8Array;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /**
   * False when maxParallelism is the default rather than set by the user: as in Flink, the
   * snapshot's max parallelism is then adopted instead of refusing to restore.
   */
  readonly maxParallelismConfigured?: boolean;
  /** States the job declares before it runs (`migrates`: with a migrate hook), for `plan-restore`'s report. */
  readonly keyedStates?: readonly DeclaredKeyedState[];
  readonly operatorStates?: readonly { readonly name: string; readonly kind: OperatorStateKind; readonly mode: DistributionMode; readonly schemaVersion?: number }[];
}

export interface DeclaredKeyedState {
  readonly name: string;
  readonly kind: KeyedStateKind;
  readonly schemaVersion?: number;
  readonly migrates?: boolean;
}

export interface RestorePlanInput {
  /** Where the snapshot is, for messages (as the user named it). */
  readonly location: string;
  readonly metadata: SnapshotMetadata;
  readonly operators: readonly NewOperatorSpec[];
  readonly allowNonRestoredState: boolean;
}

export interface PlannedKeyedState {
  readonly name: string;
  readonly kind: KeyedStateKind;
  readonly schemaVersion: number;
  readonly ttl: TtlConfig | null;
  /** The blocks of this subtask's key groups, sorted by key group. */
  readonly blocks: readonly KeyGroupBlock[];
}

export interface PlannedOperatorState {
  readonly name: string;
  readonly kind: OperatorStateKind;
  readonly mode: DistributionMode;
  readonly schemaVersion: number;
  readonly slices: readonly PartitionSlice[];
}

export interface SubtaskRestorePlan {
  readonly uid: string;
  /** The operator's uid in the snapshot (differs from `uid` when matched by id); null: start empty. */
  readonly snapshotUid: string | null;
  readonly subtask: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keyedStates: readonly PlannedKeyedState[];
  readonly operatorStates: readonly PlannedOperatorState[];
}

export interface OperatorRestorePlan {
  readonly uid: string;
  readonly snapshotUid: string | null;
  readonly parallelism: number;
  /** The max parallelism to run with (the snapshot's, when adopted). */
  readonly maxParallelism: number;
  /** The snapshot's parallelism, or null for an operator that starts empty. */
  readonly oldParallelism: number | null;
  readonly subtasks: readonly SubtaskRestorePlan[];
}

export interface RestorePlan {
  readonly operators: readonly OperatorRestorePlan[];
  /** Uids of snapshot operators whose state is not restored (no state, or allowNonRestoredState). */
  readonly skipped: readonly string[];
}

export function planRestore(input: RestorePlanInput): RestorePlan {
  const { location } = input;
  const { matched, unmatched } = matchOperators(input.operators, input.metadata);
  const skipped: string[] = [];
  for (const old of unmatched) {
    if (hasState(old) && !input.allowNonRestoredState) throw nonRestoredStateError(location, old.uid);
    skipped.push(old.uid);
  }
  const operators = input.operators.map((op) => planOperator(op, matched.get(op), location));
  return { operators, skipped };
}

export interface OperatorMatching {
  /** Each operator of the job that has one, with its operator in the snapshot. */
  readonly matched: ReadonlyMap<NewOperatorSpec, OperatorMeta>;
  /** The snapshot's operators that map to no operator of the job, in snapshot order. */
  readonly unmatched: readonly OperatorMeta[];
}

/** Matches by uid first, then by operator id. Throws when two operators of the job share a uid. */
export function matchOperators(operators: readonly NewOperatorSpec[], metadata: SnapshotMetadata): OperatorMatching {
  const byUid = new Map<string, NewOperatorSpec>();
  for (const op of operators) {
    if (byUid.has(op.uid)) throw new UserError(`two operators of the job have the uid '${op.uid}'; uids must be unique`, 1);
    byUid.set(op.uid, op);
  }
  const matched = new Map<NewOperatorSpec, OperatorMeta>();
  const byUidMissing: OperatorMeta[] = [];
  for (const old of metadata.operators) {
    const op = byUid.get(old.uid);
    if (op === undefined) byUidMissing.push(old);
    else matched.set(op, old);
  }
  const unmatched: OperatorMeta[] = [];
  for (const old of byUidMissing) {
    // Second pass, so a uid match always wins over an id match.
    const op = operators.find((o) => !matched.has(o) && bytesEqual(o.id ?? operatorIdFromUid(o.uid), old.id));
    if (op === undefined) unmatched.push(old);
    else matched.set(op, old);
  }
  return { matched, unmatched };
}

/** Flink's message for state of the snapshot that no operator of the new job takes. */
export function nonRestoredStateError(location: string, uid: string): UserError {
  return new UserError(
    `Failed to rollback to checkpoint/savepoint ${location}. Cannot map checkpoint/savepoint state for operator ${uid} ` +
      'to the new program, because the operator is not available in the new program. If you want to allow to skip this, ' +
      'you can set the --allowNonRestoredState option on the CLI.',
    1,
  );
}

/** One operator's plan: from its matched snapshot operator, or empty (`old` undefined). Throws what a restore would. */
export function planOperator(op: NewOperatorSpec, old: OperatorMeta | undefined, location: string): OperatorRestorePlan {
  return old === undefined ? emptyPlan(op) : operatorPlan(op, old, location);
}

/** Whether the snapshot holds any state of this operator (one without any may be dropped freely, as in Flink). */
export function hasState(op: OperatorMeta): boolean {
  return op.keyedStates.some((s) => s.blocks.length > 0) || op.operatorStates.some((s) => s.partitions.some((p) => p !== null));
}

function emptyPlan(op: NewOperatorSpec): OperatorRestorePlan {
  checkParallelism(op.parallelism, op.maxParallelism);
  return {
    uid: op.uid,
    snapshotUid: null,
    parallelism: op.parallelism,
    maxParallelism: op.maxParallelism,
    oldParallelism: null,
    subtasks: Array.from({ length: op.parallelism }, (_, subtask) => ({
      uid: op.uid,
      snapshotUid: null,
      subtask,
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      keyGroupRange: rangeForSubtask(subtask, op.parallelism, op.maxParallelism),
      keyedStates: [],
      operatorStates: [],
    })),
  };
}

function operatorPlan(op: NewOperatorSpec, old: OperatorMeta, location: string): OperatorRestorePlan {
  const maxParallelism = effectiveMaxParallelism(op, old, location);
  checkParallelism(op.parallelism, maxParallelism);
  checkKinds(op, old, location);
  const operatorSlices = repartitionOperatorStates(old.operatorStates, old.parallelism, op.parallelism);
  const subtasks = Array.from({ length: op.parallelism }, (_, subtask): SubtaskRestorePlan => {
    const range = rangeForSubtask(subtask, op.parallelism, maxParallelism);
    return {
      uid: op.uid,
      snapshotUid: old.uid,
      subtask,
      parallelism: op.parallelism,
      maxParallelism,
      keyGroupRange: range,
      keyedStates: old.keyedStates.map((s) => ({
        name: s.name,
        kind: s.kind,
        schemaVersion: s.schemaVersion,
        // The engine's `ttl` means "values carry timestamps" (FORMAT.md 5.4): a version 1 `ttl`
        // map was a declaration only, over plain values, so such a state restores without TTL.
        ttl: s.ttlLayout === true ? s.ttl : null,
        blocks: blocksInRange(s.blocks, range),
      })),
      operatorStates: old.operatorStates.map((s: OperatorStateMeta, i) => ({
        name: s.name,
        kind: s.kind,
        mode: s.mode,
        schemaVersion: s.schemaVersion,
        slices: operatorSlices[i]![subtask]!,
      })),
    };
  });
  return { uid: op.uid, snapshotUid: old.uid, parallelism: op.parallelism, maxParallelism, oldParallelism: old.parallelism, subtasks };
}

function effectiveMaxParallelism(op: NewOperatorSpec, old: OperatorMeta, location: string): number {
  // Flink checks this first (StateAssignmentOperation): no max parallelism, set or adopted, can help.
  if (old.maxParallelism < op.parallelism) {
    throw new UserError(
      `Cannot restore operator '${op.uid}' from ${location}: the maximum parallelism (${old.maxParallelism}) of the restored state ` +
        `is lower than the configured parallelism (${op.parallelism}). Please reduce the parallelism of the task to be lower or ` +
        'equal to the maximum parallelism.',
      1,
    );
  }
  if (old.maxParallelism === op.maxParallelism) return op.maxParallelism;
  if (op.maxParallelismConfigured === false) return old.maxParallelism;
  throw new UserError(
    `Cannot restore operator '${op.uid}' from ${location}: its state was written with max parallelism ${old.maxParallelism}, ` +
      `but the new job runs it with max parallelism ${op.maxParallelism}. The max parallelism (the number of key groups) of an ` +
      `operator's state cannot change on restore; set it back to ${old.maxParallelism} (pipeline.max-parallelism, or the operator's ` +
      `setMaxParallelism), rewrite the state for ${op.maxParallelism} with \`flink rekey <savepoint> <new directory> --max-parallelism ${op.maxParallelism}\`, ` +
      'or start the job without this checkpoint/savepoint.',
    1,
  );
}

function checkKinds(op: NewOperatorSpec, old: OperatorMeta, location: string): void {
  for (const declared of op.keyedStates ?? []) {
    const before = old.keyedStates.find((s) => s.name === declared.name);
    if (before !== undefined && before.kind !== declared.kind) {
      throw kindChanged(op.uid, 'keyed', declared.name, `${before.kind} state`, `${declared.kind} state`, location);
    }
  }
  for (const declared of op.operatorStates ?? []) {
    const before = old.operatorStates.find((s) => s.name === declared.name);
    if (before !== undefined && (before.kind !== declared.kind || before.mode !== declared.mode)) {
      throw kindChanged(op.uid, 'operator', declared.name, describeOperatorState(before), describeOperatorState(declared), location);
    }
  }
}

function kindChanged(uid: string, scope: string, name: string, before: string, now: string, location: string): UserError {
  return new UserError(
    `Cannot restore ${scope} state '${name}' of operator '${uid}' from ${location}: it was written as ${before}, but the new ` +
      `job declares it as ${now}. A state cannot change its kind; keep the old kind, or give the new state another name ` +
      'so that it starts empty.',
    1,
  );
}

function describeOperatorState(s: { readonly kind: OperatorStateKind; readonly mode: DistributionMode }): string {
  return s.kind === 'broadcast' ? 'broadcast state' : `${s.mode === 'union' ? 'union ' : ''}list state`;
}

/** The blocks with keyGroup in [range.start, range.end]; `blocks` is sorted by key group. */
function blocksInRange(blocks: readonly KeyGroupBlock[], range: KeyGroupRange): KeyGroupBlock[] {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (blocks[mid]!.keyGroup < range.start) lo = mid + 1;
    else hi = mid;
  }
  const out: KeyGroupBlock[] = [];
  for (let i = lo; i < blocks.length && blocks[i]!.keyGroup <= range.end; i++) out.push(blocks[i]!);
  return out;
}
