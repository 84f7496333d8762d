/**
 * Flink's Evictor: removes elements from a window before and/or after its function runs. A
 * window with an evictor keeps all its elements with their timestamps (no pre-aggregation, as in
 * Flink's EvictingWindowOperator); a reduce or aggregate then runs over what is left when it fires.
 *
 * `elements` is the window's contents in arrival order; an evictor removes from it in place
 * (e.g. `elements.splice(0, n)`), and what remains is written back.
 */
import { UserError } from '../../errors.ts';
import type { Window } from './window.ts';

export interface TimestampedValue<T> {
  readonly value: T;
  /** The record's timestamp (null when it had none: processing-time windows without event time). */
  readonly timestamp: number | null;
}

export interface EvictorContext {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
}

export interface Evictor<T, W extends Window> {
  evictBefore(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void;
  evictAfter(elements: TimestampedValue<T>[], size: number, window: W, ctx: EvictorContext): void;
  toString?(): string;
}

/** Keeps at most `maxCount` elements: the latest ones (before the function, unless doEvictAfter). */
export class CountEvictor implements Evictor<unknown, Window> {
  private constructor(
    readonly maxCount: number,
    readonly doEvictAfter: boolean,
  ) {}
  static of(maxCount: number, doEvictAfter = false): CountEvictor {
    if (!Number.isSafeInteger(maxCount) || maxCount < 0) throw new UserError(`CountEvictor.of: the count must be a whole number >= 0, not ${maxCount}`);
    return new CountEvictor(maxCount, doEvictAfter);
  }
  evictBefore(elements: TimestampedValue<unknown>[], size: number): void {
    if (!this.doEvictAfter) this.#evict(elements, size);
  }
  evictAfter(elements: TimestampedValue<unknown>[], size: number): void {
    if (this.doEvictAfter) this.#evict(elements, size);
  }
  #evict(elements: TimestampedValue<unknown>[], size: number): void {
    if (size > this.maxCount) elements.splice(0, size - this.maxCount);
  }
  toString(): string {
    return `CountEvictor(${this.maxCount})`;
  }
}

/**
 * Keeps the elements of the last `windowSizeMs` of event time: removes every element whose
 * timestamp is at or before (the latest element's timestamp - windowSizeMs). Elements without
 * timestamps are never evicted (Flink: only when all have one).
 */
export class TimeEvictor implements Evictor<unknown, Window> {
  private constructor(
    readonly windowSize: number,
    readonly doEvictAfter: boolean,
  ) {}
  static of(windowSizeMs: number, doEvictAfter = false): TimeEvictor {
    if (!Number.isSafeInteger(windowSizeMs) || windowSizeMs < 0) throw new UserError(`TimeEvictor.of: the size must be a whole number of ms >= 0, not ${windowSizeMs}`);
    return new TimeEvictor(windowSizeMs, doEvictAfter);
  }
  evictBefore(elements: TimestampedValue<unknown>[]): void {
    if (!this.doEvictAfter) this.#evict(elements);
  }
  evictAfter(elements: TimestampedValue<unknown>[]): void {
    if (this.doEvictAfter) this.#evict(elements);
  }
  #evict(elements: TimestampedValue<unknown>[]): void {
    if (elements.length === 0 || elements.some((e) => e.timestamp === null)) return;
    let latest = Number.NEGATIVE_INFINITY;
    for (const e of elements) latest = Math.max(latest, e.timestamp!);
    const cutoff = latest - this.windowSize;
    const kept = elements.filter((e) => e.timestamp! > cutoff);
    elements.splice(0, elements.length, ...kept);
  }
  toString(): string {
    return `TimeEvictor(${this.windowSize})`;
  }
}
