/**
 * The user's side of windows (Flink's ProcessWindowFunction and ProcessAllWindowFunction and
 * their Context): called each time a window fires (once per key and window with the default
 * triggers), with the window's elements, or with the one pre-aggregated value when it follows
 * an AggregateFunction or a reduce (as Flink passes an Iterable of one).
 */
import type { Collector, RichFunction } from './functions.ts';
import type { TimeWindow, Window } from './window.ts';

export interface ProcessWindowContext<W extends Window = TimeWindow> {
  readonly window: W;
  currentWatermark(): number;
  currentProcessingTime(): number;
}

export interface ProcessWindowFunction<IN, OUT, K, W extends Window = TimeWindow> extends RichFunction {
  process(key: K, context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void | Promise<void>;
}

export type ProcessWindowFunctionLike<IN, OUT, K, W extends Window = TimeWindow> =
  | ProcessWindowFunction<IN, OUT, K, W>
  | ((key: K, context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>) => void | Promise<void>);

/** windowAll's function: as ProcessWindowFunction, without a key. */
export interface ProcessAllWindowFunction<IN, OUT, W extends Window = TimeWindow> extends RichFunction {
  process(context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>): void | Promise<void>;
}

export type ProcessAllWindowFunctionLike<IN, OUT, W extends Window = TimeWindow> =
  | ProcessAllWindowFunction<IN, OUT, W>
  | ((context: ProcessWindowContext<W>, elements: readonly IN[], out: Collector<OUT>) => void | Promise<void>);

/** Told of each record dropped because every window it belongs to is past its allowed lateness. */
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
    };
  };
}
