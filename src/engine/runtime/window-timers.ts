/**
 * Timers per window (Flink's timers carry the window as their namespace): the key's timers stay
 * in the timer service's `_timers` state, one per time (FORMAT.md 5.2 unchanged), and map state
 * `window-timers` records, per key, which windows asked for each `[domain, time]`. When a time
 * comes, each window that asked is told, once; a window that deletes its timer is taken off the
 * list, and the underlying timer goes when no window of the key wants it any more.
 */
import type { TimeDomain } from '../api/timer-service.ts';
import { type Window, type WindowKey, sameWindow, windowKey, windowOfKey } from '../api/window.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { MapState } from '../state/keyed-state-handles.ts';
import { mapState } from '../state/state-descriptors.ts';
import { InternalTimerService } from './internal-timer-service.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';

export const WINDOW_TIMERS_STATE = 'window-timers';

const EVENT_TIME = 0;
const PROCESSING_TIME = 1;
type TimerId = readonly [domain: 0 | 1, time: number];

export type OnWindowTimer = (window: Window, time: number, domain: TimeDomain) => void | Promise<void>;

/** A registration known to be in state: most records of a window register the same timers again. */
interface Known {
  key: unknown;
  domain: 0 | 1;
  time: number;
  window: Window | undefined;
}

export class WindowTimers {
  readonly service: InternalTimerService;
  readonly #windows: MapState<TimerId, WindowKey[]>;
  readonly #backend: KeyedStateBackend;
  /** The last two registrations (a trigger's timer and the cleanup timer), checked before state. */
  readonly #known: [Known, Known] = [
    { key: undefined, domain: 0, time: 0, window: undefined },
    { key: undefined, domain: 0, time: 0, window: undefined },
  ];
  #nextKnown = 0;

  constructor(backend: KeyedStateBackend, processingTime: ProcessingTimeService, onTimer: OnWindowTimer) {
    this.#backend = backend;
    // Engine access: the lists are replaced or written back after every change.
    this.#windows = backend.getState(mapState<TimerId, WindowKey[]>(WINDOW_TIMERS_STATE), 'engine');
    this.service = new InternalTimerService(backend, processingTime, (time, domain) => {
      const id: TimerId = [domain === 'EVENT_TIME' ? EVENT_TIME : PROCESSING_TIME, time];
      const windows = this.#windows.get(id);
      if (windows === undefined) return; // every window that wanted it deleted it meanwhile
      this.#windows.remove(id);
      this.#forget();
      return each(windows, 0, (w) => onTimer(windowOfKey(w), time, domain));
    });
  }

  registerEventTimeTimer(window: Window, time: number): void {
    if (this.#register([EVENT_TIME, time], window)) this.service.registerEventTimeTimer(time);
  }

  registerProcessingTimeTimer(window: Window, time: number): void {
    if (this.#register([PROCESSING_TIME, time], window)) this.service.registerProcessingTimeTimer(time);
  }

  deleteEventTimeTimer(window: Window, time: number): void {
    if (this.#delete([EVENT_TIME, time], window)) this.service.deleteEventTimeTimer(time);
  }

  deleteProcessingTimeTimer(window: Window, time: number): void {
    if (this.#delete([PROCESSING_TIME, time], window)) this.service.deleteProcessingTimeTimer(time);
  }

  /** Adds the window to the timer's list; true when the key had no timer at that time yet. */
  #register(id: TimerId, window: Window): boolean {
    const current = this.#backend.getCurrentKey();
    for (const k of this.#known) {
      if (k.key === current && k.domain === id[0] && k.time === id[1] && k.window !== undefined && sameWindow(k.window, window)) return false;
    }
    const known = this.#known[this.#nextKnown]!;
    this.#nextKnown = 1 - this.#nextKnown;
    known.key = current;
    known.domain = id[0];
    known.time = id[1];
    known.window = window;
    const key = windowKey(window);
    const windows = this.#windows.get(id);
    if (windows === undefined) {
      this.#windows.put(id, [key]);
      return true;
    }
    if (windows.some((w) => sameKey(w, key))) return false;
    windows.push(key);
    this.#windows.put(id, windows);
    return false;
  }

  #forget(): void {
    for (const k of this.#known) k.window = undefined;
  }

  /** Takes the window off the timer's list; true when no window of the key wants it any more. */
  #delete(id: TimerId, window: Window): boolean {
    this.#forget();
    const windows = this.#windows.get(id);
    if (windows === undefined) return false;
    const key = windowKey(window);
    const rest = windows.filter((w) => !sameKey(w, key));
    if (rest.length === windows.length) return false;
    if (rest.length > 0) {
      this.#windows.put(id, rest);
      return false;
    }
    this.#windows.remove(id);
    return true;
  }
}

export function sameKey(a: WindowKey, b: WindowKey): boolean {
  if (a === 'global' || b === 'global') return a === b;
  return a[0] === b[0] && a[1] === b[1];
}

/** `fn` on each item from `from` on, waiting only for one that returns a promise. */
function each<T>(items: readonly T[], from: number, fn: (item: T) => void | Promise<void>): void | Promise<void> {
  for (let i = from; i < items.length; i++) {
    const result = fn(items[i]!);
    if (result instanceof Promise) return result.then(() => each(items, i + 1, fn));
  }
}
