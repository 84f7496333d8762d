/** KeyedProcessFunction: per-record access to the key and keyed state (timers come next). */
import type { OperatorSetup, Output, StreamOperator } from '../runtime/stream-operator.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { RuntimeContext } from './runtime-context.ts';

export interface KeyedProcessContext<K> {
  readonly timestamp: number | null;
  getCurrentKey(): K;
}

export interface KeyedProcessFunction<K, T, R> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement(value: T, context: KeyedProcessContext<K>, out: Collector<R>): void | Promise<void>;
}

export class KeyedProcessOperator implements StreamOperator {
  #output!: Output;
  #context!: RuntimeContext;
  #timestamp: number | null = null;
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#timestamp) };
  readonly #processContext: KeyedProcessContext<unknown> = {
    get timestamp() {
      return null;
    },
    getCurrentKey: () => this.#context.getCurrentKey(),
  };

  constructor(private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>) {
    const self = this;
    Object.defineProperty(this.#processContext, 'timestamp', { get: () => self.#timestamp });
  }

  async open(setup: OperatorSetup): Promise<void> {
    this.#output = setup.output;
    this.#context = setup.context;
    await this.fn.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    await this.fn.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null): void | Promise<void> {
    this.#timestamp = timestamp;
    return this.fn.processElement(value, this.#processContext, this.#collector);
  }

  processWatermark(timestamp: number): void {
    this.#output.emitWatermark(timestamp);
  }

  async snapshotState(checkpointId: number): Promise<void> {
    await this.fn.snapshotState?.({ checkpointId });
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.fn.notifyCheckpointComplete?.(checkpointId);
  }

  async close(): Promise<void> {
    await this.fn.close?.();
  }
}
