/**
 * Waiting on Flink's asynchronous operations (savepoints, stop, checkpoints, disposal): trigger
 * answers with an id, and the status endpoint is polled until it says COMPLETED.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { type AsyncOperation, type ClusterApi, type FailureCause, type JobState, NotFoundError, TERMINAL_STATES } from './cluster-api.ts';

export interface AwaitOperationOptions {
  /** Between polls; default 100 ms. */
  readonly intervalMs?: number;
  /** Give up after this long; default: wait for ever (a savepoint of large state takes what it takes). */
  readonly timeoutMs?: number;
  /** Called each time the operation is still in progress, e.g. to tell the user we are waiting; the next poll waits for it. */
  readonly onWait?: () => void | Promise<void>;
  /** Names the operation in the timeout message, e.g. "the savepoint of job 3f…"; default "the operation". */
  readonly what?: string;
}

/** Resolves with the operation's result; a failed operation throws its cause's message as a UserError (exit 1). */
export async function awaitOperation<T>(poll: () => Promise<AsyncOperation<T>>, options?: AwaitOperationOptions): Promise<T> {
  const intervalMs = options?.intervalMs ?? 100;
  const timeoutMs = options?.timeoutMs;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  for (;;) {
    const state = await poll();
    if (state.status.id === 'COMPLETED' && 'operation' in state) {
      const failure = failureCause(state.operation);
      if (failure) throw new UserError(failure.message, 1);
      return state.operation as T;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new UserError(`Timed out after ${(timeoutMs ?? 0) / 1000} s waiting for ${options?.what ?? 'the operation'} to complete.`, 1);
    }
    await options?.onWait?.();
    // One last poll right at the deadline rather than giving up a whole interval early.
    await sleep(Math.min(intervalMs, left));
  }
}

function failureCause(operation: unknown): FailureCause | undefined {
  if (typeof operation !== 'object' || operation === null || !('failure-cause' in operation)) return undefined;
  return (operation as { 'failure-cause': FailureCause })['failure-cause'];
}

/**
 * Polls a job until it is FINISHED, CANCELED or FAILED and returns that state; `timeoutMs`
 * (default: none) returns the state it still has then. Undefined when its id became unknown
 * meanwhile: it ended and the JobManager forgot it before a poll saw it (jobstore.expiration-time
 * 0, or jobstore.max-capacity), so its end state cannot be read. For a job known to exist (one
 * whose cancel or stop was just accepted), so that a 404 can only mean that.
 */
export async function awaitJobEnd(api: Pick<ClusterApi, 'job'>, jobId: string, options?: { readonly intervalMs?: number; readonly timeoutMs?: number }): Promise<JobState | undefined> {
  const deadline = Date.now() + (options?.timeoutMs ?? Infinity);
  for (;;) {
    let state: JobState;
    try {
      ({ state } = await api.job(jobId));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    if (TERMINAL_STATES.has(state) || Date.now() >= deadline) return state;
    await sleep(options?.intervalMs ?? 100);
  }
}
