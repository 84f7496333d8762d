/**
 * Keyed event-time windows (Flink's WindowOperator with an EventTimeTrigger and no allowed
 * lateness), built on the timer service.
 *
 * State: one map state per key, `window-contents`, from a window's end to what the window holds
 * so far: the accumulator (aggregate), the reduced value (reduce) or the list of elements
 * (process). All windows of an assigner have the same size, so the end names the window. Plus the
 * key's timers (internal-timer-service.ts): one event-time timer at each open window's
 * maxTimestamp. Both are ordinary keyed state, so windows are checkpointed, restored and
 * rescaled by key group with everything else.
 *
 * A record goes into each of its windows that has not fired yet (maxTimestamp > watermark);
 * one whose windows have all fired is late and dropped, and counted (Flink's
 * numLateRecordsDropped). When the watermark reaches a window's maxTimestamp, its result is
 * emitted with that timestamp and its state cleared.
 */
import { UserError } from '../../errors.ts';
import type { Collector } from '../api/functions.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import { type TimeWindow, type WindowAssigner, maxTimestamp } from '../api/window-assigners.ts';
import { tagId } from '../api/output-tag.ts';
import type { LateRecordListener, ProcessWindowContext, ProcessWindowFunction } from '../api/window-functions.ts';
import { deepCopy } from '../state/copy-value.ts';
import type { MapState } from '../state/keyed-state-handles.ts';
import { type AggregateFunction, accumulatorSchemaOf, mapState } from '../state/state-descriptors.ts';
import type { DeclaredKeyedState } from '../state/restore-plan.ts';
import { InternalTimerService } from './internal-timer-service.ts';
import type { OperatorSetup, Output, StreamOperator } from './stream-operator.ts';

/** Flink's name for the window contents state. */
export const WINDOW_STATE = 'window-contents';

export type WindowContents =
  | { readonly kind: 'aggregate'; readonly aggregate: AggregateFunction<unknown, unknown, unknown> }
  | { readonly kind: 'reduce'; readonly reduce: (accumulated: unknown, value: unknown) => unknown }
  | { readonly kind: 'elements' };

export interface WindowOperatorSpec {
  readonly assigner: WindowAssigner;
  readonly contents: WindowContents;
  /** Without one, the aggregate's result or the reduced value is emitted as is. */
  readonly windowFunction?: ProcessWindowFunction<unknown, unknown, unknown>;
  readonly onLateRecord?: LateRecordListener<unknown>;
  /** sideOutputLateData: the OutputTag id late records go to instead of being dropped. */
  readonly lateDataTag?: string;
}

export class WindowOperator implements StreamOperator {
  #output!: Output;
  #context!: RuntimeContext;
  #timers!: InternalTimerService;
  #windows!: MapState<number, unknown>;
  #lateRecordsDropped = 0;
  #emitTimestamp = 0;
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#emitTimestamp) };

  constructor(private readonly spec: WindowOperatorSpec) {
    if (spec.contents.kind === 'elements' && spec.windowFunction === undefined) throw new UserError('a window that keeps its elements needs a ProcessWindowFunction');
  }

  /** Records dropped because all their windows had fired (this subtask). */
  get numLateRecordsDropped(): number {
    return this.#lateRecordsDropped;
  }

  /** An aggregate that declares its accumulator's schema declares the window state's. */
  declaredKeyedStates(): readonly DeclaredKeyedState[] {
    const contents = this.spec.contents;
    if (contents.kind !== 'aggregate') return [];
    const { accumulatorSchemaVersion: version, migrateAccumulator: migrate } = contents.aggregate;
    if (version === undefined && migrate === undefined) return [];
    return [{ name: WINDOW_STATE, kind: 'map', ...(version === undefined ? {} : { schemaVersion: version }), migrates: migrate !== undefined }];
  }

  async open(setup: OperatorSetup): Promise<void> {
    const backend = setup.keyedBackend;
    if (backend === undefined) throw new UserError(`operator '${setup.context.operatorUid}': windows need a keyed stream (keyBy(...).window(...))`);
    this.#output = setup.output;
    this.#context = setup.context;
    // Engine access: the window's elements are appended to and written back without copying them.
    // An aggregate's accumulators carry its schema version (and migrate hook) as the state's.
    const contents = this.spec.contents;
    const schema = contents.kind === 'aggregate' ? accumulatorSchemaOf(contents.aggregate) : {};
    this.#windows = backend.getState(mapState<number, unknown>(WINDOW_STATE, schema), 'engine');
    this.#timers = new InternalTimerService(backend, setup.processingTime, (timestamp, domain) => (domain === 'EVENT_TIME' ? this.#fire(timestamp) : undefined));
    this.#timers.open();
    await this.spec.windowFunction?.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null): void {
    if (timestamp === null) {
      throw new UserError(
        `operator '${this.#context.operatorUid}': a record without a timestamp reached an event-time window. ` +
          'Did you forget to call assignTimestampsAndWatermarks(...) (or give the source a timestamp)?',
      );
    }
    const watermark = this.#timers.currentWatermark();
    let accepted = false;
    for (const window of this.spec.assigner.assignWindows(timestamp)) {
      const fireAt = maxTimestamp(window);
      if (fireAt <= watermark) continue; // this window has fired already
      // Each window its own copy (sliding windows): a reduce that updates its first argument in
      // place, or a process function changing an element, must not reach another window.
      this.#add(window.end, accepted ? deepCopy(value) : value);
      accepted = true;
      this.#timers.registerEventTimeTimer(fireAt);
    }
    if (!accepted) {
      // As Flink: with a late-data side output the record goes there and is not counted as dropped.
      if (this.spec.lateDataTag !== undefined) this.#output.emitSideOutput?.(this.spec.lateDataTag, value, timestamp);
      else this.#lateRecordsDropped += 1;
      this.spec.onLateRecord?.(value, timestamp, watermark);
    }
  }

  async processWatermark(timestamp: number): Promise<void> {
    await this.#timers.advanceWatermark(timestamp);
    this.#output.emitWatermark(timestamp);
  }

  async close(): Promise<void> {
    this.#timers?.close();
    await this.spec.windowFunction?.close?.();
  }

  #add(end: number, value: unknown): void {
    const contents = this.spec.contents;
    const current = this.#windows.get(end);
    switch (contents.kind) {
      case 'aggregate': {
        const aggregate = contents.aggregate;
        this.#windows.put(end, aggregate.add(value, current === undefined ? aggregate.createAccumulator() : current));
        return;
      }
      case 'reduce':
        this.#windows.put(end, current === undefined ? value : contents.reduce(current, value));
        return;
      case 'elements':
        // Written back after appending, as the handle contract asks: a serializing backend
        // stores only what is put. On the heap, with an engine handle, this costs no copy.
        if (current === undefined) this.#windows.put(end, [value]);
        else {
          (current as unknown[]).push(value);
          this.#windows.put(end, current);
        }
    }
  }

  /** The timer of the window ending at `timestamp + 1` (current key set): emit, then clear. */
  #fire(timestamp: number): void | Promise<void> {
    const end = timestamp + 1;
    const stored = this.#windows.get(end);
    if (stored === undefined) return;
    const window: TimeWindow = { start: end - this.spec.assigner.size, end };
    const contents = this.spec.contents;
    const result = contents.kind === 'aggregate' ? contents.aggregate.getResult(stored) : stored;
    this.#emitTimestamp = timestamp;
    const fn = this.spec.windowFunction;
    let emitted: void | Promise<void> = undefined;
    if (fn === undefined) this.#collector.collect(result);
    else {
      const elements = contents.kind === 'elements' ? (result as unknown[]) : [result];
      emitted = fn.process(this.#context.getCurrentKey(), this.#windowContext(window), elements, this.#collector);
    }
    if (emitted instanceof Promise) return emitted.then(() => this.#windows.remove(end));
    this.#windows.remove(end);
  }

  #windowContext(window: TimeWindow): ProcessWindowContext {
    const timers = this.#timers;
    const output = this.#output;
    return {
      window,
      currentWatermark: () => timers.currentWatermark(),
      currentProcessingTime: () => timers.currentProcessingTime(),
      output: (tag, value) => output.emitSideOutput?.(tagId(tag), value, maxTimestamp(window)),
    };
  }
}
