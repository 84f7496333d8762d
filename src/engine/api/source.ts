/**
 * Replayable, checkpointed sources (Flink's FLIP-27 shape, simplified): the work is cut into
 * splits whose state (an offset) is plain data; a reader reads the splits it was given and
 * reports their state at each checkpoint, so a restore rewinds exactly and a rescale moves whole
 * splits between subtasks.
 */
export interface SourceRecord<T> {
  readonly value: T;
  readonly timestamp: number | null;
}

export interface PollResult<T> {
  readonly records: readonly SourceRecord<T>[];
  /** Every split is exhausted (bounded sources only). */
  readonly done: boolean;
}

export interface SourceReader<T> {
  /** Splits (their saved state) this reader now owns. */
  addSplits(splits: readonly unknown[]): void;
  /** Up to `max` records. May wait (rate limits, waiting for data). */
  poll(max: number): Promise<PollResult<T>>;
  /** The state of every owned split after the last record poll returned. */
  snapshotSplits(): unknown[];
  close?(): Promise<void>;
}

export interface Source<T> {
  readonly bounded: boolean;
  /**
   * False for a source that cannot rewind to a checkpoint (a socket): a job with exactly-once
   * checkpointing refuses it, since a restore could not give it the records since the checkpoint.
   * True when absent: a source that keeps its position in its splits is replayable.
   */
  readonly replayable?: boolean;
  /** True for a source that runs in one subtask only (Flink's non-parallel sources): a parallelism above 1 is refused. */
  readonly nonParallel?: boolean;
  /** How messages name the source (e.g. `socketTextStream(localhost:9999)`). */
  readonly description?: string;
  /** The splits of a job that starts without a snapshot. */
  createSplits(parallelism: number): unknown[];
  createReader(context: { readonly subtaskIndex: number; readonly parallelism: number }): SourceReader<T>;
}
