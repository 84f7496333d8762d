/**
 * What keyed functions see of time (Flink's TimerService and TimeDomain): the current processing
 * time and watermark, and timers for the current key. A timer is per key and per timestamp:
 * registering the same one twice leaves one timer, and it fires once, with its key set as the
 * current key, by calling the function's `onTimer`.
 */
export type TimeDomain = 'EVENT_TIME' | 'PROCESSING_TIME';

export interface TimerService {
  /** Wall-clock time in ms since the epoch. */
  currentProcessingTime(): number;
  /** The operator's current event time; -Infinity before the first watermark, +Infinity after the end of input. */
  currentWatermark(): number;
  /** Fires once the watermark reaches `time` (timestamp <= watermark). */
  registerEventTimeTimer(time: number): void;
  /** Fires once the wall clock reaches `time`, from the subtask's mailbox. */
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}
