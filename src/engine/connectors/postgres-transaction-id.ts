/**
 * Global ids of the PostgreSQL sink's prepared transactions (PREPARE TRANSACTION '<gid>'),
 * derived from facts every attempt of a job knows, so a restored sink can find its own prepared
 * transactions again, and those a failed attempt left behind:
 *
 *   tsflink:<job>:<operator>:<subtask>:<checkpointId>        filed under a checkpoint
 *   tsflink:<job>:<operator>:<subtask>:end-after-<n>         pre-committed at the end of input
 *
 * `<job>` is the job id when it is short and plain (ids are 32 hex digits), else `~` and a hash;
 * `<operator>` is the operator id (murmur3_128 of the uid, 32 hex digits), so a long uid cannot
 * push the gid past PostgreSQL's 200-byte limit: a gid has at most 150 bytes.
 *
 * The end-of-input transaction is pre-committed before the id of the final checkpoint exists, so
 * it is named after the last checkpoint its subtask knew (`n`: the last one it snapshotted, or the
 * one it was restored from, or 0). Checkpoint ids only grow within a job, so two end-of-input
 * transactions of one subtask share `n` only when the first was never filed in a completed
 * checkpoint: the restore that starts the second then finds the first prepared and not among the
 * restored pending transactions, and rolls it back before the second is prepared. A regular gid
 * never has the `end-after-` form, so the two kinds cannot collide.
 */
import { createHash } from 'node:crypto';
import { InternalError } from '../../errors.ts';
import { operatorIdFromUid, toHex } from '../../format/murmur3.ts';

export type TransactionPoint =
  | { readonly kind: 'checkpoint'; readonly checkpointId: number }
  /** `after`: the last checkpoint id the subtask knew when its input ended. */
  | { readonly kind: 'end-of-input'; readonly after: number };

export interface TransactionIdParts {
  /** The job component as written in the gid (see `jobPart`). */
  readonly job: string;
  /** The operator id, 32 hex digits. */
  readonly operator: string;
  readonly subtask: number;
  readonly point: TransactionPoint;
}

const PLAIN_JOB = /^[A-Za-z0-9_-]{1,64}$/;
const NUMBER = '(0|[1-9][0-9]{0,15})';
const GID = new RegExp(`^tsflink:([A-Za-z0-9_-]{1,64}|~[0-9a-f]{32}):([0-9a-f]{32}):${NUMBER}:(?:${NUMBER}|end-after-${NUMBER})$`);

/** The job component: the id itself when plain, else `~` and a hash (`~` never occurs in a plain id). */
export function jobPart(jobId: string): string {
  return PLAIN_JOB.test(jobId) ? jobId : `~${createHash('sha256').update(jobId, 'utf8').digest('hex').slice(0, 32)}`;
}

export function operatorPart(operatorUid: string): string {
  return toHex(operatorIdFromUid(operatorUid));
}

/** What every gid of this job and operator starts with. */
export function transactionIdPrefix(jobId: string, operatorUid: string): string {
  return `tsflink:${jobPart(jobId)}:${operatorPart(operatorUid)}:`;
}

export function formatTransactionId(jobId: string, operatorUid: string, subtask: number, point: TransactionPoint): string {
  const at = point.kind === 'checkpoint' ? `${wholeNumber(point.checkpointId)}` : `end-after-${wholeNumber(point.after)}`;
  return `${transactionIdPrefix(jobId, operatorUid)}${wholeNumber(subtask)}:${at}`;
}

/** The parts of a gid this sink wrote, or undefined for any other gid. */
export function parseTransactionId(gid: string): TransactionIdParts | undefined {
  const m = GID.exec(gid);
  if (m === null) return undefined;
  const [, job, operator, subtask, checkpointId, after] = m;
  const point: TransactionPoint = checkpointId !== undefined ? { kind: 'checkpoint', checkpointId: Number(checkpointId) } : { kind: 'end-of-input', after: Number(after) };
  const numbers = [Number(subtask), point.kind === 'checkpoint' ? point.checkpointId : point.after];
  if (!numbers.every(Number.isSafeInteger)) return undefined;
  return { job: job!, operator: operator!, subtask: Number(subtask), point };
}

function wholeNumber(n: number): number {
  // Checkpoint ids and subtask indices come from the engine: anything else is a bug, not user input.
  if (!Number.isSafeInteger(n) || n < 0) throw new InternalError(`transaction id: ${n} is not a whole number >= 0`);
  return n;
}
