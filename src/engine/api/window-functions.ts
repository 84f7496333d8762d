/**
 * The user's side of windows (Flink's ProcessWindowFunction and ProcessAllWindowFunction and
 * their Context): called each time a window fires (once per key and window with the default
 * triggers), with the window's elements, or with the one pre-aggregated value when it follows
 * an AggregateFunction or a reduce (as Flink passes an Iterable of one).
 */
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/keyed-state-handles.ts';
import type { AggregatingStateDescriptor, ListStateDescriptor, MapStateDescriptor, ReducingStateDescriptor, ValueStateDescriptor } from '../state/state-descriptors.ts';
import type { Collector, RichFunction } from './functions.ts';
import type { SideOutputContext } from './output-tag.ts';
import type { TimeWindow, Window } from './window.ts';

/** Flink's KeyedStateStore: keyed state handles, here of the current key (and window). */
export interface KeyedStateStore {
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  /** Global state only: per-window map state is refused. */
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
}

/** `output(tag, value)` emits to a side output, with the window's maxTimestamp (end - 1) as Flink. */
export interface ProcessWindowContext<W extends Window = TimeWindow> extends SideOutputContext {
  readonly window: W;
  currentWatermark(): number;
  currentProcessingTime(): number;
  /**
   * State of the current key in this window (Flink's windowState()). Clear it in the function's
   * `clear(context)`, which runs when the window is cleaned up. Not for merging (session) windows.
   */
  windowState(): KeyedStateStore;
  /** State of the current key across its windows (Flink's globalState()). */
  globalState(): KeyedStateStore;
}

export interface ProcessWindowFunction<IN, OUT, K, W extends Window = TimeWindow> extends RichFunction {
  process(key: K, context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void | Promise<void>;
  /** The window is cleaned up (its end plus allowed lateness passed): delete its windowState() here. */
  clear?(context: ProcessWindowContext<W>): void;
}

export type ProcessWindowFunctionLike<IN, OUT, K, W extends Window = TimeWindow> =
  | ProcessWindowFunction<IN, OUT, K, W>
  | ((key: K, context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>) => void | Promise<void>);

/** windowAll's function: as ProcessWindowFunction, without a key. */
export interface ProcessAllWindowFunction<IN, OUT, W extends Window = TimeWindow> extends RichFunction {
  process(context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void | Promise<void>;
  clear?(context: ProcessWindowContext<W>): void;
}

export type ProcessAllWindowFunctionLike<IN, OUT, W extends Window = TimeWindow> =
  | ProcessAllWindowFunction<IN, OUT, W>
  | ((context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>) => void | Promise<void>);

/** Told of each late record (every window it belongs to is past its allowed lateness), dropped or sent to the late-data side output. */
export type LateRecordListener<T> = (value: T, timestamp: number, watermark: number) => void;

export function asProcessWindowFunction<IN, OUT, K, W extends Window>(fn: ProcessWindowFunctionLike<IN, OUT, K, W>): () => ProcessWindowFunction<IN, OUT, K, W> {
  if (typeof fn === 'function') return () => ({ process: fn });
  // Each subtask its own copy, as for every rich function (functions.ts, perSubtask).
  return () => Object.create(fn) as ProcessWindowFunction<IN, OUT, K, W>;
}

/** A ProcessAllWindowFunction as the keyed operator calls it (the key, always the same, dropped); one per subtask. */
export function keyedFromAll<IN, OUT, W extends Window>(fn: ProcessAllWindowFunctionLike<IN, OUT, W>): () => ProcessWindowFunction<IN, OUT, unknown, W> {
  if (typeof fn === 'function') return () => ({ process: (_key, context, elements, out) => fn(context, elements, out) });
  return () => {
    const own = Object.create(fn) as ProcessAllWindowFunction<IN, OUT, W>;
    return {
      open: (context) => own.open?.(context),
      close: () => own.close?.(),
      process: (_key, context, elements, out) => own.process(context, elements, out),
      clear: (context) => own.clear?.(context),
    };
  };
}
