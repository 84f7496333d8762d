/**
 * Wall-clock callbacks for the operators of one subtask (Flink's ProcessingTimeService). A
 * callback never runs from the timer itself: when its time comes it is put into the subtask's
 * mailbox, so it runs in the subtask's own loop between records and can never interleave with
 * processRecord, a watermark or a checkpoint (Flink's mailbox model).
 */
import type { Mailbox } from './mailbox.ts';

export interface ProcessingTimeService {
  /** Current wall-clock time in ms since the epoch. */
  now(): number;
  /**
   * Runs `callback(timestamp)` in the subtask's mailbox once the clock has reached `timestamp`
   * (at once for a time in the past). Returns a function that cancels it.
   */
  scheduleAt(timestamp: number, callback: (timestamp: number) => void | Promise<void>): () => void;
}

/** How often a timer on a clock other than Date.now checks whether that clock reached it. */
const MOVABLE_CLOCK_POLL_MS = 10;

export class MailboxProcessingTimeService implements ProcessingTimeService {
  readonly #timeouts = new Set<NodeJS.Timeout>();
  #quiesced = false;

  constructor(
    private readonly mailbox: Mailbox,
    private readonly clock: () => number = Date.now,
  ) {}

  now(): number {
    return this.clock();
  }

  scheduleAt(timestamp: number, callback: (timestamp: number) => void | Promise<void>): () => void {
    let cancelled = false;
    let timeout: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (this.#quiesced || cancelled) return;
      // setTimeout's delay is capped at 2^31-1 ms; a later timer simply re-arms when that fires.
      // A clock other than Date.now (a test's ManualClock) may jump: look again every few ms.
      const wait = Math.max(0, timestamp - this.now());
      const delay = Math.min(this.clock === Date.now ? wait : Math.min(wait, MOVABLE_CLOCK_POLL_MS), 2 ** 31 - 1);
      timeout = setTimeout(() => {
        this.#timeouts.delete(timeout!);
        // Node may wake a millisecond early: never hand out a time before the timer's own.
        if (this.now() < timestamp) return arm();
        this.mailbox.put(() => (this.#quiesced || cancelled ? undefined : callback(timestamp)));
      }, delay);
      this.#timeouts.add(timeout);
    };
    arm();
    return () => {
      cancelled = true;
      if (timeout !== undefined) {
        clearTimeout(timeout);
        this.#timeouts.delete(timeout);
      }
    };
  }

  /**
   * No callback runs after this (Flink quiesces the timer service when a task finishes or is
   * cancelled): pending timeouts are cleared, so they neither fire into a finished subtask nor
   * keep the process alive.
   */
  quiesce(): void {
    this.#quiesced = true;
    for (const t of this.#timeouts) clearTimeout(t);
    this.#timeouts.clear();
  }
}
