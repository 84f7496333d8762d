/**
 * Flink's built-in triggers, with Flink's semantics (org.apache.flink.streaming.api.windowing.triggers).
 */
import { UserError } from '../../errors.ts';
import { reducingState } from '../state/state-descriptors.ts';
import { type OnMergeContext, Trigger, type TriggerContext, type TriggerResult, isFire } from './trigger.ts';
import { type TimeWindow, type Window, maxTimestamp } from './window.ts';

/**
 * Fires once the watermark passes the window's end (the default of event-time assigners). An
 * element for a window the watermark has passed already (a late element within allowedLateness)
 * fires the window at once.
 */
export class EventTimeTrigger extends Trigger<unknown, Window> {
  private constructor() {
    super();
  }
  static create(): EventTimeTrigger {
    return new EventTimeTrigger();
  }
  onElement(_element: unknown, _timestamp: number | null, window: Window, ctx: TriggerContext): TriggerResult {
    if (maxTimestamp(window) <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(maxTimestamp(window));
    return 'CONTINUE';
  }
  onEventTime(time: number, window: Window): TriggerResult {
    return time === maxTimestamp(window) ? 'FIRE' : 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(maxTimestamp(window));
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(window: Window, ctx: OnMergeContext): void {
    // Only if the merged window is not already late: a timer at or before the watermark would
    // fire at once and a late merged window is cleaned up anyway.
    if (maxTimestamp(window) > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(maxTimestamp(window));
  }
  override toString(): string {
    return 'EventTimeTrigger()';
  }
}

/** Fires when the processing-time clock reaches the window's end (default of processing-time assigners). */
export class ProcessingTimeTrigger extends Trigger<unknown, Window> {
  private constructor() {
    super();
  }
  static create(): ProcessingTimeTrigger {
    return new ProcessingTimeTrigger();
  }
  onElement(_element: unknown, _timestamp: number | null, window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(maxTimestamp(window));
    return 'CONTINUE';
  }
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'FIRE';
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(maxTimestamp(window));
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(window: Window, ctx: OnMergeContext): void {
    if (maxTimestamp(window) > ctx.getCurrentProcessingTime()) ctx.registerProcessingTimeTimer(maxTimestamp(window));
  }
  override toString(): string {
    return 'ProcessingTimeTrigger()';
  }
}

/** Never fires (the default of GlobalWindows: give it a trigger). */
export class NeverTrigger extends Trigger<unknown, Window> {
  onElement(): TriggerResult {
    return 'CONTINUE';
  }
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }
  clear(): void {}
  override canMerge(): boolean {
    return true;
  }
  override onMerge(): void {}
  override toString(): string {
    return 'NeverTrigger()';
  }
}

const sum = (a: number, b: number): number => a + b;
const min = (a: number, b: number): number => Math.min(a, b);

/** Fires every `maxCount` elements of a window; the count is per window state named `count`. */
export class CountTrigger extends Trigger<unknown, Window> {
  readonly #count = reducingState<number>('count', sum);
  private constructor(readonly maxCount: number) {
    super();
  }
  static of(maxCount: number): CountTrigger {
    if (!Number.isSafeInteger(maxCount) || maxCount < 1) throw new UserError(`CountTrigger.of: the count must be a whole number >= 1, not ${maxCount}`);
    return new CountTrigger(maxCount);
  }
  onElement(_element: unknown, _timestamp: number | null, _window: Window, ctx: TriggerContext): TriggerResult {
    const count = ctx.getPartitionedState(this.#count);
    count.add(1);
    if ((count.get() ?? 0) >= this.maxCount) {
      count.clear();
      return 'FIRE';
    }
    return 'CONTINUE';
  }
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }
  clear(_window: Window, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.#count).clear();
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(_window: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.#count as never);
  }
  override toString(): string {
    return `CountTrigger(${this.maxCount})`;
  }
}

/** Turns every FIRE of the nested trigger into FIRE_AND_PURGE. */
export class PurgingTrigger<T, W extends Window> extends Trigger<T, W> {
  private constructor(readonly nested: Trigger<T, W>) {
    super();
  }
  static of<T, W extends Window>(nested: Trigger<T, W>): PurgingTrigger<T, W> {
    return new PurgingTrigger(nested);
  }
  onElement(element: T, timestamp: number | null, window: W, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onElement(element, timestamp, window, ctx));
  }
  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onEventTime(time, window, ctx));
  }
  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onProcessingTime(time, window, ctx));
  }
  clear(window: W, ctx: TriggerContext): void {
    this.nested.clear(window, ctx);
  }
  override canMerge(): boolean {
    return this.nested.canMerge();
  }
  override onMerge(window: W, ctx: OnMergeContext): void {
    this.nested.onMerge(window, ctx);
  }
  override toString(): string {
    return `PurgingTrigger(${this.nested.toString()})`;
  }
}

function purging(result: TriggerResult): TriggerResult {
  return isFire(result) ? 'FIRE_AND_PURGE' : result;
}

/**
 * Fires every `intervalMs` of event time (aligned to multiples of the interval) while the window
 * is open, and when the watermark passes its end. The next early firing is per window state
 * named `fire-time`.
 */
export class ContinuousEventTimeTrigger extends Trigger<unknown, TimeWindow> {
  readonly #fireTime = reducingState<number>('fire-time', min);
  private constructor(readonly interval: number) {
    super();
  }
  static of(intervalMs: number): ContinuousEventTimeTrigger {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new UserError(`ContinuousEventTimeTrigger.of: the interval must be a whole number of ms >= 1, not ${intervalMs}`);
    return new ContinuousEventTimeTrigger(intervalMs);
  }
  onElement(_element: unknown, timestamp: number | null, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    if (maxTimestamp(window) <= ctx.getCurrentWatermark()) return 'FIRE';
    ctx.registerEventTimeTimer(maxTimestamp(window));
    const fireTime = ctx.getPartitionedState(this.#fireTime);
    if (fireTime.get() === undefined && timestamp !== null) this.#registerNext(timestamp - (((timestamp % this.interval) + this.interval) % this.interval), window, ctx);
    return 'CONTINUE';
  }
  onEventTime(time: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    if (time === maxTimestamp(window)) return 'FIRE';
    const fireTime = ctx.getPartitionedState(this.#fireTime);
    if (fireTime.get() === time) {
      fireTime.clear();
      this.#registerNext(time, window, ctx);
      return 'FIRE';
    }
    return 'CONTINUE';
  }
  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }
  clear(_window: TimeWindow, ctx: TriggerContext): void {
    const fireTime = ctx.getPartitionedState(this.#fireTime);
    const time = fireTime.get();
    if (time !== undefined) {
      ctx.deleteEventTimeTimer(time);
      fireTime.clear();
    }
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(_window: TimeWindow, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.#fireTime as never);
    const next = ctx.getPartitionedState(this.#fireTime).get();
    if (next !== undefined) ctx.registerEventTimeTimer(next);
  }
  #registerNext(time: number, window: TimeWindow, ctx: TriggerContext): void {
    const next = Math.min(time + this.interval, maxTimestamp(window));
    ctx.getPartitionedState(this.#fireTime).add(next);
    ctx.registerEventTimeTimer(next);
  }
  override toString(): string {
    return `ContinuousEventTimeTrigger(${this.interval})`;
  }
}

/**
 * Fires every `intervalMs` of processing time (aligned to multiples of the interval) while the
 * window is open; the next firing is per window state named `fire-time`.
 */
export class ContinuousProcessingTimeTrigger extends Trigger<unknown, Window> {
  readonly #fireTime = reducingState<number>('fire-time', min);
  private constructor(readonly interval: number) {
    super();
  }
  static of(intervalMs: number): ContinuousProcessingTimeTrigger {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new UserError(`ContinuousProcessingTimeTrigger.of: the interval must be a whole number of ms >= 1, not ${intervalMs}`);
    return new ContinuousProcessingTimeTrigger(intervalMs);
  }
  onElement(_element: unknown, _timestamp: number | null, window: Window, ctx: TriggerContext): TriggerResult {
    if (ctx.getPartitionedState(this.#fireTime).get() === undefined) {
      const now = ctx.getCurrentProcessingTime();
      this.#registerNext(now - (((now % this.interval) + this.interval) % this.interval), window, ctx);
    }
    return 'CONTINUE';
  }
  onEventTime(): TriggerResult {
    return 'CONTINUE';
  }
  onProcessingTime(time: number, window: Window, ctx: TriggerContext): TriggerResult {
    const fireTime = ctx.getPartitionedState(this.#fireTime);
    if (fireTime.get() === time) {
      fireTime.clear();
      this.#registerNext(time, window, ctx);
      return 'FIRE';
    }
    return 'CONTINUE';
  }
  clear(_window: Window, ctx: TriggerContext): void {
    const fireTime = ctx.getPartitionedState(this.#fireTime);
    const time = fireTime.get();
    if (time !== undefined) {
      ctx.deleteProcessingTimeTimer(time);
      fireTime.clear();
    }
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(_window: Window, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.#fireTime as never);
    const next = ctx.getPartitionedState(this.#fireTime).get();
    if (next !== undefined) ctx.registerProcessingTimeTimer(next);
  }
  #registerNext(time: number, window: Window, ctx: TriggerContext): void {
    const next = Math.min(time + this.interval, maxTimestamp(window));
    ctx.getPartitionedState(this.#fireTime).add(next);
    ctx.registerProcessingTimeTimer(next);
  }
  override toString(): string {
    return `ContinuousProcessingTimeTrigger(${this.interval})`;
  }
}
