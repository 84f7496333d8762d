/**
 * What a restored PostgreSQL exactly-once sink does with the prepared transactions it finds: a
 * pure decision over facts read beforehand (pg_prepared_xacts and the restored state).
 *
 * The restored checkpoint's pending transactions (split state: after a rescale any subtask may
 * hold any of them) are committed by whoever holds them. Every subtask also restores, in union
 * state, the pending gids of ALL subtasks, so it knows the whole set to keep. Any other prepared
 * gid of this operator, written by this job or by the job the state comes from, is a stray of an
 * attempt that failed after pre-committing: its checkpoint never completed, or its end-of-input
 * transaction was never filed in a completed checkpoint. It is rolled back, by exactly one
 * subtask: the one whose index is the gid's subtask index mod the parallelism (as FileSink does
 * with leftover files), before that subtask prepares anything. A gid filed in a completed
 * checkpoint is either committed already (then not prepared) or in the set to keep, so this never
 * rolls back data a checkpoint promised.
 */
import { jobPart, operatorPart, parseTransactionId } from './postgres-transaction-id.ts';

/** One subtask's entry in the union state, written at every checkpoint. */
export interface SinkCheckpointFacts {
  readonly subtask: number;
  readonly jobId: string;
  readonly checkpointId: number;
  /** Gids pre-committed and not yet committed: what this checkpoint's restore commits. */
  readonly pending: readonly string[];
}

export interface RestoredFacts {
  /** The restored checkpoint's id (0 when nothing was restored). */
  readonly checkpointId: number;
  /** Jobs whose state was restored: their strays are ours to clean. */
  readonly jobIds: readonly string[];
  /** Every gid some restored subtask will commit. */
  readonly pending: ReadonlySet<string>;
}

export function restoredFacts(entries: Iterable<SinkCheckpointFacts>): RestoredFacts {
  let checkpointId = 0;
  const jobIds = new Set<string>();
  const pending = new Set<string>();
  for (const e of entries) {
    checkpointId = Math.max(checkpointId, e.checkpointId);
    jobIds.add(e.jobId);
    for (const gid of e.pending) pending.add(gid);
  }
  return { checkpointId, jobIds: [...jobIds], pending };
}

export interface StrayQuery {
  /** Gids in pg_prepared_xacts (any: others are ignored). */
  readonly prepared: Iterable<string>;
  /** This job and the jobs the restored state came from. */
  readonly jobIds: Iterable<string>;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** Gids a restored pending list will commit: never rolled back. */
  readonly keep: ReadonlySet<string>;
}

/** The prepared transactions this subtask rolls back before it writes. */
export function straysToRollBack(query: StrayQuery): string[] {
  const jobs = new Set([...query.jobIds].map(jobPart));
  const operator = operatorPart(query.operatorUid);
  const strays: string[] = [];
  for (const gid of query.prepared) {
    const parts = parseTransactionId(gid);
    if (parts === undefined || !jobs.has(parts.job) || parts.operator !== operator) continue;
    if (parts.subtask % query.parallelism !== query.subtaskIndex || query.keep.has(gid)) continue;
    strays.push(gid);
  }
  return strays;
}
