/**
 * The operators behind the DataStream API. Each wraps one user function and passes on the parts
 * of the operator lifecycle the function takes part in (open/close, CheckpointedFunction,
 * CheckpointListener).
 */
import type { CheckpointListener, CheckpointedFunction, Collector, FilterFunction, FlatMapFunction, MapFunction, RichFunction } from '../api/functions.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { ValueState } from '../state/keyed-state-handles.ts';
import type { OperatorSetup, Output, StreamOperator } from './stream-operator.ts';

type Udf = RichFunction & Partial<CheckpointedFunction> & Partial<CheckpointListener>;

abstract class UdfOperator implements StreamOperator {
  protected output!: Output;
  protected context!: RuntimeContext;

  constructor(protected readonly udf: Udf) {}

  async open(setup: OperatorSetup): Promise<void> {
    this.output = setup.output;
    this.context = setup.context;
    await this.udf.initializeState?.({ isRestored: setup.isRestored, runtime: setup.context });
    await this.udf.open?.(setup.context);
  }

  abstract processRecord(value: unknown, timestamp: number | null, input: number): void | Promise<void>;

  processWatermark(timestamp: number): void {
    this.output.emitWatermark(timestamp);
  }

  async snapshotState(checkpointId: number): Promise<void> {
    await this.udf.snapshotState?.({ checkpointId });
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.udf.notifyCheckpointComplete?.(checkpointId);
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    await this.udf.notifyCheckpointAborted?.(checkpointId);
  }

  async close(): Promise<void> {
    await this.udf.close?.();
  }
}

export class MapOperator extends UdfOperator {
  constructor(private readonly fn: MapFunction<unknown, unknown>) {
    super(fn);
  }
  processRecord(value: unknown, timestamp: number | null): void {
    this.output.collect(this.fn.map(value), timestamp);
  }
}

export class FilterOperator extends UdfOperator {
  constructor(private readonly fn: FilterFunction<unknown>) {
    super(fn);
  }
  processRecord(value: unknown, timestamp: number | null): void {
    if (this.fn.filter(value)) this.output.collect(value, timestamp);
  }
}

export class FlatMapOperator extends UdfOperator {
  #timestamp: number | null = null;
  readonly #collector: Collector<unknown> = { collect: (v) => this.output.collect(v, this.#timestamp) };
  constructor(private readonly fn: FlatMapFunction<unknown, unknown>) {
    super(fn);
  }
  processRecord(value: unknown, timestamp: number | null): void {
    this.#timestamp = timestamp;
    this.fn.flatMap(value, this.#collector);
  }
}

/** Keyed running reduce: emits the new reduced value of the key after every record (as Flink). */
export class KeyedReduceOperator implements StreamOperator {
  #state!: ValueState<unknown>;
  #output!: Output;
  constructor(private readonly reduce: (a: unknown, b: unknown) => unknown) {}
  open(setup: OperatorSetup): void {
    this.#output = setup.output;
    this.#state = setup.context.getState({ kind: 'value', name: 'reduce' });
  }
  processRecord(value: unknown, timestamp: number | null): void {
    const current = this.#state.value();
    const next = current === undefined || current === null ? value : this.reduce(current, value);
    this.#state.update(next);
    this.#output.collect(next, timestamp);
  }
  processWatermark(timestamp: number): void {
    this.#output.emitWatermark(timestamp);
  }
}

export interface SinkFunction<T> extends RichFunction, Partial<CheckpointedFunction>, Partial<CheckpointListener> {
  invoke(value: T, context: { readonly timestamp: number | null }): void | Promise<void>;
  /** End of a bounded input: flush. */
  finish?(): void | Promise<void>;
}

export class SinkOperator extends UdfOperator {
  /**
   * One context for every record, as Flink's StreamSink reuses its SinkFunction.Context: valid
   * during `invoke` (and until its promise settles, since the subtask waits for it before the
   * next record), not to be kept.
   */
  readonly #context = { timestamp: null as number | null };
  constructor(private readonly fn: SinkFunction<unknown>) {
    super(fn);
  }
  processRecord(value: unknown, timestamp: number | null): void | Promise<void> {
    this.#context.timestamp = timestamp;
    return this.fn.invoke(value, this.#context);
  }
  override processWatermark(): void {}
  async finish(): Promise<void> {
    await this.fn.finish?.();
  }
}
