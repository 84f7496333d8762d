/**
 * Flink's AsyncDataStream: turns a stream into the results of an AsyncFunction called per record,
 * with a timeout per request and at most `capacity` requests at a time (default 100, as Flink).
 *
 * The timeout is in milliseconds: `unorderedWait(stream, fn, 1000)`; Flink's `(timeout, TimeUnit)`
 * shape is accepted too: `unorderedWait(stream, fn, 1, TimeUnit.SECONDS, 100)`. A timeout of 0
 * (or less) means none, as in Flink.
 */
import { UserError } from '../../errors.ts';
import { AsyncWaitOperator, type AsyncOutputMode } from '../runtime/async-wait-operator.ts';
import type { StreamOperator } from '../runtime/stream-operator.ts';
import { type AsyncFunction, type AsyncInvoke, type TimeUnit, isTimeUnit, toMillis } from './async-function.ts';
import { type DataStream, KeyedStream, type SingleOutputStreamOperator } from './data-stream.ts';
import { perSubtask } from './functions.ts';
import type { AsyncRetryStrategy } from './async-retry.ts';
import type { Partitioning } from './stream-graph.ts';

export const DEFAULT_ASYNC_CAPACITY = 100;

/**
 * The function as an object (each subtask gets its own copy), a plain function that is its
 * `asyncInvoke`, or a factory without parameters called once per subtask (for classes with
 * #private fields, which a copy cannot have): `() => new PriceLookup()`.
 */
export type AsyncFunctionLike<IN, OUT> = AsyncFunction<IN, OUT> | AsyncInvoke<IN, OUT> | (() => AsyncFunction<IN, OUT>);

export class AsyncDataStream {
  /** Results in the order they complete, never across a watermark. */
  static unorderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeoutMs: number, capacity?: number): SingleOutputStreamOperator<OUT>;
  static unorderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unit: TimeUnit, capacity?: number): SingleOutputStreamOperator<OUT>;
  static unorderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unitOrCapacity?: TimeUnit | number, capacity?: number): SingleOutputStreamOperator<OUT> {
    return addOperator(stream, fn, 'UNORDERED', timeout, unitOrCapacity, capacity);
  }

  /** Results in the order of the input records. */
  static orderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeoutMs: number, capacity?: number): SingleOutputStreamOperator<OUT>;
  static orderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unit: TimeUnit, capacity?: number): SingleOutputStreamOperator<OUT>;
  static orderedWait<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unitOrCapacity?: TimeUnit | number, capacity?: number): SingleOutputStreamOperator<OUT> {
    return addOperator(stream, fn, 'ORDERED', timeout, unitOrCapacity, capacity);
  }

  /** unorderedWait, retrying an attempt whose results or error match the strategy (Flink's AsyncRetryStrategy). */
  static unorderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeoutMs: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static unorderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeoutMs: number, capacity: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static unorderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unit: TimeUnit, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static unorderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unit: TimeUnit, capacity: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static unorderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, ...rest: RetryArgs<OUT>): SingleOutputStreamOperator<OUT> {
    return addRetrying(stream, fn, 'UNORDERED', timeout, rest);
  }

  /** orderedWait, retrying an attempt whose results or error match the strategy (Flink's AsyncRetryStrategy). */
  static orderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeoutMs: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static orderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeoutMs: number, capacity: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static orderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unit: TimeUnit, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static orderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, unit: TimeUnit, capacity: number, retry: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT>;
  static orderedWaitWithRetry<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, timeout: number, ...rest: RetryArgs<OUT>): SingleOutputStreamOperator<OUT> {
    return addRetrying(stream, fn, 'ORDERED', timeout, rest);
  }
}

type RetryArgs<OUT> = [AsyncRetryStrategy<OUT>] | [number | TimeUnit, AsyncRetryStrategy<OUT>] | [TimeUnit, number, AsyncRetryStrategy<OUT>];

function addRetrying<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, mode: AsyncOutputMode, timeout: number, rest: RetryArgs<OUT>): SingleOutputStreamOperator<OUT> {
  const retry = rest.at(-1) as AsyncRetryStrategy<OUT>;
  const [unitOrCapacity, capacity] = rest.slice(0, -1) as [TimeUnit | number | undefined, number | undefined];
  return addOperator(stream, fn, mode, timeout, unitOrCapacity, capacity, retry);
}

/**
 * What DataStream.transform takes; protected there, so the API's own transformations stay the
 * only public way in. AsyncDataStream is one of them (Flink's is a static helper too).
 */
type Transform = <R>(name: string, create: () => StreamOperator, partitioning?: Partitioning, keyOf?: (value: unknown) => unknown) => SingleOutputStreamOperator<R>;

function addOperator<IN, OUT>(stream: DataStream<IN>, fn: AsyncFunctionLike<IN, OUT>, mode: AsyncOutputMode, timeout: number, unitOrCapacity: TimeUnit | number | undefined, capacityArg: number | undefined, retry?: AsyncRetryStrategy<OUT>): SingleOutputStreamOperator<OUT> {
  const withUnit = typeof unitOrCapacity === 'string';
  if (withUnit && !isTimeUnit(unitOrCapacity)) throw new UserError(`async wait operator: unknown time unit '${unitOrCapacity}': use one of MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS`);
  if (!Number.isFinite(timeout)) throw new UserError(`async wait operator: timeout ${timeout} is not a number of ${withUnit ? unitOrCapacity.toLowerCase() : 'milliseconds'}`);
  const timeoutMs = withUnit ? toMillis(timeout, unitOrCapacity) : timeout;
  const capacity = (withUnit ? capacityArg : unitOrCapacity) ?? DEFAULT_ASYNC_CAPACITY;
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new UserError(`async wait operator: capacity ${capacity} is not a whole number >= 1 (the number of concurrent async operations)`);
  if (retry !== undefined && !(timeoutMs > 0)) throw new UserError('async wait operator: Timeout should be configured when do async with retry. (give a timeout > 0: it covers every attempt)');
  const create = typeof fn !== 'function' ? perSubtask(fn) : fn.length === 0 ? () => fromFactory(fn as () => AsyncFunction<IN, OUT>) : (): AsyncFunction<IN, OUT> => ({ asyncInvoke: fn as AsyncInvoke<IN, OUT> });
  const operator = (): StreamOperator => new AsyncWaitOperator(create() as AsyncFunction<unknown, unknown>, timeoutMs, capacity, mode, retry as AsyncRetryStrategy<unknown> | undefined);
  const transform = (stream as unknown as { transform: Transform }).transform.bind(stream);
  // After keyBy, as Flink: the input is partitioned by the key and the operator runs keyed.
  if (stream instanceof KeyedStream) {
    const key = stream.key as (value: unknown) => unknown;
    return transform<OUT>('async wait operator', operator, { kind: 'hash', key }, key);
  }
  return transform<OUT>('async wait operator', operator);
}

/** An asyncInvoke takes its input, so a function without parameters is a factory; say so if it is not one. */
function fromFactory<IN, OUT>(factory: () => AsyncFunction<IN, OUT>): AsyncFunction<IN, OUT> {
  const made: unknown = factory();
  if (typeof (made as Partial<AsyncFunction<IN, OUT>> | null)?.asyncInvoke !== 'function') {
    throw new UserError('async wait operator: a function without parameters is taken as a factory of AsyncFunctions, and this one returned no object with asyncInvoke: declare the input parameter, (input, resultFuture) => ..., or return an AsyncFunction');
  }
  return made as AsyncFunction<IN, OUT>;
}
