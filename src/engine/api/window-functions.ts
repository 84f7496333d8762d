/**
 * The user's side of windows (Flink's ProcessWindowFunction and its Context): called once per key
 * and window when the window fires, with the window's elements, or with the one pre-aggregated
 * value when it follows an AggregateFunction or a reduce (as Flink passes an Iterable of one).
 */
import type { Collector, RichFunction } from './functions.ts';
import type { SideOutputContext } from './output-tag.ts';
import type { TimeWindow } from './window-assigners.ts';

/** `output(tag, value)` emits to a side output, with the window's maxTimestamp (end - 1) as Flink. */
export interface ProcessWindowContext extends SideOutputContext {
  readonly window: TimeWindow;
  currentWatermark(): number;
  currentProcessingTime(): number;
}

export interface ProcessWindowFunction<IN, OUT, K> extends RichFunction {
  process(key: K, context: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>): void | Promise<void>;
}

export type ProcessWindowFunctionLike<IN, OUT, K> =
  | ProcessWindowFunction<IN, OUT, K>
  | ((key: K, context: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>) => void | Promise<void>);

/** Told of each late record (every window it belongs to has fired already), dropped or sent to the late-data side output. */
export type LateRecordListener<T> = (value: T, timestamp: number, watermark: number) => void;

export function asProcessWindowFunction<IN, OUT, K>(fn: ProcessWindowFunctionLike<IN, OUT, K>): () => ProcessWindowFunction<IN, OUT, K> {
  if (typeof fn === 'function') return () => ({ process: fn });
  // Each subtask its own copy, as for every rich function (functions.ts, perSubtask).
  return () => Object.create(fn) as ProcessWindowFunction<IN, OUT, K>;
}
