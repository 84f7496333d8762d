/**
 * Session windows (Flink's EventTimeSessionWindows, ProcessingTimeSessionWindows and their
 * dynamic-gap forms): each record opens a window [time, time + gap), and windows of a key that
 * overlap or touch merge into one (window.ts, mergeTimeWindows), so a session ends after `gap` ms
 * without records. The window operator merges their contents and trigger state (window-operator.ts).
 */
import { UserError } from '../../errors.ts';
import type { Trigger } from './trigger.ts';
import { EventTimeTrigger, ProcessingTimeTrigger } from './triggers.ts';
import type { TimeWindow } from './window.ts';
import { type MergingWindowAssigner, type WindowAssignerContext, checkWhole, eventTimestamp } from './window-assigners.ts';
import { processingTime } from './processing-time-windows.ts';

/** Flink's SessionWindowTimeGapExtractor: the gap after this record, in ms (> 0). */
export type SessionWindowTimeGapExtractor<T> = ((element: T) => number) | { extract(element: T): number };

abstract class SessionWindows implements MergingWindowAssigner {
  readonly merging = true;
  protected constructor(
    private readonly name: string,
    private readonly gapOf: (element: unknown) => number,
    private readonly describeGap: string,
  ) {}

  protected abstract time(timestamp: number | null, context: WindowAssignerContext | undefined): number;
  abstract isEventTime(): boolean;
  abstract getDefaultTrigger(): Trigger<unknown, TimeWindow>;

  assignWindows(timestamp: number | null, element?: unknown, context?: WindowAssignerContext): TimeWindow[] {
    const start = this.time(timestamp, context);
    const gap = this.gapOf(element);
    if (!Number.isSafeInteger(gap) || gap <= 0) throw new UserError(`${this.name}: the session gap must be a whole number of ms > 0, the gap extractor returned ${gap}`);
    return [{ start, end: start + gap }];
  }

  toString(): string {
    return `${this.name}(${this.describeGap})`;
  }
}

function staticGap(what: string, gapMs: number): (element: unknown) => number {
  checkWhole(what, { gap: gapMs });
  if (gapMs <= 0) throw new UserError(`${what} parameters must satisfy 0 < gap (gap ${gapMs})`);
  return () => gapMs;
}

function dynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): (element: unknown) => number {
  const extract = typeof extractor === 'function' ? extractor : (e: T) => extractor.extract(e);
  return (element) => extract(element as T);
}

export class EventTimeSessionWindows extends SessionWindows {
  private constructor(gapOf: (element: unknown) => number, describeGap: string, name = 'EventTimeSessionWindows') {
    super(name, gapOf, describeGap);
  }
  /** A session ends `gapMs` of event time after its last record. */
  static withGap(gapMs: number): EventTimeSessionWindows {
    return new EventTimeSessionWindows(staticGap('EventTimeSessionWindows', gapMs), String(gapMs));
  }
  /** The gap after each record is computed from it (Flink's DynamicEventTimeSessionWindows). */
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): EventTimeSessionWindows {
    return new EventTimeSessionWindows(dynamicGap(extractor), 'dynamic gap', 'DynamicEventTimeSessionWindows');
  }
  protected time(timestamp: number | null): number {
    return eventTimestamp(timestamp, this.toString());
  }
  isEventTime(): boolean {
    return true;
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }
}

export class ProcessingTimeSessionWindows extends SessionWindows {
  private constructor(gapOf: (element: unknown) => number, describeGap: string, name = 'ProcessingTimeSessionWindows') {
    super(name, gapOf, describeGap);
  }
  /** A session ends `gapMs` of processing time after its last record. */
  static withGap(gapMs: number): ProcessingTimeSessionWindows {
    return new ProcessingTimeSessionWindows(staticGap('ProcessingTimeSessionWindows', gapMs), String(gapMs));
  }
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): ProcessingTimeSessionWindows {
    return new ProcessingTimeSessionWindows(dynamicGap(extractor), 'dynamic gap', 'DynamicProcessingTimeSessionWindows');
  }
  protected time(_timestamp: number | null, context: WindowAssignerContext | undefined): number {
    return processingTime(context, this.toString());
  }
  isEventTime(): boolean {
    return false;
  }
  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }
}
