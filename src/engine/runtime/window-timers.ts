/**
 * Timers per window (Flink's timers carry the window as their namespace): the key's timers stay
 * in the timer service's `_timers` state, one per time (FORMAT.md 5.2 unchanged), and value state
 * `window-timers` lists, per key, which window asked for which timer, as `[domain, time,
 * window]` triples (domain 0 event time, 1 processing time; window as in window.ts, windowKey).
 * When a time comes, each window that asked is told, once; a window that deletes its timer is
 * taken off the list, and the underlying timer goes when no window of the key wants it any more.
 *
 * One value per key rather than a map keyed by timer: a trigger registers its timer again on
 * every record, and a value is found by the current key alone, without encoding a user key; the
 * scan of the key's list is what `_timers` costs already.
 */
import type { TimeDomain } from '../api/timer-service.ts';
import { type Window, type WindowKey, windowKey, windowOfKey } from '../api/window.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { ValueState } from '../state/keyed-state-handles.ts';
import { valueState } from '../state/state-descriptors.ts';
import { InternalTimerService } from './internal-timer-service.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';

export const WINDOW_TIMERS_STATE = 'window-timers';

const EVENT_TIME = 0;
const PROCESSING_TIME = 1;
type Domain = typeof EVENT_TIME | typeof PROCESSING_TIME;
type WindowTimer = [domain: Domain, time: number, window: WindowKey];

export type OnWindowTimer = (window: Window, time: number, domain: TimeDomain) => void | Promise<void>;

export class WindowTimers {
  readonly service: InternalTimerService;
  readonly #timers: ValueState<WindowTimer[]>;

  constructor(backend: KeyedStateBackend, processingTime: ProcessingTimeService, onTimer: OnWindowTimer) {
    // Engine access: the list is written back after every change.
    this.#timers = backend.getState(valueState<WindowTimer[]>(WINDOW_TIMERS_STATE), 'engine');
    this.service = new InternalTimerService(backend, processingTime, (time, domain) => {
      const d: Domain = domain === 'EVENT_TIME' ? EVENT_TIME : PROCESSING_TIME;
      const timers = this.#timers.value();
      if (timers === undefined) return;
      const due: WindowKey[] = [];
      const rest: WindowTimer[] = [];
      for (const t of timers) {
        if (t[0] === d && t[1] === time) due.push(t[2]);
        else rest.push(t);
      }
      if (due.length === 0) return; // every window that wanted it deleted it meanwhile
      this.#store(rest);
      return each(due, 0, (w) => onTimer(windowOfKey(w), time, domain));
    });
  }

  registerEventTimeTimer(window: Window, time: number): void {
    if (this.#register(EVENT_TIME, time, window)) this.service.registerEventTimeTimer(time);
  }

  registerProcessingTimeTimer(window: Window, time: number): void {
    if (this.#register(PROCESSING_TIME, time, window)) this.service.registerProcessingTimeTimer(time);
  }

  deleteEventTimeTimer(window: Window, time: number): void {
    if (this.#delete(EVENT_TIME, time, window)) this.service.deleteEventTimeTimer(time);
  }

  deleteProcessingTimeTimer(window: Window, time: number): void {
    if (this.#delete(PROCESSING_TIME, time, window)) this.service.deleteProcessingTimeTimer(time);
  }

  /** Records the window's timer; true when no window of the key had a timer at that time yet. */
  #register(domain: Domain, time: number, window: Window): boolean {
    const timers = this.#timers.value();
    if (timers === undefined) {
      this.#timers.update([[domain, time, windowKey(window)]]);
      return true;
    }
    let timeTaken = false;
    for (const t of timers) {
      if (t[0] !== domain || t[1] !== time) continue;
      if (isWindow(t[2], window)) return false;
      timeTaken = true;
    }
    timers.push([domain, time, windowKey(window)]);
    this.#timers.update(timers);
    return !timeTaken;
  }

  /** Takes the window's timer off the list; true when no window of the key wants that time any more. */
  #delete(domain: Domain, time: number, window: Window): boolean {
    const timers = this.#timers.value();
    if (timers === undefined) return false;
    let index = -1;
    let others = false;
    for (let i = 0; i < timers.length; i++) {
      const t = timers[i]!;
      if (t[0] !== domain || t[1] !== time) continue;
      if (index < 0 && isWindow(t[2], window)) index = i;
      else others = true;
    }
    if (index < 0) return false;
    timers.splice(index, 1);
    this.#store(timers);
    return !others;
  }

  #store(timers: WindowTimer[]): void {
    this.#timers.update(timers.length === 0 ? undefined : timers);
  }
}

function isWindow(key: WindowKey, window: Window): boolean {
  if (key === 'global') return !('start' in window);
  return 'start' in window && key[0] === window.start && key[1] === window.end;
}

/** `fn` on each item from `from` on, waiting only for one that returns a promise. */
function each<T>(items: readonly T[], from: number, fn: (item: T) => void | Promise<void>): void | Promise<void> {
  for (let i = from; i < items.length; i++) {
    const result = fn(items[i]!);
    if (result instanceof Promise) return result.then(() => each(items, i + 1, fn));
  }
}
