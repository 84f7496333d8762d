/**
 * Test support: a ProcessingTimeService whose clock only moves when told, so operator and timer
 * tests are deterministic. Due callbacks run one at a time in time order, as mail would.
 */
import type { ProcessingTimeService } from './processing-time-service.ts';

interface Scheduled {
  readonly timestamp: number;
  readonly callback: (timestamp: number) => void | Promise<void>;
  cancelled: boolean;
}

export class ManualProcessingTime implements ProcessingTimeService {
  readonly #scheduled: Scheduled[] = [];

  constructor(public time = 1000) {}

  now(): number {
    return this.time;
  }

  scheduleAt(timestamp: number, callback: (timestamp: number) => void | Promise<void>): () => void {
    const entry: Scheduled = { timestamp, callback, cancelled: false };
    this.#scheduled.push(entry);
    return () => void (entry.cancelled = true);
  }

  /** Callbacks scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.#scheduled.filter((e) => !e.cancelled).length;
  }

  /** Moves the clock to `time`, running every callback that is due (also ones they schedule). */
  async advanceTo(time: number): Promise<void> {
    this.time = time;
    for (;;) {
      this.#scheduled.sort((a, b) => a.timestamp - b.timestamp);
      const i = this.#scheduled.findIndex((e) => !e.cancelled && e.timestamp <= time);
      if (i < 0) return;
      const [entry] = this.#scheduled.splice(i, 1);
      await entry!.callback(entry!.timestamp);
    }
  }
}
