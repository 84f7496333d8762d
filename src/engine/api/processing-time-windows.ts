/**
 * Processing-time tumbling and sliding windows (Flink's TumblingProcessingTimeWindows and
 * SlidingProcessingTimeWindows): a record goes into the windows of the moment it is processed,
 * read from the job's processing-time clock (`env.setProcessingTimeClock`, so a test can move it),
 * and a window fires when that clock passes its end (ProcessingTimeTrigger).
 */
import { InternalError, UserError } from '../../errors.ts';
import type { Trigger } from './trigger.ts';
import { ProcessingTimeTrigger } from './triggers.ts';
import { type TimeWindow, windowStart } from './window.ts';
import { type WindowAssigner, type WindowAssignerContext, checkSliding, checkWhole, slidingWindows } from './window-assigners.ts';

export function processingTime(context: WindowAssignerContext | undefined, assigner: string): number {
  if (context === undefined) throw new InternalError(`${assigner} needs the processing-time clock to assign windows`);
  return context.getCurrentProcessingTime();
}

export class TumblingProcessingTimeWindows implements WindowAssigner {
  private constructor(
    readonly size: number,
    readonly offset: number,
  ) {}

  static of(sizeMs: number, offsetMs = 0): TumblingProcessingTimeWindows {
    checkWhole('TumblingProcessingTimeWindows', { size: sizeMs, offset: offsetMs });
    if (sizeMs <= 0 || Math.abs(offsetMs) >= sizeMs) throw new UserError(`TumblingProcessingTimeWindows parameters must satisfy abs(offset) < size and size > 0 (size ${sizeMs}, offset ${offsetMs})`);
    return new TumblingProcessingTimeWindows(sizeMs, offsetMs);
  }

  assignWindows(_timestamp: number | null, _element?: unknown, context?: WindowAssignerContext): TimeWindow[] {
    const start = windowStart(processingTime(context, this.toString()), this.offset, this.size);
    return [{ start, end: start + this.size }];
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }

  toString(): string {
    return `TumblingProcessingTimeWindows(${this.size})`;
  }
}

export class SlidingProcessingTimeWindows implements WindowAssigner {
  private constructor(
    readonly size: number,
    readonly slide: number,
    readonly offset: number,
  ) {}

  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingProcessingTimeWindows {
    checkSliding('SlidingProcessingTimeWindows', sizeMs, slideMs, offsetMs);
    return new SlidingProcessingTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindows(_timestamp: number | null, _element?: unknown, context?: WindowAssignerContext): TimeWindow[] {
    return slidingWindows(processingTime(context, this.toString()), this.size, this.slide, this.offset);
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }

  toString(): string {
    return `SlidingProcessingTimeWindows(${this.size}, ${this.slide})`;
  }
}
