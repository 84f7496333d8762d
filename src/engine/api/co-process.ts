/**
 * Two streams into one operator (Flink's connect + CoProcessFunction): records of the first
 * input go to processElement1, of the second to processElement2; keyed, both are partitioned by
 * their own key selector so equal keys meet in one subtask and share keyed state and timers
 * (Flink's KeyedCoProcessFunction). The operator's watermark is the minimum over both inputs.
 */
import { UserError } from '../../errors.ts';
import { InternalTimerService } from '../runtime/internal-timer-service.ts';
import type { OperatorSetup, Output, StreamOperator } from '../runtime/stream-operator.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { RuntimeContext } from './runtime-context.ts';
import type { TimeDomain, TimerService } from './timer-service.ts';

export interface CoProcessContext {
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

export class CoProcessOperator implements StreamOperator {
  #output!: Output;
  #context!: RuntimeContext;
  #timers: InternalTimerService | undefined;
  #timestamp: number | null = null;
  #domain: TimeDomain = 'EVENT_TIME';
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#timestamp) };
  readonly #coContext: CoProcessOnTimerContext;

  constructor(private readonly fn: CoProcessFunction<unknown, unknown, unknown>) {
    const self = this;
    this.#coContext = {
      get timestamp() {
        return self.#timestamp;
      },
      getCurrentKey: () => self.#context.getCurrentKey(),
      timerService: () => {
        if (self.#timers === undefined) throw new UserError(`operator '${self.#context.operatorUid}': setting timers is only supported on keyed streams: connect(...).keyBy(...)`);
        return self.#timers;
      },
      timeDomain: () => self.#domain,
    };
  }

  async open(setup: OperatorSetup): Promise<void> {
    this.#output = setup.output;
    this.#context = setup.context;
    if (setup.keyedBackend !== undefined) {
      this.#timers = new InternalTimerService(setup.keyedBackend, setup.processingTime, (timestamp, domain) => this.#onTimer(timestamp, domain));
    }
    await this.fn.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    this.#timers?.open();
    await this.fn.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null, input: number): void | Promise<void> {
    this.#timestamp = timestamp;
    return input === 0 ? this.fn.processElement1(value, this.#coContext, this.#collector) : this.fn.processElement2(value, this.#coContext, this.#collector);
  }

  async processWatermark(timestamp: number): Promise<void> {
    await this.#timers?.advanceWatermark(timestamp);
    this.#output.emitWatermark(timestamp);
  }

  async snapshotState(checkpointId: number): Promise<void> {
    await this.fn.snapshotState?.({ checkpointId });
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.fn.notifyCheckpointComplete?.(checkpointId);
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    await this.fn.notifyCheckpointAborted?.(checkpointId);
  }

  async close(): Promise<void> {
    this.#timers?.close();
    await this.fn.close?.();
  }

  #onTimer(timestamp: number, domain: TimeDomain): void | Promise<void> {
    if (this.fn.onTimer === undefined) return;
    this.#domain = domain;
    this.#timestamp = timestamp;
    const collector: Collector<unknown> = domain === 'EVENT_TIME' ? this.#collector : { collect: (v) => this.#output.collect(v, null) };
    return this.fn.onTimer(timestamp, this.#coContext, collector);
  }
}
