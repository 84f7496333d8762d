/**
 * The windows records are grouped into (Flink's Window, TimeWindow and GlobalWindow). A time
 * window is [start, end): the end is exclusive, so its last timestamp (Flink's maxTimestamp) is
 * `end - 1`, and that is when an event-time window fires. The global window holds every record
 * of a key and never ends (count windows, custom triggers).
 */

export interface TimeWindow {
  /** First timestamp in the window (inclusive). */
  readonly start: number;
  /** First timestamp after the window (exclusive). */
  readonly end: number;
}

/** The one window of GlobalWindows; its maxTimestamp is "never" (Flink's Long.MAX_VALUE). */
export class GlobalWindow {
  static readonly #instance = new GlobalWindow();
  private constructor() {}
  static get(): GlobalWindow {
    return GlobalWindow.#instance;
  }
  toString(): string {
    return 'GlobalWindow';
  }
}

export type Window = TimeWindow | GlobalWindow;

/** Flink's Long.MAX_VALUE for windows: the global window's end, a time no timer is set for. */
export const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/** The window's last timestamp: its event-time timer fires when the watermark reaches it. */
export function maxTimestamp(window: Window): number {
  return window instanceof GlobalWindow ? END_OF_TIME : window.end - 1;
}

export function isTimeWindow(window: Window): window is TimeWindow {
  return !(window instanceof GlobalWindow);
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

/** Flink's TimeWindow.intersects: windows that overlap or touch merge (session windows). */
export function intersects(a: TimeWindow, b: TimeWindow): boolean {
  return a.start <= b.end && a.end >= b.start;
}

/**
 * Flink's TimeWindow.mergeWindows: sorted by start, runs of intersecting windows become one
 * window covering them; returns each run of two or more with its cover.
 */
export function mergeTimeWindows(windows: readonly TimeWindow[]): { readonly cover: TimeWindow; readonly members: TimeWindow[] }[] {
  const sorted = [...windows].sort((a, b) => a.start - b.start);
  const runs: { cover: TimeWindow; members: TimeWindow[] }[] = [];
  let current: { cover: TimeWindow; members: TimeWindow[] } | undefined;
  for (const w of sorted) {
    if (current !== undefined && intersects(current.cover, w)) {
      current.cover = { start: Math.min(current.cover.start, w.start), end: Math.max(current.cover.end, w.end) };
      current.members.push(w);
    } else {
      current = { cover: w, members: [w] };
      runs.push(current);
    }
  }
  return runs.filter((r) => r.members.length > 1);
}

/**
 * How a window is named in keyed state (the user key of `window-contents` and the other window
 * states, window-operator.ts): `[start, end]` for a time window, `"global"` for the global window.
 */
export type WindowKey = readonly [start: number, end: number] | 'global';

export function windowKey(window: Window): WindowKey {
  return window instanceof GlobalWindow ? 'global' : [window.start, window.end];
}

export function windowOfKey(key: WindowKey): Window {
  return key === 'global' ? GlobalWindow.get() : { start: key[0], end: key[1] };
}

export function sameWindow(a: Window, b: Window): boolean {
  if (a instanceof GlobalWindow || b instanceof GlobalWindow) return a === b;
  return a.start === b.start && a.end === b.end;
}
