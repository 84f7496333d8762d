/**
 * Results of REST's asynchronous operations (savepoints, stops, checkpoints, disposals), kept as
 * Flink's CompletedOperationCache keeps them: an operation in progress is kept until it ends, and
 * its result for `rest.async.store-duration` after that (Guava's expireAfterWrite, written when
 * the operation completes; reading a result does not extend it). Then the trigger id is unknown,
 * and the status endpoint answers 404 as for an id never given out. A duration of under one
 * second keeps results for ever: Flink's cache sets no expiry when the duration's whole seconds
 * are 0.
 *
 * Eviction is done when the cache is used (as Guava's is), not by a timer: the clock is a
 * parameter, and no timer holds the process open or needs faking in tests.
 */
import { UserError } from '../../errors.ts';
import { DURATION_SYNTAX, parseFlinkDuration } from '../checkpoint/flink-duration.ts';

export const ASYNC_STORE_DURATION_KEY = 'rest.async.store-duration';
/** Flink's default, `RestOptions.ASYNC_OPERATION_STORE_DURATION`: 5 min. */
export const DEFAULT_ASYNC_STORE_DURATION_MS = 300_000;

/** Milliseconds. Throws UserError (exit 1) naming the key. */
export function parseAsyncStoreDuration(key: string, value: string): number {
  const ms = parseFlinkDuration(value);
  if (ms === undefined) throw new UserError(`${key}: '${value}' is not a duration: write ${DURATION_SYNTAX}`, 1);
  return ms;
}

/** The cluster's duration in ms; its value was checked when the configuration was loaded. */
export function asyncStoreDurationMs(config: Readonly<Record<string, string>>): number {
  const value = config[ASYNC_STORE_DURATION_KEY];
  return value === undefined ? DEFAULT_ASYNC_STORE_DURATION_MS : parseAsyncStoreDuration(ASYNC_STORE_DURATION_KEY, value);
}

export type CachedOperation<P extends object, R> = { readonly status: 'IN_PROGRESS'; readonly value: P } | { readonly status: 'COMPLETED'; readonly value: R };

export class CompletedOperationCache<P extends object, R> {
  readonly #inProgress = new Map<string, P>();
  /** In the order they completed, so the expired ones are always at the front. */
  readonly #completed = new Map<string, { readonly result: R; readonly completedAt: number }>();
  /** Undefined: kept for ever. */
  readonly #keepMs: number | undefined;

  constructor(
    storeDurationMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // Flink: `if (cacheDuration.getSeconds() != 0) cacheBuilder.expireAfterWrite(cacheDuration)`.
    this.#keepMs = Math.floor(storeDurationMs / 1000) === 0 ? undefined : storeDurationMs;
  }

  /** An operation started: kept until it completes, however long that takes. */
  start(key: string, value: P): void {
    this.#evict();
    // Trigger ids are random: a key used again is a new operation, and an old result of it is stale.
    this.#completed.delete(key);
    this.#inProgress.set(key, value);
  }

  /** Its result, kept for the store duration from now. An operation it does not hold is added completed. */
  complete(key: string, result: R): void {
    this.#evict();
    this.#inProgress.delete(key);
    // Moved to the end: its duration starts now.
    this.#completed.delete(key);
    this.#completed.set(key, { result, completedAt: this.now() });
  }

  /** Undefined when the key was never given out or its result has been evicted. */
  get(key: string): CachedOperation<P, R> | undefined {
    this.#evict();
    const running = this.#inProgress.get(key);
    if (running !== undefined) return { status: 'IN_PROGRESS', value: running };
    const done = this.#completed.get(key);
    return done === undefined ? undefined : { status: 'COMPLETED', value: done.result };
  }

  /** The operations in progress, e.g. to fail those of a thread that ended. */
  inProgress(): [string, P][] {
    return [...this.#inProgress];
  }

  /** How many it holds, in progress and completed (after evicting), for tests. */
  get size(): number {
    this.#evict();
    return this.#inProgress.size + this.#completed.size;
  }

  #evict(): void {
    if (this.#keepMs === undefined) return;
    const now = this.now();
    for (const [key, { completedAt }] of this.#completed) {
      if (now - completedAt < this.#keepMs) return;
      this.#completed.delete(key);
    }
  }
}
