/**
 * The user's side of Async I/O (Flink's AsyncFunction and ResultFuture): a function that starts
 * a request per record and completes a ResultFuture later, from any callback.
 */
import type { CheckpointListener, CheckpointedFunction, RichFunction } from './functions.ts';

/** Where an asynchronous request hands back its results (Flink's ResultFuture). */
export interface ResultFuture<OUT> {
  /** The results for the input (none, one or many). Only the first completion counts, as in Flink. */
  complete(results: Iterable<OUT>): void;
  /** Fails the job (its restart strategy decides what follows). */
  completeExceptionally(error: unknown): void;
}

/**
 * Flink's AsyncFunction / RichAsyncFunction. Its runtime context refuses keyed state, as Flink's
 * does; operator state (CheckpointedFunction) works as for any function.
 */
export interface AsyncFunction<IN, OUT> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  /**
   * Starts the request for `input`. Complete `resultFuture` when it answers; or, as a
   * TypeScript convenience, return a promise of the results (a rejected promise fails the
   * request; a promise of `undefined` leaves the completion to `resultFuture`).
   */
  asyncInvoke(input: IN, resultFuture: ResultFuture<OUT>): void | Promise<Iterable<OUT> | void>;
  /**
   * The request did not complete within the operator's timeout. Without this method the job
   * fails with Flink's TimeoutException ("Async function call has timed out.").
   */
  timeout?(input: IN, resultFuture: ResultFuture<OUT>): void | Promise<void>;
}

/** A plain function is the `asyncInvoke` of an AsyncFunction. */
export type AsyncInvoke<IN, OUT> = AsyncFunction<IN, OUT>['asyncInvoke'];

/** Flink's java.util.concurrent.TimeoutException, with its name, for the default `timeout`. */
export class TimeoutException extends Error {
  override readonly name: string = 'TimeoutException';
}

/** The units of Flink's `(timeout, TimeUnit)` arguments, so a Flink call translates line by line. */
export const TimeUnit = {
  MILLISECONDS: 'MILLISECONDS',
  SECONDS: 'SECONDS',
  MINUTES: 'MINUTES',
  HOURS: 'HOURS',
  DAYS: 'DAYS',
} as const;
export type TimeUnit = (typeof TimeUnit)[keyof typeof TimeUnit];

const MS_PER_UNIT: Readonly<Record<TimeUnit, number>> = { MILLISECONDS: 1, SECONDS: 1000, MINUTES: 60_000, HOURS: 3_600_000, DAYS: 86_400_000 };

export function toMillis(amount: number, unit: TimeUnit): number {
  return amount * MS_PER_UNIT[unit];
}

export function isTimeUnit(value: unknown): value is TimeUnit {
  return typeof value === 'string' && Object.hasOwn(MS_PER_UNIT, value);
}
