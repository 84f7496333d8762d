/**
 * KeyedProcessFunction: per-record access to the key, keyed state and timers (Flink's
 * KeyedProcessFunction and KeyedProcessOperator). Timers are per key and deduplicated; `onTimer`
 * runs with the timer's key as the current key, so keyed state reads that key's values.
 * Records emitted from an event-time timer carry the timer's timestamp; from a processing-time
 * timer, none (as Flink erases it).
 */
import { InternalTimerService } from '../runtime/internal-timer-service.ts';
import type { OperatorSetup, Output, StreamOperator } from '../runtime/stream-operator.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { RuntimeContext } from './runtime-context.ts';
import type { TimeDomain, TimerService } from './timer-service.ts';

export type { TimeDomain, TimerService } from './timer-service.ts';

export interface KeyedProcessContext<K> {
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

export class KeyedProcessOperator implements StreamOperator {
  #output!: Output;
  #context!: RuntimeContext;
  #timers!: InternalTimerService;
  #timestamp: number | null = null;
  #domain: TimeDomain = 'EVENT_TIME';
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#timestamp) };
  readonly #timerContext: OnTimerContext<unknown>;

  constructor(private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    const self = this;
    this.#timerContext = {
      get timestamp() {
        return self.#timestamp;
      },
      getCurrentKey: () => self.#context.getCurrentKey(),
      timerService: () => self.#timers,
      timeDomain: () => self.#domain,
    };
  }

  async open(setup: OperatorSetup): Promise<void> {
    this.#output = setup.output;
    this.#context = setup.context;
    // Keyed by construction (KeyedStream.process), so the subtask always passes a backend.
    this.#timers = new InternalTimerService(setup.keyedBackend!, setup.processingTime, (timestamp, domain) => this.#onTimer(timestamp, domain));
    await this.fn.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    this.#timers.open();
    await this.fn.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null): void | Promise<void> {
    this.#timestamp = timestamp;
    return this.fn.processElement(value, this.#timerContext, this.#collector);
  }

  async processWatermark(timestamp: number): Promise<void> {
    await this.#timers.advanceWatermark(timestamp);
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
    // The context reports the timer's time; only event-time output keeps it as its timestamp.
    this.#timestamp = timestamp;
    const collector: Collector<unknown> = domain === 'EVENT_TIME' ? this.#collector : { collect: (v) => this.#output.collect(v, null) };
    return this.fn.onTimer(timestamp, this.#timerContext, collector);
  }
}
