/**
 * Windows over a whole non-keyed stream (Flink's AllWindowedStream, from `windowAll` and
 * `countWindowAll`): every record goes to one window operator of parallelism 1 (Flink keys the
 * stream by a constant and forces the operator non-parallel; so does this engine, so its state is
 * keyed state of one key, checkpointed and restored like any window's).
 */
import type { OutputTag } from './output-tag.ts';
import type { SingleOutputStreamOperator } from './data-stream.ts';
import type { Evictor } from './evictors.ts';
import { fieldReducer } from './field-aggregations.ts';
import { type AggregateFunction, type ReduceFunction, asReduce, perSubtask } from './functions.ts';
import type { Trigger } from './trigger.ts';
import type { TimeWindow, Window } from './window.ts';
import { type LateRecordListener, type ProcessAllWindowFunctionLike, keyedFromAll } from './window-functions.ts';
import type { WindowedStream } from './windowed-stream.ts';

export class AllWindowedStream<T, W extends Window = TimeWindow> {
  constructor(private readonly windowed: WindowedStream<T, unknown, W>) {}

  trigger(trigger: Trigger<T, W> | Trigger<unknown, Window>): AllWindowedStream<T, W> {
    return new AllWindowedStream(this.windowed.trigger(trigger));
  }

  evictor(evictor: Evictor<T, W> | Evictor<unknown, Window>): AllWindowedStream<T, W> {
    return new AllWindowedStream(this.windowed.evictor(evictor));
  }

  allowedLateness(ms: number): AllWindowedStream<T, W> {
    return new AllWindowedStream(this.windowed.allowedLateness(ms));
  }

  onLateRecord(listener: LateRecordListener<T>): AllWindowedStream<T, W> {
    return new AllWindowedStream(this.windowed.onLateRecord(listener));
  }

  /** Late records go to this side output instead of being dropped (Flink's sideOutputLateData). */
  sideOutputLateData(tag: OutputTag<T>): AllWindowedStream<T, W> {
    return new AllWindowedStream(this.windowed.sideOutputLateData(tag));
  }

  aggregate<ACC, V>(aggregate: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, windowFunction: ProcessAllWindowFunctionLike<V, R, W>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, windowFunction?: ProcessAllWindowFunctionLike<V, R, W>): SingleOutputStreamOperator<V | R> {
    const create = perSubtask(aggregate as AggregateFunction<unknown, unknown, unknown>);
    return this.windowed.build<V | R>('aggregate', () => ({ kind: 'aggregate', aggregate: create() }), windowFunction === undefined ? undefined : keyedFromAll(windowFunction)).forceNonParallel();
  }

  reduce(fn: ReduceFunction<T> | ((a: T, b: T) => T)): SingleOutputStreamOperator<T>;
  reduce<R>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFunction: ProcessAllWindowFunctionLike<T, R, W>): SingleOutputStreamOperator<R>;
  reduce<R>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFunction?: ProcessAllWindowFunctionLike<T, R, W>): SingleOutputStreamOperator<T | R> {
    const reducer = asReduce(fn);
    return this.windowed.build<T | R>('reduce', () => ({ kind: 'reduce', reduce: (a, b) => reducer.reduce(a as T, b as T) }), windowFunction === undefined ? undefined : keyedFromAll(windowFunction)).forceNonParallel();
  }

  sum(field: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('sum', field));
  }
  min(field: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('min', field));
  }
  max(field: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('max', field));
  }
  minBy(field: keyof T & string, first = true): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('minBy', field, first));
  }
  maxBy(field: keyof T & string, first = true): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('maxBy', field, first));
  }

  process<R>(windowFunction: ProcessAllWindowFunctionLike<T, R, W>): SingleOutputStreamOperator<R> {
    return this.windowed.build<R>('process', () => ({ kind: 'elements' }), keyedFromAll(windowFunction)).forceNonParallel();
  }
}
