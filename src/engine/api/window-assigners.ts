/**
 * Event-time window assigners (Flink's TumblingEventTimeWindows and SlidingEventTimeWindows):
 * which windows a record with a given timestamp belongs to. Windows are [start, end): the end is
 * exclusive, so a window's last timestamp (Flink's maxTimestamp) is `end - 1`, and that is when
 * it fires. Starts are aligned to the epoch plus `offset`, so every subtask, every run and every
 * key cut time the same way.
 */
import { UserError } from '../../errors.ts';

export interface TimeWindow {
  /** First timestamp in the window (inclusive). */
  readonly start: number;
  /** First timestamp after the window (exclusive). */
  readonly end: number;
}

/** The window's last timestamp: its event-time timer fires when the watermark reaches it. */
export function maxTimestamp(window: TimeWindow): number {
  return window.end - 1;
}

/**
 * The start of the window of `size` (aligned to `offset`) that holds `timestamp`: Flink's
 * TimeWindow.getWindowStartWithOffset, `timestamp - (timestamp - offset + size) % size`, in the
 * form that is also right for timestamps before the epoch (a JS remainder keeps the sign).
 */
export function windowStart(timestamp: number, offset: number, size: number): number {
  const remainder = (timestamp - offset) % size;
  return remainder < 0 ? timestamp - (remainder + size) : timestamp - remainder;
}

export interface WindowAssigner {
  /** Every window has this length, so a window is known by its end alone (window-operator.ts). */
  readonly size: number;
  /** The windows `timestamp` belongs to, latest start first (as Flink lists them). */
  assignWindows(timestamp: number): TimeWindow[];
  toString(): string;
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

  assignWindows(timestamp: number): TimeWindow[] {
    const start = windowStart(timestamp, this.offset, this.size);
    return [{ start, end: start + this.size }];
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
    checkWhole('SlidingEventTimeWindows', { size: sizeMs, slide: slideMs, offset: offsetMs });
    if (sizeMs <= 0 || slideMs <= 0 || Math.abs(offsetMs) >= slideMs) {
      throw new UserError(`SlidingEventTimeWindows parameters must satisfy abs(offset) < slide, slide > 0 and size > 0 (size ${sizeMs}, slide ${slideMs}, offset ${offsetMs})`);
    }
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindows(timestamp: number): TimeWindow[] {
    const windows: TimeWindow[] = [];
    // From the last window that starts at or before the timestamp, back while it still covers it.
    for (let start = windowStart(timestamp, this.offset, this.slide); start > timestamp - this.size; start -= this.slide) {
      windows.push({ start, end: start + this.size });
    }
    return windows;
  }

  toString(): string {
    return `SlidingEventTimeWindows(${this.size}, ${this.slide})`;
  }
}

function checkWhole(what: string, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isSafeInteger(value)) throw new UserError(`${what}: ${name} must be a whole number of ms, not ${value}`);
  }
}
