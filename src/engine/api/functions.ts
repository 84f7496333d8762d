/**
 * The user's functions, as in Flink's DataStream API: each may be a plain function or an object
 * (a "rich" function) that also has `open`/`close` and sees its runtime context.
 */
import type { RuntimeContext } from './runtime-context.ts';

export interface RichFunction {
  open?(context: RuntimeContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface MapFunction<T, R> extends RichFunction {
  map(value: T): R;
}
export interface FilterFunction<T> extends RichFunction {
  filter(value: T): boolean;
}
export interface FlatMapFunction<T, R> extends RichFunction {
  flatMap(value: T, out: Collector<R>): void;
}
export interface ReduceFunction<T> {
  reduce(a: T, b: T): T;
}
export type { AggregateFunction } from '../state/state-descriptors.ts';
export type KeySelector<T, K> = (value: T) => K;

export interface Collector<T> {
  collect(value: T): void;
}

/** Snapshot and restore of a function's own operator state (Flink's CheckpointedFunction). */
export interface CheckpointedFunction {
  snapshotState(context: { readonly checkpointId: number }): void | Promise<void>;
  /** Called before `open`: register operator state here and read what was restored. */
  initializeState(context: { readonly isRestored: boolean; readonly runtime: RuntimeContext }): void | Promise<void>;
}

/** Told when a checkpoint this subtask took part in completed or was aborted. */
export interface CheckpointListener {
  notifyCheckpointComplete(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
}

export function asMap<T, R>(fn: MapFunction<T, R> | ((value: T) => R)): () => MapFunction<T, R> {
  return typeof fn === 'function' ? () => ({ map: fn }) : perSubtask(fn);
}
export function asFilter<T>(fn: FilterFunction<T> | ((value: T) => boolean)): () => FilterFunction<T> {
  return typeof fn === 'function' ? () => ({ filter: fn }) : perSubtask(fn);
}
export function asFlatMap<T, R>(fn: FlatMapFunction<T, R> | ((value: T, out: Collector<R>) => void)): () => FlatMapFunction<T, R> {
  return typeof fn === 'function' ? () => ({ flatMap: fn }) : perSubtask(fn);
}
export function asReduce<T>(fn: ReduceFunction<T> | ((a: T, b: T) => T)): ReduceFunction<T> {
  return typeof fn === 'function' ? { reduce: fn } : fn;
}

/**
 * Each parallel subtask gets its own function object, as each Flink subtask gets its own
 * deserialized copy: a factory is called per subtask; an object gets a per-subtask copy whose
 * fields start from the object's (use a factory for classes with #private fields).
 */
export function perSubtask<F extends object>(fn: F | (() => F)): () => F {
  if (typeof fn === 'function') return fn as () => F;
  return () => Object.create(fn) as F;
}
