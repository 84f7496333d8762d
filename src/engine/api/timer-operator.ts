/**
 * What KeyedProcessOperator and CoProcessOperator share (Flink's AbstractUdfStreamOperator with
 * an InternalTimerService): the function's lifecycle and checkpoint hooks, the timer service on a
 * keyed backend, the context that reports the current record's or timer's time, and onTimer with
 * Flink's timestamps (an event-time timer's output carries the timer's time, a processing-time
 * timer's none).
 */
import { UserError } from '../../errors.ts';
import { InternalTimerService } from '../runtime/internal-timer-service.ts';
import type { OperatorSetup, Output, StreamOperator } from '../runtime/stream-operator.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import { type SideOutputContext, tagId } from './output-tag.ts';
import type { RuntimeContext } from './runtime-context.ts';
import type { TimeDomain, TimerService } from './timer-service.ts';

/** The context both process functions get; `timeDomain` only means something in onTimer. */
export interface TimerFunctionContext extends SideOutputContext {
  /** The record's timestamp (in onTimer: the timer's), or null when it has none. */
  readonly timestamp: number | null;
  getCurrentKey(): unknown;
  timerService(): TimerService;
  timeDomain(): TimeDomain;
}

export interface TimerFunction extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  onTimer?(timestamp: number, context: TimerFunctionContext, out: Collector<unknown>): void | Promise<void>;
}

export abstract class TimerOperator implements StreamOperator {
  #output!: Output;
  #runtime!: RuntimeContext;
  #timers: InternalTimerService | undefined;
  #timestamp: number | null = null;
  #domain: TimeDomain = 'EVENT_TIME';
  /** Emits with the current record's (or event-time timer's) timestamp. */
  protected readonly collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#timestamp) };
  protected readonly context: TimerFunctionContext;

  constructor(private readonly timerFunction: TimerFunction) {
    const self = this;
    this.context = {
      get timestamp() {
        return self.#timestamp;
      },
      getCurrentKey: () => self.#runtime.getCurrentKey(),
      timerService: () => {
        if (self.#timers === undefined) throw new UserError(`operator '${self.#runtime.operatorUid}': setting timers is only supported on keyed streams: connect(...).keyBy(...)`);
        return self.#timers;
      },
      timeDomain: () => self.#domain,
      // As Flink: the current record's timestamp, in onTimer the timer's (of either domain).
      output: (tag, value) => self.#output.emitSideOutput?.(tagId(tag), value, self.#timestamp),
    };
  }

  async open(setup: OperatorSetup): Promise<void> {
    this.#output = setup.output;
    this.#runtime = setup.context;
    if (setup.keyedBackend !== undefined) {
      this.#timers = new InternalTimerService(setup.keyedBackend, setup.processingTime, (timestamp, domain) => this.#onTimer(timestamp, domain));
    }
    await this.timerFunction.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    this.#timers?.open();
    await this.timerFunction.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null, input: number): void | Promise<void> {
    this.#timestamp = timestamp;
    return this.processElement(value, input);
  }

  /** Hands the record to the function, with `this.context` and `this.collector`. */
  protected abstract processElement(value: unknown, input: number): void | Promise<void>;

  async processWatermark(timestamp: number): Promise<void> {
    await this.#timers?.advanceWatermark(timestamp);
    this.#output.emitWatermark(timestamp);
  }

  async snapshotState(checkpointId: number): Promise<void> {
    await this.timerFunction.snapshotState?.({ checkpointId });
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.timerFunction.notifyCheckpointComplete?.(checkpointId);
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    await this.timerFunction.notifyCheckpointAborted?.(checkpointId);
  }

  async close(): Promise<void> {
    this.#timers?.close();
    await this.timerFunction.close?.();
  }

  #onTimer(timestamp: number, domain: TimeDomain): void | Promise<void> {
    if (this.timerFunction.onTimer === undefined) return;
    this.#domain = domain;
    // The context reports the timer's time; only event-time output keeps it as its timestamp.
    this.#timestamp = timestamp;
    const collector: Collector<unknown> = domain === 'EVENT_TIME' ? this.collector : { collect: (v) => this.#output.collect(v, null) };
    return this.timerFunction.onTimer(timestamp, this.context, collector);
  }
}
