/**
 * A keyed stream cut into windows (Flink's WindowedStream): the assigner says which windows a
 * record belongs to; `trigger`, `evictor` and `allowedLateness` say when they fire and how long
 * they take late records; `aggregate`, `reduce` or `process` says what each key's window
 * computes. A window's result is emitted with timestamp `end - 1` each time it fires.
 */
import { UserError } from '../../errors.ts';
import { WindowOperator, type WindowContents } from '../runtime/window-operator.ts';
import type { StreamOperator } from '../runtime/stream-operator.ts';
import type { SingleOutputStreamOperator } from './data-stream.ts';
import type { Evictor } from './evictors.ts';
import { fieldReducer } from './field-aggregations.ts';
import { type AggregateFunction, type ReduceFunction, asReduce, perSubtask } from './functions.ts';
import { type OutputTag, tagId } from './output-tag.ts';
import type { Trigger } from './trigger.ts';
import type { TimeWindow, Window } from './window.ts';
import type { WindowAssigner } from './window-assigners.ts';
import { type LateRecordListener, type ProcessWindowFunction, type ProcessWindowFunctionLike, asProcessWindowFunction } from './window-functions.ts';

/** Adds the keyed window operator to the graph (KeyedStream's keyed transform). */
export type KeyedTransform = (name: string, create: () => StreamOperator) => SingleOutputStreamOperator<unknown>;

export interface WindowSettings<T, W extends Window> {
  readonly trigger?: Trigger<T, W>;
  readonly evictor?: Evictor<T, W>;
  readonly allowedLateness?: number;
  readonly lateRecords?: LateRecordListener<T>;
  /** sideOutputLateData's tag id. */
  readonly lateDataTag?: string;
}

export class WindowedStream<T, K, W extends Window = TimeWindow> {
  constructor(
    readonly assigner: WindowAssigner<W>,
    private readonly transform: KeyedTransform,
    private readonly settings: WindowSettings<T, W> = {},
  ) {}

  #with(settings: WindowSettings<T, W>): WindowedStream<T, K, W> {
    return new WindowedStream<T, K, W>(this.assigner, this.transform, { ...this.settings, ...settings });
  }

  /** Fires by this trigger instead of the assigner's default (Flink's WindowedStream.trigger). */
  trigger(trigger: Trigger<T, W> | Trigger<unknown, Window>): WindowedStream<T, K, W> {
    return this.#with({ trigger: trigger as Trigger<T, W> });
  }

  /** Removes elements before/after the function runs; the window then keeps all its elements. */
  evictor(evictor: Evictor<T, W> | Evictor<unknown, Window>): WindowedStream<T, K, W> {
    return this.#with({ evictor: evictor as Evictor<T, W> });
  }

  /**
   * Late records (every window they belong to is past its allowed lateness) go to this side
   * output instead of being dropped (Flink's sideOutputLateData): `getSideOutput(tag)` on the
   * window's result stream.
   */
  sideOutputLateData(tag: OutputTag<T>): WindowedStream<T, K, W> {
    return this.#with({ lateDataTag: tagId(tag) });
  }

  /**
   * Event-time windows keep their state `ms` after the watermark passed their end: a record
   * arriving then updates its window and fires it again (EventTimeTrigger); only later records
   * are late. Default 0.
   */
  allowedLateness(ms: number): WindowedStream<T, K, W> {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new UserError(`allowedLateness: the lateness must be a whole number of ms >= 0, not ${ms}`);
    if (ms > 0 && !this.assigner.isEventTime()) throw new UserError(`allowedLateness applies to event-time windows only; ${this.assigner.toString()} has no late records (remove allowedLateness)`);
    return this.#with({ allowedLateness: ms });
  }

  /**
   * Called for every late record (all its windows are past their allowed lateness), in the
   * subtask that finds it late; the operator counts those it drops. For a stream of them, use
   * sideOutputLateData.
   */
  onLateRecord(listener: LateRecordListener<T>): WindowedStream<T, K, W> {
    return this.#with({ lateRecords: listener });
  }

  /** Incremental aggregation: one accumulator per key and window; emits getResult(acc). */
  aggregate<ACC, V>(aggregate: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  /** Incremental aggregation, then the window function gets [getResult(acc)] with the key and window. */
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, windowFunction: ProcessWindowFunctionLike<V, R, K, W>): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, windowFunction?: ProcessWindowFunctionLike<V, R, K, W>): SingleOutputStreamOperator<V | R> {
    const create = perSubtask(aggregate as AggregateFunction<unknown, unknown, unknown>);
    return this.build<V | R>('aggregate', () => ({ kind: 'aggregate', aggregate: create() }), windowFunction === undefined ? undefined : asProcessWindowFunction(windowFunction));
  }

  /** Incremental reduce: one value per key and window. */
  reduce(fn: ReduceFunction<T> | ((a: T, b: T) => T)): SingleOutputStreamOperator<T>;
  reduce<R>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFunction: ProcessWindowFunctionLike<T, R, K, W>): SingleOutputStreamOperator<R>;
  reduce<R>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFunction?: ProcessWindowFunctionLike<T, R, K, W>): SingleOutputStreamOperator<T | R> {
    const reducer = asReduce(fn);
    return this.build<T | R>('reduce', () => ({ kind: 'reduce', reduce: (a, b) => reducer.reduce(a as T, b as T) }), windowFunction === undefined ? undefined : asProcessWindowFunction(windowFunction));
  }

  /** The first record of the window with `field` summed over the window (Flink's sum(field)). */
  sum(field: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('sum', field));
  }
  /** The first record with `field` the window's smallest (Flink's min: other fields from the first record). */
  min(field: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('min', field));
  }
  max(field: keyof T & string): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('max', field));
  }
  /** The record with the smallest `field` (the first of equal ones, unless `first` is false). */
  minBy(field: keyof T & string, first = true): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('minBy', field, first));
  }
  maxBy(field: keyof T & string, first = true): SingleOutputStreamOperator<T> {
    return this.reduce(fieldReducer<T>('maxBy', field, first));
  }

  /** Keeps every element of a window and hands them all to the function when it fires. */
  process<R>(windowFunction: ProcessWindowFunctionLike<T, R, K, W>): SingleOutputStreamOperator<R> {
    return this.build<R>('process', () => ({ kind: 'elements' }), asProcessWindowFunction(windowFunction));
  }

  /** For AllWindowedStream: the same operator with a function made per subtask by the caller. */
  build<R>(what: string, contents: () => WindowContents, createFunction: (() => ProcessWindowFunction<never, unknown, never, W>) | undefined): SingleOutputStreamOperator<R> {
    const { trigger, evictor, allowedLateness, lateRecords, lateDataTag } = this.settings;
    const assigner = this.assigner as WindowAssigner<Window>;
    // The default trigger is not named, so plans read as before triggers existed.
    const parts = [assigner.toString(), ...(trigger === undefined ? [] : [trigger.toString()]), ...(evictor === undefined ? [] : [evictor.toString?.() ?? 'Evictor']), what];
    const name = `Window(${parts.join(', ')})`;
    const create = (): WindowOperator => {
      const fn = createFunction?.() as ProcessWindowFunction<unknown, unknown, unknown, Window> | undefined;
      return new WindowOperator({
        assigner,
        contents: contents(),
        ...(trigger === undefined ? {} : { trigger: trigger as Trigger<unknown, Window> }),
        ...(evictor === undefined ? {} : { evictor: evictor as Evictor<unknown, Window> }),
        ...(allowedLateness === undefined ? {} : { allowedLateness }),
        ...(fn === undefined ? {} : { windowFunction: fn }),
        ...(lateRecords === undefined ? {} : { onLateRecord: lateRecords as LateRecordListener<unknown> }),
        ...(lateDataTag === undefined ? {} : { lateDataTag }),
      });
    };
    create(); // refuses a bad combination (a merging assigner with a trigger that cannot merge) where the job is built
    const node = this.transform(name, create);
    return node as SingleOutputStreamOperator<unknown> as SingleOutputStreamOperator<R>;
  }
}
