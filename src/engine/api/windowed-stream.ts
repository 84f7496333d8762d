/**
 * A keyed stream cut into event-time windows (Flink's WindowedStream): `aggregate`, `reduce` or
 * `process` says what each key's window computes; the result of a window is emitted once, when
 * the watermark passes its end, with timestamp `end - 1`.
 */
import { WindowOperator, type WindowContents } from '../runtime/window-operator.ts';
import type { StreamOperator } from '../runtime/stream-operator.ts';
import type { SingleOutputStreamOperator } from './data-stream.ts';
import { type AggregateFunction, type ReduceFunction, asReduce, perSubtask } from './functions.ts';
import { type OutputTag, tagId } from './output-tag.ts';
import type { WindowAssigner } from './window-assigners.ts';
import { type LateRecordListener, type ProcessWindowFunction, type ProcessWindowFunctionLike, asProcessWindowFunction } from './window-functions.ts';

/** Adds the keyed window operator to the graph (KeyedStream's keyed transform). */
export type KeyedTransform = (name: string, create: () => StreamOperator) => SingleOutputStreamOperator<unknown>;

export class WindowedStream<T, K> {
  constructor(
    readonly assigner: WindowAssigner,
    private readonly transform: KeyedTransform,
    private readonly lateRecords?: LateRecordListener<T>,
    private readonly lateDataTag?: OutputTag<T>,
  ) {}

  /**
   * Late records (every window they belong to has fired) go to this side output instead of being
   * dropped (Flink's sideOutputLateData): `getSideOutput(tag)` on the window's result stream.
   */
  sideOutputLateData(tag: OutputTag<T>): WindowedStream<T, K> {
    tagId(tag);
    return new WindowedStream<T, K>(this.assigner, this.transform, this.lateRecords, tag);
  }

  /**
   * Called for every record dropped as late (all its windows fired already), in the subtask that
   * finds it late; the operator counts those it drops. For a stream of them, use
   * sideOutputLateData.
   */
  onLateRecord(listener: LateRecordListener<T>): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.assigner, this.transform, listener, this.lateDataTag);
  }

  /** Incremental aggregation: one accumulator per key and window; emits getResult(acc). */
  aggregate<ACC, V>(aggregate: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  /** Incremental aggregation, then the window function gets [getResult(acc)] with the key and window. */
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, windowFunction: ProcessWindowFunctionLike<V, R, K>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, windowFunction?: ProcessWindowFunctionLike<V, R, K>): SingleOutputStreamOperator<V | R> {
    const create = perSubtask(aggregate as AggregateFunction<unknown, unknown, unknown>);
    return this.#build<V | R>('aggregate', () => ({ kind: 'aggregate', aggregate: create() }), windowFunction);
  }

  /** Incremental reduce: one value per key and window. */
  reduce(fn: ReduceFunction<T> | ((a: T, b: T) => T)): SingleOutputStreamOperator<T>;
  reduce<R>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFunction: ProcessWindowFunctionLike<T, R, K>): SingleOutputStreamOperator<R>;
  reduce<R>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFunction?: ProcessWindowFunctionLike<T, R, K>): SingleOutputStreamOperator<T | R> {
    const reducer = asReduce(fn);
    return this.#build<T | R>('reduce', () => ({ kind: 'reduce', reduce: (a, b) => reducer.reduce(a as T, b as T) }), windowFunction);
  }

  /** Keeps every element of a window and hands them all to the function when it fires. */
  process<R>(windowFunction: ProcessWindowFunctionLike<T, R, K>): SingleOutputStreamOperator<R> {
    return this.#build<R>('process', () => ({ kind: 'elements' }), windowFunction);
  }

  #build<R>(what: string, contents: () => WindowContents, windowFunction: ProcessWindowFunctionLike<never, unknown, K> | undefined): SingleOutputStreamOperator<R> {
    const createFunction = windowFunction === undefined ? undefined : asProcessWindowFunction(windowFunction as ProcessWindowFunctionLike<unknown, unknown, unknown>);
    const late = this.lateRecords as LateRecordListener<unknown> | undefined;
    const assigner = this.assigner;
    const lateTag = this.lateDataTag?.id;
    const node = this.transform(`Window(${assigner.toString()}, ${what})`, () => {
      const fn: ProcessWindowFunction<unknown, unknown, unknown> | undefined = createFunction?.();
      return new WindowOperator({ assigner, contents: contents(), ...(fn === undefined ? {} : { windowFunction: fn }), ...(late === undefined ? {} : { onLateRecord: late }), ...(lateTag === undefined ? {} : { lateDataTag: lateTag }) });
    });
    return node as SingleOutputStreamOperator<unknown> as SingleOutputStreamOperator<R>;
  }
}
