/**
 * Two streams into one operator (Flink's connect + CoProcessFunction): records of the first
 * input go to processElement1, of the second to processElement2; keyed, both are partitioned by
 * their own key selector so equal keys meet in one subtask and share keyed state.
 */
import type { OperatorSetup, Output, StreamOperator } from '../runtime/stream-operator.ts';
import type { CheckpointListener, CheckpointedFunction, Collector, RichFunction } from './functions.ts';
import type { RuntimeContext } from './runtime-context.ts';

export interface CoProcessContext {
  readonly timestamp: number | null;
  /** The current key, when the connected streams are keyed. */
  getCurrentKey(): unknown;
}

export interface CoProcessFunction<IN1, IN2, OUT> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  processElement1(value: IN1, context: CoProcessContext, out: Collector<OUT>): void | Promise<void>;
  processElement2(value: IN2, context: CoProcessContext, out: Collector<OUT>): void | Promise<void>;
}

export class CoProcessOperator implements StreamOperator {
  #output!: Output;
  #context!: RuntimeContext;
  #timestamp: number | null = null;
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#timestamp) };
  readonly #coContext: CoProcessContext;

  constructor(private readonly fn: CoProcessFunction<unknown, unknown, unknown>) {
    const self = this;
    this.#coContext = {
      get timestamp() {
        return self.#timestamp;
      },
      getCurrentKey: () => self.#context.getCurrentKey(),
    };
  }

  async open(setup: OperatorSetup): Promise<void> {
    this.#output = setup.output;
    this.#context = setup.context;
    await this.fn.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    await this.fn.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null, input: number): void | Promise<void> {
    this.#timestamp = timestamp;
    return input === 0 ? this.fn.processElement1(value, this.#coContext, this.#collector) : this.fn.processElement2(value, this.#coContext, this.#collector);
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
