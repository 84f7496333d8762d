/**
 * What travels between subtasks, in band and in order: records, watermarks, checkpoint barriers,
 * their cancellations and the end of input. A barrier n separates what belongs to checkpoint n
 * from what follows.
 */
export type StreamElement =
  | { readonly kind: 'record'; readonly value: unknown; readonly timestamp: number | null }
  | { readonly kind: 'watermark'; readonly timestamp: number }
  | { readonly kind: 'barrier'; readonly barrier: Barrier }
  /**
   * Flink's CancelCheckpointMarker: in place of barrier n, from a subtask that took no part in
   * checkpoint n (it was aborted before its trigger or barrier ran, or its alignment was
   * overtaken), so that no subtask downstream waits at alignment for a barrier n that never comes.
   */
  | { readonly kind: 'cancel-barrier'; readonly checkpointId: number }
  | { readonly kind: 'end-of-input' };

export interface Barrier {
  readonly checkpointId: number;
  /** Savepoints use the same barriers; the flag travels so sinks and snapshots can tell. */
  readonly savepoint: boolean;
  /** `flink stop --drain`: sources emit MAX_WATERMARK before this barrier, so event time ends first. */
  readonly drain?: boolean;
}

export function record(value: unknown, timestamp: number | null = null): StreamElement {
  return { kind: 'record', value, timestamp };
}
