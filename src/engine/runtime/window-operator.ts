/**
 * Keyed windows (Flink's WindowOperator and EvictingWindowOperator): an assigner puts each
 * record into windows, a trigger decides when a window's function runs (FIRE) and when its
 * contents go (PURGE), an optional evictor removes elements around the function, and windows of
 * an event-time assigner take late records until the watermark passes their end plus the
 * allowed lateness, when their state is cleaned up.
 *
 * Keyed state, all of it per key, so windows are checkpointed, restored and rescaled by key
 * group with everything else (docs/ARCHITECTURE.md, "Windows"):
 * - `window-contents`: map state from window (`[start, end]`, or `"global"`) to what the window
 *   holds: the accumulator (aggregate), the reduced value (reduce), the elements (process), or,
 *   with an evictor, the elements with their timestamps as `[value, timestamp]` pairs;
 * - `window-timers` and `_timers`: which window set which timer (window-timers.ts);
 * - state per window of the trigger and of the window function, `window/<descriptor name>`
 *   (window-trigger-state.ts);
 * - session windows: `merging-window-set`, the key's current windows as `[start, end]` pairs.
 * Windows of merging assigners move their contents and trigger state to the merged window.
 *
 * Savepoints of tsflink 0.1 keyed `window-contents` by the window's end alone: they are
 * rewritten at open (window-state-migration.ts).
 */
import { InternalError, UserError } from '../../errors.ts';
import type { Collector } from '../api/functions.ts';
import type { RuntimeContext } from '../api/runtime-context.ts';
import type { TimeDomain } from '../api/timer-service.ts';
import { type Trigger, type TriggerResult, type TriggerStateDescriptor, isFire, isPurge } from '../api/trigger.ts';
import { END_OF_TIME, type TimeWindow, type Window, type WindowKey, maxTimestamp, sameWindow, windowKey } from '../api/window.ts';
import { type WindowAssigner, type WindowAssignerContext, isMerging } from '../api/window-assigners.ts';
import type { Evictor, EvictorContext, TimestampedValue } from '../api/evictors.ts';
import type { LateRecordListener, ProcessWindowContext, ProcessWindowFunction } from '../api/window-functions.ts';
import { deepCopy } from '../state/copy-value.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { MapState, ValueState } from '../state/keyed-state-handles.ts';
import { type AggregateFunction, accumulatorSchemaOf, mapState, valueState } from '../state/state-descriptors.ts';
import type { DeclaredKeyedState } from '../state/restore-plan.ts';
import { tagId } from '../api/output-tag.ts';
import { andThen } from './in-order.ts';
import { type MergingWindows, addWindow, loadMergingWindows, retireWindow, storeMergingWindows } from './merging-window-set.ts';
import type { OperatorSetup, Output, StreamOperator } from './stream-operator.ts';
import { WINDOW_TIMERS_STATE, WindowTimers } from './window-timers.ts';
import { migrateEndKeyedWindows } from './window-state-migration.ts';
import { WindowTriggerContext, WindowTriggerState } from './window-trigger-state.ts';

/** Flink's name for the window contents state. */
export const WINDOW_STATE = 'window-contents';
/** Flink's name for the session windows of each key. */
export const MERGING_WINDOWS_STATE = 'merging-window-set';

export type WindowContents =
  | { readonly kind: 'aggregate'; readonly aggregate: AggregateFunction<unknown, unknown, unknown> }
  | { readonly kind: 'reduce'; readonly reduce: (accumulated: unknown, value: unknown) => unknown }
  | { readonly kind: 'elements' };

export interface WindowOperatorSpec {
  readonly assigner: WindowAssigner<Window>;
  readonly contents: WindowContents;
  /** The assigner's default trigger when not given. */
  readonly trigger?: Trigger<unknown, Window>;
  readonly evictor?: Evictor<unknown, Window>;
  /** Event time only: how long after a window's end it still takes late records (ms). */
  readonly allowedLateness?: number;
  /** Without one, the aggregate's result or the reduced value is emitted as is. */
  readonly windowFunction?: ProcessWindowFunction<unknown, unknown, unknown, Window>;
  readonly onLateRecord?: LateRecordListener<unknown>;
  /** sideOutputLateData: the OutputTag id late records go to instead of being dropped. */
  readonly lateDataTag?: string;
}

type StoredElement = [value: unknown, timestamp: number | null];

const NO_WINDOWS: readonly Window[] = [];

export class WindowOperator implements StreamOperator {
  #output!: Output;
  #context!: RuntimeContext;
  #backend!: KeyedStateBackend;
  #timers!: WindowTimers;
  #windows!: MapState<WindowKey, unknown>;
  #triggerState!: WindowTriggerState;
  #merging: ValueState<unknown> | undefined;
  #lateRecordsDropped = 0;
  #emitTimestamp = 0;
  readonly #collector: Collector<unknown> = { collect: (v) => this.#output.collect(v, this.#emitTimestamp) };
  readonly #mergeFunction = (cover: TimeWindow, merged: readonly TimeWindow[]): void => this.#merge(cover, merged);
  #triggerContext!: WindowTriggerContext;
  readonly #trigger: Trigger<unknown, Window>;
  readonly #lateness: number;
  readonly #eventTime: boolean;
  readonly #assignerContext: WindowAssignerContext = { getCurrentProcessingTime: () => this.#timers.service.currentProcessingTime() };

  constructor(private readonly spec: WindowOperatorSpec) {
    this.#trigger = spec.trigger ?? spec.assigner.getDefaultTrigger();
    this.#eventTime = spec.assigner.isEventTime();
    this.#lateness = spec.allowedLateness ?? 0;
    if (spec.contents.kind === 'elements' && spec.windowFunction === undefined) throw new UserError('a window that keeps its elements needs a ProcessWindowFunction');
    if (isMerging(spec.assigner)) {
      if (!this.#trigger.canMerge()) throw new UserError(`A merging window assigner cannot be used with a trigger that does not support merging: ${this.#trigger.toString()} with ${spec.assigner.toString()}`);
      if (spec.contents.kind === 'aggregate' && spec.evictor === undefined && spec.contents.aggregate.merge === undefined) {
        throw new UserError(`${spec.assigner.toString()} merges windows and so their accumulators: give the AggregateFunction a merge(a, b)`);
      }
    }
  }

  /** Records dropped because all their windows were past their allowed lateness (this subtask). */
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
    this.#backend = backend;
    const restoredStates = new Set(backend.states().map((s) => s.name));
    const endKeyed = setup.isRestored && restoredStates.has(WINDOW_STATE) && !restoredStates.has(WINDOW_TIMERS_STATE);
    // Engine access: the window's elements are appended to and written back without copying them.
    // An aggregate's accumulators carry its schema version (and migrate hook) as the state's.
    const contents = this.spec.contents;
    const schema = contents.kind === 'aggregate' ? accumulatorSchemaOf(contents.aggregate) : {};
    this.#windows = backend.getState(mapState<WindowKey, unknown>(WINDOW_STATE, schema), 'engine');
    this.#timers = new WindowTimers(backend, setup.processingTime, (window, time, domain) => this.#onTimer(window, time, domain));
    this.#triggerState = new WindowTriggerState(backend);
    this.#triggerContext = new WindowTriggerContext(this.#timers, this.#triggerState);
    if (isMerging(this.spec.assigner)) this.#merging = backend.getState(valueState<unknown>(MERGING_WINDOWS_STATE), 'engine');
    this.#timers.service.open();
    if (endKeyed) {
      migrateEndKeyedWindows({
        backend,
        windows: this.#windows,
        assigner: this.spec.assigner,
        operatorUid: setup.context.operatorUid,
        registerTimers: (window) => {
          this.#timers.registerEventTimeTimer(window, maxTimestamp(window));
          this.#registerCleanupTimer(window);
        },
      });
    }
    await this.spec.windowFunction?.open?.(setup.context);
  }

  processRecord(value: unknown, timestamp: number | null): void | Promise<void> {
    const windows = this.spec.assigner.assignWindows(timestamp, value, this.#assignerContext);
    const merging = this.#merging === undefined ? undefined : loadMergingWindows(this.#merging);
    return this.#processWindows(value, timestamp, windows, 0, merging, true);
  }

  /**
   * The record into `windows[from...]` (Flink's processElement loop), synchronously unless a
   * window function returns a promise: then the rest waits for it. No closures on the way, as
   * this runs per record.
   */
  #processWindows(value: unknown, timestamp: number | null, windows: readonly Window[], from: number, merging: MergingWindows | undefined, skipped: boolean): void | Promise<void> {
    for (let i = from; i < windows.length; i++) {
      let window = windows[i]!;
      if (merging !== undefined) {
        window = addWindow(merging, window as TimeWindow, this.#mergeFunction);
        if (this.#isWindowLate(window)) {
          retireWindow(merging, window as TimeWindow);
          continue;
        }
      } else if (this.#isWindowLate(window)) continue;
      // Each window its own copy (sliding windows): a reduce that updates its first argument in
      // place, or a process function changing an element, must not reach another window.
      this.#add(window, skipped ? value : deepCopy(value), timestamp);
      skipped = false;
      const result = this.#trigger.onElement(value, timestamp, window, this.#contextFor(window));
      const emitted = isFire(result) ? this.#emit(window) : undefined;
      if (emitted instanceof Promise) {
        const w = window;
        return emitted.then(() => {
          this.#afterElement(w, result);
          return this.#processWindows(value, timestamp, windows, i + 1, merging, false);
        });
      }
      this.#afterElement(window, result);
    }
    if (merging !== undefined) storeMergingWindows(this.#merging!, merging);
    // The one place a record is found late (Flink: side output or numLateRecordsDropped).
    if (skipped && this.#isElementLate(timestamp)) {
      // As Flink: with a late-data side output the record goes there and is not counted as dropped.
      if (this.spec.lateDataTag !== undefined) this.#output.emitSideOutput?.(this.spec.lateDataTag, value, timestamp);
      else this.#lateRecordsDropped += 1;
      this.spec.onLateRecord?.(value, timestamp!, this.#timers.service.currentWatermark());
    }
  }

  #afterElement(window: Window, result: TriggerResult): void {
    if (isPurge(result)) this.#windows.remove(windowKey(window));
    this.#registerCleanupTimer(window);
  }

  async processWatermark(timestamp: number): Promise<void> {
    await this.#timers.service.advanceWatermark(timestamp);
    this.#output.emitWatermark(timestamp);
  }

  async close(): Promise<void> {
    this.#timers?.service.close();
    await this.spec.windowFunction?.close?.();
  }

  #cleanupTime(window: Window): number {
    if (!this.#eventTime) return maxTimestamp(window);
    const time = maxTimestamp(window) + this.#lateness;
    return time >= END_OF_TIME ? END_OF_TIME : time;
  }

  #isWindowLate(window: Window): boolean {
    return this.#eventTime && this.#cleanupTime(window) <= this.#timers.service.currentWatermark();
  }

  #isElementLate(timestamp: number | null): boolean {
    return this.#eventTime && timestamp !== null && timestamp + this.#lateness <= this.#timers.service.currentWatermark();
  }

  #registerCleanupTimer(window: Window): void {
    const time = this.#cleanupTime(window);
    if (time === END_OF_TIME) return; // the global window is never cleaned up
    if (this.#eventTime) this.#timers.registerEventTimeTimer(window, time);
    else this.#timers.registerProcessingTimeTimer(window, time);
  }

  #deleteCleanupTimer(window: Window): void {
    const time = this.#cleanupTime(window);
    if (time === END_OF_TIME) return;
    if (this.#eventTime) this.#timers.deleteEventTimeTimer(window, time);
    else this.#timers.deleteProcessingTimeTimer(window, time);
  }

  /** A timer `window` set came (current key set): ask the trigger, fire or purge, clean up. */
  #onTimer(window: Window, time: number, domain: TimeDomain): void | Promise<void> {
    const merging = this.#merging === undefined ? undefined : loadMergingWindows(this.#merging);
    // A timer of a window merged away or cleaned up already (a trigger left it): nothing to do.
    if (merging !== undefined && !merging.some((w) => sameWindow(w, window))) return;
    const ctx = this.#contextFor(window);
    const result = domain === 'EVENT_TIME' ? this.#trigger.onEventTime(time, window, ctx) : this.#trigger.onProcessingTime(time, window, ctx);
    const emitted = isFire(result) ? this.#emit(window) : undefined;
    if (emitted instanceof Promise) return emitted.then(() => this.#afterTimer(window, time, domain, result, merging));
    this.#afterTimer(window, time, domain, result, merging);
  }

  #afterTimer(window: Window, time: number, domain: TimeDomain, result: TriggerResult, merging: MergingWindows | undefined): void {
    if (isPurge(result)) this.#windows.remove(windowKey(window));
    if (this.#eventTime === (domain === 'EVENT_TIME') && time === this.#cleanupTime(window)) {
      this.#windows.remove(windowKey(window));
      this.#trigger.clear(window, this.#contextFor(window));
      this.spec.windowFunction?.clear?.(this.#windowContext(window));
      if (merging !== undefined) {
        retireWindow(merging, window as TimeWindow);
        storeMergingWindows(this.#merging!, merging);
      }
    }
  }

  #add(window: Window, value: unknown, timestamp: number | null): void {
    const key = windowKey(window);
    const current = this.#windows.get(key);
    if (this.spec.evictor !== undefined) return this.#append(key, current, [value, timestamp]);
    const contents = this.spec.contents;
    switch (contents.kind) {
      case 'aggregate': {
        const aggregate = contents.aggregate;
        this.#windows.put(key, aggregate.add(value, current === undefined ? aggregate.createAccumulator() : current));
        return;
      }
      case 'reduce':
        this.#windows.put(key, current === undefined ? value : contents.reduce(current, value));
        return;
      case 'elements':
        this.#append(key, current, value);
    }
  }

  #append(key: WindowKey, current: unknown, element: unknown): void {
    // Written back after appending, as the handle contract asks: a serializing backend stores
    // only what is put. On the heap, with an engine handle, this costs no copy.
    if (current === undefined) this.#windows.put(key, [element]);
    else {
      (current as unknown[]).push(element);
      this.#windows.put(key, current);
    }
  }

  /** Two windows' contents as one (merging windows): accumulators merge, elements append. */
  #mergeContents(a: unknown, b: unknown): unknown {
    const contents = this.spec.contents;
    if (this.spec.evictor !== undefined || contents.kind === 'elements') return [...(a as unknown[]), ...(b as unknown[])];
    if (contents.kind === 'reduce') return contents.reduce(a, b);
    return contents.aggregate.merge!(a, b);
  }

  /**
   * `merged` windows became `cover` (MergingWindowSet's merge function): the trigger sets up the
   * new window and merges its state, the old windows' timers and trigger state go, and their
   * contents move into the new window.
   */
  #merge(cover: TimeWindow, merged: readonly TimeWindow[]): void {
    if (this.#eventTime ? this.#cleanupTime(cover) <= this.#timers.service.currentWatermark() : maxTimestamp(cover) <= this.#timers.service.currentProcessingTime()) {
      throw new InternalError(`merging windows into ${JSON.stringify(cover)} made a window that has ended already`);
    }
    this.#trigger.onMerge(cover, this.#contextFor(cover, merged));
    for (const m of merged) {
      if (sameWindow(m, cover)) continue;
      this.#trigger.clear(m, this.#contextFor(m));
      this.#deleteCleanupTimer(m);
    }
    const coverKey = windowKey(cover);
    let contents = this.#windows.get(coverKey);
    for (const m of merged) {
      if (sameWindow(m, cover)) continue;
      const key = windowKey(m);
      const other = this.#windows.get(key);
      if (other === undefined) continue;
      this.#windows.remove(key);
      contents = contents === undefined ? other : this.#mergeContents(contents, other);
    }
    if (contents !== undefined) this.#windows.put(coverKey, contents);
  }

  /** Runs the window function on the window's contents (current key set); nothing if it has none. */
  #emit(window: Window): void | Promise<void> {
    const key = windowKey(window);
    const stored = this.#windows.get(key);
    if (stored === undefined) return;
    // One collector, as Flink's TimestampedCollector: firings run one at a time (an async
    // window function is awaited before the next), so the timestamp cannot change under it.
    this.#emitTimestamp = maxTimestamp(window);
    const collector = this.#collector;
    if (this.spec.evictor !== undefined) return this.#emitEvicting(window, key, stored as StoredElement[], collector);
    const contents = this.spec.contents;
    const result = contents.kind === 'aggregate' ? contents.aggregate.getResult(stored) : stored;
    const fn = this.spec.windowFunction;
    if (fn === undefined) return collector.collect(result);
    const elements = contents.kind === 'elements' ? (result as unknown[]) : [result];
    return fn.process(this.#context.getCurrentKey(), this.#windowContext(window), elements, collector);
  }

  /** Flink's EvictingWindowOperator: evict, compute over what is left, evict, write back. */
  #emitEvicting(window: Window, key: WindowKey, stored: readonly StoredElement[], collector: Collector<unknown>): void | Promise<void> {
    const evictor = this.spec.evictor!;
    const ctx: EvictorContext = { getCurrentProcessingTime: () => this.#timers.service.currentProcessingTime(), getCurrentWatermark: () => this.#timers.service.currentWatermark() };
    const elements: TimestampedValue<unknown>[] = stored.map(([value, timestamp]) => ({ value, timestamp }));
    evictor.evictBefore(elements, elements.length, window, ctx);
    const values = elements.map((e) => e.value);
    const contents = this.spec.contents;
    let result: unknown[] = values;
    if (contents.kind === 'aggregate') result = [contents.aggregate.getResult(values.reduce((acc, v) => contents.aggregate.add(v, acc), contents.aggregate.createAccumulator()))];
    // The reduction starts from a copy: a reduce may update its first argument in place, and the
    // elements are the window's own, written back below.
    else if (contents.kind === 'reduce') result = values.length === 0 ? [] : [values.slice(1).reduce((a, b) => contents.reduce(a, b), deepCopy(values[0]))];
    const fn = this.spec.windowFunction;
    let emitted: void | Promise<void> = undefined;
    if (fn !== undefined) emitted = fn.process(this.#context.getCurrentKey(), this.#windowContext(window), result, collector);
    else for (const r of result) collector.collect(r);
    return andThen(emitted, () => {
      evictor.evictAfter(elements, elements.length, window, ctx);
      if (elements.length === 0) this.#windows.remove(key);
      else this.#windows.put(key, elements.map((e): StoredElement => [e.value, e.timestamp]));
    });
  }

  #windowContext(window: Window): ProcessWindowContext<Window> {
    const timers = this.#timers.service;
    const state = this.#triggerState;
    const context = this.#context;
    const output = this.#output;
    const merging = this.#merging !== undefined;
    const perWindow = (descriptor: TriggerStateDescriptor): never => {
      if (merging) throw new UserError(`window state '${descriptor.name}': per-window state is not allowed when using merging windows (${this.spec.assigner.toString()}); use globalState()`);
      return state.handle(descriptor, window) as never;
    };
    return {
      window,
      currentWatermark: () => timers.currentWatermark(),
      currentProcessingTime: () => timers.currentProcessingTime(),
      output: (tag, value) => output.emitSideOutput?.(tagId(tag), value, maxTimestamp(window)),
      windowState: () => ({
        getState: perWindow,
        getListState: perWindow,
        getReducingState: perWindow,
        getAggregatingState: perWindow,
        getMapState: (descriptor) => {
          throw new UserError(`window state '${descriptor.name}': per-window map state is not supported; use value, list, reducing or aggregating state, or globalState()`);
        },
      }),
      globalState: () => context,
    };
  }

  /** The one trigger context, set to `window` (Flink reuses its TriggerContext the same way). */
  #contextFor(window: Window, merged: readonly Window[] = NO_WINDOWS): WindowTriggerContext {
    const ctx = this.#triggerContext;
    ctx.window = window;
    ctx.merged = merged;
    return ctx;
  }
}

