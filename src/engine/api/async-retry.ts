/**
 * Retries for Async I/O (Flink's AsyncRetryStrategy, AsyncRetryStrategies and RetryPredicates):
 * when an attempt's results or error match the strategy's predicate and it allows another
 * attempt, `asyncInvoke` is called again after the backoff, with the same ResultFuture.
 */
import { UserError } from '../../errors.ts';

export interface AsyncRetryPredicate<OUT> {
  /** Retry when the results match (Flink's Optional: undefined for never). */
  resultPredicate(): ((results: readonly OUT[]) => boolean) | undefined;
  /** Retry when the error matches (undefined for never). */
  exceptionPredicate(): ((error: unknown) => boolean) | undefined;
}

export interface AsyncRetryStrategy<OUT> {
  /** `currentAttempts` counts from 1, the first call. */
  canRetry(currentAttempts: number): boolean;
  /** The wait before the next attempt, after attempt `currentAttempts`. */
  getBackoffTimeMillis(currentAttempts: number): number;
  getRetryPredicate(): AsyncRetryPredicate<OUT>;
}

export const RetryPredicates = {
  /** Retry on an empty result. */
  EMPTY_RESULT_PREDICATE: (results: readonly unknown[]): boolean => results.length === 0,
  /** Retry on any error. */
  HAS_EXCEPTION_PREDICATE: (_error: unknown): boolean => true,
} as const;

class PredicatedStrategy<OUT> implements AsyncRetryStrategy<OUT> {
  constructor(
    private readonly maxAttempts: number,
    private readonly backoff: (currentAttempts: number) => number,
    private readonly onResult: ((results: readonly OUT[]) => boolean) | undefined,
    private readonly onException: ((error: unknown) => boolean) | undefined,
  ) {}
  canRetry(currentAttempts: number): boolean {
    return currentAttempts <= this.maxAttempts;
  }
  getBackoffTimeMillis(currentAttempts: number): number {
    return this.backoff(currentAttempts);
  }
  getRetryPredicate(): AsyncRetryPredicate<OUT> {
    return { resultPredicate: () => this.onResult, exceptionPredicate: () => this.onException };
  }
}

abstract class StrategyBuilder<OUT> {
  protected onResult: ((results: readonly OUT[]) => boolean) | undefined;
  protected onException: ((error: unknown) => boolean) | undefined;
  ifResult(predicate: (results: readonly OUT[]) => boolean): this {
    this.onResult = predicate;
    return this;
  }
  ifException(predicate: (error: unknown) => boolean): this {
    this.onException = predicate;
    return this;
  }
  abstract build(): AsyncRetryStrategy<OUT>;
}

function positive(value: number, what: string): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new UserError(`async retry strategy: ${what} should be greater than zero.`);
}

/** Up to `maxAttempts` retries, `backoffTimeMillis` apart. */
class FixedDelayRetryStrategyBuilder<OUT> extends StrategyBuilder<OUT> {
  constructor(
    private readonly maxAttempts: number,
    private readonly backoffTimeMillis: number,
  ) {
    super();
    positive(maxAttempts, 'maxAttempts');
    positive(backoffTimeMillis, 'backoffTimeMillis');
  }
  build(): AsyncRetryStrategy<OUT> {
    return new PredicatedStrategy<OUT>(this.maxAttempts, () => this.backoffTimeMillis, this.onResult, this.onException);
  }
}

/**
 * Up to `maxAttempts` retries; the wait after attempt n is initialDelay * multiplier^n, at most
 * maxRetryDelay. Per request (Flink keeps the last delay in the strategy, shared by every request
 * in flight; for one request in flight the delays are the same).
 */
class ExponentialBackoffDelayRetryStrategyBuilder<OUT> extends StrategyBuilder<OUT> {
  constructor(
    private readonly maxAttempts: number,
    private readonly initialDelay: number,
    private readonly maxRetryDelay: number,
    private readonly multiplier: number,
  ) {
    super();
    positive(maxAttempts, 'maxAttempts');
    positive(initialDelay, 'initialDelay');
    positive(maxRetryDelay, 'maxRetryDelay');
    positive(multiplier, 'multiplier');
  }
  build(): AsyncRetryStrategy<OUT> {
    const { initialDelay, maxRetryDelay, multiplier } = this;
    return new PredicatedStrategy<OUT>(this.maxAttempts, (n) => Math.min(Math.floor(initialDelay * multiplier ** n), maxRetryDelay), this.onResult, this.onException);
  }
}

const NO_RETRY_STRATEGY: AsyncRetryStrategy<never> = {
  canRetry: () => false,
  getBackoffTimeMillis: () => -1,
  getRetryPredicate: () => ({ resultPredicate: () => undefined, exceptionPredicate: () => undefined }),
};

/** `new AsyncRetryStrategies.FixedDelayRetryStrategyBuilder(3, 100).ifException(RetryPredicates.HAS_EXCEPTION_PREDICATE).build()`, as in Flink. */
export const AsyncRetryStrategies = { NO_RETRY_STRATEGY, FixedDelayRetryStrategyBuilder, ExponentialBackoffDelayRetryStrategyBuilder } as const;
