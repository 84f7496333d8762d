/**
 * ProcessFunction on a non-keyed stream (Flink's ProcessFunction and ProcessOperator): each record
 * with its timestamp, the current time and watermark, and side outputs. Timers need a key, so
 * registering or deleting one is refused with Flink's message: key the stream first
 * (`keyBy(...).process(...)`, a KeyedProcessFunction).
 */
import { UserError } from '../../errors.ts';
import type { OperatorSetup, Output, StreamOperator } from '../runtime/stream-operator.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import { type SideOutputContext, tagId } from './output-tag.ts';
import type { TimerService } from './timer-service.ts';

export interface ProcessContext extends SideOutputContext {
  /** The record's timestamp, or null when it has none. */
  readonly timestamp: number | null;
  /** The current processing time and watermark; registering a timer throws (non-keyed stream). */
  timerService(): TimerService;
}

export interface ProcessFunction<T, R> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement(value: T, context: ProcessContext, out: Collector<R>): void | Promise<void>;
}

/** Flink's ProcessOperator messages, word for word. */
const REGISTER_TIMER = 'Setting timers is only supported on a keyed streams.';
const DELETE_TIMER = 'Deleting timers is only supported on a keyed streams.';

export class ProcessOperator implements StreamOperator {
  #output!: Output;
  #timestamp: number | null = null;
  #watermark = Number.NEGATIVE_INFINITY;
  #now: () => number = Date.now;
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#timestamp) };
  readonly #context: ProcessContext;

  constructor(private readonly fn: ProcessFunction<unknown, unknown>) {
    const self = this;
    const timers: TimerService = {
      currentProcessingTime: () => self.#now(),
      currentWatermark: () => self.#watermark,
      registerEventTimeTimer: () => refuse(REGISTER_TIMER),
      registerProcessingTimeTimer: () => refuse(REGISTER_TIMER),
      deleteEventTimeTimer: () => refuse(DELETE_TIMER),
      deleteProcessingTimeTimer: () => refuse(DELETE_TIMER),
    };
    this.#context = {
      get timestamp() {
        return self.#timestamp;
      },
      timerService: () => timers,
      output: (tag, value) => self.#output.emitSideOutput?.(tagId(tag), value, self.#timestamp),
    };
  }

  async open(setup: OperatorSetup): Promise<void> {
    this.#output = setup.output;
    this.#now = () => setup.processingTime.now();
    await this.fn.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    await this.fn.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null): void | Promise<void> {
    this.#timestamp = timestamp;
    return this.fn.processElement(value, this.#context, this.#collector);
  }

  processWatermark(timestamp: number): void {
    if (timestamp > this.#watermark) this.#watermark = timestamp;
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
    await this.fn.close?.();
  }
}

function refuse(message: string): never {
  throw new UserError(message);
}
