/**
 * Window assigners (Flink's WindowAssigner): which windows a record belongs to, whether they are
 * cut by event time or by processing time, and the trigger they fire by unless `.trigger(...)`
 * says otherwise. The event-time tumbling and sliding assigners are here; processing-time ones
 * in processing-time-windows.ts, session windows in session-windows.ts, GlobalWindows in
 * global-windows.ts. Starts are aligned to the epoch plus `offset`, so every subtask, every run
 * and every key cut time the same way.
 */
import { UserError } from '../../errors.ts';
import type { Trigger } from './trigger.ts';
import { EventTimeTrigger } from './triggers.ts';
import { type TimeWindow, type Window, windowStart } from './window.ts';

export { type TimeWindow, GlobalWindow, type Window, maxTimestamp, windowStart } from './window.ts';

export interface WindowAssignerContext {
  getCurrentProcessingTime(): number;
}

export interface WindowAssigner<W extends Window = TimeWindow> {
  /**
   * The windows of a record with `timestamp` (null: it has none), latest start first (as Flink
   * lists them). Processing-time assigners read the clock from `context` and ignore the timestamp.
   */
  assignWindows(timestamp: number | null, element?: unknown, context?: WindowAssignerContext): W[];
  getDefaultTrigger(): Trigger<unknown, W>;
  /** Event time: windows end by the watermark and may take late records within allowedLateness. */
  isEventTime(): boolean;
  toString(): string;
}

/** Session windows: a record's window merges with every window it overlaps or touches. */
export interface MergingWindowAssigner extends WindowAssigner<TimeWindow> {
  readonly merging: true;
}

export function isMerging(assigner: WindowAssigner<Window>): assigner is MergingWindowAssigner {
  return (assigner as Partial<MergingWindowAssigner>).merging === true;
}

/** The timestamp an event-time assigner needs, refused in one line naming the fix when absent. */
export function eventTimestamp(timestamp: number | null, assigner: string): number {
  if (timestamp === null) {
    throw new UserError(
      `${assigner}: a record without a timestamp reached an event-time window. ` +
        'Did you forget to call assignTimestampsAndWatermarks(...) (or give the source a timestamp)?',
    );
  }
  return timestamp;
}

export class TumblingEventTimeWindows implements WindowAssigner {
  private constructor(
    readonly size: number,
    readonly offset: number,
  ) {}

  /** Back-to-back windows of `sizeMs`, starting at multiples of the size plus `offsetMs`. */
  static of(sizeMs: number, offsetMs = 0): TumblingEventTimeWindows {
    checkWhole('TumblingEventTimeWindows', { size: sizeMs, offset: offsetMs });
    if (sizeMs <= 0 || Math.abs(offsetMs) >= sizeMs) throw new UserError(`TumblingEventTimeWindows parameters must satisfy abs(offset) < size and size > 0 (size ${sizeMs}, offset ${offsetMs})`);
    return new TumblingEventTimeWindows(sizeMs, offsetMs);
  }

  assignWindows(timestamp: number | null): TimeWindow[] {
    const start = windowStart(eventTimestamp(timestamp, this.toString()), this.offset, this.size);
    return [{ start, end: start + this.size }];
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }

  isEventTime(): boolean {
    return true;
  }

  toString(): string {
    return `TumblingEventTimeWindows(${this.size})`;
  }
}

export class SlidingEventTimeWindows implements WindowAssigner {
  private constructor(
    readonly size: number,
    readonly slide: number,
    readonly offset: number,
  ) {}

  /** Windows of `sizeMs` starting every `slideMs` (aligned to `offsetMs`); they overlap when slide < size. */
  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingEventTimeWindows {
    checkSliding('SlidingEventTimeWindows', sizeMs, slideMs, offsetMs);
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindows(timestamp: number | null): TimeWindow[] {
    return slidingWindows(eventTimestamp(timestamp, this.toString()), this.size, this.slide, this.offset);
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }

  isEventTime(): boolean {
    return true;
  }

  toString(): string {
    return `SlidingEventTimeWindows(${this.size}, ${this.slide})`;
  }
}

export function slidingWindows(timestamp: number, size: number, slide: number, offset: number): TimeWindow[] {
  const windows: TimeWindow[] = [];
  // From the last window that starts at or before the timestamp, back while it still covers it.
  for (let start = windowStart(timestamp, offset, slide); start > timestamp - size; start -= slide) {
    windows.push({ start, end: start + size });
  }
  return windows;
}

export function checkSliding(what: string, sizeMs: number, slideMs: number, offsetMs: number): void {
  checkWhole(what, { size: sizeMs, slide: slideMs, offset: offsetMs });
  if (sizeMs <= 0 || slideMs <= 0 || Math.abs(offsetMs) >= slideMs) {
    throw new UserError(`${what} parameters must satisfy abs(offset) < slide, slide > 0 and size > 0 (size ${sizeMs}, slide ${slideMs}, offset ${offsetMs})`);
  }
}

export function checkWhole(what: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isSafeInteger(value)) throw new UserError(`${what}: ${name} must be a whole number of ms, not ${value}`);
  }
}
