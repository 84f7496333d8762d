/**
 * KeyedProcessFunction: per-record access to the key, keyed state and timers (Flink's
 * KeyedProcessFunction and KeyedProcessOperator). Timers are per key and deduplicated; `onTimer`
 * runs with the timer's key as the current key, so keyed state reads that key's values.
 * Records emitted from an event-time timer carry the timer's timestamp; from a processing-time
 * timer, none (as Flink erases it).
 */
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { TimeDomain, TimerService } from './timer-service.ts';
import type { SideOutputContext } from './output-tag.ts';
import { TimerOperator } from './timer-operator.ts';

export type { TimeDomain, TimerService } from './timer-service.ts';

/** `output(tag, value)` emits to a side output (getSideOutput(tag) on the operator). */
export interface KeyedProcessContext<K> extends SideOutputContext {
  /** The record's timestamp (in onTimer: the timer's), or null when it has none. */
  readonly timestamp: number | null;
  getCurrentKey(): K;
  timerService(): TimerService;
}

export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): TimeDomain;
}

export interface KeyedProcessFunction<K, T, R> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement(value: T, context: KeyedProcessContext<K>, out: Collector<R>): void | Promise<void>;
  /** A timer of the current key fired (timestamp <= watermark, or wall clock >= timestamp). */
  onTimer?(timestamp: number, context: OnTimerContext<K>, out: Collector<R>): void | Promise<void>;
}

export class KeyedProcessOperator extends TimerOperator {
  constructor(private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    super(fn);
  }

  protected processElement(value: unknown): void | Promise<void> {
    return this.fn.processElement(value, this.context, this.collector);
  }
}
