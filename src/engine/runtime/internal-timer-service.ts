/**
 * The timers of one keyed operator in one subtask (Flink's InternalTimerServiceImpl).
 *
 * Timers are keyed state: each key's timers are one value of the raw keyed state `_timers`
 * (kind `timers`), an array of `[domain, timestamp]` pairs (FORMAT.md 5.2; domain 0 is event
 * time, 1 processing time). So they are captured by every checkpoint with the rest of the keyed
 * state, move with their key group when a job is rescaled, and need no code of their own in the
 * snapshot path. Two TimerHeaps, one per domain, index them for firing; they are rebuilt from the
 * state in `open`, which is how restored timers come back.
 *
 * Event-time timers fire from `advanceWatermark` (timestamp <= watermark, in timestamp order)
 * before the operator forwards the watermark. Processing-time timers fire from one scheduled
 * wake-up for the earliest of them, delivered through the subtask's mailbox.
 */
import { InternalError, UserError } from '../../errors.ts';
import type { TimeDomain, TimerService } from '../api/timer-service.ts';
import { keyStringOf } from '../state/key-string.ts';
import type { KeyedStateBackend } from '../state/keyed-state-backend.ts';
import type { RawKeyedState } from '../state/keyed-state-handles.ts';
import { timersState } from '../state/state-descriptors.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';
import { TimerHeap, type QueuedTimer, type TimerQueue } from './timer-heap.ts';

/** The name of the timers' keyed state (Flink keeps them under "_timer_state/..." names). */
export const TIMERS_STATE = '_timers';

const EVENT_TIME = 0;
const PROCESSING_TIME = 1;
type Domain = typeof EVENT_TIME | typeof PROCESSING_TIME;
type TimerPair = [domain: Domain, timestamp: number];

/** Called with the timer's key set as the backend's current key. */
export type OnTimer = (timestamp: number, domain: TimeDomain) => void | Promise<void>;

export class InternalTimerService implements TimerService {
  /** Registered on first use, so operators that never set a timer add no state to snapshots. */
  #handle: RawKeyedState | undefined;
  readonly #queues: readonly [TimerQueue<unknown>, TimerQueue<unknown>];
  #watermark = Number.NEGATIVE_INFINITY;
  #wakeUp: { readonly time: number; readonly cancel: () => void } | undefined;

  constructor(
    private readonly backend: KeyedStateBackend,
    private readonly processingTime: ProcessingTimeService,
    private readonly onTimer: OnTimer,
    private readonly stateName: string = TIMERS_STATE,
  ) {
    // An on-disk backend may keep the queues in its store (Flink's ROCKSDB timer service).
    const queue = (domain: Domain): TimerQueue<unknown> => backend.createTimerQueue?.(timersState(stateName), domain) ?? new TimerHeap();
    this.#queues = [queue(EVENT_TIME), queue(PROCESSING_TIME)];
  }

  get #state(): RawKeyedState {
    this.#handle ??= this.backend.getRawState(timersState(this.stateName));
    return this.#handle;
  }

  /** Rebuilds the queues from the timers in keyed state and schedules the first wake-up. */
  open(): void {
    if (!this.backend.states().some((s) => s.name === this.stateName)) return; // none restored
    // Collected first: setting the current key while iterating the state table is not allowed.
    const keys = [...this.backend.keys(this.stateName)];
    for (const key of keys) {
      this.backend.setCurrentKey(key);
      const keyId = keyStringOf(key);
      for (const [domain, timestamp] of this.#pairs()) this.#queues[domain].add(timestamp, key, keyId);
    }
    this.#scheduleWakeUp();
  }

  close(): void {
    this.#wakeUp?.cancel();
    this.#wakeUp = undefined;
  }

  currentProcessingTime(): number {
    return this.processingTime.now();
  }

  currentWatermark(): number {
    return this.#watermark;
  }

  registerEventTimeTimer(time: number): void {
    this.#register(EVENT_TIME, time);
  }

  registerProcessingTimeTimer(time: number): void {
    if (this.#register(PROCESSING_TIME, time)) this.#scheduleWakeUp();
  }

  deleteEventTimeTimer(time: number): void {
    this.#delete(EVENT_TIME, time);
  }

  deleteProcessingTimeTimer(time: number): void {
    // An early wake-up left behind finds nothing due and schedules the next one.
    this.#delete(PROCESSING_TIME, time);
  }

  /** Timers queued in each domain (all keys of this subtask). */
  get queued(): { readonly eventTime: number; readonly processingTime: number } {
    return { eventTime: this.#queues[EVENT_TIME].size, processingTime: this.#queues[PROCESSING_TIME].size };
  }

  /**
   * Fires every event-time timer with timestamp <= `watermark`, earliest first, including timers
   * that firing registers at or before it. Resolves once all have run; only then may the
   * operator forward the watermark.
   */
  async advanceWatermark(watermark: number): Promise<void> {
    if (watermark > this.#watermark) this.#watermark = watermark;
    const queue = this.#queues[EVENT_TIME];
    for (let timer = queue.peek(); timer !== undefined && timer.timestamp <= this.#watermark; timer = queue.peek()) {
      queue.poll();
      const result = this.#fire(timer, EVENT_TIME);
      if (result instanceof Promise) await result;
    }
  }

  #register(domain: Domain, time: number): boolean {
    if (typeof time !== 'number' || Number.isNaN(time)) throw new UserError(`a timer's time must be a number of ms, not ${String(time)}`);
    const pairs = this.#pairs();
    if (pairs.some(([d, t]) => d === domain && t === time)) return false; // timers are deduplicated
    const key = this.backend.getCurrentKey();
    this.#state.put([...pairs, [domain, time]]);
    this.#queues[domain].add(time, key, keyStringOf(key));
    return true;
  }

  #delete(domain: Domain, time: number): void {
    if (this.#handle === undefined) return; // no timer was ever registered or restored
    const pairs = this.#pairs();
    const rest = pairs.filter(([d, t]) => d !== domain || t !== time);
    if (rest.length === pairs.length) return;
    this.#store(rest);
    this.#queues[domain].remove(time, keyStringOf(this.backend.getCurrentKey()));
  }

  /** The current key's timers as stored, checked (they may come from a snapshot). */
  #pairs(): readonly TimerPair[] {
    const value = this.#state.get();
    if (value === undefined) return [];
    if (Array.isArray(value) && value.every(isTimerPair)) return value;
    throw new InternalError(`keyed state '${this.stateName}' of key ${JSON.stringify(this.backend.getCurrentKey())} is not a list of [domain, timestamp] timer pairs`);
  }

  #store(pairs: readonly TimerPair[]): void {
    if (pairs.length === 0) this.#state.remove();
    else this.#state.put(pairs);
  }

  /** Takes a polled timer out of state (so firing is exactly once) and calls the operator. */
  #fire(timer: Pick<QueuedTimer<unknown>, 'timestamp' | 'key'>, domain: Domain): void | Promise<void> {
    this.backend.setCurrentKey(timer.key);
    this.#store(this.#pairs().filter(([d, t]) => d !== domain || t !== timer.timestamp));
    return this.onTimer(timer.timestamp, domain === EVENT_TIME ? 'EVENT_TIME' : 'PROCESSING_TIME');
  }

  #scheduleWakeUp(): void {
    const head = this.#queues[PROCESSING_TIME].peek();
    if (head === undefined) return;
    if (this.#wakeUp !== undefined && this.#wakeUp.time <= head.timestamp) return;
    this.#wakeUp?.cancel();
    const time = head.timestamp;
    this.#wakeUp = { time, cancel: this.processingTime.scheduleAt(time, () => this.#onProcessingTime()) };
  }

  /** Runs as mail: fires the processing-time timers that are due, then schedules the next. */
  async #onProcessingTime(): Promise<void> {
    this.#wakeUp = undefined;
    const queue = this.#queues[PROCESSING_TIME];
    const now = this.processingTime.now();
    for (let timer = queue.peek(); timer !== undefined && timer.timestamp <= now; timer = queue.peek()) {
      queue.poll();
      const result = this.#fire(timer, PROCESSING_TIME);
      if (result instanceof Promise) await result;
    }
    this.#scheduleWakeUp();
  }
}

function isTimerPair(value: unknown): value is TimerPair {
  return Array.isArray(value) && value.length === 2 && (value[0] === EVENT_TIME || value[0] === PROCESSING_TIME) && typeof value[1] === 'number';
}
