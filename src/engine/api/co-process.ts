/**
 * Two streams into one operator (Flink's connect + CoProcessFunction): records of the first
 * input go to processElement1, of the second to processElement2; keyed, both are partitioned by
 * their own key selector so equal keys meet in one subtask and share keyed state and timers
 * (Flink's KeyedCoProcessFunction). The operator's watermark is the minimum over both inputs.
 */
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { TimeDomain, TimerService } from './timer-service.ts';
import type { SideOutputContext } from './output-tag.ts';
import { TimerOperator } from './timer-operator.ts';

/** `output(tag, value)` emits to a side output (getSideOutput(tag) on the operator). */
export interface CoProcessContext extends SideOutputContext {
  /** The record's timestamp (in onTimer: the timer's), or null when it has none. */
  readonly timestamp: number | null;
  /** The current key, when the connected streams are keyed. */
  getCurrentKey(): unknown;
  /** Timers of the current key; only when the connected streams are keyed (as in Flink). */
  timerService(): TimerService;
}

export interface CoProcessOnTimerContext extends CoProcessContext {
  timeDomain(): TimeDomain;
}

export interface CoProcessFunction<IN1, IN2, OUT> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement1(value: IN1, context: CoProcessContext, out: Collector<OUT>): void | Promise<void>;
  processElement2(value: IN2, context: CoProcessContext, out: Collector<OUT>): void | Promise<void>;
  onTimer?(timestamp: number, context: CoProcessOnTimerContext, out: Collector<OUT>): void | Promise<void>;
}

export class CoProcessOperator extends TimerOperator {
  constructor(private readonly fn: CoProcessFunction<unknown, unknown, unknown>) {
    super(fn);
  }

  protected processElement(value: unknown, input: number): void | Promise<void> {
    return input === 0 ? this.fn.processElement1(value, this.context, this.collector) : this.fn.processElement2(value, this.context, this.collector);
  }
}
