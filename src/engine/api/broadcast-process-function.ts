/**
 * The functions of the broadcast state pattern, as Flink's BroadcastProcessFunction and
 * KeyedBroadcastProcessFunction: one input is a stream broadcast to every subtask (rules,
 * thresholds, configuration), the other is the data. `processBroadcastElement` sees the broadcast
 * state writable, and on a keyed stream may visit every key's keyed state
 * (`applyToKeyedState`); `processElement` (and `onTimer`) sees it read-only, since each subtask
 * must hold the same broadcast state and only the broadcast side reaches every subtask alike.
 */
import type { BroadcastState } from '../state/operator-state-store.ts';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/keyed-state-handles.ts';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../state/state-descriptors.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { TimeDomain, TimerService } from './timer-service.ts';
import type { SideOutputContext } from './output-tag.ts';

/** Flink's ReadOnlyBroadcastState: what `processElement` may do with broadcast state. */
export interface ReadOnlyBroadcastState<K, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  /** The entries; change broadcast state only in processBroadcastElement. */
  immutableEntries(): IterableIterator<readonly [K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
}

/** What both sides' contexts share (Flink's BaseBroadcastProcessFunction.ReadOnlyContext), side outputs included. */
interface BroadcastTimeContext extends SideOutputContext {
  /** The record's timestamp (in onTimer: the timer's), or null when it has none. */
  readonly timestamp: number | null;
  currentProcessingTime(): number;
  /** The operator's current event time: the minimum over both inputs; -Infinity before the first watermark. */
  currentWatermark(): number;
}

/** processElement's context: broadcast state read-only. */
export interface BroadcastReadOnlyContext extends BroadcastTimeContext {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V>;
}

/** processBroadcastElement's context: broadcast state writable. */
export interface BroadcastContext extends BroadcastTimeContext {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>;
}

export interface BroadcastProcessFunction<IN1, IN2, OUT> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement(value: IN1, context: BroadcastReadOnlyContext, out: Collector<OUT>): void | Promise<void>;
  processBroadcastElement(value: IN2, context: BroadcastContext, out: Collector<OUT>): void | Promise<void>;
}

export interface KeyedBroadcastReadOnlyContext<K> extends BroadcastReadOnlyContext {
  getCurrentKey(): K;
  /** Timers of the current key; they fire `onTimer`. */
  timerService(): TimerService;
}

export interface KeyedBroadcastOnTimerContext<K> extends KeyedBroadcastReadOnlyContext<K> {
  timeDomain(): TimeDomain;
}

/** The keyed state handle a descriptor gives. */
export type StateFor<D> =
  D extends ValueStateDescriptor<infer T>
    ? ValueState<T>
    : D extends ListStateDescriptor<infer T>
      ? ListState<T>
      : D extends MapStateDescriptor<infer UK, infer UV>
        ? MapState<UK, UV>
        : D extends ReducingStateDescriptor<infer T>
          ? ReducingState<T>
          : D extends AggregatingStateDescriptor<infer IN, infer _ACC, infer OUT>
            ? AggregatingState<IN, OUT>
            : never;

export type KeyedStateDescriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | MapStateDescriptor<unknown, unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>;

export interface KeyedBroadcastContext<K> extends BroadcastContext {
  /**
   * Calls `fn` once for every key of this subtask that has a value in the state `descriptor`
   * names, with that key's state (Flink's applyToKeyedState with a KeyedStateFunction). The keys
   * are collected first, so `fn` may change or clear the state it is given.
   */
  applyToKeyedState<D extends KeyedStateDescriptor>(descriptor: D, fn: (key: K, state: StateFor<D>) => void): void;
}

export interface KeyedBroadcastProcessFunction<K, IN1, IN2, OUT> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement(value: IN1, context: KeyedBroadcastReadOnlyContext<K>, out: Collector<OUT>): void | Promise<void>;
  processBroadcastElement(value: IN2, context: KeyedBroadcastContext<K>, out: Collector<OUT>): void | Promise<void>;
  /** A timer of the current key fired; broadcast state is read-only here too. */
  onTimer?(timestamp: number, context: KeyedBroadcastOnTimerContext<K>, out: Collector<OUT>): void | Promise<void>;
}
