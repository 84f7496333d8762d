/**
 * The processing-time clock of a job: milliseconds since the epoch, `Date.now` unless the job is
 * given another (ExecutionOptions.clock, `env.setProcessingTimeClock`). State TTL and the
 * processing-time service read it, so a test can move time without sleeping (ManualClock).
 */
export type ProcessingTimeClock = () => number;

export const SYSTEM_CLOCK: ProcessingTimeClock = Date.now;

/** A clock that moves only when told; pass `clock.now` to the environment. */
export class ManualClock {
  #time: number;

  constructor(start = 1_000_000) {
    this.#time = start;
  }

  /** Bound, so it can be handed on as a ProcessingTimeClock. */
  readonly now: ProcessingTimeClock = () => this.#time;

  /** Moves the clock forward by `ms` (never backwards: processing time does not go back). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock by ${ms} ms`);
    this.#time += ms;
  }

  set(time: number): void {
    if (!(time >= this.#time)) throw new RangeError(`cannot move a clock back from ${this.#time} to ${time}`);
    this.#time = time;
  }
}
